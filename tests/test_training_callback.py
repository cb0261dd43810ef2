"""Evaluation inside a transformers Trainer: the callback's scores after each step are those
`evalkit run` gives for the checkpoint saved at that step, and they reach the trainer's logs."""

import json
import random

import pytest
import torch
from transformers import AutoProcessor, IdeficsForVisionText2Text, Trainer, TrainingArguments

from evalkit.assets import TRAINED_MODEL
from evalkit.cli import main
from evalkit.integrations.transformers_callback import EvalkitCallback
from evalkit.registry import get_task
from evalkit.training import next_token_loss, training_labels, training_pool, training_sequence


def _training_items(processor, data, count: int) -> list[dict]:
    """VQAv2 1-shot training sequences of the synthetic train split, one per batch, with labels."""
    task, rng = get_task("vqav2"), random.Random(0)
    pool = training_pool(task, data, None)[:8]
    items = []
    for example in pool[:count]:
        sequence = training_sequence(task, "idefics", pool, example, 1, rng)
        text = [[part if isinstance(part, str) else part.load() for part in sequence.prompt]]
        inputs = processor(text=text, return_tensors="pt", padding="longest", add_end_of_utterance_token=False)
        inputs["labels"] = training_labels([sequence], inputs["input_ids"], processor.tokenizer)
        items.append(dict(inputs))
    return items


class SavesEachStep(EvalkitCallback):
    """Also saves the weights the callback evaluated, for `evalkit run` to score."""

    def __init__(self, folder, **settings):
        super().__init__(**settings)
        self.folder = folder

    def on_step_end(self, args, state, control, **kwargs):
        super().on_step_end(args, state, control, **kwargs)
        kwargs["model"].save_pretrained(self.folder / f"step{state.global_step}")
        kwargs["processing_class"].save_pretrained(self.folder / f"step{state.global_step}")


def test_a_training_loop_evaluated_every_step_scores_as_evalkit_run(synthetic_data, tmp_path):
    torch.manual_seed(0)
    model = IdeficsForVisionText2Text.from_pretrained(TRAINED_MODEL)
    processor = AutoProcessor.from_pretrained(TRAINED_MODEL)
    arguments = TrainingArguments(output_dir=str(tmp_path / "trainer"), max_steps=2, per_device_train_batch_size=1,
                                  learning_rate=5e-3, report_to=[], use_cpu=True, save_strategy="no",
                                  logging_steps=1, disable_tqdm=True)
    trainer = Trainer(model=model, args=arguments, train_dataset=_training_items(processor, synthetic_data / "vqav2", 4),
                      data_collator=lambda items: items[0], processing_class=processor,
                      compute_loss_func=lambda outputs, labels, num_items_in_batch=None: next_token_loss(
                          outputs.logits, labels))
    callback = SavesEachStep(tmp_path, trainer=trainer, tasks=["vqav2"], shots=[0, 2], data_dir=synthetic_data,
                             every=1, limit=12)
    trainer.add_callback(callback)
    trainer.train()

    assert [step for step, _ in callback.history] == [1, 2]
    assert model.training  # the trainer's model is handed back in training mode
    logged = [entry for entry in trainer.state.log_history if "evalkit/vqav2/2shot" in entry]
    assert [entry["step"] for entry in logged] == [1, 2]
    for step, evaluation in callback.history:
        output = tmp_path / f"run{step}"
        assert main(["run", "--model", str(tmp_path / f"step{step}"), "--tasks", "vqav2", "--shots", "0,2",
                     "--limit", "12", "--data-dir", str(synthetic_data), "--output", str(output), "--no-progress"]) == 0
        expected = json.loads((output / "results.json").read_text())["tasks"]["vqav2"]["shots"]
        for shots in ("0", "2"):
            assert evaluation.results["tasks"]["vqav2"]["shots"][shots]["mean"] == expected[shots]["mean"]
            assert logged[step - 1][f"evalkit/vqav2/{shots}shot"] == pytest.approx(expected[shots]["mean"])
    # Training moved the scores: the evaluations see each step's weights, not the first's.
    untrained = 91.67
    assert callback.history[-1][1].score("vqav2", 2) != pytest.approx(untrained, abs=0.01)
