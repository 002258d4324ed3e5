"""The HTML report and its PDF: content, escaping, redaction, determinism (issue 3)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.audit import Audit, Auditor
from auditor.case import Case
from auditor.checklist import Procedure, load_procedure
from auditor.cli import main
from auditor.load import case_name, load_case
from auditor.report import GROUND_KINDS, ground_order, render_html, render_pdf

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CASES = {
    "rushed-referral.yaml": date(2018, 7, 1),
    "by-the-book.yaml": date(2019, 6, 1),
    "support-group.json": date(2019, 3, 1),
}
RANK = {"verified": 0, "secondary": 1, "forum": 2}


@pytest.fixture(scope="module")
def procedure() -> Procedure:
    return load_procedure()


def audited(procedure: Procedure, path: Path, as_of: date) -> tuple[Audit, Case]:
    case = load_case(path, as_of=as_of, steps=procedure.steps)
    return Auditor(procedure).audit(case, as_of=as_of, name=case_name(path, case)), case


def report(procedure: Procedure, path: Path, as_of: date, *, redact: bool = False) -> str:
    result, case = audited(procedure, path, as_of)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return render_html(result, case, procedure, redact=redact, case_digest=digest)


class Outline(HTMLParser):
    """Collects what the structural tests look at: sections, grounds, rows, headings, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section: list[str] = []
        self.grounds: list[list[str]] = []
        self.in_ground = 0
        self.rows: list[list[str]] = []
        self.in_procedure_row = False
        self.headings: list[int] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section" and attributes.get("id"):
            self.section.append(str(attributes["id"]))
        elif tag == "section":
            self.section.append(self.section[-1] if self.section else "")
        if tag == "article" and "ground" in (attributes.get("class") or ""):
            self.grounds.append([])
            self.in_ground = 1
        elif tag == "article" and self.in_ground:
            self.in_ground += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "tr" and self.section and self.section[-1] == "procedure":
            self.rows.append([])
            self.in_procedure_row = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.section:
            self.section.pop()
        if tag == "article" and self.in_ground:
            self.in_ground -= 1
        if tag == "tr":
            self.in_procedure_row = False

    def handle_data(self, data: str) -> None:
        where = self.section[-1] if self.section else "outside"
        self.text.setdefault(where, []).append(data)
        if self.in_ground:
            self.grounds[-1].append(data)
        if self.in_procedure_row:
            self.rows[-1].append(data)

    def words(self, section: str) -> str:
        return " ".join(" ".join(self.text.get(section, [])).split())


def outline(html: str) -> Outline:
    parsed = Outline()
    parsed.feed(html)
    parsed.close()
    return parsed


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_holds_every_rule_and_ground(procedure: Procedure, name: str) -> None:
    path = EXAMPLES / name
    result, _ = audited(procedure, path, CASES[name])
    html = report(procedure, path, CASES[name])
    parsed = outline(html)

    grounds = [f for f in result.findings if f.kind in GROUND_KINDS]
    assert len(parsed.grounds) == len(grounds)
    order = {r.id: n for n, r in enumerate(procedure.rules)}
    shown = sorted(grounds, key=lambda f: ground_order(f, order))
    for finding, block in zip(shown, parsed.grounds, strict=True):
        text = " ".join(" ".join(block).split())
        assert f"rule {finding.rule}" in text
        assert " ".join(finding.ground.split()) in text  # the paste-able wording
        assert "What should have happened" in text and "What happened" in text
        if finding.verification == "forum":
            assert "Forum report only" in text and "not presented as law" in text
        else:
            assert "Forum report only" not in text
    # Strongest first: never a weaker source before a firmer one.
    ranks = [RANK[f.verification] for f in shown]
    assert ranks == sorted(ranks)

    # Every rule, in checklist order, with its status in words.
    assert len(parsed.rows) == len(result.steps) + 1  # + the header row
    for status, row in zip(result.steps, parsed.rows[1:], strict=True):
        assert f"{status.rule} ·" in " ".join(row)

    counts = parsed.words("summary")
    assert f"Grounds for challenge (explained below) {len(grounds)}" in counts
    for kind, words in (("missed", "Not done"), ("late", "Late"),
                        ("unevidenced", "No evidence either way"), ("pending", "Not due yet")):
        n = sum(1 for f in result.findings if f.kind == kind)
        assert f"{words} {n}" in counts

    # Headings never skip a level; landmarks present; status has words, not colour alone.
    levels = parsed.headings
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    tags = {t for t, _ in parsed.tags}
    assert {"header", "main", "nav", "footer"} <= tags
    assert all(a.get("scope") in ("col", "row") for t, a in parsed.tags if t == "th")

    footer = parsed.words("outside")
    assert "This report is not legal advice." in footer
    assert hashlib.sha256(path.read_bytes()).hexdigest() in footer
    assert f"version {procedure.version}" in footer


def test_report_is_self_contained(procedure: Procedure) -> None:
    html = report(procedure, EXAMPLES / "rushed-referral.yaml", CASES["rushed-referral.yaml"])
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    assert "<svg" in html  # the diagram is inline


def test_rushed_referral_specifics(procedure: Procedure) -> None:
    html = report(procedure, EXAMPLES / "rushed-referral.yaml", CASES["rushed-referral.yaml"])
    parsed = outline(html)
    first = " ".join(parsed.grounds[0])
    assert "Verified" in first  # a verified rule leads
    assert "Sam Example" in parsed.words("summary") and "QQ123456C" in parsed.words("summary")
    timeline = parsed.words("timeline")
    assert "The coach said the course lasts six months." in timeline
    # 23 April to 30 April 2018: 7 calendar days, 5 working days.
    assert "7 days (5 working days)" in timeline
    # 30 April to 21 May 2018 spans the May Day bank holiday (7 May): 21 days, 14 working days.
    assert "21 days (14 working days)" in timeline
    nxt = parsed.words("next")
    assert "subject access request" in nxt
    assert "Independent Case Examiner" in nxt and "6 months" in nxt
    assert "mandatory reconsideration" not in nxt  # a voluntary referral: no sanction in play
    diagram = parsed.words("diagram")
    assert "Referral meeting held: reached (2nd)" in diagram
    assert "Provider acknowledged the referral: not reached" in diagram


def test_support_group_has_mandatory_reconsideration(procedure: Procedure) -> None:
    html = report(procedure, EXAMPLES / "support-group.json", CASES["support-group.json"])
    parsed = outline(html)
    grounds = " ".join(" ".join(g) for g in parsed.grounds)
    assert "rule support-group" in grounds
    assert "Should not have applied" in grounds
    assert "mandatory reconsideration" in parsed.words("next")


def test_by_the_book_has_no_grounds(procedure: Procedure) -> None:
    html = report(procedure, EXAMPLES / "by-the-book.yaml", CASES["by-the-book.yaml"])
    parsed = outline(html)
    assert parsed.grounds == []
    assert "Independent Case Examiner" not in parsed.words("next")


def hostile_case(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(
        "case: '<b id=x>bold</b>'\n"
        "recorded_by: \"<img src=x onerror=alert(1)>\"\n"
        "claimant: {name: \"Jo <i>Hostile</i>\", benefit: uc, mandatory: false}\n"
        "events:\n"
        "  - on: 2018-04-23\n"
        "    type: referral_meeting\n"
        "    note: \"<script>alert('note')</script>\"\n"
        "    steps: {5: {status: not_done, note: \"</td><script>x()</script>\"}}\n"
        "  - {on: 2018-04-30, type: referral_letter}\n",
        encoding="utf-8",
    )
    return path


def test_hostile_text_is_escaped(procedure: Procedure, tmp_path: Path) -> None:
    html = report(procedure, hostile_case(tmp_path), date(2018, 7, 1))
    assert "<script" not in html
    assert "<b id=x>" not in html and "<i>Hostile" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in html
    assert "&lt;b id=x&gt;bold&lt;/b&gt;" in html
    assert "&lt;/td&gt;&lt;script&gt;x()&lt;/script&gt;" in html


PERSONAL = (
    "Riley Secret", "QQ654321B", "Private remark about my health",
    "Step note naming Dr Who", "Adviser Pat Private",
)


def personal_case(tmp_path: Path) -> Path:
    path = tmp_path / "personal.yaml"
    path.write_text(
        "case: P-1\n"
        "recorded_by: Adviser Pat Private\n"
        "claimant: {name: Riley Secret, nino: QQ 65 43 21 B, benefit: jsa, mandatory: true,\n"
        "           whp_group: ltu, preferred_contact: letter}\n"
        "events:\n"
        "  - {on: 2019-01-07, type: invite_letter, note: Private remark about my health}\n"
        "  - on: 2019-01-14\n"
        "    type: referral_meeting\n"
        "    attended: true\n"
        "    understood: false\n"
        "    steps: {9: {status: not_done, note: Step note naming Dr Who}}\n"
        "  - {on: 2019-01-15, type: referral_letter}\n",
        encoding="utf-8",
    )
    return path


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def run(args: list[str]) -> bytes:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("fmt", ["html", "json", "pdf"])
def test_redact_hides_personal_fields_in_every_format(tmp_path: Path, fmt: str) -> None:
    case = personal_case(tmp_path)
    texts = {}
    for redact in (False, True):
        out = tmp_path / f"out-{redact}.{fmt}"
        run(["audit", str(case), "--format", fmt, "--as-of", "2019-03-01", "-o", str(out)]
            + (["--redact"] if redact else []))
        data = out.read_bytes()
        texts[redact] = pdf_text(data) if fmt == "pdf" else data.decode("utf-8")
    plain, hidden = " ".join(texts[False].split()), " ".join(texts[True].split())
    for secret in PERSONAL:
        assert secret not in hidden, secret
    if fmt != "json":  # the JSON audit never carried name, NINO or notes
        assert "Riley Secret" in plain and "QQ654321B" in plain
        assert "redacted" in hidden
    assert "Adviser Pat Private" in plain  # whose word it is, when not redacted
    if fmt == "json":
        assert json.loads(texts[True])["recorded_by"] is None


def test_redact_in_render_html_without_cli(procedure: Procedure, tmp_path: Path) -> None:
    """Batch calls render_html directly with an unredacted audit: it must still hide all."""
    html = report(procedure, personal_case(tmp_path), date(2019, 3, 1), redact=True)
    for secret in PERSONAL:
        assert secret not in html


def test_same_input_same_bytes(tmp_path: Path) -> None:
    case = EXAMPLES / "rushed-referral.yaml"
    outputs: dict[str, list[bytes]] = {"html": [], "pdf": []}
    for fmt, runs in outputs.items():
        for n in range(2):
            out = tmp_path / f"{n}.{fmt}"
            run(["audit", str(case), "--format", fmt, "--as-of", "2018-07-01", "-o", str(out)])
            runs.append(out.read_bytes())
        assert runs[0] == runs[1], fmt
    other = tmp_path / "other.html"
    run(["audit", str(case), "--as-of", "2018-07-02", "-o", str(other)])
    assert other.read_bytes() != outputs["html"][0]


def test_html_is_the_default_and_goes_to_stdout() -> None:
    out = run(["audit", str(EXAMPLES / "by-the-book.yaml"), "--as-of", "2019-06-01"])
    assert out.startswith(b"<!DOCTYPE html>")


def test_pdf_has_text_page_numbers_and_unsplit_grounds(procedure: Procedure) -> None:
    from pypdf import PdfReader

    path = EXAMPLES / "rushed-referral.yaml"
    result, _ = audited(procedure, path, CASES["rushed-referral.yaml"])
    data = render_pdf(report(procedure, path, CASES["rushed-referral.yaml"]))
    assert data.startswith(b"%PDF-")
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages]
    whole = " ".join(pages)
    assert "This report is not legal advice." in whole
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert "Sam Example" in whole
    # A ground is never split across pages: its heading and its closing question share a page.
    order = {r.id: n for n, r in enumerate(procedure.rules)}
    grounds = sorted((f for f in result.findings if f.kind in GROUND_KINDS),
                     key=lambda f: ground_order(f, order))
    for number, finding in enumerate(grounds, 1):
        heading = f"{number}. {finding.title}"
        on = [n for n, text in enumerate(pages) if heading in text]
        assert on, heading
        assert " ".join(finding.question.split()) in pages[on[0]], heading


def test_bad_input_never_gives_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("events: [{on: 2018-02-30, type: invite_letter}]\n", encoding="utf-8")
    for fmt in ("html", "pdf"):
        result = CliRunner().invoke(main, ["audit", str(bad), "--format", fmt, "-o",
                                           str(tmp_path / f"x.{fmt}")])
        assert result.exit_code == 2
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "as_of", "expect"),
    [
        ("events: []\n", "2018-07-01", "The case records no events."),
        ("events:\n  - {type: invite_letter, happened: false}\n"
         "  - {on: 2018-04-23, type: referral_meeting, attended: true}\n"
         "  - {on: 2018-04-24, type: referral_letter}\n"
         "  - {on: 2018-04-25, type: signposting_referral}\n",
         "2018-04-26", "Not due yet"),
    ],
)
def test_sparse_cases_render(procedure: Procedure, tmp_path: Path, text: str, as_of: str,
                             expect: str) -> None:
    path = tmp_path / "sparse.yaml"
    path.write_text(text, encoding="utf-8")
    html = report(procedure, path, date.fromisoformat(as_of))
    assert expect in html
    assert render_pdf(html).startswith(b"%PDF-")


def test_ground_uses_the_findings_own_firmness(procedure: Procedure, tmp_path: Path) -> None:
    """An order resting on a forum report is labelled forum even when the duty is verified."""
    path = tmp_path / "order.yaml"
    path.write_text(
        "events:\n"
        "  - {on: 2018-04-16, type: invite_letter}\n"
        "  - {on: 2018-04-17, type: eligibility_check}\n",
        encoding="utf-8",
    )
    result, _ = audited(procedure, path, date(2018, 7, 1))
    finding = next(f for f in result.findings if f.rule == "eligibility")
    assert finding.kind == "out_of_order"
    parsed = outline(report(procedure, path, date(2018, 7, 1)))
    block = next(" ".join(g) for g in parsed.grounds if "rule eligibility" in " ".join(g))
    label = {"forum": "Forum report only", "secondary": "Secondary source",
             "verified": "Verified"}[finding.verification]
    assert label in block
    for source in finding.sources:
        assert source.title in block


def _cache_cases(tmp_path: Path) -> list[tuple[Path, date]]:
    """Cases that share most report pieces but differ in what the caches key on.

    Generated cases (benchmarks/generate.py, seeded: same rules, different
    dates, event numbers, step statuses, recorded_by), the examples, the
    hostile and the personal case.
    """
    import random
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate

    rng = random.Random(7)
    paths = [(hostile_case(tmp_path), date(2018, 7, 1)), (personal_case(tmp_path), date(2019, 3, 1))]
    for name, as_of in CASES.items():
        paths.append((EXAMPLES / name, as_of))
    for number in range(12):
        data = generate.make_case(number, rng)
        if number % 3 == 0:
            data["recorded_by"] = f"<i>adviser {number}</i> & co"
            data["events"][0]["note"] = f"note {number} <script>"
        path = tmp_path / f"gen-{number}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append((path, date(2025, 1, 1)))
    return paths


def test_cached_pieces_never_carry_one_case_into_another(
    procedure: Procedure, tmp_path: Path
) -> None:
    """Rendering with warm caches (filled by other cases) gives what a cold render gives.

    Every case is rendered with empty caches, then all of them again in
    another order and once more after that, each twice with and without
    --redact; a piece cached under a key that misses something it depends
    on would show up as a difference. One case is also rendered in a fresh
    process, after this process has rendered all the others.
    """
    import subprocess
    import sys

    from auditor import report as report_module

    cases = _cache_cases(tmp_path)
    cold: dict[tuple[int, bool], str] = {}
    for n, (path, as_of) in enumerate(cases):
        for redact in (False, True):
            report_module._PREPARED.clear()
            cold[n, redact] = report(procedure, path, as_of, redact=redact)
    report_module._PREPARED.clear()
    order = list(range(len(cases)))
    for rounds in (order[::-1], order[1::2] + order[0::2]):
        for n in rounds:
            path, as_of = cases[n]
            for redact in (False, True):
                assert report(procedure, path, as_of, redact=redact) == cold[n, redact], (
                    path.name, redact,
                )
    assert len({cold[n, False] for n in order}) == len(order)  # the cases do differ
    path, as_of = cases[-1]
    script = (
        "import hashlib, sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from auditor.audit import Auditor\n"
        "from auditor.checklist import load_procedure\n"
        "from auditor.load import case_name, load_case\n"
        "from auditor.report import render_html\n"
        "path, as_of = Path(sys.argv[1]), date.fromisoformat(sys.argv[2])\n"
        "procedure = load_procedure()\n"
        "case = load_case(path, as_of=as_of, steps=procedure.steps)\n"
        "audit = Auditor(procedure).audit(case, as_of=as_of, name=case_name(path, case))\n"
        "digest = hashlib.sha256(path.read_bytes()).hexdigest()\n"
        "sys.stdout.buffer.write(render_html(audit, case, procedure, case_digest=digest)"
        ".encode())\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script, str(path), as_of.isoformat()],
        check=True, capture_output=True,
    ).stdout.decode()
    assert report(procedure, path, as_of) == fresh


def test_an_audits_warnings_are_shown_and_only_then(procedure: Procedure, tmp_path: Path) -> None:
    path = tmp_path / "early.yaml"
    path.write_text("events:\n  - {on: 2017-03-01, type: invite_letter}\n", encoding="utf-8")
    html = report(procedure, path, date(2018, 7, 1))
    assert "Check this before relying on the audit." in html
    assert "dated 2017-03-01, before the Work and Health Programme began" in html
    plain = report(procedure, EXAMPLES / "rushed-referral.yaml", date(2018, 7, 1))
    assert "before relying on the audit" not in plain


def _verdict(page: str) -> str:
    found = re.search(r'<p class="verdict">(.*?)</p>', page, re.S)
    assert found is not None
    return " ".join(found.group(1).split())


def test_the_verdict_says_how_firm_the_grounds_sources_are(procedure: Procedure) -> None:
    # The summary must not present forum-only rules as the procedure itself: it says how
    # many grounds rest on each kind of source (README: "no more strongly than its source").
    result, _ = audited(procedure, EXAMPLES / "rushed-referral.yaml", date(2018, 7, 1))
    grounds = [f for f in result.findings if f.kind in GROUND_KINDS]
    by_firm = {firm: sum(f.verification == firm for f in grounds) for firm in RANK}
    assert by_firm["verified"] and by_firm["forum"] and not by_firm["secondary"]
    verdict = _verdict(report(procedure, EXAMPLES / "rushed-referral.yaml", date(2018, 7, 1)))
    assert verdict.startswith(f"{len(grounds)} grounds for challenge found: ")
    assert (f"Of the {len(grounds)} grounds, {by_firm['verified']} rest on published DWP "
            f"guidance or legislation and {by_firm['forum']} rest only on forum reports, not "
            "presented as law.") in verdict


def test_a_verdict_with_one_kind_of_source_says_so_once(procedure: Procedure) -> None:
    result, case = audited(procedure, EXAMPLES / "rushed-referral.yaml", date(2018, 7, 1))
    forum = tuple(f for f in result.findings if f.verification == "forum")
    only_forum = Audit(**{**vars(result), "findings": forum})
    page = render_html(only_forum, case, procedure, case_digest="0" * 64)
    grounds = sum(f.kind in GROUND_KINDS for f in forum)
    verdict = _verdict(page)
    assert f"All {grounds} grounds rest only on forum reports, not presented as law." in verdict
    assert "Of the" not in verdict and grounds > 1
