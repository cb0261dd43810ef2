"""The demo's report in a real browser: headless Chromium (Debian's `chromium` package) driven by
Playwright opens index.html from disk and checks, from the rendered page, the table, an image and
its full-size view, the filters and search, and the side-by-side view; a screenshot of the sample
browser and one of the side-by-side view are kept (the session's summary names the folder).

Skipped when Chromium is not installed, except where EVALKIT_REQUIRE_BROWSER=1 (`.ci/run` sets
it and installs Chromium): there a missing browser fails the test."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Chromium is not installed (apt-get install chromium); .ci/run installs it"
    if os.environ.get("EVALKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + ", and EVALKIT_REQUIRE_BROWSER=1 requires it")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def page(demo):
    """A browser page on the demo's report; fails the test on any script error of the page."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="evalkit-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((demo["report"] / "index.html").as_uri())
        yield page
        context.close()
    assert not errors, errors


def samples_of(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]


def queries_of(run: Path) -> dict:
    lines = [json.loads(line) for line in (run / "examples.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r for r in lines if r["role"] == "query"}


def setting_label(label: str, task: str, shots: int) -> str:
    return f"{label} · {task} · {shots}-shot · seed 42"


def shown_ids(page, selector: str = "article.sample") -> list[str]:
    """The ids of the samples on the page, once the page has finished rendering."""
    page.wait_for_function("document.body.dataset.busy === '0'")
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.dataset.id)")


def test_the_report_works_in_chromium(page, demo, artifacts):
    runs = demo["workdir"] / "runs"
    trained, random = samples_of(runs / "demo-trained"), samples_of(runs / "demo-random")
    results = json.loads((runs / "demo-trained" / "results.json").read_text())

    # The model card table: the trained model's VQAv2 0-shot cell is results.json's mean and SE, to one digit.
    headers = page.eval_on_selector_all("table.card >> nth=0 >> th", "cells => cells.map(c => c.textContent)")
    column = headers.index("VQAv2 (VQA acc)")
    first_row = page.eval_on_selector_all("table.card >> nth=0 >> tbody tr >> nth=0 >> td",
                                          "cells => cells.map(c => c.textContent)")
    limited = f" [--limit {results['config']['limit']}]"  # the card marks a --limit run (the fixture's is 4)
    assert first_row[:2] == ["tiny IDEFICS, trained (embedded default)" + limited, "0"]
    cell = results["tasks"]["vqav2"]["shots"]["0"]  # one seed: ± its bootstrap standard error
    assert first_row[column] == f"{cell['mean']:.1f} ± {cell['per_seed']['42']['interval']['se']:.1f}"
    assert page.eval_on_selector("img.plot", "img => img.naturalWidth") > 0

    # The sample browser: every sample of a setting, its query image loaded, full size on a click.
    page.click("#nav-samples")
    page.select_option("#setting", label=setting_label("tiny IDEFICS, trained (embedded default)", "vqav2", 1))
    vqa = [r for r in trained if r["task"] == "vqav2" and r["shots"] == 1]
    assert shown_ids(page) == [str(r["id"]) for r in vqa]
    thumb = page.locator("article.sample >> nth=0 >> .query img.thumb")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert page.locator("article.sample >> nth=0 >> li.demo img.thumb").count() == 1  # 1 shot, its image
    thumb.click()
    full = page.locator("#lightbox img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    query = queries_of(runs / "demo-trained")[("vqav2", vqa[0]["id"])]
    with Image.open(query["image"]["file"]) as original:
        assert full.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(original.size)
    page.keyboard.press("Escape")
    assert page.locator("#lightbox").is_hidden()
    page.click("article.sample >> nth=0 >> details.prompt-box summary")  # the prompt, its images in place
    inline = page.locator("article.sample >> nth=0 >> pre.prompt img.inline-thumb")
    assert inline.count() == vqa[0]["prompt"].count("<image>") == 2
    page.screenshot(path=str(_kept(artifacts, "view-samples.png")), full_page=True)

    # Filters: wrong only (VQA: score 0; a ranking task: the top choice is not the gold class) on the
    # first setting of either run with right and wrong samples both; a class on a ranking setting
    # with two classes or more; then search.
    def is_wrong(record: dict) -> bool:
        return record["prediction"] != record["reference"] if "reference" in record else record["score"] == 0

    runs_by_label = {"tiny IDEFICS, random weights": random, "tiny IDEFICS, trained (embedded default)": trained}
    settings = [(label, rows) for label, run in runs_by_label.items()
                for task in ("hatefulmemes", "imagenet", "vqav2") for shots in (0, 1)
                for rows in [[r for r in run if r["task"] == task and r["shots"] == shots]]]
    label, mixed = next(((label, rows) for label, rows in settings
                         if 0 < sum(map(is_wrong, rows)) < len(rows)), (None, []))
    assert mixed, "no setting of the demo runs has right and wrong samples both"
    page.select_option("#setting", label=setting_label(label, mixed[0]["task"], mixed[0]["shots"]))
    page.select_option("#filter", "wrong")
    assert shown_ids(page) == [str(r["id"]) for r in mixed if is_wrong(r)]
    page.select_option("#filter", "all")
    label, ranked = next((label, rows) for label, rows in settings
                         if "reference" in rows[0] and len({r["reference"] for r in rows}) > 1)
    page.select_option("#setting", label=setting_label(label, ranked[0]["task"], ranked[0]["shots"]))
    page.select_option("select[data-group='class']", ranked[0]["reference"])
    assert shown_ids(page) == [str(r["id"]) for r in ranked if r["reference"] == ranked[0]["reference"]]
    page.select_option("#setting", label=setting_label("tiny IDEFICS, trained (embedded default)", "vqav2", 0))
    word = queries_of(runs / "demo-trained")[("vqav2", vqa[0]["id"])]["fields"]["question"].split()[-1].lower()
    page.fill("#search", word)
    questions = queries_of(runs / "demo-trained")
    expected = [str(r["id"]) for r in trained if r["task"] == "vqav2" and r["shots"] == 0
                and word in " ".join([questions[("vqav2", r["id"])]["fields"]["question"],
                                      *questions[("vqav2", r["id"])]["references"],
                                      r["prediction"], r["generation"]]).lower()]
    assert expected and shown_ids(page) == expected

    # Side by side: the samples whose prediction changed between the two runs, then all of them.
    # The setting: the first where some predictions changed between the runs and some did not.
    page.click("#nav-compare")
    for task, shots in [(t, k) for t in ("hatefulmemes", "imagenet", "vqav2") for k in (0, 1)]:
        base = {str(r["id"]): r for r in trained if r["task"] == task and r["shots"] == shots}
        new = {str(r["id"]): r for r in random if r["task"] == task and r["shots"] == shots}
        changed = [i for i in base if base[i]["prediction"] != new[i]["prediction"]]
        if 0 < len(changed) < len(base):
            break
    assert 0 < len(changed) < len(base), "no setting where the two demo runs agree on some samples only"
    page.select_option("#compare-setting", label=f"{task} · {shots}-shot · seed 42")
    assert shown_ids(page, "article.pair") == changed
    assert page.text_content("#compare-info").startswith(f"{len(changed)} of {len(base)} samples")
    sides = page.eval_on_selector_all("article.pair >> nth=0 >> .side .prediction", "n => n.map(e => e.textContent)")
    assert sides == [base[changed[0]]["prediction"], new[changed[0]]["prediction"]]
    page.uncheck("#changed-only")
    assert shown_ids(page, "article.pair") == [str(i) for i in base]
    page.check("#changed-only")
    assert shown_ids(page, "article.pair") == changed
    page.screenshot(path=str(_kept(artifacts, "view-side-by-side.png")), full_page=True)


def _kept(artifacts: list[Path], name: str) -> Path:
    from conftest import ARTIFACTS_FOLDER

    artifacts.append(ARTIFACTS_FOLDER / name)
    return ARTIFACTS_FOLDER / name
