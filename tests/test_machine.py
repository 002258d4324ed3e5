"""The replay machine: built once per procedure, cases attached and detached, deviations kept."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from auditor.audit import Auditor
from auditor.checklist import load_procedure
from auditor.load import parse_case


def case(*events: dict):
    return parse_case(
        {"events": list(events)}, file="t", locate=lambda loc: None, as_of=None, steps=None
    )


def test_one_machine_serves_every_case(auditor: Auditor) -> None:
    machine = auditor.machine.machine
    for _ in range(3):
        auditor.audit(case({"on": "2019-03-04", "type": "invite_letter"}), as_of=date(2019, 6, 1))
    assert auditor.machine.machine is machine
    assert machine.models == []  # every case detached after its replay


def test_no_automatic_transitions(auditor: Auditor) -> None:
    assert auditor.machine.machine.auto_transitions is False
    assert auditor.machine.machine.ignore_invalid_triggers is not True


def test_the_path_follows_the_milestones_reached(auditor: Auditor) -> None:
    replay = auditor.machine.replay(
        case(
            {"on": "2019-03-01", "type": "invite_letter"},
            {"on": "2019-03-08", "type": "referral_meeting"},
            {"on": "2019-03-08", "type": "referral_letter"},
        ).dated_order()
    )
    assert replay.path == ["invited", "interviewed", "referred"]
    assert replay.state == "referred"
    assert replay.breaches == []


def test_a_deviation_is_recorded_not_swallowed(auditor: Auditor) -> None:
    events = case(
        {"on": "2019-03-06", "type": "referral_letter"},
        {"on": "2019-03-08", "type": "referral_meeting"},
    ).dated_order()
    replay = auditor.machine.replay(events)
    assert [(b.early, b.late) for b in replay.breaches] == [("referral_letter", "referral_meeting")]


def test_a_milestone_never_reached_is_a_gap_not_an_order_breach(auditor: Auditor) -> None:
    replay = auditor.machine.replay(case({"on": "2019-03-06", "type": "referral_letter"}).dated_order())
    assert replay.breaches == []
    assert replay.pending  # the deviation was seen ...
    assert replay.path == ["referred"]  # ... and the case still moved on


def test_events_that_did_not_take_place_are_not_replayed(auditor: Auditor) -> None:
    replay = auditor.machine.replay(
        case(
            {"on": "2019-03-04", "type": "referral_meeting", "attended": False},
            {"type": "invite_letter", "happened": False},
        ).dated_order()
    )
    assert replay.path == []


def test_a_same_day_last_event_follows_when_an_event_stands_for_two_milestones(
    tmp_path: Path,
) -> None:
    # The checklist may give one event type two milestones; `same_day: last` must still
    # put the invitation after a meeting on its day.
    small = (Path(__file__).parent / "checklists" / "small.yaml").read_text(encoding="utf-8")
    again = "  - {state: met_again, event: referral_meeting, label: Met again}\n"
    marker = "  - {state: referred, event: referral_letter, label: Letter sent}\n"
    assert marker in small
    checklist = tmp_path / "twice.yaml"
    checklist.write_text(small.replace(marker, marker + again), encoding="utf-8")
    machine = Auditor(load_procedure(checklist)).machine
    replay = machine.replay(
        case(
            {"on": "2019-03-01", "type": "invite_letter"},
            {"on": "2019-03-01", "type": "referral_meeting"},
        ).dated_order()
    )
    assert replay.path == ["interviewed", "invited"]
