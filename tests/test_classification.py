"""Classification by log-likelihood: the cached scoring equals full-sequence scoring; ROC-AUC uses
probabilities; FairFace bucket spread; per-class support; end-to-end runs."""

import json
import math
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.metrics.classification import Accuracy, BucketAccuracy, RocAuc, probability_of
from evalkit.shots.random_shots import draw_support_per_class
from evalkit.types import Example, FileImage


def example(gold: str, **meta) -> Example:
    return Example(id=len(meta) or gold, image=FileImage(Path("x.jpg")), fields={}, references=[gold], meta=meta)


def test_cached_scoring_equals_full_sequences(tiny_model, vqav2_dir):
    from evalkit.models.idefics import IdeficsAdapter

    adapter = IdeficsAdapter.from_pretrained(str(tiny_model), dtype="float32", device="cpu")
    images = sorted((vqav2_dir / "val2014").iterdir())[:2]
    prompt = ["Image:", FileImage(images[0]), "Category: a photo of a red circle.\nImage:", FileImage(images[1]),
              "Category: a photo of a"]
    candidates = [" red circle.", " blue square.", " green triangle.", " yellow thing that is round.", " 2."]
    fast = adapter.score_continuations(prompt, candidates, chunk_size=2)
    slow = adapter.score_full_sequences(prompt, candidates)
    for cached, full in zip(fast, slow):
        assert cached.num_tokens == full.num_tokens
        assert cached.total == pytest.approx(full.total, abs=1e-4)
        assert cached.mean == pytest.approx(full.total / full.num_tokens, abs=1e-4)
    assert len({round(s.total, 3) for s in fast}) == len(candidates)


def test_prompt_log_probability_completes_the_whole_sequence(tiny_model, vqav2_dir):
    """The prompt's own log-probability (for m4's whole-sequence mean) plus a continuation's equals the
    log-probability of the whole sequence computed in one forward, token count included."""
    import torch

    from evalkit.models.idefics import IdeficsAdapter

    adapter = IdeficsAdapter.from_pretrained(str(tiny_model), dtype="float32", device="cpu")
    image = FileImage(sorted((vqav2_dir / "val2014").iterdir())[0])
    [scored] = adapter.score_continuations([image, "Description of the image:"], [" a red circle"], with_prompt=True)
    assert adapter.score_continuations([image, "Description of the image:"], [" a red circle"])[0].prompt_total is None
    inputs = adapter.encode_prompts([[image, "Description of the image: a red circle"]])
    logprobs = torch.log_softmax(adapter.forward(inputs).logits[0].float(), dim=-1)
    ids = inputs["input_ids"][0]
    whole = float(logprobs[:-1].gather(-1, ids[1:, None]).sum())
    assert scored.prompt_total + scored.total == pytest.approx(whole, abs=1e-4)
    assert scored.prompt_tokens + scored.num_tokens == len(ids) - 1


PROBABILITIES = [0.9, 0.8, 0.6, 0.7, 0.3]
LABELS = ["yes", "yes", "yes", "no", "no"]


def test_roc_auc_from_probabilities_not_hard_labels():
    logit = lambda p: math.log(p / (1 - p))
    scores = [{"yes": logit(p), "no": 0.0} for p in PROBABILITIES]
    probabilities, aggregate = RocAuc().score_all(scores, [example(label) for label in LABELS])
    assert probabilities == pytest.approx([100 * p for p in PROBABILITIES])
    # Positive/negative pairs ordered right: 0.9 and 0.8 beat both negatives, 0.6 beats only 0.3: 5 of 6.
    assert aggregate["score"] == pytest.approx(100 * 5 / 6)
    # Hard labels (P > 0.5) would tie 0.9, 0.8, 0.6 and 0.7: (1.5 + 1.5 + 1.5) / 6 = 0.75.
    assert aggregate["score"] != pytest.approx(75.0)
    assert aggregate["accuracy"] == pytest.approx(80.0)  # only the 0.7 "no" is wrong
    assert probability_of("yes", "no", {"yes": 0.0, "no": 0.0}) == 0.5


def test_hard_labels_would_give_another_auc():
    from sklearn.metrics import roc_auc_score

    truth = [int(label == "yes") for label in LABELS]
    assert roc_auc_score(truth, [int(p > 0.5) for p in PROBABILITIES]) == pytest.approx(0.75)
    assert roc_auc_score(truth, PROBABILITIES) == pytest.approx(5 / 6)


def test_top_k_accuracy_and_duplicate_names():
    scores = [{"missile": -1.0, "dog": -2.0, "cat": -3.0}, {"missile": -1.0, "dog": -2.0, "cat": -3.0}]
    per_sample, aggregate = Accuracy(top_k=(2,)).score_all(scores, [example("missile"), example("cat")])
    assert per_sample == [100.0, 0.0] and aggregate["score"] == 50.0 and aggregate["top_2"] == 50.0


def test_fairface_bucket_std_by_hand():
    # Buckets: White x Male 2/2 right (100), White x Female 1/2 (50), Black x Male 0/1 (0).
    golds = ["male", "female", "female", "male", "male"]
    guesses = ["male", "female", "male", "male", "female"]
    meta = [("White", "Male"), ("White", "Female"), ("White", "Female"), ("White", "Male"), ("Black", "Male")]
    examples = [Example(i, FileImage(Path("x")), {}, [g], {"race": r, "gender": s}) for i, (g, (r, s)) in
                enumerate(zip(golds, meta))]
    scores = [{guess: 0.0, ("female" if guess == "male" else "male"): -1.0} for guess in guesses]
    _, aggregate = BucketAccuracy().score_all(scores, examples)
    assert aggregate["score"] == pytest.approx(60.0)
    assert aggregate["by_bucket"] == {"Black x Male": 0.0, "White x Female": 50.0, "White x Male": 100.0}
    assert aggregate["bucket_std"] == pytest.approx(math.sqrt(((100 - 50) ** 2 + 0 + 50 ** 2) / 3))


def test_support_per_class_draws_each_class():
    pool = [Example(f"{c}{i}", FileImage(Path("x")), {}, [c]) for c in "abc" for i in range(6)]
    one = draw_support_per_class(pool, 1, seed=3)
    assert sorted(e.references[0] for e in one) == ["a", "b", "c"]
    five = draw_support_per_class(pool, 5, seed=3)
    assert len(five) == 15 and five == draw_support_per_class(pool, 5, seed=3)
    assert five != draw_support_per_class(pool, 5, seed=4)


@pytest.fixture(scope="module")
def classification_data(tmp_path_factory) -> Path:
    from evalkit.synthetic import write_fairface, write_hatefulmemes, write_imagenet

    root = tmp_path_factory.mktemp("classification")
    write_hatefulmemes(root / "hatefulmemes", sizes={"train": 20, "dev_seen": 6})
    write_imagenet(root / "imagenet", per_class={"train": 2, "val": 1})
    write_fairface(root / "fairface", sizes={"train": 20, "val": 14})
    return root


def test_end_to_end(tiny_model, classification_data, tmp_path, capsys):
    assert main(["run", "--model", str(tiny_model), "--tasks", "hatefulmemes,imagenet,fairface", "--shots", "0,2",
                 "--data-dir", str(classification_data), "--limit", "6", "--output", str(tmp_path),
                 "--normalization", "mean", "--no-progress"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())["tasks"]
    assert list(results) == ["hatefulmemes", "imagenet", "fairface-age", "fairface-gender", "fairface-race"]
    assert results["imagenet"]["support_size"] == 18 and results["imagenet"]["support_per_class"] == 1
    assert results["fairface-age"]["score_normalization"] == "mean"
    assert {"bucket_std", "by_bucket"} <= set(results["fairface-race"]["shots"]["2"]["per_seed"]["42"])
    assert "top_5" in results["imagenet"]["shots"]["0"]["per_seed"]["42"]
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    imagenet = [s for s in samples if s["task"] == "imagenet"]
    assert all(len(s["generation"]) == 18 and s["prediction"] in s["generation"] for s in imagenet)
    assert "| fairface-age |" in capsys.readouterr().out


def test_score_classification_predictions(tmp_path, capsys):
    from evalkit.synthetic import write_hatefulmemes

    write_hatefulmemes(tmp_path, sizes={"dev_seen": 6})
    records = [json.loads(line) for line in (tmp_path / "dev_seen.jsonl").read_text().splitlines()]
    # A perfect ranking: P(yes) rises with the label, with one confident mistake kept out of the AUC.
    predictions = [{"id": r["id"], "scores": {"yes": 2.0 * r["label"] + 0.1 * i, "no": 1.0}}
                   for i, r in enumerate(records)]
    (tmp_path / "p.json").write_text(json.dumps(predictions))
    assert main(["score", "--task", "hatefulmemes", "--predictions", str(tmp_path / "p.json"),
                 "--data-dir", str(tmp_path), "--output", str(tmp_path / "out")]) == 0
    aggregate = json.loads((tmp_path / "out" / "results.json").read_text())["tasks"]["hatefulmemes"]["shots"]["0"]
    assert aggregate["mean"] == pytest.approx(100.0)
    (tmp_path / "p.json").write_text(json.dumps([{"id": records[0]["id"], "scores": "yes"}]))
    assert main(["score", "--task", "hatefulmemes", "--predictions", str(tmp_path / "p.json"),
                 "--data-dir", str(tmp_path), "--subset"]) == 2
    assert "expected {class name: score}" in capsys.readouterr().err


# ---- ImageNet labels follow the class folder's name -----------------------------------------------

@pytest.fixture()
def imagenet(tmp_path) -> Path:
    from evalkit.synthetic.classification import write_imagenet

    write_imagenet(tmp_path / "imagenet", per_class={"train": 1, "val": 1})
    return tmp_path / "imagenet"


def labels(root: Path, role: str = "query") -> dict[str, str]:
    from evalkit.registry import get_task

    return {e.id.split("/")[0]: e.references[0] for e in get_task("imagenet").data.load(root, role)}


def test_imagenet_val_class_absent_from_train_is_refused(imagenet):
    from evalkit.errors import EvalkitError

    names = json.loads((imagenet / "classnames.json").read_text())
    assert labels(imagenet)["n00000003"] == names[3]
    # A renamed val folder used to take the next folder's place in sorted order (accuracy 100 -> 25).
    (imagenet / "val" / "n00000003").rename(imagenet / "val" / "n00000099")
    expected = rf"val/n00000099: class n00000099 is not one of the {len(names)} classes of train/"
    with pytest.raises(EvalkitError, match=expected):
        labels(imagenet)


def test_imagenet_val_subset_keeps_train_indices(imagenet):
    import shutil

    names = json.loads((imagenet / "classnames.json").read_text())
    shutil.rmtree(imagenet / "val" / "n00000000")  # val's folders now sort one place off train's
    assert labels(imagenet) == {f"n{i:08d}": names[i] for i in range(1, len(names))}


def test_imagenet_numbered_folders_are_their_class_index(imagenet):
    """ImageNetV2 names its folders 0..999: sorted as text, 10 and 11 would come before 2."""
    names = json.loads((imagenet / "classnames.json").read_text())
    assert len(names) > 10  # so that text order (0, 1, 10, 11, 2, ...) differs from number order
    for split in ("train", "val"):
        for index in range(len(names)):
            (imagenet / split / f"n{index:08d}").rename(imagenet / split / str(index))
    assert labels(imagenet) == {str(i): names[i] for i in range(len(names))}


def test_imagenet_classnames_object_maps_folders_to_names(imagenet):
    from evalkit.errors import EvalkitError

    count = len(json.loads((imagenet / "classnames.json").read_text()))
    mapping = {f"n{i:08d}": f"class {count - 1 - i}" for i in range(count)}
    (imagenet / "classnames.json").write_text(json.dumps(mapping))
    assert labels(imagenet) == mapping
    (imagenet / "classnames.json").write_text(json.dumps({"n00000000": "one class"}))
    with pytest.raises(EvalkitError, match="class folder val/n00000001 has no name in classnames.json"):
        labels(imagenet)
    (imagenet / "classnames.json").write_text(json.dumps({"n00000000": None}))
    with pytest.raises(EvalkitError, match="expected a list of class names"):
        labels(imagenet)
