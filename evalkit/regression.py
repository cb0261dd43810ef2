"""The project's regression check: the embedded trained model on the synthetic data, every task at a
small --limit and 0 and 1 shots, compared with the run committed in results/baselines/. A change to
prompts, metrics or data loading that moves a number shows up in the report; `evalkit regression
--record` re-records the baseline when the change is intended.

METEOR is left out of the caption metrics here: its Java start costs about 10 s per scoring, which
the check pays for every caption task and shot count. CIDEr (the headline), BLEU and ROUGE-L stay.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from evalkit.assets import TRAINED_MODEL, ensure_data
from evalkit.report.compare import Comparison, compare_runs, comparison_markdown
from evalkit.files import write_atomic, write_json
from evalkit.report.store import RESULTS_FILE, SAMPLES_FILE, load_run
from evalkit.run.runner import Run, RunConfig

BASELINE = Path(__file__).resolve().parents[1] / "results" / "baselines" / "tiny-trained"
# What --record runs (the committed run file); a check re-runs what the baseline's results.json says it ran.
RUN_FILE = Path(__file__).resolve().parents[1] / "results" / "run-files" / "regression.yaml"
REPORT_FILE = "regression-report.md"
KEPT_SETTINGS = ("tasks", "shots", "seeds", "limit", "batch_size", "prompt_format", "zero_shot")
BASELINE_FILES = (RESULTS_FILE, SAMPLES_FILE, "table.md")


def without_meteor(task_names: list[str]) -> dict:
    """Task overrides whose caption metric skips METEOR (see the module docstring)."""
    from evalkit.registry import expand_task_names, get_task

    overrides = {}
    for name in expand_task_names(task_names):
        task = get_task(name)
        if "with_meteor" in {f.name for f in fields(task.metric)} and task.metric.with_meteor:
            overrides[name] = replace(task, metric=replace(task.metric, with_meteor=False))
    return overrides


def _portable(path: Path) -> str:
    """A path relative to the working folder when inside it (results.json is committed)."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def regression_run(output: Path, settings: dict[str, Any], data: Path, adapter: Any = None) -> dict[str, Any]:
    """The embedded trained model on the synthetic data in `data`, with the given run settings."""
    from evalkit.models.idefics import IdeficsAdapter

    config = RunConfig(model=_portable(TRAINED_MODEL), output=output, data_dirs={"*": _portable(data)},
                       dtype="float32", device="cpu", progress=False, **settings)
    run = Run(config, without_meteor(config.tasks))
    adapter = adapter or IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), dtype="float32", device="cpu")
    return run.execute(adapter, label="idefics-tiny-trained (regression check)")


def default_settings() -> dict[str, Any]:
    """The run file's settings that the check keeps (model, data, output and device are its own)."""
    from evalkit.run.config_file import checked_settings, read_run_file

    settings = checked_settings(read_run_file(RUN_FILE), str(RUN_FILE))
    return {key: settings[key] for key in KEPT_SETTINGS if key in settings}


def record_baseline(baseline: Path = BASELINE, workdir: Path = Path(".evalkit"), adapter: Any = None) -> Path:
    """Run the check's settings and replace the baseline folder with results.json, samples.jsonl, table.md."""
    data = ensure_data(workdir)
    with tempfile.TemporaryDirectory(prefix="evalkit-baseline-") as scratch:
        regression_run(Path(scratch), default_settings(), data, adapter)
        if baseline.exists():
            shutil.rmtree(baseline)
        baseline.mkdir(parents=True)
        for name in BASELINE_FILES:
            shutil.copyfile(Path(scratch) / name, baseline / name)
    results = load_run(baseline).results
    results["config"]["output"] = _portable(baseline)
    write_json(baseline / RESULTS_FILE, results)
    return baseline


def check_against_baseline(baseline: Path = BASELINE, workdir: Path = Path(".evalkit"),
                           output: Path | None = None, data: Path | None = None, adapter: Any = None) -> Comparison:
    """Re-run the baseline's settings and compare (failing on any significant change beyond tolerance,
    either way); the markdown report is written into the new run's folder."""
    base = load_run(baseline)
    recorded = base.results.get("config", {})
    settings = {key: recorded[key] for key in KEPT_SETTINGS if key in recorded}
    output = output or workdir / "runs" / "regression"
    regression_run(output, settings, data or ensure_data(workdir), adapter)
    comparison = compare_runs(base, load_run(output), fail_on="change")
    write_atomic(output / REPORT_FILE, comparison_markdown(comparison))
    return comparison
