"""The caseload summary: counters over audited cases, never the cases themselves.

A *breach* is a finding the case shows: of kind ``missed``, ``out_of_order``,
``late``, ``ineligible`` or ``content``. ``unevidenced`` (nothing recorded)
and ``pending`` (deadline not reached) are findings but not breaches: unknown
is never counted as a failure. A case *conforms* when it has no breach; it is
*fully evidenced* when it has no finding at all.

Memory is bounded: per-rule and per-kind counters, and a fixed number of the
cases with most grounds (a heap), whatever the caseload's size.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from auditor.checklist import Procedure

BREACHES = ("missed", "out_of_order", "late", "ineligible", "content")
KINDS = (*BREACHES, "unevidenced", "pending")
EVIDENCE = ("statement", "dates", "none")
VERIFICATION = ("verified", "secondary", "forum")
TOP_CASES = 25
_BREACH_KINDS = frozenset(BREACHES)
_KIND = itemgetter(1)


class CaseSummary(NamedTuple):
    """What the summary needs of one audited case: small, and quick to send between processes."""

    seq: int
    name: str
    statuses: str
    """Each rule's status, in checklist order, joined by spaces."""
    findings: str
    """Each finding as ``rule:kind:evidence``, joined by spaces ('' for none)."""
    report: str | None = None

    @classmethod
    def of(cls, seq: int, name: str, statuses: Iterable[str],
           findings: Iterable[tuple[str, str, str]], report: str | None) -> CaseSummary:
        return cls(seq, name, " ".join(statuses), " ".join(":".join(f) for f in findings),
                   report)


class Tally(NamedTuple):
    """The counts of part of a caseload, as plain data: cheap to send between processes."""

    audited: int
    conforming: int
    clean: int
    by_rule: dict[str, dict[str, int]]
    kinds: dict[str, int]
    evidence: dict[str, int]
    breach_evidence: dict[str, int]
    breach_verification: dict[str, int]
    top: list[tuple[int, int, int, str, str | None]]


@dataclass
class CaseloadStats:
    """Running counts over a caseload; `add` each audited case, `reject` each refused one."""

    procedure: Procedure
    audited: int = 0
    rejected: int = 0
    conforming: int = 0
    clean: int = 0
    by_rule: dict[str, Counter[str]] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    evidence: Counter[str] = field(default_factory=Counter)
    breach_evidence: Counter[str] = field(default_factory=Counter)
    breach_verification: Counter[str] = field(default_factory=Counter)
    _top: list[tuple[int, int, int, str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_rule = {rule.id: Counter() for rule in self.procedure.rules}
        self._verification = {rule.id: rule.verification for rule in self.procedure.rules}
        self._in_order = list(self.by_rule.values())
        # Counted in C per case (`Counter.update`), and into the counters above only when
        # they are read: (rule's position, status) and (rule, kind, evidence).
        self._positions = range(len(self._in_order))
        self._statuses: Counter[tuple[int, str]] = Counter()
        self._found: Counter[tuple[str, ...]] = Counter()

    def _settle(self) -> None:
        """Count what `count` held into the counters."""
        for (position, status), cases in self._statuses.items():
            self._in_order[position][status] += cases
        self._statuses.clear()
        for (rule, kind, evidence), cases in self._found.items():
            self.kinds[kind] += cases
            self.evidence[evidence] += cases
            if kind in BREACHES:
                self.breach_evidence[evidence] += cases
                self.breach_verification[self._verification[rule]] += cases
        self._found.clear()

    def add(self, case: CaseSummary) -> None:
        self.count(
            case.seq, case.name, case.statuses.split(" "),
            [tuple(f.split(":")) for f in case.findings.split(" ")] if case.findings else [],
            case.report,
        )

    def count(self, seq: int, name: str, statuses: Iterable[str],
              findings: Iterable[tuple[str, ...]], report: str | None = None) -> None:
        """Count one audited case: each rule's status, in checklist order, and each
        finding as (rule, kind, evidence)."""
        statuses = tuple(statuses)
        if len(statuses) != len(self._in_order):
            raise ValueError(
                f"{len(statuses)} statuses for a checklist of {len(self._in_order)} rules"
            )
        findings = tuple(findings)
        self.audited += 1
        self._statuses.update(zip(self._positions, statuses, strict=True))
        found = len(findings)
        breaches = 0
        if found:
            self._found.update(findings)
            breaches = sum(map(_BREACH_KINDS.__contains__, map(_KIND, findings)))
        if breaches == 0:
            self.conforming += 1
        if not found:
            self.clean += 1
        if breaches:
            # Most breaches first, then most findings, then input order.
            self._offer((breaches, found, -seq, name, report))

    def _offer(self, entry: tuple[int, int, int, str, str | None]) -> None:
        # Input order (seq) makes the ranking total, so the top cases do not depend on
        # the order in which parts of the caseload are counted.
        if len(self._top) < TOP_CASES:
            heapq.heappush(self._top, entry)
        elif entry[:3] > self._top[0][:3]:
            heapq.heapreplace(self._top, entry)

    def tally(self) -> Tally:
        """These counts as plain data, for `absorb` in another process."""
        self._settle()
        return Tally(
            self.audited, self.conforming, self.clean,
            {rule: dict(counts) for rule, counts in self.by_rule.items() if counts},
            dict(self.kinds), dict(self.evidence), dict(self.breach_evidence),
            dict(self.breach_verification), list(self._top),
        )

    def absorb(self, tally: Tally) -> None:
        """Add the counts of another part of the caseload (any order gives the same sums)."""
        self._settle()
        self.audited += tally.audited
        self.conforming += tally.conforming
        self.clean += tally.clean
        for rule, counts in tally.by_rule.items():
            self.by_rule[rule].update(counts)
        self.kinds.update(tally.kinds)
        self.evidence.update(tally.evidence)
        self.breach_evidence.update(tally.breach_evidence)
        self.breach_verification.update(tally.breach_verification)
        for entry in tally.top:
            self._offer(entry)

    def reject(self) -> None:
        self.rejected += 1

    def rate(self, count: int) -> float:
        return count / self.audited if self.audited else 0.0

    def top_cases(self) -> list[dict[str, Any]]:
        ranked = sorted(self._top, key=lambda e: (-e[0], -e[1], -e[2]))
        return [
            {"name": name, "breaches": b, "findings": f, "report": report}
            for b, f, _, name, report in ranked
        ]

    def rules(self) -> list[dict[str, Any]]:
        """One row per rule, in checklist order: cases breaching it, and the other findings."""
        self._settle()
        rows = []
        for rule in self.procedure.rules:
            counts = self.by_rule[rule.id]
            breach = sum(counts[k] for k in BREACHES)
            rows.append({
                "id": rule.id,
                "title": rule.title,
                "verification": rule.verification,
                "breach": breach,
                "breach_rate": self.rate(breach),
                "by_kind": {k: counts[k] for k in BREACHES if counts[k]},
                "unevidenced": counts["unevidenced"],
                "unevidenced_rate": self.rate(counts["unevidenced"]),
                "pending": counts["pending"],
                "applies": self.audited - counts["not_applicable"],
            })
        return rows

    def as_context(self) -> dict[str, Any]:
        """Everything the index page shows, as plain data."""
        self._settle()
        total = sum(self.kinds.values())
        return {
            "procedure": {"id": self.procedure.id, "version": self.procedure.version,
                          "title": self.procedure.title},
            "audited": self.audited,
            "rejected": self.rejected,
            "cases": self.audited + self.rejected,
            "conforming": self.conforming,
            "conformance_rate": self.rate(self.conforming),
            "clean": self.clean,
            "clean_rate": self.rate(self.clean),
            "rules": self.rules(),
            "findings": total,
            "kinds": [(k, self.kinds[k], self.kinds[k] / total if total else 0.0) for k in KINDS],
            "evidence": [
                (e, self.evidence[e], self.evidence[e] / total if total else 0.0) for e in EVIDENCE
            ],
            "breach_evidence": _shares(self.breach_evidence, EVIDENCE),
            "breach_verification": _shares(self.breach_verification, VERIFICATION),
            "top": self.top_cases(),
        }


def _shares(counter: Counter[str], keys: tuple[str, ...]) -> list[tuple[str, int, float]]:
    total = sum(counter[k] for k in keys)
    return [(k, counter[k], counter[k] / total if total else 0.0) for k in keys]
