"""Safety (issue #9): no pickle for caches or results, remote code only on request, annotation paths
kept inside the data folder, task plugins only from the package or a path the user names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.errors import EvalkitError

SOURCES = sorted((Path(__file__).resolve().parents[1]).glob("evalkit/**/*.py")) + sorted(
    (Path(__file__).resolve().parents[1]).glob("tasks/*.py"))
UNSAFE_LOADS = re.compile(r"\bimport pickle\b|\bpickle\.|\bjoblib\b|\bdill\b|torch\.load\(|allow_pickle=True")


def test_no_pickle_in_the_package():
    assert len(SOURCES) > 30
    offending = [f"{path.name}:{number}" for path in SOURCES
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if UNSAFE_LOADS.search(line) or ("np.load(" in line and "allow_pickle=False" not in line)]
    assert offending == []


class FakeEncoder:
    name, fingerprint, calls = "fake-clip", "fake-clip-v1", 0

    def encode(self, sources, description=""):
        self.calls += 1
        return np.eye(len(sources), 4, dtype=np.float32)


def test_embedding_cache_never_unpickles_and_recomputes_damaged_files(tmp_path):
    """A cache file holding a pickled object (planted, or from another tool) is not loaded, nor is one
    cut short by a crash: the vectors are computed again and the file rewritten as a plain array."""
    from evalkit.shots.embeddings import EmbeddingCache
    from evalkit.types import FileImage

    sources = [FileImage(tmp_path / "a.jpg"), FileImage(tmp_path / "b.jpg")]
    cache, encoder = EmbeddingCache(tmp_path / "cache"), FakeEncoder()
    cache.folder.mkdir()
    path = cache.folder / f"{cache.key(encoder, sources)}.npy"
    np.save(path, np.array([{"payload": "pickled"}, None], dtype=object), allow_pickle=True)
    assert cache.embeddings(encoder, sources, "support").tolist() == np.eye(2, 4).tolist()
    assert encoder.calls == 1
    assert np.load(path, allow_pickle=False).dtype == np.float32
    path.write_bytes(path.read_bytes()[:60])  # a write cut short
    assert cache.embeddings(encoder, sources, "support").shape == (2, 4) and encoder.calls == 2
    assert cache.embeddings(encoder, sources, "support").shape == (2, 4) and encoder.calls == 2  # cached now


@pytest.mark.parametrize("flag, expected", [((), False), (("--trust-remote-code",), True)])
def test_trust_remote_code_only_when_passed(flag, expected, tmp_path, vqav2_dir, monkeypatch, capsys):
    """What reaches transformers' from_pretrained, for the processor and the model."""
    import transformers

    seen = []

    def processor(*args, **options):
        seen.append(options.get("trust_remote_code"))
        return object()

    def model(*args, **options):
        seen.append(options.get("trust_remote_code"))
        raise OSError("stopped by the test")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", processor)
    monkeypatch.setattr(transformers.IdeficsForVisionText2Text, "from_pretrained", model)
    args = ["run", "--model", str(TRAINED_MODEL), "--tasks", "vqav2", "--data-dir", str(vqav2_dir),
            "--output", str(tmp_path / "out"), "--no-progress", *flag]
    assert main(args) == 2
    assert "stopped by the test" in capsys.readouterr().err
    assert seen == [expected, expected]


def hateful_memes(root: Path, image: str) -> Path:
    (root / "dev_seen.jsonl").write_text(json.dumps({"id": 1, "img": image, "label": 0, "text": "t"}) + "\n")
    return root


def fairface(root: Path, image: str) -> Path:
    (root / "fairface_label_val.csv").write_text(f"file,age,gender,race,service_test\n{image},3-9,Male,White,True\n")
    return root


def karpathy(root: Path, image: str) -> Path:
    record = {"cocoid": 1, "split": "test", "filepath": "val2014", "filename": image, "sentences": [{"raw": "a"}]}
    (root / "dataset_coco.json").write_text(json.dumps({"images": [record]}))
    return root


def karpathy_folder(root: Path, image: str) -> Path:
    record = {"cocoid": 1, "split": "test", "filepath": image, "filename": "x.jpg", "sentences": [{"raw": "a"}]}
    (root / "dataset_coco.json").write_text(json.dumps({"images": [record]}))
    return root


def nocaps(root: Path, image: str) -> Path:
    (root / "nocaps_val_4500_captions.json").write_text(json.dumps(
        {"images": [{"id": 1, "file_name": image}], "annotations": [{"image_id": 1, "caption": "a"}]}))
    return root


def vizwiz(root: Path, image: str) -> Path:
    (root / "val.json").write_text(json.dumps([{"image": image, "question": "q?", "answers": ["a"] * 10}]))
    return root


def textvqa(root: Path, image: str) -> Path:
    (root / "TextVQA_0.5.1_val.json").write_text(json.dumps(
        {"data": [{"question_id": 1, "image_id": image, "question": "q?", "answers": ["a"] * 10}]}))
    return root


READERS = {"hatefulmemes": hateful_memes, "fairface-gender": fairface, "coco": karpathy,
           "flickr30k": karpathy_folder, "nocaps": nocaps, "vizwiz": vizwiz, "textvqa": textvqa}


@pytest.mark.parametrize("escape", ["../../etc/passwd", "/etc/passwd"])
@pytest.mark.parametrize("task", sorted(READERS))
def test_annotation_paths_cannot_leave_the_data_folder(task, escape, tmp_path):
    from evalkit.registry import get_task

    spec = get_task(task)
    if task == "flickr30k":  # its image folder is fixed: the COCO reader with a hostile `filepath`
        spec = get_task("coco")
    root = READERS[task](tmp_path, escape)
    with pytest.raises(EvalkitError, match=r"unsafe (image path|file name) '(\.\./\.\./|/)etc/passwd'") as raised:
        spec.data.load(root, "query")
    assert raised.value.path is not None and Path(raised.value.path).parent == tmp_path


def test_escaping_image_path_through_the_cli(tmp_path, capsys):
    (tmp_path / "train.jsonl").write_text(json.dumps({"id": 1, "img": "img/1.png", "label": 0, "text": "t"}) + "\n")
    hateful_memes(tmp_path, "../../etc/passwd")
    code = main(["run", "--model", str(TRAINED_MODEL), "--tasks", "hatefulmemes", "--data-dir", str(tmp_path),
                 "--output", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"evalkit: error: {tmp_path / 'dev_seen.jsonl'} [img]: unsafe image path '../../etc/passwd'")


TASK_PLUGIN = '''
from evalkit.registry import get_task
from dataclasses import replace
TASK = replace(get_task("vqav2"), name="{name}", description="a user plugin")
'''


def test_task_plugins_load_from_the_package_or_a_named_file_only(tmp_path, monkeypatch):
    """A plugin-looking module in the working directory or on sys.path is not picked up by name;
    the same file named by its path is."""
    from evalkit.registry import all_tasks, get_task

    plugin = tmp_path / "sneaky.py"
    plugin.write_text(TASK_PLUGIN.format(name="sneaky"))
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "sneaky.py").write_text(TASK_PLUGIN.format(name="sneaky"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "sneaky" not in all_tasks() and "vqav2" in all_tasks()
    with pytest.raises(EvalkitError, match="unknown task 'sneaky'"):
        get_task("sneaky")
    assert get_task(str(plugin)).description == "a user plugin"
