"""The caseload parser shares validated events between cases; it must change nothing else.

`CaseloadParser.parse` must give what `parse_case` gives, case for case: an
equal `Case` with the same fields set, or the same located problems.
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from auditor.case import Case, Event
from auditor.caseload import _JSON_READS_IT, _decode_line
from auditor.checklist import load_procedure
from auditor.errors import InputError
from auditor.load import CaseloadParser, parse_case
from auditor.read import parse, read_text, to_plain
from tests.strategies import cases

STEPS = load_procedure().steps
AS_OF = date(2025, 1, 1)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _same(a: object, b: object) -> None:
    """Equal, down to the types and each model's fields set."""
    assert type(a) is type(b)
    if isinstance(a, BaseModel):
        assert isinstance(b, BaseModel)
        assert a.model_fields_set == b.model_fields_set
        for name in type(a).model_fields:
            _same(getattr(a, name), getattr(b, name))
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        assert a == b


def _outcome(load: Any, data: Any) -> Case | list[tuple[str, str, int | None, str | None]]:
    try:
        result: Case = load(data)
    except InputError as exc:
        return [(p.field, p.message, p.line, p.allowed) for p in exc.problems]
    return result


def _both(parser: CaseloadParser, data: Any, as_of: date = AS_OF) -> None:
    fresh = _outcome(
        lambda d: parse_case(d, file="f", locate=lambda loc: 7, as_of=as_of, steps=STEPS), data
    )
    shared = _outcome(lambda d: parser.parse(d, file="f", locate=lambda loc: 7), data)
    _agree(shared, fresh)
    # As a JSONL line gives it, where orjson reads the line: events are then looked up
    # by their text as orjson writes it.
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):
        return
    read = _decode_line(text)
    if read is _JSON_READS_IT:
        return
    fresh = _outcome(
        lambda d: parse_case(d, file="f", locate=lambda loc: 7, as_of=as_of, steps=STEPS),
        json.loads(text),
    )
    shared = _outcome(
        lambda d: parser.parse(d, file="f", locate=lambda loc: 7, json_read=True), read
    )
    _agree(shared, fresh)


def _agree(shared: object, fresh: object) -> None:
    if isinstance(fresh, Case):
        _same(shared, fresh)
        assert isinstance(shared, Case)
        # What pydantic does with the case works the same on the shared parts.
        assert shared.model_dump() == fresh.model_dump()
        assert shared.model_dump_json() == fresh.model_dump_json()
        assert shared.model_copy() == fresh
    else:
        assert shared == fresh


def _example_data() -> list[dict[str, Any]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = to_plain(parse(path, read_text(path))[0])
        out.append(data)
        out.append(json.loads(json.dumps(data)))  # as a JSONL line gives it: step keys as text
    return out


def test_examples_parse_the_same_and_repeated_events_are_not_validated_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    for data in _example_data() * 2:
        _both(parser, data)
    validated = []
    real = Event.model_validate

    def counting(value: Any, **kwargs: Any) -> Event:
        validated.append(value)
        return real(value, **kwargs)

    monkeypatch.setattr(Event, "model_validate", counting)
    data = _example_data()[1]
    parser.parse(data, file="f", locate=lambda loc: 1)
    # Only meetings with steps are validated again; every other event comes from a template.
    assert all("steps" in event for event in validated)
    assert len(validated) < len(data["events"])


@pytest.mark.parametrize(
    ("first", "then"),
    [
        # True == 1 == 1.0, but only true is a yes: a cached event must not answer for 1.
        ({"attended": True}, {"attended": 1}),
        ({"attended": False}, {"attended": 0.0}),
        ({"steps": {"1": True}}, {"steps": {"1": 1}}),
        ({"steps": {"1": "done"}}, {"steps": {"16": "done"}}),
        ({"steps": {"1": "done"}}, {"steps": {" 1": "done", "1": "done"}}),
        ({"steps": {"1": "done"}}, {"steps": {"1": {"status": "done", "note": "yes"}}}),
        ({"steps": {"1": "done"}}, {"steps": {"1": "maybe"}}),
        ({"steps": {"1": "done"}}, {"happened": False, "steps": {"1": "done"}}),
    ],
)
def test_a_cached_event_never_answers_for_a_different_one(
    first: dict[str, Any], then: dict[str, Any]
) -> None:
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    meeting = {"on": "2019-03-04", "type": "referral_meeting"}
    _both(parser, {"events": [meeting | first]})
    _both(parser, {"events": [meeting | first]})
    _both(parser, {"events": [meeting | then]})


def test_steps_given_as_words_are_on_the_right_meeting_only() -> None:
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    data = {"events": [
        {"on": "2019-03-04", "type": "referral_meeting", "steps": {"2": "done", "1": False}},
        {"on": "2019-03-05", "type": "invite_letter", "steps": {"1": "done"}},
    ]}
    _both(parser, data)
    _both(parser, {"events": data["events"][:1]})


def test_a_bad_case_after_good_ones_gives_parse_cases_messages() -> None:
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    good = {"events": [{"on": "2019-03-04", "type": "invite_letter"}]}
    _both(parser, good)
    _both(parser, {"events": [{"on": "2019-03-04", "type": "invite_letter"}, {"on": "x"}]})
    _both(parser, {"events": [{"on": "2019-03-04", "type": "invite_letter"}], "extra": 1})
    _both(parser, {"events": [{"on": "2026-01-01", "type": "invite_letter"}]})
    _both(parser, {"events": "none"})
    _both(parser, ["not", "a", "case"])


@given(drawn=cases(), mangle=st.sampled_from([None, 1, 0, 1.0, "unknown", "x", None]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_case_parses_as_parse_case_parses_it(
    drawn: tuple[dict[str, Any], date], mangle: object
) -> None:
    data, as_of = drawn
    parser = CaseloadParser(as_of=as_of, steps=STEPS)
    as_json = json.loads(json.dumps(data))
    for version in (data, as_json, as_json):  # the last one from the cache
        _both(parser, version, as_of)
    if mangle is not None and as_json["events"]:
        event = dict(as_json["events"][0])
        for key in list(event):
            if key not in ("on", "type"):
                event[key] = mangle
        _both(parser, {**as_json, "events": [event, *as_json["events"][1:]]}, as_of)


@pytest.mark.parametrize(
    "then",
    [
        {"on": "2026-01-01", "type": "provider_contact"},  # after --as-of
        {"on": "2019-02-30", "type": "provider_contact"},
        {"on": " 2019-03-04", "type": "provider_contact"},
        {"on": None, "type": "provider_contact"},
        {"type": "provider_contact"},
        {"type": "provider_contact", "happened": False},
        {"on": "2019-03-04", "type": "provider_contact", "happened": False},
        {"on": "2019-03-04", "type": "provider_contact", "channel": "pigeon"},
        {"on": "2019-03-04", "type": "start_meeting"},
        {"on": "2019-03-05", "type": "provider_contact"},
    ],
)
def test_a_template_and_a_known_date_never_make_a_different_event(then: dict[str, Any]) -> None:
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    for known in ({"on": "2019-03-04", "type": "provider_contact"},
                  {"on": "2019-03-05", "type": "referral_letter"},
                  {"type": "provider_contact", "happened": False}):
        _both(parser, {"events": [known]})
    _both(parser, {"events": [then]})
    _both(parser, {"events": [then]})


def test_the_caches_keep_no_long_texts() -> None:
    # Counted in entries, the caches could still hold a case's worth of text per entry.
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    for n in range(20):
        data = {"events": [
            {"on": "2019-03-04", "type": "provider_contact", "note": f"{n} " + "x" * 1000},
            {"on": " " * 50 + f"2019-03-{n + 1:02d}", "type": "referral_letter"},
        ]}
        _both(parser, data)
    assert all(len(on) == 10 for on in parser._dates)
    assert not any("x" * 100 in repr(key) for key in parser._templates)
    assert not any("x" * 100 in repr(key) for key in parser._events)


def test_whole_events_are_shared_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CaseloadParser, "EVENTS", 3)
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    contact = {"on": "2019-03-04", "type": "provider_contact", "channel": "phone"}
    first = parser.parse({"events": [contact]}, file="f", locate=lambda loc: 1)
    # The same event again (the first time it was made from its parts) is the same object:
    # an implementation detail, asserted so that the cache is known to be used.
    parser.parse({"events": [contact]}, file="f", locate=lambda loc: 1)
    again = parser.parse({"events": [dict(contact)]}, file="f", locate=lambda loc: 1)
    assert again.events[0] is parser._events[next(iter(parser._events))]
    assert again.events[0] == first.events[0]
    for day in range(5, 20):
        for _ in range(2):  # a new date is validated in full first, then known
            _both(parser, {"events": [contact | {"on": f"2019-03-{day:02d}"}]})
    assert len(parser._events) == 3


def test_events_read_from_json_are_kept_whole_by_their_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CaseloadParser, "EVENTS", 3)
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    meeting = {"on": "2019-03-04", "type": "referral_meeting", "attended": True,
               "steps": {"1": "done", "2": "not_done"}}

    def parsed(*events: dict[str, Any]) -> Case:
        line = json.dumps({"events": list(events)})
        data = _decode_line(line)
        assert data is not _JSON_READS_IT
        return parser.parse(data, file="f", locate=lambda loc: 1, json_read=True)

    first = parsed(meeting)
    # A meeting with its steps is kept whole too, and shared (an implementation detail,
    # asserted so that the cache is known to be used).
    assert parsed(meeting).events[0] is first.events[0]
    assert json.dumps(meeting, separators=(",", ":")).encode() in parser._events
    # The same values of other types, or another step's answer, are other events.
    with pytest.raises(InputError, match="attended: must be true, false or unknown"):
        parsed(meeting | {"attended": 1})  # true == 1, yet only true is a yes
    other = parsed(meeting | {"steps": {"1": "done", "2": "done"}}).events[0]
    assert other.steps[2].status == "done" and first.events[0].steps[2].status == "not_done"
    for day in range(5, 20):
        parsed(meeting | {"on": f"2019-03-{day:02d}"})
    assert len(parser._events) == 3
    # A long event (a note of a case's own) is never kept.
    parsed({"on": "2019-03-04", "type": "provider_contact", "note": "x" * 600})
    assert not any(b"x" * 100 in key for key in parser._events if isinstance(key, bytes))


def test_a_kept_event_costs_its_size_not_the_buffer_it_was_written_into() -> None:
    parser = CaseloadParser(as_of=AS_OF, steps=STEPS)
    lines = [
        json.dumps({"events": [{"on": f"2019-{month:02d}-{day:02d}", "type": "provider_contact",
                                "channel": "phone"}]})
        for month in range(1, 13) for day in range(1, 29)
    ]
    for line in lines[:2]:  # the template and the first dates
        parser.parse(_decode_line(line), file="f", locate=lambda loc: 1, json_read=True)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = len(parser._events)
        for line in lines[2:]:
            parser.parse(_decode_line(line), file="f", locate=lambda loc: 1, json_read=True)
        grown = tracemalloc.get_traced_memory()[0] - before
        kept = len(parser._events) - kept
    finally:
        tracemalloc.stop()
    assert kept == len(lines) - 2
    # About 1 KiB an event with its date and key; orjson writes each text into 4 KiB.
    assert grown / kept < 2048
