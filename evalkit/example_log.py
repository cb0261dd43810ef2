"""examples.jsonl: the examples a run showed the model, so that a report can show them too.

samples.jsonl names each query and its demos by id only; this file says, once per run rather than
once per setting, what those ids stand for: one line per query and per support example used as a
demo, with where its image is (an absolute file path, or a Hugging Face dataset row), its text fields,
and for a query its references and its scalar metadata (answer type, FairFace race, gender and age,
...), for a demo the answer the prompt gave it. `evalkit view` reads it; nothing reads it back
into a run.

    {"task", "role": "query", "id", "image", "fields", "references", "groups"}
    {"task", "role": "support", "id", "image", "fields", "answer"}
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Sequence

from evalkit.data.hf import DatasetImage
from evalkit.report.store import EXAMPLES_FILE
from evalkit.types import Example, FileImage, ImageSource

__all__ = ["EXAMPLES_FILE", "example_records", "image_reference"]


def image_reference(image: ImageSource) -> dict[str, Any]:
    """Where an image can be read again: {"file": absolute path}, {"dataset", "split", "row",
    "column"} for a Hugging Face dataset row, else {"key": its cache key} (not openable)."""
    if isinstance(image, FileImage):
        return {"file": os.path.abspath(image.path)}
    if isinstance(image, DatasetImage):
        return {"dataset": image.source, "split": str(image.dataset.split), "row": image.index,
                "column": image.column}
    return {"key": image.key}


def _groups(example: Example) -> dict[str, Any]:
    """Metadata with one scalar value (answer_type, race...); lists (choices, answer records) left out."""
    return {key: value for key, value in example.meta.items() if isinstance(value, (str, int, float))}


def example_records(task: str, queries: Sequence[Example], demos: Iterable[tuple[Example, str]]) -> Iterator[dict]:
    """The queries in order, then the demo examples, `demos` as distinct (example, answer) pairs."""
    for query in queries:
        yield {"task": task, "role": "query", "id": query.id, "image": image_reference(query.image),
               "fields": query.fields, "references": query.references, "groups": _groups(query)}
    for example, answer in demos:
        yield {"task": task, "role": "support", "id": example.id, "image": image_reference(example.image),
               "fields": example.fields, "answer": answer}
