"""One error type for everything a user can get wrong, printed as a single line."""

from __future__ import annotations

from pathlib import Path


class EvalkitError(Exception):
    """A problem with the user's input: names the file (or option) and the field when known."""

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None):
        self.path = str(path) if path is not None else None
        self.field = field
        self.detail = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}"
            if self.field:
                where += f" [{self.field}]"
            where += ": "
        elif self.field:
            where = f"{self.field}: "
        return (where + self.detail).replace("\n", " ")
