"""Choice scoring in shared forwards: candidates packed as token tries (each shared prefix fed once),
several prompts per forward; the scores are those of one whole sequence per candidate."""

from __future__ import annotations

import pytest
import torch

from evalkit.models.choice_tree import attention_mask, fed_tokens, pack_candidates, row_tensors, rows_per_forward
from evalkit.models.idefics import IdeficsAdapter

# Sorted by tokens: [4], [5 6], [5 6 7], [5 6 8], [5 9] (candidates 3, 4, 0, 1, 2).
CANDIDATES = [[5, 6, 7], [5, 6, 8], [5, 9], [4], [5, 6]]


def test_a_trie_row_feeds_each_needed_prefix_once():
    [row] = pack_candidates(0, CANDIDATES, max_candidates=10)
    # Fed: "5" (read by 5 6, 5 6 7, 5 6 8, 5 9) and "5 6" (read by 5 6 7, 5 6 8); never a last token
    # that nothing follows, never "4" (a one-token candidate is read straight after the prompt).
    assert (row.tokens, row.parents, row.depths) == ([5, 6], [-1, 0], [0, 1])
    assert row.candidates == [3, 4, 0, 1, 2]
    assert row.reads == [[], [0], [0, 1], [0, 1], [0]]
    # 11 tokens in all; one candidate per row without its last token: 2 + 2 + 1 + 0 + 1 = 6; the trie: 2.
    assert fed_tokens(CANDIDATES) == {"candidates": 5, "all_tokens": 11, "without_last": 6, "one_trie": 2,
                                      "packed": 2, "rows": 1}


def test_rows_respect_the_node_and_candidate_limits():
    rows = pack_candidates(0, CANDIDATES, max_candidates=10, max_nodes=1)
    # [4] and [5 6] need node "5"; [5 6 7] would add "5 6" (2 nodes): a new row, which feeds "5" again.
    assert [row.candidates for row in rows] == [[3, 4], [0, 1, 2]]
    assert [row.tokens for row in rows] == [[5], [5, 6]]
    assert [len(row.candidates) for row in pack_candidates(0, CANDIDATES, max_candidates=2)] == [2, 2, 1]
    assert [[len(r.candidates) for r in group] for group in rows_per_forward(rows, 3)] == [[2], [3]]


def test_each_node_sees_its_prompts_real_tokens_its_ancestors_and_itself():
    rows = pack_candidates(0, [[1, 2, 3], [1, 4, 5]], max_candidates=10)
    tensors = row_tensors(rows, pad_id=0, device=torch.device("cpu"))
    assert tensors.input_ids.tolist() == [[1, 2, 4]] and tensors.positions.tolist() == [[0, 1, 1]]
    mask = attention_mask(torch.tensor([[0, 1, 1]]), tensors.ancestry, torch.float32)  # one left pad
    sees = (mask[0, 0] == 0).int().tolist()
    #          pad p1 p2 | "1" "1 2" "1 4"
    assert sees == [[0, 1, 1, 1, 0, 0],
                    [0, 1, 1, 1, 1, 0],
                    [0, 1, 1, 1, 0, 1]]


def test_imagenet_names_share_their_leading_tokens():
    from evalkit.assets import TRAINED_MODEL
    from evalkit.data.classification import imagenet_class_names

    adapter = IdeficsAdapter.from_pretrained(str(TRAINED_MODEL), vision_cache_mb=0)
    names = [f" {name}." for name in dict.fromkeys(imagenet_class_names())]
    counts = fed_tokens(adapter.continuation_ids(["Category: a photo of a"], names))
    assert counts["candidates"] == 998
    assert counts["one_trie"] <= counts["packed"] < counts["without_last"] < counts["all_tokens"]
    assert counts["packed"] < 0.8 * counts["without_last"]  # at least a fifth of the fed tokens shared


@pytest.fixture(scope="module")
def released(released_layout_model) -> IdeficsAdapter:
    return IdeficsAdapter.from_pretrained(str(released_layout_model), vision_cache_mb=64)


@pytest.fixture(scope="module")
def scored_prompts(images) -> list[list]:
    """Prompts of different lengths: two images in a row, one image, none at all."""
    return [
        ["Image:", images[3], images[4], "Category: a photo of a red circle.\nImage:", images[0],
         "Category: a photo of a"],
        ["Image:", images[2], "Category: a photo of a"],
        ["Category: no image here. Category: a photo of a"],
    ]


CHOICES = [[" red circle.", " red", " red square.", " blue square.", " green triangle and more.", " 2."],
           [" yes", " no"],
           [" red circle.", " red circle", " blue"]]


@pytest.fixture(scope="module")
def whole_sequences(released, scored_prompts) -> list[list]:
    return [released.score_full_sequences(prompt, choices) for prompt, choices in zip(scored_prompts, CHOICES)]


@pytest.mark.parametrize("chunk_size", [1, 3, 256])
def test_batched_prompts_score_as_one_whole_sequence_per_candidate(released, scored_prompts, whole_sequences,
                                                                   chunk_size):
    batch = released.prepare(scored_prompts)
    scored = released.score_prepared_batch(batch, scored_prompts, CHOICES, chunk_size=chunk_size)
    for slow, fast in zip(whole_sequences, scored):
        assert [s.num_tokens for s in fast] == [s.num_tokens for s in slow]
        for ours, whole in zip(fast, slow):
            assert ours.total == pytest.approx(whole.total, abs=1e-4)
            assert ours.mean == pytest.approx(whole.total / whole.num_tokens, abs=1e-4)
    assert len({round(s.total, 3) for s in scored[0]}) == len(CHOICES[0])


def test_a_batch_of_small_choice_prompts_takes_two_forwards(released, scored_prompts):
    forwards = []
    hook = released.model.register_forward_pre_hook(lambda module, args: forwards.append(1))
    try:
        released.score_prepared_batch(released.prepare(scored_prompts), scored_prompts, CHOICES)
        together = len(forwards)
        forwards.clear()
        for prompt, choices in zip(scored_prompts, CHOICES):
            released.score_continuations(prompt, choices)
    finally:
        hook.remove()
    assert together == 2  # the three prompts, then every prompt's candidates
    # One at a time: a forward per prompt and one per prompt's candidates, except the yes/no prompt
    # (" yes" and " no" are one token each: read from the prompt's own forward).
    assert [len(ids) for ids in released.continuation_ids(scored_prompts[1], CHOICES[1])] == [1, 1]
    assert len(forwards) == 3 + 2
