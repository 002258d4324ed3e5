"""Reading a case file from disk into plain data, with line numbers.

YAML is read with the YAML 1.2 core rules (spec §1): only ``true``/``false``
are booleans, so a key ``on`` stays text, and dates stay text so that the case
model can say clearly why 2018-02-30 is not a date. JSON is read by the
standard library; its values are located by reading the same text as YAML
(JSON is YAML 1.2), which costs nothing when the file is valid.

Nothing here writes: the input is opened read-only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from auditor.errors import InputError

Locator = Callable[[Sequence[int | str]], int | None]

MAX_BYTES = 5_000_000
"""A case file is one claimant's referral; anything larger is refused unread."""


class _TextDates(RoundTripConstructor):
    """Round-trip constructor that leaves timestamps as the text they were written as."""


def _timestamp_as_text(constructor: RoundTripConstructor, node: Any) -> str:
    return str(node.value)


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _TextDates
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    return yaml


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
            except (KeyError, IndexError, TypeError):
                break
        return line

    return locate


def read_text(path: Path) -> str:
    """The file's text, or an `InputError` saying why it cannot be read."""
    name = str(path)
    if not path.exists():
        raise InputError.single(name, "no such file")
    if path.is_dir():
        raise InputError.single(name, "is a folder, not a case file")
    if not path.is_file():
        raise InputError.single(name, "is not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError.single(
                name, f"is {size:,} bytes; a case file may be at most {MAX_BYTES:,} bytes"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.single(name, f"cannot be read ({exc.strerror})") from None
    if not raw.strip():
        raise InputError.single(name, "is empty; a case file needs at least 'events:'")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError.single(
            name, "is saved as UTF-16; save it as UTF-8 (in most editors: Save As, encoding UTF-8)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError.single(
            name,
            f"is not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be read); "
            "save it as UTF-8 (in most editors: Save As, encoding UTF-8)",
            line=line,
        ) from None


def _refuse_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key '{key}' appears twice in one object")
        out[key] = value
    return out


def parse(path: Path, text: str) -> tuple[Any, Locator]:
    """Parse the text as JSON (``.json``) or YAML; return the data and a line locator."""
    name = str(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_refuse_duplicate_json_keys)
        except json.JSONDecodeError as exc:
            raise InputError.single(name, f"is not valid JSON: {exc.msg}", line=exc.lineno) from None
        except ValueError as exc:
            raise InputError.single(name, str(exc)) from None
        try:
            located = _yaml().load(text)
        except (YAMLError, RecursionError):
            located = None
        return data, _locator(located)
    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "not valid YAML").split())
        raise InputError.single(name, f"is not valid YAML: {problem}", line=line) from None
    except YAMLError as exc:
        raise InputError.single(name, f"is not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError.single(name, "is nested too deeply to be a case file") from None
    return data, _locator(data)


def to_plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts, lists, str, int, float and bool.

    Strict validation then sees exactly the YAML 1.2 core types, whatever
    styling (quotes, anchors) the file used.
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
