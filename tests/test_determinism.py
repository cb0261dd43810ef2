"""Determinism (issue #9): a command run twice writes the same bytes, and the batch size does not
change a single prediction in float32."""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main


def run(data: Path, output: Path, batch_size: int) -> None:
    args = ["run", "--model", TRAINED_MODEL, "--tasks", "vqav2", "--data-dir", data, "--shots", "0,2",
            "--seeds", "42", "--limit", 8, "--support-size", 40, "--batch-size", batch_size, "--dtype", "float32",
            "--device", "cpu", "--output", output, "--no-progress"]
    assert main([str(a) for a in args]) == 0


def outputs(folder: Path) -> dict[str, bytes]:
    """Every file a run writes whose content does not record the time or the machine."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.name == "samples.jsonl" or path.name.startswith("predictions_")}


def test_same_command_twice_writes_identical_samples(vqav2_dir, tmp_path):
    """Two fresh run folders (the same folder twice would resume rather than recompute)."""
    run(vqav2_dir, tmp_path / "first", 8)
    run(vqav2_dir, tmp_path / "second", 8)
    first, second = outputs(tmp_path / "first"), outputs(tmp_path / "second")
    assert set(first) == {"samples.jsonl", "predictions_vqav2_0shot_seed42.json", "predictions_vqav2_2shot_seed42.json"}
    assert len(first["samples.jsonl"].splitlines()) == 16
    assert first == second
    results = json.loads((tmp_path / "first" / "results.json").read_text())
    assert results["config"]["seeds"] == [42]


def test_batch_size_one_and_eight_give_identical_predictions(vqav2_dir, tmp_path):
    run(vqav2_dir, tmp_path / "b8", 8)
    run(vqav2_dir, tmp_path / "b1", 1)

    def predictions(folder: Path) -> dict:
        rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
        return {(r["shots"], r["seed"], r["id"]): (r["generation"], r["prediction"]) for r in rows}

    eight, one = predictions(tmp_path / "b8"), predictions(tmp_path / "b1")
    assert len(eight) == 16 and len({text for text, _ in eight.values()}) > 1  # not one constant answer
    assert eight == one
