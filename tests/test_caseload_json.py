"""A JSONL line is read by orjson where that gives json's own result, else by json.

`_decode_line` must give exactly what ``json.loads(text,
object_pairs_hook=_refuse_duplicate_keys)`` gives (the reading before orjson):
the same value, or the same error with the same message.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.caseload import (
    _JSON_READS_IT,
    Item,
    _decode_line,
    _refuse_duplicate_keys,
    read_caseload,
)
from auditor.checklist import load_procedure
from auditor.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
generate = pytest.importorskip("generate")

AS_OF = date(2025, 1, 1)
STEPS = load_procedure().steps
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(text: str) -> Any:
    """The reading before orjson."""
    return json.loads(text, object_pairs_hook=_refuse_duplicate_keys)


def read_line(text: str) -> Any:
    """As `Item.load` reads a line: orjson's value, or json's where json must read it."""
    value = _decode_line(text)
    return reference(text) if value is _JSON_READS_IT else value


def outcome(read: Any, text: str) -> tuple[str, Any]:
    """What reading ``text`` gives, in a form where 1, 1.0 and True differ and NaN equals NaN."""
    try:
        value = read(text)
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc), str(exc))
    return ("value", typed(value))


def typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    return (type(value).__name__, value)


def assert_same(text: str) -> None:
    assert outcome(read_line, text) == outcome(reference, text), text


# -- Whole cases, through Item.load --------------------------------------------------------------


def case() -> dict[str, Any]:
    data: dict[str, Any] = next(iter(generate.cases(1, seed=4)))
    return data


def line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def load(tmp_path: Path, text: str) -> tuple[Any, str, bytes]:
    path = tmp_path / "cases.jsonl"
    path.write_text(text + "\n", encoding="utf-8")
    (item,) = list(read_caseload(path))
    return item.load(as_of=AS_OF, steps=STEPS)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(InputError) as err:
        load(tmp_path, text)
    return str(err.value)


def with_repeat(text: str, key: str, value: str) -> str:
    """``text`` with ``"key":value`` written a second time just after the first ``"key":``'s value."""
    head = f'"{key}":'
    start = text.index(head)
    # The value after it: json tells where it ends.
    end = start + len(head) + json.JSONDecoder().raw_decode(text[start + len(head):])[1]
    return text[:end] + f",{head}{value}" + text[end:]


def test_a_plain_case_reads_the_same(tmp_path: Path) -> None:
    text = line(case())
    assert read_line(text) == json.loads(text)
    _, name, digest = load(tmp_path, text)
    assert name == case()["case"] and digest == text.encode()


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("top level", "case", '"OTHER"'),
        ("claimant", "benefit", '"none"'),
        ("an event", "type", '"referral_meeting"'),
        ("steps", "1", '"not_done"'),
    ],
)
def test_a_repeated_key_is_refused_as_before(tmp_path: Path, where: str, key: str, value: str) -> None:
    data = case()
    data["events"][1]["steps"] = {"1": "done", "2": "done"}
    text = with_repeat(line(data), key, value)
    assert text.count(f'"{key}":') == line(data).count(f'"{key}":') + 1
    message = refused(tmp_path, text)
    assert message == f"{tmp_path / 'cases.jsonl'}:1: the key '{key}' appears twice in one object"
    with pytest.raises(ValueError, match=f"the key '{key}' appears twice in one object"):
        read_line(text)


def test_a_repeated_key_written_with_spaces_or_escapes_is_refused() -> None:
    for text in (
        '{"case" :"A", "case"\t:\n"B"}',
        '{"case":"A","\\u0063ase":"B"}',
        '{"a":{"x":1},"b":[{"y":2,"y":3}]}',
    ):
        with pytest.raises(ValueError, match="appears twice in one object"):
            read_line(text)


def test_a_string_holding_quote_colon_is_no_repeat(tmp_path: Path) -> None:
    data = case()
    data["events"][0]["note"] = 'she said ": fine"'
    text = line(data)
    assert '\\":' in text
    assert read_line(text) == data
    loaded, _, _ = load(tmp_path, text)
    assert loaded.events[0].note == 'she said ": fine"'


def test_a_string_holding_quote_colon_beside_a_repeat_is_refused(tmp_path: Path) -> None:
    data = case()
    data["events"][0]["note"] = '": "'
    text = with_repeat(line(data), "type", '"invite_letter"')
    message = refused(tmp_path, text)
    assert message.endswith(":1: the key 'type' appears twice in one object")


# -- Lines where orjson and json differ: json's reading stands -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # Integers beyond 64 bits: orjson reads them as floats.
        "18446744073709551615", "18446744073709551616", "-9223372036854775808",
        "-9223372036854775809", '{"a":[1,99999999999999999999999]}', '{"a": 123456789012345678901234567890}',
        "1" * 5000,  # past Python's digit limit: json's ValueError
        # Floats: json reads overflow as infinity, and NaN and Infinity; orjson refuses them.
        "1e400", "-1e400", "NaN", '{"a":-Infinity}', "1.7976931348623159e308", "-0", "-0.0", "5e-324",
        "1e16", "1.0", "0.1000000000000000055511151231257827021181583404541015625",
        # Lone surrogates: json reads them (refuse_surrogates refuses them later), orjson refuses.
        '"\\ud800"', '{"case":"\\udc00x"}', '"\\ud83d\\ude00"', '"\\ud800\\u0041"',
        # Invalid JSON: json's messages.
        "", " ", "{", '{"a":1,}', "[1,]", "01", "1.", "+1", '{"a"\x0c:1}', '"\x01"', "\ufeff{}",
        '{"a":1} {"b":2}', "{'a':1}", '"\\x"',
        # Nesting: json refuses by its recursion limit, orjson at 1024 levels.
        "[" * 254 + "]" * 254, "[" * 255 + "]" * 255, "[" * 990 + "]" * 990,
        "[" * 1000 + "]" * 1000, "[" * 1030 + "]" * 1030, "[" * 200_000,
        '{"a":' * 300 + "1" + "}" * 300,
    ],
)
def test_lines_orjson_reads_otherwise_read_as_before(text: str) -> None:
    assert_same(text)


# -- Generated texts -----------------------------------------------------------------------------

# Few key names, so that repeats are common; some hold '":' or a backslash.
KEYS = st.sampled_from(["a", "b", "case", "1", '":', 'x":y', "\\", 'q"', ""])
SPACE = st.sampled_from(["", "", "", " ", "\t", "\r\n", "  "])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]),
    st.floats(),  # with NaN and infinities, which json writes as NaN and Infinity
    st.text(max_size=8),  # with lone surrogates
    st.sampled_from(['":', 'say ": x', "\\", "\\u0022:", "\u2028", "é"]),
)
# An object is kept as its pairs, so that it can hold a key twice.
NODES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.builds(lambda pairs: ("obj", pairs), st.lists(st.tuples(KEYS, inner), max_size=4)),
    ),
    max_leaves=20,
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    ascii_only = draw(st.booleans())

    def scalar(value: Any) -> str:
        if isinstance(value, float) and draw(st.booleans()):
            return format(value, ".17e") if math.isfinite(value) else json.dumps(value)
        return json.dumps(value, ensure_ascii=ascii_only)

    def write(node: Any) -> str:
        if isinstance(node, tuple):
            pairs = [
                draw(SPACE) + scalar(key) + draw(SPACE) + ":" + draw(SPACE) + write(value)
                for key, value in node[1]
            ]
            return "{" + ",".join(pairs) + draw(SPACE) + "}"
        if isinstance(node, list):
            return "[" + ",".join(draw(SPACE) + write(v) + draw(SPACE) for v in node) + "]"
        return scalar(node)

    text = draw(SPACE) + write(draw(NODES)) + draw(SPACE)
    if draw(st.integers(0, 4)) == 0 and text:  # now and then, one character changed
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(['"', ":", ",", "}", "]", "\\", "x", ""])) + text[at + 1:]
    return text


@PROPERTY
@given(texts())
@example('{"a":1,"a":2}')
@example('{"a":"\\":","a":2}')
@example('{"a":"\\":","b":2}')
@example('{"a":1,"b":{"a":2,"a":3}}')
def test_generated_lines_read_as_before(text: str) -> None:
    assert_same(text)


@PROPERTY
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=30,
))
def test_written_values_read_as_before(value: Any) -> None:
    # As a caseload's writer would: compact or spaced, escaped or not.
    assert_same(json.dumps(value))
    assert_same(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def test_json_meets_its_recursion_limit_at_the_same_depth_as_before() -> None:
    """json counts its caller's frames: it must still be called from `Item.load` itself."""

    def before(text: str) -> Any:  # what Item.load called, one frame below the caller
        return json.loads(text, object_pairs_hook=_refuse_duplicate_keys)

    limit = sys.getrecursionlimit()
    seen = set()
    for depth in range(limit - 150, limit + 30):
        text = '{"case":"deep","events":' + "[" * depth + "1" + "]" * depth + "}"
        try:
            before(text)
            deep = False
        except RecursionError:
            deep = True
        seen.add(deep)
        try:
            Item(0, "jsonl", "f.jsonl", "line-1", text, line=1).load(as_of=AS_OF, steps=STEPS)
            message = ""
        except InputError as exc:
            message = str(exc)
        assert ("nested too deeply" in message) == deep, depth
    assert seen == {True, False}  # the limit was crossed
