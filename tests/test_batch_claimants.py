"""Batch mode with a claimants file: a CSV event log plus a second CSV, one row per case."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auditor.cli import main

ROOT = Path(__file__).resolve().parent.parent
CASELOAD = ROOT / "examples" / "caseload"

EVENTS = (
    "case,on,type,channel,attended\n"
    "A,2019-01-07,invite_letter,,\n"
    "A,2019-01-14,referral_meeting,,true\n"
    "B,2019-02-04,invite_letter,letter,\n"
    "B,2019-02-11,referral_meeting,,true\n"
)


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _batch(tmp_path: Path, events: str, claimants: str, *extra: str) -> tuple[Any, Path]:
    log = tmp_path / "events.csv"
    log.write_text(events, encoding="utf-8")
    facts = tmp_path / "claimants.csv"
    facts.write_text(claimants, encoding="utf-8")
    out = tmp_path / "out"
    result = _run(["batch", str(log), "--claimants", str(facts), "-o", str(out),
                   "--as-of", "2025-01-01", *extra])
    return result, out


def _errors(out: Path) -> list[dict[str, str]]:
    with (out / "errors.csv").open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _audits(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "audits.jsonl").read_text(encoding="utf-8").splitlines()
    return {audit["case"]: audit for audit in map(json.loads, lines)}


def test_the_example_pair_audits_as_the_one_sheet(tmp_path: Path) -> None:
    together = _run(["batch", str(CASELOAD / "referrals.csv"), "-o", str(tmp_path / "one"),
                     "--as-of", "2025-01-01"])
    apart = _run(["batch", str(CASELOAD / "referral-events.csv"),
                  "--claimants", str(CASELOAD / "claimants.csv"),
                  "-o", str(tmp_path / "two"), "--as-of", "2025-01-01"])
    assert together.exit_code == apart.exit_code == 0, apart.output
    for name in ("audits.jsonl", "findings.csv", "errors.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    # The facts matter: without the claimants file the audits are not the same.
    alone = _run(["batch", str(CASELOAD / "referral-events.csv"), "-o", str(tmp_path / "alone"),
                  "--as-of", "2025-01-01"])
    assert alone.exit_code == 0
    assert (tmp_path / "alone" / "audits.jsonl").read_bytes() != (
        tmp_path / "one" / "audits.jsonl").read_bytes()


def test_facts_reach_the_right_case(tmp_path: Path) -> None:
    result, out = _batch(tmp_path, EVENTS,
                         "case,benefit,preferred_contact,mandatory\n"
                         "B,uc,email,TRUE\n"
                         "A,jsa,,no\n")
    assert result.exit_code == 0, result.output
    audits = _audits(out)
    assert list(audits) == ["A", "B"]  # the event log's order, not the claimants file's
    one_sheet = tmp_path / "sheet"
    one_sheet.mkdir()
    (one_sheet / "log.csv").write_text(
        "case,on,type,channel,attended,benefit,preferred_contact,mandatory\n"
        "A,2019-01-07,invite_letter,,,jsa,,false\n"
        "A,2019-01-14,referral_meeting,,true,,,\n"
        "B,2019-02-04,invite_letter,letter,,uc,email,true\n"
        "B,2019-02-11,referral_meeting,,true,,,\n",
        encoding="utf-8",
    )
    same = _run(["batch", str(one_sheet / "log.csv"), "-o", str(tmp_path / "same"),
                 "--as-of", "2025-01-01"])
    assert same.exit_code == 0
    assert (out / "audits.jsonl").read_bytes() == (tmp_path / "same" / "audits.jsonl").read_bytes()


def test_a_case_without_a_claimants_row_is_audited_with_facts_unknown(tmp_path: Path) -> None:
    result, out = _batch(tmp_path, EVENTS, "case,benefit\nB,uc\n")
    assert result.exit_code == 0, result.output
    (tmp_path / "a.csv").write_text(EVENTS.split("B,")[0], encoding="utf-8")
    alone = _run(["batch", str(tmp_path / "a.csv"), "-o", str(tmp_path / "a"),
                  "--as-of", "2025-01-01"])
    assert alone.exit_code == 0
    assert _audits(out)["A"] == _audits(tmp_path / "a")["A"]


def test_same_fact_in_both_files_is_accepted(tmp_path: Path) -> None:
    events = EVENTS.replace("case,on,type,channel,attended\n",
                            "case,on,type,channel,attended,benefit\n")
    events = events.replace("A,2019-01-07,invite_letter,,\n", "A,2019-01-07,invite_letter,,,uc\n")
    result, out = _batch(tmp_path, events, "case,benefit\nA,uc\nB,jsa\n")
    assert result.exit_code == 0, result.output
    assert sorted(_audits(out)) == ["A", "B"]


def test_a_fact_that_differs_between_the_files_rejects_the_case(tmp_path: Path) -> None:
    events = EVENTS.replace("case,on,type,channel,attended\n",
                            "case,on,type,channel,attended,mandatory\n")
    events = events.replace("A,2019-01-14,referral_meeting,,true\n",
                            "A,2019-01-14,referral_meeting,,true,yes\n")
    result, out = _batch(tmp_path, events, "case,mandatory\nA,false\nB,true\n")
    assert result.exit_code == 3, result.output
    assert [(r["case"], Path(r["file"]).name, r["line"], r["field"]) for r in _errors(out)] == [
        ("A", "events.csv", "3", "mandatory"),
    ]
    message = _errors(out)[0]["message"]
    assert "'true' here but 'false' in " in message and "claimants.csv on line 2" in message
    assert list(_audits(out)) == ["B"]


def test_a_case_listed_twice_is_rejected_at_its_second_row(tmp_path: Path) -> None:
    result, out = _batch(tmp_path, EVENTS, "case,benefit\nA,uc\nB,jsa\nA,uc\n")
    assert result.exit_code == 3, result.output
    rows = _errors(out)
    assert [(r["case"], Path(r["file"]).name, r["line"], r["field"]) for r in rows] == [
        ("A", "claimants.csv", "4", "case"),
    ]
    assert "row on line 2 and again here" in rows[0]["message"]
    assert list(_audits(out)) == ["B"]


def test_a_bad_fact_is_located_in_the_claimants_file(tmp_path: Path) -> None:
    result, out = _batch(tmp_path, EVENTS,
                         "case,nino,benefit,esa_group\nA,QQ12,,\nB,,jsa,support\n")
    assert result.exit_code == 3, result.output
    rows = _errors(out)
    assert [(r["case"], Path(r["file"]).name, r["line"], r["field"]) for r in rows] == [
        ("A", "claimants.csv", "2", "nino"),
        ("B", "claimants.csv", "3", "claimant"),
    ]
    assert "National Insurance number" in rows[0]["message"]
    assert "esa_group" in rows[1]["message"]
    # An event's problem is still the event log's.
    events = EVENTS.replace("A,2019-01-14,referral_meeting,,true",
                            "A,2019-01-14,referral_meeting,,maybe")
    result, out = _batch(tmp_path, events, "case,benefit\nA,uc\n")
    assert [(Path(r["file"]).name, r["line"], r["field"]) for r in _errors(out)] == [
        ("events.csv", "3", "attended"),
    ]


def test_a_claimants_row_without_events_is_rejected(tmp_path: Path) -> None:
    result, out = _batch(tmp_path, EVENTS, "case,benefit\nC,uc\nA,jsa\n,esa\nB,uc\n")
    assert result.exit_code == 3, result.output
    rows = _errors(out)
    assert [(r["case"], Path(r["file"]).name, r["line"], r["field"]) for r in rows] == [
        ("C", "claimants.csv", "2", "case"), ("line-4", "claimants.csv", "4", "case"),
    ]
    assert "'C' has no events in " in rows[0]["message"] and "events.csv" in rows[0]["message"]
    assert "is empty" in rows[1]["message"]
    assert sorted(_audits(out)) == ["A", "B"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="count-rejected">2<' in index
    assert "<td>" + str(tmp_path / "claimants.csv") + "</td>" in index


def test_a_case_with_no_events_is_a_row_with_only_its_id(tmp_path: Path) -> None:
    result, out = _batch(tmp_path, EVENTS + "C,,,,\n", "case,benefit\nC,uc\n")
    assert result.exit_code == 0, result.output
    assert _audits(out)["C"]["case"] == "C"


def _refused(tmp_path: Path, claimants: str) -> str:
    result, out = _batch(tmp_path, EVENTS, claimants)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    return str(result.output)


def test_header_problems_stop_the_batch(tmp_path: Path) -> None:
    text = _refused(tmp_path, "case,benifit\nA,uc\n")
    assert "claimants.csv:1: benifit: (column 2) is not a column of the claimants file" in text
    assert "(allowed: case, recorded_by, name, nino, benefit," in text
    text = _refused(tmp_path, "case,on,benefit\nA,2019-01-07,uc\n")
    assert "claimants.csv:1: on: (column 2) belongs in the event log" in text
    text = _refused(tmp_path, "id,benefit\nA,uc\n")
    assert "claimants.csv:1: id: (column 1) is not a column" in text
    assert "claimants.csv:1: case: is a required column" in text
    text = _refused(tmp_path, "case,benefit,name,benefit\nA,uc,,uc\n")
    assert "claimants.csv:1: benefit: (column 4) appears twice in the header" in text
    text = _refused(tmp_path, "")
    assert "claimants.csv: is empty" in text


def test_an_unreadable_claimants_file_stops_the_batch(tmp_path: Path) -> None:
    log = tmp_path / "events.csv"
    log.write_text(EVENTS, encoding="utf-8")
    for name, content, expected in (
        ("missing.csv", None, "no such file"),
        ("facts.xlsx", b"PK\x03\x04", "is not a .csv file"),
        ("latin.csv", b"case,name\nA,Ren\xe9\n", "UTF-8"),
    ):
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = _run(["batch", str(log), "--claimants", str(path), "-o", str(tmp_path / "out")])
        assert result.exit_code == 2, (name, result.output)
        assert expected in result.output and name in result.output
        assert not (tmp_path / "out").exists()


def test_claimants_only_go_with_a_csv_event_log(tmp_path: Path) -> None:
    facts = tmp_path / "claimants.csv"
    facts.write_text("case,benefit\nEX-rushed,uc\n", encoding="utf-8")
    for source in (ROOT / "examples", CASELOAD / "referrals.jsonl"):
        out = tmp_path / "out"
        result = _run(["batch", str(source), "--claimants", str(facts), "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert "--claimants: goes with a .csv event log only" in result.output
        assert not out.exists()
