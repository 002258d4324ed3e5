"""The pre-meeting sheet (`whp-audit checklist`): content, plain English, print, PDF."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import textstat
from click.testing import CliRunner
from markupsafe import escape

from auditor.checklist import Procedure, load_procedure
from auditor.cli import main
from auditor.errors import ChecklistError
from auditor.sheet import build_sheet, render_html

HERE = Path(__file__).parent
SMALL = HERE / "checklists" / "small.yaml"
FLESCH_FLOOR = 60


class _Text(HTMLParser):
    """The sheet's visible text, one block per line.

    Leaves out the style sheet and anything marked ``data-measure="no"``:
    the source references and the list of sources, which are document
    titles and references quoted as published, not wording we can change.
    """

    BLOCKS = frozenset({"p", "h1", "h2", "h3", "li", "dt", "dd", "label", "legend", "div"})

    def __init__(self) -> None:
        super().__init__()
        self.skipping: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping or tag in ("style", "script") or dict(attrs).get("data-measure") == "no":
            if tag not in ("input", "meta", "br"):
                self.skipping.append(tag)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


@pytest.fixture(scope="module")
def procedure() -> Procedure:
    return load_procedure()


@pytest.fixture(scope="module")
def html(procedure: Procedure) -> str:
    return render_html(procedure)


def test_the_sheet_says_it_is_not_legal_advice(html: str) -> None:
    assert "This sheet is not legal advice" in visible_text(html)


def test_every_step_appears_with_its_title_should_question_and_tick_boxes(
    procedure: Procedure, html: str
) -> None:
    steps = [rule for rule in procedure.rules if rule.check == "step"]
    assert len(steps) == 15
    text = visible_text(html)
    for rule in steps:
        assert rule.title in text
        assert " ".join(rule.should.split()) in text
        assert rule.question in text
        for choice in ("done", "not done", "not sure"):
            assert f'aria-label="{escape(rule.title)}: {choice}"' in html


def test_every_rule_question_is_on_the_sheet_exactly_once(procedure: Procedure, html: str) -> None:
    for rule in procedure.rules:
        assert html.count(str(escape(rule.question))) == 1, rule.id


def test_the_issue_s_topics_are_all_on_the_sheet(html: str) -> None:
    text = visible_text(html)
    for words in (
        "WHPL006", "WHPL003", "456 days", "639 days", "contact you",
        "reasonable adjustments", "understand", "shared", "copy of your action plan",
        "Complain to the provider first", "Independent Case Examiner",
    ):
        assert words in text, words


def test_each_item_shows_its_source_status_and_forum_rules_are_labelled(
    procedure: Procedure, html: str
) -> None:
    sheet = build_sheet(procedure)
    labels = dict(sheet.statuses)
    items = [i for s in sheet.sections for g in s.groups for i in g.items]
    assert items
    for item in items:
        assert item.refs, item.key
        assert item.status == labels[item.verification]
    step_10 = next(i for i in items if i.key == "step-10")
    assert step_10.verification == "forum"
    assert html.count(labels["forum"]) >= 15
    # A rule's status on the sheet is the rule's own status.
    for rule in procedure.rules:
        shown = [i for i in items if i.key == rule.id]
        for item in shown:
            assert item.verification == rule.verification


def test_every_cited_source_is_listed_with_its_status(procedure: Procedure) -> None:
    sheet = build_sheet(procedure)
    numbers = {s.number for s in sheet.sources}
    for section in sheet.sections:
        for group in section.groups:
            for item in group.items:
                assert {ref.number for ref in item.refs} <= numbers
    for source in sheet.sources:
        assert source.verification == procedure.sources[
            next(k for k, v in procedure.sources.items() if v.title == source.title)
        ].verification


def test_plain_english_flesch_reading_ease_is_at_least_60(html: str) -> None:
    text = visible_text(html)
    score = textstat.flesch_reading_ease(text)
    print(f"Flesch reading ease of the sheet: {score:.1f} ({textstat.lexicon_count(text)} words)")
    assert score >= FLESCH_FLOOR


def test_every_abbreviation_on_the_sheet_is_explained(html: str) -> None:
    text = visible_text(html)
    explained = set(re.findall(r"<dt>([^<]+)</dt>", html))
    capitals = set(re.findall(r"\b[A-Z][A-Z0-9]{1,}\b", text))
    assert capitals <= explained, capitals - explained


def test_the_sheet_is_self_contained_printable_a4_and_accessible(html: str) -> None:
    assert '<html lang="en-GB">' in html
    assert html.count("<h1>") == 1
    assert "@page" in html and "size: A4" in html
    assert not re.search(r"<(link|script|img)\b", html)
    assert not re.search(r"(src|href)=\"https?:", html)
    for tag in re.findall(r"<input\b[^>]*>", html):
        assert "aria-label" in tag or "aria-labelledby" in tag or " id=" in tag, tag
    # Every labelled-by target exists.
    for target in re.findall(r'aria-labelledby="([^"]+)"', html):
        assert f'id="{target}"' in html, target
    # Text is black on white: the contrast is as high as it can be.
    assert "color: #000" in html and "background: #fff" in html


def test_the_same_checklist_gives_the_same_bytes(procedure: Procedure, html: str) -> None:
    assert render_html(load_procedure()) == html


def test_cli_writes_html_and_is_deterministic(tmp_path: Path, html: str) -> None:
    runner = CliRunner()
    out = tmp_path / "sheet.html"
    first = runner.invoke(main, ["checklist", "-o", str(out)])
    assert first.exit_code == 0, first.output
    data = out.read_bytes()
    assert data.decode("utf-8") == html
    again = runner.invoke(main, ["checklist", "-o", str(out)])
    assert again.exit_code == 0 and out.read_bytes() == data
    stdout = runner.invoke(main, ["checklist"])
    assert stdout.exit_code == 0 and stdout.output == html


def test_cli_refuses_pdf_to_stdout_and_never_writes_over_the_checklist(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["checklist", "--format", "pdf"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "-o" in result.output
    copy = tmp_path / "mine.yaml"
    copy.write_bytes(SMALL.read_bytes())
    result = runner.invoke(main, ["checklist", "--checklist", str(copy), "-o", str(copy)])
    assert result.exit_code == 2
    assert copy.read_bytes() == SMALL.read_bytes()


def test_cli_pdf_is_a_deterministic_a4_pdf(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    runner = CliRunner()
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert runner.invoke(main, ["checklist", "-o", str(first)]).exit_code == 0
    assert runner.invoke(main, ["checklist", "-o", str(second), "--format", "pdf"]).exit_code == 0
    data = first.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data == second.read_bytes()


def test_the_printed_pages_are_a4(html: str) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    pages = weasyprint.HTML(string=html).render().pages
    # WeasyPrint measures in CSS pixels, 96 to the inch: A4 is 210 x 297 mm.
    mm = 25.4 / 96
    assert (round(pages[0].width * mm), round(pages[0].height * mm)) == (210, 297)
    assert 3 <= len(pages) <= 12


def test_a_rule_added_to_the_yaml_appears_with_no_code_change() -> None:
    small = load_procedure(SMALL)
    html = render_html(small)
    text = visible_text(html)
    # step-03 is named by no code: only the small checklist has it.
    assert "Step 3: the clerk waves goodbye" in text
    assert "The clerk should wave goodbye to you." in text
    assert "Will you wave goodbye?" in text
    assert "Chat only" in text
    # Non-step rules not named by an item become questions, under their who.
    assert "Ask the office" in text and "When will the letter come?" in text
    # Nothing of the Work and Health Programme leaks in from code.
    assert "Work and Health" not in html and "Jobcentre" not in html
    assert "ABC" in text and "<dt>ABC</dt>" in html


def test_a_checklist_without_preparation_gives_a_clear_error(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8").split("preparation:")[0]
    bare = tmp_path / "bare.yaml"
    bare.write_text(text, encoding="utf-8")
    with pytest.raises(ChecklistError, match="no 'preparation' section"):
        build_sheet(load_procedure(bare))
    result = CliRunner().invoke(main, ["checklist", "--checklist", str(bare)])
    assert result.exit_code == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("cite: [{source: RULEBOOK, paragraph: para 9}]", "cite: [{source: NOWHERE}]",
         "cites unknown source 'NOWHERE'"),
        ("cite: [{source: RULEBOOK, paragraph: para 9}]", "cite: [{source: CHAT}]",
         "is 'verified' but its sources are forum"),
        ("- rule: invite", "- rule: no-such-rule", "unknown rule 'no-such-rule'"),
        ("ask_who: {office: Ask the office}", "ask_who: {}", "no ask_who heading for 'office'"),
        ('step: "Did the {who} {should}?"', 'step: "Did {whom}?"', "step uses {whom}"),
        ("fields: {attended: Did you go?}", "fields: {copy_given: Copy?}",
         "'copy_given' is not a field"),
    ],
)
def test_a_malformed_preparation_is_refused_on_load(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = SMALL.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ChecklistError, match=re.escape(message)):
        load_procedure(bad)
