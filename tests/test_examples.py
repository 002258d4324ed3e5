"""The three example cases of ../shared/examples, audited as a reader of them would expect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.conftest import EXAMPLES


def audit(name: str, as_of: str) -> dict:
    result = CliRunner().invoke(
        main, ["audit", str(EXAMPLES / name), "--format", "json", "--as-of", as_of]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def kinds(audit_json: dict) -> dict[str, str]:
    return {f["rule"]: f["kind"] for f in audit_json["findings"]}


def test_by_the_book_has_only_what_no_record_can_show() -> None:
    found = kinds(audit("by-the-book.yaml", "2019-07-01"))
    # Everything recorded was done on time; what the file never mentions stays unevidenced.
    assert found == {"eligibility": "unevidenced", "provider-ack-2-working-days": "unevidenced"}


def test_by_the_book_every_step_done() -> None:
    statuses = {s["rule"]: s["status"] for s in audit("by-the-book.yaml", "2019-07-01")["steps"]}
    assert all(statuses[f"step-{n:02d}"] == "done" for n in range(1, 16))
    assert statuses["start-15-working-days"] == "met"
    assert statuses["action-plan-20-working-days"] == "met"


def test_rushed_referral() -> None:
    found = kinds(audit("rushed-referral.yaml", "2018-07-01"))
    assert {r: found[r] for r in ("step-05", "step-08", "step-09", "step-12")} == dict.fromkeys(
        ("step-05", "step-08", "step-09", "step-12"), "missed"
    )
    for step in ("step-03", "step-04", "step-06", "step-15"):
        assert step not in found
    for step in ("step-01", "step-02", "step-07", "step-10", "step-11", "step-13", "step-14"):
        assert found[step] == "unevidenced"
    assert found["understanding"] == "missed"
    assert found["preferred-contact"] == "missed"
    assert found["provider-contact-10-days"] == "late"
    assert found["start-15-working-days"] == "late"
    assert found["action-plan-20-working-days"] == "late"
    assert found["referral-within-2-days"] == "late"
    assert found["action-plan-copy"] == "missed"
    assert found["action-plan-content"] == "content"
    assert "invite" not in found and "referral-letter" not in found
    assert "mandatory-basis" not in found and "support-group" not in found


def test_rushed_referral_findings_carry_source_and_verification() -> None:
    findings = {f["rule"]: f for f in audit("rushed-referral.yaml", "2018-07-01")["findings"]}
    step9 = findings["step-09"]
    assert step9["verification"] == "forum"
    assert step9["evidence"] == "statement"
    assert step9["events"] == [1]
    assert step9["source"]["title"].startswith("Work & Health Programme Referral")
    assert "thread 1578" in step9["source"]["ref"]
    start = findings["start-15-working-days"]
    assert start["verification"] == "verified"
    assert "memo 04" in start["source"]["ref"]
    assert start["evidence"] == "dates"


def test_support_group_claimant_treated_as_mandatory() -> None:
    found = kinds(audit("support-group.json", "2019-03-01"))
    assert found["support-group"] == "ineligible"
    assert found["mandatory-basis"] == "ineligible"
    assert found["preferred-contact"] == "missed"
    assert found["step-01"] == "unevidenced"
    assert found["start-15-working-days"] == "unevidenced"
    assert "action-plan-copy" not in found


def test_an_early_audit_date_turns_deadlines_pending() -> None:
    found = kinds(audit("support-group.json", "2019-01-21"))
    assert found["provider-ack-2-working-days"] == "unevidenced"  # due 17 January 2019
    assert found["start-15-working-days"] == "pending"  # due 5 February 2019
    assert found["action-plan-20-working-days"] == "pending"  # due 12 February 2019


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.*")), ids=lambda p: p.name)
def test_steps_list_every_rule_in_checklist_order(path: Path, procedure) -> None:
    steps = audit(path.name, "2019-12-31")["steps"]
    assert [s["rule"] for s in steps] == [r.id for r in procedure.rules]
