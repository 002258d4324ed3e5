"""Properties of the audit over generated case files (issue 6).

Each property is a promise to an adviser: whatever the case, the audit comes
back; it cites only rules the checklist has; the file's event order does not
matter; recording more evidence of a step never counts against that step; a
later audit date never turns a missed deadline back into "not yet due"; and
the JSON always matches the published schema.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.audit import Auditor
from auditor.case import Case
from auditor.checklist import Procedure, load_procedure
from auditor.evaluate import STATUSES
from auditor.load import parse_case
from auditor.output import to_json
from auditor.schema import AUDIT_SCHEMA, SCHEMA_DIR
from tests.strategies import cases

PROCEDURE: Procedure = load_procedure()
AUDITOR = Auditor(PROCEDURE)
RULES = [rule.id for rule in PROCEDURE.rules]
AUDIT_VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((SCHEMA_DIR / AUDIT_SCHEMA).read_text(encoding="utf-8")),
    format_checker=jsonschema.FormatChecker(),
)

PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def load(data: dict[str, Any], as_of: date) -> Case:
    return parse_case(
        data, file="<generated>", locate=lambda loc: None, as_of=as_of, steps=PROCEDURE.steps
    )


def audit_json(data: dict[str, Any], as_of: date) -> dict[str, Any]:
    return AUDITOR.audit(load(data, as_of), as_of=as_of, name="generated").as_json()


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {step["rule"]: step["status"] for step in result["steps"]}


def findings_by_rule(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["rule"]: finding for finding in result["findings"]}


@PROPERTY
@given(cases())
def test_an_audit_never_raises_and_cites_only_checklist_rules(drawn: tuple[dict[str, Any], date]) -> None:
    data, as_of = drawn
    result = audit_json(data, as_of)
    assert [step["rule"] for step in result["steps"]] == RULES
    assert set(statuses(result).values()) <= set(STATUSES)
    for finding in result["findings"]:
        assert finding["rule"] in RULES
        assert statuses(result)[finding["rule"]] == finding["kind"]
        for index in finding["events"]:
            assert 0 <= index < len(data["events"])


def _canonical(data: dict[str, Any], as_of: date) -> dict[str, Any]:
    """The audit with each finding's event indexes replaced by the events themselves.

    Indexes point into the dated order, where same-day events keep file order
    (spec §3); reordering the file may renumber them, and among events of one
    type on one day may cite another of them, so each is compared as its type
    and date.
    """
    case = load(data, as_of)
    dated = [f"{event.type} {event.on}" for event in case.dated_order()]
    result = AUDITOR.audit(case, as_of=as_of, name="generated").as_json()
    for finding in result["findings"]:
        finding["events"] = sorted(dated[i] for i in finding["events"])
    return result


@PROPERTY
@given(cases(), st.randoms(use_true_random=False))
def test_event_order_in_the_file_does_not_change_the_audit(
    drawn: tuple[dict[str, Any], date], random: Any
) -> None:
    data, as_of = drawn
    shuffled = dict(data, events=list(data["events"]))
    random.shuffle(shuffled["events"])
    assert _canonical(shuffled, as_of) == _canonical(data, as_of)


@PROPERTY
@given(cases(), st.integers(min_value=1, max_value=15), st.data())
def test_marking_a_step_done_never_adds_a_finding_for_it(
    drawn: tuple[dict[str, Any], date], step: int, pick: st.DataObject
) -> None:
    data, as_of = drawn
    meetings = [
        i for i, e in enumerate(data["events"])
        if e["type"] == "referral_meeting" and e.get("happened", True)
    ]
    if not meetings:
        data = dict(data, events=[*data["events"], {"on": as_of.isoformat(), "type": "referral_meeting"}])
        meetings = [len(data["events"]) - 1]
    index = pick.draw(st.sampled_from(meetings))
    rule = f"step-{step:02d}"
    before = findings_by_rule(audit_json(data, as_of)).get(rule)

    events = [dict(e) for e in data["events"]]
    events[index]["steps"] = {**events[index].get("steps", {}), step: "done"}
    after = findings_by_rule(audit_json(dict(data, events=events), as_of)).get(rule)

    if before is None:
        assert after is None
    if events[index].get("attended") is not False:
        # A meeting that took place and records the step as done settles it.
        assert after is None


@PROPERTY
@given(cases(), st.integers(min_value=1, max_value=800))
def test_a_later_audit_date_never_turns_late_back_into_pending(
    drawn: tuple[dict[str, Any], date], days_later: int
) -> None:
    data, as_of = drawn
    early = statuses(audit_json(data, as_of))
    late = statuses(audit_json(data, as_of + timedelta(days=days_later)))
    for rule, status in early.items():
        if status == "late":
            assert late[rule] == "late", rule
        if status != "pending":
            assert late[rule] != "pending", rule


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


@PROPERTY
@given(cases())
def test_json_output_is_plain_data_valid_against_the_published_schema(
    drawn: tuple[dict[str, Any], date],
) -> None:
    data, as_of = drawn
    result = audit_json(data, as_of)
    text = to_json(result)
    assert json.loads(text) == result
    assert _plain(result)
    errors = [e.message for e in AUDIT_VALIDATOR.iter_errors(json.loads(text))]
    assert errors == []


@pytest.mark.parametrize("day", ["2017-10-31", "2016-05-01"])
def test_an_event_before_the_programme_began_is_a_warning_not_a_crash(day: str) -> None:
    data = {"events": [{"on": day, "type": "invite_letter"}]}
    result = audit_json(data, date(2018, 7, 1))
    assert result["warnings"] == [
        f"The invite_letter event is dated {day}, before the Work and Health Programme "
        "began (November 2017); check the date, which is audited as written."
    ]
    assert result["steps"][0]["rule"] == "eligibility"


def test_no_warnings_key_when_there_is_nothing_to_warn_about() -> None:
    result = audit_json({"events": [{"on": "2017-11-01", "type": "invite_letter"}]}, date(2018, 1, 1))
    assert "warnings" not in result
