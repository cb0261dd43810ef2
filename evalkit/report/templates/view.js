// evalkit report: the sample browser and the side-by-side view. No library, no network: data comes
// from script files beside the page (data/...js, each calling evalkitData), loaded when needed, so a
// setting of 214k samples costs one index file when opened and one small file per CHUNK samples shown.
// Text from the data is only ever set as textContent, never parsed as HTML.
"use strict";

const manifest = JSON.parse(document.getElementById("manifest").textContent);
const PAGE_SIZE = manifest.pageSize;
const loaded = new Map();
const waiting = new Map();

window.evalkitData = function (name, value) {
  loaded.set(name, value);
  (waiting.get(name) || []).forEach((done) => done(value));
  waiting.delete(name);
};

function load(name) {
  if (loaded.has(name)) return Promise.resolve(loaded.get(name));
  return new Promise((resolve, reject) => {
    if (waiting.has(name)) { waiting.get(name).push(resolve); return; }
    waiting.set(name, [resolve]);
    const script = document.createElement("script");
    script.src = "data/" + name + ".js";
    script.onerror = () => reject(new Error("cannot load data/" + name + ".js"));
    document.head.appendChild(script);
  });
}

// ---- small DOM helpers ----
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fmt(score) {
  return typeof score === "number" ? (Math.round(score * 100) / 100).toString() : "unscored";
}

function idKey(id) { return typeof id + ":" + id; }

function settingLabel(setting) {
  return `${manifest.runs[setting.run].label} · ${setting.task} · ${setting.shots}-shot · seed ${setting.seed}`;
}

// ---- images ----
function thumbnail(name, caption, small) {
  if (!name) return el("span", {class: "no-image" + (small ? " small" : "")}, caption || "no image recorded");
  const stem = name.replace(/\.[^.]+$/, "");
  const image = el("img", {class: small ? "inline-thumb" : "thumb", src: "images/thumbs/" + stem + ".jpg",
                           alt: caption || "image", loading: "lazy"});
  image.addEventListener("error", () => image.replaceWith(el("span", {class: "no-image"}, "image missing")));
  if (manifest.fullImages) {
    image.classList.add("zoomable");
    image.addEventListener("click", () => openLightbox("images/full/" + name));
  }
  return image;
}

function openLightbox(source) {
  const box = document.getElementById("lightbox");
  box.querySelector("img").src = source;
  box.hidden = false;
}

function closeLightbox() { document.getElementById("lightbox").hidden = true; }

// ---- one sample ----
function fieldList(fields) {
  const list = el("dl", {class: "fields"});
  for (const [name, value] of Object.entries(fields || {})) list.append(el("dt", {}, name), el("dd", {}, String(value)));
  return list;
}

function referenceList(references, reference) {
  if (reference !== undefined && reference !== null) return el("span", {class: "references"}, String(reference));
  if (!references || !references.length) return el("span", {class: "missing"}, "not recorded");
  const counts = new Map();
  for (const answer of references) counts.set(answer, (counts.get(answer) || 0) + 1);
  return el("ul", {class: "references"},
    [...counts].map(([answer, count]) => el("li", {}, answer, count > 1 ? el("small", {}, ` ×${count}`) : null)));
}

function choiceTable(choices, gold) {
  return el("table", {class: "choices"},
    el("thead", {}, el("tr", {}, el("th", {}, "rank"), el("th", {}, "choice"), el("th", {}, "log-likelihood"))),
    el("tbody", {}, choices.map(([name, score, rank]) =>
      el("tr", {class: name === gold ? "gold" : null},
        el("td", {}, rank), el("td", {}, name, name === gold ? " (gold)" : ""), el("td", {}, score.toFixed(3))))));
}

function demoStrip(detail, support) {
  const ids = detail.demo_ids;
  if (!ids) return el("p", {class: "missing"}, "demo ids not recorded");
  if (!ids.length) return el("p", {class: "hint"}, "no demos");
  const shown = detail.demoImages;
  return el("ol", {class: "demos"}, ids.map((id, position) => {
    const demo = (support || {})[JSON.stringify(id)] || {};
    const textOnly = shown !== null && shown !== undefined && position >= shown;
    return el("li", {class: "demo" + (textOnly ? " text-only" : "")},
      textOnly ? el("span", {class: "no-image text-only-mark"}, "text only") : thumbnail(demo.image, "demo " + id),
      el("div", {class: "demo-id"}, "#" + id),
      fieldList(demo.fields),
      el("div", {class: "demo-answer"}, "→ ", demo.answer === undefined ? "?" : String(demo.answer)));
  }));
}

function promptView(detail, support) {
  if (typeof detail.prompt !== "string") return el("p", {class: "missing"}, "prompt not recorded");
  const pieces = detail.prompt.split("<image>");
  const demoImages = (detail.demo_ids || []).slice(0, Math.max(0, detail.demoImages || 0))
    .map((id) => ((support || {})[JSON.stringify(id)] || {}).image);
  const images = [...demoImages, detail.image];
  const body = el("pre", {class: "prompt"});
  pieces.forEach((text, position) => {
    body.append(text);
    if (position < pieces.length - 1) body.append(thumbnail(images[position], "<image>", true));
  });
  return el("details", {class: "prompt-box"}, el("summary", {}, "prompt (", detail.prompt.length, " characters)"), body);
}

function answerBlock(detail) {
  const block = el("div", {class: "answer"});
  block.append(el("div", {}, el("b", {}, "prediction: "), el("span", {class: "prediction"}, String(detail.prediction ?? "not recorded"))));
  if (detail.choices) block.append(choiceTable(detail.choices, detail.reference));
  else if (typeof detail.generation === "string") block.append(el("div", {}, el("b", {}, "generation: "), el("code", {class: "generation"}, JSON.stringify(detail.generation))));
  else block.append(el("div", {class: "missing"}, "raw generation not recorded"));
  return block;
}

function scoreBadge(setting, score, wrong) {
  return el("span", {class: "score" + (wrong ? " wrong" : ""), title: setting.scoreMeaning},
    `${setting.sampleLabel}: ${fmt(score)}`, wrong ? " ✗" : "");
}

function sampleCard(setting, detail, support, wrong) {
  return el("article", {class: "sample", "data-id": String(detail.id)},
    el("header", {}, el("span", {class: "sample-id"}, "#" + detail.id), scoreBadge(setting, detail.score, wrong),
      Object.entries(detail.groups || {}).map(([name, value]) => el("span", {class: "tag"}, `${name.replace(/_/g, " ")}: ${value}`))),
    el("div", {class: "query"},
      thumbnail(detail.image, "query image"),
      el("div", {class: "query-text"},
        fieldList(detail.fields),
        el("div", {}, el("b", {}, detail.choices ? "gold class: " : "references: "), referenceList(detail.references, detail.reference)),
        answerBlock(detail))),
    el("h4", {}, "demos, in prompt order"),
    demoStrip(detail, support),
    promptView(detail, support));
}

// ---- state in the address (#samples?s=2&filter=wrong...) ----
const state = {view: "summary", params: new URLSearchParams()};

function readHash() {
  const [view, query] = location.hash.replace(/^#/, "").split("?");
  state.view = ["samples", "compare"].includes(view) ? view : "summary";
  state.params = new URLSearchParams(query || "");
}

function writeHash(changes, keepPage) {
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === "" || value === undefined) state.params.delete(key);
    else state.params.set(key, value);
  }
  if (!keepPage) state.params.delete("page");
  const target = "#" + state.view + (state.params.toString() ? "?" + state.params : "");
  if (location.hash !== target) history.replaceState(null, "", target);
  render();
}

function param(name, fallback) { return state.params.has(name) ? state.params.get(name) : fallback; }

function intParam(name, fallback) {
  const value = parseInt(param(name, ""), 10);
  return Number.isNaN(value) ? fallback : value;
}

// ---- the sample browser ----
function meanScore(index) {
  const scores = index.score.filter((s) => typeof s === "number");
  return scores.length ? Math.round(100 * scores.reduce((a, b) => a + b, 0) / scores.length) / 100 : 0;
}

function matching(setting, index) {
  const filter = param("filter", "all");
  const below = parseFloat(param("below", String(meanScore(index))));
  const words = param("q", "").toLowerCase().split(/\s+/).filter(Boolean);
  const groups = Object.entries(index.groups).filter(([name]) => state.params.has("g." + name))
    .map(([name, group]) => [group, group.values.indexOf(state.params.get("g." + name))]);
  const chosen = [];
  for (let i = 0; i < index.ids.length; i++) {
    if (filter === "wrong" && !index.wrong[i]) continue;
    if (filter === "below" && !(index.score[i] !== null && index.score[i] < below)) continue;
    if (groups.some(([group, code]) => group.codes[i] !== code)) continue;
    if (words.length && !words.every((word) => index.text[i].includes(word))) continue;
    chosen.push(i);
  }
  const sort = param("sort", "order");
  if (sort !== "order") {
    const sign = sort === "score-asc" ? 1 : -1;
    chosen.sort((a, b) => sign * ((index.score[a] ?? -Infinity) - (index.score[b] ?? -Infinity)) || a - b);
  }
  return chosen;
}

async function details(setting, positions) {
  const chunks = [...new Set(positions.map((p) => Math.floor(p / setting.chunk)))];
  await Promise.all(chunks.map((k) => load(`${setting.key}/c${k}`)));
  return positions.map((p) => loaded.get(`${setting.key}/c${Math.floor(p / setting.chunk)}`)[p % setting.chunk]);
}

function fillSelect(select, options, value) {
  select.replaceChildren(...options.map(([key, label]) => el("option", {value: key}, label)));
  select.value = value;
}

function groupControls(index) {
  const holder = document.getElementById("groups");
  holder.replaceChildren(...Object.entries(index.groups).map(([name, group]) => {
    const select = el("select", {"data-group": name, onchange: (event) => writeHash({["g." + name]: event.target.value})});
    fillSelect(select, [["", "any"], ...group.values.map((v) => [v, v])], param("g." + name, ""));
    return el("label", {}, name.replace(/_/g, " "), " ", select);
  }));
}

function pager(section, page, pages, matched, all, infoId) {
  document.getElementById(infoId).textContent =
    `${matched} of ${all} samples · page ${pages ? page + 1 : 0} of ${pages}`;
  section.querySelectorAll(".prev").forEach((b) => { b.disabled = page <= 0; b.onclick = () => writeHash({page: page - 1}, true); });
  section.querySelectorAll(".next").forEach((b) => { b.disabled = page >= pages - 1; b.onclick = () => writeHash({page: page + 1}, true); });
}

async function renderSamples(current) {
  const section = document.getElementById("view-samples");
  const number = Math.max(0, Math.min(intParam("s", 0), manifest.settings.length - 1));
  const setting = manifest.settings[number];
  const list = document.getElementById("sample-list");
  if (!setting) { list.replaceChildren(el("p", {}, "no samples in these runs")); return; }
  fillSelect(document.getElementById("setting"), manifest.settings.map((s, i) => [String(i), settingLabel(s)]), String(number));
  document.getElementById("filter").value = param("filter", "all");
  document.getElementById("below-label").hidden = param("filter", "all") !== "below";
  document.getElementById("sort").value = param("sort", "order");
  const search = document.getElementById("search");
  if (document.activeElement !== search) search.value = param("q", "");
  document.getElementById("setting-info").textContent =
    `${setting.benchmark}, ${setting.shots} shots, seed ${setting.seed}: ${setting.metricLabel} ${fmt(setting.score)}. ` +
    `Per-sample score: ${setting.scoreMeaning}.`;
  document.getElementById("setting-missing").replaceChildren(...setting.missing.map((m) => el("p", {class: "note"}, m)));
  const [index, support] = await Promise.all([load(setting.key + "/index"), setting.support ? load(setting.support) : {}]);
  if (!current()) return;
  groupControls(index);
  document.getElementById("below").value = param("below", String(meanScore(index)));
  const chosen = matching(setting, index);
  const pages = Math.ceil(chosen.length / PAGE_SIZE);
  const page = Math.max(0, Math.min(intParam("page", 0), pages - 1));
  pager(section, page, pages, chosen.length, index.ids.length, "page-info");
  const positions = chosen.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const shown = await details(setting, positions);
  if (!current()) return;
  if (!shown.length) { list.replaceChildren(el("p", {class: "note"}, "no sample matches")); return; }
  list.replaceChildren(...shown.map((detail, i) => sampleCard(setting, detail, support, index.wrong[positions[i]])));
}

// ---- two runs side by side ----
function sideColumn(setting, detail, support, wrong, role) {
  return el("div", {class: "side " + role},
    el("h4", {}, role === "base" ? "base: " : "new: ", manifest.runs[setting.run].label),
    scoreBadge(setting, detail.score, wrong),
    answerBlock(detail),
    el("details", {}, el("summary", {}, "demos"), demoStrip(detail, support)),
    promptView(detail, support));
}

async function renderCompare(current) {
  const section = document.getElementById("view-compare");
  const runs = manifest.runs.map((run, i) => [String(i), `${i}: ${run.label}`]);
  const base = intParam("base", 0);
  const next = intParam("new", base === 0 ? 1 : 0);
  fillSelect(document.getElementById("base-run"), runs, String(base));
  fillSelect(document.getElementById("new-run"), runs, String(next));
  const key = (s) => `${s.task}/${s.shots}/${s.seed}`;
  const newSettings = new Map(manifest.settings.filter((s) => s.run === next).map((s) => [key(s), s]));
  const pairs = manifest.settings.filter((s) => s.run === base && newSettings.has(key(s))).map((s) => [s, newSettings.get(key(s))]);
  const list = document.getElementById("compare-list");
  if (!pairs.length) {
    fillSelect(document.getElementById("compare-setting"), [], "");
    list.replaceChildren(el("p", {class: "note"}, "these two runs share no task, shot count and seed"));
    return;
  }
  const chosenKey = pairs.some(([s]) => key(s) === param("cs", "")) ? param("cs", "") : key(pairs[0][0]);
  fillSelect(document.getElementById("compare-setting"), pairs.map(([s]) => [key(s), `${s.task} · ${s.shots}-shot · seed ${s.seed}`]), chosenKey);
  const changedOnly = param("changed", "1") === "1";
  document.getElementById("changed-only").checked = changedOnly;
  const [left, right] = pairs.find(([s]) => key(s) === chosenKey);
  const [baseIndex, newIndex, baseSupport, newSupport] = await Promise.all([
    load(left.key + "/index"), load(right.key + "/index"),
    left.support ? load(left.support) : {}, right.support ? load(right.support) : {}]);
  if (!current()) return;
  const positionInNew = new Map(newIndex.ids.map((id, i) => [idKey(id), i]));
  const both = [];
  let changed = 0;
  baseIndex.ids.forEach((id, i) => {
    const j = positionInNew.get(idKey(id));
    if (j === undefined) return;
    const differs = baseIndex.pred[i] !== newIndex.pred[j];
    changed += differs ? 1 : 0;
    if (differs || !changedOnly) both.push([i, j]);
  });
  const shared = countShared(baseIndex, positionInNew);
  document.getElementById("compare-info").textContent =
    `${changed} of ${shared} samples in both runs changed their prediction ` +
    `(${left.metricLabel}: base ${fmt(left.score)}, new ${fmt(right.score)}).`;
  const pages = Math.ceil(both.length / PAGE_SIZE);
  const page = Math.max(0, Math.min(intParam("page", 0), pages - 1));
  pager(section, page, pages, both.length, shared, "compare-page-info");
  const slice = both.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const [leftDetails, rightDetails] = await Promise.all([
    details(left, slice.map(([i]) => i)), details(right, slice.map(([, j]) => j))]);
  if (!current()) return;
  list.replaceChildren(...slice.map(([i, j], n) => {
    const detail = leftDetails[n];
    return el("article", {class: "pair", "data-id": String(detail.id)},
      el("header", {}, el("span", {class: "sample-id"}, "#" + detail.id),
        baseIndex.pred[i] !== newIndex.pred[j] ? el("span", {class: "changed"}, "prediction changed") : null),
      el("div", {class: "query"}, thumbnail(detail.image, "query image"),
        el("div", {class: "query-text"}, fieldList(detail.fields),
          el("div", {}, el("b", {}, detail.choices ? "gold class: " : "references: "),
            referenceList(detail.references, detail.reference)))),
      el("div", {class: "sides"},
        sideColumn(left, detail, baseSupport, baseIndex.wrong[i], "base"),
        sideColumn(right, rightDetails[n], newSupport, newIndex.wrong[j], "new")));
  }));
}

function countShared(baseIndex, positionInNew) {
  return baseIndex.ids.filter((id) => positionInNew.has(idKey(id))).length;
}

// ---- wiring ----
function showError(error) {
  const target = document.getElementById(state.view === "compare" ? "compare-list" : "sample-list");
  if (target) target.replaceChildren(el("p", {class: "note error"}, String(error.message || error)));
}

// Each render is numbered: one overtaken by a newer render (a quick second click) leaves the page
// alone. body[data-busy] is "1" while the newest render runs (tests wait for "0").
let renders = 0;

function render() {
  const mine = ++renders;
  const current = () => mine === renders;
  document.body.dataset.busy = "1";
  document.querySelectorAll("section.view").forEach((section) => { section.hidden = section.id !== "view-" + state.view; });
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.id === "nav-" + state.view));
  const work = state.view === "samples" ? renderSamples(current) : state.view === "compare" ? renderCompare(current) : null;
  Promise.resolve(work).catch(showError).finally(() => { if (current()) document.body.dataset.busy = "0"; });
}

function wire() {
  const on = (id, event, handler) => { const node = document.getElementById(id); if (node) node.addEventListener(event, handler); };
  on("setting", "change", (e) => {  // another setting has other groups: their choices are dropped
    const groups = [...state.params.keys()].filter((k) => k.startsWith("g.")).map((k) => [k, null]);
    writeHash({s: e.target.value, ...Object.fromEntries(groups)});
  });
  on("filter", "change", (e) => writeHash({filter: e.target.value === "all" ? null : e.target.value}));
  on("below", "change", (e) => writeHash({below: e.target.value}));
  on("search", "input", (e) => writeHash({q: e.target.value}));
  on("sort", "change", (e) => writeHash({sort: e.target.value === "order" ? null : e.target.value}));
  on("base-run", "change", (e) => writeHash({base: e.target.value}));
  on("new-run", "change", (e) => writeHash({new: e.target.value}));
  on("compare-setting", "change", (e) => writeHash({cs: e.target.value}));
  on("changed-only", "change", (e) => writeHash({changed: e.target.checked ? null : "0"}));
  const box = document.getElementById("lightbox");
  box.addEventListener("click", closeLightbox);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeLightbox(); });
  window.addEventListener("hashchange", () => { readHash(); render(); });
}

readHash();
wire();
render();
