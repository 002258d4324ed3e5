"""The published JSON Schemas: current, and in agreement with the models and the output."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from hypothesis import given, settings

from auditor.audit import Auditor
from auditor.checklist import load_procedure
from auditor.evaluate import STATUSES
from auditor.load import case_name, load_case, parse_case
from auditor.read import parse, read_text, to_plain
from auditor.schema import AUDIT_SCHEMA, CASE_SCHEMA, SCHEMA_DIR, AuditJson, Status, rendered
from auditor.schema import main as schema_main
from tests.strategies import cases

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(
    p for p in (ROOT / "examples").iterdir() if p.suffix in {".yaml", ".yml", ".json"}
)
PROCEDURE = load_procedure()
AUDITOR = Auditor(PROCEDURE)


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


CASES = validator(CASE_SCHEMA)
AUDITS = validator(AUDIT_SCHEMA)


def as_json_data(data: Any) -> Any:
    """What a YAML language server checks: the data as JSON (step numbers become text)."""
    return json.loads(json.dumps(data))


def errors(check: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return sorted(e.message for e in check.iter_errors(as_json_data(data)))


def test_committed_schemas_are_what_the_models_generate_now() -> None:
    for name, text in rendered().items():
        committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run python -m auditor.schema"


def test_the_check_command_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_main(["--check"]) == 0
    (tmp_path / CASE_SCHEMA).write_text("{}\n", encoding="utf-8")
    assert schema_main(["--check", "--dir", str(tmp_path)]) == 1
    assert "stale: case.schema.json, audit.schema.json" in capsys.readouterr().err
    assert schema_main(["--dir", str(tmp_path)]) == 0
    assert schema_main(["--check", "--dir", str(tmp_path)]) == 0


def test_the_status_vocabulary_matches_the_engine() -> None:
    assert list(get_args(Status)) == list(STATUSES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_case_matches_the_case_schema(example: Path) -> None:
    data, _ = parse(example, read_text(example))
    assert errors(CASES, to_plain(data)) == []


@settings(max_examples=100, deadline=None)
@given(cases())
def test_every_generated_valid_case_matches_the_case_schema(drawn: tuple[dict[str, Any], date]) -> None:
    data, _ = drawn
    assert errors(CASES, data) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "'events' is a required property"),
        ({"events": [], "evnets": []}, "Additional properties are not allowed ('evnets' was unexpected)"),
        ({"events": [{"on": "01/05/2018", "type": "invite_letter"}]}, "'01/05/2018' is not valid under any of the given schemas"),
        ({"events": [{"on": "2018-05-01", "type": "invitation"}]}, "'invitation' is not one of"),
        ({"events": [{"type": "invite_letter"}]}, "'on' is a required property"),
        (
            {"events": [{"on": "2018-05-01", "type": "invite_letter", "attended": True}]},
            "'attended' is not one of ['on', 'type', 'note', 'happened', 'channel']",
        ),
        (
            {"events": [{"type": "invite_letter", "happened": False, "channel": "letter"}]},
            "'channel' is not one of ['on', 'type', 'note', 'happened']",
        ),
        (
            {"events": [{"on": "2018-05-01", "type": "referral_meeting", "steps": {"16": "done"}}]},
            "'16' is not one of",
        ),
        (
            {"events": [{"on": "2018-05-01", "type": "referral_meeting", "steps": {"3": "yes"}}]},
            "'yes' is not valid under any of the given schemas",
        ),
        (
            {"events": [{"on": "1899-12-31", "type": "invite_letter"}]},
            "'1899-12-31' is not valid under any of the given schemas",
        ),
        ({"claimant": {"esa_group": "wrag"}, "events": []}, "'benefit' is a required property"),
        ({"claimant": {"nino": "12345"}, "events": []}, "'12345' is not valid under any of the given schemas"),
        ({"claimant": {"mandatory": "yes"}, "events": []}, "'yes' is not one of [True, False, 'unknown', None]"),
    ],
)
def test_the_case_schema_refuses_what_the_auditor_refuses(data: dict[str, Any], expected: str) -> None:
    found = errors(CASES, data)
    assert any(expected in message for message in found), found


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_audit_matches_the_audit_schema(example: Path) -> None:
    as_of = date(2030, 1, 1)
    case = load_case(example, as_of=as_of, steps=PROCEDURE.steps)
    result = AUDITOR.audit(case, as_of=as_of, name=case_name(example, case)).as_json()
    assert errors(AUDITS, result) == []


def test_the_audit_schema_names_every_key_the_output_has() -> None:
    # An audit with a warning and a cited paragraph uses every optional key.
    data = {
        "claimant": {"benefit": "esa", "esa_group": "support", "mandatory": True},
        "events": [
            {"on": "2017-01-09", "type": "invite_letter"},
            {"on": "2019-01-14", "type": "referral_meeting", "attended": True},
            {"on": "2019-01-15", "type": "referral_letter"},
        ],
    }
    as_of = date(2019, 3, 1)
    case = parse_case(data, file="<t>", locate=lambda loc: None, as_of=as_of, steps=PROCEDURE.steps)
    result = AUDITOR.audit(case, as_of=as_of, name="t").as_json()
    assert set(result) == set(AuditJson.__annotations__)
    assert errors(AUDITS, result) == []
    extra = dict(result, surprise=1)
    assert "Additional properties are not allowed ('surprise' was unexpected)" in errors(AUDITS, extra)
    paragraphs = [s for f in result["findings"] for s in f["sources"] if "paragraph" in s]
    assert paragraphs, "no cited paragraph: the optional key is untested"


@pytest.mark.parametrize(
    "steps", [{"3": True}, {"3": False}, {"3": None}, {"3": {"status": True, "note": "said so"}}]
)
def test_the_case_schema_accepts_every_form_of_step_the_auditor_accepts(steps: dict[str, Any]) -> None:
    data = {"events": [{"on": "2018-05-01", "type": "referral_meeting", "steps": steps}]}
    assert errors(CASES, data) == []
    parse_case(as_json_data(data), file="<t>", locate=lambda loc: None, as_of=None, steps=PROCEDURE.steps)
