"""Published references (results/published/) against the source CSVs' own numbers, `evalkit compare
RUN --reference`, and `evalkit plot` (valid PNGs, one per benchmark, and an overview with every panel)."""

import shutil

import pytest
from PIL import Image

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.report.plot import plot_runs
from evalkit.report.published import DEFAULT_FOLDER, load_published, reference_values
from evalkit.report.reproduce import reproduction_markdown
from evalkit.report.store import load_run
from fake_runs import task_result, write_run


def test_the_published_tables_are_read_with_their_conditions():
    idefics = {(v.benchmark, v.shots, v.shot_selection, v.support_set): v for v in reference_values("idefics-9b")}
    assert idefics[("VQAv2", 0, "random", None)].value == 50.9  # model card, IDEFICS 9B, 0 shots
    assert idefics[("ImageNet-1k", 16, "rices", 5000)].value == 64.5
    assert idefics[("FairFace-race", 32, "random", None)].value == 35.1
    winoground = idefics[("Winoground", 0, "random", None)]
    assert (winoground.value, winoground.text) == (5.0, "5.0 (16.8/20.8)")  # group (text/image)
    assert winoground.components == (("text", 16.8), ("image", 20.8))
    assert reference_values("IDEFICS 80B Instruct")[0].model == "IDEFICS 80B Instruct"
    flamingo = reference_values("openflamingo-9b")
    assert len(flamingo) == 70 and {v.vqa_rules for v in flamingo} == {"openflamingo"}
    assert len(load_published()) == 224 + 64 + 105  # the three files' data rows


def test_unknown_references_and_broken_files_are_one_line_errors(tmp_path):
    with pytest.raises(EvalkitError, match="known: idefics-80b, idefics-9b"):
        reference_values("idefics-7b")
    (tmp_path / "broken.csv").write_text("model,shots,benchmark,value\nX,0,VQAv2,1.0\n")
    with pytest.raises(EvalkitError, match=r"broken.csv \[metric\]: missing column"):
        load_published(tmp_path)


@pytest.fixture
def ours(tmp_path):
    return write_run(tmp_path / "ours", "ours", {
        "vqav2": task_result("vqa_accuracy", "vqav2", {0: [55.0, 56.0], 4: [60.0]}, "VQAv2"),
        "imagenet": task_result("accuracy", "top-1", {16: [50.0]}, "ImageNet-1k", support_per_class=1,
                                support_size=1000),
        "textcaps": task_result("cider", "coco-caption", {2: [30.0]}, "TextCaps"),
    }, limit=500)


def test_reproduction_table_gives_ours_published_and_the_difference(ours):
    text = reproduction_markdown([load_run(ours)], "idefics-9b")
    lines = text.splitlines()
    assert lines[0] == "## Ours vs IDEFICS 9B (idefics_imagenet_fairface.csv, idefics_model_card.csv)"
    assert "| ours | VQAv2 | VQA acc | 0 | 55.5 ± 0.7 | 50.9 | +4.6 | ours on the first 500 queries only |" in lines
    assert "| ours | VQAv2 | VQA acc | 4 | 60.0 | 55.4 | +4.6 | ours on the first 500 queries only |" in lines
    # random selection with a 1,000-image support: the card's random 1K cell, not the RICES 5K one
    assert "| ours | ImageNet-1k | acc | 16 | 50.0 | 53.5 | -3.5 | ours on the first 500 queries only |" in lines
    assert "| ours | TextCaps | CIDEr | 2 | 30.0 |  |  | not in idefics-9b |" in lines
    assert ("Published shot counts of these benchmarks that no run covers: ImageNet-1k 16 (rices); "
            "TextCaps 0, 4, 8, 16, 32; VQAv2 8, 16, 32.") in text


def test_openflamingo_reference_notes_its_vqa_rules(ours, capsys):
    assert main(["compare", str(ours), "--reference", "openflamingo-9b"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| ours | VQAv2 | VQA acc | 0"))
    assert "| 52.7 | +2.8 |" in row and "openflamingo VQA rules (--metric-variant openflamingo)" in row


def test_plot_writes_a_png_per_benchmark_and_an_overview(ours, tmp_path):
    second = write_run(tmp_path / "other", "other", {
        "vqav2": task_result("vqa_accuracy", "vqav2", {0: [40.0], 4: [45.0]}, "VQAv2")})
    written = plot_runs([load_run(ours), load_run(second)], tmp_path / "plots", ["idefics-9b"])
    assert set(written) == {"VQAv2", "TextCaps", "ImageNet-1k", "overview"}
    assert sorted(path.name for path in (tmp_path / "plots").iterdir()) == [
        "imagenet-1k.png", "overview.png", "textcaps.png", "vqav2.png"]
    for path in written.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.verify()
    with Image.open(written["VQAv2"]) as panel, Image.open(written["overview"]) as overview:
        assert panel.size == (400, 300)
        assert overview.size == (3 * 400, 300)  # three panels side by side


def test_plot_command_and_a_missing_published_folder(ours, tmp_path, capsys):
    assert main(["plot", str(ours), "--out", str(tmp_path / "p")]) == 0
    assert "4 plots in" in capsys.readouterr().out
    empty = tmp_path / "published"
    shutil.copytree(DEFAULT_FOLDER, empty, ignore=shutil.ignore_patterns("*.csv"))
    assert main(["plot", str(ours), "--out", str(tmp_path / "q"), "--reference", "idefics-9b",
                 "--published", str(empty)]) == 2
    assert "no published reference tables" in capsys.readouterr().err
