"""The speed-ups are exact: cached replays and serialised lines equal the plain computation."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import Auditor
from auditor.batch import FINDINGS_COLUMNS, _Serializer, compact_json, safe_cell
from auditor.case import Case, Event
from auditor.checklist import load_procedure
from auditor.evaluate import Outcome
from auditor.findings import Finding
from auditor.load import parse_case
from auditor.replay import OrderBreach, ProcedureMachine, Replay
from auditor.stats import CaseloadStats, CaseSummary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
generate = pytest.importorskip("generate")

AS_OF = date(2025, 1, 1)


def _cases(count: int, seed: int) -> list[Case]:
    procedure = load_procedure()
    return [
        parse_case(data, file="x", locate=lambda loc: None, as_of=AS_OF, steps=procedure.steps)
        for data in generate.cases(count, seed)
    ]


def _uncached(machine: ProcedureMachine, events: list[Event]) -> Replay:
    """The replay as the engine did it before variants were cached: every event, every case."""
    model = Replay()
    machine.machine.add_model(model, initial=machine.INITIAL)
    trigger: Any = getattr(model, "trigger")  # noqa: B009
    for index in machine.replay_order(events):
        trigger(events[index].type, index=index)
    machine.machine.remove_model(model)
    for dest, missing, index in model.pending:
        if missing in model.reached:
            model.breaches.append(OrderBreach(
                machine._event_of[dest], machine._event_of[missing], index,
                model.reached[missing],
            ))
    return model


def test_variant_cache_gives_the_same_replay() -> None:
    cached = ProcedureMachine(load_procedure())
    plain = ProcedureMachine(load_procedure())
    breaches = 0
    for case in _cases(400, seed=21):
        events = case.dated_order()
        expected = _uncached(plain, events)
        assert cached.replay(events) == expected
        assert cached.replay(events) == expected  # and again, from the cache
        breaches += bool(expected.breaches)
    assert breaches > 10  # the sample exercises out-of-order cases
    assert len(cached._variants) < 400


def test_serialised_line_is_the_compact_audit_json() -> None:
    auditor = Auditor(load_procedure())
    serializer = _Serializer()
    for case in _cases(200, seed=22):
        audit = auditor.audit(case, as_of=AS_OF)
        encoded, rows = serializer.line(audit)
        line = encoded.decode("utf-8")
        assert line == compact_json(audit.as_json())
        assert json.loads(line) == audit.as_json()
        assert rows.count(b"\r\n") == len(audit.findings)


def test_cached_findings_equal_fresh_ones() -> None:
    procedure = load_procedure()
    warm = Auditor(procedure)
    cases = _cases(150, seed=23)
    for case in cases:
        warm.audit(case, as_of=AS_OF)
    for case in cases:
        assert warm.audit(case, as_of=AS_OF) == Auditor(procedure).audit(case, as_of=AS_OF)


def test_the_finding_cache_key_reads_every_field_of_an_outcome() -> None:
    # A field added to Outcome but left out of the key would let two different findings
    # share one cached wording.
    assert tuple(f.name for f in fields(Outcome)) == Auditor.OUTCOME_FIELDS


def test_equal_wording_numbers_mean_equal_findings_but_for_events() -> None:
    auditor = Auditor(load_procedure())
    seen: dict[int, Finding] = {}
    for case in _cases(200, seed=24):
        audit = auditor.audit(case, as_of=AS_OF)
        assert len(audit.wordings) == len(audit.findings)
        for finding, number in zip(audit.findings, audit.wordings, strict=True):
            if number < 0:
                continue
            first = seen.setdefault(number, finding)
            assert replace(first, events=()) == replace(finding, events=())
    assert len(seen) > 20


def _expected_rows(audit: Any) -> list[list[str]]:
    rows = []
    for finding in audit.as_json()["findings"]:
        cells = [audit.case, finding["rule"], finding["title"], finding["kind"],
                 finding["evidence"], finding["verification"],
                 " ".join(map(str, finding["events"])), finding["source"]["title"],
                 finding["source"]["ref"], finding["source"].get("paragraph", ""),
                 finding["ground"], finding["how_to_evidence"] or ""]
        rows.append([safe_cell(c) for c in cells])
    return rows


def test_findings_csv_rows_are_the_audits_findings() -> None:
    auditor = Auditor(load_procedure())
    serializer = _Serializer()
    for case in [*_cases(150, seed=25), *_cases(150, seed=25)]:  # the second time from caches
        audit = auditor.audit(case, as_of=AS_OF)
        _, rows = serializer.line(audit)
        parsed = csv.reader(io.StringIO(rows.decode("utf-8"), newline=""))
        assert list(parsed) == _expected_rows(audit)


def test_a_cell_that_would_be_a_formula_is_written_as_text() -> None:
    auditor = Auditor(load_procedure())
    case = Case.model_validate({
        "case": '=HYPERLINK("http://x","click")', "recorded_by": "+44 7700 900000",
        "events": [{"on": "2019-01-07", "type": "referral_meeting", "steps": {1: False}},
                   {"on": "2019-03-07", "type": "referral_letter"}],
    })
    audit = auditor.audit(case, as_of=AS_OF)
    line, rows = _Serializer().line(audit)
    assert json.loads(line) == audit.as_json()  # the JSON keeps the case's own words
    parsed = list(csv.reader(io.StringIO(rows.decode("utf-8"), newline="")))
    assert parsed and all(row[0] == "'" + audit.case for row in parsed)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in parsed for cell in row)
    assert safe_cell("-3") == "'-3" and safe_cell("Case 3") == "Case 3"


def test_counts_of_parts_absorbed_in_any_order_equal_counting_the_whole() -> None:
    procedure = load_procedure()
    auditor = Auditor(procedure)
    summaries = []
    for seq, case in enumerate(_cases(120, seed=26)):
        audit = auditor.audit(case, as_of=AS_OF)
        summaries.append(CaseSummary.of(
            seq, audit.case, (s.status for s in audit.steps),
            ((f.rule, f.kind, f.evidence) for f in audit.findings), None))
    whole = CaseloadStats(procedure)
    for summary in summaries:
        whole.add(summary)
    parts = []
    for start in range(0, 120, 32):
        part = CaseloadStats(procedure)
        for summary in summaries[start:start + 32]:
            part.add(summary)
        parts.append(part.tally())
    merged = CaseloadStats(procedure)
    for tally in reversed(parts):
        merged.absorb(tally)
    assert merged.as_context() == whole.as_context()
    assert len(whole.as_context()["top"]) == 25


def test_a_long_recorded_by_is_worded_afresh_not_kept() -> None:
    auditor = Auditor(load_procedure())
    case = Case.model_validate({"recorded_by": "y" * 5000, "events": []})
    for _ in range(3):
        audit = auditor.audit(case, as_of=AS_OF)
        assert audit.findings and set(audit.wordings) == {-1} and set(audit.frames) == {-1}
    assert not any("y" * 300 in repr(key) for key in auditor._findings)
    assert not any("y" * 300 in repr(key) for key in auditor._frames)
    assert Auditor(load_procedure()).audit(case, as_of=AS_OF) == audit


def test_the_collector_is_left_as_it_was_after_a_chunk(tmp_path: Path) -> None:
    import gc

    from auditor.batch import _Worker
    from auditor.caseload import read_chunks

    path = tmp_path / "caseload.jsonl"
    path.write_text('{"case": "a", "events": []}\nnot json\n', encoding="utf-8")
    worker = _Worker(None, date(2025, 1, 1), None, False)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            for chunk in read_chunks(path, size=128):
                _, tally, refused = worker.run_chunk(chunk)
                assert tally.audited == 1 and len(refused) == 1
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


def test_findings_csv_cites_the_sources_paragraph() -> None:
    # A complaint cites the paragraph: findings.csv carries it, as the JSON and report do.
    auditor = Auditor(load_procedure())
    serializer = _Serializer()
    paragraphs = set()
    for case in _cases(150, seed=25):
        audit = auditor.audit(case, as_of=AS_OF)
        _, rows = serializer.line(audit)
        for row, finding in zip(csv.reader(io.StringIO(rows.decode("utf-8"), newline="")),
                                audit.findings, strict=True):
            assert row[FINDINGS_COLUMNS.index("source_paragraph")] == (
                finding.sources[0].paragraph or "")
            paragraphs.add(row[FINDINGS_COLUMNS.index("source_paragraph")])
    assert len(paragraphs - {""}) >= 2  # some rules cite a paragraph, and they differ
