"""Log-likelihood of candidate continuations after one prompt, shared by the adapters: the
continuation's tokens, the prompt's keys/values repeated for a chunk of candidates, and the sums."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from evalkit.errors import EvalkitError
from evalkit.models.base import ContinuationScore


def continuation_ids(tokenizer: Any, tail: str, continuations: Sequence[str]) -> list[list[int]]:
    """Each continuation's tokens as they follow the prompt: the tokens of (the prompt's last text +
    continuation) after those of the last text, so word boundaries tokenise as in the full sequence."""
    head = tokenizer(tail, add_special_tokens=False)["input_ids"]
    fulls = tokenizer([tail + c for c in continuations], add_special_tokens=False)["input_ids"]
    ids = []
    for continuation, full in zip(continuations, fulls):
        if full[: len(head)] != head or len(full) == len(head):
            raise EvalkitError(f"continuation {continuation!r} does not tokenise after the prompt")
        ids.append(full[len(head):])
    return ids


def padded_chunk(chunk: list[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The candidates' ids right-padded to one length, and the mask of their real tokens."""
    size, length = len(chunk), max(len(tokens) for tokens in chunk)
    ids = torch.full((size, length), pad_id, dtype=torch.long, device=device)
    real = torch.zeros((size, length), dtype=torch.long, device=device)
    for row, tokens in enumerate(chunk):
        ids[row, : len(tokens)] = torch.tensor(tokens, device=device)
        real[row, : len(tokens)] = 1
    return ids, real


def repeated_cache(cache: Any, size: int) -> Any:
    """A one-prompt key/value cache viewed `size` times (no copy), one row per candidate."""
    from transformers import DynamicCache

    return DynamicCache([(layer.keys.expand(size, -1, -1, -1), layer.values.expand(size, -1, -1, -1))
                         for layer in cache.layers])


def chunk_scores(first: torch.Tensor, following: torch.Tensor, chunk: list[list[int]]) -> list[ContinuationScore]:
    """Scores from the log-probabilities after the prompt (`first`, one row) and after each candidate
    token (`following`, candidates x positions x vocabulary)."""
    results = []
    for row, tokens in enumerate(chunk):
        values = [first[tokens[0]]] + [following[row, j - 1, tokens[j]] for j in range(1, len(tokens))]
        total = float(torch.stack(values).sum())
        results.append(ContinuationScore(total=total, mean=total / len(tokens), num_tokens=len(tokens)))
    return results


def sequence_score(logprobs: torch.Tensor, tokens: list[int]) -> ContinuationScore:
    """The score of `tokens` ending a whole sequence whose log-probabilities are `logprobs` (positions x
    vocabulary): the slow reference the cached path must match."""
    n = len(tokens)
    positions = range(logprobs.shape[0] - n - 1, logprobs.shape[0] - 1)
    total = float(torch.stack([logprobs[p, t] for p, t in zip(positions, tokens)]).sum())
    return ContinuationScore(total=total, mean=total / n, num_tokens=n)


def prompt_log_probability(logits: torch.Tensor, input_ids: torch.Tensor) -> tuple[float, int]:
    """The summed log-probability of a one-prompt sequence's own tokens (each from those before it;
    the first has no prediction) and how many tokens that covers. `logits`: positions x vocabulary."""
    logprobs = torch.log_softmax(logits[:-1].float(), dim=-1)
    taken = logprobs.gather(-1, input_ids[1:, None].to(logprobs.device))
    return float(taken.sum()), int(input_ids.shape[0] - 1)
