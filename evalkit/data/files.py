"""Reading annotation files with errors that name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from evalkit.errors import EvalkitError


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise EvalkitError("file not found", path=path)
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError:
        raise EvalkitError("not UTF-8 text", path=path) from None
    except json.JSONDecodeError as error:
        raise EvalkitError(
            f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}", path=path
        ) from None


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
