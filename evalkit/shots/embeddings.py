"""Image embeddings for RICES: a CLIP image encoder through transformers, L2-normalised, cached on disk.

The cache key covers the encoder (hub id + revision, or a hash of a local folder's weights), its image
preprocessing, and the images' content (file size and modification time, or the dataset row), so a
changed encoder or support set never reuses stale vectors. Vectors are stored with numpy
(`allow_pickle=False`), never pickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from evalkit.errors import EvalkitError
from evalkit.models.loading import check_checkpoint_location, load_or_explain, resolve_device
from evalkit.types import ImageSource, content_id


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


CLIP_MODEL_TYPES = ("clip", "clip_vision_model")


def check_clip_encoder(name: str, revision: str | None = None) -> None:
    """Refuse, from its config alone, a checkpoint that is not CLIP: another model's weights would
    load into the CLIP architecture as random ones, without a word."""
    from transformers import AutoConfig

    check_checkpoint_location(name)
    config = load_or_explain("the config", name, lambda: AutoConfig.from_pretrained(name, revision=revision))
    if config.model_type not in CLIP_MODEL_TYPES:
        raise EvalkitError(f"not a CLIP model (model_type {config.model_type!r}); RICES needs a CLIP image encoder "
                           "such as openai/clip-vit-large-patch14", path=name, field="--rices-encoder")


class ClipImageEncoder:
    """`CLIPVisionModelWithProjection` (full CLIP checkpoints load their vision half) + its processor."""

    def __init__(self, name: str, device: str = "auto", revision: str | None = None, batch_size: int = 64):
        from transformers import AutoImageProcessor, CLIPVisionModelWithProjection

        check_clip_encoder(name, revision)
        self.name, self.batch_size = name, batch_size
        self.device = resolve_device(device)
        self.processor = load_or_explain("the image processor", name,
                                         lambda: AutoImageProcessor.from_pretrained(name, revision=revision))
        self.model = load_or_explain("the CLIP encoder", name, lambda: CLIPVisionModelWithProjection.from_pretrained(
            name, revision=revision)).to(self.device).eval()
        self.calls = 0
        self.fingerprint = self._fingerprint(revision)

    def _fingerprint(self, revision: str | None) -> str:
        weights = sorted(Path(self.name).glob("*.safetensors")) if Path(self.name).is_dir() else []
        identity: dict[str, Any] = {
            "encoder": str(Path(self.name).resolve()) if weights else self.name,
            "revision": revision or getattr(self.model.config, "_commit_hash", None),
            "weights": [_file_digest(path) for path in weights],
            "preprocessing": self.processor.to_dict(),
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()

    def encode(self, sources: Sequence[ImageSource], description: str = "embedding images") -> np.ndarray:
        self.calls += 1
        vectors = []
        for start in tqdm(range(0, len(sources), self.batch_size), desc=description, unit="batch"):
            images = [source.load() for source in sources[start:start + self.batch_size]]
            pixels = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
            with torch.inference_mode():
                features = self.model(pixel_values=pixels).image_embeds.float()
            vectors.append(torch.nn.functional.normalize(features, dim=-1).cpu().numpy())
        return np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, 0), np.float32)


class EmbeddingCache:
    """`<folder>/<key>.npy` (+ `.json` describing it), reused across runs, tasks and shot counts."""

    def __init__(self, folder: Path):
        self.folder = folder

    def key(self, encoder: ClipImageEncoder, sources: Sequence[ImageSource]) -> str:
        digest = hashlib.sha256(encoder.fingerprint.encode())
        for source in sources:
            digest.update(content_id(source).encode())
            digest.update(b"\x00")
        return digest.hexdigest()[:32]

    def embeddings(self, encoder: ClipImageEncoder, sources: Sequence[ImageSource], label: str) -> np.ndarray:
        key = self.key(encoder, sources)
        path = self.folder / f"{key}.npy"
        if path.is_file():
            try:
                vectors = np.load(path, allow_pickle=False)
            except (OSError, ValueError):  # cut short by a crash, or not a plain array: compute it again
                vectors = None
            if vectors is not None and vectors.ndim == 2 and vectors.shape[0] == len(sources):
                return vectors
        vectors = encoder.encode(sources, f"embedding {label}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp.npy")
            np.save(temporary, vectors, allow_pickle=False)
            temporary.replace(path)
            (self.folder / f"{key}.json").write_text(json.dumps(
                {"encoder": encoder.name, "images": len(sources), "label": label, "dim": int(vectors.shape[1])}))
        except OSError as error:
            raise EvalkitError(f"cannot write the embedding cache ({error.strerror})", path=self.folder) from None
        return vectors
