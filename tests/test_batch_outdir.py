"""What a batch leaves in OUTDIR: no personal data under --redact (the audits are `audit
--redact`'s), one run's reports, and nothing of a run that failed or was stopped."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.case import is_personal
from auditor.cli import main

ROOT = Path(__file__).resolve().parent.parent
RUSHED = ROOT / "examples" / "rushed-referral.yaml"
AS_OF = "2019-06-01"

# Every personal value the case below carries: the claimant's name and NI number, a note on
# an event, a note on a step, and who recorded it.
PERSONAL = ("Sam Example", "QQ123456C", "ten minutes", "sharing my details", "Zelda Quimby")


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


def _outputs(outdir: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8") for path in sorted(outdir.rglob("*")) if path.is_file()
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    cases = tmp_path / "cases"
    cases.mkdir()
    text = RUSHED.read_text(encoding="utf-8")
    (cases / "rushed.yaml").write_text("recorded_by: Zelda Quimby\n" + text, encoding="utf-8")
    return cases


def test_batch_redact_leaves_no_personal_value_in_any_output(
    folder: Path, tmp_path: Path
) -> None:
    plain, redacted = tmp_path / "plain", tmp_path / "redacted"
    assert _run(["batch", str(folder), "-o", str(plain), "--reports", "--as-of", AS_OF])[0] == 0
    code, _ = _run(["batch", str(folder), "-o", str(redacted), "--reports", "--redact",
                    "--as-of", AS_OF])
    assert code == 0
    shown, hidden = _outputs(plain), _outputs(redacted)
    # Without --redact the values are there (so the check below can fail) ...
    assert "Zelda Quimby" in (plain / "audits.jsonl").read_text(encoding="utf-8")
    assert "Zelda Quimby" in (plain / "findings.csv").read_text(encoding="utf-8")
    for value in PERSONAL:
        assert value in shown, value
        # ... and with it they are nowhere: audits, findings, errors, summary, reports.
        assert value not in hidden, value


def test_batch_redact_audits_are_those_of_audit_redact(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run(["batch", str(folder), "-o", str(out), "--redact", "--as-of", AS_OF])[0] == 0
    code, single = _run(["audit", str(folder / "rushed.yaml"), "--redact", "--format", "json",
                         "--as-of", AS_OF])
    assert code == 0
    line = (out / "audits.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(line) == json.loads(single)
    assert json.loads(line)["recorded_by"] is None


CONFLICT = (
    "case,on,type,name,nino,recorded_by\n"
    "A,2018-01-01,invite_letter,Xavier Plumtree,QQ987654B,Zelda Quimby\n"
    "A,2018-01-08,referral_meeting,Xavier Plumptre,QQ987654C,Zelda Q\n"
)


def test_batch_redact_withholds_personal_values_from_error_messages(tmp_path: Path) -> None:
    source = tmp_path / "log.csv"
    source.write_text(CONFLICT, encoding="utf-8")
    plain, redacted = tmp_path / "plain", tmp_path / "redacted"
    assert _run(["batch", str(source), "-o", str(plain), "--as-of", AS_OF])[0] == 3
    assert _run(["batch", str(source), "-o", str(redacted), "--redact", "--as-of", AS_OF])[0] == 3
    assert "'Xavier Plumptre' here but 'Xavier Plumtree' on line 2" in _outputs(plain)
    hidden = _outputs(redacted)
    for value in ("Plumtree", "Plumptre", "QQ987654", "Zelda"):
        assert value not in hidden, value
    # What is wrong, and where, is still said.
    with (redacted / "errors.csv").open(encoding="utf-8", newline="") as stream:
        rows = [(r["line"], r["field"], r["message"]) for r in csv.DictReader(stream)]
    advice = "give a claimant fact once, or the same on every row"
    assert rows == [
        ("3", field, f"differs here from its value on line 2; {advice}")
        for field in ("name", "nino", "recorded_by")
    ]


@pytest.mark.parametrize(
    ("field", "personal"),
    [
        ("claimant.name", True),
        ("claimant.nino", True),
        ("nino", True),
        ("recorded_by", True),
        ("events[2].note", True),
        ("events[0].steps.3.note", True),
        ("step_3_note", True),
        ("claimant.benefit", False),
        ("events[2].on", False),
        ("step_3", False),
        ("case", False),
        ("", False),
    ],
)
def test_which_fields_are_personal(field: str, personal: bool) -> None:
    assert is_personal(field) is personal


def _reports(outdir: Path) -> list[str]:
    """What a person sees in reports/ (not the hidden list of the last run's reports)."""
    if not (outdir / "reports").exists():
        return []
    return sorted(path.name for path in (outdir / "reports").iterdir()
                  if not path.name.startswith("."))


def _hidden(outdir: Path) -> list[str]:
    """Hidden files and folders left in OUTDIR or reports/ (part files, unfinished runs)."""
    places = [outdir, *([outdir / "reports"] if (outdir / "reports").is_dir() else [])]
    return sorted(p.name for place in places for p in place.iterdir() if p.name.startswith("."))


def test_a_rerun_replaces_the_last_runs_reports(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    second = tmp_path / "second"
    second.mkdir()
    (second / "only.yaml").write_text(RUSHED.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "also.yaml").write_text(RUSHED.read_text(encoding="utf-8").replace(
        "case: EX-rushed", "case: EX-also"), encoding="utf-8")
    assert _run(["batch", str(folder), "-o", str(out), "--reports", "--as-of", AS_OF])[0] == 0
    assert _reports(out) == ["000001-EX-also.html", "000002-EX-rushed.html"]
    (out / "reports" / "my-notes.txt").write_text("kept", encoding="utf-8")
    code, _ = _run(["batch", str(second), "-o", str(out), "--reports", "--redact",
                    "--as-of", AS_OF])
    assert code == 0
    # The first run's (unredacted) reports are gone; a file of the user's own stays.
    assert _reports(out) == ["000001-EX-rushed.html", "my-notes.txt"]
    assert "Sam Example" not in (out / "reports" / "000001-EX-rushed.html").read_text("utf-8")
    # A run without --reports leaves no reports that its index.html does not list.
    assert _run(["batch", str(second), "-o", str(out), "--as-of", AS_OF])[0] == 0
    assert _reports(out) == ["my-notes.txt"]
    assert _hidden(out) == []


def test_a_failed_run_leaves_the_last_runs_reports(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.batch

    out = tmp_path / "out"
    assert _run(["batch", str(folder), "-o", str(out), "--reports", "--as-of", AS_OF])[0] == 0
    before = {p.name: p.read_bytes() for p in (out / "reports").iterdir()}

    def disk_full(self: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(auditor.batch._StreamOut, "write", disk_full)
    with pytest.raises(OSError, match="No space"):
        auditor.batch.run_batch(folder, out, as_of=date(2019, 6, 1), reports=True, redact=True)
    assert {p.name: p.read_bytes() for p in (out / "reports").iterdir()} == before
    assert _hidden(out) == [".whp-audit-reports"]


def test_reports_that_is_not_a_folder_is_refused_before_any_work(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "reports").write_text("mine", encoding="utf-8")
    code, output = _run(["batch", str(folder), "-o", str(out), "--reports", "--as-of", AS_OF])
    assert code == 2
    assert "reports: -o: is not a folder" in output
    assert sorted(p.name for p in out.iterdir()) == ["reports"]


def test_only_the_last_runs_reports_are_removed(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    reports = out / "reports"
    reports.mkdir(parents=True)
    # Reports of a run from before the list was kept, and the user's own files, one of
    # them named like a report (a date).
    (reports / "000007-OLD.html").write_text("old", encoding="utf-8")
    (reports / "20240101-summary.html").write_text("mine", encoding="utf-8")
    assert _run(["batch", str(folder), "-o", str(out), "--reports", "--as-of", AS_OF])[0] == 0
    assert _reports(out) == ["000001-EX-rushed.html", "20240101-summary.html"]
    (reports / "000009-MINE.html").write_text("mine too", encoding="utf-8")
    assert _run(["batch", str(folder), "-o", str(out), "--as-of", AS_OF])[0] == 0
    # Listed by the last run, its report goes; a file it did not write stays.
    assert _reports(out) == ["000009-MINE.html", "20240101-summary.html"]


def test_an_interrupted_replacement_leaves_every_report_whole(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.batch

    for n in range(3):
        (folder / f"more-{n}.yaml").write_text(RUSHED.read_text(encoding="utf-8").replace(
            "case: EX-rushed", f"case: EX-{n}"), encoding="utf-8")
    out = tmp_path / "out"
    assert _run(["batch", str(folder), "-o", str(out), "--reports", "--as-of", AS_OF])[0] == 0
    first = _reports(out)
    assert len(first) == 4
    (folder / "more-2.yaml").unlink()
    (folder / "more-1.yaml").unlink()
    renamed = Path.rename
    moves: list[Path] = []

    def stopped(self: Path, target: Path) -> Path:
        if self.parent.name.startswith(".run-"):
            moves.append(self)
            if len(moves) == 2:
                raise KeyboardInterrupt
        return renamed(self, target)

    monkeypatch.setattr(Path, "rename", stopped)
    with pytest.raises(KeyboardInterrupt):
        auditor.batch.run_batch(folder, out, as_of=date(2019, 6, 1), reports=True)
    monkeypatch.setattr(Path, "rename", renamed)
    # One new report is in; none is lost; the list names all that are there.
    assert _reports(out) == first
    listed = (out / "reports" / ".whp-audit-reports").read_text(encoding="utf-8").split()
    assert set(first) <= set(listed)
    # The next run clears both runs' reports.
    assert _run(["batch", str(folder), "-o", str(out), "--as-of", AS_OF])[0] == 0
    assert _reports(out) == []
    assert _hidden(out) == []


def test_reports_may_be_a_link_to_another_file_system(folder: Path, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another file system")
    elsewhere = Path(tempfile.mkdtemp(dir=shm))
    try:
        out = tmp_path / "out"
        out.mkdir()
        (out / "reports").symlink_to(elsewhere)
        for flags in ([], ["--redact"]):
            code, output = _run(["batch", str(folder), "-o", str(out), "--reports", *flags,
                                 "--as-of", AS_OF])
            assert code == 0, output
            assert sorted(p.name for p in elsewhere.glob("*.html")) == ["000001-EX-rushed.html"]
        assert "Sam Example" not in (elsewhere / "000001-EX-rushed.html").read_text("utf-8")
        assert (out / "reports").is_symlink() and _hidden(out) == [".whp-audit-reports"]
    finally:
        shutil.rmtree(elsewhere)


SHIFTED = (
    "case,on,type,note,name,nino\n"
    "K2,Sam Example,QQ123456C,,,\n"
    "K3,2019-03-04,Claimant Sam Example said he was ill,,,\n"
)


@pytest.mark.parametrize("name", ["log.csv", "cases.jsonl"])
def test_batch_redact_withholds_a_value_typed_into_another_field(
    tmp_path: Path, name: str
) -> None:
    # A spreadsheet's column shifted by one puts a name in the date and an NI number in
    # the type; the messages quote what was given, so under --redact that is withheld.
    source = tmp_path / name
    if name.endswith(".csv"):
        source.write_text(SHIFTED, encoding="utf-8")
    else:
        source.write_text(json.dumps({"case": "K2", "events": [
            {"on": "Sam Example", "type": "QQ123456C"}]}) + "\n", encoding="utf-8")
    plain, redacted = tmp_path / "plain", tmp_path / "redacted"
    assert _run(["batch", str(source), "-o", str(plain), "--as-of", AS_OF])[0] == 3
    assert _run(["batch", str(source), "-o", str(redacted), "--redact", "--as-of", AS_OF])[0] == 3
    assert "Sam Example" in _outputs(plain) and "QQ123456C" in _outputs(plain)
    hidden = _outputs(redacted)
    assert "Sam Example" not in hidden and "QQ123456C" not in hidden
    # What is wrong is still said.
    assert "is not a date in the form YYYY-MM-DD" in hidden
    assert "unknown event type '[withheld under --redact]'" in hidden


def test_sigterm_stops_the_batch_and_leaves_nothing(tmp_path: Path) -> None:
    # A job scheduler, or `timeout`, stops a long batch with SIGTERM: it must clean up as
    # Ctrl-C does (no part files of gigabytes, no half set of reports, no new OUTDIR).
    sys.path.insert(0, str(ROOT / "benchmarks"))
    generate = pytest.importorskip("generate")
    source = tmp_path / "cases.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in generate.cases(4000, seed=3)),
                      encoding="utf-8")
    out = tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-c", "from auditor.cli import main; main()", "batch", str(source),
         "-o", str(out), "--reports", "--jobs", "2", "--as-of", AS_OF],
        stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not list(out.glob("reports/.run-*/*.html")) and time.monotonic() < deadline:
        assert batch.poll() is None, "the batch ended before it could be stopped"
        time.sleep(0.02)
    batch.send_signal(signal.SIGTERM)
    _, errors = batch.communicate(timeout=60)
    assert batch.returncode != 0
    assert "Traceback" not in errors
    assert not out.exists()


def test_a_list_edited_by_hand_removes_nothing_outside_reports(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _run(["batch", str(folder), "-o", str(out), "--reports", "--as-of", AS_OF])[0] == 0
    keep = tmp_path / "keep.html"
    keep.write_text("mine", encoding="utf-8")
    listed = out / "reports" / ".whp-audit-reports"
    listed.write_text(listed.read_text(encoding="utf-8") + "../../keep.html\n../audits.jsonl\n",
                      encoding="utf-8")
    assert _run(["batch", str(folder), "-o", str(out), "--as-of", AS_OF])[0] == 0
    assert keep.exists() and (out / "audits.jsonl").exists()
    assert _reports(out) == []
