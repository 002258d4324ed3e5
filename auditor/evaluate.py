"""Each rule's status for one case, from the case's events, the replay and the dates.

One function per kind of check (spec §4). They return an `Outcome`; nothing
here knows which procedure it is checking: event types, fields, steps,
deadlines and periods all come from the `Rule`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache

from auditor.calendar import Unit, WorkingCalendar
from auditor.case import Case, Event
from auditor.checklist import Citation, Condition, Period, Procedure, Rule
from auditor.replay import Replay

STATUSES = (
    "done", "met", "missed", "unevidenced", "out_of_order", "late", "pending",
    "ineligible", "content", "not_applicable",
)
HOLDS = frozenset({"done", "met", "not_applicable"})


@lru_cache(maxsize=65536)
def spoken_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@lru_cache(maxsize=65536)
def _days_between(calendar: WorkingCalendar, start: date, end: date, unit: Unit) -> int:
    # Cached because a caseload asks the same few thousand spans again and again.
    return calendar.days_between(start, end, unit)


def spoken_word(value: object) -> str:
    return str(value).replace("_", " ")


@dataclass(frozen=True)
class Outcome:
    """A rule's status for a case, with the evidence behind it and words for its ground.

    ``wording`` names the ground's wording when it is not the status itself
    (``went_ahead``: the meeting did not take place, yet the procedure went
    on). ``cite`` adds sources the finding rests on beyond the rule's own
    (a period's, for a date-based eligibility finding).
    """

    status: str
    evidence: str = "none"
    events: tuple[int, ...] = ()
    detail: Mapping[str, str] = field(default_factory=dict)
    wording: str | None = None
    cite: tuple[Citation, ...] = ()


NOT_APPLICABLE = Outcome("not_applicable")
"""Shared: an `Outcome` is immutable, and this one is the commonest."""

_PLAIN: dict[tuple[str, str, tuple[int, ...]], Outcome] = {}


def plain(status: str, evidence: str = "none", events: tuple[int, ...] = ()) -> Outcome:
    """An outcome with no details. Shared, as they repeat from case to case (bounded)."""
    key = (status, evidence, events)
    found = _PLAIN.get(key)
    if found is None:
        found = Outcome(status, evidence, events)
        if len(_PLAIN) < 4096:
            _PLAIN[key] = found
    return found


@dataclass
class CaseFacts:
    """A case prepared for checking: events in dated order, indexed by type."""

    case: Case
    events: list[Event]
    replay: Replay
    as_of: date
    procedure: Procedure
    calendar: WorkingCalendar

    def __post_init__(self) -> None:
        # Built here, not as cached properties: every case needs them, and a cached
        # property takes a lock on first use (Python 3.11).
        grouped: dict[str, list[tuple[int, Event]]] = {}
        for index, event in enumerate(self.events):
            found = grouped.get(event.type)
            if found is None:
                grouped[event.type] = [(index, event)]
            else:
                found.append((index, event))
        self.by_type = grouped
        self._held: dict[str, list[tuple[int, Event]]] = {}
        self._steps: dict[str, tuple[dict[int, Outcome], Outcome]] = {}

    def of(self, event_type: str) -> list[tuple[int, Event]]:
        return self.by_type.get(event_type, [])

    def held(self, event_type: str) -> list[tuple[int, Event]]:
        """Events of the type that took place (happened and attended where that is recorded)."""
        found = self._held.get(event_type)
        if found is None:
            found = self._held[event_type] = [
                (i, e) for i, e in self.of(event_type) if e.took_place
            ]
        return found

    def steps_at(self, event_type: str) -> tuple[dict[int, Outcome], Outcome]:
        """Each step's outcome from the steps recorded at the events of the type that took
        place, and the outcome of a step none of them records; worked out once a case for
        all the step rules. A step is done at the first event that records it done, else
        missed at each that records it not done, else unevidenced."""
        found = self._steps.get(event_type)
        if found is None:
            held = self.held(event_type)
            unevidenced = plain("unevidenced", "none", tuple(i for i, _ in held))
            outcomes: dict[int, Outcome] = {}
            if len(held) == 1:  # commonly: one meeting
                index, event = held[0]
                done = plain("done", "statement", (index,))
                missed = plain("missed", "statement", (index,))
                for number, record in event.steps.items():
                    status = record.status
                    outcomes[number] = (
                        done if status == "done" else missed if status == "not_done"
                        else unevidenced
                    )
            else:
                for number in {n for _, e in held for n in e.steps}:
                    outcomes[number] = _step_at(number, held, unevidenced)
            found = self._steps[event_type] = (outcomes, unevidenced)
        return found

    @cached_property
    def referral(self) -> tuple[int, date] | None:
        """The referral letter's index and date, else the meeting's, else the invitation's (spec §4)."""
        for event_type in self.procedure.referral_date:
            dated = [(e.on, i) for i, e in self.of(event_type) if e.happened and e.on is not None]
            if dated:
                on, index = min(dated)
                return index, on
        return None

    @property
    def referral_date(self) -> date | None:
        return self.referral[1] if self.referral else None


def _event(rule: Rule, facts: CaseFacts) -> Outcome:
    assert rule.event is not None
    recorded = facts.of(rule.event)
    happened = [(i, e) for i, e in recorded if e.happened]
    if rule.order is not None:
        early, late = (
            (rule.order.other, rule.event) if rule.order.before else (rule.event, rule.order.other)
        )
        breach = facts.replay.breach(early, late)
        if breach is not None:
            mine = breach.late_index if rule.order.before else breach.early_index
            on = facts.events[mine].on
            return Outcome(
                "out_of_order",
                "dates",
                tuple(sorted({breach.early_index, breach.late_index})),
                {"date": spoken_date(on) if on else ""},
            )
    if happened:
        return plain("done", "dates", (happened[0][0],))
    if recorded:
        return plain("missed", "statement", tuple(i for i, _ in recorded))
    return plain("unevidenced")


def _at_meetings(
    rule: Rule, facts: CaseFacts, answers: list[tuple[int, bool | None]], if_false: str
) -> Outcome:
    """A step or fact recorded at events that must take place (spec §1, meetings).

    ``answers`` are the answer at each event of the rule's type that took place.
    """
    assert rule.event is not None
    if answers:
        no: list[int] = []
        for index, answer in answers:
            if answer is True:
                return plain("done", "statement", (index,))
            if answer is False:
                no.append(index)
        if no:
            return plain(if_false, "statement", tuple(no))
        return plain("unevidenced", "none", tuple(i for i, _ in answers))
    recorded = facts.of(rule.event)
    if recorded and rule.went_ahead_with:
        first_missed = min((e.on for _, e in recorded if e.on), default=None)
        followed = [
            (i, e) for i, e in facts.of(rule.went_ahead_with)
            if e.happened and e.on is not None and (first_missed is None or e.on >= first_missed)
        ]
        if followed:
            on = followed[0][1].on
            assert on is not None
            return Outcome(
                if_false,
                "statement",
                tuple(sorted({i for i, _ in recorded} | {followed[0][0]})),
                {"date": spoken_date(on)},
                wording="went_ahead",
            )
        return NOT_APPLICABLE
    if recorded or not rule.went_ahead_with:
        return NOT_APPLICABLE
    return plain("unevidenced")


def _step(rule: Rule, facts: CaseFacts) -> Outcome:
    assert rule.event is not None
    number = rule.step
    held = facts.held(rule.event)
    if not held or number is None:
        return _at_meetings(rule, facts, [(i, None) for i, _ in held], "missed")
    # `_at_meetings` for steps, worked out for all the steps at once: fifteen step rules
    # run for every case.
    outcomes, unrecorded = facts.steps_at(rule.event)
    return outcomes.get(number, unrecorded)


def _step_at(number: int, held: list[tuple[int, Event]], unevidenced: Outcome) -> Outcome:
    no: list[int] = []
    for index, event in held:
        record = event.steps.get(number)
        if record is not None:
            if record.status == "done":
                return plain("done", "statement", (index,))
            if record.status == "not_done":
                no.append(index)
    if no:
        return plain("missed", "statement", tuple(no))
    return unevidenced


def _fact(rule: Rule, facts: CaseFacts) -> Outcome:
    assert rule.event is not None
    name = rule.field or ""
    answers = []
    for index, event in facts.held(rule.event):
        value = getattr(event, name)
        answers.append((index, value if isinstance(value, bool) else None))
    return _at_meetings(rule, facts, answers, rule.if_false)


def _content(rule: Rule, facts: CaseFacts) -> Outcome:
    assert rule.event is not None
    held = facts.held(rule.event)
    if not held:
        return NOT_APPLICABLE
    lacking: list[str] = []
    unknown: list[str] = []
    for part, words in rule.parts.items():
        values = [getattr(e, part) for _, e in held]
        if True in values:
            continue
        (lacking if False in values else unknown).append(words)
    indexes = tuple(i for i, _ in held)
    if lacking:
        return Outcome("content", "statement", indexes, {"parts": "; ".join(lacking)})
    if unknown:
        return Outcome("unevidenced", "none", indexes, {"parts": "; ".join(unknown)})
    return plain("done", "statement", indexes)


def _deadline(rule: Rule, facts: CaseFacts) -> Outcome:
    deadline = rule.deadline
    assert deadline is not None
    trigger = None
    for index, event in facts.held(deadline.start):
        if event.on:
            trigger = (index, event.on)
            break
    if trigger is None:
        return NOT_APPLICABLE
    t_index, start = trigger
    due = facts.calendar.deadline(start, deadline.days, deadline.unit)
    recorded = facts.of(deadline.to)
    not_met_by = deadline.not_met_by

    # `recorded` is in dated order (index order), so the first that meets is the earliest.
    done = None
    for index, event in recorded:
        if event.on is not None and _meets(event, not_met_by):
            done = (event.on, index)
            break
    if done is not None and done[0] <= due:
        # Met: nothing more to say (a rule that holds has no finding to word).
        return plain("met", "dates", (t_index, done[1]))
    detail = {
        "trigger_date": spoken_date(start),
        "deadline_date": spoken_date(due),
        "limit": str(deadline.days),
        "unit": deadline.unit,
    }
    if done is not None:
        on, index = done
        day = _days_between(facts.calendar, start, on, deadline.unit)
        detail |= {"target_date": spoken_date(on), "days": str(day)}
        detail["evidence"] = (
            f"It happened on {spoken_date(on)}, {deadline.unit} day {day}, "
            f"{day - deadline.days} day{'s' if day - deadline.days != 1 else ''} late."
        )
        return Outcome("late", "dates", (t_index, index), detail)
    if facts.as_of <= due:
        return Outcome("pending", "dates", (t_index,), detail)
    refused = [(i, e) for i, e in recorded if not _meets(e, not_met_by)]
    if refused:
        detail["evidence"] = f"According to {facts.case.whose_word}, " + "; ".join(
            _why_not_met(e, deadline.not_met_by) for _, e in refused
        ) + "."
        return Outcome("late", "statement", (t_index, *(i for i, _ in refused)), detail)
    return Outcome("unevidenced", "none", (t_index,), detail)


def _meets(event: Event, not_met_by: Mapping[str, bool]) -> bool:
    """Whether a recorded target meets a deadline: it happened, and none of the fields
    that would undo it (``not_met_by``) has the value that does."""
    if not event.happened:
        return False
    # A loop, not all(): a generator per target cost 2 µs a case over five deadline rules.
    for name, value in not_met_by.items():  # noqa: SIM110
        if getattr(event, name) is value:
            return False
    return True


def _why_not_met(event: Event, not_met_by: Mapping[str, bool]) -> str:
    """Words for a recorded target that does not meet a deadline, no stronger than the record."""
    what = spoken_word(event.type)
    if not event.happened:
        return f"the {what} did not happen"
    reasons = [
        spoken_word(name) if value else f"not {spoken_word(name)}"
        for name, value in not_met_by.items()
        if getattr(event, name) is value
    ]
    when = f" on {spoken_date(event.on)}" if event.on else ""
    return f"the {what} recorded{when} was {' and '.join(reasons)}"


def _match(rule: Rule, facts: CaseFacts) -> Outcome:
    assert rule.event is not None and rule.field is not None and rule.claimant_fact is not None
    wanted = facts.case.claimant.fact(rule.claimant_fact)
    if wanted is None:
        return NOT_APPLICABLE
    name = rule.field
    happened: list[int] = []
    other: list[int] = []
    unknown: list[int] = []
    used: set[object] = set()
    for index, event in facts.of(rule.event):
        if not event.happened:
            continue
        happened.append(index)
        value = getattr(event, name)
        if value is None:
            unknown.append(index)
        elif value != wanted:
            other.append(index)
            used.add(value)
    if not happened:
        return NOT_APPLICABLE
    detail = {"preferred": spoken_word(wanted)}
    if other:
        words = " and ".join(sorted({spoken_word(v) for v in used}))
        return Outcome("missed", "statement", tuple(other), detail | {"used": words})
    if unknown:
        return Outcome("unevidenced", "none", tuple(unknown), detail)
    return Outcome("done", "statement", tuple(happened), detail)


def _test(condition: Condition, facts: CaseFacts) -> tuple[bool | None, Period | None]:
    """A condition's truth (None when unknown), and the period it fell in if any."""
    if condition.fact is not None:
        value = facts.case.claimant.fact(condition.fact)
        if value is None:
            return None, None
        if condition.is_ is not None:
            return value == condition.is_, None
        if condition.in_ is not None:
            return value in condition.in_, None
        return value not in (condition.not_in or []), None
    if condition.recorded is not None:
        return any(e.happened for _, e in facts.of(condition.recorded)), None
    day = facts.referral_date
    if day is None:
        return None, None
    for period in facts.procedure.periods[condition.date_in or ""]:
        if period.contains(day):
            return True, period
    return False, None


def _eligibility(rule: Rule, facts: CaseFacts) -> Outcome:
    if not all(_test(c, facts)[0] is True for c in rule.applies_if):
        return NOT_APPLICABLE
    unknown = False
    for condition in rule.breaches:
        result, period = _test(condition, facts)
        if result is None:
            unknown = True
        elif result:
            day = facts.referral_date
            fill = {"date": spoken_date(day) if day else "", "other": period.label if period else ""}
            reason = " ".join((condition.because or "").split()).format_map(fill)
            if period is not None and period.doubt:
                reason += " " + " ".join(period.doubt.split())
            if condition.date_in and facts.referral is not None:
                cite = tuple(period.cite) if period else ()
                return Outcome(
                    "ineligible", "dates", (facts.referral[0],), {"reason": reason} | fill,
                    cite=cite,
                )
            return Outcome("ineligible", "statement", (), {"reason": reason} | fill)
    if unknown:
        return Outcome("unevidenced", "none", (), {"reason": ""})
    return plain("met", "statement")


def applies(rule: Rule, facts: CaseFacts) -> bool:
    """Whether the rule's ``applies_if`` holds (an eligibility rule tests its own)."""
    if not rule.applies_if:
        return True
    return rule.check == "eligibility" or all(_test(c, facts)[0] is True for c in rule.applies_if)


Check = Callable[[Rule, CaseFacts], Outcome]

CHECKS: dict[str, Check] = {
    "event": _event,
    "step": _step,
    "fact": _fact,
    "content": _content,
    "deadline": _deadline,
    "match": _match,
    "eligibility": _eligibility,
}


def evaluate(rule: Rule, facts: CaseFacts) -> Outcome:
    """The rule's `Outcome` for the case; ``not_applicable`` when its ``applies_if`` fails."""
    if not applies(rule, facts):
        return NOT_APPLICABLE
    return CHECKS[rule.check](rule, facts)
