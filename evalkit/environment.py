"""What a result depends on besides its config: package versions, the harness's git commit, and the
accelerator (CUDA and cuDNN versions, the driver, the GPUs' names) when there is one."""

from __future__ import annotations

import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("evalkit", "torch", "transformers", "datasets", "tokenizers", "pillow", "numpy", "pycocoevalcap",
            "scikit-learn", "faiss-cpu", "pandas", "accelerate")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> str | None:
    """The commit of the evalkit checkout, with '-dirty' when it has uncommitted changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def nvidia_smi() -> tuple[str | None, list[str]]:
    """The driver version and GPU names nvidia-smi reports; (None, []) without it or when it fails."""
    if shutil.which("nvidia-smi") is None:
        return None, []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, []
    rows = [[part.strip() for part in line.split(",", 1)] for line in out.splitlines() if "," in line]
    return (rows[0][0] if rows else None), [row[1] for row in rows]


def accelerator() -> dict[str, object]:
    """CUDA / cuDNN versions torch was built with, the driver, and the GPUs torch sees (by name).
    On a machine without one: the build's versions (None for a CPU build) and no GPUs."""
    import torch

    available = torch.cuda.is_available()
    driver, smi_gpus = nvidia_smi()
    cudnn = torch.backends.cudnn.version() if available else None
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if available else smi_gpus
    return {"cuda": torch.version.cuda, "cudnn": cudnn, "driver": driver, "gpus": gpus}


def describe_environment() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_commit": git_commit(),
        "accelerator": accelerator(),
    }
