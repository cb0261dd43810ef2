"""Bad VQAv2 files give one-line errors naming the file and the field."""

import json
from pathlib import Path

import pytest

from evalkit.data.vqa import VQAFiles
from evalkit.errors import EvalkitError

QUESTIONS = "v2_OpenEnded_mscoco_val2014_questions.json"
ANNOTATIONS = "v2_mscoco_val2014_annotations.json"


def write(folder: Path, questions, annotations) -> None:
    for name, document in ((QUESTIONS, questions), (ANNOTATIONS, annotations)):
        (folder / name).write_text(document if isinstance(document, str) else json.dumps(document))


def question(qid: int) -> dict:
    return {"image_id": 1, "question": "q?", "question_id": qid}


def annotation(qid: int) -> dict:
    return {"question_id": qid, "image_id": 1, "answers": [{"answer": "a", "answer_id": i} for i in range(10)]}


CASES = {
    "malformed_json": ('{"questions": [', {"annotations": []}, f"{QUESTIONS}: malformed JSON at line 1"),
    "no_questions_list": ({"qs": []}, {"annotations": []}, f"{QUESTIONS} [questions]: the file has no field"),
    "question_without_annotation": ({"questions": [question(1), question(2)]}, {"annotations": [annotation(1)]},
                                    f"{ANNOTATIONS} [annotations]: 1 question(s) have no annotation, e.g. question_id 2"),
    "annotation_without_question": ({"questions": [question(1)]}, {"annotations": [annotation(1), annotation(3)]},
                                    f"{QUESTIONS} [questions]: 1 annotation(s) have no question"),
    "duplicate_question_id": ({"questions": [question(1), question(1)]}, {"annotations": [annotation(1)]},
                              f"{QUESTIONS} [question_id]: duplicate question_id 1"),
    "question_missing_field": ({"questions": [{"image_id": 1, "question_id": 1}]}, {"annotations": [annotation(1)]},
                               f"{QUESTIONS} [question]: question 1 has no field"),
    "annotation_without_answers": ({"questions": [question(1)]}, {"annotations": [{"question_id": 1}]},
                                   f"{ANNOTATIONS} [answers]: question 1 has no field"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_annotation_files(case, tmp_path):
    questions, annotations, expected = CASES[case]
    write(tmp_path, questions, annotations)
    with pytest.raises(EvalkitError) as raised:
        VQAFiles().load(tmp_path, "query")
    message = str(raised.value)
    assert expected in message and "\n" not in message


def test_missing_and_undecodable_images_are_named(tmp_path):
    write(tmp_path, {"questions": [question(1)]}, {"annotations": [annotation(1)]})
    example = VQAFiles().load(tmp_path, "query")[0]
    with pytest.raises(EvalkitError, match="COCO_val2014_000000000001.jpg: image file not found"):
        example.image.load()
    (tmp_path / "val2014").mkdir()
    (tmp_path / "val2014" / "COCO_val2014_000000000001.jpg").write_bytes(b"\xff\xd8 truncated")
    example = VQAFiles().load(tmp_path, "query")[0]
    with pytest.raises(EvalkitError, match="cannot decode image"):
        example.image.load()
