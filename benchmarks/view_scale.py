"""`evalkit view` at full VQAv2 scale: one 32-shot setting of 214,354 samples (VQAv2 val2014), written
as a run folder with prompts, questions and answers of VQAv2's lengths, then its report: build time,
sizes, and (where Chromium is installed) how long the page takes to open the setting, filter,
search and turn a page. Thumbnail cost is measured on a 640 x 480 photo (COCO's size).

    .venv/bin/python benchmarks/view_scale.py [--samples 214354] [--shots 32] [--workdir /tmp/evalkit-view-scale]

The run's images are 200 small PNGs shared by the queries (thumbnails are timed apart); the estimate
it prints for a real run scales the per-photo thumbnail size by VQAv2's 40,504 val2014 images.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image

from evalkit.report.store import load_run
from evalkit.report.view import write_report
from evalkit.report.view_images import THUMB_QUALITY, THUMB_SIDE, open_small

VQAV2_VAL_IMAGES = 40_504
COCO_MEAN_FILE_BYTES = 160_000  # val2014: about 6.2 GB for 40,504 JPEGs
WORDS = "what color is the how many are there in this picture does man woman dog cat table sign bus red".split()


def question(rng: random.Random) -> str:
    """About VQAv2's mean question length (31 characters)."""
    return " ".join(rng.choice(WORDS) for _ in range(6)).capitalize() + "?"


def write_fake_run(folder: Path, samples: int, shots: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images = folder / "images"
    images.mkdir(exist_ok=True)
    pictures = []
    for number in range(200):
        path = images / f"{number}.png"
        Image.new("RGB", (64, 48), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(path)
        pictures.append(str(path))
    support = [(1_000_000 + i, question(rng), rng.choice(["yes", "no", "2", "red", "white"])) for i in range(2048)]
    answer_types = ["yes/no", "number", "other"]
    with (folder / "examples.jsonl").open("w") as examples, (folder / "samples.jsonl").open("w") as out:
        for number in range(samples):
            demos = rng.sample(support, shots)
            text = question(rng)
            answers = [rng.choice(["yes", "no", "2", "red"]) for _ in range(10)]
            prompt = "Instruction: provide an answer to the question. Use the image to answer.\n" + "".join(
                f"Image:<image>Question: {q} Answer: {a}\n" for _, q, a in demos) + f"Image:<image>Question: {text} Answer:"
            prediction = rng.choice(["yes", "no", "2", "red"])
            score = min(1.0, answers.count(prediction) / 3)
            out.write(json.dumps({"task": "vqav2", "shots": shots, "seed": 42, "id": number,
                                  "demo_ids": [d[0] for d in demos], "prompt": prompt,
                                  "generation": prediction + "\n", "prediction": prediction, "score": score}) + "\n")
            examples.write(json.dumps({"task": "vqav2", "role": "query", "id": number,
                                       "image": {"file": pictures[number % 200]}, "fields": {"question": text},
                                       "references": answers, "groups": {"answer_type": rng.choice(answer_types)}}) + "\n")
        for demo_id, q, a in support:
            examples.write(json.dumps({"task": "vqav2", "role": "support", "id": demo_id,
                                       "image": {"file": pictures[demo_id % 200]}, "fields": {"question": q},
                                       "answer": a}) + "\n")
    results = {"label": "scale", "model": {"model": "scale"}, "config": {}, "finished": True, "tasks": {"vqav2": {
        "benchmark": "VQAv2", "metric": "vqa_accuracy", "metric_variant": "vqav2", "num_queries": samples,
        "shots": {str(shots): {"mean": 50.0, "std": 0.0, "num_seeds": 1, "per_seed": {"42": {"score": 50.0}}}}}}}
    (folder / "results.json").write_text(json.dumps(results))


def thumbnail_cost() -> tuple[float, int]:
    """Seconds and bytes per thumbnail of a 640 x 480 photo (matplotlib's sample photograph)."""
    from matplotlib import cbook

    with tempfile.TemporaryDirectory() as scratch:
        photo = Path(scratch) / "photo.jpg"
        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            Image.open(handle).convert("RGB").resize((640, 480)).save(photo, quality=90)
        started = time.perf_counter()
        for _ in range(20):
            image = open_small(photo)
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            image.save(Path(scratch) / "thumb.jpg", quality=THUMB_QUALITY)
        return (time.perf_counter() - started) / 20, (Path(scratch) / "thumb.jpg").stat().st_size


def browse(report: Path) -> dict[str, float]:
    """Seconds until the page is done rendering after each step, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    timings = {}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(profile, executable_path=shutil.which("chromium"),
                                                                headless=True, args=flags)
        context.set_default_timeout(120_000)
        page = context.new_page()

        def timed(name, action):
            started = time.perf_counter()
            action()
            page.wait_for_function("document.body.dataset.busy === '0'")
            timings[name] = time.perf_counter() - started

        timed("open the report and the setting (index + first page)", lambda: page.goto((report / "index.html").as_uri() + "#samples?s=0"))
        timed("wrong only", lambda: page.select_option("#filter", "wrong"))
        timed("an answer type", lambda: page.select_option("select[data-group='answer_type']", "number"))
        timed("search a word", lambda: page.fill("#search", "red"))
        timed("next page", lambda: page.click(".next >> nth=0"))
        timed("lowest scores first", lambda: page.select_option("#sort", "score-asc"))
        context.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=214_354)
    parser.add_argument("--shots", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "evalkit-view-scale")
    args = parser.parse_args()
    run, out = args.workdir / "run", args.workdir / "report"
    started = time.perf_counter()
    write_fake_run(run, args.samples, args.shots)
    print(f"run written in {time.perf_counter() - started:.0f} s: samples.jsonl "
          f"{(run / 'samples.jsonl').stat().st_size / 1e6:.0f} MB, examples.jsonl {(run / 'examples.jsonl').stat().st_size / 1e6:.0f} MB")
    started = time.perf_counter()
    report = write_report([load_run(run)], out, full_images=False)
    print(f"report built in {time.perf_counter() - started:.0f} s ({report.samples} samples)")
    data = out / "data" / "r0" / "s0"
    index = (data / "index.js").stat().st_size
    details = sum(p.stat().st_size for p in data.glob("c*.js"))
    per_sample = (index + details) / report.samples
    print(f"sample data: index.js {index / 1e6:.1f} MB, details {details / 1e6:.0f} MB in "
          f"{len(list(data.glob('c*.js')))} files: {per_sample:.0f} bytes per sample")
    seconds, thumb_bytes = thumbnail_cost()
    print(f"thumbnail of a 640x480 photo: {seconds * 1000:.0f} ms, {thumb_bytes / 1e3:.1f} kB")
    images = VQAV2_VAL_IMAGES + 2048  # the queries' images and at most one per demo question
    print(f"estimate, one VQAv2 {args.shots}-shot setting of 214,354 samples: sample data "
          f"{per_sample * 214_354 / 1e9:.2f} GB, thumbnails {images * thumb_bytes / 1e9:.2f} GB "
          f"({images * seconds / 60:.0f} min on one core), full-size copies {images * COCO_MEAN_FILE_BYTES / 1e9:.1f} GB "
          "(--full-images copy); each further seed adds its sample data")
    if shutil.which("chromium"):
        for step, seconds in browse(out).items():
            print(f"browser: {step}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
