"""The front door: ``audit(case, procedure, as_of=...)`` -> `Audit`.

The flow is load -> replay -> findings -> report: `Auditor` holds what is
built once per procedure (the state machine, the working-day calendar) and
audits any number of cases with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.calendar import WorkingCalendar
from auditor.case import Case
from auditor.checklist import Procedure, Rule
from auditor.evaluate import CHECKS, HOLDS, NOT_APPLICABLE, CaseFacts, Check, Outcome, applies
from auditor.findings import Finding, FindingFrame, finding_frame, placed
from auditor.load import case_warnings
from auditor.replay import ProcedureMachine


@dataclass(frozen=True)
class RuleStatus:
    rule: str
    status: str


@dataclass(frozen=True)
class Audit:
    """One case audited against one procedure on one date (spec §3)."""

    case: str
    procedure_id: str
    procedure_version: str
    as_of: date
    recorded_by: str | None
    steps: tuple[RuleStatus, ...]
    findings: tuple[Finding, ...]
    path: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    """Doubts about the case that do not stop the audit; plain sentences."""
    wordings: tuple[int, ...] = field(default=(), compare=False, repr=False)
    """Per finding, the `Auditor`'s number for its wording (everything but its events),
    or -1; equal numbers from one `Auditor` mean equal findings but for their events,
    so a writer may build what it makes of a wording once."""
    frames: tuple[int, ...] = field(default=(), compare=False, repr=False)
    """Per finding, the `Auditor`'s number for its frame (`FindingFrame`: all but its
    events and ground), or -1; equal numbers mean findings equal but for those."""

    def as_json(self) -> dict[str, Any]:
        out = {
            "case": self.case,
            "procedure": {"id": self.procedure_id, "version": self.procedure_version},
            "as_of": self.as_of.isoformat(),
            "recorded_by": self.recorded_by,
            "steps": [{"rule": s.rule, "status": s.status} for s in self.steps],
            "findings": [f.as_json() for f in self.findings],
            "path": list(self.path),
        }
        # An extension key (spec §3 may be extended), present only when there is a warning.
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


class Auditor:
    """Audits cases against one procedure; build once, call `audit` per case."""

    def __init__(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self.machine = ProcedureMachine(procedure)
        self.calendar = WorkingCalendar(
            procedure.calendar.country, procedure.calendar.subdivision
        )
        # A finding is a pure function of its rule, outcome and whose word it is: many cases
        # share one (an unevidenced step, a missed step), so its wording is built once.
        self._findings: dict[tuple[object, ...], tuple[Finding, int, int]] = {}
        self._frames: dict[tuple[object, ...], tuple[FindingFrame, int]] = {}
        self._placed: dict[tuple[int, tuple[int, ...]], Finding] = {}
        # Each rule with its check, its statuses (one shared `RuleStatus` per status), and
        # whether `applies` must be asked first (a rule with conditions; an eligibility
        # rule tests its own).
        self._plan: list[tuple[Rule, Check, dict[str, RuleStatus], bool]] = [
            (rule, CHECKS[rule.check], {}, bool(rule.applies_if) and rule.check != "eligibility")
            for rule in procedure.rules
        ]

    FINDINGS_KEPT = 8_192
    """Distinct findings kept; past that no more are kept (memory stays bounded)."""
    LONGEST_WHOSE = 200
    """The longest `recorded_by` whose findings are kept (memory stays bounded in bytes)."""

    OUTCOME_FIELDS = ("status", "evidence", "events", "detail", "wording", "cite")
    """Every field of `Outcome`, as the cache key below reads them (a test checks the list)."""

    def _frame(
        self, key: tuple[object, ...], rule: Rule, outcome: Outcome, whose: str
    ) -> tuple[FindingFrame, int]:
        framed = self._frames.get(key)
        if framed is None:
            framed = (finding_frame(self.procedure, rule, outcome, whose), -1)
            if len(self._frames) < self.FINDINGS_KEPT:
                framed = self._frames[key] = (framed[0], len(self._frames))
        return framed

    def _finding(self, rule: Rule, outcome: Outcome, whose: str) -> tuple[Finding, int, int]:
        """The finding for an outcome, the number of its wording and of its frame (-1: not
        kept)."""
        # The key is every field of the outcome but its events and details; an outcome
        # with details (dates, counts) is filled in afresh, as they seldom repeat.
        frame_key = (rule.id, whose, outcome.status, outcome.evidence, outcome.wording,
                     outcome.cite)
        detail = outcome.detail
        if len(whose) > self.LONGEST_WHOSE:
            # `recorded_by` is free text: a long one is worded afresh, never kept.
            fresh = finding_frame(self.procedure, rule, outcome, whose)
            return fresh.finding(outcome.events, detail), -1, -1
        if detail:
            frame, frame_number = self._frame(frame_key, rule, outcome, whose)
            return frame.finding(outcome.events, detail), -1, frame_number
        kept = self._findings.get(frame_key)
        if kept is None:
            frame, frame_number = self._frame(frame_key, rule, outcome, whose)
            kept = (frame.finding((), detail), -1, frame_number)
            if len(self._findings) < self.FINDINGS_KEPT:
                # Full: keep what is there. The common wordings come early; clearing would
                # throw them away to make room for rare ones.
                kept = self._findings[frame_key] = (kept[0], len(self._findings), frame_number)
        template, number, frame_number = kept
        if not outcome.events:
            return template, number, frame_number
        # The same wording at the same events (a step missed at the first meeting) is the
        # same finding: shared, as it is immutable.
        key = (number, outcome.events)
        finding = self._placed.get(key) if number >= 0 else None
        if finding is None:
            # A copy with this case's events; dataclasses.replace is ten times slower here.
            finding = placed(vars(template), outcome.events, template.ground)
            if number >= 0 and len(self._placed) < self.FINDINGS_KEPT:
                self._placed[key] = finding
        return finding, number, frame_number

    def audit(self, case: Case, *, as_of: date, name: str | None = None) -> Audit:
        """Audit ``case`` as of ``as_of``; ``name`` is the case id when the file gives none."""
        events = case.dated_order()
        replay = self.machine.replay(events)
        facts = CaseFacts(case, events, replay, as_of, self.procedure, self.calendar)
        steps, findings, wordings, frames = [], [], [], []
        whose = case.whose_word
        for rule, check, statuses, gated in self._plan:
            outcome = NOT_APPLICABLE if gated and not applies(rule, facts) else check(rule, facts)
            word = outcome.status
            status = statuses.get(word)
            if status is None:  # immutable, so one per rule and status serves every case
                status = statuses[word] = RuleStatus(rule.id, word)
            steps.append(status)
            if word not in HOLDS:
                finding, number, frame = self._finding(rule, outcome, whose)
                findings.append(finding)
                wordings.append(number)
                frames.append(frame)
        return Audit(
            case=case.case or name or "case",
            procedure_id=self.procedure.id,
            procedure_version=self.procedure.version,
            as_of=as_of,
            recorded_by=case.recorded_by,
            steps=tuple(steps),
            findings=tuple(findings),
            path=tuple(replay.path),
            warnings=case_warnings(events),
            wordings=tuple(wordings),
            frames=tuple(frames),
        )


def audit(case: Case, procedure: Procedure, *, as_of: date, name: str | None = None) -> Audit:
    """Audit one case; for many cases, build one `Auditor` and reuse it."""
    return Auditor(procedure).audit(case, as_of=as_of, name=name)
