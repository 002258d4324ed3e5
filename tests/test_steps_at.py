"""Step rules are worked out for all the steps of a case at once (`CaseFacts.steps_at`);
each step's outcome must be the one its rule alone would give."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.calendar import WorkingCalendar
from auditor.case import Case
from auditor.checklist import load_procedure
from auditor.evaluate import CaseFacts, _step_at, plain
from auditor.replay import ProcedureMachine

PROCEDURE = load_procedure()
MACHINE = ProcedureMachine(PROCEDURE)
CALENDAR = WorkingCalendar("GB", "ENG")
WORDS = st.sampled_from(["done", "not_done", "unknown"])


def _meeting(day: int, steps: dict[int, str], attended: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"on": f"2019-03-{day:02d}", "type": "referral_meeting",
                             "steps": {str(n): w for n, w in steps.items()}}
    if attended is not None:
        event["attended"] = attended
    return event


@given(
    meetings=st.lists(
        st.tuples(st.dictionaries(st.integers(1, 15), WORDS, max_size=15),
                  st.sampled_from([None, True, False])),
        max_size=3,
    )
)
@settings(max_examples=200, deadline=None)
def test_each_step_is_worked_out_as_its_rule_alone_would(
    meetings: list[tuple[dict[int, str], Any]],
) -> None:
    case = Case.model_validate(
        {"events": [_meeting(day + 4, steps, attended)
                    for day, (steps, attended) in enumerate(meetings)]},
        context={"as_of": date(2025, 1, 1), "steps": PROCEDURE.steps},
    )
    events = case.dated_order()
    facts = CaseFacts(case, events, MACHINE.replay(events), date(2025, 1, 1), PROCEDURE,
                      CALENDAR)
    held = facts.held("referral_meeting")
    outcomes, unrecorded = facts.steps_at("referral_meeting")
    unevidenced = plain("unevidenced", "none", tuple(i for i, _ in held))
    assert unrecorded == unevidenced
    for number in range(1, 17):
        assert outcomes.get(number, unrecorded) == _step_at(number, held, unevidenced)
