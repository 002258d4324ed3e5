"""Hypothesis strategies for valid case files, as the plain data a parsed file gives.

Shared by the property tests and the fuzz script (fuzz/fuzz_cases.py). Every
value drawn here must be accepted by `auditor.case.Case`; the property tests
fail loudly if it is not, so the strategies cannot quietly drift from spec §1.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from auditor.case import EVENT_FIELDS, EVENT_TYPES

FIRST_DAY = date(2017, 6, 1)
"""Earlier than the programme began (November 2017), so warnings are exercised too."""
LAST_DAY = date(2024, 12, 31)

CHANNELS = ("letter", "email", "phone", "text", "in_person")
STEP_WORDS = ("done", "not_done", "unknown")

tri = st.sampled_from([True, False, "unknown", None])
notes = st.text(max_size=40)


def _iso(day: date) -> str:
    return day.isoformat()


@st.composite
def claimants(draw: st.DrawFn) -> dict[str, Any]:
    """A claimant mapping; every field optional, ``esa_group`` only with ``benefit: esa``."""
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["name"] = draw(notes)
    if draw(st.booleans()):
        out["nino"] = draw(st.sampled_from(["QQ123456C", "qq 12 34 56 c", "AB000000D"]))
    benefit = draw(st.sampled_from([None, "jsa", "esa", "uc", "none"]))
    if benefit is not None:
        out["benefit"] = benefit
        if benefit == "esa" and draw(st.booleans()):
            out["esa_group"] = draw(st.sampled_from(["assessment", "wrag", "support"]))
    for fact in ("appealing_support_group", "mandatory"):
        if draw(st.booleans()):
            out[fact] = draw(tri)
    if draw(st.booleans()):
        out["whp_group"] = draw(st.sampled_from(["disability", "early_access", "ltu"]))
    if draw(st.booleans()):
        out["preferred_contact"] = draw(st.sampled_from(CHANNELS))
    return out


step_values = st.sampled_from([*STEP_WORDS, True, False, None])
steps = st.dictionaries(
    st.integers(min_value=1, max_value=15),
    st.one_of(
        step_values,
        st.builds(
            lambda s, n: {"status": s, "note": n},
            st.sampled_from([*STEP_WORDS, True, False]),
            notes,
        ),
    ),
    max_size=6,
)


@st.composite
def events(draw: st.DrawFn, *, first_day: date, last_day: date) -> dict[str, Any]:
    """One event of any type, dated between ``first_day`` and ``last_day``."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    on = draw(st.dates(min_value=first_day, max_value=last_day))
    out: dict[str, Any] = {"type": kind}
    if draw(st.integers(0, 5)) == 0:
        out["happened"] = False
        if draw(st.booleans()):
            out["on"] = _iso(on)
    else:
        out["on"] = _iso(on)
        for field in EVENT_FIELDS[kind]:
            if not draw(st.booleans()):
                continue
            if field == "channel":
                out[field] = draw(st.sampled_from(CHANNELS))
            elif field == "steps":
                out[field] = draw(steps)
            else:
                out[field] = draw(tri)
    if draw(st.integers(0, 3)) == 0:
        out["note"] = draw(notes)
    return out


@st.composite
def cases(draw: st.DrawFn, *, max_events: int = 10) -> tuple[dict[str, Any], date]:
    """A valid case file's data and an audit date on or after every event in it."""
    as_of = draw(st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))
    # Keep most events near each other, so that deadlines are met, late and pending.
    start = draw(st.dates(min_value=FIRST_DAY, max_value=as_of))
    last_day = min(as_of, start + timedelta(days=draw(st.sampled_from([14, 60, 400]))))
    case: dict[str, Any] = {
        "events": draw(st.lists(events(first_day=start, last_day=last_day), max_size=max_events)),
    }
    if draw(st.booleans()):
        case["claimant"] = draw(claimants())
    if draw(st.booleans()):
        case["recorded_by"] = draw(st.sampled_from(["claimant", "adviser", "Welfare rights"]))
    if draw(st.booleans()):
        case["case"] = draw(st.from_regex(r"[A-Z]{2}-[0-9]{4}", fullmatch=True))
    return case, as_of
