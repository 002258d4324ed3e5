"""The guided interview (`whp-audit new`), driven by piped answers."""

from __future__ import annotations

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
