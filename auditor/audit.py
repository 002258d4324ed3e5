"""The front door: ``audit(case, procedure, as_of=...)`` -> `Audit`.

The flow is load -> replay -> findings -> report: `Auditor` holds what is
built once per procedure (the state machine, the working-day calendar) and
audits any number of cases with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from auditor.calendar import WorkingCalendar
from auditor.case import Case
from auditor.checklist import Procedure
from auditor.evaluate import HOLDS, CaseFacts, evaluate
from auditor.findings import Finding, make_finding
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

    def audit(self, case: Case, *, as_of: date, name: str | None = None) -> Audit:
        """Audit ``case`` as of ``as_of``; ``name`` is the case id when the file gives none."""
        events = case.dated_order()
        replay = self.machine.replay(events)
        facts = CaseFacts(case, events, replay, as_of, self.procedure, self.calendar)
        steps, findings = [], []
        for rule in self.procedure.rules:
            outcome = evaluate(rule, facts)
            steps.append(RuleStatus(rule.id, outcome.status))
            if outcome.status not in HOLDS:
                findings.append(make_finding(self.procedure, rule, outcome, case.whose_word))
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
        )


def audit(case: Case, procedure: Procedure, *, as_of: date, name: str | None = None) -> Audit:
    """Audit one case; for many cases, build one `Auditor` and reuse it."""
    return Auditor(procedure).audit(case, as_of=as_of, name=name)
