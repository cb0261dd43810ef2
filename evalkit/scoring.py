"""From predictions to per-sample scores and aggregates; shared by `run` and `score`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from evalkit.data.files import check_id, read_json, without_cycle_collection
from evalkit.errors import EvalkitError
from evalkit.models.base import ContinuationScore
from evalkit.taskspec import Metric, TaskSpec
from evalkit.types import Example


@dataclass(frozen=True)
class Scored:
    scores: list[float]
    aggregate: dict[str, Any]


def choice_score(score: ContinuationScore, normalization: str) -> float:
    """What a ranking ranks a candidate by: the sum or the mean of its tokens' log-probabilities, or
    the mean over every token of the whole sequence, prompt included ("sequence-mean", m4's caption
    matching), which needs the adapter to report the prompt's own log-probability."""
    if normalization == "sum":
        return score.total
    if normalization == "mean":
        return score.mean
    if score.prompt_total is None:
        raise EvalkitError("this model adapter does not report the prompt's log-probability, which "
                           "sequence-mean scoring needs", field="--normalization")
    return (score.prompt_total + score.total) / (score.prompt_tokens + score.num_tokens)


def score_predictions(metric: Metric, examples: Sequence[Example], predictions: Sequence[str]) -> Scored:
    with without_cycle_collection():  # per-question lists and strings by the million, none in a cycle
        scores, aggregate = metric.score_all(predictions, examples)
    return Scored(scores, aggregate)


def read_predictions_file(path: Path, task: TaskSpec) -> dict[Any, str]:
    """An official results file `[{id_key, answer_key}]` as {id: answer}."""
    id_key, answer_key = task.prediction_keys
    with without_cycle_collection():
        records = read_json(path)
    if not isinstance(records, list):
        raise EvalkitError(f"expected a JSON list of {{{id_key}, {answer_key}}} records", path=path)
    predictions: dict[Any, str] = {}
    for position, record in enumerate(records):
        for key in (id_key, answer_key):
            if not isinstance(record, dict) or key not in record:
                raise EvalkitError(f"record {position} has no field", path=path, field=key)
        _check_answer(record[answer_key], task, path, position, answer_key)
        record_id = check_id(record[id_key], path, id_key, f"record {position}")
        if record_id in predictions:
            raise EvalkitError(f"duplicate {id_key} {record_id}", path=path, field=id_key)
        predictions[record_id] = record[answer_key]
    return predictions


def _is_choice_scores(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values())


def _check_answer(answer: Any, task: TaskSpec, path: Path, position: int, key: str) -> None:
    """Generated answers are strings; ranking tasks give {class name: score or probability}, or a list
    of them (one per image) when the task scores each image."""
    if task.mode == "rank" and task.prompt_per_image:
        if not isinstance(answer, list) or not answer or not all(map(_is_choice_scores, answer)):
            raise EvalkitError(f"record {position}: expected one {{caption: score}} per image", path=path,
                               field=key)
    elif task.mode == "rank":
        if not _is_choice_scores(answer):
            raise EvalkitError(f"record {position}: expected {{class name: score}}", path=path, field=key)
    elif not isinstance(answer, str):
        raise EvalkitError(f"record {position}: the answer is not a string", path=path, field=key)


def match_predictions(predictions: dict[Any, str], examples: Sequence[Example], path: Path,
                      id_key: str, allow_subset: bool) -> tuple[list[Example], list[str]]:
    """Pair predictions with examples; refuse unknown ids, and missing ones unless a subset is allowed."""
    by_id = {example.id: example for example in examples}
    unknown = [key for key in predictions if key not in by_id]
    if unknown:
        raise EvalkitError(f"{len(unknown)} prediction(s) name unknown ids, e.g. {unknown[0]!r}",
                           path=path, field=id_key)
    missing = [example.id for example in examples if example.id not in predictions]
    if missing and not allow_subset:
        raise EvalkitError(
            f"{len(missing)} of {len(examples)} questions have no prediction (e.g. {missing[0]!r}); "
            "pass --subset to score only the predicted ones",
            path=path, field=id_key,
        )
    kept = [example for example in examples if example.id in predictions]
    return kept, [predictions[example.id] for example in kept]
