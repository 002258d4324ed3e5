"""The catalogue of broken and hostile case files (issue 6), each with its message.

Every bad input must end in exit status 2 with a message naming the file, the
line where known, the field, and what is allowed, and never a traceback or a
hang (spec §2). These run the real command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from auditor.cli import main
from auditor.read import MAX_BYTES

AS_OF = "2018-07-01"
GOOD = "events:\n  - {on: 2018-05-01, type: invite_letter}\n"



pytestmark = pytest.mark.usefixtures("procedure_built_once")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def audit(path: Path, *extra: str) -> Result:
    return run("audit", str(path), "--format", "json", "--as-of", AS_OF, *extra)


def refused(path: Path, *extra: str) -> str:
    """Audit ``path``, assert it is refused as invalid input, and return the message."""
    result = audit(path, *extra)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"whp-audit: {path}")
    return result.stderr


def write(tmp_path: Path, content: str | bytes, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# Encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["case.yaml", "case.json"])
def test_a_utf8_byte_order_mark_is_read_correctly(tmp_path: Path, name: str) -> None:
    text = GOOD if name.endswith(".yaml") else json.dumps(
        {"case": "BOM-1", "events": [{"on": "2018-05-01", "type": "invite_letter"}]}
    )
    path = write(tmp_path, b"\xef\xbb\xbf" + text.encode(), name)
    result = audit(path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"][1] == {"rule": "invite", "status": "done"}


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_is_refused_with_a_hint(tmp_path: Path, codec: str) -> None:
    path = write(tmp_path, GOOD.encode(codec))  # "utf-16" writes a BOM, "utf-16-be" none
    message = refused(path)
    assert "UTF-16" in message
    assert "save it as UTF-8" in message


def test_latin1_bytes_are_refused_naming_the_line_and_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "events: []\nrecorded_by: Jos\xe9\n".encode("latin-1"))
    message = refused(path)
    assert f"{path}:2:" in message
    assert "is not UTF-8 (byte 0xe9" in message
    assert "Latin-1" in message


# YAML that must be refused safely ----------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
events: []
"""


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS)
    started = time.monotonic()
    message = refused(path)
    assert time.monotonic() - started < 5
    assert "holds more than 100,000 values, counting each use of an alias" in message


def test_a_modest_anchor_and_alias_is_still_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "events:\n"
        "  - {on: 2018-05-01, type: invite_letter, note: &said 'Letter came late'}\n"
        "  - {on: 2018-05-08, type: referral_meeting, note: *said}\n",
    )
    assert audit(path).exit_code == 0


@pytest.mark.parametrize(
    ("fragment", "shown"),
    [
        ("!!python/object:os.system {a: 1}", "!!python/object:os.system"),
        ("!!python/object/apply:os.system ['touch {marker}']", "!!python/object/apply:os.system"),
        ("!foo bar", "!foo"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set [a, b]", "!!set"),
    ],
)
def test_custom_tags_are_refused_and_never_run(tmp_path: Path, fragment: str, shown: str) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"events: []\nrecorded_by: {fragment.replace('{marker}', str(marker))}\n")
    message = refused(path)
    assert f"{path}:2: the YAML tag {shown} is not allowed" in message
    assert "plain text, numbers, true/false, lists and mappings" in message
    assert not marker.exists()


def test_nesting_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "events: []\nclaimant: " + "[" * 40 + "]" * 40 + "\n")
    assert "is nested more than 32 levels deep" in refused(path)


@pytest.mark.parametrize(
    ("name", "newline"), [("case.json", ""), ("case.json", "\n"), ("case.yaml", "\n")]
)
def test_nesting_deep_enough_to_exhaust_the_parser_is_refused(
    tmp_path: Path, name: str, newline: str
) -> None:
    deep = f"[{newline}" * 50_000 + "]" * 50_000
    path = write(tmp_path, '{"events": ' + deep + "}", name)
    started = time.monotonic()
    assert "is nested too deeply to be a case file (at most 32 levels)" in refused(path)
    assert time.monotonic() - started < 5


def test_brackets_crowded_on_one_line_are_refused_before_parsing(tmp_path: Path) -> None:
    # ruamel's scanner is quadratic in brackets opened on one line: refuse them unparsed.
    path = write(tmp_path, "events: []\nclaimant: " + "[" * 200_000 + "\n")
    started = time.monotonic()
    message = refused(path)
    assert time.monotonic() - started < 5
    assert f"{path}:2: has more than 64 '[' or '{{' within 1,024 characters" in message


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "#" * MAX_BYTES + "\n")
    message = refused(path)
    assert "is larger than 500,000 bytes, the limit for a case file" in message


def test_a_file_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "#" * (MAX_BYTES - len(GOOD) - 1) + "\n")
    assert path.stat().st_size == MAX_BYTES
    assert audit(path).exit_code == 0


def test_a_yaml_11_directive_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "%YAML 1.1\n---\n" + GOOD)
    message = refused(path)
    assert f"{path}:1: declares %YAML 1.1; case files are read as YAML 1.2" in message


def test_a_number_thousands_of_digits_long_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "events: []\nrecorded_by: 1" + "0" * 5000 + "\n")
    assert "contains a number more than 4,300 digits long" in refused(path)


# Dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["01/05/2018", "1/5/18", "2018/05/01", "1 May 2018"])
def test_dates_in_other_formats_are_refused_with_a_hint_never_guessed(
    tmp_path: Path, written: str
) -> None:
    path = write(tmp_path, f"events:\n  - on: {written}\n    type: invite_letter\n")
    message = refused(path)
    assert f"{path}:2: events[0].on: '{written}' is not a date in the form YYYY-MM-DD" in message
    assert "refused, not guessed" in message


def test_an_impossible_date_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "events:\n  - {on: 2018-02-30, type: invite_letter}\n")
    assert f"{path}:2: events[0].on: '2018-02-30' is not a real date" in refused(path)


def test_an_event_after_the_audit_date_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "events:\n  - {on: 2018-05-01, type: invite_letter}\n"
                           "  - {on: 2018-07-02, type: referral_meeting}\n")
    message = refused(path)
    assert f"{path}:3: events[1].on: dated 2018-07-02, after the audit date 2018-07-01" in message
    assert "(allowed: a date on or before 2018-07-01)" in message


def test_an_event_before_the_programme_began_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "events:\n  - {on: 2016-05-01, type: invite_letter}\n")
    result = audit(path)
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 1
    assert "dated 2016-05-01, before the Work and Health Programme began" in warnings[0]


# Duplicate keys ------------------------------------------------------------------------------


def test_a_duplicate_key_is_refused_naming_the_key_and_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "claimant:\n  nino: QQ123456C\n  benefit: uc\n  mandatory: true\n"
        "  benefit: jsa\nevents: []\n",
    )
    message = refused(path)
    assert f"{path}:5: benefit: appears twice in one mapping, at line 3 and again at line 5" in message


def test_a_duplicate_key_inside_an_event_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "events:\n  - on: 2018-05-01\n    type: invite_letter\n    on: 2018-05-02\n")
    assert "on: appears twice in one mapping, at line 2 and again at line 4" in refused(path)


def test_a_duplicate_key_in_json_names_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{\n  "case": "A",\n  "events": [],\n  "case": "B"\n}\n',
        "case.json",
    )
    assert f"{path}:4: case: appears twice in one mapping, at line 2 and again at line 4" in refused(path)


# Not a case file at all -------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    message = refused(tmp_path / "nowhere.yaml")
    assert "no such file (give the path of a .yaml, .yml or .json file)" in message


def test_a_directory(tmp_path: Path) -> None:
    assert "is a folder; give a case file (.yaml, .yml or .json)" in refused(tmp_path)


@pytest.mark.parametrize("content", ["", "   \n\n", "\ufeff"])
def test_an_empty_file(tmp_path: Path, content: str) -> None:
    assert "is empty; a case file needs at least 'events: []'" in refused(write(tmp_path, content))


def test_a_list_at_the_top_level(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "- on: 2018-05-01\n  type: invite_letter\n"))
    assert "the top level must be a mapping of fields, such as 'events:'" in message


def test_a_misspelt_field_names_what_is_allowed(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "events:\n  - {on: 2018-05-01, type: invite_letter, chanel: email}\n"))
    assert f"{tmp_path / 'case.yaml'}:2: events[0]" in message
    assert "chanel" in message
    assert "allowed: on, type, note, happened, channel" in message


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The installed ``whp-audit`` in a child process: a hang fails by timeout, not forever."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "whp-audit"), *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_refused_without_hanging(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} is not on this system")
    done = _cli("audit", device, "--format", "json", "--as-of", AS_OF, timeout=20)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{device}: is a device, pipe or other special file, not a case file" in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    done = _cli("validate", str(fifo), "--as-of", AS_OF, timeout=20)
    assert done.returncode == 2
    assert "is a device, pipe or other special file" in done.stderr


def test_the_real_command_never_shows_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS)
    done = _cli("validate", str(path), "--as-of", AS_OF)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith(f"whp-audit: {path}: holds more than 100,000 values")


def test_validate_refuses_the_same_input_with_the_same_message(tmp_path: Path) -> None:
    path = write(tmp_path, "events:\n  - {on: 01/05/2018, type: invite_letter}\n")
    result = run("validate", str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr == refused(path)


# Found by the fuzz run (fuzz/README.md) --------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "? events: []\n",  # a mapping used as a key
        "? [a, b]\n: 1\nevents: []\n",  # a list used as a key
        "events: []\n? - {on: 2019-03-25, type: start_meeting}\ncase: X\n",
    ],
)
def test_a_list_or_mapping_used_as_a_key_is_refused(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, content)
    message = refused(path)
    assert "a key here is a list or mapping; keys must be plain text or step numbers" in message
    assert f"{path}:" in message


def test_a_reused_anchor_is_read_without_a_library_warning(tmp_path: Path) -> None:
    # Found in the fuzz run: ruamel's ReusedAnchorWarning reached stderr with a source listing.
    # A child process, because pytest would capture the warning before stderr saw it.
    path = write(tmp_path, "case: &a X-1\nrecorded_by: &a adviser\nevents: []\n")
    done = _cli("audit", str(path), "--format", "json", "--as-of", AS_OF)
    assert done.returncode == 0
    assert done.stderr == ""
    assert json.loads(done.stdout)["recorded_by"] == "adviser"


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        ("event\u2028s: []\n", "event\\u2028s: is not a field here"),  # found by the fuzz run
        ("events:\n  - {on: \"2023-0\u20281-19\", type: invite_letter}\n", "'2023-0\\u20281-19'"),
        ('events: []\n"case\\e[2J": x\n', "case\\x1b[2J: is not a field here"),
        ('events: []\n"a\\nb": x\n', "a\\nb: is not a field here"),
    ],
)
def test_unprintable_text_from_the_case_is_escaped_in_messages(
    tmp_path: Path, content: str, shown: str
) -> None:
    # A line separator or terminal escape in a key must neither split the message
    # nor reach the terminal.
    message = refused(write(tmp_path, content))
    assert shown in message
    assert all(ch.isprintable() for ch in message.rstrip("\n").replace("\n", ""))
    assert all(line.startswith(("whp-audit: ", str(tmp_path))) for line in message.splitlines())


def test_an_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated: the tests may run as root, who can read anything.
    path = write(tmp_path, GOOD)

    real_open = os.open

    def denied(target: object, *args: Any) -> int:
        if Path(str(target)) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(target, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    assert f"{path}: cannot be read (Permission denied)" in refused(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("lone.json", '{"case": "\\ud800x", "events": []}'),
        ("lone.yaml", 'case: "\\ud800x"\nevents: []\n'),
        ("lone-note.json",
         '{"events": [{"on": "2018-05-01", "type": "invite_letter", "note": "a \\udc00"}]}'),
    ],
)
def test_an_escaped_lone_surrogate_is_refused_with_its_field(
    tmp_path: Path, name: str, text: str
) -> None:
    # Half of a UTF-16 pair is no character: it could never be written out as UTF-8.
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(path), "--as-of", "2019-01-01",
                                       "--format", "json"])
    assert result.exit_code == 2, result.output
    assert "half of a UTF-16 pair" in result.output
    assert ("events[0].note" if "note" in name else "case") in result.output


def test_an_escaped_surrogate_pair_is_a_character(tmp_path: Path) -> None:
    path = tmp_path / "pair.json"
    path.write_text('{"events": [{"on": "2018-05-01", "type": "invite_letter", '
                    '"note": "a \\ud83d\\ude00"}]}', encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(path), "--as-of", "2019-01-01",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output


def test_a_batch_rejects_only_the_case_with_a_lone_surrogate(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text('{"case": "A", "events": []}\n{"case": "\\ud800x", "events": []}\n',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["batch", str(source), "-o", str(tmp_path / "out"),
                                       "--as-of", "2019-01-01"])
    assert result.exit_code == 3, result.output
    errors = (tmp_path / "out" / "errors.csv").read_text(encoding="utf-8")
    assert "\\ud800x" in errors and "half of a UTF-16 pair" in errors
