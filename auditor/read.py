"""Reading a case file from disk into plain data, with line numbers.

YAML is read with the YAML 1.2 core rules (spec §1): only ``true``/``false``
are booleans, so a key ``on`` stays text, and dates stay text so that the case
model can say clearly why 2018-02-30 is not a date. JSON is read by the
standard library; its values are located, only when a message needs a line,
by reading the same text as YAML (JSON is YAML 1.2).

Hostile or broken input is refused with an `InputError`, never a hang or a
traceback (see the README, "Robustness and schemas"):

- at most `MAX_BYTES` are read, and only from a regular file (a device such as
  ``/dev/zero`` or a pipe is refused before it is read);
- UTF-8, with or without a byte-order mark; UTF-16/32 and other encodings are
  refused with a hint;
- YAML tags (``!!python/object``, ``!foo``, ``!!set``, ``!!binary``) are refused:
  a case file is plain text, numbers, true/false, lists and mappings;
- a ``%YAML`` directive other than 1.2 is refused (YAML 1.1 would read ``on``
  as a boolean);
- anchors and aliases may repeat data, but not beyond `MAX_NODES` values in
  all ("billion laughs"), and nesting is at most `MAX_DEPTH` levels;
- a key given twice in one mapping is refused, naming both lines.

Nothing here writes: the input is opened read-only.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from auditor.errors import InputError

Locator = Callable[[Sequence[int | str]], int | None]

MAX_BYTES = 500_000
"""A case file is one claimant's referral (a few kilobytes); anything larger is refused.

Only this many bytes (plus one, to tell) are ever read, whatever the file claims
to be; parsing a megabyte of YAML takes seconds, not minutes.
"""

MAX_NODES = 100_000
"""Values (mappings, lists, scalars) a case may expand to, counting every alias use."""

MAX_DEPTH = 32
"""Nesting levels allowed; a real case file needs five (events, event, steps, step, value)."""

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    _CORE + name
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge")
)
"""Tags a plain YAML 1.2 document resolves to; any other tag was written on purpose."""

_ENCODING_HINT = "save it as UTF-8 (in most editors: Save As, encoding UTF-8)"


class _Refused(Exception):
    """Raised from inside the YAML reader; `parse` turns it into an `InputError`."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _shorthand(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _TextDates(RoundTripConstructor):
    """Round-trip constructor that keeps timestamps as text and refuses explicit tags."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        tag = str(getattr(node.tag, "value", node.tag))
        if tag not in _ALLOWED_TAGS:
            raise _Refused(
                f"the YAML tag {_shorthand(tag)} is not allowed; a case file holds only plain "
                "text, numbers, true/false, lists and mappings (remove the tag)",
                node.start_mark.line + 1,
            )
        if isinstance(node, MappingNode):
            # A list or mapping used as a key ("? [a, b]") cannot be a field name, and
            # ruamel would fail on it with a TypeError, not a located message.
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise _Refused(
                        "a key here is a list or mapping; keys must be plain text or step "
                        "numbers",
                        key_node.start_mark.line + 1,
                    )
        return super().construct_object(node, deep=deep)


def _timestamp_as_text(constructor: RoundTripConstructor, node: Any) -> str:
    return str(node.value)


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _TextDates
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    return yaml


def _load(text: str) -> Any:
    """The YAML text as round-trip data; ruamel's warnings (a reused anchor) stay silent.

    Python would print them to stderr with a source line, which reads like a
    crash; a reused anchor is legal YAML, and the later one is used.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _yaml().load(text)


def _compose(text: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _yaml().compose(text)


def _locator(root: Any) -> Locator:
    """Map a validation error's location to a 1-based line, where the YAML tree knows it."""

    def locate(loc: Sequence[int | str]) -> int | None:
        node = root
        line: int | None = None
        for part in loc:
            lc = getattr(node, "lc", None)
            if lc is None:
                break
            try:
                if isinstance(node, list):
                    if not isinstance(part, int):
                        break
                    line = lc.item(part)[0] + 1
                    node = node[part]
                else:
                    key: Any = part
                    if key not in node and isinstance(key, str) and key.isdigit():
                        key = int(key)
                    if key not in node:
                        break
                    line = lc.key(key)[0] + 1
                    node = node[key]
            except (KeyError, IndexError, TypeError, AttributeError):
                break
        return line

    return locate


def _lazy_locator(text: str) -> Locator:
    """A locator for JSON text, which parses it as YAML only if a message needs a line."""
    cache: list[Locator] = []

    def locate(loc: Sequence[int | str]) -> int | None:
        if not cache:
            try:
                located = None if _crowded_brackets(text) else _load(text)
            except (YAMLError, _Refused, RecursionError, ValueError):
                located = None
            cache.append(_locator(located))
        return cache[0](loc)

    return locate


def _read_capped(path: Path) -> bytes:
    """At most ``MAX_BYTES + 1`` bytes of ``path``, refusing anything but a regular file.

    The file is opened without blocking and checked through the open handle, so
    a pipe, a device such as /dev/zero, or a file swapped after a check is
    never read without limit.
    """
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        handle = os.open(path, flags)
    except FileNotFoundError:
        raise InputError.single(
            name, "no such file (give the path of a .yaml, .yml or .json file)"
        ) from None
    except IsADirectoryError:
        raise InputError.single(name, "is a folder; give a case file (.yaml, .yml or .json)") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError.single(name, f"cannot be read ({reason})") from None
    try:
        mode = os.fstat(handle).st_mode
    except OSError:
        os.close(handle)
        raise
    if not stat.S_ISREG(mode):
        os.close(handle)
        if stat.S_ISDIR(mode):
            raise InputError.single(name, "is a folder; give a case file (.yaml, .yml or .json)")
        raise InputError.single(
            name,
            "is a device, pipe or other special file, not a case file "
            "(give a regular .yaml, .yml or .json file)",
        )
    with os.fdopen(handle, "rb") as stream:
        try:
            raw = stream.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InputError.single(name, f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise InputError.single(
            name,
            f"is larger than {MAX_BYTES:,} bytes, the limit for a case file "
            "(one claimant's referral is a few kilobytes)",
        )
    return raw


def read_text(path: Path) -> str:
    """The file's text, or an `InputError` saying why it cannot be read.

    UTF-8 is required; a UTF-8 byte-order mark is dropped. UTF-16 and UTF-32
    (with a byte-order mark, or betrayed by NUL bytes) and bytes that are not
    UTF-8 (Latin-1, Windows-1252) are refused with a hint, never guessed.
    """
    name = str(path)
    raw = _read_capped(path)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if not raw.strip():
        raise InputError.single(name, "is empty; a case file needs at least 'events: []'")
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError.single(name, f"is saved as UTF-32; {_ENCODING_HINT}")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError.single(name, f"is saved as UTF-16; {_ENCODING_HINT}")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError.single(
            name,
            f"contains NUL bytes, so it is UTF-16 without a byte-order mark or not a text "
            f"file; {_ENCODING_HINT}",
            line=line,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        guess = ""
        try:
            raw.decode("cp1252")
            guess = ", perhaps Latin-1 or Windows-1252"
        except UnicodeDecodeError:
            pass
        raise InputError.single(
            name,
            f"is not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be read{guess}); {_ENCODING_HINT}",
            line=line,
        ) from None


def _check_size(data: Any) -> None:
    """Refuse data that expands past `MAX_NODES` values or nests past `MAX_DEPTH` levels.

    Aliases make the parsed tree share objects, so the expanded size is counted
    once per object (memoised by identity): a billion-laughs file is measured
    in microseconds and refused before anything expands it.
    """
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, dict | list):
            return 1
        if depth > MAX_DEPTH:
            raise _Refused(
                f"is nested more than {MAX_DEPTH} levels deep; a case file needs about five",
                None,
            )
        known = sizes.get(id(node))
        if known is not None:
            return known
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_NODES:
                raise _Refused(
                    f"holds more than {MAX_NODES:,} values, counting each use of an alias (&name "
                    "and *name repeat data); a case file is far smaller",
                    None,
                )
        sizes[id(node)] = total
        return total

    size(data, 0)


MAX_BRACKETS = 64
"""Opening brackets allowed within `_WINDOW` characters of one line."""
_WINDOW = 1024
_OPENERS = re.compile(r"[\[{]")


def _crowded_brackets(text: str) -> int | None:
    """The first line with more than `MAX_BRACKETS` ``[``/``{`` within `_WINDOW` characters.

    ruamel's scanner does work for each token in proportion to the brackets
    opened in the preceding 1,024 characters of the same line, so a line of
    brackets takes time quadratic in its length (20,000 take seconds, a
    megabyte hours). Bounding them per window bounds that work; it is counted
    without regard to quotes, so that no quoting can hide brackets, and real
    case files (even minified JSON) have a few per window.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if line.count("[") + line.count("{") <= MAX_BRACKETS:
            continue
        starts = [m.start() for m in _OPENERS.finditer(line)]
        for first, last in zip(starts, starts[MAX_BRACKETS:], strict=False):
            if last - first < _WINDOW:
                return number
    return None


def _refuse_crowded_brackets(name: str, text: str) -> None:
    line = _crowded_brackets(text)
    if line is not None:
        raise InputError.single(
            name,
            f"has more than {MAX_BRACKETS} '[' or '{{' within {_WINDOW:,} characters; a case "
            f"file nests about five levels deep (at most {MAX_DEPTH})",
            line=line,
        )


def _find_mapping(node: Node, line: int, column: int) -> MappingNode | None:
    """The mapping whose key starts at (line, column), 0-based, in a composed tree."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, MappingNode):
            for key, value in current.value:
                if key.start_mark.line == line and key.start_mark.column == column:
                    return current
                stack.extend((key, value))
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
    return None


def _duplicate(text: str, mark: Any) -> tuple[str, int, int] | None:
    """The duplicated key at ``mark`` and the lines (1-based) of its first and second use."""
    try:
        root = _compose(text)
        mapping = _find_mapping(root, mark.line, mark.column) if root is not None else None
    except (YAMLError, RecursionError, ValueError):
        return None
    if mapping is None:
        return None
    keys = [key for key, _ in mapping.value]
    second = next(
        key for key in keys if key.start_mark.line == mark.line and key.start_mark.column == mark.column
    )
    if not isinstance(second, ScalarNode):
        return None
    for key in keys:
        if isinstance(key, ScalarNode) and key.value == second.value and key is not second:
            return str(second.value), key.start_mark.line + 1, second.start_mark.line + 1
    return None


def _duplicate_error(name: str, text: str, key: str | None, mark: Any) -> InputError:
    found = _duplicate(text, mark) if mark is not None else None  # mark: text is not crowded
    if found is not None:
        key, first, second = found
        return InputError.single(
            name,
            f"appears twice in one mapping, at line {first} and again at line {second}; "
            "keep one (a second value must not silently replace the first)",
            field=key,
            line=second,
        )
    return InputError.single(
        name,
        "appears twice in one mapping; keep one (a second value must not silently replace "
        "the first)",
        field=key or "",
        line=mark.line + 1 if mark is not None else None,
    )


_DIRECTIVE = re.compile(r"^%YAML[ \t]+(\S+)", re.MULTILINE)


def _check_directive(name: str, text: str) -> None:
    match = _DIRECTIVE.search(text)
    if match and match.group(1) != "1.2":
        raise InputError.single(
            name,
            f"declares %YAML {match.group(1)}; case files are read as YAML 1.2 "
            "(remove the %YAML line: under YAML 1.1 the key 'on' would become true)",
            line=text[: match.start()].count("\n") + 1,
        )


def _value_problem(exc: ValueError) -> str:
    """A parser's ValueError in the user's words (Python's own names a developer setting)."""
    if "integer string conversion" in str(exc):
        return "it contains a number more than 4,300 digits long"
    return " ".join(str(exc).split())


class _DuplicateJsonKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateJsonKey(key)
        out[key] = value
    return out


def _parse_json(name: str, text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicate_json_keys)
    except json.JSONDecodeError as exc:
        raise InputError.single(name, f"is not valid JSON: {exc.msg}", line=exc.lineno) from None
    except _DuplicateJsonKey as exc:
        mark = None
        try:
            if _crowded_brackets(text) is None:
                _load(text)
        except DuplicateKeyError as yaml_exc:
            mark = yaml_exc.problem_mark
        except (YAMLError, _Refused, RecursionError, ValueError):
            pass
        raise _duplicate_error(name, text, exc.key, mark) from None
    except RecursionError:
        raise InputError.single(
            name, f"is nested too deeply to be a case file (at most {MAX_DEPTH} levels)"
        ) from None
    except ValueError as exc:
        raise InputError.single(name, f"is not valid JSON: {_value_problem(exc)}") from None


def parse(path: Path, text: str) -> tuple[Any, Locator]:
    """Parse the text as JSON (``.json``) or YAML; return the data and a line locator.

    Every refusal is an `InputError` naming the file and, where known, the line.
    """
    name = str(path)
    if path.suffix.lower() == ".json":
        data = _parse_json(name, text)
        locate = _lazy_locator(text)
    else:
        _check_directive(name, text)
        _refuse_crowded_brackets(name, text)
        try:
            data = _load(text)
        except DuplicateKeyError as exc:
            raise _duplicate_error(name, text, None, exc.problem_mark) from None
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            # The context says what the parser was doing ("expected a single document in
            # the stream"); the problem alone ("but found another document") is half a sentence.
            said = ", ".join(str(part) for part in (exc.context, exc.problem) if part)
            problem = " ".join((said or "not valid YAML").split())
            raise InputError.single(name, f"is not valid YAML: {problem}", line=line) from None
        except YAMLError as exc:
            problem = " ".join(str(exc).split())
            raise InputError.single(name, f"is not valid YAML: {problem}") from None
        except _Refused as exc:
            raise InputError.single(name, exc.message, line=exc.line) from None
        except RecursionError:
            raise InputError.single(
                name, f"is nested too deeply to be a case file (at most {MAX_DEPTH} levels)"
            ) from None
        except ValueError as exc:
            # ruamel lets some bad scalars through as ValueError (an integer of 5,000 digits).
            raise InputError.single(name, f"is not valid YAML: {_value_problem(exc)}") from None
        locate = _locator(data)
    try:
        _check_size(data)
    except _Refused as exc:
        raise InputError.single(name, exc.message, line=exc.line) from None
    refuse_surrogates(data, text, file=name, locate=locate)
    return data, locate


_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_surrogates(data: Any, text: str, *, file: str, locate: Locator) -> None:
    """Refuse a text that holds half of a UTF-16 pair, written as an escape (``\\ud800``).

    Such a value is no character: it cannot be written out as UTF-8, so it would
    stop the report. Only a text with such an escape is searched, so the
    common case costs one scan of the text.
    """
    if not _SURROGATE_ESCAPE.search(text):
        return

    def walk(node: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
        if isinstance(node, str):
            return path if _SURROGATE.search(node) else None
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    return (*path, key)
                found = walk(value, (*path, key))
                if found is not None:
                    return found
        if isinstance(node, list):
            for index, value in enumerate(node):
                found = walk(value, (*path, index))
                if found is not None:
                    return found
        return None

    where = walk(data, ())
    if where is None:
        return
    field = ""
    for part in where:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += f".{part}" if field else str(part)
    raise InputError.single(
        file,
        "holds an escaped half of a UTF-16 pair (such as \\ud800), which is not a "
        "character; remove it or write the whole character",
        field=printable(field),
        line=locate(where),
    )


def printable(text: str) -> str:
    """``text`` with every unprintable character written as an escape (``\\u2028``, ``\\x1b``).

    Messages quote the case file's own keys and values; a line separator or a
    terminal escape sequence in them must not split the message or reach the
    terminal as a command.
    """
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def to_plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts, lists, str, int, float and bool.

    Strict validation then sees exactly the YAML 1.2 core types, whatever
    styling (quotes, anchors) the file used. Call it only on data `parse`
    accepted: its size and depth are bounded there.
    """
    if isinstance(node, dict):
        return {to_plain(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or type(node).__name__ == "ScalarBoolean":
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node
