"""The key/value cache, handed to a model's forward the same way on every transformers release.

evalkit makes the cache object itself and passes it in; the forward fills it in place (the `Cache`
contract), so nothing is read back from the model's output, whose field for it was renamed in 5.24
(`past_key_values` -> `cache`). The keyword it goes in under is read from the forward's signature:
`past_key_values` until 5.23, `cache` from 5.24 (where the old name is deprecated until 5.40).
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from evalkit.errors import EvalkitError

CACHE_KEYWORDS = ("cache", "past_key_values")  # newest first


@lru_cache(maxsize=None)
def _keyword_of(forward_owner: type) -> str:
    parameters = inspect.signature(forward_owner.forward).parameters
    for keyword in CACHE_KEYWORDS:
        if keyword in parameters:
            return keyword
    raise EvalkitError(f"{forward_owner.__name__}.forward takes none of {', '.join(CACHE_KEYWORDS)}: this "
                       "transformers release passes the key/value cache in a way evalkit does not know")


def cache_keyword(model: Any) -> str:
    """The forward's keyword for the key/value cache."""
    return _keyword_of(type(model))


def new_cache(model: Any) -> Any:
    """An empty cache of the kind the model's own generation makes (layer types from its config),
    growing as the forward appends each layer's keys and values."""
    from transformers import DynamicCache

    return DynamicCache(config=model.config)


def with_cache(model: Any, cache: Any) -> dict[str, Any]:
    """Keyword arguments that give `model`'s forward `cache` to read and fill."""
    return {cache_keyword(model): cache, "use_cache": True}


def repeated_cache(model: Any, cache: Any, size: int) -> Any:
    """A one-prompt cache repeated `size` times, one row per candidate continuation (the new cache
    copies the rows as it stores them)."""
    from transformers import DynamicCache

    return DynamicCache([(layer.keys.expand(size, -1, -1, -1), layer.values.expand(size, -1, -1, -1))
                         for layer in cache.layers], config=model.config)


def selected_cache(model: Any, cache: Any, rows: Any) -> Any:
    """A cache whose row i is row `rows[i]` of `cache` (a tensor of row indices): one per trie row
    of candidates, each on its own prompt's keys/values. `cache` itself is left as it is."""
    from transformers import DynamicCache

    return DynamicCache([(layer.keys.index_select(0, rows), layer.values.index_select(0, rows))
                         for layer in cache.layers], config=model.config)
