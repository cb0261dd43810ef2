"""The wheel a `pip install .` user gets holds every package of the source tree (the package list in
pyproject.toml is explicit, so a new folder under evalkit/ must be named there)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_in_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "evalkit").rglob("__init__.py")}
    folders |= {"evalkit.tasks"}  # tasks/ installed under evalkit (package-dir)
    assert folders - listed == set(), "package folders missing from pyproject.toml's package list"
    assert listed - folders == set(), "pyproject.toml lists packages that do not exist"
