"""Findings and grounds: what the audit says about each rule that does not hold.

A `Finding` is one rule that is not done, met or not applicable, with the
kind of failure, whose word it rests on, the events behind it, the rule's
sources and how firm they are, and a `ground` phrased no stronger than that
evidence (the wording comes from the checklist).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

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


@dataclass(frozen=True)
class FindingFrame:
    """A finding with blanks for what differs from case to case: its events, and the
    details (dates, counts) filled into its ground. Built once per rule, kind, wording,
    extra sources and whose word it is; `finding` fills it in."""

    rule: str
    title: str
    kind: str
    evidence: str
    sources: tuple[SourceRef, ...]
    verification: str
    template: str
    values: Mapping[str, str]
    how_to_evidence: str | None
    question: str

    def finding(self, events: tuple[int, ...], detail: Mapping[str, str]) -> Finding:
        filled: str
        fill = self._fill
        if fill is not None and fill.fixed.isdisjoint(detail):
            # The frame's own values are in the wording already; only the details are left.
            filled = fill.wording.format_map(_Blank(detail)) if fill.open else fill.wording
        else:
            values = {**self.values, **detail} if detail else self.values
            filled = self.template.format_map(_Blank(values))
        if not _plain_words(filled):
            filled = _words(filled.replace(" .", ".").replace(" ,", ","))
        return placed(self._finding_fields, events, filled)

    @cached_property
    def _fill(self) -> _Fill | None:
        """The wording with the frame's own values filled in (None: fill it afresh)."""
        return prefill(self.template, self.values)

    @cached_property
    def _finding_fields(self) -> dict[str, Any]:
        """A finding's fields, in `Finding`'s order, but for its events and ground."""
        return {
            "rule": self.rule,
            "title": self.title,
            "kind": self.kind,
            "evidence": self.evidence,
            "events": (),
            "sources": self.sources,
            "verification": self.verification,
            "ground": "",
            "how_to_evidence": self.how_to_evidence,
            "question": self.question,
        }


def placed(fields: Mapping[str, Any], events: tuple[int, ...], ground: str) -> Finding:
    """The `Finding` with ``fields`` (all of `Finding`'s, in its order) but its events and
    ground, as `Finding(...)` would build it, at a fifth of the cost: a frozen
    dataclass's __init__ sets each field in turn."""
    finding: Finding = object.__new__(Finding)
    values = vars(finding)
    values.update(fields)
    values["events"] = events
    values["ground"] = ground
    return finding


class _Fill(NamedTuple):
    wording: str
    """The template with the given values in it: a format string, if ``open``, whose
    placeholders are those the values do not give; else the text itself."""
    fixed: frozenset[str]
    """The placeholders filled in (a detail that gives one must be filled afresh)."""
    open: bool
    """Whether placeholders are left."""


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def prefill(template: str, values: Mapping[str, str]) -> _Fill | None:
    """``template`` with ``values`` filled in, leaving the rest of its placeholders, so
    that ``wording.format_map(_Blank(detail))`` is ``template.format_map(_Blank({**values,
    **detail}))`` for any ``detail`` that gives none of ``fixed``. None if the template
    has a placeholder other than a plain ``{name}`` (a conversion, a format spec, an
    index) or is not a valid format string: those are filled afresh, as before."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    parts: list[str] = []
    fixed: set[str] = set()
    left: set[str] = set()
    for literal, name, spec, conversion in parsed:
        parts.append(_escape(literal))
        if name is None:
            continue
        if spec or conversion is not None or not name.isidentifier():
            return None
        if name in values:
            # As str.format puts a value with no conversion and no spec.
            parts.append(_escape(format(values[name], "")))
            fixed.add(name)
        else:
            parts.append("{" + name + "}")
            left.add(name)
    wording = "".join(parts)
    if not left:
        wording = wording.format_map({})  # only escaped braces left
    return _Fill(wording, frozenset(fixed), bool(left))


def _plain_words(text: str) -> bool:
    """Whether ``_words(text.replace(" .", ".").replace(" ,", ","))`` is ``text``: the
    only whitespace printable text may hold is the space (a test checks this over all
    of Unicode), so with no space doubled, at either end, or before "." or ",", neither
    the replacing nor the splitting and joining changes anything."""
    return (
        text.isprintable()
        and "  " not in text
        and " ." not in text
        and " ," not in text
        and not text.startswith(" ")
        and not text.endswith(" ")
    )


def finding_frame(procedure: Procedure, rule: Rule, outcome: Outcome, whose: str) -> FindingFrame:
    """The frame of the findings of ``rule`` with ``outcome``'s status, evidence, wording
    and extra sources (its events and details are not read)."""
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
    }
    route = procedure.evidence_routes[rule.evidence_from]
    how = f"{route.title}: {_words(route.how)}" if outcome.status == "unevidenced" else None
    return FindingFrame(
        rule=rule.id,
        title=rule.title,
        kind=outcome.status,
        evidence=outcome.evidence,
        sources=sources_of(procedure, rule, outcome.cite),
        verification=verification,
        template=_words(procedure.wording(rule, outcome.wording or outcome.status)),
        values=values,
        how_to_evidence=how,
        question=_words(rule.question),
    )


def make_finding(
    procedure: Procedure, rule: Rule, outcome: Outcome, whose: str
) -> Finding:
    """The finding for ``outcome`` of ``rule``; its ground is worded from the checklist."""
    frame = finding_frame(procedure, rule, outcome, whose)
    return frame.finding(outcome.events, outcome.detail)
