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
from evalkit.prompts.builder import Demo, build_sequence
from evalkit.registry import get_task
from evalkit.taskspec import TaskSpec
from evalkit.types import Example, Prompt

DEFAULT_TASKS = ("vqav2", "okvqa", "textvqa", "vizwiz", "coco", "flickr30k", "textcaps", "hatefulmemes", "imagenet",
                 "fairface-gender", "fairface-race", "fairface-age")
IDEFICS_IMAGE_TEXT = "<fake_token_around_image><image><fake_token_around_image>"


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 1200
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup_steps: int = 60
    weight_decay: float = 0.01
    shot_choices: tuple[int, ...] = (0, 1, 2, 4)
    formats: tuple[str, ...] = ("idefics", "idefics-instruct")
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class TrainingSequence:
    prompt: Prompt
    prefix: str  # the instruction before the first example (constant, not learned)
    inputs: list[str]  # each example's input field texts in order (questions: not predictable)


def training_sequence(task: TaskSpec, prompt_format: str, pool: Sequence[Example], query: Example,
                      shots: int, rng: random.Random) -> TrainingSequence:
    """A k-shot prompt as the evaluation builds it, followed by the query's own answer."""
    others = [example for example in rng.sample(pool, max(shots, 2) + 1) if example.id != query.id]
    if shots == 0:
        demos = [Demo(example, task.demo_answer(example), show_image=False) for example in others[:2]]
    else:
        demos = [Demo(example, task.demo_answer(example)) for example in others[:shots]]
    demos.append(Demo(query, task.demo_answer(query)))
    template = task.template(prompt_format)
    shown = [name for _, name, _, _ in string.Formatter().parse(template.example) if name and name != "answer"]
    inputs = [str(demo.example.fields[name]) for demo in demos for name in shown]
    return TrainingSequence(build_sequence(template, demos), template.prefix, inputs)


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


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Causal LM cross-entropy over all logits (transformers' own loss assumes the logits stop at
    `config.vocab_size`, which IDEFICS's additional image-token rows exceed)."""
    shifted_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
    return torch.nn.functional.cross_entropy(shifted_logits.float(), labels[:, 1:].reshape(-1), ignore_index=-100)


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
                       settings: TrainSettings = TrainSettings(), log_every: int = 100) -> dict[str, Any]:
    """Build the tiny model from `settings.seed`, train it on `data_root/<task>/` for each task
    (a task drawn at random for each sequence), and save it with `save_pretrained`."""
    from transformers import AutoProcessor

    torch.set_num_threads(settings.threads)
    build_tiny_idefics(output_dir, corpus, seed=settings.seed)
    processor = AutoProcessor.from_pretrained(output_dir)
    processor.tokenizer.padding_side = "right"
    model = _trainable_model(output_dir)
    tasks = [get_task(name) for name in task_names]
    pools = {task.name: task.data.load(task_folder(data_root, task.name), "support") for task in tasks}
    images = {example.image.key: example.image.load() for pool in pools.values() for example in pool}
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    rng = random.Random(settings.seed)
    started, losses = time.time(), []
    for step in range(settings.steps):
        sequences = []
        for _ in range(settings.batch_size):
            task = rng.choice(tasks)
            pool = pools[task.name]
            sequences.append(training_sequence(task, rng.choice(settings.formats), pool, rng.choice(pool),
                                               rng.choice(settings.shot_choices), rng))
        batch = [[s if isinstance(s, str) else images[s.key] for s in sequence.prompt] for sequence in sequences]
        inputs = processor(text=batch, return_tensors="pt", padding="longest", add_end_of_utterance_token=False)
        loss = next_token_loss(model(**inputs).logits, training_labels(sequences, inputs["input_ids"], processor.tokenizer))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if log_every and (step + 1) % log_every == 0:
            recent = sum(losses[-log_every:]) / log_every
            print(f"step {step + 1}/{settings.steps} loss {recent:.4f} ({time.time() - started:.0f}s)",
                  flush=True)
    model.eval().save_pretrained(output_dir)
    summary = {"tasks": list(task_names), "settings": asdict(settings),
               "train_questions": {name: len(pool) for name, pool in pools.items()},
               "final_loss": sum(losses[-50:]) / len(losses[-50:]), "seconds": round(time.time() - started, 1)}
    (output_dir / "evalkit_training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
