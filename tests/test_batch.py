"""Batch mode: the same audits as one case at a time, bad cases reported, same bytes always."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import stat
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.audit import Auditor
from auditor.batch import run_batch
from auditor.caseload import case_rows, csv_columns
from auditor.checklist import load_procedure
from auditor.cli import main
from auditor.load import case_name, load_case, parse_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AS_OF = date(2025, 1, 1)
OUTPUTS = ("audits.jsonl", "findings.csv", "errors.csv", "index.html")

sys.path.insert(0, str(ROOT / "benchmarks"))
generate = pytest.importorskip("generate")


@pytest.fixture(scope="module")
def auditor() -> Auditor:
    return Auditor(load_procedure())


def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json"))


def _mixed_folder(tmp_path: Path, generated: int = 60) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    for path in _example_files():
        shutil.copy(path, folder / path.name)
    for case in generate.cases(generated, seed=7):
        (folder / f"{case['case']}.json").write_text(json.dumps(case), encoding="utf-8")
    return folder


def _single(auditor: Auditor, path: Path) -> dict[str, Any]:
    case = load_case(path, as_of=AS_OF, steps=auditor.procedure.steps)
    return auditor.audit(case, as_of=AS_OF, name=case_name(path, case)).as_json()


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_batch_agrees_with_single_audits(tmp_path: Path, auditor: Auditor) -> None:
    folder = _mixed_folder(tmp_path)
    result = _run(["batch", str(folder), "-o", str(tmp_path / "out"), "--as-of", "2025-01-01"])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out" / "audits.jsonl").read_text(encoding="utf-8").splitlines()
    files = sorted(folder.iterdir())
    assert len(lines) == len(files) == 63
    for path, line in zip(files, lines, strict=True):
        assert json.loads(line) == _single(auditor, path), path.name
    findings = list(csv.DictReader((tmp_path / "out" / "findings.csv").open(encoding="utf-8")))
    assert len(findings) == sum(len(json.loads(line)["findings"]) for line in lines)


def test_jsonl_agrees_with_single_audits(tmp_path: Path, auditor: Auditor) -> None:
    source = tmp_path / "cases.jsonl"
    cases = list(generate.cases(80, seed=11))
    source.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    result = run_batch(source, tmp_path / "out", as_of=AS_OF)
    assert (result.audited, result.rejected) == (80, 0)
    lines = (tmp_path / "out" / "audits.jsonl").read_text(encoding="utf-8").splitlines()
    for case, line in zip(cases, lines, strict=True):
        loaded = parse_case(case, file="x", locate=lambda loc: None, as_of=AS_OF,
                            steps=auditor.procedure.steps)
        assert json.loads(line) == auditor.audit(loaded, as_of=AS_OF).as_json()


def test_rejected_case_is_reported_and_the_rest_audited(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    good = list(generate.cases(3, seed=3))
    bad = {"case": "BAD-1", "events": [{"on": "2018-02-30", "type": "invite_letter"}]}
    source.write_text(
        "\n".join([json.dumps(good[0]), json.dumps(bad), "{not json", json.dumps(good[1]),
                   json.dumps(good[2])]) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = _run(["batch", str(source), "-o", str(out), "--as-of", "2025-01-01"])
    assert result.exit_code == 3
    assert len((out / "audits.jsonl").read_text().splitlines()) == 3
    rows = list(csv.DictReader((out / "errors.csv").open(encoding="utf-8")))
    assert [(r["case"], r["line"], r["field"]) for r in rows] == [
        ("BAD-1", "2", "events[0].on"), ("line-3", "3", ""),
    ]
    assert "not a real date" in rows[0]["message"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="count-rejected">2<' in index and 'id="count-audited">3<' in index
    assert "BAD-1" in index and "events[0].on" in index


def test_a_hostile_line_is_one_rejected_case(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    good = json.dumps(next(iter(generate.cases(1, seed=4))))
    source.write_bytes(
        ("[" * 200_000 + "\n" + good + "\n").encode() + b'{"case": "\xff"}\n' + b"[1]\n"
    )
    result = _run(["batch", str(source), "-o", str(tmp_path / "out"), "--as-of", "2025-01-01"])
    assert result.exit_code == 3, result.output
    rows = list(csv.DictReader((tmp_path / "out" / "errors.csv").open(encoding="utf-8")))
    assert [r["line"] for r in rows] == ["1", "3", "4"]
    assert "nested too deeply" in rows[0]["message"] and "UTF-8" in rows[1]["message"]
    assert len((tmp_path / "out" / "audits.jsonl").read_text().splitlines()) == 1


def test_rejected_csv_case_names_its_row_and_column(tmp_path: Path) -> None:
    source = tmp_path / "log.csv"
    source.write_text(
        "case,on,type,attended,benefit\n"
        "A,2019-01-07,invite_letter,,uc\n"
        "A,2019-01-14,referral_meeting,maybe,\n"
        "B,2019-01-07,invite_letter,,jsa\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert _run(["batch", str(source), "-o", str(out), "--as-of", "2025-01-01"]).exit_code == 3
    rows = list(csv.DictReader((out / "errors.csv").open(encoding="utf-8")))
    assert [(r["case"], r["line"], r["field"]) for r in rows] == [("A", "3", "attended")]
    assert json.loads((out / "audits.jsonl").read_text())["case"] == "B"


def test_unusable_input_exits_2(tmp_path: Path) -> None:
    missing = _run(["batch", str(tmp_path / "nope"), "-o", str(tmp_path / "out")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert not (tmp_path / "out").exists()
    bad_header = tmp_path / "log.csv"
    bad_header.write_text("case,on,type,atended\nA,2019-01-01,invite_letter,true\n")
    result = _run(["batch", str(bad_header), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "atended" in result.output
    assert "Traceback" not in result.output


def test_csv_round_trips_the_examples(tmp_path: Path, auditor: Auditor) -> None:
    from auditor.read import parse, read_text, to_plain

    columns = csv_columns(sorted(auditor.procedure.steps), range(1, 16))
    source = tmp_path / "log.csv"
    with source.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for path in _example_files():
            data, _ = parse(path, read_text(path))
            writer.writerows(case_rows(to_plain(data), columns, path.stem))
    assert run_batch(source, tmp_path / "out", as_of=AS_OF).rejected == 0
    lines = (tmp_path / "out" / "audits.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [_single(auditor, p) for p in _example_files()]


def test_bundled_example_caseloads_agree(tmp_path: Path) -> None:
    outputs = []
    for source in (EXAMPLES, EXAMPLES / "caseload" / "referrals.csv",
                   EXAMPLES / "caseload" / "referrals.jsonl"):
        out = tmp_path / source.name
        assert run_batch(source, out, as_of=AS_OF).rejected == 0
        outputs.append((out / "audits.jsonl").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_two_jobs_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.batch

    monkeypatch.setattr(auditor.batch, "CHUNK", 7)  # many chunks in flight, out of step
    source = tmp_path / "cases.jsonl"
    lines = [json.dumps(c) for c in generate.cases(150, seed=5)]
    lines.insert(40, '{"case": "BAD", "events": [{"type": "teleport", "on": "2019-01-01"}]}')
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for jobs in ("1", "2"):
        result = _run(["batch", str(source), "-o", str(tmp_path / jobs), "-j", jobs,
                       "--as-of", "2025-01-01"])
        assert result.exit_code == 3
    for name in OUTPUTS:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
    # The worker processes' part files are gone.
    assert sorted(p.name for p in (tmp_path / "2").iterdir()) == sorted(OUTPUTS)


def test_same_input_same_bytes(tmp_path: Path) -> None:
    for out in ("a", "b"):
        run_batch(EXAMPLES, tmp_path / out, as_of=AS_OF)
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_index_counts_for_a_known_caseload(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(EXAMPLES, out, as_of=date(2019, 6, 1))
    page = (out / "index.html").read_text(encoding="utf-8")
    audits = [json.loads(x) for x in (out / "audits.jsonl").read_text().splitlines()]
    assert 'id="count-audited">3<' in page and 'id="count-rejected">0<' in page
    breaches = {"missed", "out_of_order", "late", "ineligible", "content"}
    conforming = sum(
        1 for a in audits if not any(f["kind"] in breaches for f in a["findings"])
    )
    assert conforming == 1  # by-the-book only
    assert 'id="conformance-rate">33.3%<' in page
    # step-09 is missed in the rushed referral only; step-05 likewise.
    for rule, count in (("step-09", 1), ("step-05", 1), ("invite", 0)):
        row = page.split(f'id="rule-{rule}"')[1].split("</tr>")[0]
        assert f'class="num breached">{count}<' in row
    assert "<script" not in page and "http" not in page.split("<body")[0]
    assert "EX-rushed" in page.split('id="top-cases"')[1]


def test_outdir_inside_input_is_refused(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path, generated=0)
    result = _run(["batch", str(folder), "-o", str(folder / "out")])
    assert result.exit_code == 2


@pytest.mark.skipif(importlib.util.find_spec("auditor.report") is None,
                    reason="auditor.report (per-case HTML) is not on this branch yet")
def test_reports_are_written_and_linked(tmp_path: Path) -> None:
    pytest.importorskip("auditor.report")
    out = tmp_path / "out"
    result = _run(["batch", str(EXAMPLES), "-o", str(out), "--reports", "--as-of", "2019-06-01"])
    assert result.exit_code == 0, result.output
    reports = sorted((out / "reports").glob("*.html"))
    assert len(reports) == 3  # and no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert all(stat.S_IMODE(r.stat().st_mode) == 0o666 & ~umask for r in reports)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="reports/000002-EX-rushed.html"' in page


def test_reports_without_renderer_exit_1(tmp_path: Path) -> None:
    if importlib.util.find_spec("auditor.report") is not None:
        pytest.skip("auditor.report exists")
    result = _run(["batch", str(EXAMPLES), "-o", str(tmp_path / "out"), "--reports"])
    assert result.exit_code == 1 and "auditor.report" in result.output


def test_reports_path_with_a_stand_in_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The --reports plumbing (names, digests, links), whatever auditor.report renders."""
    import hashlib
    import types

    calls: list[tuple[str, str, bool]] = []

    def render_html(audit: Any, case: Any, procedure: Any, *, redact: bool = False,
                    case_digest: str) -> str:
        calls.append((audit.case, case_digest, redact))
        return f"<p>{audit.case}</p>"

    module = types.ModuleType("auditor.report")
    module.render_html = render_html  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "auditor.report", module)
    import auditor as package

    monkeypatch.setattr(package, "report", module, raising=False)
    out = tmp_path / "out"
    result = _run(["batch", str(EXAMPLES), "-o", str(out), "--reports", "--redact",
                   "--as-of", "2019-06-01"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (out / "reports").glob("*.html"))
    assert names == ["000001-EX-by-the-book.html", "000002-EX-rushed.html",
                     "000003-EX-support-group.html"]
    rushed = EXAMPLES / "rushed-referral.yaml"
    assert ("EX-rushed", hashlib.sha256(rushed.read_bytes()).hexdigest(), True) in calls
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="reports/000002-EX-rushed.html"' in page


def test_errors_csv_writes_a_formula_like_case_name_as_text(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    bad = {"case": "=1+1", "events": [{"on": "2018-02-30", "type": "invite_letter"}]}
    source.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    result = run_batch(source, tmp_path / "out", as_of=AS_OF)
    assert result.rejected == 1
    rows = list(csv.DictReader((tmp_path / "out" / "errors.csv").open(encoding="utf-8")))
    assert [row["case"] for row in rows] == ["'=1+1"]


def test_an_error_mid_batch_stops_the_workers_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.batch

    monkeypatch.setattr(auditor.batch, "CHUNK", 5)
    source = tmp_path / "cases.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in generate.cases(300, seed=9)),
                      encoding="utf-8")

    def disk_full(self: Any, *args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(auditor.batch._StreamOut, "splice", disk_full)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space"):
        run_batch(source, out, as_of=AS_OF, jobs=2)
    # The workers were stopped before the clean-up, so none writes a part file after it.
    time.sleep(1)
    assert not out.exists()  # nor the folder it made
