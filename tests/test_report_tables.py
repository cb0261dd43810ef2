"""`evalkit table`: the model card layout, the ImageNet and FairFace tables, merged runs, LaTeX and CSV."""

import csv
import io

import pytest

from evalkit.cli import main
from evalkit.report.cards import latex_escape, render_tables
from evalkit.report.store import load_run
from fake_runs import task_result, write_run

EXPECTED_MARKDOWN = """\
### Model card

| model | shots | VQAv2 (VQA acc) | OKVQA (VQA acc) | COCO (CIDEr) |
|---|---:|---:|---:|---:|
| model A | 0 | 51.0 ± 1.4 | 40.0 | 92.0 ± 2.8 |
| model A | 4 | 56.0 ± 1.4 |  | 105.0 ± 7.1 |
| model B | 0 | 40.0 |  |  |
| model A (a-again) | 0 | 60.0 |  |  |

### ImageNet-1k

| model | shots | support size | selection | acc (top-1) |
|---|---:|---:|---:|---:|
| model A | 16 | 1000 | random | 53.5 ± 0.7 |
| model A (a-rices) | 16 | 5000 | rices | 64.0 |

### Accuracy (std over race x gender buckets)

| model | shots | FairFace-gender (acc) | FairFace-race (acc) |
|---|---:|---:|---:|
| model A | 0 | 94.0 (3.0) | 55.0 ± 1.4 (10.0) |

± with several seeds: std of the score over seeds; with one seed: bootstrap standard error over queries (--bootstrap resamples; the 95% interval is in results.json)
"""


@pytest.fixture
def runs(tmp_path):
    """model A over four runs: its OK-VQA run merges into its rows, the runs repeating a cell it already
    has (ImageNet with RICES, VQAv2 again) get rows of their own; model B's run predates the recorded
    benchmark name (the plugin's is used)."""
    first = write_run(tmp_path / "a", "model A", {
        # COCO is listed first but the card's column order puts it after the VQA tasks.
        "coco": task_result("cider", "coco-caption", {0: [90.0, 94.0], 4: [100.0, 110.0]}, "COCO"),
        "vqav2": task_result("vqa_accuracy", "vqav2", {0: [50.0, 52.0], 4: [55.0, 57.0]}, "VQAv2"),
        "imagenet": task_result("accuracy", "top-1", {16: [53.0, 54.0]}, "ImageNet-1k", support_per_class=1,
                                support_size=1000),
        "fairface-gender": task_result("accuracy", "buckets", {0: [94.0]}, "FairFace-gender", {"bucket_std": 3.0}),
        "fairface-race": task_result("accuracy", "buckets", {0: [54.0, 56.0]}, "FairFace-race", {"bucket_std": 10.0}),
    })
    okvqa = write_run(tmp_path / "a-okvqa", "model A", {
        "okvqa": task_result("vqa_accuracy", "vqav2", {0: [40.0]}, "OKVQA")})
    rices = write_run(tmp_path / "a-rices", "model A", {
        "imagenet": task_result("accuracy", "top-1", {16: [64.0]}, "ImageNet-1k", support_per_class=5,
                                support_size=5000, shot_selection="rices")})
    second = write_run(tmp_path / "b", "model B", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [40.0]})})
    again = write_run(tmp_path / "a-again", "model A", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [60.0]})})
    return [first, okvqa, rices, second, again]


def test_markdown_matches_the_hand_written_model_card(runs):
    assert render_tables([load_run(path) for path in runs]) == EXPECTED_MARKDOWN


def test_latex_has_the_same_cells_escaped(runs):
    text = render_tables([load_run(path) for path in runs], "latex", ["support"])
    assert text == (
        "% ImageNet-1k\n"
        "\\begin{tabular}{lrrrr}\n\\toprule\n"
        "model & shots & support size & selection & acc (top-1) \\\\\n\\midrule\n"
        "model A & 16 & 1000 & random & 53.5 $\\pm$ 0.7 \\\\\n"
        "model A (a-rices) & 16 & 5000 & rices & 64.0 \\\\\n"
        "\\bottomrule\n\\end{tabular}\n\n"
        "% ± with several seeds: std of the score over seeds; with one seed: bootstrap standard error over "
        "queries (--bootstrap resamples; the 95% interval is in results.json)\n")


def test_latex_escapes_its_special_characters():
    assert latex_escape("run_1 & 5% #2") == r"run\_1 \& 5\% \#2"


def test_csv_has_one_full_precision_row_per_cell(runs):
    rows = list(csv.DictReader(io.StringIO(render_tables([load_run(path) for path in runs], "csv"))))
    assert len(rows) == 11  # run a: 2 coco + 2 vqav2 + imagenet + 2 fairface; okvqa, rices, b, again: 1 each
    race = next(row for row in rows if row["task"] == "fairface-race")
    assert (race["model"], race["mean"], race["num_seeds"], race["bucket_std"]) == ("model A", "55.0", "2", "10.0")
    assert float(race["std"]) == pytest.approx(2 ** 0.5)
    rices = next(row for row in rows if row["shot_selection"] == "rices")
    assert (rices["model"], rices["support_size"], rices["benchmark"]) == ("model A (a-rices)", "5000", "ImageNet-1k")


def test_table_command_writes_a_file_and_refuses_a_folder_without_results(runs, tmp_path, capsys):
    out = tmp_path / "tables" / "card.md"
    assert main(["table", *map(str, runs), "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == EXPECTED_MARKDOWN
    assert main(["table", str(tmp_path / "nowhere")]) == 2
    assert "no results.json here" in capsys.readouterr().err
    assert main(["table", str(runs[0]), "--tables", "bogus"]) == 2


# ---- partial runs never pass for whole ones ---------------------------------------------------------

@pytest.fixture
def partial(tmp_path):
    """An interrupted run, a --limit run, and a run whose 8-shot prompts had demos dropped."""
    import json

    killed = write_run(tmp_path / "killed", "model K", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [50.0]})})
    results = json.loads((killed / "results.json").read_text())
    (killed / "results.json").write_text(json.dumps({**results, "finished": False}))
    limited = write_run(tmp_path / "limited", "model L", {"vqav2": task_result("vqa_accuracy", "vqav2", {0: [40.0]})},
                        limit=100)
    overflow = {"context_overflow": {"queries_with_dropped_shots": 3, "dropped_shots": 7, "context_length": 2048}}
    dropped = write_run(tmp_path / "dropped", "model D", {
        "vqav2": task_result("vqa_accuracy", "vqav2", {8: [30.0]}, per_seed_extra=overflow)})
    return [load_run(path) for path in (killed, limited, dropped)]


def test_unfinished_limited_and_shot_dropping_runs_are_marked_in_every_format(partial):
    assert render_tables(partial) == """\
### Model card

| model | shots | VQAv2 (VQA acc) |
|---|---:|---:|
| model K [unfinished] | 0 | 50.0 |
| model L [--limit 100] | 0 | 40.0 |
| model D | 8 | 30.0 ‡ |

‡ demos were dropped from some prompts to fit the model's context (--context-overflow drop-shots; counts in \
results.json)
"""
    latex = render_tables(partial, "latex")
    assert "model K [unfinished] & 0 & 50.0" in latex and "% ‡ demos were dropped" in latex
    rows = {row["model"]: row for row in csv.DictReader(io.StringIO(render_tables(partial, "csv")))}
    assert set(rows) == {"model K [unfinished]", "model L [--limit 100]", "model D"}
    assert rows["model D"]["dropped_shots"] == "7"


def test_plot_labels_partial_runs_and_ticks_only_shot_counts(partial):
    from matplotlib.figure import Figure

    from evalkit.report.cards import collect
    from evalkit.report.plot import _draw_panel

    axes = Figure().add_subplot()
    _draw_panel(axes, "VQAv2", [e for e in collect(partial) if e.shots == 0], {})
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["model K [unfinished]",
                                                                          "model L [--limit 100]"]
    assert list(axes.get_xticks()) == [0]  # a single shot count: no 0.5-shot ticks
