"""Command line: argument parsing only; the work happens in the runner and the report modules."""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from evalkit.commands import DEMO_TASKS
from evalkit.errors import EvalkitError
from evalkit.run.subsets import parse_limit


def int_list(text: str) -> list[int]:
    """'0,4,8' or '0 4 8' -> [0, 4, 8]."""
    try:
        return [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 0,4,8, got {text!r}") from None


def name_list(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def data_dirs(values: Sequence[str]) -> dict[str, str]:
    """`D` for every task, or `task=D` per task (repeatable); each given once."""
    mapping: dict[str, str] = {}
    for value in values:
        task, sep, location = value.partition("=")
        key, location = (task, location) if sep else ("*", value)
        if key in mapping:
            what = f"{key}=" if sep else "a folder for every task (no TASK=)"
            raise EvalkitError(f"{what} given twice: {mapping[key]} and {location}", field="--data-dir")
        mapping[key] = location
    return mapping


def _add_model_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--model", required=required, help="hub id or local checkpoint folder")
    parser.add_argument("--revision", default=None, help="hub revision (branch, tag or commit)")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                        help="weights' precision (auto: bfloat16 on a GPU, float32 on a CPU)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow code from the checkpoint")
    parser.add_argument("--attention", default="auto", choices=["auto", "sdpa", "eager", "flash_attention_2"],
                        help="attention kernel (auto: SDPA where the model supports it)")
    parser.add_argument("--device-map", default=None, choices=["auto"],
                        help="auto: shard one large model across this node's GPUs (accelerate)")
    parser.add_argument("--vision-cache-mb", type=float, default=2048,
                        help="memory for reused image features (0: re-encode every image, as reference harnesses)")


def _add_skip_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-unpaired", action="store_true",
                        help="leave out questions without annotations (and the reverse) instead of stopping; "
                             "they are counted and listed in results.json")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", type=name_list, default=None, help="e.g. vqav2 (comma-separated)")
    parser.add_argument("--shots", type=int_list, default=[0], help="e.g. 0,4,8")
    parser.add_argument("--seeds", type=int_list, default=[42], help="trial seeds, e.g. 42,43")
    parser.add_argument("--data-dir", action="append", default=[], metavar="[TASK=]DIR",
                        help="official layout folder, HF dataset folder/parquet, or hub id")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="prompts per batch, generating or scoring choices (when scoring, out-of-memory "
                             "halves the choices per forward; when generating, the batch)")
    parser.add_argument("--workers", type=int, default=None,
                        help="DataLoader workers preparing the next batches (default: with a GPU, a quarter of the "
                             "CPU cores, between 1 and 4; without, 0)")
    parser.add_argument("--limit", type=parse_limit, default=None,
                        help="evaluate only the first N queries, or a fraction: 0.1 is the first ceil(0.1 x size)")
    parser.add_argument("--log-samples", choices=["full", "compact", "none"], default="full",
                        help="samples.jsonl: full records, compact (no prompt text: ids, demo ids, prompt_hash, "
                             "output, prediction, score) or none (compare and view then cannot read samples)")
    parser.add_argument("--sample", type=int, default=None,
                        help="a seeded random N queries, drawn from the sorted ids: the same for every model")
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument("--ids", default=None, metavar="FILE",
                        help="only these query ids: one per line or a JSON list (then --limit/--sample apply)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="bootstrap resamples of the queries for each score's standard error and 95%% "
                             "interval (seeded; 0: none; default 1000)")
    parser.add_argument("--query-split", default=None,
                        help="query split instead of the task's default, e.g. test-dev2015 (VQAv2) or test "
                             "(VizWiz): writes the EvalAI upload file")
    parser.add_argument("--output", type=Path, default=None, help="run folder (default results/runs/<model>-<time>)")
    parser.add_argument("--prompt-format", default="auto",
                        help="auto (the adapter's default), idefics, idefics-instruct, openflamingo or chat-template")
    parser.add_argument("--system-prompt", default=None, metavar="TEXT",
                        help="chat-template format: a system message before the first turn (other formats: an error)")
    parser.add_argument("--metric-variant", default=None,
                        help="a named metric variant, e.g. openflamingo (see `evalkit tasks`)")
    parser.add_argument("--zero-shot", default="flamingo", choices=["flamingo", "none"],
                        help="0 shots: 2 text-only demos (flamingo) or none; VisDial, ScienceQA, RenderedSST2 "
                             "and Winoground always run the bare query, as their protocol does")
    parser.add_argument("--support-size", type=int, default=None, help="support set size (task default 2048)")
    parser.add_argument("--shot-selection", choices=["random", "rices"], default=None,
                        help="default: each task's own (random for the built-in tasks)")
    parser.add_argument("--rices-encoder", default="openai/clip-vit-large-patch14",
                        help="CLIP image encoder for RICES (hub id or folder; `evalkit build-clip` makes an offline one)")
    parser.add_argument("--rices-index", choices=["auto", "exact", "ivf", "hnsw"], default="auto",
                        help="auto: exact inner product up to 200,000 support images, IVF above")
    parser.add_argument("--embedding-cache", type=Path, default=Path(".evalkit/embeddings"),
                        help="folder of cached RICES image embeddings (reused across runs)")
    parser.add_argument("--normalization", choices=["sum", "mean", "sequence-mean"], default=None,
                        help="ranking tasks: sum or mean of the answer's token log-probabilities, or the mean "
                             "over the whole sequence, prompt included (m4's Winoground scoring)")
    parser.add_argument("--support-per-class", type=int, default=None,
                        help="draw this many support examples per class (ImageNet 1K = 1, 5K = 5)")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="tokens generated per answer (default: the task's own, 15 for VQA, 20 for captions)")
    parser.add_argument("--num-beams", type=int, default=None, help="1 = greedy (default); >1 = beam search")
    parser.add_argument("--context-overflow", choices=["error", "drop-shots"], default=None,
                        help="a prompt longer than the model's context: stop with an error, or drop whole demos "
                             "(oldest first, counted per query); default: the task's own (error for the built-in "
                             "tasks)")
    parser.add_argument("--force", action="store_true",
                        help="discard predictions in --output that came from another configuration")
    _add_skip_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _add_report_commands(commands) -> None:
    table = commands.add_parser("table", help="model-card tables from run folders (markdown, CSV, LaTeX)")
    table.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders (or their results.json)")
    table.add_argument("--format", choices=["markdown", "csv", "latex"], default="markdown",
                       help="csv: one row per model, task and shot count (every table at once)")
    table.add_argument("--tables", type=name_list, default=["card", "support", "buckets"],
                       help="card (VQA, captioning, ...), support (per-class support, ImageNet), "
                            "buckets (bucket std, FairFace); default all")
    table.add_argument("--output", type=Path, default=None, help="write here instead of printing")
    compare = commands.add_parser(
        "compare", help="BASE NEW: differences with bootstrap CIs, non-zero exit on regression; "
                        "RUN --reference NAME: ours vs published numbers")
    compare.add_argument("runs", type=Path, nargs="*", metavar="RUN",
                         help="BASE NEW run folders, or the run(s) to hold against --reference")
    compare.add_argument("--reference", default=None, help="a published model, e.g. idefics-9b")
    compare.add_argument("--list-references", action="store_true", help="print the published models and stop")
    compare.add_argument("--published", type=Path, default=None, help="folder of published tables "
                                                                      "(default: the repository's results/published)")
    compare.add_argument("--tolerance", action="append", default=[], metavar="METRIC=POINTS",
                         help="allowed drop per metric, e.g. cider=5 or *=2 (defaults: vqa_accuracy 1, cider 3, "
                              "roc_auc 2, accuracy 1)")
    compare.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    compare.add_argument("--fail-on", choices=["regression", "change"], default="regression",
                         help="change: also fail on significant improvements and on changed sample sets")
    compare.add_argument("--report", type=Path, default=None, help="also write the markdown report here")
    plot = commands.add_parser("plot", help="score vs shots per benchmark (PNG), published references dashed")
    plot.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders (or their results.json)")
    plot.add_argument("--out", type=Path, required=True, help="folder for <benchmark>.png and overview.png")
    plot.add_argument("--reference", action="append", default=[], help="published model to draw (repeatable)")
    plot.add_argument("--published", type=Path, default=None,
                      help="folder of published tables (default: the repository's results/published)")
    view = commands.add_parser("view", help="an HTML report of runs with every sample, images and all (opens "
                                            "from disk, offline)")
    view.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders (two or more: side by side)")
    view.add_argument("--out", type=Path, default=None,
                      help="report folder (default results/reports/<run names>); its thumbnails are reused")
    view.add_argument("--full-images", choices=["copy", "none"], default="copy",
                      help="copy: full-size images in the report, shown on a click; none: thumbnails only")
    regression = commands.add_parser(
        "regression", help="re-run the committed baseline (embedded model, synthetic data) and compare")
    regression.add_argument("--record", action="store_true", help="re-record the baseline instead")
    regression.add_argument("--baseline", type=Path, default=None, help="default results/baselines/tiny-trained")
    regression.add_argument("--workdir", type=Path, default=None, help="data and the new run (default .evalkit)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default shown after its help, unless the help already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)
def _add_reproduce_command(commands) -> None:
    reproduce = commands.add_parser(
        "reproduce", help="run every published cell of a model card (e.g. idefics-9b) with the card's protocol "
                          "in one resumable folder; the card, the comparison and plots at the end")
    reproduce.add_argument("reference", help="a published model (evalkit compare --list-references)")
    reproduce.add_argument("--config", type=Path, default=None, metavar="FILE",
                           help="a run file (YAML or JSON) of the run settings (model, data_dirs, seeds, batch_size, "
                                "...); the card decides tasks and shots; flags given with it override the file")
    _add_model_options(reproduce, required=False)
    reproduce.add_argument("--data-dir", action="append", default=[], metavar="[TASK=]DIR",
                           help="a folder with one sub-folder per task (as make-data writes), or TASK=DIR")
    reproduce.add_argument("--output", type=Path, default=None,
                           help="run folder (default results/runs/<reference>-<model>); rerun to resume")
    reproduce.add_argument("--seeds", type=int_list, default=[42], help="trial seeds, e.g. 42,43")
    reproduce.add_argument("--batch-size", type=int, default=8, help="halved automatically on out-of-memory")
    reproduce.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: 4 with a GPU, 0 without)")
    reproduce.add_argument("--limit", type=int, default=None, help="evaluate only the first N queries of each task")
    reproduce.add_argument("--rices-encoder", default="openai/clip-vit-base-patch32",
                           help="CLIP image encoder of the RICES cells (default: m4's, as the card used)")
    reproduce.add_argument("--rices-index", choices=["auto", "exact", "ivf", "hnsw"], default="auto",
                           help="auto: exact inner product up to 200,000 support images, IVF above")
    reproduce.add_argument("--embedding-cache", type=Path, default=Path(".evalkit/embeddings"),
                           help="folder of cached RICES image embeddings (reused across runs)")
    reproduce.add_argument("--published", type=Path, default=None, help="folder of published tables")
    reproduce.add_argument("--dry-run", action="store_true",
                           help="print the plan (cells, queries, forward passes, tokens, images, GPU-hours) and stop")
    reproduce.add_argument("--throughput", type=float, default=None, metavar="TOKENS_PER_SECOND",
                           help="with --dry-run: tokens processed per GPU-second, for the GPU-hour estimate")
    reproduce.add_argument("--measure-batches", type=int, default=None, metavar="N",
                           help="with --dry-run: load the model and time N batches of a generation and a ranking task")
    reproduce.add_argument("--force", action="store_true",
                           help="discard predictions in --output that came from another configuration")
    _add_skip_option(reproduce)
    reproduce.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evalkit", description="Few-shot evaluation of vision-language models.",
                                     formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     parser_class=functools.partial(argparse.ArgumentParser,
                                                                    formatter_class=HelpFormatter))
    run = commands.add_parser("run", help="evaluate a model on tasks at k shots")
    run.add_argument("--config", type=Path, default=None, metavar="FILE",
                     help="a run file (YAML or JSON) whose keys are the run's settings by name (model, tasks, "
                          "shots, data_dirs, batch_size, ...); flags given with it override the file")
    _add_model_options(run, required=False)
    _add_run_options(run)
    commands.add_parser("tasks", help="list the tasks, their metric and data sources")
    commands.add_parser("models", help="list the model adapters and what each supports")
    score = commands.add_parser("score", help="score an official-format predictions file")
    score.add_argument("--task", required=True, help="the task the predictions are for, e.g. vqav2")
    score.add_argument("--predictions", type=Path, required=True,
                       help="the task's official results file, e.g. [{\"question_id\", \"answer\"}]")
    source = score.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", help="the task's data folder (official layout)")
    source.add_argument("--references", type=Path,
                        help="captioning: a COCO-format captions file (images + annotations) to score against")
    score.add_argument("--split", default=None, help="split to score against (default: the query split)")
    score.add_argument("--subset", action="store_true", help="score only the questions predicted")
    score.add_argument("--metric-variant", default=None, help="a named metric variant, e.g. openflamingo")
    score.add_argument("--output", type=Path, default=None,
                       help="also write results.json, samples.jsonl and table.md here (not into a run's folder)")
    score.add_argument("--force", action="store_true", help="write --output even over an evalkit run's results")
    _add_skip_option(score)
    build = commands.add_parser("build-model", help="build an offline random-weight tiny model (IDEFICS or another family)")
    build.add_argument("--output", type=Path, required=True, help="folder for the model (save_pretrained)")
    build.add_argument("--family", choices=["idefics", "idefics3", "llava"], default="idefics",
                       help="architecture: idefics (v1), idefics3 (SmolVLM) or llava (LLaVA-1.5)")
    build.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    clip = commands.add_parser("build-clip", help="build the offline random-weight tiny CLIP image encoder")
    clip.add_argument("--output", type=Path, required=True, help="folder for the encoder (save_pretrained)")
    clip.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    data = commands.add_parser("make-data", help="write synthetic data in the official layouts")
    data.add_argument("--output", type=Path, required=True,
                      help="folder for one sub-folder per task (empty, or written by make-data before)")
    data.add_argument("--seed", type=int, default=0, help="seed of the pictures, questions and answers")
    data.add_argument("--force", action="store_true",
                      help="write into a folder that holds other files (synthetic files carry the official names)")
    train = commands.add_parser("train-tiny", help="train the tiny IDEFICS on the synthetic training split")
    train.add_argument("--output", type=Path, required=True, help="folder for the trained model")
    train.add_argument("--data-dir", type=Path, default=None,
                       help="folder made by `evalkit make-data` (default: generated from --seed in a temporary folder)")
    train.add_argument("--seed", type=int, default=0, help="seed of the data, the initial weights and the batches")
    train.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    _add_report_commands(commands)
    _add_reproduce_command(commands)
    demo = commands.add_parser("demo", help="the embedded default: offline models on synthetic data of "
                                             + ", ".join(DEMO_TASKS))
    demo.add_argument("--workdir", type=Path, default=None, help="where model and data are kept (.evalkit)")
    demo.add_argument("--shots", type=int_list, default=[0, 4], help="shot counts, e.g. 0,4")
    demo.add_argument("--limit", type=int, default=None, help="first N questions per task (default: all)")
    return parser


class Terminated(Exception):
    """SIGTERM (a cluster's scheduler, `kill`), raised where the run is so that it stops cleanly."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


KEPT = "what was computed is kept: rerun the same command to continue"


def given_options(argv: Sequence[str]) -> set[str]:
    """The destinations of the options `argv` gives explicitly (so that a run file's settings are
    overridden only by flags the user typed, not by the flags' defaults)."""
    parser = build_parser()
    for action in parser._actions:  # noqa: SLF001 - argparse exposes subparsers no other way
        for sub in getattr(action, "choices", None) or {}:
            if isinstance(action.choices[sub], argparse.ArgumentParser):
                for option in action.choices[sub]._actions:  # noqa: SLF001
                    option.default = argparse.SUPPRESS
                    option.required = False
    return set(vars(parser.parse_args(argv))) - {"command"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command in ("run", "reproduce"):
        args.given = given_options(argv)
    from evalkit import commands

    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return handler(args)
    except EvalkitError as error:
        print(f"evalkit: error: {error.one_line()}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.filename is None:
            raise
        # A file the user named that the system refuses (a name too long, a permission): one line.
        print(f"evalkit: error: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"evalkit: interrupted; {KEPT}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"evalkit: terminated (SIGTERM); {KEPT}", file=sys.stderr)
        return 143
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def default_output(model: str) -> Path:
    return Path("results") / "runs" / f"{Path(model.rstrip('/')).name}-{time.strftime('%Y%m%d-%H%M%S')}"


if __name__ == "__main__":
    raise SystemExit(main())
