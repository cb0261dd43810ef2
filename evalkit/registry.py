"""Finds task plugins: the modules of the `evalkit.tasks` package (the repository's `tasks/`).

Each plugin module defines a module-level `TASK` (a `TaskSpec`). Plugins are loaded only from
that package, or from a file path the user names explicitly.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.taskspec import TaskSpec


def _builtin_tasks() -> dict[str, TaskSpec]:
    package = importlib.import_module("evalkit.tasks")
    found: dict[str, TaskSpec] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"evalkit.tasks.{info.name}")
        spec = getattr(module, "TASK", None)
        if isinstance(spec, TaskSpec):
            found[spec.name] = spec
    return found


def _task_from_file(path: Path) -> TaskSpec:
    if not path.is_file():
        raise EvalkitError("task plugin file not found", path=path)
    module_spec = importlib.util.spec_from_file_location(f"evalkit_user_task_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise EvalkitError("not a Python module", path=path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    spec = getattr(module, "TASK", None)
    if not isinstance(spec, TaskSpec):
        raise EvalkitError("defines no TASK = TaskSpec(...)", path=path, field="TASK")
    return spec


def all_tasks() -> dict[str, TaskSpec]:
    return _builtin_tasks()


def get_task(name: str, option: str = "--tasks") -> TaskSpec:
    """A built-in task by name, or a plugin file given by its path (ending in .py); `option` is the
    command-line option an unknown name is reported against."""
    if name.endswith(".py"):
        return _task_from_file(Path(name))
    tasks = all_tasks()
    if name not in tasks:
        raise EvalkitError(
            f"unknown task {name!r}; known tasks: {', '.join(sorted(tasks))}", field=option
        )
    return tasks[name]


def expand_task_names(names: list[str]) -> list[str]:
    """Task names as given, with a group name (the part before '-', e.g. "fairface") standing for
    every task of the group, in name order."""
    known = all_tasks()
    expanded: list[str] = []
    for name in names:
        members = [name] if name in known or name.endswith(".py") else \
            sorted(task for task in known if task.startswith(name + "-"))
        if not members:
            raise EvalkitError(f"unknown task {name!r}; known tasks: {', '.join(sorted(known))}", field="--tasks")
        expanded.extend(member for member in members if member not in expanded)
    return expanded
