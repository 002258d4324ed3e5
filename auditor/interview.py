"""The guided interview (`whp-audit new`): questions in plain words, a case file out.

The questions come from the procedure: the claimant facts and event types
in ``preparation.interview`` (in that order), each event type's fields from
`auditor.case.EVENT_FIELDS`, and one question per rule of check ``step``,
so a step rule added to the YAML is asked with no code change.

Contract:
- `Interview.run` asks through two callables, ``ask(prompt) -> str`` and
  ``say(text)``; ``ask`` raises `EndOfAnswers` when the answers run out
  (piped input ended). Nothing is written by this module except through
  `write_case`.
- Every answer is checked as it is given: yes / no / don't know, a choice
  by number or word, a real date written YYYY-MM-DD and not after today. A
  bad answer is re-asked with a message saying what is allowed; Enter skips.
- A date out of the procedure's usual order (its milestones) is not refused,
  since a letter dated before the meeting is exactly what an audit should
  find; the person is asked to confirm it instead.
- Unknown is recorded by leaving the fact out, never as done or not done.
- An event type whose wording has ``another`` is asked again after one is
  recorded ("was there another?", Enter = no), up to ``repeat_limit`` events
  of the type; reaching the limit is said (``repeat_limit_reached``).
- A claimant fact answered in words (name, NI number) is checked by the case
  model as it is given and re-asked with the fact's ``invalid`` wording.
- `render_case` writes a commented YAML case file (spec §1) that
  `auditor.load.load_case` accepts; `Interview.case_text` checks that by
  validating it before returning it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from auditor.case import EVENT_FIELDS, YES_NO_FIELDS, Claimant, Event
from auditor.checklist import Interview as Wording
from auditor.checklist import (
    InterviewEvent,
    InterviewFact,
    Procedure,
    Rule,
    is_text,
    literal_values,
)
from auditor.errors import ChecklistError, InputError
from auditor.load import parse_case
from auditor.output import write_atomic
from auditor.read import parse, to_plain

Ask = Callable[[str], str]
Say = Callable[[str], None]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YES = {"y", "yes"}
_NO = {"n", "no"}
_DONT_KNOW = {"", "d", "dk", "don't know", "dont know", "do not know", "not sure", "unknown", "?",
              "skip"}


class EndOfAnswers(Exception):
    """The answers ran out before the interview finished (e.g. piped input ended)."""


@dataclass
class Answer:
    """One recorded value, with the question it answered (kept as a comment in the file)."""

    name: str
    value: str | bool
    question: str
    words: bool = False
    """Free text (quoted in the file), not a choice or yes/no."""


@dataclass
class StepAnswer:
    number: int
    status: str
    note: str | None
    title: str


@dataclass
class RecordedEvent:
    """An event as the person described it; ``on`` is None only when it did not happen."""

    type: str
    label: str
    happened: bool
    on: date | None = None
    fields: list[Answer] = field(default_factory=list)
    steps: list[StepAnswer] = field(default_factory=list)
    note: str | None = None


@dataclass
class Record:
    """Everything the interview learnt; `render_case` turns it into a case file."""

    procedure: str
    version: str
    case: str | None = None
    recorded_by: str | None = None
    claimant: list[Answer] = field(default_factory=list)
    events: list[RecordedEvent] = field(default_factory=list)
    undated: list[tuple[str, str]] = field(default_factory=list)


def clean(text: str) -> str:
    """One line of text with control and line-separator characters made spaces."""
    chars = (" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)
    return " ".join("".join(chars).split())


def _words(name: str) -> str:
    return name.replace("_", " ")


class Interview:
    """Asks about one referral, following ``procedure``'s data; see the module contract."""

    def __init__(self, procedure: Procedure, ask: Ask, say: Say, *, today: date) -> None:
        if procedure.preparation is None or procedure.preparation.interview is None:
            raise ChecklistError(
                f"the checklist '{procedure.id}' has no 'preparation.interview' section, "
                "which the interview is made from"
            )
        self.procedure = procedure
        self.wording: Wording = procedure.preparation.interview
        self._ask = ask
        self.say = say
        self.today = today
        self.order = {m.event: n for n, m in enumerate(procedure.milestones)}
        self.labels = {m.event: m.label for m in procedure.milestones}

    # -- asking one thing -------------------------------------------------

    def ask(self, prompt: str) -> str:
        return clean(self._ask(prompt))

    def yes_no(self, question: str) -> bool | None:
        """True, False, or None for don't know / skipped."""
        while True:
            answer = self.ask(f"{question} (yes / no / don't know) ").lower().replace("’", "'")
            if answer in _YES:
                return True
            if answer in _NO:
                return False
            if answer in _DONT_KNOW:
                return None
            self.say("Please answer yes, no or don't know. Press Enter to skip.")

    def more(self, question: str) -> bool:
        """Yes or no, where Enter (or don't know) is no: nothing is recorded on no."""
        while True:
            answer = self.ask(f"{question} (yes / no, Enter for no) ").lower()
            if answer in _YES:
                return True
            if answer in _NO or answer in _DONT_KNOW:
                return False
            self.say("Please answer yes or no. Press Enter for no.")

    def choose(self, question: str, choices: dict[str, str]) -> str | None:
        """One of ``choices`` (by number, value or words), or None when skipped."""
        listed = list(choices.items())
        self.say(question)
        for number, (_, words) in enumerate(listed, start=1):
            self.say(f"  {number}. {words}")
        while True:
            answer = self.ask("Your answer (a number, or Enter to skip): ").lower()
            if answer in _DONT_KNOW:
                return None
            for number, (value, words) in enumerate(listed, start=1):
                if answer in (str(number), value.lower(), words.lower(), _words(value)):
                    return value
            self.say(f"Please give a number from 1 to {len(listed)}, or press Enter to skip.")

    def text(self, question: str) -> str | None:
        answer = self.ask(f"{question} ")
        return answer or None

    def day(self, question: str, event_type: str, record: Record) -> date | None:
        """A real date, not in the future; out of the usual order only if confirmed."""
        while True:
            answer = self.ask(f"{question} (YYYY-MM-DD, or Enter if you don't know) ")
            if answer.lower() in _DONT_KNOW:
                return None
            if not _DATE.match(answer):
                self.say(
                    f"'{answer}' is not a date written year-month-day. "
                    "Please write it like 2018-05-01, or press Enter to skip."
                )
                continue
            try:
                when = date.fromisoformat(answer)
            except ValueError:
                self.say(f"{answer} is not a real date. Please check the day and the month.")
                continue
            if when > self.today:
                self.say(
                    f"{answer} is after today ({self.today.isoformat()}). "
                    "Please give the date it happened."
                )
                continue
            clash = self._out_of_order(event_type, when, record)
            if clash and self.yes_no(f"{clash} Is {answer} right?") is not True:
                continue
            return when

    def _out_of_order(self, event_type: str, when: date, record: Record) -> str | None:
        mine = self.order.get(event_type)
        if mine is None:
            return None
        for other in record.events:
            theirs = self.order.get(other.type)
            if other.on is None or theirs is None:
                continue
            if other.type == event_type and other.on > when:
                return (
                    f"That is before the date you gave for: {other.label} "
                    f"({other.on.isoformat()}), which you gave first."
                )
            if theirs == mine:
                continue
            if (theirs < mine and other.on > when) or (theirs > mine and other.on < when):
                word = "before" if other.on > when else "after"
                return (
                    f"That is {word} the date you gave for: {other.label} "
                    f"({other.on.isoformat()}), which usually comes "
                    f"{'first' if theirs < mine else 'later'}."
                )
        return None

    # -- the interview ----------------------------------------------------

    def run(self) -> Record:
        """Ask everything, in the procedure's order; see the module contract."""
        record = Record(procedure=self.procedure.id, version=self.procedure.version)
        self.say(" ".join(self.wording.intro.split()))
        record.case = self.text("A name for this case, for your own use (Enter to skip):")
        record.recorded_by = self.text(
            "Whose account is this, for example claimant or adviser? (Enter to skip):"
        )
        self._claimant(record)
        for event_type, wording in self.wording.events.items():
            self._events_of(record, event_type, wording)
        return record

    def _events_of(self, record: Record, event_type: str, wording: InterviewEvent) -> None:
        """The events of one type: the first, then "another?" up to the limit."""
        if not self._event(record, event_type, wording, number=1):
            return
        another = wording.another
        if another is None:
            return
        limit = self.wording.repeat_limit
        for number in range(2, limit + 1):
            if not self.more(" ".join(another.ask.split())):
                return
            self._event(record, event_type, wording, number=number)
        reached = self.wording.repeat_limit_reached or ""
        self.say(" ".join(reached.format(limit=limit).split()))

    def _claimant(self, record: Record) -> None:
        given: dict[str, str | bool] = {}
        for name, fact in self.wording.claimant.items():
            if any(given.get(k) != v for k, v in fact.only_if.items()):
                continue
            question = " ".join(fact.ask.split())
            annotation = Claimant.model_fields[name].annotation
            allowed = literal_values(annotation)
            value: str | bool | None
            if is_text(annotation):
                value = self._words_fact(name, question, fact)
                if value is not None:
                    # The comment is the question only: an answer such as a name is
                    # personal data, written once, where --redact knows to find it.
                    record.claimant.append(Answer(name, value, question, words=True))
                continue
            if allowed:
                choices = {v: fact.choices.get(v, _words(v)) for v in allowed}
                value = self.choose(question, choices)
                shown = choices.get(value or "", "")
            else:
                value = self.yes_no(question)
                shown = {True: "yes", False: "no"}.get(value, "") if value is not None else ""
            if value is not None:
                given[name] = value
                record.claimant.append(Answer(name, value, f"{question} {shown}"))

    def _words_fact(self, name: str, question: str, fact: InterviewFact) -> str | None:
        """A fact answered in words, as the case model keeps it; re-asked if it refuses it."""
        while True:
            answer = self.ask(f"{question} ")
            if answer.lower() in _DONT_KNOW:
                return None
            try:
                checked = Claimant.model_validate({name: answer})
            except ValidationError as exc:
                if fact.invalid is not None:
                    self.say(" ".join(fact.invalid.format(answer=answer).split()))
                else:
                    self.say(f"'{answer}': {exc.errors()[0]['msg']}. Press Enter to skip.")
                continue
            value = getattr(checked, name)
            return value if isinstance(value, str) else answer

    def _event(
        self, record: Record, event_type: str, wording: InterviewEvent, *, number: int
    ) -> bool:
        """Ask about one event of the type; whether one happened (dated or not).

        The first is asked whether it happened; a later one (``number`` > 1)
        is already known to have, so only its date and fields are asked.
        """
        label = self.labels.get(event_type, _words(event_type))
        if number > 1:
            label = f"{label} ({number})"
            when_question = (wording.another.date if wording.another else None) or wording.date
        else:
            when_question = wording.date
            question = " ".join(wording.ask.split())
            self.say("")
            happened = self.yes_no(question)
            if happened is None:
                return False
            if happened is False:
                record.events.append(RecordedEvent(event_type, question + " no", happened=False))
                return False
        when = self.day(when_question or "On what date?", event_type, record)
        if when is None:
            self.say("Without a date this cannot be recorded; the file will say so in a comment.")
            record.undated.append((event_type, label))
            return True
        event = RecordedEvent(event_type, label, happened=True, on=when)
        record.events.append(event)
        for name in EVENT_FIELDS[event_type]:
            if name == "steps":
                self._steps(event)
                continue
            text = " ".join(wording.fields.get(name, f"{_words(name).capitalize()}?").split())
            if name in YES_NO_FIELDS:
                answer = self.yes_no(text)
                if answer is not None:
                    event.fields.append(Answer(name, answer, f"{text} {'yes' if answer else 'no'}"))
                if name == "attended" and answer is False:
                    # A meeting not attended did not take place: nothing more to ask of it.
                    break
            else:
                allowed = literal_values(Event.model_fields[name].annotation)
                choices = {v: _words(v) for v in allowed}
                value = self.choose(text, choices)
                if value is not None:
                    event.fields.append(Answer(name, value, f"{text} {choices[value]}"))
        event.note = self.text(" ".join(self.wording.note.split()))
        return True

    def _steps(self, event: RecordedEvent) -> None:
        rules = sorted(
            (r for r in self.procedure.rules if r.check == "step" and r.event == event.type),
            key=lambda r: r.step or 0,
        )
        for rule in rules:
            assert rule.step is not None  # a step rule has a step (checked on load)
            self.say("")
            self.say(rule.title)
            done = self.yes_no(self._step_question(rule))
            if done is None:
                continue
            note = None
            if done is False:
                note = self.text(" ".join(self.wording.step_note.split()))
            event.steps.append(
                StepAnswer(rule.step, "done" if done else "not_done", note, rule.title)
            )

    def _step_question(self, rule: Rule) -> str:
        should = " ".join(rule.should.split())
        return self.wording.step.format(who=rule.who, should=should, title=rule.title,
                                        step=rule.step)


# -- the case file --------------------------------------------------------


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one, once control characters are gone)."""
    return json.dumps(clean(text), ensure_ascii=False)


def _comment(text: str) -> str:
    return clean(text)


def _scalar(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_case(record: Record, *, file_name: str) -> str:
    """The record as a commented YAML case file (spec §1). Deterministic."""
    lines = [
        "# A case file written by `whp-audit new` from answers given in the terminal.",
        f"# Procedure: {record.procedure} {record.version}.",
        f"# Check it, then audit it with: whp-audit audit {file_name}",
        "# Anything not known is left out: the audit treats it as not known,",
        "# never as done. You may edit this file; keep the same layout.",
    ]
    if record.case:
        lines.append(f"case: {_quote(record.case)}")
    if record.recorded_by:
        lines.append(f"recorded_by: {_quote(record.recorded_by)}")
    if record.claimant:
        lines.append("claimant:")
        for answer in record.claimant:
            lines.append(f"  # {_comment(answer.question)}")
            value = _quote(str(answer.value)) if answer.words else _scalar(answer.value)
            lines.append(f"  {answer.name}: {value}")
    if not record.events:
        lines.append("events: []")
    else:
        lines.append("events:")
    for event in record.events:
        lines.append(f"  # {_comment(event.label)}")
        lines.append(f"  - type: {event.type}")
        if not event.happened:
            lines.append("    happened: false")
            continue
        assert event.on is not None
        lines.append(f"    on: {event.on.isoformat()}")
        for answer in event.fields:
            value = _scalar(answer.value)
            lines.append(f"    {answer.name}: {value}  # {_comment(answer.question)}")
        if event.steps:
            lines.append("    steps:")
            for step in event.steps:
                if step.note:
                    value = f"{{status: {step.status}, note: {_quote(step.note)}}}"
                else:
                    value = step.status
                lines.append(f"      {step.number}: {value}  # {_comment(step.title)}")
        if event.note:
            lines.append(f"    note: {_quote(event.note)}")
    for event_type, label in record.undated:
        lines.append(f"  # {_comment(label)}: you said yes, but gave no date. To record it, add:")
        lines.append(f"  # - {{type: {event_type}, on: YYYY-MM-DD}}")
    return "\n".join(lines) + "\n"


def case_text(record: Record, procedure: Procedure, *, file_name: str, today: date) -> str:
    """`render_case`, checked by reading it back as `load_case` would; a failure is a bug."""
    text = render_case(record, file_name=file_name)
    path = Path(file_name if file_name.endswith((".yaml", ".yml")) else "case.yaml")
    data, locate = parse(path, text)
    parse_case(to_plain(data), file=file_name, locate=locate, as_of=today, steps=procedure.steps)
    return text


class Stopped(Exception):
    """The interview stopped before writing anything; `str()` says why."""


def terminal(stdin: TextIO, echo: Say) -> tuple[Ask, Say]:
    """``ask`` and ``say`` on a terminal or a pipe: one line per answer; end of input ends it."""

    piped = not stdin.isatty()

    def ask(prompt: str) -> str:
        echo(prompt)
        try:
            line = stdin.readline()
        except UnicodeDecodeError:
            raise Stopped("an answer is not UTF-8 text; nothing was written") from None
        if not line:
            raise EndOfAnswers(prompt.strip())
        if piped:
            # A terminal echoes what is typed; a pipe does not, so echo it
            # to keep the transcript readable.
            echo(line if line.endswith("\n") else line + "\n")
        return line.rstrip("\r\n")

    def say(text: str) -> None:
        echo(text + "\n")

    return ask, say


def run_new(
    procedure: Procedure, output: Path, *, ask: Ask, say: Say, today: date
) -> Path:
    """The whole of `whp-audit new`: check the output path, interview, write the case.

    An existing ``output`` is replaced only if the person says yes, asked
    before the interview starts so no answers are wasted. The file is written
    atomically, and only once the interview is complete; `Stopped` (with the
    reason) when nothing was written.
    """
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise InputError.single(
            str(output), "the interview writes YAML: give a file name ending .yaml", field="-o"
        )
    if output.is_dir():
        raise InputError.single(str(output), "is a folder; give a file name such as case.yaml",
                                field="-o")
    interview = Interview(procedure, ask, say, today=today)
    try:
        if output.exists():
            replace = interview.yes_no(f"{output} already exists. Replace it?")
            if replace is not True:
                raise Stopped(f"{output} already exists and was kept; nothing was written")
        record = interview.run()
    except EndOfAnswers as exc:
        raise Stopped(
            f"the answers ended before the interview finished (at: {exc}); nothing was written"
        ) from None
    except KeyboardInterrupt:
        raise Stopped("stopped; nothing was written") from None
    text = case_text(record, procedure, file_name=output.name, today=today)
    write_atomic(output, text)
    say("")
    say(f"Written: {output}. Check it, then audit it with: whp-audit audit {output}")
    return output
