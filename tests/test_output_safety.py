"""Safe output (issue 6): the evidence is never written, and a report is whole or absent."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor import output
from auditor.cli import main
from auditor.output import write_atomic

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "rushed-referral.yaml"
AS_OF = "2018-07-01"



pytestmark = pytest.mark.usefixtures("procedure_built_once")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def case(tmp_path: Path) -> Path:
    path = tmp_path / "case.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def fingerprint(path: Path) -> tuple[bytes, int, int]:
    info = path.stat()
    return path.read_bytes(), info.st_mtime_ns, stat.S_IMODE(info.st_mode)


def test_the_input_file_is_never_written(case: Path, tmp_path: Path) -> None:
    before = fingerprint(case)
    result = run("audit", str(case), "--format", "json", "--as-of", AS_OF, "-o", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert run("validate", str(case), "--as-of", AS_OF).exit_code == 0
    assert fingerprint(case) == before


def test_a_read_only_case_file_still_audits(case: Path) -> None:
    case.chmod(0o444)
    try:
        result = run("audit", str(case), "--format", "json", "--as-of", AS_OF)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["case"] == "EX-rushed"
    finally:
        case.chmod(0o644)


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink"])
def test_an_output_path_that_is_the_input_is_refused(case: Path, spelling: str) -> None:
    before = fingerprint(case)
    target = {
        "same": case,
        "dotted": case.parent / "." / case.name,
        "symlink": case.parent / "link.json",
        "hardlink": case.parent / "hard.json",
    }[spelling]
    if spelling == "symlink":
        target.symlink_to(case)
    if spelling == "hardlink":
        os.link(case, target)
    result = run("audit", str(case), "--format", "json", "--as-of", AS_OF, "-o", str(target))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"whp-audit: {target}: -o: is the input file {case}; choose another output path" in result.stderr
    assert fingerprint(case) == before


def test_an_output_path_that_is_the_checklist_is_refused(tmp_path: Path, case: Path) -> None:
    checklist = tmp_path / "procedure.yaml"
    checklist.write_bytes((ROOT / "checklists" / "whp-referral.yaml").read_bytes())
    before = fingerprint(checklist)
    result = run(
        "audit", str(case), "--format", "json", "--as-of", AS_OF,
        "--checklist", str(checklist), "-o", str(checklist),
    )
    assert result.exit_code == 2
    assert "is the input file" in result.stderr
    assert fingerprint(checklist) == before


def test_an_output_path_that_is_a_folder_is_refused(tmp_path: Path, case: Path) -> None:
    result = run("audit", str(case), "--format", "json", "--as-of", AS_OF, "-o", str(tmp_path))
    assert result.exit_code == 2
    assert f"{tmp_path}: -o: is a folder; give the path of the report file to write" in result.stderr


def test_a_report_file_holds_exactly_what_stdout_would(tmp_path: Path, case: Path) -> None:
    report = tmp_path / "out" / "report.json"
    written = run("audit", str(case), "--format", "json", "--as-of", AS_OF, "-o", str(report))
    printed = run("audit", str(case), "--format", "json", "--as-of", AS_OF)
    assert written.exit_code == printed.exit_code == 0
    assert report.read_text(encoding="utf-8") == printed.stdout
    assert [p.name for p in report.parent.iterdir()] == ["report.json"]  # no temporary left


def test_an_interrupted_write_leaves_the_old_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.json"
    report.write_text("old report\n", encoding="utf-8")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(report, "new report\n")
    assert report.read_text(encoding="utf-8") == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_no_report_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(tmp_path / "report.json", "x" * 10_000)
    assert list(tmp_path.iterdir()) == []


def test_a_new_report_gets_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644


def test_a_replaced_report_keeps_its_permissions(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old\n", encoding="utf-8")
    report.chmod(0o600)
    write_atomic(report, "new\n")
    assert report.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


def test_json_output_carries_text_from_the_case_as_plain_data(tmp_path: Path) -> None:
    # Markup from the case stays an inert JSON string; escaping it for HTML is the
    # report's job (see the report tests), and JSON must not pre-escape it.
    hostile = '<script>alert("x")</script> & </pre>\u2028'
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps({"case": hostile, "recorded_by": hostile, "events": []}), encoding="utf-8"
    )
    result = run("audit", str(case), "--format", "json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert _plain(data)
    assert data["case"] == hostile
    assert data["recorded_by"] == hostile
    assert any(f["ground"] for f in data["findings"])


def test_the_html_report_shows_markup_from_the_case_as_text(tmp_path: Path) -> None:
    # The report's own tests cover escaping in depth; this keeps the promise covered here.
    case = tmp_path / "case.yaml"
    case.write_text(
        'case: "<script>alert(1)</script>"\n'
        'recorded_by: "<b>me</b>"\n'
        'claimant: {name: "<img src=x onerror=alert(2)>"}\n'
        "events:\n"
        '  - {on: 2018-05-01, type: invite_letter, note: "<script>alert(3)</script>"}\n',
        encoding="utf-8",
    )
    result = run("audit", str(case), "--format", "html", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    html = result.stdout
    assert "<script" not in html
    assert "<img" not in html
    assert "<b>me</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
