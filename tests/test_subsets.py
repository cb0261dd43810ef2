"""Subsets that compare: the first N or a fraction, a seeded sample independent of file order, an id file."""

from __future__ import annotations

import json
import random

import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.report.table import run_marks
from evalkit.run.subsets import Subset
from evalkit.types import Example, FileImage


def examples(ids) -> list[Example]:
    return [Example(id=i, image=FileImage(path=f"{i}.png"), fields={}, references=["a"]) for i in ids]


def ids_of(chosen) -> list:
    return [example.id for example in chosen]


def test_limit_takes_the_first_n_or_the_ceiling_of_a_fraction():
    split = examples([5, 3, 9, 1, 7, 2, 8])
    assert ids_of(Subset(limit=3).select(split)) == [5, 3, 9]
    assert ids_of(Subset(limit=0.3).select(split)) == [5, 3, 9]  # ceil(0.3 * 7) = ceil(2.1) = 3
    assert ids_of(Subset(limit=0.1).select(split)) == [5]  # ceil(0.7) = 1


def test_a_sample_is_the_same_queries_whatever_the_file_order():
    ids = list(range(100, 120))
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)
    first = Subset(sample=5, sample_seed=0).select(examples(ids))
    second = Subset(sample=5, sample_seed=0).select(examples(shuffled))
    assert sorted(ids_of(first)) == sorted(ids_of(second)) and len(first) == 5
    expected = set(random.Random(0).sample(sorted(str(i) for i in ids), 5))  # the rule, written out
    assert {str(i) for i in ids_of(first)} == expected
    assert set(ids_of(Subset(sample=5, sample_seed=1).select(examples(ids)))) != set(ids_of(first))


def test_id_files_match_int_ids_and_name_the_first_missing_one(tmp_path):
    listed = tmp_path / "ids.txt"
    listed.write_text("9\n1\n\n")
    assert ids_of(Subset(ids=str(listed)).select(examples([5, 3, 9, 1]))) == [9, 1]  # split order
    as_json = tmp_path / "ids.json"
    as_json.write_text(json.dumps([3, "x"]))
    with pytest.raises(EvalkitError, match=r"ids.json \[--ids\]: id x is not in the query split \(1 missing\)"):
        Subset(ids=str(as_json)).select(examples([5, 3, 9, 1]))
    assert ids_of(Subset(ids=str(listed), limit=1).select(examples([5, 3, 9, 1]))) == [9]


def test_contradictory_and_out_of_range_rules_are_refused():
    for subset, message in ((Subset(limit=3, sample=2), "--limit and --sample"), (Subset(limit=1.5), "fraction"),
                            (Subset(limit=0), "at least 1"), (Subset(sample=0), "at least 1")):
        with pytest.raises(EvalkitError, match=message):
            subset.validate()


def test_table_rows_name_the_subset():
    assert run_marks({"config": {"sample": 100, "sample_seed": 0}}, True) == " [--sample 100 --sample-seed 0]"
    assert run_marks({"config": {"limit": 0.1}}, False) == " [unfinished] [--limit 0.1]"
    assert run_marks({"config": {"limit": None}}, True) == ""


def test_a_sampled_run_records_its_rule_and_sizes(vqav2_dir, tmp_path):
    output = tmp_path / "run"
    assert main(["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2", "--data-dir", str(vqav2_dir), "--shots", "0",
                 "--sample", "2", "--sample-seed", "4", "--output", str(output), "--dtype", "float32",
                 "--device", "cpu", "--no-progress"]) == 0
    task = json.loads((output / "results.json").read_text())["tasks"]["vqav2"]
    assert task["num_queries"] == 2 and task["subset"]["rule"] == "--sample 2 --sample-seed 4"
    assert task["subset"]["split_queries"] > 2
    scored = {json.loads(line)["id"] for line in (output / "samples.jsonl").read_text().splitlines()}
    assert len(scored) == 2


def test_compare_names_the_two_subset_rules(tmp_path):
    from evalkit.report.compare import subset_rule
    from evalkit.report.store import StoredRun

    sampled = StoredRun(tmp_path, {"config": {}, "tasks": {"vqav2": {"subset": {"rule": "--sample 100 --sample-seed 0"}}}})
    old = StoredRun(tmp_path, {"config": {"limit": 50}, "tasks": {"vqav2": {}}})
    assert f"base scored {subset_rule(sampled, 'vqav2')}, new {subset_rule(old, 'vqav2')}" == \
        "base scored --sample 100 --sample-seed 0, new the first 50"
    assert subset_rule(StoredRun(tmp_path, {"config": {}, "tasks": {}}), "vqav2") == "the whole split"
