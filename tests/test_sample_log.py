"""samples.jsonl at scale: each record's prompt hash (the journal's digest), and --log-samples full|compact|none."""

from __future__ import annotations

import json

import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.report.store import StoredRun
from evalkit.run.journal import prompt_digests


def run(vqav2_dir, output, level: str) -> list[dict]:
    assert main(["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2", "--data-dir", str(vqav2_dir), "--shots",
                 "1", "--limit", "2", "--output", str(output), "--dtype", "float32", "--device", "cpu",
                 "--no-progress", "--log-samples", level]) == 0
    path = output / "samples.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_log_levels_keep_the_hash_and_drop_the_prompt_text(vqav2_dir, tmp_path):
    full = run(vqav2_dir, tmp_path / "full", "full")
    compact = run(vqav2_dir, tmp_path / "compact", "compact")
    assert len(full) == 2 and all(len(r["prompt_hash"]) == 16 for r in full)
    assert [{k: v for k, v in r.items() if k != "prompt"} for r in full] == compact
    assert all("prompt" not in r and r["demo_ids"] for r in compact)
    journal = [json.loads(line) for p in (tmp_path / "full" / "progress").glob("*.jsonl")
               for line in p.read_text().splitlines()]
    assert {(r["id"], r["prompt_hash"]) for r in full} == {(j["id"], j["prompt"]) for j in journal}
    assert run(vqav2_dir, tmp_path / "full", "none") == []  # the rerun's own: the old file is not left
    results = json.loads((tmp_path / "full" / "results.json").read_text())
    assert results["config"]["log_samples"] == "none"
    with pytest.raises(EvalkitError, match=r"samples.jsonl: not written: the run was made with --log-samples none"):
        next(StoredRun(tmp_path / "full", results).samples())


def test_the_hash_is_the_digest_of_the_prompt():
    assert prompt_digests([["a", "b"]]) == prompt_digests([["ab"]])
    assert prompt_digests([["a"]]) != prompt_digests([["b"]])
