"""Winoground's text, image and group scores (Thrush et al. 2022) over a table of scores.

A prediction is one {caption: score} per image, in the example's image order; the example's
`references[j]` is the caption that matches image j. With s(c, i) the score of caption c with image i
and c0, c1 the matching captions of images 0 and 1:

- text score: each image prefers its own caption: s(c0, 0) > s(c1, 0) and s(c1, 1) > s(c0, 1);
- image score: each caption prefers its own image: s(c0, 0) > s(c0, 1) and s(c1, 1) > s(c1, 0);
- group score: both. Means over examples, x100 (chance: 25, 25, 16.7).

m4 (the IDEFICS card's harness) labels them the other way round in its public code: its "text score"
compares a caption's two images (the official image score) and its "image score" an image's two
captions (the official text score). The aggregate carries m4's labels too (`m4_text_score`,
`m4_image_score`), from the same table, to compare with the card.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Mapping, Sequence

from evalkit.errors import EvalkitError
from evalkit.types import Example

ScoreTable = Sequence[Mapping[str, float]]  # one {caption: score} per image


def example_scores(table: ScoreTable, example: Example) -> tuple[bool, bool, bool]:
    """(text, image, group) for one example, by the official definitions."""
    if len(table) != 2 or len(example.references) != 2:
        raise EvalkitError(f"example {example.id}: expected 2 images x 2 captions")
    c0, c1 = example.references
    text = table[0][c0] > table[0][c1] and table[1][c1] > table[1][c0]
    image = table[0][c0] > table[1][c0] and table[1][c1] > table[0][c1]
    return text, image, text and image


@dataclass(frozen=True)
class WinogroundScores:
    """Group score as the headline (`score`), text and image scores beside it (`components`, shown in
    brackets as the card prints them). `variant` names the scoring the table came from."""

    name: str = "group_text_image"
    variant: str = "official"
    group_by: str = "collapsed_tag"

    def score_all(self, predictions: Sequence[ScoreTable],
                  examples: Sequence[Example]) -> tuple[list[float], dict[str, Any]]:
        if not examples:
            raise EvalkitError("no predictions to score")
        results = [example_scores(table, example) for table, example in zip(predictions, examples)]
        text, image, group = (100 * fmean(float(r[part]) for r in results) for part in range(3))
        by_tag: dict[str, list[float]] = defaultdict(list)
        for (_, _, hit), example in zip(results, examples):
            by_tag[str(example.meta.get(self.group_by, ""))].append(100.0 * hit)
        return [100.0 * r[2] for r in results], {
            "score": group, "count": len(results), "text_score": text, "image_score": image,
            "components": {"text": text, "image": image},
            "m4_text_score": image, "m4_image_score": text, "published_note": self._note(text, image),
            f"group_score_by_{self.group_by}": {tag: fmean(values) for tag, values in sorted(by_tag.items())},
        }

    def _note(self, text: float, image: float) -> str:
        scoring = "" if self.variant == "m4" else "the card used m4's scoring (--metric-variant m4); "
        return (f"{scoring}m4's public code swaps the text and image labels: if the card's were swapped, compare "
                f"its text/image with our image/text ({image:.1f}/{text:.1f})")
