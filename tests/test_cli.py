"""The command line contract (spec §2): outputs, exit statuses, files never written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.conftest import EXAMPLES

RUSHED = EXAMPLES / "rushed-referral.yaml"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_json_goes_to_stdout_without_output_path() -> None:
    result = invoke("audit", str(RUSHED), "--format", "json", "--as-of", "2018-07-01")
    assert result.exit_code == 0, result.output
    audit = json.loads(result.output)
    assert audit["case"] == "EX-rushed"
    assert audit["as_of"] == "2018-07-01"
    assert audit["procedure"] == {"id": "whp-referral", "version": "2026.1"}
    assert set(audit) >= {"case", "procedure", "as_of", "recorded_by", "steps", "findings"}


def test_json_to_a_file_has_the_same_bytes_as_stdout(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    printed = invoke("audit", str(RUSHED), "--format", "json", "--as-of", "2018-07-01")
    written = invoke("audit", str(RUSHED), "--format", "json", "--as-of", "2018-07-01", "-o", str(out))
    assert written.exit_code == 0 and written.output == ""
    assert out.read_text(encoding="utf-8") == printed.output


def test_same_input_same_bytes() -> None:
    runs = {
        invoke("audit", str(RUSHED), "--format", "json", "--as-of", "2018-07-01").output
        for _ in range(3)
    }
    assert len(runs) == 1


def test_the_case_id_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "AC-2018-099.yaml"
    path.write_text("events: []\n", encoding="utf-8")
    result = invoke("audit", str(path), "--format", "json", "--as-of", "2018-07-01")
    assert json.loads(result.output)["case"] == "AC-2018-099"


def test_the_input_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_bytes(RUSHED.read_bytes())
    path.chmod(0o444)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = invoke("audit", str(path), "--format", "json", "--as-of", "2018-07-01")
    assert result.exit_code == 0
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_an_output_path_equal_to_the_input_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_bytes(RUSHED.read_bytes())
    result = invoke("audit", str(path), "--format", "json", "--as-of", "2018-07-01", "-o", str(path))
    assert result.exit_code == 2
    assert "is the input file" in result.output
    assert path.read_bytes() == RUSHED.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"events:\n  - {on: 2018-05-01, type: invite_letter, note: caf\xe9}\n", "is not UTF-8"),
        (b"events: [\n", "is not valid YAML"),
    ],
    ids=["missing", "empty", "blank", "not-utf8", "broken-yaml"],
)
def test_unusable_files_exit_2_naming_the_file(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "case.yaml"
    if content is not None:
        path.write_bytes(content)
    for command in (["validate"], ["audit", "--format", "json"]):
        result = invoke(*command, str(path), "--as-of", "2019-01-01")
        assert result.exit_code == 2, result.output
        assert str(path) in result.output and message in result.output
        assert "Traceback" not in result.output


def test_a_folder_given_as_the_case(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file, so nothing is unreadable")
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("events: []\n", encoding="utf-8")
    path.chmod(0)
    result = invoke("validate", str(path))
    assert result.exit_code == 2 and "cannot be read" in result.output


def test_a_bad_as_of_is_a_usage_error() -> None:
    result = invoke("audit", str(RUSHED), "--format", "json", "--as-of", "2019-13-01")
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_a_malformed_checklist_exits_1_with_its_problem(tmp_path: Path) -> None:
    checklist = tmp_path / "broken.yaml"
    checklist.write_text("id: x\nversion: '1'\n", encoding="utf-8")
    result = invoke("validate", str(RUSHED), "--checklist", str(checklist))
    assert result.exit_code == 1
    assert "checklist is malformed" in result.output and "Traceback" not in result.output


def test_the_installed_command_runs_as_a_program(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "auditor", "validate", str(RUSHED), "--as-of", "2018-07-01"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout
