"""The embedded trained tiny IDEFICS measures something: it beats the random model by far, and its
score collapses when answer extraction or the prompt template is broken on purpose."""

from dataclasses import replace

import pytest
import torch

from evalkit.assets import TRAINED_MODEL, ensure_data, tokenizer_corpus
from evalkit.models.idefics import IdeficsAdapter
from evalkit.registry import get_task
from evalkit.run.runner import Run, RunConfig
from evalkit.taskspec import PromptTemplate

LIMIT = 90  # 30 pictures x (colour, count, yes/no)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    return ensure_data(tmp_path_factory.mktemp("demo")) / "vqav2"


@pytest.fixture(scope="module")
def trained():
    return IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), dtype="float32", device="cpu")


def vqav2_scores(adapter, data, output, task=None, shots=(0, 4)) -> dict[int, float]:
    config = RunConfig(model=adapter.name, tasks=["vqav2"], shots=list(shots), seeds=[42], output=output,
                       data_dirs={"*": str(data)}, batch_size=16, limit=LIMIT, progress=False)
    results = Run(config, {"vqav2": task} if task else None).execute(adapter)
    return {int(k): v["mean"] for k, v in results["tasks"]["vqav2"]["shots"].items()}


@pytest.fixture(scope="module")
def trained_scores(trained, demo_data, tmp_path_factory):
    return vqav2_scores(trained, demo_data, tmp_path_factory.mktemp("trained"))


def test_trained_model_scores_far_above_random(trained_scores, tiny_model, demo_data, tmp_path):
    random_model = IdeficsAdapter.from_pretrained(str(tiny_model), dtype="float32", device="cpu")
    random_scores = vqav2_scores(random_model, demo_data, tmp_path)
    for shots in (0, 4):
        assert trained_scores[shots] >= 60
        assert random_scores[shots] <= 10


CARD_TASKS = {"visdial": 20, "scienceqa": 30, "renderedsst2": 30, "winoground": 30}  # task: margin over random


def card_scores(adapter, data, output) -> dict[str, float]:
    config = RunConfig(model=adapter.name, tasks=list(CARD_TASKS), shots=[0], seeds=[42], output=output,
                       data_dirs={"*": str(data)}, batch_size=16, limit=24, progress=False)
    return {name: task["shots"]["0"]["mean"] for name, task in Run(config).execute(adapter)["tasks"].items()}


def test_trained_model_beats_random_on_the_cards_last_columns(trained, tiny_model, demo_data, tmp_path):
    random_model = IdeficsAdapter.from_pretrained(str(tiny_model), dtype="float32", device="cpu")
    ours = card_scores(trained, demo_data.parent, tmp_path / "trained")
    chance = card_scores(random_model, demo_data.parent, tmp_path / "random")
    for task, margin in CARD_TASKS.items():
        assert ours[task] >= chance[task] + margin, (task, ours[task], chance[task])


def test_broken_answer_extraction_drops_the_score(trained, trained_scores, demo_data, tmp_path):
    task = get_task("vqav2")
    keep_everything = replace(
        task,
        postprocess=lambda generation, stop_strings: generation,
        templates={name: replace(t, stop_strings=()) for name, t in task.templates.items()},
    )
    broken = vqav2_scores(trained, demo_data, tmp_path, keep_everything)
    for shots in (0, 4):
        assert broken[shots] <= trained_scores[shots] - 40


def test_query_image_left_out_of_the_prompt_drops_the_score(trained, trained_scores, demo_data, tmp_path):
    task = get_task("vqav2")
    base = task.templates["idefics"]
    blind = PromptTemplate(prefix=base.prefix, example="Image:Question: {question} Answer: {answer}\n",
                           image_block="Image:", stop_strings=base.stop_strings)
    broken = vqav2_scores(trained, demo_data, tmp_path, replace(task, templates={**task.templates, "idefics": blind}))
    for shots in (0, 4):
        assert broken[shots] <= trained_scores[shots] - 20


def test_training_is_deterministic_for_a_seed(demo_data, tmp_path):
    from safetensors.torch import load_file

    from evalkit.training import TrainSettings, train_tiny_idefics

    settings = TrainSettings(steps=2, batch_size=4, warmup_steps=1)
    for name in ("a", "b"):
        train_tiny_idefics(demo_data.parent, tmp_path / name, tokenizer_corpus(), settings=settings, log_every=0,
                           heldout_root=demo_data.parent)
    first, second = (load_file(tmp_path / name / "model.safetensors") for name in ("a", "b"))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_embedded_tokenizer_matches_a_fresh_build():
    """The shipped model was trained from today's templates and synthetic vocabulary: if they change,
    this fails until `evalkit train-tiny` is run again (see the model's README)."""
    from transformers import AutoTokenizer

    from evalkit.models.offline import TinySize, train_tokenizer

    fresh = train_tokenizer(tokenizer_corpus(), TinySize().vocab_size)
    assert fresh.get_vocab() == AutoTokenizer.from_pretrained(TRAINED_MODEL).get_vocab()
