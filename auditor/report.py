"""The report people use: one self-contained HTML file, and its PDF.

``render_html(audit, case, procedure, redact=..., case_digest=...)`` turns an
`Audit` into HTML from the jinja2 templates in ``reports/``; ``render_pdf``
prints that HTML to PDF with WeasyPrint. Contracts:

- Deterministic: the output depends only on the arguments (no clock, no
  environment), so the same case and ``--as-of`` give the same bytes, in HTML
  and in PDF (the PDF's dates are the audit date).
- Safe: autoescape is on; nothing from the case is ever inserted unescaped.
- Fast: the jinja2 environment, the template, the stylesheet and everything
  that depends only on the procedure (rule index, diagram layout, working-day
  calendar) are built once and cached; a call only shapes the case's data.
- Redaction (``redact=True``): the claimant's name and NI number, every note
  and ``recorded_by`` (free text that may name someone) are withheld. The
  claimant facts the rules test (benefit, groups, mandatory, preferred
  contact) stay, because the grounds cannot be understood without them.
- Procedure-neutral: all wording about a programme comes from the checklist
  (titles, grounds, next steps) or from the templates; this module only
  shapes data.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from auditor import __version__
from auditor.audit import Audit, Auditor
from auditor.calendar import WorkingCalendar
from auditor.case import Case, Event, redact_case
from auditor.checklist import Condition, NextStep, Procedure, Rule
from auditor.errors import ChecklistError
from auditor.evaluate import HOLDS, STATUSES, spoken_word
from auditor.evaluate import spoken_date as _spoken_date
from auditor.findings import Finding

GROUND_KINDS = frozenset({"ineligible", "missed", "out_of_order", "content", "late"})
"""Finding kinds that support a challenge: the record shows the procedure was not kept.

``unevidenced`` (nothing recorded either way) and ``pending`` (not due yet)
are not grounds; the report lists them as things to check.
"""

# "Strongest first" (README, "The report"): how firm the rule's source is,
# then how firm the evidence is, then how serious the failure is, then
# checklist order. Dates worked out from the record come before a statement,
# because they do not rest on anyone's recollection.
_VERIFICATION_RANK = {"verified": 0, "secondary": 1, "forum": 2}
_EVIDENCE_RANK = {"dates": 0, "statement": 1, "none": 2}
_KIND_RANK = {"ineligible": 0, "missed": 1, "out_of_order": 2, "content": 3, "late": 4}

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
PARTS = "parts.html.j2"


def reports_dir() -> Path:
    """Where the report templates are: beside the package in a checkout, inside it when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "reports", here.parent / "reports"):
        if (candidate / TEMPLATE).is_file():
            return candidate
    raise ChecklistError("the report templates are missing from this installation")


@cache
def _environment() -> Environment:
    folder = reports_dir()
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["squash"] = _squash
    env.filters["capfirst"] = _capfirst
    env.filters["spoken"] = spoken_word
    env.filters["ordinal"] = _ordinal
    # The stylesheet is ours, not the case's: inlined once so the report is one file.
    css = (folder / STYLESHEET).read_text(encoding="utf-8")
    env.globals["stylesheet"] = Markup(css)
    return env


def _squash(text: str) -> str:
    """Folded YAML keeps line breaks in places; the report wants one line of words."""
    return " ".join(str(text).split())


def _capfirst(text: str) -> str:
    # Not jinja's `capitalize`, which lowercases the rest ("WHPL006" must stay).
    text = str(text)
    return text[:1].upper() + text[1:]


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@cache
def _template() -> Template:
    return _environment().get_template(TEMPLATE)


# A report speaks the same few dates many times; formatting them is a measurable cost.
spoken_date = lru_cache(maxsize=8192)(_spoken_date)


@cache
def _calendar(country: str, subdivision: str | None) -> WorkingCalendar:
    return WorkingCalendar(country, subdivision)


@dataclass(frozen=True)
class _Node:
    """One milestone box of the procedure diagram, laid out once per procedure."""

    state: str
    label: str
    y: int


@dataclass(frozen=True)
class _RuleParts:
    """A rule's pre-rendered HTML (from parts.html.j2): the same in every report."""

    should: Markup
    source_titles: Markup
    head: Markup


@dataclass(frozen=True)
class _Fragments:
    """The procedure's pre-rendered HTML, passed to the template as ``pre``."""

    badge: dict[str, Markup]
    rules: dict[str, _RuleParts]
    steps: dict[str, Markup]
    routes: dict[str, Markup]


def hole(n: int) -> Markup:
    """A placeholder for the ``n``-th value of a `_Skeleton`, passed to a macro instead of it."""
    return Markup(f"\x00hole{n}\x00")


_HOLE = re.compile("\x00hole([0-9]+)\x00")


@dataclass(frozen=True)
class _Skeleton:
    """A macro's output rendered once with `hole` placeholders for some values.

    A macro that only prints a value (``{{ value }}``, autoescaped) gives the
    same text as its skeleton with the hole replaced by ``escape(value)``. So
    a skeleton is cached by everything else the macro reads (including the
    truth of each holed value, which ``if`` tests may read), and `fill` puts
    the values in. The values are escaped exactly as autoescape would
    (a `Markup` value, already HTML, goes in as it is). The placeholders
    exist only in the skeleton: a value is never scanned for them.
    """

    texts: tuple[str, ...]
    holes: tuple[int, ...]

    @classmethod
    def of(cls, rendered: str) -> _Skeleton:
        parts = _HOLE.split(rendered)
        return cls(tuple(parts[0::2]), tuple(int(n) for n in parts[1::2]))

    def fill(self, *values: object) -> Markup:
        texts = self.texts
        out = [texts[0]]
        for text, n in zip(texts[1:], self.holes, strict=True):
            out += (escape(values[n]), text)
        return Markup("".join(out))


@dataclass(frozen=True)
class _Prepared:
    """What depends only on the procedure: built once, reused for every report."""

    procedure: Procedure
    fragments: _Fragments
    rules: dict[str, Rule]
    order: dict[str, int]
    event_labels: dict[str, str]
    nodes: tuple[_Node, ...]
    diagram_height: int
    calendar: WorkingCalendar
    auditor: Auditor
    fragments_of_cases: dict[tuple[Any, ...], Markup]
    gaps: dict[tuple[date, date], tuple[int, int]]
    skeletons: dict[tuple[Any, ...], _Skeleton]

    def skeleton(self, key: tuple[Any, ...], make: Callable[[], str]) -> _Skeleton:
        """A piece rendered once with holes (see `_Skeleton`), memoised by its shape."""
        found = self.skeletons.get(key)
        if found is None:
            if len(self.skeletons) > 50_000:
                self.skeletons.clear()
            found = self.skeletons[key] = _Skeleton.of(make())
        return found

    def gap(self, earlier: date, later: date) -> tuple[int, int]:
        """Calendar and working days from ``earlier`` to ``later``, memoised (bounded)."""
        found = self.gaps.get((earlier, later))
        if found is None:
            if len(self.gaps) > 50_000:
                self.gaps.clear()
            found = self.gaps[(earlier, later)] = (
                self.calendar.days_between(earlier, later, "calendar"),
                self.calendar.days_between(earlier, later, "working"),
            )
        return found

    def fragment(self, key: tuple[Any, ...], make: Callable[[], Markup]) -> Markup:
        """A rendered piece of a report, memoised: rows and diagram boxes recur across cases.

        The key holds everything the piece depends on, so a hit is exactly
        what rendering would give. Bounded: cleared when it grows large.
        """
        found = self.fragments_of_cases.get(key)
        if found is None:
            found = self.keep(key, make())
        return found

    def keep(self, key: tuple[Any, ...], piece: Markup) -> Markup:
        """Remember a rendered piece under the key that holds all it depends on."""
        if len(self.fragments_of_cases) > 50_000:
            self.fragments_of_cases.clear()
        self.fragments_of_cases[key] = piece
        return piece


DIAGRAM_BOX = 40
DIAGRAM_GAP = 18

_PREPARED: dict[int, _Prepared] = {}


def _prepared(procedure: Procedure) -> _Prepared:
    # Keyed by identity: a Procedure is not hashable (it holds lists), and one
    # process audits against very few procedures. The entry keeps it alive.
    found = _PREPARED.get(id(procedure))
    if found is not None and found.procedure is procedure:
        return found
    step = DIAGRAM_BOX + DIAGRAM_GAP
    nodes = tuple(
        _Node(m.state, m.label, 8 + n * step) for n, m in enumerate(procedure.milestones)
    )
    prepared = _Prepared(
        procedure=procedure,
        fragments=_fragments(procedure),
        rules={r.id: r for r in procedure.rules},
        order={r.id: n for n, r in enumerate(procedure.rules)},
        event_labels={m.event: m.label for m in procedure.milestones},
        nodes=nodes,
        diagram_height=16 + len(nodes) * step - DIAGRAM_GAP,
        calendar=_calendar(procedure.calendar.country, procedure.calendar.subdivision),
        auditor=Auditor(procedure),
        fragments_of_cases={},
        gaps={},
        skeletons={},
    )
    if len(_PREPARED) > 16:
        _PREPARED.clear()
    _PREPARED[id(procedure)] = prepared
    return prepared


@cache
def _words() -> Any:
    """parts.html.j2 as a module: its vocabulary (STATUS, FIRM) and fragment macros."""
    return _environment().get_template(PARTS).module


def _fragments(procedure: Procedure) -> _Fragments:
    words = _words()
    sources = procedure.sources
    return _Fragments(
        badge={name: Markup(words.status(name)) for name in STATUSES},
        rules={
            rule.id: _RuleParts(
                should=Markup(words.should(rule)),
                source_titles=Markup(words.source_titles(rule, sources)),
                head=Markup(words.rule_head(rule)),
            )
            for rule in procedure.rules
        },
        steps={step.id: Markup(words.next_step(step, sources)) for step in procedure.next_steps},
        routes={
            name: Markup(words.route(route, sources))
            for name, route in procedure.evidence_routes.items()
        },
    )


def ground_order(finding: Finding, order: dict[str, int]) -> tuple[int, int, int, int]:
    """Sort key for grounds, strongest first (see the module's comment on the ranks)."""
    return (
        _VERIFICATION_RANK.get(finding.verification, 9),
        _EVIDENCE_RANK.get(finding.evidence, 9),
        _KIND_RANK.get(finding.kind, 9),
        order.get(finding.rule, 0),
    )


def _applies(step: NextStep, case: Case) -> bool:
    return all(_holds(condition, case) for condition in step.applies_if)


def _holds(condition: Condition, case: Case) -> bool:
    """A next step's condition; unknown is "does not hold" (only fact and recorded tests)."""
    if condition.fact is not None:
        value = case.claimant.fact(condition.fact)
        if value is None:
            return False
        if condition.is_ is not None:
            return bool(value == condition.is_)
        if condition.in_ is not None:
            return value in condition.in_
        return value not in (condition.not_in or [])
    if condition.recorded is not None:
        return any(e.happened and e.type == condition.recorded for e in case.events)
    return False


_SHOWN_FIELDS = tuple(
    name for name in Event.model_fields if name not in ("on", "type", "note", "happened", "steps")
)
"""The yes/no and channel facts an event may carry, in the case format's field order."""
_SPOKEN_FIELDS = tuple(spoken_word(name) for name in _SHOWN_FIELDS)
_shown_values = operator.attrgetter(*_SHOWN_FIELDS)


def _event_fields(values: tuple[object, ...]) -> list[tuple[str, object]]:
    """The facts recorded for an event (``values`` in `_SHOWN_FIELDS` order), as shown."""
    return [
        (spoken, value)
        for spoken, value in zip(_SPOKEN_FIELDS, values, strict=True)
        if value is not None
    ]


def _event_view(event: Event, values: tuple[object, ...], prepared: _Prepared,
                redact: bool) -> dict[str, Any]:
    return {
        "type": event.type,
        "label": prepared.event_labels.get(event.type, spoken_word(event.type)),
        "happened": event.happened,
        "fields": _event_fields(values),
        "steps": [
            {
                "number": number,
                "status": record.status,
                "note": None if redact else record.note,
                "had_note": record.note is not None,
            }
            for number, record in sorted(event.steps.items())
        ],
        "note": None if redact else event.note,
        "had_note": event.note is not None,
    }


def _what_cell(event: Event, prepared: _Prepared, redact: bool) -> Markup:
    """The "What" cell of an event's timeline row.

    Cached only when the event carries no note: then it depends on nothing but
    the key (type, happened, the shown facts, the steps' statuses). An event
    with a note (the case's own words) is rendered afresh, never cached.
    """
    values = _shown_values(event)
    steps = event.steps
    noted = event.note is not None
    if steps:
        statuses = []
        for number, record in sorted(steps.items()):
            if record.note is not None:
                noted = True
            statuses.append((number, record.status))
        shown_steps: tuple[tuple[int, str], ...] = tuple(statuses)
    else:
        shown_steps = ()
    if noted:
        return Markup(_words().event_what(_event_view(event, values, prepared, redact), redact))
    key = ("what", event.type, event.happened, values, shown_steps, redact)
    found = prepared.fragments_of_cases.get(key)
    if found is None:
        found = prepared.keep(
            key, Markup(_words().event_what(_event_view(event, values, prepared, redact), redact))
        )
    return found


def _timeline(events: list[Event], prepared: _Prepared, redact: bool) -> Markup:
    """The timeline's rows, from pieces cached by what each depends on (see parts.html.j2)."""
    words = _words()
    cached = prepared.fragments_of_cases
    keep = prepared.keep
    pieces: list[str] = []
    previous: date | None = None
    for index, event in enumerate(events):
        number = index + 1
        head = cached.get(("event", number))
        if head is None:
            head = keep(("event", number), Markup(words.event_head(number)))
        on = event.on
        when = cached.get(("on", on))
        if when is None:
            if on is None:
                when = keep(("on", on), Markup(words.event_date(None, None, None)))
            else:
                when = keep(("on", on), prepared.skeleton(
                    ("on",), lambda: str(words.event_date(hole(0), hole(1), hole(2)))
                ).fill(spoken_date(on), on.isoformat(), f"{on:%A}"))
        if on is not None and previous is not None:
            days = prepared.gap(previous, on)
            gap = cached.get(("gap", days))
            if gap is None:
                gap = keep(
                    ("gap", days),
                    Markup(words.event_gap({"calendar": days[0], "working": days[1]})),
                )
        else:
            gap = cached.get(("gap",))
            if gap is None:
                gap = keep(("gap",), Markup(words.event_gap(None)))
        pieces += (head, when, _what_cell(event, prepared, redact), gap)
        if on is not None:
            previous = on
    return Markup("".join(pieces))


Refs = tuple[tuple[int, str, str | None], ...]


def _refs(finding: Finding, events: list[Event], prepared: _Prepared) -> Refs:
    """The events behind a finding: (number shown, label, spoken date)."""
    return tuple(
        (
            index + 1,
            prepared.event_labels.get(events[index].type, spoken_word(events[index].type)),
            spoken_date(on) if (on := events[index].on) else None,
        )
        for index in finding.events
        if 0 <= index < len(events)
    )


def _refs_html(refs: Refs, prepared: _Prepared) -> Markup:
    """event_refs(refs): a skeleton cached by the events' numbers and labels, dates filled in."""
    shape = tuple((number, label, on is not None) for number, label, on in refs)
    dates = [on for _, _, on in refs if on is not None]

    def make() -> str:
        holes = iter(range(len(dates)))
        return str(_words().event_refs(
            tuple((number, label, hole(next(holes)) if dated else None)
                  for number, label, dated in shape)
        ))

    return prepared.skeleton(("refs", shape), make).fill(*dates)


def _finding_view(
    finding: Finding, rule: Rule, events: list[Event], prepared: _Prepared, whose: str,
    refs_html: Markup,
) -> dict[str, Any]:
    words = _words()
    parts = prepared.fragments.rules[rule.id]
    return {
        "finding": finding,
        "rule": rule,
        "top": prepared.fragment(
            ("top", rule.id, finding.kind, finding.verification),
            lambda: Markup(words.ground_top(rule, finding.kind, finding.verification, parts)),
        ),
        "middle": prepared.fragment(
            ("middle", rule.id, finding.sources),
            lambda: Markup(words.ground_middle(rule, finding.sources)),
        ),
        "end": prepared.fragment(
            ("end", rule.id, finding.sources),
            lambda: Markup(words.ground_end(rule, finding.sources)),
        ),
        "refs": refs_html,
        "shown": prepared.fragment(
            ("shown", finding.evidence, whose), lambda: Markup(words.shown(finding.evidence, whose))
        ),
        "notes": _notes(finding, rule, events),
    }


def _row(
    rule: Rule, status: str, finding: Finding | None, refs: Refs, refs_html: Markup,
    prepared: _Prepared, whose: str,
) -> tuple[Markup, Markup, Markup]:
    """A row of the procedure table as three cached pieces (see row_start in parts.html.j2)."""
    words = _words()
    parts = prepared.fragments.rules[rule.id]
    cached = prepared.fragments_of_cases
    start = cached.get(("row-start", rule.id, status))
    if start is None:
        start = prepared.keep(("row-start", rule.id, status), Markup(words.row_start(parts, status)))
    if finding is not None:
        evidence: str | None = finding.evidence
        verification = finding.verification
    else:
        evidence, verification = None, rule.verification
    # The key holds exactly what row_evidence reads in each of its branches; the
    # events (refs_html, printed only) are a hole.
    if evidence:
        cell = prepared.skeleton(
            ("evidence", evidence, whose, bool(refs_html)),
            lambda: str(words.row_evidence(
                rule, status, evidence, hole(0) if refs_html else Markup(""), whose
            )),
        ).fill(refs_html)
    else:
        key = ("evidence-none", status, rule.check, whose)
        plain = cached.get(key)
        cell = plain if plain is not None else prepared.keep(
            key, Markup(words.row_evidence(rule, status, None, Markup(""), whose))
        )
    end = cached.get(("row-end", rule.id, verification))
    if end is None:
        end = prepared.keep(
            ("row-end", rule.id, verification), Markup(words.row_end(parts, verification))
        )
    return start, cell, end


def _notes(finding: Finding, rule: Rule, events: list[Event]) -> list[str]:
    """The case's own notes behind a finding: the step's note for a step, else the events'."""
    notes: list[str] = []
    for index in finding.events:
        if not 0 <= index < len(events):
            continue
        event = events[index]
        if rule.step is not None:
            record = event.steps.get(rule.step)
            if record is not None and record.note:
                notes.append(record.note)
        elif event.note:
            notes.append(event.note)
    return notes


def _diagram(path: tuple[str, ...], prepared: _Prepared) -> Markup:
    """The section "Your path through the procedure": cached by the path, all it depends on."""
    key = ("diagram", path)
    found = prepared.fragments_of_cases.get(key)
    if found is not None:
        return found
    words = _words()
    reached = {state: n + 1 for n, state in enumerate(path)}
    node_html = [
        prepared.fragment(
            ("node", node.state, reached.get(node.state), first),
            lambda node=node, first=first: Markup(  # type: ignore[misc]
                words.node(node, reached.get(node.state), DIAGRAM_BOX, DIAGRAM_GAP, first)
            ),
        )
        for first, node in zip(
            [True] + [False] * (len(prepared.nodes) - 1), prepared.nodes, strict=True
        )
    ]
    path_labels = [n.label for state in path for n in prepared.nodes if n.state == state]
    return prepared.keep(
        key,
        Markup(words.diagram(prepared.nodes, reached, node_html, path_labels,
                             prepared.diagram_height)),
    )


def render_html(
    audit: Audit,
    case: Case,
    procedure: Procedure,
    *,
    redact: bool = False,
    case_digest: str,
) -> str:
    """The report as one self-contained HTML document (no network, no script).

    ``case_digest`` is shown in the footer (the CLI passes the hex SHA-256 of
    the case file's bytes). With ``redact``, personal fields are withheld
    everywhere, including "whose word" inside the grounds (the case is then
    re-audited without ``recorded_by``, as of the same date).
    """
    prepared = _prepared(procedure)
    if redact:
        had_author = case.recorded_by is not None
        case = redact_case(case)
        if had_author:
            audit = prepared.auditor.audit(case, as_of=audit.as_of, name=audit.case)
    events = case.dated_order()
    whose = case.whose_word
    # Each finding's events, shown as links: worked out once, used by its row and its ground.
    refs_of: dict[int, tuple[Refs, Markup]] = {}
    for finding in audit.findings:
        refs = _refs(finding, events, prepared)
        refs_of[id(finding)] = (refs, _refs_html(refs, prepared))
    by_rule = {f.rule: f for f in audit.findings}
    rows: list[str] = []
    for status in audit.steps:
        rule = prepared.rules.get(status.rule)
        if rule is None:
            continue
        found = by_rule.get(status.rule)
        refs, refs_html = refs_of[id(found)] if found else ((), Markup(""))
        rows += _row(rule, status.status, found, refs, refs_html, prepared, whose)
    grounds = sorted(
        (f for f in audit.findings if f.kind in GROUND_KINDS),
        key=lambda f: ground_order(f, prepared.order),
    )
    counts: dict[str, int] = {}
    for finding in audit.findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    unevidenced = [f for f in audit.findings if f.kind == "unevidenced"]
    routes: dict[str, list[Rule]] = {}
    for finding in unevidenced:
        rule = prepared.rules[finding.rule]
        routes.setdefault(rule.evidence_from, []).append(rule)
    next_steps = [
        step
        for step in procedure.next_steps
        if (grounds or not step.if_grounds) and _applies(step, case)
    ]
    context = {
        "version": __version__,
        "audit": audit,
        "case": case,
        "redact": redact,
        "digest": case_digest,
        "procedure": procedure,
        "as_of": spoken_date(audit.as_of),
        "as_of_iso": audit.as_of.isoformat(),
        "whose": whose,
        "counts": counts,
        # How many grounds rest on each kind of source, for the verdict.
        "ground_sources": {
            firm: sum(1 for f in grounds if f.verification == firm)
            for firm in ("verified", "secondary", "forum")
        },
        "held": sum(1 for s in audit.steps if s.status in HOLDS and s.status != "not_applicable"),
        "grounds": [
            _finding_view(
                f, prepared.rules[f.rule], events, prepared, whose, refs_of[id(f)][1]
            )
            for f in grounds
        ],
        # The template only counts these, and shows each pending one's rule title and ground.
        "unevidenced": unevidenced,
        "pending": [
            {"rule": prepared.rules[f.rule], "finding": f}
            for f in audit.findings
            if f.kind == "pending"
        ],
        "rows": Markup("".join(rows)),
        "timeline": _timeline(events, prepared, redact),
        "routes": [
            (name, procedure.evidence_routes[name], rules) for name, rules in routes.items()
        ],
        "pre": prepared.fragments,
        "words": _words(),
        "next_steps": next_steps,
        "diagram": _diagram(audit.path, prepared),
    }
    return _template().render(context)


def render_pdf(html: str) -> bytes:
    """Print the report's HTML to A4 PDF with WeasyPrint: selectable text, page numbers.

    Deterministic: the document's dates come from its ``dcterms.created`` /
    ``dcterms.modified`` meta tags (the audit date), and the PDF identifier
    is fixed, so the same HTML gives the same bytes. Only local fonts are used.
    """
    from weasyprint import HTML  # imported here: it is slow to import and JSON does not need it

    document = HTML(string=html, base_url=None).render()
    data = document.write_pdf(pdf_identifier=b"whp-audit-report", pdf_tags=True)
    assert isinstance(data, bytes)
    return data
