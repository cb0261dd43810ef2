"""Run files (`evalkit run --config FILE`, YAML or JSON) and Python keyword settings, mapped onto
`RunConfig`: the keys are RunConfig's field names, each value checked against the field's type, so an
unknown key or a wrong type is a one-line error naming the key and where it came from."""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from evalkit.errors import EvalkitError
from evalkit.run.config import RunConfig

# Not settings of a run: what the tool sets itself.
NOT_SETTABLE = ("progress",)


def settable_fields() -> dict[str, Any]:
    """RunConfig's fields and their types, as a run file may give them."""
    hints = typing.get_type_hints(RunConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(RunConfig) if f.name not in NOT_SETTABLE}


def read_run_file(path: Path) -> dict[str, Any]:
    """A run file's mapping: YAML (.yaml, .yml) or JSON (.json)."""
    if not path.is_file():
        raise EvalkitError("run file not found", path=path)
    import yaml

    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise EvalkitError("a run file is .yaml, .yml or .json", path=path)
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise EvalkitError(f"not valid {suffix[1:].upper()}: {' '.join(str(error).split())}", path=path) from None
    if not isinstance(document, dict):
        raise EvalkitError("a run file holds a mapping of settings (model: ..., tasks: ...)", path=path)
    return document


def checked_settings(mapping: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`mapping`'s settings, each key a RunConfig field and each value of its type (converted where
    the type says: paths, a folder for every task's data); `source` names where they came from."""
    fields = settable_fields()
    settings: dict[str, Any] = {}
    for key, value in mapping.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise EvalkitError(f"unknown setting {key!r}{hint}", path=source, field=str(key))
        if key == "data_dirs" and isinstance(value, (str, Path)):
            value = {"*": str(value)}  # one folder for every task
        try:
            settings[key] = _converted(value, fields[key])
        except TypeError:
            raise EvalkitError(f"expected {_name(fields[key])}, got {value!r}", path=source, field=key) from None
    return settings


def _converted(value: Any, hint: Any) -> Any:
    """`value` as the type `hint` says; TypeError when it is not of that type."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for member in arguments:
            try:
                return _converted(value, member)
            except TypeError:
                continue
        raise TypeError(value)
    if hint is type(None):
        if value is None:
            return None
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
    elif origin is list:
        if isinstance(value, (list, tuple)):
            return [_converted(item, arguments[0]) for item in value]
        if arguments[0] is int and isinstance(value, int) and not isinstance(value, bool):
            return [value]  # shots: 4
        if arguments[0] is str and isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]  # tasks: vqav2,okvqa
    elif origin is dict:
        if isinstance(value, Mapping):
            return {_converted(k, arguments[0]): _converted(v, arguments[1]) for k, v in value.items()}
    raise TypeError(value)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def config_from_settings(settings: Mapping[str, Any], source: str) -> RunConfig:
    """A RunConfig from checked settings; model, tasks and an output folder must be among them."""
    missing = [key for key in ("model", "tasks", "output") if settings.get(key) in (None, [])]
    if missing:
        raise EvalkitError(f"no {missing[0]} given", path=source, field=missing[0])
    defaults = {"shots": [0], "seeds": [42]}
    return RunConfig(**{**defaults, **settings})
