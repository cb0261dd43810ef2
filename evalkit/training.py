"""Trains the offline tiny IDEFICS on the synthetic training split, in the harness's own prompt formats.

Each training sequence is a k-shot prompt exactly as the evaluation builds it (prefix, k image/answer
demos, or Flamingo's 2 text-only demos for k = 0) followed by the query's answer, in the base and the
instruct format, so the model learns to read interleaved image-text context. The loss covers the
answers and the template text, not the instruction prefix nor the questions. CPU only; a fixed
number of steps, seeded sampling and initialisation make it deterministic for a seed.
"""

from __future__ import annotations

import json
import math
import random
import string
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from evalkit.data.source import task_folder
from evalkit.models.offline import build_tiny_idefics
from evalkit.prompts.builder import Demo, build_sequence, image_views
from evalkit.registry import get_task
from evalkit.taskspec import TaskSpec
from evalkit.types import Example, Prompt

DEFAULT_TASKS = ("vqav2", "okvqa", "textvqa", "vizwiz", "coco", "flickr30k", "textcaps", "hatefulmemes", "imagenet",
                 "fairface-gender", "fairface-race", "fairface-age", "visdial", "scienceqa", "renderedsst2",
                 "winoground")
IDEFICS_IMAGE_TEXT = "<fake_token_around_image><image><fake_token_around_image>"


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 2000
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup_steps: int = 60
    weight_decay: float = 0.01
    shot_choices: tuple[int, ...] = (0, 1, 2, 4)
    formats: tuple[str, ...] = ("idefics", "idefics-instruct")
    seed: int = 0
    # One thread: on a shared 2-core machine two threads spin against other processes (a step took 25
    # times longer under load).
    threads: int = 1
    # Tasks drawn this many times as often as the others: those the tiny model learns slowest.
    weights: tuple[tuple[str, int], ...] = (("scienceqa", 3), ("renderedsst2", 2), ("winoground", 3))
    # The most shots of tasks whose examples are long (a 4-shot VisDial sequence is 400 tokens).
    max_shots: tuple[tuple[str, int], ...] = (("visdial", 2), ("scienceqa", 2))
    # A batch mixes tasks; it is run in micro-batches of this many sequences of similar length, so that
    # short sequences are not padded to the longest one (the gradient is the whole batch's).
    micro_batch: int = 4


@dataclass(frozen=True)
class TrainingSequence:
    prompt: Prompt
    prefix: str  # the instruction before the first example (constant, not learned)
    inputs: list[str]  # each example's input field texts in order (questions: not predictable)


def training_sequence(task: TaskSpec, prompt_format: str, pool: Sequence[Example], query: Example,
                      shots: int, rng: random.Random) -> TrainingSequence:
    """A k-shot prompt as the evaluation builds it (the task's protocol capping the shots and saying
    what 0 shots holds), followed by the query's own answer (for a task that scores each image, one
    image of the query with its own answer)."""
    shots = min(shots, task.max_shots if task.max_shots is not None else shots)
    others = [example for example in rng.sample(pool, min(len(pool), max(shots, 2) + 1)) if example.id != query.id]
    if shots == 0:
        texts_only = 0 if task.zero_shot == "none" else 2
        demos = [Demo(example, task.demo_answer(example), show_image=False) for example in others[:texts_only]]
    else:
        demos = [Demo(example, task.demo_answer(example)) for example in others[:shots]]
    if task.prompt_per_image:
        query = rng.choice(image_views(query))
    demos.append(Demo(query, task.demo_answer(query)))
    template = task.template(prompt_format)
    shown = [name for _, name, _, _ in string.Formatter().parse(template.example + template.demo_suffix)
             if name and name != "answer"]
    inputs = [str(demo.example.fields[name]) for demo in demos for name in shown]
    return TrainingSequence(build_sequence(template, demos), template.prefix, inputs)


def heldout_tasks(task_names: Sequence[str] = DEFAULT_TASKS) -> list[str]:
    """The tasks (of `task_names`) without a support split, which train on a held-out copy."""
    return [name for name in task_names if get_task(name).max_shots == 0]


def training_pool(task: TaskSpec, data_root: Path, heldout_root: Path | None) -> list[Example]:
    """The examples a task trains on: its support split, or for a zero-shot-only task (no support
    split) the query split of a held-out copy drawn with another seed, never the evaluated one."""
    if task.max_shots != 0:
        return task.data.load(task_folder(data_root, task.name), "support")
    if heldout_root is None:
        raise ValueError(f"{task.name} has no support split: give a held-out data folder to train on")
    return task.data.load(task_folder(heldout_root, task.name), "query")


def processor_text(prompt: Prompt, bos: str) -> str:
    """The string IDEFICS's processor tokenizes for `prompt` (texts never adjoin, see merge_text)."""
    return bos + "".join(s.strip(" ") if isinstance(s, str) else IDEFICS_IMAGE_TEXT for s in prompt)


def unlearned_spans(text: str, sequence: TrainingSequence, bos: str) -> list[tuple[int, int]]:
    """Character spans the loss skips: the instruction prefix and every input field (question)."""
    spans = [(0, len(bos) + len(sequence.prefix.strip(" ")))]
    cursor = spans[0][1]
    for value in sequence.inputs:
        start = text.index(value, cursor)
        cursor = start + len(value)
        spans.append((start, cursor))
    return spans


def training_labels(sequences: Sequence[TrainingSequence], input_ids: torch.Tensor, tokenizer: Any) -> torch.Tensor:
    """Next-token targets on the template text and the answers: no padding, image tokens, prefix or
    questions. The model learns to answer and to go on with the next example's marker, as real
    checkpoints do (which is why answer extraction matters). Padding is on the right."""
    labels = input_ids.clone()
    for token in [tokenizer.pad_token, "<image>", "<fake_token_around_image>"]:
        labels[input_ids == tokenizer.convert_tokens_to_ids(token)] = -100
    for row, sequence in enumerate(sequences):
        text = processor_text(sequence.prompt, tokenizer.bos_token)
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if encoded["input_ids"] != input_ids[row, : len(encoded["input_ids"])].tolist():
            raise RuntimeError("training text tokenises differently from the processor's")
        skipped = unlearned_spans(text, sequence, tokenizer.bos_token)
        for position, (start, end) in enumerate(encoded["offset_mapping"]):
            if any(start < span_end and end > span_start for span_start, span_end in skipped):
                labels[row, position] = -100
    return labels


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Causal LM cross-entropy over all logits (transformers' own loss assumes the logits stop at
    `config.vocab_size`, which IDEFICS's additional image-token rows exceed)."""
    shifted_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
    return torch.nn.functional.cross_entropy(shifted_logits.float(), labels[:, 1:].reshape(-1), ignore_index=-100,
                                             reduction=reduction)


def _length(sequence: TrainingSequence) -> int:
    """A sequence's size for grouping micro-batches: its characters, an image counting as 32."""
    return sum(len(s) if isinstance(s, str) else 32 for s in sequence.prompt)


def backward_in_micro_batches(model: Any, processor: Any, sequences: Sequence[TrainingSequence],
                              images: dict[str, Any], micro_batch: int) -> float:
    """Back-propagate the batch's mean next-token loss, computed over micro-batches of sequences of
    similar length (each padded only to its own longest); returns that loss."""
    ordered = sorted(range(len(sequences)), key=lambda i: (_length(sequences[i]), i))
    prepared = []
    for start in range(0, len(ordered), micro_batch):
        chunk = [sequences[i] for i in ordered[start:start + micro_batch]]
        batch = [[s if isinstance(s, str) else images[s.key] for s in sequence.prompt] for sequence in chunk]
        inputs = processor(text=batch, return_tensors="pt", padding="longest", add_end_of_utterance_token=False)
        prepared.append((inputs, training_labels(chunk, inputs["input_ids"], processor.tokenizer)))
    learned = sum(int((labels[:, 1:] != -100).sum()) for _, labels in prepared)
    total = 0.0
    for inputs, labels in prepared:
        loss = next_token_loss(model(**inputs).logits, labels, reduction="sum") / learned
        loss.backward()
        total += loss.item()
    return total


def learning_rate(step: int, settings: TrainSettings) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    return settings.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def _trainable_model(folder: Path):
    from transformers import IdeficsForVisionText2Text

    model = IdeficsForVisionText2Text.from_pretrained(folder, dtype=torch.float32)
    model.config.freeze_text_layers = model.config.freeze_vision_layers = False
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model.train()


def train_tiny_idefics(data_root: Path, output_dir: Path, corpus: Sequence[str],
                       task_names: Sequence[str] = DEFAULT_TASKS,
                       settings: TrainSettings = TrainSettings(), log_every: int = 100,
                       heldout_root: Path | None = None) -> dict[str, Any]:
    """Build the tiny model from `settings.seed`, train it on `data_root/<task>/` for each task (a task
    drawn at random for each sequence, `settings.weights` favouring some; zero-shot-only tasks from
    `heldout_root`, see `training_pool`), and save it with `save_pretrained`."""
    from transformers import AutoProcessor

    torch.set_num_threads(settings.threads)
    build_tiny_idefics(output_dir, corpus, seed=settings.seed)
    processor = AutoProcessor.from_pretrained(output_dir)
    processor.tokenizer.padding_side = "right"
    model = _trainable_model(output_dir)
    tasks = [get_task(name) for name in task_names]
    pools = {task.name: training_pool(task, data_root, heldout_root) for task in tasks}
    images = {image.key: image.load() for pool in pools.values() for example in pool
              for image in (example.images or (example.image,))}
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    weights, max_shots = dict(settings.weights), dict(settings.max_shots)
    drawn = [task for task in tasks for _ in range(weights.get(task.name, 1))]
    rng = random.Random(settings.seed)
    started, cpu_started, losses = time.time(), time.process_time(), []
    for step in range(settings.steps):
        sequences = []
        for _ in range(settings.batch_size):
            task = rng.choice(drawn)
            pool = pools[task.name]
            shots = min(rng.choice(settings.shot_choices), max_shots.get(task.name, len(pool)))
            sequences.append(training_sequence(task, rng.choice(settings.formats), pool, rng.choice(pool), shots, rng))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings)
        optimizer.zero_grad(set_to_none=True)
        losses.append(backward_in_micro_batches(model, processor, sequences, images, settings.micro_batch))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if log_every and (step + 1) % log_every == 0:
            recent = sum(losses[-log_every:]) / log_every
            print(f"step {step + 1}/{settings.steps} loss {recent:.4f} ({time.time() - started:.0f}s)",
                  flush=True)
    model.eval().save_pretrained(output_dir)
    summary = {"tasks": list(task_names), "settings": asdict(settings),
               "train_questions": {name: len(pool) for name, pool in pools.items()},
               "final_loss": sum(losses[-50:]) / len(losses[-50:]), "seconds": round(time.time() - started, 1),
               "cpu_seconds": round(time.process_time() - cpu_started, 1)}
    (output_dir / "evalkit_training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
