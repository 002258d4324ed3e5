"""The guided interview (`whp-audit new`), driven by piped answers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor.checklist import load_procedure
from auditor.cli import main
from auditor.interview import Interview, Record, render_case
from auditor.load import load_case

HERE = Path(__file__).parent
SMALL = HERE / "checklists" / "small.yaml"
AS_OF = date(2018, 7, 1)


def lines(*answers: str) -> str:
    return "\n".join(answers) + "\n"


def claimant(benefit: str = "1", name: str = "", nino: str = "") -> list[str]:
    """Case name, whose account, then the claimant facts (JSA: no ESA questions)."""
    return ["AC-2018-014", "claimant", name, nino, benefit, "3", "no", "email"]


BENEFIT = 4
"""Where the benefit is answered in `claimant()`."""


def steps(answers: list[str] | None = None) -> list[str]:
    return answers if answers is not None else ["yes"] * 15


def by_the_book() -> list[str]:
    """Answers to every question of the bundled checklist, in the order asked."""
    return [
        *claimant(),
        "no",                                    # signposting organisation
        "yes", "2018-05-01", "1", "",            # invitation: date, by letter, no note
        "",                                      # another invitation? Enter: no
        "yes", "2018-05-08", "yes", "yes",       # meeting: date, attended, understood
        *steps(),
        "Long meeting",                          # note on the meeting
        "",                                      # another meeting? no
        "yes", "2018-05-09", "1", "",            # referral letter (asked once)
        "don't know",                            # provider acknowledged
        "yes", "2018-05-14", "email", "",        # provider contact
        "",                                      # another contact? no
        "yes", "2018-05-21", "yes", "",          # start meeting
        "",                                      # another start meeting? no
        "yes", "2018-05-28", "yes", "yes", "yes", "yes", "yes", "yes", "", "",  # action plan
        "",                                      # another action plan? no
    ]


def run(args: list[str], answers: list[str] | str) -> Result:
    text = answers if isinstance(answers, str) else lines(*answers)
    return CliRunner().invoke(main, ["new", *args], input=text)


def test_a_whole_interview_writes_a_case_that_audit_accepts(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], by_the_book())
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert "# Step 9: the length of the programme" in text
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert case.case == "AC-2018-014" and case.recorded_by == "claimant"
    assert case.claimant.benefit == "jsa" and case.claimant.whp_group == "ltu"
    assert case.claimant.mandatory is False and case.claimant.preferred_contact == "email"
    types = [e.type for e in case.events]
    assert types == [
        "signposting_referral", "invite_letter", "referral_meeting", "referral_letter",
        "provider_contact", "start_meeting", "action_plan",
    ]
    assert case.events[0].happened is False
    meeting = case.events[2]
    assert meeting.on == date(2018, 5, 8) and meeting.attended and meeting.understood
    assert sorted(meeting.steps) == list(range(1, 16))
    assert all(s.status == "done" for s in meeting.steps.values())
    assert meeting.note == "Long meeting"
    plan = case.events[-1]
    assert plan.copy_given is True and plan.mandatory_flagged is None
    audit = CliRunner().invoke(
        main, ["audit", str(out), "--format", "json", "--as-of", "2018-07-01"]
    )
    assert audit.exit_code == 0, audit.output


def test_no_and_don_t_know_are_kept_apart_and_a_not_done_step_takes_a_note(
    tmp_path: Path,
) -> None:
    answers = by_the_book()
    start = answers.index("yes", answers.index("2018-05-08")) + 2  # first step answer
    answers[start : start + 15] = ["no", "Coach said 6 months", "dk", *["yes"] * 13]
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    meeting = case.events[2]
    assert meeting.steps[1].status == "not_done"
    assert meeting.steps[1].note == "Coach said 6 months"
    assert 2 not in meeting.steps  # don't know is left out: unknown, never done
    assert "not_done" in out.read_text(encoding="utf-8")


def test_bad_answers_are_re_asked_with_a_clear_message(tmp_path: Path) -> None:
    answers = by_the_book()
    # Benefit: a number out of range first.
    answers[BENEFIT : BENEFIT + 1] = ["9", "1"]
    # Invitation date: a UK-style date, an impossible date, a future date, then a good one.
    at = answers.index("2018-05-01")
    answers[at : at + 1] = ["01/05/2018", "2018-02-30", "2999-01-01", "2018-05-01"]
    # Attended: a word that is not yes, no or don't know.
    at = answers.index("2018-05-08") + 1
    answers[at : at + 1] = ["maybe", "yes"]
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert "Please give a number from 1 to 4" in result.output
    assert "'01/05/2018' is not a date written year-month-day" in result.output
    assert "2018-02-30 is not a real date" in result.output
    assert "2999-01-01 is after today" in result.output
    assert "Please answer yes, no or don't know" in result.output
    assert "Traceback" not in result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert case.events[1].on == date(2018, 5, 1) and case.events[2].attended is True


def test_a_date_out_of_the_usual_order_is_confirmed_not_refused(tmp_path: Path) -> None:
    answers = by_the_book()
    at = answers.index("2018-05-09")
    # A referral letter dated before the meeting: first "no, let me fix it", then
    # a date before the meeting again, kept this time (the audit will flag it).
    answers[at : at + 1] = ["2018-05-02", "no", "2018-05-03", "yes"]
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert "That is before the date you gave for: Referral meeting held (2018-05-08)" in (
        result.output
    )
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert case.events[3].on == date(2018, 5, 3)


def test_skipping_everything_writes_an_empty_but_valid_case(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], [""] * 16)
    assert result.exit_code == 0, result.output
    case = load_case(out, as_of=AS_OF)
    assert case.events == [] and case.case is None and case.claimant.benefit is None


def test_a_date_not_known_is_left_as_a_comment(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = [""] * 8 + ["", "yes", "", ""] + [""] * 6
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "# - {type: invite_letter, on: YYYY-MM-DD}" in text
    assert load_case(out, as_of=AS_OF).events == []


def test_esa_questions_are_asked_only_on_esa(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = ["", "", "", "", "2", "2", "yes", "", "", ""] + [""] * 8
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    case = load_case(out, as_of=AS_OF)
    assert case.claimant.benefit == "esa" and case.claimant.esa_group == "wrag"
    assert case.claimant.appealing_support_group is True
    assert "Which group of Employment and Support Allowance" in result.output


def test_an_existing_file_is_replaced_only_when_the_person_says_yes(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    out.write_text("events: []\n", encoding="utf-8")
    kept = run(["-o", str(out)], ["no"])
    assert kept.exit_code == 1 and "already exists" in kept.output
    assert out.read_text(encoding="utf-8") == "events: []\n"
    replaced = run(["-o", str(out)], ["yes", *by_the_book()])
    assert replaced.exit_code == 0, replaced.output
    assert "AC-2018-014" in out.read_text(encoding="utf-8")


def test_answers_that_end_early_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], by_the_book()[:20])
    assert result.exit_code == 1
    assert "the answers ended before the interview finished" in result.output
    assert "nothing was written" in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no temporary file left behind either


def test_the_output_must_be_a_yaml_file(tmp_path: Path) -> None:
    result = run(["-o", str(tmp_path / "case.json")], by_the_book())
    assert result.exit_code == 2 and "ending .yaml" in result.output
    result = run(["-o", str(tmp_path)], by_the_book())
    assert result.exit_code == 2


def test_the_same_answers_give_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert run(["-o", str(first)], by_the_book()).exit_code == 0
    assert run(["-o", str(second)], by_the_book()).exit_code == 0
    body = first.read_text(encoding="utf-8").replace("a.yaml", "X")
    assert body == second.read_text(encoding="utf-8").replace("b.yaml", "X")


def test_notes_with_quotes_and_odd_characters_survive(tmp_path: Path) -> None:
    answers = by_the_book()
    at = answers.index("Long meeting")
    answers[at] = 'He said "sign here" \\ now: #1 — ok\u2028really'
    out = tmp_path / "case.yaml"
    assert run(["-o", str(out)], answers).exit_code == 0
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert case.events[2].note == 'He said "sign here" \\ now: #1 — ok really'


def test_piped_through_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    done = subprocess.run(
        [sys.executable, "-c", "from auditor.cli import main; main()", "new", "-o", str(out)],
        input=lines(*by_the_book()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    load_case(out, as_of=AS_OF, steps=load_procedure().steps)


def test_a_step_rule_added_to_the_yaml_is_asked_with_no_code_change(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = [
        "small", "",                        # case name, whose account
        "yes", "2018-05-08", "yes", "",     # meeting: date, attended, understood (wording
                                            # not in the data: a plain fallback is asked)
        "yes", "no", "He did not", "yes",   # steps 1, 2 (with a note), 3
        "",                                 # note on the meeting
        "no",                               # letter: did not come
    ]
    result = run(["-o", str(out), "--checklist", str(SMALL)], answers)
    assert result.exit_code == 0, result.output
    assert "Step 3: the clerk waves goodbye" in result.output
    assert "Did the clerk wave goodbye to you?" in result.output
    assert "Understood?" in result.output
    small = load_procedure(SMALL)
    case = load_case(out, as_of=AS_OF, steps=small.steps)
    assert case.events[0].steps[3].status == "done"
    assert case.events[0].steps[2].note == "He did not"
    assert case.events[1].type == "referral_letter" and case.events[1].happened is False


def test_render_case_with_nothing_recorded_is_a_valid_case(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(render_case(Record("p", "1"), file_name="empty.yaml"), encoding="utf-8")
    assert load_case(path, as_of=AS_OF).events == []


def test_a_checklist_without_interview_wording_is_refused_clearly() -> None:
    from auditor.errors import ChecklistError

    bare = load_procedure(SMALL).model_copy(update={"preparation": None})
    with pytest.raises(ChecklistError, match=r"preparation\.interview"):
        Interview(bare, input, print, today=AS_OF)


def test_ctrl_c_writes_nothing(tmp_path: Path) -> None:
    from auditor.interview import Stopped, run_new

    def interrupted(prompt: str) -> str:
        raise KeyboardInterrupt

    out = tmp_path / "case.yaml"
    with pytest.raises(Stopped, match="nothing was written"):
        run_new(load_procedure(), out, ask=interrupted, say=lambda text: None, today=AS_OF)
    assert not out.exists()


# -- repeated events ------------------------------------------------------


def contacts(*given: tuple[str, str], last: str = "") -> list[str]:
    """Answers for the provider contact questions: the first, then each "another"."""
    answers = ["yes"]
    for number, (day, channel) in enumerate(given):
        if number:
            answers.append("yes")                # another contact? yes
        answers += [day, channel, ""]            # date, how, no note
    return [*answers, last]                      # another contact? (Enter: no)


def with_contacts(contact_answers: list[str]) -> list[str]:
    """`by_the_book` with its provider contact answers replaced."""
    answers = by_the_book()
    at = answers.index("2018-05-14") - 1
    answers[at : at + 5] = contact_answers
    return answers


ANOTHER_CONTACT = "Was there another contact from the provider?"


def test_several_contacts_are_recorded_in_order_and_audited(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = with_contacts(contacts(
        ("2018-05-20", "email"), ("2018-05-20", "phone"), ("2018-05-21", "letter"),
    ))
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert result.output.count(ANOTHER_CONTACT) == 3
    assert "On what date was that contact?" in result.output
    text = out.read_text(encoding="utf-8")
    assert "# Provider contacted you (3)" in text
    valid = CliRunner().invoke(main, ["validate", str(out), "--as-of", "2018-07-01"])
    assert valid.exit_code == 0 and "valid" in valid.output, valid.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    seen = [(e.on, e.channel) for e in case.events if e.type == "provider_contact"]
    assert seen == [
        (date(2018, 5, 20), "email"), (date(2018, 5, 20), "phone"), (date(2018, 5, 21), "letter"),
    ]
    audit = CliRunner().invoke(
        main, ["audit", str(out), "--format", "json", "--as-of", "2018-07-01"]
    )
    assert audit.exit_code == 0, audit.output
    report = json.loads(audit.output)
    findings = {f["rule"]: f for f in report["findings"]}
    # Preferred contact looks at every contact: email was asked for, phone and letter used.
    preferred = findings["preferred-contact"]
    assert preferred["kind"] == "missed"
    assert "the provider contacted you another way: letter and phone" in preferred["ground"]
    # The 10-day rule looks at the first contact: 11 days after the letter of 9 May.
    late = findings["provider-contact-10-days"]
    assert late["kind"] == "late" and "It happened on 20 May 2018" in late["ground"]


def test_a_missed_meeting_then_a_rearranged_one(tmp_path: Path) -> None:
    answers = by_the_book()
    at = answers.index("2018-05-08")
    answers[at - 1 : at + 1] = [
        "yes", "2018-05-04", "no", "I was ill",  # a meeting, missed: no steps, a note
        "yes", "2018-05-08",                     # another? yes: the rearranged one's date
    ]
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert "What date was that meeting?" in result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    meetings = [e for e in case.events if e.type == "referral_meeting"]
    assert [(m.on, m.attended) for m in meetings] == [
        (date(2018, 5, 4), False), (date(2018, 5, 8), True),
    ]
    assert meetings[0].steps == {} and meetings[0].note == "I was ill"
    assert len(meetings[1].steps) == 15


def test_another_dated_before_the_one_before_is_confirmed(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = with_contacts([
        "yes", "2018-05-14", "email", "",
        "yes", "2018-05-12", "no", "2018-05-16", "phone", "",  # a slip, corrected
        "yes", "2018-05-13", "yes", "letter", "",              # earlier, and kept
        "",
    ])
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert (
        "That is before the date you gave for: Provider contacted you (2018-05-14), "
        "which you gave first. Is 2018-05-12 right?"
    ) in result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    # Kept in the order told; the audit reads them in date order.
    assert [e.on.day for e in case.events if e.type == "provider_contact"] == [14, 16, 13]


@pytest.mark.parametrize("stop", ["no", "", "don't know"])
def test_no_or_enter_stops_repeating(tmp_path: Path, stop: str) -> None:
    out = tmp_path / "case.yaml"
    answers = with_contacts(["yes", "2018-05-14", "email", "", "maybe", stop])
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert "Please answer yes or no. Press Enter for no." in result.output
    assert result.output.count(ANOTHER_CONTACT) == 2  # "maybe" re-asked, then stopped
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert [e.on for e in case.events if e.type == "provider_contact"] == [date(2018, 5, 14)]
    # The next answers went where by_the_book meant them: the start meeting.
    assert [e.type for e in case.events][-2:] == ["start_meeting", "action_plan"]


def test_an_event_not_recorded_asks_for_no_other(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], with_contacts(["no"]))
    assert result.exit_code == 0, result.output
    assert ANOTHER_CONTACT not in result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    contact = [e for e in case.events if e.type == "provider_contact"]
    assert len(contact) == 1 and contact[0].happened is False


def test_repeats_stop_at_the_limit_and_say_so(tmp_path: Path) -> None:
    limit = load_procedure().preparation.interview.repeat_limit  # type: ignore[union-attr]
    assert limit == 20
    # Two a day from 10 May, all before the start meeting (21 May).
    given = [(f"2018-05-{10 + n // 2:02d}", "email") for n in range(limit)]
    answers = with_contacts(contacts(*given)[:-1])  # the limit asks no 21st "another?"
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert result.output.count(ANOTHER_CONTACT) == limit - 1
    assert "That is 20 of these, the most this interview records." in result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    seen = [e.on for e in case.events if e.type == "provider_contact"]
    assert seen == [date.fromisoformat(day) for day, _ in given]
    assert [e.type for e in case.events][-2:] == ["start_meeting", "action_plan"]


# -- name and National Insurance number -----------------------------------


def test_a_bad_national_insurance_number_is_re_asked(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = by_the_book()
    at = BENEFIT - 1
    answers[at : at + 1] = ["QQ12345C", "QQ 123456 E", "qq 12 34 56 c"]
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    assert "'QQ12345C' is not a National Insurance number" in result.output
    assert "'QQ 123456 E' is not a National Insurance number" in result.output
    assert "two letters, six numbers, then A, B, C or D" in result.output
    assert "Traceback" not in result.output
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert case.claimant.nino == "QQ123456C" and case.claimant.name is None


def test_name_and_nino_are_asked_as_personal_data_and_skipped_with_enter(
    tmp_path: Path,
) -> None:
    out = tmp_path / "case.yaml"
    result = run(["-o", str(out)], by_the_book())
    assert result.exit_code == 0, result.output
    for question in ("What is your name?", "What is your National Insurance number"):
        asked = next(line for line in result.output.splitlines() if line.startswith(question))
        assert "This is personal data" in asked and "--redact hides it" in asked
        assert "only used to fill in the top of the report" in asked
    text = out.read_text(encoding="utf-8")
    assert "  name:" not in text and "  nino:" not in text


def test_name_and_nino_are_written_and_redacted_in_the_report(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    answers = by_the_book()
    answers[: BENEFIT] = claimant(name='Alex "Al" Example', nino="QQ 12 34 56 C")[:BENEFIT]
    result = run(["-o", str(out)], answers)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.count("Alex") == 1 and text.count("QQ123456C") == 1  # not in comments too
    case = load_case(out, as_of=AS_OF, steps=load_procedure().steps)
    assert case.claimant.name == 'Alex "Al" Example' and case.claimant.nino == "QQ123456C"
    valid = CliRunner().invoke(main, ["validate", str(out), "--as-of", "2018-07-01"])
    assert valid.exit_code == 0, valid.output
    plain, hidden = tmp_path / "plain.html", tmp_path / "hidden.html"
    for report, extra in ((plain, []), (hidden, ["--redact"])):
        made = CliRunner().invoke(
            main, ["audit", str(out), "-o", str(report), "--as-of", "2018-07-01", *extra]
        )
        assert made.exit_code == 0, made.output
    shown = plain.read_text(encoding="utf-8")
    assert "Alex" in shown and "QQ123456C" in shown  # the header is filled from the file
    redacted = hidden.read_text(encoding="utf-8")
    for personal in ("Alex", "Example", "QQ123456C", "QQ 12 34 56 C", "123456"):
        assert personal not in redacted


# -- the wording's checks -------------------------------------------------


def _wording(**changes: object) -> dict[str, object]:
    wording: dict[str, object] = {
        "intro": "Hello.", "step": "Did the {who} {should}?", "step_note": "What?",
        "note": "Notes?",
        "events": {"provider_contact": {"ask": "Contact?", "another": {"ask": "Another?"}}},
        "repeat_limit_reached": "That is {limit}.",
    }
    return {**wording, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"repeat_limit_reached": None}, "repeat_limit_reached"),
        ({"repeat_limit_reached": "That is {most}."}, r"uses \{most\}"),
        ({"repeat_limit": 0}, "repeat_limit"),
        ({"repeat_limit": 1000}, "repeat_limit"),
        ({"claimant": {"mandatory": {"ask": "Must?", "invalid": "No."}}}, "answered in words"),
        ({"claimant": {"nino": {"ask": "NINO?", "invalid": "{nino} is bad"}}}, r"uses \{nino\}"),
        ({"events": {"provider_contact": {"ask": "?", "another": {"date": "When?"}}}}, "ask"),
    ],
)
def test_interview_wording_is_checked_on_load(changes: dict[str, object], message: str) -> None:
    from pydantic import ValidationError

    from auditor.checklist import Interview as Wording

    Wording.model_validate(_wording())  # the base is valid
    with pytest.raises(ValidationError, match=message):
        Wording.model_validate(_wording(**changes))
