"""Loading a case file: read, parse, validate, and say exactly what is wrong.

``load_case`` is the only way a case enters the auditor. Its errors are
`InputError`s naming the file, the line (YAML, and JSON where it can be
located), the field and what is allowed (spec §2).
"""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.case import EVENT_FIELDS, Case, Claimant, StepRecord, validation_context
from auditor.errors import InputError, Problem
from auditor.read import Locator, parse, read_text, to_plain

_TOP_FIELDS = ", ".join(Case.model_fields)


def _field_name(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            text += " (key)"
        elif isinstance(part, int) and text == "events":
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _allowed_keys(loc: tuple[int | str, ...], data: Any) -> str | None:
    parent = loc[:-1]
    if not parent:
        return _TOP_FIELDS
    if parent == ("claimant",):
        return ", ".join(Claimant.model_fields)
    if len(parent) == 2 and parent[0] == "events":
        event_type = None
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            event_type = data["events"][parent[1]].get("type")
        extra = EVENT_FIELDS.get(event_type or "", ())
        return ", ".join(("on", "type", "note", "happened", *extra))
    if len(parent) == 4 and parent[2] == "steps":
        return ", ".join(StepRecord.model_fields)
    return None


def _problem(error: Any, data: Any, locate: Locator) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    allowed = None
    if kind == "extra_forbidden":
        message = "is not a field here; a misspelt field would silently drop evidence"
        allowed = _allowed_keys(loc, data)
    elif kind == "missing":
        message = "is required"
        if loc == ("events",):
            message += " (it may be empty: events: [])"
    elif kind in ("bool_type", "bool_parsing"):
        message = (
            "must be true or false" if loc and loc[-1] == "happened"
            else "must be true, false or unknown"
        )
    elif kind == "model_type" and not loc:
        message = "the top level must be a mapping of fields, such as 'events:'"
    elif kind in ("string_type",):
        message = "must be text (put it in quotes)"
    elif kind == "int_parsing" and "steps" in loc:
        message = "a step is named by its number"
    line_loc = loc[:-1] if loc and loc[-1] == "[key]" else loc
    return Problem(field=_field_name(loc), message=message, line=locate(line_loc), allowed=allowed)


def parse_case(
    data: Any,
    *,
    file: str,
    locate: Locator,
    as_of: date | None,
    steps: set[int] | None,
) -> Case:
    """Validate already-parsed data as a case, raising a located `InputError`."""
    try:
        return Case.model_validate(data, context=validation_context(as_of=as_of, steps=steps))
    except ValidationError as exc:
        problems = [_problem(error, data, locate) for error in exc.errors()]
        raise InputError(file, problems) from None


def load_case(path: Path, *, as_of: date | None, steps: set[int] | None = None) -> Case:
    """Read and validate the case file at ``path``; the file is only read, never written."""
    data, locate = parse(path, read_text(path))
    return parse_case(to_plain(data), file=str(path), locate=locate, as_of=as_of, steps=steps)


def case_name(path: Path, case: Case) -> str:
    """The case's id: its own ``case`` field, else the file's stem (spec §1)."""
    return case.case or path.stem
