"""A procedure as data: the schema of ``checklists/*.yaml``, validated on load.

A `Procedure` holds its `Milestone` states (for the replay machine), its
`Rule` list in checklist order, the `Source` library every rule cites, the
`Period` sets that eligibility rules test dates against, and the wording of
grounds. Nothing about the Work and Health Programme is in this module: it
all comes from the YAML file.
"""

from __future__ import annotations

import string
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from auditor.case import EVENT_FIELDS, YES_NO_FIELDS, Claimant
from auditor.errors import ChecklistError, InputError
from auditor.read import parse, read_text, to_plain

Verification = Literal["verified", "secondary", "forum"]
Check = Literal["event", "step", "fact", "content", "deadline", "match", "eligibility"]
Kind = Literal["missed", "unevidenced", "out_of_order", "late", "pending", "ineligible", "content"]
Wording = Literal[
    "missed", "unevidenced", "out_of_order", "late", "pending", "ineligible", "content",
    "went_ahead",
]
"""A finding's kind, or ``went_ahead``: a meeting that did not take place, yet the referral followed."""

GROUND_FIELDS = frozenset(
    {
        "title", "should", "who", "whose", "authority", "date", "trigger_date", "target_date",
        "deadline_date", "days", "limit", "unit", "parts", "reason", "preferred", "used",
        "other", "evidence",
    }
)
"""Placeholders a ground's wording may use; filled in from the finding."""

KINDS_OF_CHECK: dict[str, frozenset[str]] = {
    "event": frozenset({"missed", "unevidenced"}),
    "step": frozenset({"missed", "unevidenced"}),
    "fact": frozenset({"unevidenced"}),
    "content": frozenset({"content", "unevidenced"}),
    "deadline": frozenset({"late", "pending", "unevidenced"}),
    "match": frozenset({"missed", "unevidenced"}),
    "eligibility": frozenset({"ineligible", "unevidenced"}),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(Strict):
    """A document a rule rests on. ``ref`` is its document reference or address."""

    title: str
    ref: str
    url: str | None = None
    verification: Verification


class Citation(Strict):
    """A rule's use of a source, with the paragraph where it is known (never guessed)."""

    source: str
    paragraph: str | None = None


class Period(Strict):
    """A span of dates; ``end`` None means no published end. ``doubt`` says why it may not apply."""

    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")
    label: str
    doubt: str | None = None
    cite: list[Citation] = Field(default_factory=list)

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Condition(Strict):
    """One test in ``applies_if`` or ``breaches``; unknown facts make it unknown."""

    fact: str | None = None
    is_: str | bool | None = Field(default=None, alias="is")
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    recorded: str | None = None
    date_in: str | None = None
    because: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        kinds = [x for x in (self.fact, self.recorded, self.date_in) if x is not None]
        if len(kinds) != 1:
            raise ValueError("a condition has exactly one of fact, recorded, date_in")
        if self.fact is not None:
            if self.fact not in Claimant.model_fields:
                raise ValueError(
                    f"unknown claimant fact '{self.fact}' "
                    f"(allowed: {', '.join(Claimant.model_fields)})"
                )
            tests = [x for x in (self.is_, self.in_, self.not_in) if x is not None]
            if len(tests) != 1:
                raise ValueError("a fact condition has exactly one of is, in, not_in")
        if self.recorded is not None and self.recorded not in EVENT_FIELDS:
            raise ValueError(f"unknown event type '{self.recorded}'")
        return self


class Order(Strict):
    """This rule's event must come before, or not before, another event type."""

    before: str | None = None
    after: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Order:
        if (self.before is None) == (self.after is None):
            raise ValueError("order has exactly one of before, after")
        return self

    @property
    def other(self) -> str:
        return self.before or self.after or ""


class Deadline(Strict):
    """``to`` must happen within ``days`` of ``from`` (day 0); spec §4 Deadlines."""

    start: str = Field(alias="from")
    to: str
    days: int = Field(ge=0)
    unit: Literal["calendar", "working"]
    not_met_by: dict[str, bool] = Field(default_factory=dict)


class Rule(Strict):
    """One checkable duty: what should happen, who does it, how it is checked, and its sources."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    who: str
    should: str
    check: Check
    event: str | None = None
    order: Order | None = None
    step: int | None = Field(default=None, ge=1)
    field: str | None = None
    if_false: Literal["missed", "content"] = "missed"
    parts: dict[str, str] = Field(default_factory=dict)
    went_ahead_with: str | None = None
    deadline: Deadline | None = None
    claimant_fact: str | None = None
    applies_if: list[Condition] = Field(default_factory=list)
    breaches: list[Condition] = Field(default_factory=list)
    cite: list[Citation] = Field(min_length=1)
    verification: Verification
    grounds: dict[Wording, str] = Field(default_factory=dict)
    order_verification: Verification | None = None
    evidence_from: str
    question: str
    note: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        needs: dict[str, tuple[str, ...]] = {
            "event": ("event",),
            "step": ("event", "step"),
            "fact": ("event", "field"),
            "content": ("event", "parts"),
            "deadline": ("deadline",),
            "match": ("event", "field", "claimant_fact"),
            "eligibility": ("breaches",),
        }
        for name in needs[self.check]:
            if not getattr(self, name):
                raise ValueError(f"a '{self.check}' rule needs '{name}'")
        for name in ("event", "went_ahead_with"):
            value = getattr(self, name)
            if value is not None and value not in EVENT_FIELDS:
                raise ValueError(f"{name}: unknown event type '{value}'")
        if self.deadline is not None:
            for end in (self.deadline.start, self.deadline.to):
                if end not in EVENT_FIELDS:
                    raise ValueError(f"deadline: unknown event type '{end}'")
        if self.order is not None and self.order.other not in EVENT_FIELDS:
            raise ValueError(f"order: unknown event type '{self.order.other}'")
        fields = [self.field] if self.field else []
        fields += list(self.parts)
        if self.deadline:
            fields += list(self.deadline.not_met_by)
        for name in fields:
            if name not in YES_NO_FIELDS and name != "channel":
                raise ValueError(f"unknown event field '{name}'")
        if self.claimant_fact is not None and self.claimant_fact not in Claimant.model_fields:
            raise ValueError(f"unknown claimant fact '{self.claimant_fact}'")
        return self

    @property
    def kinds(self) -> frozenset[str]:
        """The finding kinds this rule can give, so its grounds can be checked on load."""
        kinds = set(KINDS_OF_CHECK[self.check])
        if self.check == "fact":
            kinds.add(self.if_false)
        if self.order is not None:
            kinds.add("out_of_order")
        if self.went_ahead_with is not None:
            kinds.add("went_ahead")
        return frozenset(kinds)


class Milestone(Strict):
    """A state of the replay machine, entered when its event type is replayed.

    ``same_day: last`` replays the event after others of the same day, for
    an event that must come on an earlier day (an invitation on the day of
    the meeting gives no notice).
    """

    state: str = Field(pattern=r"^[a-z_]+$")
    event: str
    label: str
    same_day: Literal["first", "last"] = "first"


class EvidenceRoute(Strict):
    """How to get the record that would settle an unevidenced rule."""

    title: str
    how: str
    cite: list[Citation] = Field(default_factory=list)


class Calendar(Strict):
    """Whose bank holidays make a working day: a `holidays` country and subdivision."""

    country: str
    subdivision: str | None = None
    name: str


class Procedure(Strict):
    """A whole procedure: what `audit` replays a case against."""

    id: str
    version: str
    title: str
    summary: str
    disclaimer: str
    calendar: Calendar
    authority: dict[Verification, str]
    referral_date: list[str] = Field(min_length=1)
    milestones: list[Milestone] = Field(min_length=1)
    periods: dict[str, list[Period]] = Field(default_factory=dict)
    sources: dict[str, Source]
    evidence_routes: dict[str, EvidenceRoute]
    ground_defaults: dict[Check, dict[Wording, str]] = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)
    preparation: PreparationField = None
    next_steps: list[NextStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        problems: list[str] = _next_step_problems(self)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                problems.append(f"rule {rule.id}: the id is used twice")
            seen.add(rule.id)
            citations = list(rule.cite)
            if rule.evidence_from not in self.evidence_routes:
                problems.append(
                    f"rule {rule.id}: evidence_from '{rule.evidence_from}' is not in evidence_routes"
                )
            for kind in sorted(rule.kinds):
                wording = self.wording(rule, kind)
                if not wording:
                    problems.append(f"rule {rule.id}: no ground wording for '{kind}'")
                    continue
                for _, name, _, _ in string.Formatter().parse(wording):
                    if name is not None and name not in GROUND_FIELDS:
                        problems.append(
                            f"rule {rule.id}: ground for '{kind}' uses {{{name}}} "
                            f"(allowed: {', '.join(sorted(GROUND_FIELDS))})"
                        )
            for condition in rule.breaches + rule.applies_if:
                if condition.date_in is not None and condition.date_in not in self.periods:
                    problems.append(f"rule {rule.id}: date_in '{condition.date_in}' is not in periods")
            for citation in citations:
                if citation.source not in self.sources:
                    problems.append(f"rule {rule.id}: cites unknown source '{citation.source}'")
        for name, periods in self.periods.items():
            for period in periods:
                for citation in period.cite:
                    if citation.source not in self.sources:
                        problems.append(f"period {name}: cites unknown source '{citation.source}'")
        for route_name, route in self.evidence_routes.items():
            for citation in route.cite:
                if citation.source not in self.sources:
                    problems.append(
                        f"evidence route {route_name}: cites unknown source '{citation.source}'"
                    )
        states = [m.state for m in self.milestones]
        if len(set(states)) != len(states):
            problems.append("milestones: a state is named twice")
        for event in self.referral_date:
            if event not in EVENT_FIELDS:
                problems.append(f"referral_date: unknown event type '{event}'")
        for milestone in self.milestones:
            if milestone.event not in EVENT_FIELDS:
                problems.append(f"milestone {milestone.state}: unknown event type '{milestone.event}'")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def steps(self) -> set[int]:
        """The step numbers a case may record."""
        return {rule.step for rule in self.rules if rule.step is not None}

    def wording(self, rule: Rule, kind: str) -> str:
        """The rule's own wording for a finding of ``kind``, else its check's default ("" if none)."""
        own = {str(k): v for k, v in rule.grounds.items()}
        shared = {str(k): v for k, v in self.ground_defaults.get(rule.check, {}).items()}
        return own.get(kind) or shared.get(kind, "")

    def source(self, citation: Citation) -> Source:
        return self.sources[citation.source]


def checklist_dir() -> Path:
    """Where the bundled procedures are: beside the package in a checkout, inside it when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "checklists", here.parent / "checklists"):
        if candidate.is_dir():
            return candidate
    raise ChecklistError("the bundled checklists are missing from this installation")


def default_checklist() -> Path:
    return checklist_dir() / "whp-referral.yaml"


def load_procedure(path: Path | None = None) -> Procedure:
    """Read and validate a checklist; a malformed one raises `ChecklistError` naming the problem."""
    path = path or default_checklist()
    try:
        data, locate = parse(path, read_text(path))
    except InputError as exc:
        raise ChecklistError(str(exc)) from None
    try:
        return Procedure.model_validate(to_plain(data))
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = locate(loc)
            where = f"{path}:{line}" if line else str(path)
            field = ".".join(str(p) for p in loc)
            lines.append(f"{where}: {field}: {error['msg']}")
        raise ChecklistError("the checklist is malformed:\n" + "\n".join(lines)) from None


# --- The claimant's preparation: the pre-meeting sheet and the interview ------
#
# An optional section of a procedure (`preparation:`). It holds every word of
# the sheet that is not a rule's own title, `should` or `question`, and the
# plain-words questions of the interview. It is checked against the rest of
# the procedure on load (rules and sources named must exist) by a validator
# on the field, which sees the fields declared before it.

SectionContent = Literal["steps", "questions"]
STEP_PLACEHOLDERS = frozenset({"who", "should", "title", "step"})
INVALID_PLACEHOLDERS = frozenset({"answer"})
LIMIT_PLACEHOLDERS = frozenset({"limit"})
MOST_REPEATS = 100
"""The highest ``repeat_limit`` a checklist may set: an interview is typed by a person."""


class PrepItem(Strict):
    """One item of the sheet, with a tick box.

    Either ``rule`` names a rule, whose ``should`` (or this item's ``text``),
    sources, status and question are shown; or the item carries its own
    ``text``, ``cite`` and ``verification``, and the verification must be that
    of one of the sources it cites (an item cannot be firmer than its sources).
    """

    rule: str | None = None
    text: str | None = None
    cite: list[Citation] = Field(default_factory=list)
    verification: Verification | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PrepItem:
        if self.rule is not None:
            if self.cite or self.verification is not None:
                raise ValueError("an item naming a rule takes its sources and status from it")
        elif not (self.text and self.cite and self.verification):
            raise ValueError("an item needs a rule, or its own text, cite and verification")
        return self


class PrepSection(Strict):
    """A part of the sheet. ``show`` adds what the rules give: every step, or the
    questions of the rules no item names (grouped under ``ask_who[rule.who]``)."""

    heading: str
    intro: str | None = None
    items: list[PrepItem] = Field(default_factory=list)
    show: SectionContent | None = None
    ask_who: dict[str, str] = Field(default_factory=dict)


class InterviewFact(Strict):
    """A claimant fact to ask; ``choices`` words each allowed value, ``only_if``
    asks it only when earlier answers match (e.g. an ESA group only on ESA).
    ``invalid`` (facts answered in words only) is said when the case model
    refuses an answer, which is then asked again; ``{answer}`` is the answer."""

    ask: str
    choices: dict[str, str] = Field(default_factory=dict)
    only_if: dict[str, str] = Field(default_factory=dict)
    invalid: str | None = None


class InterviewAnother(Strict):
    """Asked after an event of the type is recorded: was there another? On yes,
    that one's date (``date``, else the event type's date question) and fields."""

    ask: str
    date: str | None = None


class InterviewEvent(Strict):
    """An event type to ask about: whether it happened, its date, its fields;
    with ``another``, further events of the type (up to ``repeat_limit``)."""

    ask: str
    date: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    another: InterviewAnother | None = None


def is_text(annotation: object) -> bool:
    """Whether a ``str | None`` field is answered in words (not a choice or yes/no)."""
    return annotation is str or str in get_args(annotation)


def _placeholders(text: str, allowed: frozenset[str], where: str) -> list[str]:
    return [
        f"{where} uses {{{name}}} (allowed: {', '.join(sorted(allowed)) or 'none'})"
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None and name not in allowed
    ]


class Interview(Strict):
    """The guided interview's wording. Event types are asked in this order;
    ``step`` words each step rule from its ``who``, ``should``, ``title``, ``step``."""

    intro: str
    step: str
    step_note: str
    note: str
    claimant: dict[str, InterviewFact] = Field(default_factory=dict)
    events: dict[str, InterviewEvent] = Field(default_factory=dict)
    repeat_limit: int = Field(default=20, ge=1, le=MOST_REPEATS)
    repeat_limit_reached: str | None = None

    @model_validator(mode="after")
    def _known_names(self) -> Interview:
        problems: list[str] = _placeholders(self.step, STEP_PLACEHOLDERS, "step")
        repeated = [event for event, wording in self.events.items() if wording.another]
        if repeated and self.repeat_limit_reached is None:
            problems.append(
                f"events {', '.join(repeated)} ask for another, so repeat_limit_reached "
                "(said when repeat_limit is reached) is needed"
            )
        if self.repeat_limit_reached is not None:
            problems += _placeholders(
                self.repeat_limit_reached, LIMIT_PLACEHOLDERS, "repeat_limit_reached"
            )
        for fact, question in self.claimant.items():
            if fact not in Claimant.model_fields:
                problems.append(f"claimant: unknown fact '{fact}'")
                continue
            annotation = Claimant.model_fields[fact].annotation
            if question.invalid is not None:
                if not is_text(annotation):
                    problems.append(
                        f"claimant.{fact}: invalid is only for a fact answered in words"
                    )
                problems += _placeholders(
                    question.invalid, INVALID_PLACEHOLDERS, f"claimant.{fact}.invalid"
                )
            allowed = literal_values(annotation)
            for value in question.choices:
                if value not in allowed:
                    problems.append(f"claimant.{fact}: '{value}' is not an allowed value")
            for other in question.only_if:
                if other not in Claimant.model_fields:
                    problems.append(f"claimant.{fact}.only_if: unknown fact '{other}'")
        for event, wording in self.events.items():
            if event not in EVENT_FIELDS:
                problems.append(f"events: unknown event type '{event}'")
                continue
            for name in wording.fields:
                if name not in EVENT_FIELDS[event] or name == "steps":
                    problems.append(f"events.{event}: '{name}' is not a field of this event")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Preparation(Strict):
    """The sheet's own wording and the interview's: see the section comment.

    ``step`` words each step on the sheet from the step rule's ``who``,
    ``should``, ``title`` and ``step``; ``words`` explains the abbreviations
    and terms the sheet uses (each is shown only when the sheet uses it).
    """

    title: str
    intro: str
    not_advice: str
    form: list[str] = Field(default_factory=list)
    step: str = "{should}"
    status: dict[Verification, str]
    status_intro: str
    words: dict[str, str] = Field(default_factory=dict)
    sections: list[PrepSection] = Field(min_length=1)
    interview: Interview | None = None

    @model_validator(mode="after")
    def _complete(self) -> Preparation:
        for _, name, _, _ in string.Formatter().parse(self.step):
            if name is not None and name not in STEP_PLACEHOLDERS:
                raise ValueError(
                    f"step uses {{{name}}} (allowed: {', '.join(sorted(STEP_PLACEHOLDERS))})"
                )
        missing = [v for v in ("verified", "secondary", "forum") if v not in self.status]
        if missing:
            raise ValueError(f"status: no label for {', '.join(missing)}")
        shows = [s.show for s in self.sections if s.show is not None]
        if len(shows) != len(set(shows)):
            raise ValueError("sections: 'show' names the same content twice")
        return self


def literal_values(annotation: object) -> tuple[str, ...]:
    """The allowed text values of a ``Literal[...] | None`` field; () for any other type."""
    values: list[str] = []
    for arg in get_args(annotation) or (annotation,):
        if get_origin(arg) is Literal:
            values += [str(v) for v in get_args(arg)]
    return tuple(values)


def _check_preparation(value: Preparation | None, info: ValidationInfo) -> Preparation | None:
    """Check the preparation against the rules and sources validated before it."""
    if value is None:
        return None
    rules: list[Rule] = info.data.get("rules") or []
    sources: dict[str, Source] = info.data.get("sources") or {}
    by_id = {rule.id: rule for rule in rules}
    problems: list[str] = []
    named: set[str] = set()
    for number, section in enumerate(value.sections):
        for item in section.items:
            if item.rule is not None:
                if item.rule not in by_id:
                    problems.append(f"sections[{number}]: unknown rule '{item.rule}'")
                named.add(item.rule)
                continue
            for citation in item.cite:
                if citation.source not in sources:
                    problems.append(
                        f"sections[{number}]: cites unknown source '{citation.source}'"
                    )
            statuses = {
                sources[c.source].verification for c in item.cite if c.source in sources
            }
            if statuses and item.verification not in statuses:
                problems.append(
                    f"sections[{number}]: an item is '{item.verification}' but its sources are "
                    f"{', '.join(sorted(statuses))}"
                )
    for section in value.sections:
        if section.show == "questions":
            for rule in rules:
                asked_here = rule.check != "step" and rule.id not in named
                if asked_here and rule.who not in section.ask_who:
                    problems.append(
                        f"the questions section has no ask_who heading for '{rule.who}' "
                        f"(rule {rule.id})"
                    )
    if problems:
        raise ValueError("; ".join(problems))
    return value


PreparationField = Annotated[Preparation | None, AfterValidator(_check_preparation)]
"""Procedure.preparation: optional, checked against the procedure's rules and sources."""



class NextStep(Strict):
    """One thing the reader can do after the audit: a complaint stage, a reconsideration.

    Shown in the report's "What to do next", in checklist order. ``time_limit``
    is the time limit as the sources give it (None: they give none).
    ``if_grounds`` shows the step only when the audit found a ground for
    challenge; every ``applies_if`` condition must hold (an unknown claimant
    fact means it does not), so a step about sanctions can be limited to
    referrals treated as mandatory.
    """

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    how: str
    time_limit: str | None = None
    if_grounds: bool = False
    applies_if: list[Condition] = Field(default_factory=list)
    cite: list[Citation] = Field(min_length=1)
    note: str | None = None


def _next_step_problems(procedure: Procedure) -> list[str]:
    """Next steps cite only the procedure's sources and test only what a report can know."""
    problems: list[str] = []
    for step in procedure.next_steps:
        for citation in step.cite:
            if citation.source not in procedure.sources:
                problems.append(f"next step {step.id}: cites unknown source '{citation.source}'")
        if any(c.date_in is not None for c in step.applies_if):
            problems.append(f"next step {step.id}: applies_if may test fact or recorded only")
    return problems


Procedure.model_rebuild()
