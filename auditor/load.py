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

import orjson
from pydantic import ValidationError

from auditor.case import EVENT_FIELDS, Case, Claimant, Event, StepRecord, validation_context
from auditor.errors import InputError, Problem
from auditor.read import Locator, parse, printable, read_text, to_plain

_TOP_FIELDS = ", ".join(Case.model_fields)

PROGRAMME_BEGAN = date(2017, 11, 1)
"""The Work and Health Programme began in November 2017 (SI 2017/1020, from 20 November).

An event dated earlier is almost certainly a mistyped year; it is audited as
written, with a warning, because refusing it would stop an adviser working.
"""


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


MUST_BE_YES_NO = "must be true or false"
MUST_BE_YES_NO_UNKNOWN = "must be true, false or unknown"


def _mapping_wanted(loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    """What to say, and what is allowed, where a mapping was wanted and something else given."""
    if loc == ("claimant",):
        return ("must be the claimant's facts, one 'name: value' per line (leave 'claimant:' "
                "out when none are known)", ", ".join(Claimant.model_fields))
    if len(loc) == 2 and loc[0] == "events":
        return ("each event must be a mapping of its fields, such as "
                "'{on: 2018-04-16, type: invite_letter}'", None)
    if loc[-1:] == ("steps",):
        return ("must give each step's number with done, not_done or unknown, one per line, "
                "such as '3: done'", None)
    return "must be a mapping of fields ('name: value')", None


def _given_at(data: Any, loc: tuple[int | str, ...]) -> Any:
    """What the input holds at ``loc`` (a step's number may be text or a number there)."""
    for part in loc:
        if isinstance(data, dict):
            data = next((value for key, value in data.items() if str(key) == str(part)), None)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


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
            MUST_BE_YES_NO if loc and loc[-1] == "happened" else MUST_BE_YES_NO_UNKNOWN
        )
    elif kind == "model_type" and not loc:
        message = "the top level must be a mapping of fields, such as 'events:'"
    elif kind == "list_type":
        message = (
            "must be a list of events, one '- ' item per event (or [] when there are none)"
            if loc == ("events",) else "must be a list"
        )
    elif kind in ("dict_type", "model_type"):
        message, allowed = _mapping_wanted(loc)
    elif kind == "literal_error" and loc[-1:] == ("status",) and "steps" in loc and not (
        isinstance(_given_at(data, loc[:-1]), dict)
    ):
        # A plain word given for a step: pydantic names the record's `status`, which the
        # user never wrote; the step itself is the field.
        loc = loc[:-1]
        message = "a step is done, not_done or unknown (or true, false), or {status: ..., note: ...}"
        allowed = "done, not_done, unknown"
    elif kind in ("string_type",):
        message = "must be text (put it in quotes)"
    elif kind == "int_parsing" and "steps" in loc:
        message = "a step is named by its number"
    line_loc = loc[:-1] if loc and loc[-1] == "[key]" else loc
    given = error.get("input")
    return Problem(field=_field_name(loc), message=message, line=locate(line_loc), allowed=allowed,
                   given=given if isinstance(given, str) else None)


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


_STEP_WORDS: dict[tuple[type, object], StepRecord] = {
    (type(word), word): StepRecord.model_validate(word)
    for word in ("done", "not_done", "unknown", True, False, None)
}
"""A step's plain word, and its type (True == 1), to its record: frozen, so shared."""
_PLAIN = frozenset({str, bool, type(None)})


_ABSENT = object()
_STEPS = frozenset({"steps"})


def _template_key(given: dict[str, Any]) -> tuple[Any, ...] | None:
    """An event mapping's fields and values but its date, with the types of all its values
    (True == 1 == 1.0, and only the first is a valid yes). None when it cannot be told
    cheaply; the event is then validated in full."""
    items = tuple(given.items())
    if items and items[0][0] == "on":  # as writers put it, first
        return (items[1:], tuple(map(type, given.values())), False)
    if "on" not in given:
        return (items, tuple(map(type, given.values())), True)
    return None


def _copy(event: Event, name: str, value: Any, fields_set: set[str]) -> Event:
    """``event`` with the field ``name`` set to an already validated ``value``."""
    copy: Event = Event.__new__(Event)
    # What pydantic's own copy sets: the values, the fields given, no extras.
    object.__setattr__(copy, "__dict__", {**event.__dict__, name: value})
    object.__setattr__(copy, "__pydantic_fields_set__", fields_set)
    object.__setattr__(copy, "__pydantic_extra__", None)
    object.__setattr__(copy, "__pydantic_private__", None)
    return copy


class CaseloadParser:
    """`parse_case` for the many cases of a caseload, all in one context (as_of, steps).

    An `Event` is immutable, and a pure function of its mapping and the
    context. Across a caseload the same mapping, but for its date, comes again
    and again (a provider's contact by a given channel), and so does each date.
    So an event is made from a *template* (the first event validated with the
    same fields and values but its date, of the same types) and a date text
    already validated in this context; anything else is validated in full.
    Both caches are bounded. A meeting with steps is validated each time
    (its steps from shared records, see `_event`).

    Results and messages are `parse_case`'s: a case with any error is
    validated afresh by `parse_case`, on its original data.

    The same event on the same day is kept whole (`EVENTS` of them) and shared
    between cases, and within one: events are immutable, and nothing may
    change one (nor its ``steps``) after it is made. Read from JSON (see
    `parse`), an event is kept by its text, meetings with steps included.
    """

    TEMPLATES = 4096
    """Event templates kept (a caseload has a few hundred)."""
    DATES = 65_536
    """Validated date texts kept (a caseload spans a few thousand days)."""
    EVENTS = 32_768
    """Events kept whole, date and all (a caseload's events repeat: the same contact
    on the same day)."""
    LONGEST = 64
    """The longest text an event kept as a template may hold (type, channel, a short note)."""
    LONGEST_EVENT = 512
    """The longest event, as orjson writes it, kept whole when looked up by its text."""

    def __init__(self, *, as_of: date | None, steps: set[int] | None) -> None:
        self.as_of = as_of
        self.steps = steps
        self._context = validation_context(as_of=as_of, steps=steps)
        self._templates: dict[tuple[Any, ...], Event] = {}
        self._dates: dict[str, date] = {}
        self._events: dict[Any, Event] = {}
        """Keyed by an event's fields and their types, or by its text as orjson writes it."""
        self._step_numbers = {str(n): n for n in steps or ()}

    def parse(self, data: Any, *, file: str, locate: Locator, json_read: bool = False) -> Case:
        """``data`` as a `Case`, or a located `InputError` exactly as `parse_case` gives.

        ``json_read``: ``data`` is as orjson reads a JSON text (dicts, lists, text,
        64-bit integers, finite floats, true, false, null), so that orjson writes each
        of its events back as a text that differs whenever the event's values or their
        types do (true, 1 and 1.0 included). Each event is then looked up whole by that
        text, which is faster than by its fields, and a meeting with its steps can be.
        """
        raw = data.get("events") if type(data) is dict else None
        if type(raw) is not list:
            return self._afresh(data, file=file, locate=locate)
        events: list[Event] = []
        for given in raw:
            if type(given) is not dict:
                return self._afresh(data, file=file, locate=locate)
            try:
                event: Event | None = (
                    self._by_text(given) if json_read else self._from_template(given)
                )
                if event is None:
                    event = self._event(given)
            except ValidationError:
                return self._afresh(data, file=file, locate=locate)
            events.append(event)
        try:
            # The case without its events: they are validated above, one by one, as
            # `Case` would validate them (Case has no check across its events).
            case = Case.model_validate({**data, "events": []}, context=self._context)
        except ValidationError:
            return self._afresh(data, file=file, locate=locate)
        case.__dict__["events"] = events
        return case

    def _by_text(self, given: dict[str, Any]) -> Event:
        """The event, kept whole by its text as orjson writes it (see `parse`)."""
        try:
            text: bytes | None = orjson.dumps(given)
        except orjson.JSONEncodeError:
            text = None
        event = self._events.get(text)
        if event is None:
            event = self._from_template_and_date(given)
            if event is None:
                event = self._event(given)
            if (text is not None and len(text) <= self.LONGEST_EVENT
                    and len(self._events) < self.EVENTS):
                # A copy: orjson's own text keeps the 4 KiB it was written into.
                self._events[bytes(memoryview(text))] = event
        return event

    def _from_template(self, given: dict[str, Any]) -> Event | None:
        """The event from a template and a known date, or None if there are none such."""
        whole = (tuple(given.items()), tuple(map(type, given.values())))
        try:
            known = self._events.get(whole)
        except TypeError:  # an unhashable value (a meeting's steps)
            return None
        if known is not None:
            return known
        event = self._from_template_and_date(given)
        if event is not None and len(self._events) < self.EVENTS:
            self._events[whole] = event
        return event

    def _from_template_and_date(self, given: dict[str, Any]) -> Event | None:
        key = _template_key(given)
        if key is None:
            return None
        on = given.get("on", _ABSENT)
        day = self._dates.get(on) if type(on) is str else None
        if day is None and on is not _ABSENT:
            return None
        try:
            template = self._templates.get(key)
        except TypeError:  # an unhashable value (a meeting's steps)
            return None
        if template is None or day is None:
            return template
        return _copy(template, "on", day, template.__pydantic_fields_set__)

    def _learn(self, given: dict[str, Any], event: Event) -> None:
        """Remember a validated event as a template, and its date text as valid."""
        on = given.get("on", _ABSENT)
        if on is not _ABSENT and (type(on) is not str or event.on is None):
            return
        # Bounded in bytes as well as in number: only plain date texts, and only events
        # whose texts are short (a note is the case's own; a long one would be kept whole).
        if (type(on) is str and len(on) == 10 and event.on is not None
                and len(self._dates) < self.DATES):
            self._dates[on] = event.on
        if any(type(v) is str and len(v) > self.LONGEST for v in given.values()):
            return
        key = _template_key(given)
        if key is None:
            return
        try:
            hash(key)
        except TypeError:
            return
        if len(self._templates) < self.TEMPLATES:
            self._templates.setdefault(key, event)

    def _event(self, given: dict[str, Any]) -> Event:
        steps = given.get("steps")
        if type(steps) is not dict or not steps:
            event = Event.model_validate(given, context=self._context)
            self._learn(given, event)
            return event
        # A meeting's steps, each a plain word, are built from shared records: validating
        # fifteen `StepRecord`s costs more than the rest of the case. Anything else (a
        # step with a note, a number the procedure lacks) is left to `Event`.
        records = {}
        for number, word in steps.items():
            known = self._step_numbers.get(number)
            record = _STEP_WORDS.get((type(word), word)) if type(word) in _PLAIN else None
            if known is None or record is None:
                return Event.model_validate(given, context=self._context)
            records[known] = record
        # The meeting but its steps comes from a template like any other event, and the
        # steps are set on a copy of it: what `Event` would make of them, where they belong
        # (an event of a type with steps, that happened). Elsewhere `Event` says why not.
        bare = {key: value for key, value in given.items() if key != "steps"}
        base = self._from_template(bare)
        if base is None:
            base = Event.model_validate(bare, context=self._context)
            self._learn(bare, base)
        if not base.happened or "steps" not in EVENT_FIELDS[base.type]:
            return Event.model_validate(given, context=self._context)
        return _copy(base, "steps", records, base.__pydantic_fields_set__ | _STEPS)

    def _afresh(self, data: Any, *, file: str, locate: Locator) -> Case:
        return parse_case(data, file=file, locate=locate, as_of=self.as_of, steps=self.steps)


def _printable_error(exc: InputError) -> InputError:
    return InputError(
        printable(exc.file),
        [
            Problem(
                field=printable(p.field),
                message=printable(p.message),
                line=p.line,
                allowed=printable(p.allowed) if p.allowed is not None else None,
                file=printable(p.file) if p.file is not None else None,
            )
            for p in exc.problems
        ],
    )


def load_case(path: Path, *, as_of: date | None, steps: set[int] | None = None) -> Case:
    """Read and validate the case file at ``path``; the file is only read, never written.

    Raises `InputError`, every part of whose message is printable text.
    """
    try:
        data, locate = parse(path, read_text(path))
        return parse_case(to_plain(data), file=str(path), locate=locate, as_of=as_of, steps=steps)
    except InputError as exc:
        raise _printable_error(exc) from None


def case_name(path: Path, case: Case) -> str:
    """The case's id: its own ``case`` field, else the file's stem (spec §1)."""
    return case.case or path.stem


def case_warnings(events: list[Event]) -> tuple[str, ...]:
    """Plain-sentence doubts about a valid case, for the audit's ``warnings`` list.

    ``events`` are in dated order (`Case.dated_order`: earliest first, undated last).
    """
    if not events or events[0].on is None or events[0].on >= PROGRAMME_BEGAN:
        return ()  # the earliest is in the programme's time, so all are
    warnings = []
    for event in events:
        if event.on is not None and event.on < PROGRAMME_BEGAN:
            warnings.append(
                f"The {event.type} event is dated {event.on.isoformat()}, before the Work and "
                "Health Programme began (November 2017); check the date, which is audited "
                "as written."
            )
    # Sorted, so that the order of same-day events in the file cannot change the audit.
    return tuple(sorted(warnings))
