"""`evalkit view`: the report's files, from a demo run (trained and random tiny IDEFICS) and from
hand-made runs; the page itself is tested in a browser in test_report_view_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

from evalkit.cli import main
from evalkit.report.store import load_run
from evalkit.report.view import write_report
from fake_runs import sample_records, task_result, write_run


def samples_of(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]


def data_file(path: Path):
    """The value an `evalkitData(name, value);` script file hands to the page."""
    match = re.fullmatch(r'evalkitData\("([^"]+)",(.*)\);\n', path.read_text(encoding="utf-8"), re.S)
    assert match, path
    return json.loads(match.group(2))


def manifest(report: Path) -> dict:
    page = (report / "index.html").read_text(encoding="utf-8")
    return json.loads(re.search(r'<script id="manifest" type="application/json">(.*?)</script>', page, re.S).group(1))


DEMO_TASKS = ("vqav2", "hatefulmemes", "imagenet")  # what conftest's `demo` runs


def test_the_demo_ends_by_naming_its_report(demo):
    last = demo["printed"].strip().splitlines()[-1]
    assert last.startswith(f"report: {demo['report'] / 'index.html'} (")
    assert (demo["report"] / "index.html").is_file()


def test_every_sample_is_in_the_report_with_its_image_and_demos(demo):
    report, runs = demo["report"], demo["workdir"] / "runs"
    settings = manifest(report)["settings"]
    assert len(settings) == 2 * len(DEMO_TASKS) * 2  # two runs x tasks x (0, 1 shots), one seed
    vqa = next(s for s in settings if s["task"] == "vqav2" and s["shots"] == 1 and s["run"] == 0)
    recorded = [r for r in samples_of(runs / "demo-trained") if r["task"] == "vqav2" and r["shots"] == 1]
    index = data_file(report / "data" / vqa["key"] / "index.js")
    assert index["ids"] == [r["id"] for r in recorded]
    assert index["wrong"] == [int(r["score"] == 0) for r in recorded]
    assert set(index["groups"]["answer_type"]["values"]) <= {"yes/no", "number", "other"}
    first = data_file(report / "data" / vqa["key"] / "c0.js")[0]
    assert first["prompt"] == recorded[0]["prompt"] and first["generation"] == recorded[0]["generation"]
    assert first["demoImages"] == 1 and len(first["demo_ids"]) == 1
    assert (report / "images" / "thumbs" / (Path(first["image"]).stem + ".jpg")).is_file()
    assert (report / "images" / "full" / first["image"]).is_file()
    support = data_file(report / "data" / f"{vqa['support']}.js")
    demo_entry = support[json.dumps(first["demo_ids"][0])]
    assert demo_entry["answer"] and demo_entry["fields"]["question"] in first["prompt"]
    assert (report / "images" / "thumbs" / (Path(demo_entry["image"]).stem + ".jpg")).is_file()


def test_ranking_samples_keep_their_top_choices_and_gold_class(demo):
    report = demo["report"]
    setting = next(s for s in manifest(report)["settings"] if s["task"] == "imagenet" and s["run"] == 1)
    recorded = next(r for r in samples_of(demo["workdir"] / "runs" / "demo-random")
                    if r["task"] == "imagenet" and r["shots"] == setting["shots"])
    detail = data_file(report / "data" / setting["key"] / "c0.js")[0]
    best = sorted(recorded["generation"].items(), key=lambda item: -item[1])
    assert [c[0] for c in detail["choices"][:5]] == [name for name, _ in best[:5]]
    assert detail["reference"] == recorded["reference"] and detail["prediction"] == best[0][0]
    gold_rank = [name for name, _ in best].index(recorded["reference"]) + 1
    assert [recorded["reference"], recorded["generation"][recorded["reference"]], gold_rank] in detail["choices"]


def test_thumbnails_are_made_once_and_shared(demo, tmp_path):
    runs = [load_run(demo["workdir"] / "runs" / name) for name in ("demo-trained", "demo-random")]
    first = write_report(runs, tmp_path / "report")
    # Both runs and both shot counts show the same query images: one thumbnail each.
    examples = [json.loads(line) for line in (runs[0].folder / "examples.jsonl").read_text().splitlines()]
    distinct = {json.dumps(e["image"], sort_keys=True) for e in examples}
    assert first.images == first.thumbnails_made == len(distinct)
    assert len(list((tmp_path / "report" / "images" / "thumbs").iterdir())) == len(distinct)
    again = write_report(runs, tmp_path / "report")
    assert again.thumbnails_made == 0 and again.images == first.images


def test_a_run_without_examples_or_prompts_says_what_is_missing(tmp_path):
    records = sample_records("vqav2", 0, [1.0, 0.0, 0.3])  # ids, scores only: a compact log
    run = write_run(tmp_path / "compact", "model A", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [43.3]})},
                    records)
    report = write_report([load_run(run)], tmp_path / "report")
    assert report.samples == 3 and report.images == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert "examples.jsonl not found" in page
    missing = manifest(tmp_path / "report")["settings"][0]["missing"]
    assert "samples.jsonl has no prompt for 3 of 3 samples" in missing
    assert "3 of 3 samples have no image or question recorded (examples.jsonl)" in missing


def test_an_unreadable_image_is_listed_not_fatal(tmp_path):
    records = [{**r, "demo_ids": [], "prompt": "<image>Q?", "prediction": "a", "generation": "a"}
               for r in sample_records("vqav2", 0, [1.0, 0.0])]
    run = write_run(tmp_path / "run", "model A", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [50.0]})}, records)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    examples = [{"task": "vqav2", "role": "query", "id": 0, "image": {"file": str(tmp_path / "gone.jpg")},
                 "fields": {"question": "Q?"}, "references": ["a"], "groups": {}},
                {"task": "vqav2", "role": "query", "id": 1, "image": {"file": str(broken)},
                 "fields": {"question": "Q?"}, "references": ["a"], "groups": {}}]
    (run / "examples.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    report = write_report([load_run(run)], tmp_path / "report")
    assert report.missing_images == 2 and report.images == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert "gone.jpg: image file not found" in page and "broken.jpg: cannot decode image" in page


def test_view_refuses_bad_input_on_one_line(tmp_path, capsys):
    assert main(["view", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"evalkit: error: {tmp_path / 'nowhere'}: no results.json here: not a run folder"
    run = write_run(tmp_path / "run", "model A", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [50.0]})},
                    sample_records("vqav2", 0, [1.0]))
    (tmp_path / "site" / "data").mkdir(parents=True)
    assert main(["view", str(run), "--out", str(tmp_path / "site")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"evalkit: error: {tmp_path / 'site'}: holds a data folder that no evalkit report wrote; "
                     "choose another --out")


def test_images_of_hugging_face_datasets_are_found_again_by_their_row(tmp_path, images):
    """What the runner records for a dataset row (example_log.image_reference) is what the report opens."""
    import datasets
    from PIL import Image

    from evalkit.data.hf import DatasetImage, open_split
    from evalkit.example_log import image_reference
    from evalkit.report.view_images import ImageStore

    rows = [{"image": {"bytes": image.path.read_bytes(), "path": None}} for image in images[:3]]
    folder = tmp_path / "hf"
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(
        rows, features=datasets.Features({"image": datasets.Image()}))}).save_to_disk(str(folder))
    reference = image_reference(DatasetImage(open_split(folder, "validation"), 2, "image", str(folder)))
    assert reference == {"dataset": str(folder), "split": "validation", "row": 2, "column": "image"}
    store = ImageStore(tmp_path / "report", full_images=True)
    name = store.add(reference)
    with Image.open(tmp_path / "report" / "images" / "full" / name) as full, Image.open(images[2].path) as original:
        assert full.size == original.size and full.convert("RGB").tobytes() == original.convert("RGB").tobytes()
    assert (tmp_path / "report" / "images" / "thumbs" / (Path(name).stem + ".jpg")).is_file()
    assert store.add({"dataset": str(folder), "split": "validation", "row": 7, "column": "image"}) is None
    assert list(store.missing.values()) == [f"{folder}: split validation has no row 7 with column 'image'"]
