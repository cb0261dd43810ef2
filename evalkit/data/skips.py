"""Records a user chose to leave out (`--skip-unpaired`): counted, listed, and kept in results.json.

Without that choice each would-be skip is the one-line error it stands for: a run never drops
data silently.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from evalkit.errors import EvalkitError

SHOWN_IDS = 5
FLAG = "--skip-unpaired"


@dataclass
class Skips:
    allowed: bool = False
    entries: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, error: EvalkitError, ids: Sequence[Any]) -> None:
        """Leave out `ids` for the reason `error` gives, or raise `error` when skipping was not asked for."""
        if not self.allowed:
            raise EvalkitError(f"{error.detail} (pass {FLAG} to leave them out)", path=error.path, field=error.field)
        self.entries.append({"file": error.path, "reason": error.detail, "count": len(ids), "ids": list(ids)})
        shown = ", ".join(map(str, ids[:SHOWN_IDS])) + (", ..." if len(ids) > SHOWN_IDS else "")
        print(f"evalkit: skipped {len(ids)} in {error.path}: {error.detail} (ids {shown}; all listed in "
              "results.json)", file=sys.stderr)
