"""The case file: one claimant's referral, exactly as spec §1 describes it.

Evidence is three-valued: a yes/no fact or a step is true/done, false/not_done,
or unknown (absent, ``unknown`` or null). Unknown is kept as ``None`` so that
nothing downstream can mistake it for either answer.

Validation takes a context (see `validation_context`) from the procedure and
the audit date, so that a step number the procedure does not have, or an
event dated after ``--as-of``, is refused with the same located message as
any other bad value.
"""

from __future__ import annotations

import re
from datetime import date
from operator import attrgetter
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

Channel = Literal["letter", "email", "phone", "text", "in_person"]
Benefit = Literal["jsa", "esa", "uc", "none"]
EsaGroup = Literal["assessment", "wrag", "support"]
WhpGroup = Literal["disability", "early_access", "ltu"]
StepStatus = Literal["done", "not_done", "unknown"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_YEAR, LAST_YEAR = 1900, 2999
"""Dates outside these years are typing slips; refusing them keeps day arithmetic in range."""
_NINO = re.compile(r"^[A-Z]{2}[0-9]{6}[A-D]$")


def _unknown_is_none(value: object) -> object:
    return None if value == "unknown" else value


def _parse_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date written as YYYY-MM-DD, e.g. 2018-05-01")
    text = value.strip()
    if not _ISO_DATE.match(text):
        raise ValueError(
            f"'{text}' is not a date in the form YYYY-MM-DD (e.g. 2018-05-01); "
            "dates such as 01/05/2018 are refused, not guessed"
        )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"'{text}' is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return day


Tri = Annotated[StrictBool | None, BeforeValidator(_unknown_is_none)]
"""A yes/no fact: True, False, or None for unknown."""

Day = Annotated[date, BeforeValidator(_parse_date)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DONE = {"done": True, "not_done": False}


class StepRecord(Strict):
    """What the case says of one work-coach step at one meeting."""

    status: StepStatus = "unknown"
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        # Spec §1: a step is done/true, not_done/false, or unknown (absent, unknown or null).
        if value is None:
            return {"status": "unknown"}
        if isinstance(value, bool):
            return {"status": "done" if value else "not_done"}
        if isinstance(value, str):
            return {"status": value}
        if isinstance(value, dict) and isinstance(value.get("status"), bool):
            return {**value, "status": "done" if value["status"] else "not_done"}
        if not isinstance(value, dict):
            raise ValueError(
                "a step is done, not_done or unknown (or true, false), "
                "or {status: ..., note: ...}"
            )
        return value

    @property
    def done(self) -> bool | None:
        return _DONE.get(self.status)


class Claimant(Strict):
    """The claimant's facts; every field optional. ``name`` and ``nino`` are personal data."""

    name: str | None = None
    nino: str | None = None
    benefit: Benefit | None = None
    esa_group: EsaGroup | None = None
    appealing_support_group: Tri = None
    whp_group: WhpGroup | None = None
    mandatory: Tri = None
    preferred_contact: Channel | None = None

    PERSONAL: ClassVar[tuple[str, ...]] = ("name", "nino")

    @field_validator("nino")
    @classmethod
    def _nino(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normal = value.replace(" ", "").upper()
        if not _NINO.match(normal):
            raise ValueError(
                "not a National Insurance number: two letters, six digits, then A, B, C or D "
                "(e.g. QQ123456C; spaces are ignored)"
            )
        return normal

    @model_validator(mode="after")
    def _esa_group_needs_esa(self) -> Claimant:
        if self.esa_group is not None and self.benefit != "esa":
            raise ValueError("esa_group is only allowed with benefit: esa")
        return self

    def fact(self, name: str) -> object:
        return getattr(self, name)


# Fields each event type may carry beyond on, type, note and happened (spec §1).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "signposting_referral": (),
    "eligibility_check": (),
    "invite_letter": ("channel",),
    "referral_meeting": ("attended", "understood", "steps"),
    "referral_letter": ("channel",),
    "provider_acknowledged": (),
    "provider_contact": ("channel",),
    "start_meeting": ("attended",),
    "action_plan": (
        "agreed",
        "copy_given",
        "single_document",
        "activities_explained",
        "deadlines_given",
        "evidence_stated",
        "mandatory_flagged",
    ),
}
EVENT_TYPES = tuple(EVENT_FIELDS)
YES_NO_FIELDS = frozenset(
    {"attended", "understood"} | set(EVENT_FIELDS["action_plan"])
)


class Event(Strict):
    """One dated thing that happened, or (``happened: false``) that did not."""

    on: Day | None = None
    type: str
    note: str | None = None
    happened: StrictBool = True
    channel: Channel | None = None
    attended: Tri = None
    understood: Tri = None
    steps: dict[int, StepRecord] = Field(default_factory=dict)
    agreed: Tri = None
    copy_given: Tri = None
    single_document: Tri = None
    activities_explained: Tri = None
    deadlines_given: Tri = None
    evidence_stated: Tri = None
    mandatory_flagged: Tri = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in EVENT_FIELDS:
            raise ValueError(f"unknown event type '{value}' (allowed: {', '.join(EVENT_TYPES)})")
        return value

    @field_validator("steps", mode="before")
    @classmethod
    def _one_entry_per_step(cls, value: Any) -> Any:
        if isinstance(value, dict):
            numbers = [str(key).strip() for key in value]
            twice = sorted({n for n in numbers if numbers.count(n) > 1})
            if twice:
                raise ValueError(f"step {', '.join(twice)} is given twice")
        return value

    @field_validator("steps")
    @classmethod
    def _known_steps(
        cls, value: dict[int, StepRecord], info: ValidationInfo
    ) -> dict[int, StepRecord]:
        known = (info.context or {}).get("steps")
        if known:
            for number in value:
                if number not in known:
                    raise ValueError(
                        f"there is no step {number} (allowed: {min(known)} to {max(known)})"
                    )
        return value

    @model_validator(mode="after")
    def _fields_fit_type(self, info: ValidationInfo) -> Event:
        given = self.model_fields_set - {"on", "type", "note", "happened"}
        allowed = EVENT_FIELDS.get(self.type, ())
        if not self.happened and given:
            raise ValueError(
                f"an event with happened: false carries only type, note and on; "
                f"remove {', '.join(sorted(given))}"
            )
        extra = sorted(given - set(allowed))
        if extra:
            raise ValueError(
                f"{', '.join(extra)} is not a field of an event of type {self.type} "
                f"(allowed: on, type, note, happened"
                + "".join(f", {f}" for f in allowed)
                + ")"
            )
        if self.on is None and self.happened:
            raise ValueError("on is required: the date it happened, as YYYY-MM-DD")
        return self

    @field_validator("on")
    @classmethod
    def _not_after_as_of(cls, value: date | None, info: ValidationInfo) -> date | None:
        # A field validator, so the message names the field `on` and its line.
        as_of = (info.context or {}).get("as_of")
        if as_of is not None and value is not None and value > as_of:
            raise ValueError(
                f"dated {value.isoformat()}, after the audit date {as_of.isoformat()} "
                "(--as-of); an audit cannot record what has not happened yet "
                f"(allowed: a date on or before {as_of.isoformat()})"
            )
        return value

    @property
    def took_place(self) -> bool:
        """Happened and was not recorded as missed by the claimant (``attended: false``)."""
        return self.happened and self.attended is not False


_ON = attrgetter("on")


class Case(Strict):
    """One claimant's referral (spec §1). ``events`` is required and may be empty."""

    case: str | None = None
    recorded_by: str | None = None
    claimant: Claimant = Field(default_factory=Claimant)
    events: list[Event]

    @property
    def whose_word(self) -> str:
        """Whose account a statement in the case is (spec §1)."""
        return self.recorded_by or "the case file"

    def dated_order(self) -> list[Event]:
        """Events sorted by date, ties in file order, undated ``happened: false`` last.

        Finding ``events`` indexes refer to this order (spec §3).
        """
        # Python's sort is stable: sorting by date alone keeps ties in file order.
        try:
            # Commonly every event is dated; an undated one cannot be compared (TypeError).
            return sorted(self.events, key=_ON)
        except TypeError:
            pass
        dated = sorted((e for e in self.events if e.on is not None), key=_ON)
        dated.extend(e for e in self.events if e.on is None)
        return dated


def redact_case(case: Case) -> Case:
    """The case without its personal fields: name, NI number, every note, ``recorded_by``
    (what ``--redact`` withholds from every output).

    Auditing the redacted case gives the same statuses and findings; only
    the words "according to ..." fall back to "the case file".
    """
    claimant = case.claimant.model_copy(update={"name": None, "nino": None})
    events = [
        event.model_copy(
            update={
                "note": None,
                "steps": {
                    n: record.model_copy(update={"note": None})
                    for n, record in event.steps.items()
                },
            }
        )
        for event in case.events
    ]
    return case.model_copy(update={"claimant": claimant, "events": events, "recorded_by": None})


PERSONAL_FIELDS = frozenset({*Claimant.PERSONAL, "note", "recorded_by"})
"""The names of the fields `redact_case` withholds, wherever they appear."""


def is_personal(field: str) -> bool:
    """Whether a problem's field (``claimant.nino``, ``events[2].steps.3.note``, or a CSV
    column such as ``name`` or ``step_3_note``) holds personal data."""
    words = [word for word in re.split(r"[.\[\]]", field.strip()) if word]
    if not words:
        return False
    name = words[-1]
    return name in PERSONAL_FIELDS or (name.startswith("step_") and name.endswith("_note"))


def validation_context(*, as_of: date | None, steps: set[int] | None) -> dict[str, Any]:
    """The context `Case.model_validate` needs to refuse future events and unknown steps."""
    return {"as_of": as_of, "steps": steps}
