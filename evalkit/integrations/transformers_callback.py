"""Few-shot evaluation every N training steps, inside the transformers `Trainer`.

    trainer = Trainer(model=model, args=args, train_dataset=..., processing_class=processor)
    trainer.add_callback(EvalkitCallback(trainer, tasks=["vqav2"], shots=[0, 4], data_dir="data", every=500))

Each evaluation goes through `evalkit.Evaluator` (data and RICES embeddings read once, the model
borrowed as it is: no reload, no copy, its mode, dtype and device kept) and is logged through the
trainer's own `log`, so every logger the trainer reports to (TensorBoard, W&B, its log history)
gets `evalkit/<task>/<k>shot`. In a data-parallel training run the main process evaluates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from evalkit.api import Evaluation, Evaluator


class EvalkitCallback(TrainerCallback):
    """Evaluates the model being trained every `every` steps (default: the trainer's eval_steps,
    else its logging_steps) and at the end of training; `history` keeps (step, Evaluation)."""

    def __init__(self, trainer: Any = None, *, tasks: Any, shots: Any = (0,), seeds: Any = (42,),
                 data_dir: str | Path | dict | None = None, every: int | None = None, processor: Any = None,
                 prefix: str = "evalkit", vision_frozen: bool = False, **options: Any):
        self.trainer = trainer
        self.every = every
        self.processor = processor
        self.prefix = prefix
        self._settings = dict(tasks=tasks, shots=shots, seeds=seeds, data_dir=data_dir,
                              vision_frozen=vision_frozen, **options)
        self._evaluator: Evaluator | None = None
        self.history: list[tuple[int, Evaluation]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero and self._evaluator is None:
            self._evaluator = Evaluator(**self._settings)  # data checked and read before the first step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        every = self.every or getattr(args, "eval_steps", None) or args.logging_steps
        if state.global_step % int(every) == 0:
            self._evaluate(state, kwargs)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.history or self.history[-1][0] != state.global_step:
            self._evaluate(state, kwargs)

    def metrics(self, evaluation: Evaluation) -> dict[str, float]:
        """`<prefix>/<task>/<k>shot`: each task's score at each shot count (mean over seeds)."""
        return {f"{self.prefix}/{task}/{shots}shot": entry["mean"]
                for task, result in evaluation.results["tasks"].items()
                for shots, entry in result["shots"].items() if entry["mean"] is not None}

    def _evaluate(self, state: Any, kwargs: dict[str, Any]) -> None:
        if not state.is_world_process_zero:
            return
        if self._evaluator is None:
            self._evaluator = Evaluator(**self._settings)
        processor = self.processor or kwargs.get("processing_class")
        evaluation = self._evaluator.evaluate(kwargs["model"], processor, label=f"step {state.global_step}")
        self.history.append((state.global_step, evaluation))
        metrics = self.metrics(evaluation)
        if self.trainer is not None:
            self.trainer.log(metrics)
        else:
            state.log_history.append({**metrics, "step": state.global_step})
