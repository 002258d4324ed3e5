"""Findings and grounds: what the audit says about each rule that does not hold.

A `Finding` is one rule that is not done, met or not applicable, with the
kind of failure, whose word it rests on, the events behind it, the rule's
sources and how firm they are, and a `ground` phrased no stronger than that
evidence (the wording comes from the checklist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.checklist import Citation, Procedure, Rule
from auditor.evaluate import Outcome


@dataclass(frozen=True)
class SourceRef:
    title: str
    ref: str
    paragraph: str | None
    verification: str

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title, "ref": self.ref}
        if self.paragraph:
            out["paragraph"] = self.paragraph
        out["verification"] = self.verification
        return out


@dataclass(frozen=True)
class Finding:
    """One rule the case breaks, or cannot show was kept (spec §3)."""

    rule: str
    title: str
    kind: str
    evidence: str
    events: tuple[int, ...]
    sources: tuple[SourceRef, ...]
    verification: str
    ground: str
    how_to_evidence: str | None
    question: str

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "evidence": self.evidence,
            "events": list(self.events),
            "source": self.sources[0].as_json(),
            "verification": self.verification,
            "ground": self.ground,
            "title": self.title,
            "sources": [s.as_json() for s in self.sources],
            "how_to_evidence": self.how_to_evidence,
        }


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _words(text: str) -> str:
    return " ".join(text.split())


def ground_text(template: str, values: Mapping[str, str]) -> str:
    """Fill a ground's wording; a placeholder with no value is left empty."""
    filled = _words(template).format_map(_Blank(values))
    return _words(filled.replace(" .", ".").replace(" ,", ","))


def sources_of(
    procedure: Procedure, rule: Rule, extra: tuple[Citation, ...] = ()
) -> tuple[SourceRef, ...]:
    """The rule's sources, then any the outcome adds, each once, in that order."""
    refs: list[SourceRef] = []
    for citation in (*rule.cite, *extra):
        source = procedure.source(citation)
        ref = SourceRef(source.title, source.ref, citation.paragraph, source.verification)
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def make_finding(
    procedure: Procedure, rule: Rule, outcome: Outcome, whose: str
) -> Finding:
    verification = rule.verification
    if outcome.status == "out_of_order" and rule.order_verification is not None:
        # The order may rest on a weaker source than the duty itself.
        verification = rule.order_verification
    values = {
        "title": rule.title,
        "should": _words(rule.should),
        "who": rule.who,
        "whose": whose,
        "authority": _words(procedure.authority[verification]),
        **outcome.detail,
    }
    route = procedure.evidence_routes[rule.evidence_from]
    how = f"{route.title}: {_words(route.how)}" if outcome.status == "unevidenced" else None
    return Finding(
        rule=rule.id,
        title=rule.title,
        kind=outcome.status,
        evidence=outcome.evidence,
        events=outcome.events,
        sources=sources_of(procedure, rule, outcome.cite),
        verification=verification,
        ground=ground_text(procedure.wording(rule, outcome.wording or outcome.status), values),
        how_to_evidence=how,
        question=_words(rule.question),
    )
