"""The environment records the accelerator: CUDA, cuDNN, driver and GPU names (evalkit/environment.py)."""

import os

import torch

from evalkit import environment


def _fake_smi(tmp_path, monkeypatch, output: str) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_gpu_machine(tmp_path, monkeypatch):
    _fake_smi(tmp_path, monkeypatch, "550.54.15, NVIDIA H100 80GB HBM3\\n550.54.15, NVIDIA H100 80GB HBM3\\n")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"GPU {i}")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    assert environment.describe_environment()["accelerator"] == {
        "cuda": "12.4", "cudnn": 90100, "driver": "550.54.15", "gpus": ["GPU 0", "GPU 1"]}


def test_nvidia_smi_alone_names_the_gpus(tmp_path, monkeypatch):
    _fake_smi(tmp_path, monkeypatch, "535.1, Tesla T4\\n")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert environment.accelerator()["driver"] == "535.1"
    assert environment.accelerator()["gpus"] == ["Tesla T4"]


def test_cpu_machine_without_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no nvidia-smi
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    assert environment.accelerator() == {"cuda": None, "cudnn": None, "driver": None, "gpus": []}


def test_failing_nvidia_smi_is_no_failure(tmp_path, monkeypatch):
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\nexit 9\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert environment.nvidia_smi() == (None, [])
