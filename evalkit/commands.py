"""What each CLI command does, given parsed arguments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evalkit.errors import EvalkitError


def _load_adapter(config, device: str):
    from evalkit.models.select import load_adapter

    return load_adapter(config.model, dtype=config.dtype, device=device, revision=config.revision,
                        trust_remote_code=config.trust_remote_code, attention=config.attention,
                        device_map=config.device_map, vision_cache_mb=config.vision_cache_mb)


def run_config(args: argparse.Namespace):
    from evalkit.cli import data_dirs, default_output
    from evalkit.run.runner import RunConfig

    return RunConfig(
        model=args.model, tasks=args.tasks, shots=args.shots, seeds=args.seeds,
        output=args.output or default_output(args.model), data_dirs=data_dirs(args.data_dir),
        batch_size=args.batch_size, limit=args.limit, sample=args.sample, sample_seed=args.sample_seed,
        ids=args.ids, log_samples=args.log_samples, system_prompt=args.system_prompt, prompt_format=args.prompt_format,
        metric_variant=args.metric_variant, query_split=args.query_split,
        normalization=args.normalization, support_per_class=args.support_per_class,
        shot_selection=args.shot_selection, rices_encoder=args.rices_encoder, rices_index=args.rices_index,
        embedding_cache=args.embedding_cache,
        zero_shot=args.zero_shot, support_size=args.support_size, max_new_tokens=args.max_new_tokens,
        num_beams=args.num_beams, dtype=args.dtype, device=args.device, revision=args.revision,
        trust_remote_code=args.trust_remote_code, attention=args.attention, device_map=args.device_map,
        vision_cache_mb=args.vision_cache_mb, workers=args.workers, force=args.force,
        skip_unpaired=args.skip_unpaired, context_overflow=args.context_overflow,
        progress=not args.no_progress,
    )


def execute_run(config, label: str | None = None, quiet: bool = False) -> dict:
    from evalkit.run.distributed import Processes
    from evalkit.report.table import results_table
    from evalkit.run.runner import Run

    processes = Processes.from_environment()
    run = None
    try:
        run = Run(config, processes=processes)
        results = run.execute(_load_adapter(config, processes.device(config.device)), label)
    finally:
        if run is not None:
            run.close()
        processes.close()
    if not quiet and processes.is_main:
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

    if not args.data_dir:
        raise EvalkitError("give the data folder (one sub-folder per task, as make-data writes)", field="--data-dir")
    output = args.output or Path("results") / "runs" / f"{args.reference}-{Path(args.model.rstrip('/')).name}"
    base = RunConfig(
        model=args.model, tasks=[], shots=[], seeds=args.seeds, output=output, data_dirs=data_dirs(args.data_dir),
        batch_size=args.batch_size, limit=args.limit, rices_encoder=args.rices_encoder, rices_index=args.rices_index,
        embedding_cache=args.embedding_cache, dtype=args.dtype, device=args.device, revision=args.revision,
        trust_remote_code=args.trust_remote_code, attention=args.attention, device_map=args.device_map,
        vision_cache_mb=args.vision_cache_mb, workers=args.workers, force=args.force,
        skip_unpaired=args.skip_unpaired, progress=not args.no_progress)
    if args.dry_run:
        print(dry_run(args.reference, base, args.published, args.throughput, args.measure_batches), end="")
        return 0
    report = reproduce(args.reference, base, args.published)
    if report:
        print(report, end="")
        print(f"card, report and plots in {output}/ (card.md, report.md, plots/; runs/ holds each run)")
    return 0
