"""Shot selection depends on the seed and the query alone."""

from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.shots.random_shots import RandomShots, draw_support
from evalkit.types import Example, FileImage


def pool(n: int) -> list[Example]:
    return [Example(i, FileImage(Path(f"{i}.jpg")), {"question": "q"}, ["a"]) for i in range(n)]


def test_support_set_is_drawn_once_from_the_seed():
    train = pool(500)
    first, again, other = draw_support(train, 64, 42), draw_support(train, 64, 42), draw_support(train, 64, 43)
    assert [e.id for e in first] == [e.id for e in again]
    assert [e.id for e in first] != [e.id for e in other]
    assert len({e.id for e in first}) == 64


def test_small_pool_is_used_whole():
    assert len(draw_support(pool(10), 2048, 1)) == 10


def test_demos_depend_only_on_seed_and_query():
    support = draw_support(pool(300), 100, 7)
    queries = pool(20)
    forward = [[d.id for d in RandomShots(support, 7).select(q, 4)] for q in queries]
    backward = [[d.id for d in RandomShots(support, 7).select(q, 4)] for q in reversed(queries)][::-1]
    assert forward == backward
    other_seed = [[d.id for d in RandomShots(support, 8).select(q, 4)] for q in queries]
    assert forward != other_seed
    assert all(len(set(ids)) == 4 for ids in forward)
    assert len({tuple(ids) for ids in forward}) > 1  # each query gets its own demos


def test_too_many_shots_is_a_clear_error():
    with pytest.raises(EvalkitError, match="support set holds only 3"):
        RandomShots(pool(3), 0).select(pool(1)[0], 8)


def test_empty_support_is_a_clear_error():
    with pytest.raises(EvalkitError, match="empty"):
        draw_support([], 10, 0)
