"""CSV event logs: a stray quote or an over-long cell is named, never guessed at."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.read import MAX_BYTES

HEADER = "case,on,type,note\n"


def _batch(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    source = tmp_path / "log.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(source), "-o", str(out),
                                       "--as-of", "2019-01-01"], catch_exceptions=False)
    return result.exit_code, result.output, out


def test_a_quote_never_closed_is_an_error_naming_its_line(tmp_path: Path) -> None:
    # Read leniently, the rest of the file would become case A's note: case B's rows lost,
    # and exit 0 ("every case audited").
    code, output, out = _batch(tmp_path, HEADER + (
        'A,2018-01-01,invite_letter,"he said ""hi\n'
        "A,2018-01-08,referral_meeting,\n"
        "B,2018-01-01,invite_letter,\n"
    ))
    assert code == 2
    assert "log.csv:2: " in output
    assert "never closed" in output and "stray double quote" in output
    assert "Traceback" not in output
    assert not out.exists()


def test_a_quoted_note_over_several_lines_is_still_read(tmp_path: Path) -> None:
    code, output, out = _batch(tmp_path, HEADER + (
        'A,2018-01-01,invite_letter,"first line\nsecond, with a comma"\n'
        "B,2018-01-01,invite_letter,\n"
    ))
    assert code == 0, output
    cases = [json.loads(line)["case"] for line in (out / "audits.jsonl").open()]
    assert cases == ["A", "B"]


def test_a_cell_longer_than_the_csv_modules_default_is_read(tmp_path: Path) -> None:
    note = "y" * 200_000  # over csv's default limit of 131,072
    code, output, out = _batch(tmp_path, HEADER + f"A,2018-01-01,invite_letter,{note}\n"
                               "B,2018-01-01,invite_letter,\n")
    assert code == 0, output
    assert len((out / "audits.jsonl").read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize("size", [MAX_BYTES + 1, MAX_BYTES * 2])
def test_a_cell_longer_than_a_case_may_be_is_an_error(tmp_path: Path, size: int) -> None:
    code, output, _ = _batch(tmp_path, HEADER + f"A,2018-01-01,invite_letter,{'y' * size}\n")
    assert code == 2
    assert "log.csv:2: " in output and f"longer than {MAX_BYTES:,} characters" in output


def test_text_after_a_closing_quote_is_named(tmp_path: Path) -> None:
    code, output, _ = _batch(tmp_path, HEADER + 'A,2018-01-01,invite_letter,"hi" \n')
    assert code == 2
    assert "log.csv:2: " in output and "after its closing double quote" in output


def test_a_quote_never_closed_in_the_header_is_named_with_line_1(tmp_path: Path) -> None:
    code, output, _ = _batch(tmp_path, 'case,on,"type,note\nA,2018-01-01,invite_letter,x\n')
    assert code == 2
    assert "log.csv:1: " in output and "never closed" in output
    assert "UTF-8" not in output  # the file is UTF-8; the quote is the problem


def test_a_bad_row_after_the_first_chunk_leaves_no_new_folder(tmp_path: Path) -> None:
    rows = "".join(f"C{n},2018-01-01,invite_letter,\n" for n in range(300))
    code, output, out = _batch(tmp_path, HEADER + rows + 'Z,2018-01-01,invite_letter,"x\n')
    assert code == 2 and "never closed" in output
    assert not out.exists()  # README: "nothing is written"


def test_a_rejected_rows_field_is_named_by_its_column(tmp_path: Path) -> None:
    code, output, out = _batch(tmp_path, (
        "case,on,type,step_3,step_3_note,nino\n"
        "A,2018-01-01,referral_meeting,maybe,,\n"
        "B,2018-01-01,referral_meeting,done,,QQ12\n"
        "C,2018-01-01,referral_meeting,done,fine,\n"
    ))
    assert code == 3, output
    with (out / "errors.csv").open(encoding="utf-8", newline="") as stream:
        rows = [(r["case"], r["line"], r["field"]) for r in csv.DictReader(stream)]
    # The columns a spreadsheet user sees, not the case model's paths (events[0].steps.3).
    assert rows == [("A", "2", "step_3"), ("B", "3", "nino")]


def test_a_yes_no_cells_message_names_yes_and_no(tmp_path: Path) -> None:
    code, _, out = _batch(tmp_path, "case,on,type,attended\nA,2018-01-14,referral_meeting,maybe\n")
    assert code == 3
    with (out / "errors.csv").open(encoding="utf-8", newline="") as stream:
        (row,) = list(csv.DictReader(stream))
    assert (row["field"], row["message"]) == (
        "attended", "must be true, false, yes, no or unknown (or left empty)")
