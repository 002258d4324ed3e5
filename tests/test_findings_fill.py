"""`FindingFrame.finding` fills a ground faster than filling its template afresh; these
check that it gives exactly what the plain fill gives, for any wording, values and details.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor.checklist import Procedure
from auditor.findings import Finding, FindingFrame, SourceRef, _plain_words, prefill


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def plain_fill(template: str, values: Mapping[str, str], detail: Mapping[str, str]) -> str:
    """The ground as `FindingFrame.finding` filled it before it was made faster."""
    merged = {**values, **detail} if detail else values
    filled = template.format_map(_Missing(merged))
    return " ".join(filled.replace(" .", ".").replace(" ,", ",").split())


def outcome(fill: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fill(*args)
    except Exception as error:  # the same kind of error, raised the same way
        return "error", type(error)


SOURCE = SourceRef("A title", "https://example.org", None, "verified")


def frame(template: str, values: Mapping[str, str]) -> FindingFrame:
    return FindingFrame(
        rule="R1",
        title="A rule",
        kind="late",
        evidence="dates",
        sources=(SOURCE,),
        verification="verified",
        template=template,
        values=values,
        how_to_evidence=None,
        question="Was it done?",
    )


# Text with every kind of thing the fill must keep exact: spaces where they are dropped
# (doubled, at the ends, before "." and ","), other whitespace, which str.split() also
# splits on, braces, which must stay literal in values, and non-ASCII letters.
PRINTABLE = [" ", "  ", " .", " ,", ".", ",", "a", "Zé", "date", "{", "}", "{{", "}}", "{title}"]
ODD = [
    "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2003",
    "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\x00",
]
PIECES = PRINTABLE * 3 + ODD  # mostly printable, so that the quick path is taken often
texts = (
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
    | st.text(" .,ab{}", max_size=12)  # printable, to take the quick path often
    | st.text(max_size=12)
)

NAMES = ["title", "should", "who", "whose", "authority", "date", "days", "evidence", "x", "é"]
PLACEHOLDERS = [f"{{{name}}}" for name in NAMES]
ODD_PLACEHOLDERS = [
    # Forms that are filled afresh: a conversion, a spec, a nested spec, an index,
    # an attribute, an automatic or numbered field, and broken ones.
    "{title!r}", "{days:>4}", "{days:{x}}", "{title[0]}", "{title.x}", "{}", "{0}",
    "{ title}", "{", "}", "{title:}",
]
wordings = st.lists(st.sampled_from(PLACEHOLDERS * 2 + PIECES), max_size=12).map("".join)
templates = (
    wordings  # most are valid, and have only plain placeholders
    | st.lists(st.sampled_from([*PLACEHOLDERS, " ", "a", ".", ","]), max_size=12).map("".join)
    | st.lists(st.sampled_from(PLACEHOLDERS + PIECES + ODD_PLACEHOLDERS), max_size=12).map(
        "".join
    )
    | st.text(max_size=20)
)
names = st.sampled_from(NAMES) | st.text(max_size=3)
values_of = st.dictionaries(names, texts, max_size=6)


@settings(max_examples=1000, deadline=None)
@given(templates, values_of, st.lists(values_of, min_size=1, max_size=4))
@example("{authority} that {should}. {evidence}", {"authority": "It says", "should": "act"},
         [{"evidence": "Late ."}, {}, {"should": " go {x} "}, {"evidence": "x\xa0 y"}])
@example("{title}.", {"title": "{days}"}, [{"days": "3"}])
@example("{title}", {"title": "a  b"}, [{}])
@example("{title}", {}, [{"title": "a ,b"}, {"title": " a"}, {"title": "a "}, {"title": "a .b"}])
@example("{title} {date}", {"title": "A"}, [{}])
@example("{{{title}}} {x}", {"title": "}{"}, [{"x": "{}"}])
def test_a_ground_is_filled_as_the_plain_fill_fills_it(
    template: str, values: dict[str, str], details: list[dict[str, str]]
) -> None:
    made = frame(template, values)
    for detail in details:  # one frame, filled again and again, as the Auditor does
        want = outcome(plain_fill, template, values, detail)
        got = outcome(lambda d: made.finding((1, 2), d).ground, detail)
        assert got == want


@settings(max_examples=500, deadline=None)
@given(templates, values_of, values_of, st.lists(st.integers(0, 9), max_size=3))
def test_a_finding_is_the_finding_its_constructor_makes(
    template: str, values: dict[str, str], detail: dict[str, str], events: list[int]
) -> None:
    made = frame(template, values)
    try:
        ground = plain_fill(template, values, detail)
    except Exception:
        return
    finding = made.finding(tuple(events), detail)
    built = Finding(
        rule="R1", title="A rule", kind="late", evidence="dates", events=tuple(events),
        sources=(SOURCE,), verification="verified", ground=ground, how_to_evidence=None,
        question="Was it done?",
    )
    assert finding == built
    assert hash(finding) == hash(built)
    assert repr(finding) == repr(built)
    assert list(vars(finding).items()) == list(vars(built).items())
    with pytest.raises(AttributeError):
        finding.ground = "changed"  # type: ignore[misc]


def test_the_only_printable_character_str_split_splits_on_is_the_space() -> None:
    # `_plain_words` rests on this: printable text has no whitespace but the space.
    splitters = [
        chr(c) for c in range(sys.maxunicode + 1) if len(f"a{chr(c)}b".split()) == 2
    ]
    assert " " in splitters and "\xa0" in splitters and "\u3000" in splitters
    assert [c for c in splitters if c.isprintable()] == [" "]


@settings(max_examples=2000)
@given(texts)
def test_plain_words_is_true_only_where_normalising_changes_nothing(text: str) -> None:
    normalised = " ".join(text.replace(" .", ".").replace(" ,", ",").split())
    if _plain_words(text):
        assert normalised == text


@pytest.mark.parametrize(
    "text",
    [" a", "a ", "a  b", "a .", "a ,", "a\tb", "a\xa0b", "a\u3000b", "a\nb", "a\u2028b"],
)
def test_plain_words_is_false_where_normalising_changes_something(text: str) -> None:
    assert not _plain_words(text)


def test_the_frames_own_values_are_filled_in_once() -> None:
    fill = prefill("{authority} that {should}: by {deadline_date}. {{}}", {
        "authority": "The guide {says}", "should": "act", "title": "unused"})
    assert fill is not None
    assert fill.wording == "The guide {{says}} that act: by {deadline_date}. {{}}"
    assert fill.fixed == {"authority", "should"}
    assert fill.open
    closed = prefill("{title} {{x}}", {"title": "{y}"})
    assert closed is not None and closed.wording == "{y} {x}" and not closed.open


def test_every_wording_of_the_checklist_is_filled_in_once(procedure: Procedure) -> None:
    values = dict.fromkeys(("title", "should", "who", "whose", "authority"), "x")
    for rule in procedure.rules:
        for kind in rule.kinds:
            assert prefill(procedure.wording(rule, kind), values) is not None, (rule.id, kind)


@pytest.mark.parametrize("template", ["{title!r}", "{days:>3}", "{0}", "{}", "{a.b}", "{", "}"])
def test_other_placeholders_are_filled_afresh(template: str) -> None:
    assert prefill(template, {"title": "t"}) is None
