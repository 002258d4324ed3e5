"""The pre-meeting sheet: a printable A4 page made from a procedure's data alone.

`build_sheet` turns a `Procedure` into a `Sheet`: every word on it comes from
the checklist (the ``preparation`` section, and each rule's title, ``should``,
``question``, sources and status), so a rule added to the YAML appears on the
sheet with no code change. `render_html` fills ``reports/sheet.html.j2``;
`render_pdf` prints that HTML with WeasyPrint, imported only when a PDF is
asked for. The same procedure always gives the same bytes: nothing here reads
the clock or depends on the order of a set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from auditor.checklist import Citation, PrepItem, Procedure, Rule
from auditor.errors import ChecklistError
from auditor.output import write_atomic

TEMPLATE = "sheet.html.j2"


class SheetError(Exception):
    """The sheet cannot be produced (e.g. PDF asked for without WeasyPrint)."""


@dataclass(frozen=True)
class SourceRef:
    """A pointer from an item to the numbered source list, with the paragraph if known."""

    number: int
    paragraph: str | None


@dataclass(frozen=True)
class SheetItem:
    """One tick-box item: its text, the question to ask, and where it comes from."""

    key: str
    heading: str | None
    text: str
    question: str | None
    verification: str
    status: str
    refs: tuple[SourceRef, ...]


@dataclass(frozen=True)
class SheetGroup:
    heading: str | None
    items: tuple[SheetItem, ...]


@dataclass(frozen=True)
class SheetSection:
    """A part of the sheet; ``kind`` is "items", "steps" or "questions" (how it is laid out)."""

    key: str
    heading: str
    intro: str | None
    kind: str
    groups: tuple[SheetGroup, ...]


@dataclass(frozen=True)
class SheetSource:
    number: int
    title: str
    ref: str
    verification: str
    status: str


@dataclass(frozen=True)
class Sheet:
    """Everything the template shows, in order."""

    title: str
    intro: str
    not_advice: str
    form: tuple[str, ...]
    status_intro: str
    statuses: tuple[tuple[str, str], ...]
    sections: tuple[SheetSection, ...]
    words: tuple[tuple[str, str], ...]
    sources: tuple[SheetSource, ...]
    procedure: str
    version: str


def sentence(text: str) -> str:
    """One line of text, capitalised, ending with a full stop (or ? or !)."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


class _Sources:
    """Numbers sources in the order the sheet first cites them."""

    def __init__(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self.numbers: dict[str, int] = {}

    def refs(self, cites: list[Citation]) -> tuple[SourceRef, ...]:
        out = []
        for citation in cites:
            number = self.numbers.setdefault(citation.source, len(self.numbers) + 1)
            out.append(SourceRef(number, citation.paragraph))
        return tuple(out)

    def listed(self, labels: dict[str, str]) -> tuple[SheetSource, ...]:
        ordered = sorted(self.numbers.items(), key=lambda pair: pair[1])
        out = []
        for key, number in ordered:
            source = self.procedure.sources[key]
            out.append(
                SheetSource(
                    number, source.title, source.ref, source.verification,
                    labels[source.verification],
                )
            )
        return tuple(out)


def _step_text(template: str, rule: Rule) -> str:
    return sentence(
        template.format(
            who=rule.who, should=" ".join(rule.should.split()), title=rule.title, step=rule.step
        )
    )


def build_sheet(procedure: Procedure) -> Sheet:
    """The sheet for ``procedure``; `ChecklistError` if it has no ``preparation`` section."""
    prep = procedure.preparation
    if prep is None:
        raise ChecklistError(
            f"the checklist '{procedure.id}' has no 'preparation' section, "
            "which the sheet is made from"
        )
    labels: dict[str, str] = {str(k): v for k, v in prep.status.items()}
    sources = _Sources(procedure)
    rules = {rule.id: rule for rule in procedure.rules}
    named = {item.rule for section in prep.sections for item in section.items if item.rule}

    def from_item(key: str, item: PrepItem) -> SheetItem:
        if item.rule is not None:
            rule = rules[item.rule]
            return SheetItem(
                key=key, heading=None, text=sentence(item.text or rule.should),
                question=rule.question, verification=rule.verification,
                status=labels[rule.verification], refs=sources.refs(rule.cite),
            )
        assert item.text is not None and item.verification is not None  # checked on load
        return SheetItem(
            key=key, heading=None, text=sentence(item.text), question=None,
            verification=item.verification, status=labels[item.verification],
            refs=sources.refs(item.cite),
        )

    def from_rule(rule: Rule, *, step: bool) -> SheetItem:
        return SheetItem(
            key=rule.id,
            heading=rule.title if step else None,
            text=_step_text(prep.step, rule) if step else rule.question,
            question=rule.question if step else sentence(rule.should),
            verification=rule.verification,
            status=labels[rule.verification],
            refs=sources.refs(rule.cite),
        )

    sections = []
    for number, section in enumerate(prep.sections, start=1):
        key = f"s{number}"
        groups: list[SheetGroup] = []
        items = tuple(
            from_item(f"{key}-{n}", item) for n, item in enumerate(section.items, start=1)
        )
        if items:
            groups.append(SheetGroup(None, items))
        if section.show == "steps":
            steps = sorted(
                (r for r in procedure.rules if r.check == "step"), key=lambda r: r.step or 0
            )
            groups.append(SheetGroup(None, tuple(from_rule(r, step=True) for r in steps)))
        elif section.show == "questions":
            for who, heading in section.ask_who.items():
                asked = tuple(
                    from_rule(r, step=False)
                    for r in procedure.rules
                    if r.check != "step" and r.id not in named and r.who == who
                )
                if asked:
                    groups.append(SheetGroup(heading, asked))
        sections.append(
            SheetSection(
                key=key, heading=section.heading, intro=section.intro,
                kind=section.show or "items", groups=tuple(groups),
            )
        )

    sheet = Sheet(
        title=prep.title,
        intro=prep.intro,
        not_advice=prep.not_advice,
        form=tuple(prep.form),
        status_intro=prep.status_intro,
        statuses=tuple((v, labels[v]) for v in ("verified", "secondary", "forum")),
        sections=tuple(sections),
        words=(),
        sources=sources.listed(labels),
        procedure=procedure.title,
        version=procedure.version,
    )
    used = _used_words(prep.words, _all_text(sheet))
    return replace(sheet, words=used)


def _all_text(sheet: Sheet) -> str:
    parts = [sheet.title, sheet.intro, sheet.not_advice, sheet.status_intro, *sheet.form]
    for section in sheet.sections:
        parts += [section.heading, section.intro or ""]
        for group in section.groups:
            parts.append(group.heading or "")
            for item in group.items:
                parts += [item.heading or "", item.text, item.question or ""]
    return "\n".join(parts)


def _used_words(words: dict[str, str], text: str) -> tuple[tuple[str, str], ...]:
    """The glossary entries the sheet uses, in the checklist's order.

    An entry with capitals (an abbreviation, a name) must match exactly; an
    all-lower-case term matches in any case.
    """
    out = []
    for word, meaning in words.items():
        flags = 0 if word != word.lower() else re.IGNORECASE
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, flags):
            out.append((word, sentence(meaning)))
    return tuple(out)


def reports_dir() -> Path:
    """Where the templates are: beside the package in a checkout, inside it when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "reports", here.parent / "reports"):
        if (candidate / TEMPLATE).is_file():
            return candidate
    raise ChecklistError(f"the template {TEMPLATE} is missing from this installation")


def render_html(procedure: Procedure) -> str:
    """The sheet as one self-contained HTML page (its CSS inline, no outside files)."""
    env = Environment(
        loader=FileSystemLoader(str(reports_dir())),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE).render(sheet=build_sheet(procedure))


def render_pdf(html: str) -> bytes:
    """Print the HTML to A4 PDF with WeasyPrint (imported here: only PDF needs it)."""
    try:
        from weasyprint import HTML
    except ImportError as exc:
        raise SheetError(
            f"PDF output needs WeasyPrint, which could not be loaded ({exc}); "
            "install it with: pip install weasyprint, or use --format html"
        ) from None
    pdf = HTML(string=html, base_url=None).write_pdf()
    if not isinstance(pdf, bytes):
        raise SheetError("WeasyPrint produced no PDF")
    return pdf


def write_sheet(procedure: Procedure, output: Path | None, fmt: str | None) -> str | None:
    """`whp-audit checklist`: write the sheet to ``output``, or return the HTML for stdout.

    ``fmt`` None means PDF when ``output`` ends ``.pdf``, else HTML. A PDF needs
    ``output`` (it is not text). An existing ``output`` is replaced, as a
    regenerated sheet should be; the file is written atomically.
    """
    fmt = fmt or ("pdf" if output is not None and output.suffix.lower() == ".pdf" else "html")
    html = render_html(procedure)
    if output is None:
        if fmt == "pdf":
            raise SheetError("--format pdf needs an output file: -o sheet.pdf")
        return html
    write_atomic(output, render_pdf(html) if fmt == "pdf" else html)
    return None
