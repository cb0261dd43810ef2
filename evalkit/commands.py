"""What each CLI command does, given parsed arguments."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from evalkit.errors import EvalkitError


# `evalkit run` options whose destination is not the RunConfig field of the same name.
FIELD_OF_OPTION = {"data_dir": "data_dirs", "no_progress": "progress"}


def run_config(args: argparse.Namespace):
    """The run's configuration: the run file's settings (--config), overridden by the flags given."""
    from evalkit.cli import data_dirs, default_output
    from evalkit.run.config_file import checked_settings, config_from_settings, read_run_file

    flags = {key: value for key, value in vars(args).items() if key not in ("command", "config", "given")}
    flags["data_dir"] = data_dirs(args.data_dir)
    flags["no_progress"] = not args.no_progress
    flags = {FIELD_OF_OPTION.get(key, key): value for key, value in flags.items()}
    if args.config is None:
        for option in ("model", "tasks"):
            if flags[option] is None:
                raise EvalkitError("required (or a run file with --config)", field=f"--{option}")
        settings = {key: value for key, value in flags.items() if value is not None or key == "output"}
        source = "command line"
    else:
        given = {FIELD_OF_OPTION.get(key, key) for key in args.given}
        settings = {**checked_settings(read_run_file(args.config), str(args.config)),
                    **{key: value for key, value in flags.items() if key in given}}
        source = str(args.config)
    if settings.get("output") is None and settings.get("model"):
        settings["output"] = default_output(settings["model"])
    return config_from_settings(settings, source)


def execute_run(config, label: str | None = None, quiet: bool = False) -> dict:
    from evalkit.api import execute
    from evalkit.report.table import results_table

    results = execute(config, label)
    if not quiet and os.environ.get("RANK", "0") == "0":  # the main process of a data-parallel run
        print(results_table([results]))
        print(f"results in {config.output}/ (results.json, samples.jsonl, table.md)")
    return results


def cmd_run(args: argparse.Namespace) -> int:
    execute_run(run_config(args))
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from evalkit.registry import all_tasks

    for name, task in sorted(all_tasks().items()):
        print(f"{name}: {task.description}")
        variants = ", ".join([task.metric.variant + " (default)", *task.metric_variants])
        print(f"    metric: {task.metric.name}, variants: {variants}; prompt formats: {', '.join(task.templates)}")
        print(f"    data: {task.data.describe()}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from evalkit.data.files import without_cycle_collection

    with without_cycle_collection():  # a short command over millions of objects in no reference cycle
        return _score(args)


def _score(args: argparse.Namespace) -> int:
    from evalkit.environment import describe_environment
    from evalkit.registry import get_task
    from evalkit.files import prepare_output, write_atomic, write_json
    from evalkit.report.table import breakdown_table, results_table
    from evalkit.scoring import match_predictions, read_predictions_file, score_predictions

    from evalkit.data.skips import Skips
    from evalkit.data.source import task_location

    task = get_task(args.task, option="--task")
    metric = task.metric_for(args.metric_variant)
    skips = Skips(args.skip_unpaired)
    predictions = read_predictions_file(args.predictions, task)
    if args.references is not None:
        from evalkit.data.captions import read_coco_references

        examples = read_coco_references(args.references)
    else:
        examples = task.data.load(task_location(args.data_dir, task.name), "query", split=args.split, skips=skips)
    kept, answers = match_predictions(predictions, examples, args.predictions, task.prediction_keys[0], args.subset)
    scored = score_predictions(metric, kept, answers)
    results = {
        "model": {"model": f"predictions:{args.predictions.name}"},
        "config": {"task": task.name, "predictions": str(args.predictions),
                   "data": args.data_dir or str(args.references),
                   "split": args.split, "subset": args.subset},
        "environment": describe_environment(),
        "finished": True,
        "tasks": {task.name: {
            "metric": metric.name, "metric_variant": metric.variant,
            "num_queries": len(kept), "num_questions_in_split": len(examples), "skipped": skips.entries,
            "shots": {"0": {"mean": scored.aggregate["score"], "std": 0.0, "num_seeds": 1,
                            "per_seed": {"-": scored.aggregate}}},
        }},
    }
    table = results_table([results]).replace("0-shot", "score") + "\n" + breakdown_table(results)
    print(table)
    if args.output:
        _check_score_output(prepare_output(args.output), args.force)
        write_json(args.output / "results.json", results)
        write_atomic(args.output / "table.md", table)
        encode = json.JSONEncoder(default=str).encode  # one encoder for every line
        write_atomic(args.output / "samples.jsonl", "".join(
            encode({"id": example.id, "prediction": answer, "score": score}) + "\n"
            for example, answer, score in zip(kept, answers, scored.scores)))
    return 0


def _check_score_output(folder: Path, force: bool) -> None:
    """`score --output` writes results.json and samples.jsonl: never over an `evalkit run`'s folder
    (one with progress/, or a results.json that `score` did not write) unless forced."""
    from evalkit.run.journal import PROGRESS

    results = folder / "results.json"
    try:
        written_by_score = "predictions" in json.loads(results.read_text(encoding="utf-8")).get("config", {})
    except (OSError, ValueError, AttributeError):
        written_by_score = not results.exists()
    if not force and ((folder / PROGRESS).is_dir() or not written_by_score):
        raise EvalkitError("holds the results of an evalkit run, which --output would replace; choose another "
                           "folder or pass --force", path=folder)


def cmd_build_model(args: argparse.Namespace) -> int:
    from evalkit.assets import all_formats_corpus, tokenizer_corpus
    from evalkit.models.offline import build_tiny_idefics
    from evalkit.models.offline_families import build_tiny_family

    if args.family == "idefics":
        folder = build_tiny_idefics(args.output, tokenizer_corpus(), seed=args.seed)
    else:
        folder = build_tiny_family(args.family, args.output, all_formats_corpus(), seed=args.seed)
    print(f"offline {args.family} model written to {folder}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from evalkit.models.select import ADAPTERS

    for info in ADAPTERS:
        caps = info.capabilities
        serves = ", ".join(info.model_types) or "any model_type AutoModelForImageTextToText loads"
        print(f"{info.name}: {info.description}")
        print(f"    model_type: {serves}")
        print(f"    generation: {'yes' if caps.generation else 'no'}, scoring: {'yes' if caps.scoring else 'no'}, "
              f"max images per prompt: {caps.max_images or 'no fixed limit (context length)'}")
        print(f"    prompt formats: {info.prompt_formats}")
    return 0


def cmd_build_clip(args: argparse.Namespace) -> int:
    from evalkit.models.offline import build_tiny_clip

    print(f"offline CLIP image encoder written to {build_tiny_clip(args.output, seed=args.seed)}")
    return 0


def cmd_make_data(args: argparse.Namespace) -> int:
    from evalkit.assets import make_data

    for task, folder in make_data(args.output, seed=args.seed, force=args.force).items():
        print(f"synthetic {task} in {folder}")
    return 0


def cmd_train_tiny(args: argparse.Namespace) -> int:
    import tempfile

    from evalkit.assets import tokenizer_corpus
    from evalkit.synthetic import WRITERS, write_all
    from evalkit.training import TrainSettings, heldout_tasks, train_tiny_idefics

    settings = TrainSettings(seed=args.seed, **({"steps": args.steps} if args.steps else {}))
    with tempfile.TemporaryDirectory(prefix="evalkit-train-") as scratch:
        data = args.data_dir
        if data is None:
            data = Path(scratch) / "data"
            write_all(data, seed=args.seed)
        # Zero-shot-only tasks (Winoground) have no train split: they train on another seed's copy.
        heldout = Path(scratch) / "heldout"
        for name in heldout_tasks():
            WRITERS[name](heldout / name, seed=args.seed + 1)
        summary = train_tiny_idefics(data, args.output, tokenizer_corpus(), settings=settings, heldout_root=heldout)
    print(f"trained tiny IDEFICS written to {args.output} ({summary['seconds']} s, "
          f"final loss {summary['final_loss']:.4f})")
    return 0


def _runs(paths: list[Path]):
    from evalkit.report.store import load_run

    return [load_run(path) for path in paths]


def _emit(text: str, output: Path | None) -> None:
    """Print, or write atomically to `output` (its folder created)."""
    from evalkit.files import prepare_output, write_atomic

    if output is None:
        print(text, end="")
        return
    write_atomic(prepare_output(output.parent) / output.name, text)
    print(f"written to {output}")


def cmd_table(args: argparse.Namespace) -> int:
    from evalkit.report.cards import KINDS, render_tables

    unknown = [name for name in args.tables if name not in KINDS]
    if unknown:
        raise EvalkitError(f"unknown table {unknown[0]!r} (known: {', '.join(KINDS)})", field="--tables")
    _emit(render_tables(_runs(args.runs), args.format, args.tables), args.output)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from evalkit.report.published import load_published, reference_names

    if args.list_references:
        print("\n".join(reference_names(load_published(args.published))))
        return 0
    if args.reference:
        from evalkit.report.reproduce import reproduction_markdown

        if not args.runs:
            raise EvalkitError("give at least one run folder", field="RUN")
        _emit(reproduction_markdown(_runs(args.runs), args.reference, args.published), args.report)
        return 0
    from evalkit.report.compare import compare_runs, comparison_markdown, parse_tolerances

    if len(args.runs) != 2:
        raise EvalkitError("give two run folders, BASE and NEW (or one with --reference)", field="RUN")
    tolerances = parse_tolerances(args.tolerance)
    base, new = _runs(args.runs)
    comparison = compare_runs(base, new, tolerances, args.resamples, args.seed, args.fail_on)
    report = comparison_markdown(comparison)
    print(report, end="")
    if args.report:
        _emit(report, args.report)
    return 0 if comparison.passed else 1


def cmd_plot(args: argparse.Namespace) -> int:
    from evalkit.report.plot import plot_runs

    written = plot_runs(_runs(args.runs), args.out, args.reference, args.published)
    print(f"{len(written)} plots in {args.out}/: " + ", ".join(path.name for path in written.values()))
    return 0


def _write_view(runs: list, out: Path, full_images: bool = True) -> Path:
    from evalkit.report.view import write_report

    report = write_report(runs, out, full_images)
    print(f"report: {report.index} ({report.settings} settings, {report.samples} samples, {report.images} images "
          f"({report.thumbnails_made} thumbnails made), {report.bytes / 1e6:.1f} MB)")
    if report.missing_images:
        print(f"{report.missing_images} image(s) could not be read: the report lists them")
    return report.index


def cmd_view(args: argparse.Namespace) -> int:
    from evalkit.report.view import default_out

    runs = _runs(args.runs)
    _write_view(runs, args.out or default_out(runs), args.full_images == "copy")
    return 0


def cmd_regression(args: argparse.Namespace) -> int:
    from evalkit.regression import BASELINE, REPORT_FILE, check_against_baseline, record_baseline
    from evalkit.report.compare import comparison_markdown

    workdir: Path = args.workdir or Path(".evalkit")
    baseline: Path = args.baseline or BASELINE
    if args.record:
        print(f"baseline recorded in {record_baseline(baseline, workdir)}")
        return 0
    comparison = check_against_baseline(baseline, workdir)
    print(comparison_markdown(comparison), end="")
    print(f"report in {workdir / 'runs' / 'regression' / REPORT_FILE}")
    return 0 if comparison.passed else 1


DEMO_TASKS = ("vqav2", "okvqa", "textvqa", "vizwiz", "coco", "hatefulmemes", "imagenet", "fairface", "visdial",
              "scienceqa", "renderedsst2", "winoground")


def cmd_demo(args: argparse.Namespace) -> int:
    from evalkit.assets import DEFAULT_WORKDIR, TRAINED_MODEL, ensure_data, ensure_random_model
    from evalkit.report.table import breakdown_table, results_table
    from evalkit.run.runner import RunConfig

    if args.limit is not None and args.limit < 1:
        raise EvalkitError("must be at least 1", field="--limit")
    workdir: Path = args.workdir or DEFAULT_WORKDIR
    data = ensure_data(workdir)
    models = [("tiny IDEFICS, trained (embedded default)", TRAINED_MODEL, "demo-trained"),
              ("tiny IDEFICS, random weights", ensure_random_model(workdir), "demo-random")]
    all_results = []
    for label, model, run_name in models:
        config = RunConfig(model=str(model), tasks=list(DEMO_TASKS), shots=args.shots, seeds=[42],
                           output=workdir / "runs" / run_name, data_dirs={"*": str(data)},
                           batch_size=16, limit=args.limit, force=True)  # scratch runs: a changed demo starts over
        all_results.append(execute_run(config, label=label, quiet=True))
    print()
    print(results_table(all_results))
    print("Details, trained model:")
    print(breakdown_table(all_results[0]))
    print(f"runs in {workdir / 'runs'}/ (results.json, samples.jsonl, table.md each)")
    _write_view(_runs([workdir / "runs" / run_name for _, _, run_name in models]), workdir / "report")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from evalkit.cli import data_dirs
    from evalkit.reproduction import dry_run, reproduce
    from evalkit.run.config import RunConfig
    from evalkit.run.config_file import checked_settings, read_run_file

    flags = dict(model=args.model, seeds=args.seeds, data_dirs=data_dirs(args.data_dir), output=args.output,
                 batch_size=args.batch_size, limit=args.limit, rices_encoder=args.rices_encoder,
                 rices_index=args.rices_index, embedding_cache=args.embedding_cache, dtype=args.dtype,
                 device=args.device, revision=args.revision, trust_remote_code=args.trust_remote_code,
                 attention=args.attention, device_map=args.device_map, vision_cache_mb=args.vision_cache_mb,
                 workers=args.workers, force=args.force, skip_unpaired=args.skip_unpaired)
    settings = flags
    if args.config is not None:
        given = {FIELD_OF_OPTION.get(key, key) for key in args.given}
        settings = {**flags, **checked_settings(read_run_file(args.config), str(args.config)),
                    **{key: value for key, value in flags.items() if key in given}}
        for ignored in ("tasks", "shots"):
            settings.pop(ignored, None)  # the card's protocol decides them
    if not settings.get("model"):
        raise EvalkitError("required (or a run file with --config)", field="--model")
    if not settings.get("data_dirs"):
        raise EvalkitError("give the data folder (one sub-folder per task, as make-data writes)", field="--data-dir")
    settings["output"] = settings.get("output") or (
        Path("results") / "runs" / f"{args.reference}-{Path(settings['model'].rstrip('/')).name}")
    base = RunConfig(**{**settings, "tasks": [], "shots": []}, progress=not args.no_progress)
    output = base.output
    if args.dry_run:
        print(dry_run(args.reference, base, args.published, args.throughput, args.measure_batches), end="")
        return 0
    report = reproduce(args.reference, base, args.published)
    if report:
        print(report, end="")
        print(f"card, report and plots in {output}/ (card.md, report.md, plots/; runs/ holds each run)")
    return 0
