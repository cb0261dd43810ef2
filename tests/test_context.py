"""Prompts longer than the model's context: an error by default, or whole demos dropped (oldest
first) and counted; lengths are the adapter's own (evalkit/prompts/context.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.prompts.builder import Demo, build_prompt, prompt_text
from evalkit.prompts.context import ContextBudget, answer_room
from evalkit.registry import get_task
from evalkit.types import Example, FileImage

TEMPLATE = get_task("vqav2").templates["idefics"]


def example(number: int) -> Example:
    return Example(number, FileImage(Path(f"{number}.jpg")), {"question": f"question {number}?"}, ["red"])


def characters(prompt) -> int:
    """A stand-in length: characters, an image as 7 (the length of its `<image>` marker)."""
    return len(prompt_text(prompt))


DEMOS = [Demo(example(n), f"answer {n}") for n in range(1, 7)]
QUERY = example(9)


def test_a_prompt_that_fits_keeps_every_demo():
    full = build_prompt(TEMPLATE, DEMOS, QUERY)
    fitted = ContextBudget(characters, characters(full) + 15, "error").fit(TEMPLATE, DEMOS, QUERY, room=15)
    assert fitted.prompt == full and fitted.dropped == 0


def test_drop_shots_drops_the_fewest_whole_demos_oldest_first():
    lengths = [characters(build_prompt(TEMPLATE, DEMOS[k:], QUERY)) for k in range(len(DEMOS) + 1)]
    # A limit between the lengths with 3 and 2 demos dropped (plus the room for the answer): 3 go.
    limit = lengths[3] + 15
    fitted = ContextBudget(characters, limit, "drop-shots").fit(TEMPLATE, DEMOS, QUERY, room=15)
    assert fitted.dropped == 3 and fitted.demos == DEMOS[3:]
    assert fitted.prompt == build_prompt(TEMPLATE, DEMOS[3:], QUERY)  # whole demos: no cut text or image
    assert lengths[2] + 15 > limit


def test_an_overflow_is_an_error_unless_shots_may_be_dropped():
    budget = ContextBudget(characters, 100, "error", where="vqav2_6shot_seed42")
    length = characters(build_prompt(TEMPLATE, DEMOS, QUERY))
    with pytest.raises(EvalkitError) as raised:
        budget.fit(TEMPLATE, DEMOS, QUERY, room=15)
    assert raised.value.one_line() == (
        f"--context-overflow: vqav2_6shot_seed42, query 9: the prompt takes {length:,} tokens (+ 15 for the answer), "
        "over the model's context of 100; --context-overflow drop-shots drops whole demos (oldest first) instead")
    tiny = ContextBudget(characters, 20, "drop-shots", where="vqav2_6shot_seed42")
    with pytest.raises(EvalkitError, match="query 9: even without demos, the prompt takes"):
        tiny.fit(TEMPLATE, DEMOS, QUERY, room=15)


def test_ranked_answers_need_their_longest_choice():
    template = get_task("hatefulmemes").templates["idefics"]
    query = Example(1, FileImage(Path("1.png")), {"text": "a meme"}, ["no"], {"choices": ("no", "yes", "no")})
    seen = []

    def continuation_ids(prompt, continuations):
        seen.append(continuations)
        return [[0] * len(text) for text in continuations]

    room = answer_room("rank", 15, template, continuation_ids)
    assert room(query) == room(query) == max(len(c) for c in seen[0]) and len(seen) == 1  # worked out once
    assert answer_room("generate", 15, template, continuation_ids)(query) == 15


def run(vqav2_dir: Path, output: Path, *extra: str) -> list[str]:
    return ["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2", "--data-dir", str(vqav2_dir), "--shots", "150",
            "--limit", "2", "--output", str(output), "--device", "cpu", "--no-progress", *extra]


def test_a_prompt_over_the_embedded_models_context(vqav2_dir, tmp_path, capsys):
    """150 demos take about 4,000 tokens; the embedded model has 2,048 positions."""
    assert main(run(vqav2_dir, tmp_path / "stop")) == 2
    error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evalkit: error:")]
    assert len(error) == 1 and error[0].startswith("evalkit: error: --context-overflow: vqav2_150shot_seed42, query ")
    assert "over the model's context of 2,048; --context-overflow drop-shots" in error[0]

    assert main(run(vqav2_dir, tmp_path / "drop", "--context-overflow", "drop-shots")) == 0
    notice = [line for line in capsys.readouterr().err.splitlines() if "demos dropped" in line]
    samples = [json.loads(line) for line in (tmp_path / "drop" / "samples.jsonl").read_text().splitlines()]
    results = json.loads((tmp_path / "drop" / "results.json").read_text())
    aggregate = results["tasks"]["vqav2"]["shots"]["150"]["per_seed"]["42"]
    assert all(0 < s["dropped_shots"] < 150 and len(s["demo_ids"]) == 150 - s["dropped_shots"] for s in samples)
    assert aggregate["context_overflow"] == {"queries_with_dropped_shots": 2, "context_length": 2048,
                                             "dropped_shots": sum(s["dropped_shots"] for s in samples)}
    assert results["tasks"]["vqav2"]["context_overflow"] == "drop-shots" and results["model"]["context_length"] == 2048
    assert notice and notice[0].startswith("evalkit: vqav2_150shot_seed42: 2 of 2 prompts were over the model's context")
    # Each prompt, as recorded, fits with room for its answer.
    from evalkit.models.idefics import IdeficsAdapter

    adapter = IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), dtype="float32", device="cpu")
    for sample in samples:
        text = sample["prompt"].replace("<image>", "\x00")  # the prompt as samples.jsonl records it
        assert text.count("\x00") == len(sample["demo_ids"]) + 1
        assert adapter.prompt_length(_as_prompt(sample["prompt"])) + 15 <= 2048


def _as_prompt(text: str) -> list:
    """samples.jsonl's prompt text back into segments (images as placeholders: only their count matters)."""
    parts = text.split("<image>")
    prompt: list = [parts[0]]
    for number, part in enumerate(parts[1:]):
        prompt += [FileImage(Path(f"{number}.jpg")), part]
    return prompt
