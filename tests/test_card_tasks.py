"""The four card plugins through the runner, with a scripted adapter (no model): what is ranked,
which prompts are built (one per image for Winoground, solutions only in ScienceQA's shots, bare
0-shot queries), how candidates are scored, and what results.json records."""

import json
from pathlib import Path

import pytest

from evalkit.metrics.classification import ranked
from evalkit.models.base import Capabilities, ContinuationScore
from evalkit.run.runner import Run, RunConfig
from evalkit.synthetic import write_scienceqa, write_visdial, write_winoground


class ScriptedAdapter:
    """Scores continuation c after prompt p as `score(p, c)`; records every call."""

    capabilities = Capabilities(generation=False, scoring=True, max_images=None)
    default_prompt_format = "idefics"
    choices_per_forward = 8
    context_length = None  # no limit: prompts are never measured

    def __init__(self, score):
        self.score, self.calls, self.with_prompt = score, [], []

    def score_continuations(self, prompt, continuations, chunk_size=None, with_prompt=False):
        self.calls.append((prompt, list(continuations)))
        self.with_prompt.append(with_prompt)
        return [self.score(prompt, c) for c in continuations]

    def describe(self):
        return {"adapter": "scripted", "model": "scripted"}


def flat(total: float, prompt_total: float | None = None) -> ContinuationScore:
    return ContinuationScore(total=total, mean=total, num_tokens=1, prompt_total=prompt_total, prompt_tokens=1)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("card")
    write_scienceqa(root / "scienceqa", sizes={"train": 12, "test": 12})
    write_visdial(root / "visdial", sizes={"train": (200_000, 6), "val": (800_000, 3)})
    write_winoground(root / "winoground", count=3)
    return root


def run(data: Path, output: Path, adapter, task: str, shots=(0,), **options) -> tuple[dict, list[dict]]:
    config = RunConfig(model="scripted", tasks=[task], shots=list(shots), seeds=[42], output=output,
                       data_dirs={"*": str(data)}, progress=False, **options)
    results = Run(config).execute(adapter)
    samples = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    return results["tasks"][task], samples


def test_scienceqa_ranks_its_own_letters_and_m4_ranks_a_to_e(data, tmp_path):
    # The script prefers " E." above all, then the query's gold letter: only A-to-E ranking picks E.
    problems = json.loads((data / "scienceqa" / "problems.json").read_text())
    queries = [problems[pid] for pid in json.loads((data / "scienceqa" / "pid_splits.json").read_text())["test"]]

    def score(prompt, continuation):
        pid = prompt[-2].path.parent.name  # the query's image, test/{pid}/image.png
        gold = f" {'ABCDE'[problems[pid]['answer']]}."
        return flat(1.0 if continuation == " E." else 0.5 if continuation == gold else 0.0)

    adapter = ScriptedAdapter(score)
    own, _ = run(data, tmp_path / "own", adapter, "scienceqa")
    assert all(set(c) == {f" {l}." for l in "ABCDE"[: len(c)]} for _, c in adapter.calls)
    with_image = [q for q in queries if q["image"]]
    e_wrong = sum(len(q["choices"]) == 5 and q["answer"] != 4 for q in with_image)  # E exists but is wrong
    e_right = sum(q["answer"] == 4 for q in with_image)
    assert 0 < e_wrong and own["metric_variant"] == "own-letters"
    assert own["shots"]["0"]["mean"] == pytest.approx(100 * (1 - e_wrong / len(with_image)))
    m4, _ = run(data, tmp_path / "m4", ScriptedAdapter(score), "scienceqa", metric_variant="m4")
    assert m4["shots"]["0"]["mean"] == pytest.approx(100 * e_right / len(with_image))  # E, right or not


def test_scienceqa_shots_show_their_solution_and_the_query_does_not(data, tmp_path):
    _, samples = run(data, tmp_path / "run", ScriptedAdapter(lambda p, c: flat(0.0)), "scienceqa", shots=(0, 1))
    zero, one = ([s for s in samples if s["shots"] == k] for k in (0, 1))
    assert all(s["prompt"].count("<image>") == 1 and s["demo_ids"] == [] for s in zero)  # bare query at 0 shots
    prompt = one[0]["prompt"]
    shot, query = prompt.split("<image>")[1:]
    assert shot.endswith(". The picture shows " + shot.split("The picture shows ")[1])
    assert "The best answer is " in shot and query.endswith("Answer: The best answer is")
    assert "The picture shows" not in query


def test_winoground_scores_every_caption_after_each_image_into_a_table(data, tmp_path):
    def score(prompt, continuation):  # image 0 is the one an example's caption 0 describes
        image_index = int(prompt[0].key.split("_img_")[1][0])
        return flat(-1.0 if continuation.strip().startswith(("a red", "a green"))
                    == (image_index == 0) else -2.0)

    adapter = ScriptedAdapter(score)
    task, samples = run(data, tmp_path / "run", adapter, "winoground", shots=(0, 1))
    assert task["shots_left_out"] == [1] and set(task["shots"]) == {"0"} and task["support_size"] == 0
    assert len(adapter.calls) == 2 * task["num_queries"]
    assert all(prompt[0].key != other[0].key for (prompt, _), (other, _) in zip(adapter.calls[::2], adapter.calls[1::2]))
    sample = samples[0]
    assert sample["prompt"] == ["<image>Description of the image:"] * 2
    assert len(sample["generation"]) == 2 and set(sample["generation"][0]) == set(sample["reference"])
    assert sample["prediction"] == [ranked(row)[0] for row in sample["generation"]]


def test_winoground_m4_scores_the_mean_over_the_whole_sequence(data, tmp_path):
    # Caption 0 wins on its own tokens (-1 vs -2) but loses once the prompt's log-probability,
    # -10 for image 0 and -20 for image 1, is averaged in with it: m4's scoring changes the ranking.
    def score(prompt, continuation):
        image_index = int(prompt[0].key.split("_img_")[1][0])
        return ContinuationScore(total=-1.0 if image_index == 0 else -2.0, mean=0.0, num_tokens=1,
                                 prompt_total=-10.0 * (image_index + 1), prompt_tokens=1)

    adapter = ScriptedAdapter(score)
    task, samples = run(data, tmp_path / "run", adapter, "winoground", metric_variant="m4")
    assert task["score_normalization"] == "sequence-mean" and task["metric_variant"] == "m4"
    assert adapter.with_prompt and all(adapter.with_prompt)  # the prompt's own log-probability asked for
    caption = samples[0]["reference"][0]
    assert samples[0]["generation"][0][caption] == pytest.approx((-10 - 1) / 2)
    assert samples[0]["generation"][1][caption] == pytest.approx((-20 - 2) / 2)


def test_visdial_ranks_each_rounds_options_with_a_bare_query_at_0_shots(data, tmp_path):
    dense = json.loads((data / "visdial" / "visdial_1.0_val_dense_annotations.json").read_text())
    adapter = ScriptedAdapter(lambda p, c: flat(-len(c)))
    task, samples = run(data, tmp_path / "run", adapter, "visdial", shots=(0, 2))
    assert task["zero_shot"] == "none" and task["metric"] == "ndcg"
    assert [len(c) for _, c in adapter.calls] == [20] * 6  # 3 dense rounds x 2 shot counts, 20 options each
    zero = [s for s in samples if s["shots"] == 0]
    assert all(s["demo_ids"] == [] and s["prompt"].count("<image>") == 1 for s in zero)
    round_ids = {d["image_id"]: d["round_id"] for d in dense}
    assert all(s["prompt"].count("Question:") == round_ids[s["id"]] for s in zero)  # earlier rounds + the asked one
    two = [s for s in samples if s["shots"] == 2]
    assert all(s["prompt"].count("<image>") == 3 and len(s["demo_ids"]) == 2 for s in two)
    aggregate = task["shots"]["0"]["per_seed"]["42"]
    assert {"ndcg_official", "ndcg_whole_list", "published_note"} <= set(aggregate)


@pytest.mark.parametrize("args, expected", [
    (["run", "--tasks", "winoground", "--shots", "4"], "--shots: task winoground is evaluated at 0 shots at most"),
    (["reproduce", "idefics-9000b"], "unknown reference 'idefics-9000b' (known: idefics-80b, idefics-9b"),
])
def test_card_commands_refuse_bad_input_in_one_line(data, tmp_path, capsys, args, expected):
    from evalkit.assets import TRAINED_MODEL
    from evalkit.cli import main

    code = main([*args, "--model", str(TRAINED_MODEL), "--data-dir", str(data), "--output", str(tmp_path / "out"),
                 "--no-progress"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.count("\n") == 0 and expected in error and "Traceback" not in error
