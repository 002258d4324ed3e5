"""Errors the user can act on.

An `InputError` is bad input: the command line reports it with exit status 2
and never a traceback (spec §2). Its text names the file, the line where
known, the field, and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what would be right."""

    field: str
    message: str
    line: int | None = None
    allowed: str | None = None
    file: str | None = None
    """The file the problem is in, when not the one its `InputError` names (a batch
    case read from two CSV files: a claimant fact's problem is in the claimants file)."""
    given: str | None = None
    """The text the input gave for the field, where the message may quote it (so that
    ``--redact`` can withhold it: a spreadsheet's shifted column puts a name anywhere)."""
    withheld: str | None = None
    """The message without the values it quotes, for ``--redact`` (None: it quotes none,
    or no such wording is known and the whole message is withheld for a personal field)."""

    def describe(self, file: str) -> str:
        file = self.file or file
        where = f"{file}:{self.line}" if self.line else file
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class InputError(Exception):
    """The input cannot be audited. `str()` is the message for the user."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(p.describe(file) for p in problems))

    @classmethod
    def single(
        cls,
        file: str,
        message: str,
        *,
        field: str = "",
        line: int | None = None,
        allowed: str | None = None,
    ) -> InputError:
        return cls(file, [Problem(field=field, message=message, line=line, allowed=allowed)])


class ChecklistError(Exception):
    """A procedure file is malformed; raised on load, before any case is read."""
