"""`evalkit view RUN... [--out DIR]`: an HTML report of runs that opens from disk, offline.

    OUT/index.html         the model-card table, the score-vs-shots plot, the settings, then (in the
                           same page) the sample browser and the side-by-side view of two runs
    OUT/assets/            the page's script and style (no CDN, no server)
    OUT/plots/             score-vs-shots PNGs (`evalkit plot`)
    OUT/images/thumbs/     one thumbnail per distinct image, shared by every setting and run
    OUT/images/full/       the full-size images, opened on a click (none with full_images=False)
    OUT/data/              the samples as script files, loaded page by page (report/view_data.py)

Reads only run folders: results.json, samples.jsonl, examples.jsonl, and the image files they name.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from evalkit import __version__
from evalkit.errors import EvalkitError
from evalkit.report.cards import card_tables, collect, format_score
from evalkit.files import prepare_output
from evalkit.report.store import StoredRun
from evalkit.report.view_data import write_file, write_run_data
from evalkit.report.view_images import ImageStore, folder_size

INDEX = "index.html"
MARKER = ".evalkit-report"  # marks a folder this module wrote (its data/ may be replaced)
PAGE_SIZE = 20  # samples per page of the browser
ASSETS = ("view.js", "view.css")


@dataclass(frozen=True)
class ViewReport:
    """What `write_report` wrote."""

    index: Path
    settings: int
    samples: int
    images: int
    thumbnails_made: int
    missing_images: int
    bytes: int


def default_out(runs: Sequence[StoredRun]) -> Path:
    return Path("results") / "reports" / "+".join(run.name for run in runs)


def _search_roots(runs: Sequence[StoredRun]) -> list[Path]:
    """Where relative image paths may start: each run folder and the folders above it."""
    roots: list[Path] = []
    for run in runs:
        folder = run.folder.resolve()
        roots += [folder, *folder.parents]
    return list(dict.fromkeys(roots))


def _run_summary(run: StoredRun) -> dict[str, Any]:
    commit = str(run.results.get("environment", {}).get("git_commit") or "unknown")[:12]
    return {"label": run.model_label(), "folder": str(run.folder), "name": run.name, "commit": commit,
            "finished": run.finished}


def _tables(runs: Sequence[StoredRun]) -> list[dict[str, Any]]:
    """The card-shaped tables (`evalkit table`), their score cells formatted as there."""
    tables = []
    for table in card_tables(runs):
        rows = [[cell if isinstance(cell, str) else format_score(cell) for cell in row] for row in table.rows]
        first_score = next((i for i, cell in enumerate(table.rows[0]) if not isinstance(cell, str)),
                           len(table.columns)) if table.rows else len(table.columns)
        tables.append({"title": table.title, "columns": table.columns, "rows": rows, "text_columns": first_score})
    return tables


def _plot(runs: Sequence[StoredRun], out: Path) -> str | None:
    from evalkit.report.plot import OVERVIEW, plot_runs

    if not collect(runs):
        return None
    plot_runs(runs, out / "plots")
    return f"plots/{OVERVIEW}"


def _copy_assets(out: Path) -> None:
    folder = out / "assets"
    folder.mkdir(exist_ok=True)
    templates = resources.files("evalkit.report").joinpath("templates")
    for name in ASSETS:
        write_file(folder / name, templates.joinpath(name).read_text(encoding="utf-8"))


def _render(context: dict[str, Any]) -> str:
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("evalkit.report", "templates"),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.get_template("report.html.j2").render(**context)


def _fresh_data_folder(out: Path) -> Path:
    """OUT/data emptied when OUT holds an earlier report (never a folder this module did not write)."""
    data = out / "data"
    if (out / MARKER).is_file() and data.is_dir():
        shutil.rmtree(data)
    elif data.exists():
        raise EvalkitError("holds a data folder that no evalkit report wrote; choose another --out", path=out)
    (out / MARKER).write_text("evalkit view\n", encoding="utf-8")
    data.mkdir()
    return data


def write_report(runs: Sequence[StoredRun], out: Path, full_images: bool = True) -> ViewReport:
    """Write the report of `runs` into `out` (created); thumbnails already there are reused."""
    if not runs:
        raise EvalkitError("give at least one run folder", field="RUN")
    prepare_output(out)
    data = _fresh_data_folder(out)
    images = ImageStore(out, full_images, _search_roots(runs))
    settings, notes = [], []
    for number, run in enumerate(runs):
        if not run.finished:
            notes.append(f"{run.folder}: the run is not finished; what it has written so far is shown")
        run_settings, run_notes = write_run_data(run, number, data, images)
        settings += run_settings
        notes += run_notes
    _copy_assets(out)
    summaries = [_run_summary(run) for run in runs]
    manifest = {"runs": summaries, "settings": settings, "fullImages": full_images, "pageSize": PAGE_SIZE}
    page = _render({
        "version": __version__, "title": " vs ".join(s["label"] for s in summaries), "runs": summaries,
        "notes": notes, "tables": _tables(runs), "plot": _plot(runs, out), "settings": settings,
        "missing_images": sorted(images.missing.items()), "manifest": manifest,
    })
    write_file(out / INDEX, page)
    return ViewReport(index=out / INDEX, settings=len(settings), samples=sum(s["count"] for s in settings),
                      images=sum(1 for name in images.names.values() if name), thumbnails_made=images.made,
                      missing_images=len(images.missing), bytes=folder_size(out))
