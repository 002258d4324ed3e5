"""The case file (spec §1): what is accepted, and the message for each thing that is not.

Every refusal goes through the command line, so each test also checks the
contract of spec §2: exit status 2, the file and line named, no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main


def validate(tmp_path: Path, text: str, name: str = "case.yaml", as_of: str = "2020-01-01"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(main, ["validate", str(path), "--as-of", as_of])


def refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_a_minimal_case_is_valid(tmp_path: Path) -> None:
    result = validate(tmp_path, "events: []\n")
    assert result.exit_code == 0
    assert "valid" in result.output


def test_the_key_on_stays_text_under_yaml_1_2(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - on: 2018-05-01\n    type: invite_letter\n")
    assert result.exit_code == 0, result.output


def test_yes_is_not_a_boolean(tmp_path: Path) -> None:
    result = validate(tmp_path, "claimant:\n  mandatory: yes\nevents: []\n")
    refused(result, "case.yaml:2", "claimant.mandatory", "true, false or unknown")


def test_unknown_is_accepted_for_a_yes_no_fact(tmp_path: Path) -> None:
    result = validate(tmp_path, "claimant:\n  mandatory: unknown\nevents: []\n")
    assert result.exit_code == 0, result.output


def test_an_impossible_date_gets_a_clear_message(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - {on: 2018-02-30, type: invite_letter}\n")
    refused(result, "case.yaml:2", "events[0].on", "'2018-02-30' is not a real date")


def test_a_day_month_year_date_is_refused_not_guessed(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - {on: 01/05/2018, type: invite_letter}\n")
    refused(result, "case.yaml:2", "YYYY-MM-DD", "not guessed")


def test_an_unknown_top_level_key_is_refused_with_what_is_allowed(tmp_path: Path) -> None:
    result = validate(tmp_path, "case: x\nevent: []\n")
    refused(result, "case.yaml:2", "event:", "allowed: case, recorded_by, claimant, events")


def test_events_is_required(tmp_path: Path) -> None:
    result = validate(tmp_path, "case: x\n")
    refused(result, "events: is required")


def test_an_unknown_event_type_lists_the_types(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - on: 2018-05-01\n    type: invite_leter\n")
    refused(result, "case.yaml:3", "events[0].type", "invite_leter", "invite_letter, referral_meeting")


def test_a_field_of_another_event_type_is_refused(tmp_path: Path) -> None:
    text = "events:\n  - on: 2018-05-01\n    type: invite_letter\n    attended: true\n"
    refused(validate(tmp_path, text), "case.yaml:2", "attended", "allowed: on, type, note, happened, channel")


def test_an_unknown_event_field_is_refused_in_json_with_its_line(tmp_path: Path) -> None:
    text = '{"events": [\n  {"on": "2018-05-01", "type": "invite_letter", "x": 1}\n]}\n'
    refused(validate(tmp_path, text, "case.json"), "case.json:2", "events[0].x", "allowed:")


def test_an_event_that_did_not_happen_carries_no_details(tmp_path: Path) -> None:
    text = "events:\n  - {type: invite_letter, happened: false, channel: letter}\n"
    refused(validate(tmp_path, text), "happened: false carries only type, note and on", "channel")


def test_an_event_that_did_not_happen_needs_no_date(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - {type: invite_letter, happened: false}\n")
    assert result.exit_code == 0, result.output


def test_an_event_that_happened_needs_a_date(tmp_path: Path) -> None:
    refused(validate(tmp_path, "events:\n  - {type: invite_letter}\n"), "on is required")


def test_an_event_after_the_audit_date_is_refused(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - {on: 2020-01-02, type: invite_letter}\n")
    refused(result, "case.yaml:2", "after the audit date 2020-01-01")


def test_an_event_on_the_audit_date_is_accepted(tmp_path: Path) -> None:
    result = validate(tmp_path, "events:\n  - {on: 2020-01-01, type: invite_letter}\n")
    assert result.exit_code == 0, result.output


def test_a_step_the_procedure_does_not_have_is_refused(tmp_path: Path) -> None:
    text = "events:\n  - on: 2018-05-01\n    type: referral_meeting\n    steps: {16: done}\n"
    refused(validate(tmp_path, text), "case.yaml:4", "no step 16", "1 to 15")


def test_a_step_status_must_be_one_of_three(tmp_path: Path) -> None:
    text = "events:\n  - on: 2018-05-01\n    type: referral_meeting\n    steps: {3: maybe}\n"
    result = validate(tmp_path, text)
    # The field is the step the user wrote, not the record's `status` they never wrote.
    refused(result, "events[0].steps.3: ", "allowed: done, not_done, unknown")
    assert "steps.3.status" not in result.output


def test_a_step_record_with_a_bad_status_names_its_status(tmp_path: Path) -> None:
    text = ("events:\n  - on: 2018-05-01\n    type: referral_meeting\n"
            "    steps: {3: {status: maybe}}\n")
    refused(validate(tmp_path, text), "steps.3.status", "'done', 'not_done' or 'unknown'")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("events: {}\n", ("case.yaml:1", "events: must be a list of events", "[]")),
        ("events: null\n", ("case.yaml:1", "events: must be a list of events")),
        ("claimant:\nevents: []\n",
         ("case.yaml:1", "claimant: must be the claimant's facts", "allowed: name, nino, benefit")),
        ("claimant: [uc]\nevents: []\n", ("claimant: must be the claimant's facts",)),
        ("events:\n  - 5\n", ("case.yaml:2", "events[0]: each event must be a mapping",
                               "{on: 2018-04-16, type: invite_letter}")),
        ("events:\n  - on: 2018-05-01\n    type: referral_meeting\n    steps: [done]\n",
         ("case.yaml:4", "events[0].steps: must give each step's number", "'3: done'")),
    ],
)
def test_a_value_of_the_wrong_shape_says_what_shape_is_wanted(
    tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    result = validate(tmp_path, text)
    refused(result, *fragments)
    assert "Input should be" not in result.output
    assert "instance of" not in result.output  # no class names from inside the tool


def test_steps_may_be_keyed_by_text_in_json(tmp_path: Path) -> None:
    text = '{"events": [{"on": "2018-05-01", "type": "referral_meeting", "steps": {"3": "done"}}]}'
    assert validate(tmp_path, text, "case.json").exit_code == 0


@pytest.mark.parametrize("nino", ["QQ123456C", "qq 12 34 56 c", "AB123456D"])
def test_valid_national_insurance_numbers(tmp_path: Path, nino: str) -> None:
    result = validate(tmp_path, f"claimant:\n  nino: {nino}\nevents: []\n")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("nino", ["QQ12345", "QQ123456E", "1Q123456C", "QQ1234567C"])
def test_invalid_national_insurance_numbers(tmp_path: Path, nino: str) -> None:
    result = validate(tmp_path, f"claimant:\n  nino: {nino}\nevents: []\n")
    refused(result, "case.yaml:2", "claimant.nino", "two letters, six digits, then A, B, C or D")


def test_esa_group_only_with_esa(tmp_path: Path) -> None:
    result = validate(tmp_path, "claimant:\n  benefit: jsa\n  esa_group: wrag\nevents: []\n")
    refused(result, "esa_group is only allowed with benefit: esa")


def test_a_benefit_outside_the_list_shows_the_list(tmp_path: Path) -> None:
    result = validate(tmp_path, "claimant:\n  benefit: pip\nevents: []\n")
    refused(result, "case.yaml:2", "claimant.benefit", "'jsa', 'esa', 'uc' or 'none'")


def test_the_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    refused(validate(tmp_path, "- a\n- b\n"), "top level must be a mapping")


def test_a_step_given_twice_is_refused(tmp_path: Path) -> None:
    text = '{"events": [{"on": "2018-05-01", "type": "referral_meeting", "steps": {"3": "done", " 3": "not_done"}}]}'
    refused(validate(tmp_path, text, "case.json"), "step 3 is given twice")


def test_a_step_of_another_shape_says_what_is_allowed(tmp_path: Path) -> None:
    text = "events:\n  - on: 2018-05-01\n    type: referral_meeting\n    steps: {3: 7}\n"
    refused(validate(tmp_path, text), "steps.3", "done, not_done or unknown")


def test_happened_is_true_or_false_only(tmp_path: Path) -> None:
    text = "events:\n  - {type: invite_letter, happened: unknown}\n"
    refused(validate(tmp_path, text), "events[0].happened", "must be true or false")


def test_an_absurd_year_is_refused_not_crashed_on(tmp_path: Path) -> None:
    text = "events:\n  - {on: 9999-12-30, type: referral_letter}\n"
    refused(validate(tmp_path, text, as_of="2019-01-01"), "outside the years 1900 to 2999")


def test_a_second_yaml_document_is_named_whole(tmp_path: Path) -> None:
    refused(validate(tmp_path, "events: []\n---\nevents: []\n"), "case.yaml:2",
            "expected a single document in the stream, but found another document")


def test_a_missing_checklist_is_not_called_a_case_file(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("events: []\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(case), "--checklist",
                                       str(tmp_path / "nope.yaml"), "--format", "json"])
    assert result.exit_code != 0
    assert "nope.yaml: no such file" in result.output
    assert "case file" not in result.output and "Traceback" not in result.output
