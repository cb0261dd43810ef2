"""Candidate continuations packed as token tries, so that a shared prefix is computed once.

Scoring a continuation needs the model's output after each of its tokens but the last. Candidates
that start with the same tokens (ImageNet's "tiger shark" and "tiger cat", or every class name of a
BPE vocabulary that writes " a" first) need those outputs only once. A `TrieRow` holds several
candidates' tokens as a trie in one row of a forward: each node is one token fed once, attending
to the prompt and to its own ancestors only (`attention_mask`), at the position it has in each of
its candidates (`positions`). Only nodes something follows are fed: a candidate's last token
never is, unless another candidate continues it.

The scores are those of feeding each candidate on its own after the prompt; only the float
rounding of the kernels differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

# Nodes per row: more sharing per row, but attention over n x (prompt + n) positions per row.
NODES_PER_ROW = 64


@dataclass
class TrieRow:
    """Some candidates of one prompt, their tokens packed as a trie in one row."""

    prompt: int  # the prompt's place in its batch
    candidates: list[int] = field(default_factory=list)  # the candidates' places in the prompt's list
    tokens: list[int] = field(default_factory=list)  # each fed node's token, parents before children
    parents: list[int] = field(default_factory=list)  # each node's parent node (-1: it follows the prompt)
    depths: list[int] = field(default_factory=list)  # each node's place after the prompt (0: first token)
    reads: list[list[int]] = field(default_factory=list)  # per candidate: the node before each token but the first
    _nodes: dict[tuple[int, ...], int] = field(default_factory=dict)  # prefix -> node

    def new_nodes(self, tokens: Sequence[int]) -> int:
        """Nodes adding a candidate of `tokens` would feed (its prefixes not yet in the row)."""
        return sum(1 for end in range(1, len(tokens)) if tuple(tokens[:end]) not in self._nodes)

    def add(self, candidate: int, tokens: Sequence[int]) -> None:
        reads = []
        for end in range(1, len(tokens)):
            prefix = tuple(tokens[:end])
            node = self._nodes.get(prefix)
            if node is None:
                node = self._nodes[prefix] = len(self.tokens)
                self.tokens.append(tokens[end - 1])
                self.parents.append(self._nodes[prefix[:-1]] if end > 1 else -1)
                self.depths.append(end - 1)
            reads.append(node)
        self.candidates.append(candidate)
        self.reads.append(reads)


def pack_candidates(prompt: int, candidates: Sequence[Sequence[int]], max_candidates: int,
                    max_nodes: int = NODES_PER_ROW) -> list[TrieRow]:
    """One prompt's candidates (token ids) in rows of at most `max_candidates` candidates and, unless
    one candidate alone needs more, `max_nodes` fed nodes (a candidate whose prefixes are all in a
    row joins it regardless). Candidates are taken in token order, so the ones sharing a prefix
    share a row."""
    rows = [TrieRow(prompt)]
    for index in sorted(range(len(candidates)), key=lambda i: list(candidates[i])):
        row = rows[-1]
        added = row.new_nodes(candidates[index])
        full = len(row.candidates) >= max_candidates or (
            row.candidates and added and len(row.tokens) + added > max_nodes)
        if full:
            row = TrieRow(prompt)
            rows.append(row)
        row.add(index, candidates[index])
    return rows


def fed_tokens(candidates: Sequence[Sequence[int]], max_nodes: int = NODES_PER_ROW) -> dict[str, int]:
    """What packing saves on one prompt's candidates: tokens fed one candidate per row (all of
    them), one candidate per row without its last token, as one whole trie, and as packed here."""
    whole = TrieRow(0)
    for index, tokens in enumerate(candidates):
        whole.add(index, tokens)
    packed = pack_candidates(0, candidates, len(candidates), max_nodes)
    return {"candidates": len(candidates), "all_tokens": sum(len(t) for t in candidates),
            "without_last": sum(len(t) - 1 for t in candidates), "one_trie": len(whole.tokens),
            "packed": sum(len(row.tokens) for row in packed), "rows": len(packed)}


@dataclass(frozen=True)
class RowTensors:
    """Rows padded to one node count, as tensors for the forward after the prompts' cache."""

    input_ids: torch.Tensor  # [rows, nodes]
    positions: torch.Tensor  # [rows, nodes] depth after the prompt (add the prompt's length)
    ancestry: torch.Tensor  # [rows, nodes, nodes] bool: node i sees node j (j is i or an ancestor)
    real: torch.Tensor  # [rows, nodes] bool: a node, not padding


def row_tensors(rows: Sequence[TrieRow], pad_id: int, device: torch.device) -> RowTensors:
    width = max(1, max(len(row.tokens) for row in rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    ancestry = torch.eye(width, dtype=torch.bool).repeat(len(rows), 1, 1)  # padding sees itself only
    real = torch.zeros((len(rows), width), dtype=torch.bool)
    for number, row in enumerate(rows):
        count = len(row.tokens)
        ids[number, :count] = torch.tensor(row.tokens, dtype=torch.long)
        positions[number, :count] = torch.tensor(row.depths, dtype=torch.long)
        real[number, :count] = True
        for node, parent in enumerate(row.parents):  # parents come first: copy their ancestry, add self
            if parent >= 0:
                ancestry[number, node] |= ancestry[number, parent]
    return RowTensors(ids.to(device), positions.to(device), ancestry.to(device), real.to(device))


def attention_mask(prompt_mask: torch.Tensor, ancestry: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The additive [rows, 1, nodes, prompt + nodes] mask: each node sees its prompt's real tokens
    (`prompt_mask`, [rows, prompt], 1 where real) and its ancestors and itself."""
    nodes = ancestry.shape[1]
    sees = torch.cat([prompt_mask.bool()[:, None, :].expand(-1, nodes, -1), ancestry], dim=-1)
    blocked = torch.zeros(sees.shape, dtype=dtype, device=sees.device)
    blocked.masked_fill_(~sees, torch.finfo(dtype).min)
    return blocked[:, None]


def rows_per_forward(rows: Sequence[TrieRow], candidates: int) -> list[list[TrieRow]]:
    """Consecutive rows grouped so that a forward scores at most `candidates` candidates (a row
    holding more goes alone)."""
    groups: list[list[TrieRow]] = [[]]
    count = 0
    for row in rows:
        if groups[-1] and count + len(row.candidates) > candidates:
            groups.append([])
            count = 0
        groups[-1].append(row)
        count += len(row.candidates)
    return [group for group in groups if group]
