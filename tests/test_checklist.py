"""The checklist is data: the bundled one is complete, and a malformed one fails on load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.checklist import checklist_dir, load_procedure
from auditor.errors import ChecklistError

SPEC_RULES = [
    "eligibility", "invite", *[f"step-{n:02d}" for n in range(1, 16)], "understanding",
    "referral-letter", "referral-within-2-days", "provider-ack-2-working-days",
    "provider-contact-10-days", "start-15-working-days", "preferred-contact",
    "action-plan-20-working-days", "action-plan-content", "action-plan-copy",
    "action-plan-mandatory", "support-group", "wrag-appeal", "mandatory-basis",
]

# How firm each rule's source is, from ../shared/reference/whp-rules.md.
VERIFICATION = {
    "invite": "forum", "understanding": "forum", "referral-letter": "forum",
    "referral-within-2-days": "forum", "provider-contact-10-days": "forum",
    "preferred-contact": "forum", "action-plan-content": "forum",
    "action-plan-mandatory": "forum",
    "provider-ack-2-working-days": "verified", "start-15-working-days": "verified",
    "action-plan-20-working-days": "verified", "action-plan-copy": "verified",
    "support-group": "verified", "mandatory-basis": "verified", "eligibility": "verified",
    "wrag-appeal": "secondary", "voluntary-group-mandated": "verified",
    **{f"step-{n:02d}": "forum" for n in range(1, 16)},
}

DEADLINES = {
    "referral-within-2-days": (2, "calendar"),
    "provider-ack-2-working-days": (2, "working"),
    "provider-contact-10-days": (10, "calendar"),
    "start-15-working-days": (15, "working"),
    "action-plan-20-working-days": (20, "working"),
}


EXTRA_RULES = ["voluntary-group-mandated"]
"""Rules beyond spec §4 (which allows more), after the spec's own."""


def test_every_rule_of_the_spec_in_order(procedure) -> None:
    assert [r.id for r in procedure.rules] == SPEC_RULES + EXTRA_RULES


def test_each_rule_has_the_reference_verification(procedure) -> None:
    assert {r.id: r.verification for r in procedure.rules} == VERIFICATION


def test_deadlines_as_the_spec_gives_them(procedure) -> None:
    found = {
        r.id: (r.deadline.days, r.deadline.unit) for r in procedure.rules if r.deadline is not None
    }
    assert found == DEADLINES


def test_every_rule_is_sourced_and_answerable(procedure) -> None:
    for rule in procedure.rules:
        assert rule.cite and rule.question and rule.should and rule.who
        assert rule.evidence_from in procedure.evidence_routes


def test_fifteen_steps_each_with_its_own_wording(procedure) -> None:
    steps = [r for r in procedure.rules if r.check == "step"]
    assert sorted(r.step for r in steps) == list(range(1, 16))
    assert len({r.should for r in steps}) == 15


def test_the_suspension_periods_are_data(procedure) -> None:
    periods = procedure.periods["ltu-mandation-suspended"]
    assert periods[0].start.isoformat() == "2020-03-19"
    assert periods[-1].start.isoformat() == "2022-10-31" and periods[-1].end is None
    assert any(p.doubt for p in periods)


def test_the_checklist_is_found_beside_the_package() -> None:
    assert (checklist_dir() / "whp-referral.yaml").is_file()


BUNDLED = (checklist_dir() / "whp-referral.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("- {source: PG20-3, paragraph: para 3}", "- {source: PG99, paragraph: para 3}"),
         "cites unknown source 'PG99'"),
        (("id: step-02", "id: step-01"), "rule step-01: the id is used twice"),
        (("deadline: {from: referral_letter, to: provider_acknowledged",
          "deadline: {from: referral_leter, to: provider_acknowledged"),
         "deadline: unknown event type 'referral_leter'"),
        (("unit: working}", "unit: fortnightly}"), "unit"),
        (("verification: secondary\n    grounds:", "verification: rumour\n    grounds:"),
         "verification"),
        (("{authority} that {should}. {reason}", "{authority} that {shoud}. {reason}"),
         "uses {shoud}"),
        (("version: \"2026.1\"\n", ""), "version"),
    ],
    ids=["unknown-source", "duplicate-id", "unknown-event", "bad-unit", "bad-verification",
         "bad-placeholder", "no-version"],
)
def test_a_malformed_checklist_fails_on_load(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in BUNDLED
    path = tmp_path / "checklist.yaml"
    path.write_text(BUNDLED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ChecklistError) as raised:
        load_procedure(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_rule_can_be_added_without_python(tmp_path: Path, run) -> None:
    extra = """
  - id: provider-ack-1-working-day
    title: A stricter acknowledgement
    who: provider
    should: the provider acknowledges within 1 working day
    check: deadline
    deadline: {from: referral_letter, to: provider_acknowledged, days: 1, unit: working}
    cite: [{source: M04}]
    verification: verified
    evidence_from: provider
    question: When was it acknowledged?
"""
    path = tmp_path / "checklist.yaml"
    # Append to the rule list, which need not be the file's last section.
    head, rules = BUNDLED.split("\nrules:\n", 1)
    after = re.search(r"^[A-Za-z_]", rules, re.MULTILINE)
    cut = after.start() if after else len(rules)
    path.write_text(
        f"{head}\nrules:\n{rules[:cut].rstrip()}\n{extra}\n{rules[cut:]}", encoding="utf-8"
    )
    procedure = load_procedure(path)
    assert procedure.rules[-1].id == "provider-ack-1-working-day"
    from datetime import date

    from auditor.audit import Auditor
    from auditor.load import parse_case

    case = parse_case(
        {"events": [{"on": "2019-03-04", "type": "referral_letter"},
                    {"on": "2019-03-06", "type": "provider_acknowledged"}]},
        file="t", locate=lambda loc: None, as_of=None, steps=None,
    )
    audit = Auditor(procedure).audit(case, as_of=date(2019, 6, 1)).as_json()
    kinds = {f["rule"]: f["kind"] for f in audit["findings"]}
    assert kinds["provider-ack-1-working-day"] == "late"
    assert "provider-ack-2-working-days" not in kinds
