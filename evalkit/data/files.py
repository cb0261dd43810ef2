"""Reading annotation files with errors that name the file and the field."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from evalkit.errors import EvalkitError


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


def find_file(root: Path, name: str, subfolders: Iterable[str] = ()) -> Path:
    """`root/name`, or `root/<sub>/name` for the usual unzip folders; error if none exists."""
    candidates = [root / name] + [root / sub / name for sub in subfolders]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if not root.is_dir():
        raise EvalkitError("data directory not found", path=root)
    raise EvalkitError(f"missing file {name} (looked in {', '.join(str(c.parent) for c in candidates)})", path=root / name)


def require(record: dict, key: str, path: Path, where: str) -> Any:
    """record[key], or a one-line error naming the file, the record and the field."""
    if not isinstance(record, dict) or key not in record:
        raise EvalkitError(f"{where} has no field", path=path, field=key)
    return record[key]


def require_list(document: Any, key: str, path: Path) -> list:
    value = require(document, key, path, "the file")
    if not isinstance(value, list):
        raise EvalkitError("expected a list", path=path, field=key)
    return value


def safe_file_name(value: object, path: Path, field: str) -> str:
    """A file name taken from an annotation file, refused if it could leave the data folder."""
    name = str(value)
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise EvalkitError(f"unsafe file name {name!r}", path=path, field=field)
    return name
