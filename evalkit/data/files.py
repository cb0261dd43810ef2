"""Reading annotation files with errors that name the file and the field."""

from __future__ import annotations

import csv
import gc
import io
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from evalkit.errors import EvalkitError


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while annotation files become objects. They are millions of
    small dicts, lists and strings (VQAv2 val: 2.1M answers) in no reference cycle, and the collector
    walked all of them again every few thousand allocations: three quarters of the CPU time spent
    reading VQAv2 val. Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_text(path: Path) -> str:
    """The file's UTF-8 text (a byte-order mark is dropped)."""
    if not path.is_file():
        raise EvalkitError("file not found", path=path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise EvalkitError(f"not UTF-8 text (byte {error.start})", path=path) from None
    except OSError as error:
        raise EvalkitError(f"cannot read ({error.strerror})", path=path) from None


def read_json(path: Path) -> Any:
    text = read_text(path)
    if not text.strip():
        raise EvalkitError("the file is empty", path=path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise EvalkitError(
            f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}", path=path
        ) from None


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record) for each non-blank line of a JSON Lines file."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise EvalkitError(f"malformed JSON on line {number}: {error.msg}", path=path) from None


def read_csv(path: Path, columns: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each row of a CSV file whose header names at least `columns`; a row
    with more or fewer cells than the header is refused."""
    rows = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(rows, [])
        missing = [name for name in columns if name not in header]
        if missing:
            raise EvalkitError(f"missing column(s) (header: {', '.join(header) or 'none'})", path=path,
                               field=", ".join(missing))
        for cells in rows:
            if not cells:
                continue
            if len(cells) != len(header):
                raise EvalkitError(f"line {rows.line_num} has {len(cells)} cells, the header {len(header)}",
                                   path=path)
            yield rows.line_num, dict(zip(header, cells))
    except csv.Error as error:
        raise EvalkitError(f"malformed CSV on line {rows.line_num}: {error}", path=path) from None


def find_file(root: Path, name: str, subfolders: Iterable[str] = (), also: str = "") -> Path:
    """`root/name`, or `root/<sub>/name` for the usual unzip folders; error if none exists (`also`
    names what else was looked for)."""
    candidates = [root / name] + [root / sub / name for sub in subfolders]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if not root.is_dir():
        raise EvalkitError("data directory not found", path=root)
    searched = ", ".join(str(c.parent) for c in candidates)
    raise EvalkitError(f"missing file {name} ({also + '; ' if also else ''}looked in {searched})", path=root / name)


def require(record: dict, key: str, path: Path | str, where: str) -> Any:
    """record[key], or a one-line error naming the file, the record and the field."""
    if not isinstance(record, dict) or key not in record:
        raise EvalkitError(f"{where} has no field", path=path, field=key)
    return record[key]


def require_text(record: dict, key: str, path: Path | str, where: str) -> str:
    """record[key] when it is a string; a null or a number is refused rather than read as "None"."""
    value = require(record, key, path, where)
    return text_value(value, path, key, where)


def text_value(value: Any, path: Path | str, field: str, where: str) -> str:
    if not isinstance(value, str):
        raise EvalkitError(f"{where}: expected text, got {_json_kind(value)}", path=path, field=field)
    return value


def check_id(value: Any, path: Path | str, field: str, where: str) -> int | str:
    """An id as annotation files write them: an integer or a non-empty string. Lists, nulls, floats
    (NaN included) and booleans are refused: they cannot be compared, sorted or written back as JSON."""
    if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value):
        return value
    raise EvalkitError(f"{where}: {field} {value!r} is not an integer or a non-empty string", path=path,
                       field=field)


def check_id_kinds(ids: Iterable[Any], path: Path | str, field: str) -> None:
    """Ids of one file must be all integers or all strings (they are sorted and matched by value)."""
    kinds: dict[type, Any] = {}
    for value in ids:
        kinds.setdefault(type(value), value)
    if len(kinds) > 1:
        examples = ", ".join(f"{kind.__name__} {value!r}" for kind, value in kinds.items())
        raise EvalkitError(f"ids mix integers and strings ({examples})", path=path, field=field)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def require_list(document: Any, key: str, path: Path) -> list:
    value = require(document, key, path, "the file")
    if not isinstance(value, list):
        raise EvalkitError("expected a list", path=path, field=key)
    return value


def safe_file_name(value: object, path: Path, field: str) -> str:
    """A file name taken from an annotation file, refused if it could leave the data folder."""
    if not isinstance(value, str):
        raise EvalkitError(f"file name {value!r} is not a string", path=path, field=field)
    name = value
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise EvalkitError(f"unsafe file name {name!r}", path=path, field=field)
    return name
