"""`evalkit reproduce`: the card's cells become runs with the card's protocol; the dry run counts what
the run will process; on the synthetic data the embedded model fills every column of the card."""

import json
import math
from pathlib import Path

import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.models.offline import build_tiny_clip
from evalkit.registry import all_tasks
from evalkit.regression import without_meteor
from evalkit.report.published import reference_values
from evalkit.reproduction import card_runs, reproduce
from evalkit.run.config import RunConfig

CARD = Path(__file__).parent / "data" / "published-card"  # the 9B card at its fewest shot counts
CARD_COLUMNS = ["VQAv2", "OKVQA", "TextVQA", "VizWiz", "TextCaps", "COCO", "NoCaps", "Flickr30k", "VisDial",
                "HatefulMemes", "ScienceQA", "RenderedSST2", "Winoground"]


def test_the_card_becomes_runs_with_the_cards_protocol():
    runs, uncovered = card_runs("idefics-9b")
    assert uncovered == []
    by_name = {run.name: run for run in runs}
    assert set(by_name) == {"shots0-4-8-16-32", "shots0-4-8_m4", "shots0-4_m4", "shots0_m4",
                            "shots16_random-1-per-class", "shots16_rices-5-per-class"}
    assert set(by_name["shots0-4-8-16-32"].tasks) == {
        "vqav2", "okvqa", "textvqa", "vizwiz", "textcaps", "coco", "nocaps", "flickr30k", "hatefulmemes",
        "renderedsst2", "fairface-age", "fairface-gender", "fairface-race"}
    assert by_name["shots0-4-8_m4"].tasks == ("visdial",) and by_name["shots0-4_m4"].tasks == ("scienceqa",)
    assert by_name["shots0_m4"].tasks == ("winoground",)
    rices = by_name["shots16_rices-5-per-class"]
    assert rices.tasks == ("imagenet",) and rices.shot_selection == "rices" and rices.support_per_class == 5
    published = [v for v in reference_values("idefics-9b") if v.value is not None]
    assert sum(len(run.tasks) * len(run.shots) for run in runs) == len(published) == 73


def test_dry_run_counts_prompts_images_tokens_and_forward_passes(synthetic_data, capsys):
    assert main(["reproduce", "idefics-9b", "--model", str(TRAINED_MODEL), "--data-dir", str(synthetic_data),
                 "--published", str(CARD), "--dry-run", "--throughput", "1000", "--limit", "4"]) == 0
    rows = {(cells[1], int(cells[2])): cells for cells in
            (line.strip("| ").split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| shots"))}
    assert len(rows) == 17 + 1  # every task at 0 shots (ImageNet at 16, twice: one key), VisDial also at 4
    number = lambda text: int(text.replace(",", ""))
    # Columns: run, task, shots, queries, prompts, images, prompt / candidate / generated tokens, passes, GPU-h.
    # Winoground: 4 queries x 2 images, one prompt each, 2 captions: one forward for the prompt, one for both.
    wino = rows[("winoground", 0)]
    assert [number(c) for c in wino[3:6]] == [4, 8, 8] and number(wino[9]) == 16
    # VisDial at 4 shots: 5 images per prompt; 20 options in one forward after the prompt.
    visdial = rows[("visdial", 4)]
    assert number(visdial[5]) == 4 * 5 and number(visdial[9]) == 4 * 2
    # Generation: one batch of 4: a forward for the prompts and one per new token (15 at most).
    vqav2 = rows[("vqav2", 0)]
    assert number(vqav2[8]) == 4 * 15 and number(vqav2[9]) == 1 * (1 + 15)
    hours = (number(vqav2[6]) + number(vqav2[7]) + number(vqav2[8])) / 1000 / 3600
    assert float(vqav2[10]) == pytest.approx(hours, abs=0.005)


def test_dry_run_measures_the_throughput_of_the_first_batches(synthetic_data, capsys):
    assert main(["reproduce", "idefics-9b", "--model", str(TRAINED_MODEL), "--data-dir", str(synthetic_data),
                 "--published", str(CARD), "--dry-run", "--measure-batches", "1", "--limit", "2", "--device", "cpu",
                 "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    estimate = next(line for line in out.splitlines() if line.startswith("Estimate:"))
    assert " generate " in estimate and " rank " in estimate
    assert all(line.rstrip(" |").split(" | ")[-1] for line in out.splitlines() if line.startswith("| shots"))


def test_dry_run_prompt_tokens_match_the_model_inputs(synthetic_data):
    from evalkit.models.idefics_inputs import IdeficsInputs
    from evalkit.plan import Planner, TokenCounter
    from evalkit.prompts.builder import query_prompts
    from evalkit.registry import get_task
    from transformers import AutoProcessor

    task = get_task("visdial")
    config = RunConfig(model=str(TRAINED_MODEL), tasks=["visdial"], shots=[4], seeds=[42], output=Path("unused"),
                       data_dirs={"*": str(synthetic_data)}, limit=3)
    [cell] = Planner(TokenCounter(str(TRAINED_MODEL)), batch_size=8).plan("run", config, [task])
    inputs = IdeficsInputs(AutoProcessor.from_pretrained(TRAINED_MODEL))
    from evalkit.shots.random_shots import RandomShots, support_set
    from evalkit.run.task_settings import load_task_data, resolve_settings, setting_demos
    from evalkit.data.skips import Skips

    pool, queries = load_task_data(task, config, Skips())
    demos = setting_demos(resolve_settings(task, config), queries, 4, lambda: RandomShots(support_set(pool, 2048, None, 42), 42))
    prompts = [query_prompts(task.template("idefics"), d, q, False)[0] for q, d in zip(queries, demos)]
    real = sum(int(inputs.prepare([prompt], skip=set()).attention_mask.sum()) for prompt in prompts)
    assert cell.prompt_tokens == pytest.approx(real, rel=0.03)


@pytest.fixture(scope="module")
def reproduced(synthetic_data, tmp_path_factory):
    from evalkit.models.idefics import IdeficsAdapter

    output = tmp_path_factory.mktemp("reproduce")
    clip = build_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")
    base = RunConfig(model=str(TRAINED_MODEL), tasks=[], shots=[], seeds=[42], output=output,
                     data_dirs={"*": str(synthetic_data)}, limit=3, batch_size=8, rices_encoder=str(clip),
                     embedding_cache=output / "embeddings", device="cpu", dtype="float32", progress=False)
    adapter = IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), dtype="float32", device="cpu")
    report = reproduce("idefics-9b", base, CARD, adapter=adapter, task_specs=without_meteor(sorted(all_tasks())))
    return output, report


def test_reproduce_fills_every_column_of_the_card(reproduced):
    output, report = reproduced
    card = (output / "card.md").read_text()
    header = next(line for line in card.splitlines() if line.startswith("| model | shots | VQAv2"))
    assert [cell.split(" (")[0] for cell in header.strip("| ").split(" | ")[2:]] == CARD_COLUMNS
    # The row of a --limit run is marked as such.
    zero_shot = next(line for line in card.splitlines() if line.startswith("| idefics-tiny-trained [--limit 3] | 0 |"))
    assert len(zero_shot.strip("| ").split(" | ")) == 2 + 13 and "|  |" not in zero_shot and "unscored" not in zero_shot
    assert "### ImageNet-1k" in card and "Accuracy (std over race x gender buckets)" in card
    # Ours against every published cell: 13 columns at 0 shots, VisDial at 4, ImageNet twice, FairFace x 3.
    comparison = report[report.index("## Ours vs"):]
    rows = [line.strip("| ").split(" | ") for line in comparison.splitlines() if line.startswith("| idefics-tiny")]
    assert len(rows) == 13 + 1 + 2 + 3
    assert all(row[4] not in ("", "unscored") and row[5] and row[6] for row in rows), comparison
    winoground = next(row for row in rows if row[1] == "Winoground")
    assert winoground[5] == "5.0 (16.8/20.8)" and "swaps the text and image labels" in winoground[7]
    assert "Published shot counts" not in report  # every published cell is covered
    assert (output / "plots" / "overview.png").is_file() and (output / "report.md").read_text() == report
    results = json.loads((output / "runs" / "shots0_m4" / "results.json").read_text())
    assert results["tasks"]["winoground"]["score_normalization"] == "sequence-mean"
    assert results["tasks"]["scienceqa"]["metric_variant"] == "m4"
    assert math.isfinite(results["tasks"]["winoground"]["shots"]["0"]["mean"])

