"""Log-likelihood of candidate continuations after one prompt, shared by the adapters: the
continuation's tokens, a chunk of candidates padded to one length, and the sums."""

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


def continuation_score(token_logprobs: Sequence[float], prompt_total: float | None = None,
                       prompt_tokens: int = 0) -> ContinuationScore:
    """The score of a continuation from its tokens' log-probabilities, in order (and, where known, its
    prompt's own log-probability and token count)."""
    total = float(sum(token_logprobs))
    return ContinuationScore(total=total, mean=total / len(token_logprobs), num_tokens=len(token_logprobs),
                             prompt_total=prompt_total, prompt_tokens=prompt_tokens)


def prompt_log_probabilities(logits: torch.Tensor, input_ids: torch.Tensor,
                             attention_mask: torch.Tensor) -> list[tuple[float, int]]:
    """Per row of a left-padded batch: the summed log-probability of the prompt's own tokens (each
    from the real tokens before it; the first real token has no prediction) and how many that covers.
    `logits`: rows x positions x vocabulary."""
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    taken = logprobs.gather(-1, input_ids[:, 1:, None].to(logprobs.device))[..., 0]
    scored = (attention_mask[:, 1:] * attention_mask[:, :-1]).to(taken.device).bool()
    return [(float(taken[row][scored[row]].sum()), int(scored[row].sum())) for row in range(len(taken))]
