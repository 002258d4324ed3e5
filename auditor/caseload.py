"""Reading a caseload: a folder of case files, a JSON Lines file, or a CSV event log.

A CSV event log may come with a claimants file (``--claimants``): one row per
case, the case id and the claimant's facts. It is read whole, before the
log, into a dict keyed by case id (it is small: one row per case); the log
is still streamed. A claimants row whose case has no events in the log is
rejected after the log's cases, so that a mistyped case id is never audited
as two half cases.

`read_caseload` yields `Item`s one at a time, in a fixed order, and never
holds the caseload: a folder is listed (names only), a JSONL or CSV file is
read line by line. An item is the raw material of one case, cheap to send to
a worker process; `Item.load` turns it into a validated `Case` there, or
raises a located `InputError` for that case alone.

A problem with the INPUT itself (missing, not a known kind, a CSV whose
header has a column the auditor does not know) is an `InputError` raised
before the first item: the whole batch is unusable (exit 2). A problem with
one case is that case's own error: the batch goes on without it.

Case digests (for the per-case reports): the SHA-256 of the case file's
bytes for a folder; of the line's bytes (UTF-8, without its line ending) for
JSONL; of the canonical JSON of the case built from the CSV rows (keys
sorted, no spaces, UTF-8) for CSV.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from auditor.case import EVENT_FIELDS, YES_NO_FIELDS, Case, Claimant
from auditor.errors import InputError, Problem
from auditor.load import (
    MUST_BE_YES_NO,
    MUST_BE_YES_NO_UNKNOWN,
    CaseloadParser,
    case_name,
    load_case,
)
from auditor.read import MAX_BYTES, printable, refuse_surrogates

CASE_SUFFIXES = (".yaml", ".yml", ".json")

# The CSV event log's columns (see README, "Batch mode"). The claimant's facts
# and `recorded_by` may be given on any row of the case; steps are `step_N`
# (done / not_done / unknown) with an optional `step_N_note`.
CSV_CORE = ("case", "on", "type", "happened", "note")
CSV_CASE_FIELDS = ("recorded_by",)
CSV_CLAIMANT_FIELDS = tuple(Claimant.model_fields)
CSV_EVENT_FIELDS = tuple(
    dict.fromkeys(f for fields in EVENT_FIELDS.values() for f in fields if f != "steps")
)
_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})
_TRI_CLAIMANT = frozenset({"appealing_support_group", "mandatory"})
# The claimants file's columns: one row per case (README, "Batch mode").
CLAIMANTS_COLUMNS = ("case", *CSV_CASE_FIELDS, *CSV_CLAIMANT_FIELDS)

Kind = Literal["folder", "jsonl", "csv"]


@dataclass(frozen=True)
class Item:
    """One case's raw material and where it came from.

    ``payload`` is a path (folder), the line's text (JSONL), or the case as
    plain data (CSV). ``event_lines`` and ``fact_lines`` locate a CSV case's
    fields: the line of each event's row, and of the row that gave each
    claimant fact. ``fact_files`` names the file of each fact that came from
    a claimants file rather than from ``label`` (key ``claimant``: the row
    that gave the claimant's facts, for a problem with them as a whole).
    """

    seq: int
    kind: Kind
    label: str
    default_name: str
    payload: Any
    line: int | None = None
    size: int = 0
    event_lines: tuple[int, ...] = ()
    fact_lines: dict[str, int] = field(default_factory=dict)
    early_error: tuple[Problem, ...] = ()
    fact_files: dict[str, str] = field(default_factory=dict)

    def name_hint(self) -> str:
        """The case's id as far as it can be told without validating it."""
        data = self.payload
        if self.kind == "jsonl":
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):
                return self.default_name
        if isinstance(data, dict) and isinstance(data.get("case"), str) and data["case"]:
            # As messages quote it: a line separator, escape sequence or lone surrogate in
            # it is written as an escape.
            return printable(data["case"])
        return self.default_name

    def load(
        self, *, as_of: date, steps: set[int], parser: CaseloadParser | None = None
    ) -> tuple[Case, str, bytes]:
        """The validated case, its name and the bytes its digest is taken of.

        ``parser``, built for the same ``as_of`` and ``steps``, validates faster
        over many cases, with the same results.
        """
        parser = parser or CaseloadParser(as_of=as_of, steps=steps)
        if self.early_error:
            raise InputError(self.label, list(self.early_error))
        if self.kind == "folder":
            path = Path(self.payload)
            case = load_case(path, as_of=as_of, steps=steps)
            return case, case_name(path, case), path.read_bytes()
        if self.kind == "jsonl":
            text: str = self.payload
            try:
                data = _decode_line(text)
                json_read = data is not _JSON_READS_IT
                if not json_read:
                    # Called here, as before, so that json meets its recursion limit at
                    # the same nesting depth (it counts the caller's frames too).
                    data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
            except json.JSONDecodeError as exc:
                raise InputError.single(
                    self.label, f"is not valid JSON: {exc.msg} (column {exc.colno})",
                    line=self.line,
                ) from None
            except ValueError as exc:
                raise InputError.single(self.label, str(exc), line=self.line) from None
            except RecursionError:
                raise InputError.single(self.label, "is nested too deeply to be a case",
                                        line=self.line) from None
            line = self.line
            refuse_surrogates(data, text, file=self.label, locate=lambda loc: line)
            case = parser.parse(data, file=self.label, locate=lambda loc: line,
                                json_read=json_read)
            return case, case.case or self.default_name, text.encode("utf-8")
        data = self.payload
        try:
            case = parser.parse(data, file=self.label, locate=self._csv_locate)
        except InputError as exc:
            # Named as the sheet names them: the column, in the file and on the line it is in.
            problems = [self._in_file(p) for p in exc.problems]
            raise InputError(exc.file, [
                replace(p, field=csv_column(p.field), message=_CSV_WORDS.get(p.message, p.message))
                for p in problems
            ]) from None
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return case, case.case or self.default_name, canonical.encode("utf-8")

    def _in_file(self, problem: Problem) -> Problem:
        """``problem`` naming the claimants file when the fact it is about came from there."""
        key = problem.field.removeprefix("claimant.").removesuffix(" (key)")
        file = self.fact_files.get(key)
        if file is None or problem.file is not None:
            return problem
        return replace(problem, file=file)

    def _csv_locate(self, loc: Any) -> int | None:
        loc = tuple(loc)
        if (len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int)
                and 0 <= loc[1] < len(self.event_lines)):
            return self.event_lines[loc[1]]
        if len(loc) >= 2 and loc[0] == "claimant":
            return self.fact_lines.get(str(loc[1]), self.line)
        if loc and isinstance(loc[0], str):
            return self.fact_lines.get(loc[0], self.line)
        return self.line


_STEP_FIELD = re.compile(r"events\[\d+\]\.steps\.(\d+)(\.status|\.note)?")
_EVENT_FIELD = re.compile(r"events\[\d+\]\.(\w+)")


_CSV_WORDS = {
    MUST_BE_YES_NO_UNKNOWN: "must be true, false, yes, no or unknown (or left empty)",
    MUST_BE_YES_NO: "must be true, false, yes or no (or left empty)",
}
"""Messages that say more for a CSV cell, which also takes yes and no."""


def csv_column(field: str) -> str:
    """The event log's column for a case's field (``events[2].steps.3.note`` is in
    ``step_3_note``, ``claimant.nino`` in ``nino``); a field no column holds is left as
    it is."""
    step = _STEP_FIELD.fullmatch(field)
    if step:
        return f"step_{step[1]}" + ("_note" if step[2] == ".note" else "")
    event = _EVENT_FIELD.fullmatch(field)
    if event and event[1] != "steps":
        return event[1]
    if field.startswith("claimant.") and field.removeprefix("claimant.").isidentifier():
        return field.removeprefix("claimant.")
    return field


# orjson reads an integer beyond 64 bits as a float (json: as an int); such a float is at least this.
_BIG = float(2**63)
_JSON_SPACE = b" \t\r\n"


_JSON_READS_IT = object()
"""What `_decode_line` gives for a line that json must read."""


def _decode_line(text: str) -> Any:
    """``json.loads(text, object_pairs_hook=_refuse_duplicate_keys)``'s value, faster; or
    `_JSON_READS_IT`, where the caller must call that itself (so that json's recursion
    limit falls at the same depth as before, it is not called from here).

    orjson reads the line; whatever it refuses, json reads again, so every
    error (invalid JSON, NaN, a lone surrogate, a huge integer) is json's own,
    as before. Where orjson accepts a line, its value is json's (floats are
    correctly rounded by both) except in three ways, each sent to json too:
    it keeps the last of two equal keys silently; it reads an integer beyond
    64 bits as a float (at least 2**63 in size); and it reads up to 1024
    levels of nesting, where json stops at its recursion limit (about 1000
    levels, fewer the deeper the caller's stack).

    orjson writes the value back: it refuses nesting past 254 levels, and a
    line nested that deep goes to json. Below it, json's recursion limit is
    far off, and so is `_count_keys`' walk of the value.

    Fast case: the line is exactly what orjson wrote. Writing never repeats a
    key, and writes a float with "." or "e" where the line had digits only;
    so the line had neither.

    Otherwise keys are counted. Each key in the line is a closing quote
    followed by JSON white space (orjson allows no other) and a colon, so
    with white space deleted the count of '":' is at least the number of
    keys written (a string holding '":' only adds to it). The objects read
    hold at most that many keys, and fewer exactly when a key was repeated.
    So equal counts mean no repeated key; unequal ones go to json, which
    refuses the repeat or, if a string caused it, reads the line.
    """
    try:
        raw = text.encode("utf-8")
        data = orjson.loads(raw)
    except ValueError:  # orjson.JSONDecodeError, or a str that is not Unicode text
        return _JSON_READS_IT
    try:
        if orjson.dumps(data) == raw:
            return data
    except orjson.JSONEncodeError:  # nested past 254 levels
        return _JSON_READS_IT
    if _count_keys(data) == raw.translate(None, _JSON_SPACE).count(b'":'):
        return data
    return _JSON_READS_IT


def _count_keys(data: Any) -> int:
    """The keys of all objects in ``data``; -1 if it holds a float of 2**63 or more in size."""
    keys = 0
    level: list[Any] = [[data]]
    while level:
        below: list[Any] = []
        for node in level:
            if type(node) is dict:
                keys += len(node)
                node = node.values()
            for value in node:
                kind = type(value)
                if kind is dict or kind is list:
                    below.append(value)
                elif kind is float and not -_BIG < value < _BIG:
                    return -1
        level = below
    return keys


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key '{key}' appears twice in one object")
            seen.add(key)
    return out


def input_kind(path: Path) -> Kind:
    """Which of the three inputs ``path`` is; an `InputError` when it is none of them."""
    name = str(path)
    if not path.exists():
        raise InputError.single(name, "no such file or folder")
    if path.is_dir():
        return "folder"
    if not path.is_file():
        raise InputError.single(name, "is not a regular file or a folder")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InputError.single(
        name,
        "is not a caseload: give a folder of case files, a .jsonl file (one case per line) "
        "or a .csv event log",
    )


def input_size(path: Path) -> int:
    """Bytes to read, for the progress bar."""
    if path.is_dir():
        return sum(1 for _ in _case_files(path))
    return path.stat().st_size


def read_caseload(path: Path, claimants: Path | None = None) -> Iterator[Item]:
    """The cases of ``path`` in input order; an `InputError` if the input itself is unusable.

    ``claimants`` is a claimants file for a CSV event log (read here, whole).
    """
    kind = input_kind(path)
    if claimants is not None and kind != "csv":
        what = "a folder of case files" if kind == "folder" else "a .jsonl file"
        raise InputError.single(
            str(claimants),
            f"goes with a .csv event log only; {path} is {what}, whose cases give the "
            "claimant's facts themselves (under claimant:)",
            field="--claimants",
        )
    if kind == "folder":
        return _folder(path)
    if kind == "jsonl":
        return _jsonl(path)
    return _csv(path, _read_claimants(claimants) if claimants is not None else None)


def _case_files(folder: Path) -> Iterator[Path]:
    # Sorted by name so that the order, and so the output, never depends on the file system.
    names = sorted(p.name for p in folder.iterdir())
    for name in names:
        child = folder / name
        if name.startswith(".") or child.suffix.lower() not in CASE_SUFFIXES:
            continue
        if child.is_file():
            yield child


def _folder(folder: Path) -> Iterator[Item]:
    for seq, child in enumerate(_case_files(folder)):
        yield Item(seq, "folder", str(child), child.stem, str(child), size=1)


def _open_text(path: Path) -> Any:
    try:
        stream = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError.single(str(path), f"cannot be read ({exc.strerror})") from None
    return stream


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes with the line ending) per line of a file."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError.single(str(path), f"cannot be read ({exc.strerror})") from None
    with stream:
        yield from enumerate(stream, start=1)


def _jsonl_item(label: str, seq: int, number: int, raw: bytes) -> Item | None:
    """The item of one JSONL line (its bytes with the line ending); None for a blank line."""
    size = len(raw)
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Undecodable text is marked with a leading NUL.
        text = "\x00" + f"byte 0x{raw[exc.start]:02x} is not UTF-8"
    text = text.rstrip("\r\n")
    if not text.strip():
        return None
    problems: tuple[Problem, ...] = ()
    if text.startswith("\x00"):
        problems = (Problem("", text[1:] + "; save the file as UTF-8", line=number),)
        text = ""
    elif len(text) > MAX_BYTES:
        problems = (
            Problem("", f"the line is {len(text):,} characters; a case may be at most "
                        f"{MAX_BYTES:,}", line=number),
        )
        text = ""
    return Item(seq, "jsonl", label, f"line-{number}", text, line=number, size=size,
                early_error=problems)


# The ASCII characters that str.strip() strips: a line of these only is blank.
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _blank(number: int, raw: bytes) -> bool:
    """Whether `_jsonl_item` leaves the line out, told without decoding it where it can."""
    rest = raw.lstrip(_ASCII_SPACE)
    if not rest:
        return True
    if rest[0] < 0x80:  # an ASCII character that is not white space
        return False
    return _jsonl_item("", 0, number, raw) is None


@dataclass(frozen=True)
class Lines:
    """Consecutive cases of a JSONL file as their lines' bytes: a chunk of the caseload
    that is cheap to read and to send to a worker process, which makes its items.

    ``numbers`` are the lines' numbers; the cases are numbered (``seq``) from
    ``first_seq``. Blank lines are already left out.
    """

    label: str
    first_seq: int
    numbers: tuple[int, ...]
    raws: tuple[bytes | Item, ...]
    """Each line's bytes, or its item already made (a line too long to be a case)."""

    @property
    def size(self) -> int:
        return sum(raw.size if isinstance(raw, Item) else len(raw) for raw in self.raws)

    def items(self) -> list[Item]:
        items = []
        for seq, number, raw in zip(
            range(self.first_seq, self.first_seq + len(self.raws)), self.numbers, self.raws,
            strict=True,
        ):
            item = raw if isinstance(raw, Item) else _jsonl_item(self.label, seq, number, raw)
            assert item is not None, "a blank line was sent"
            items.append(item)
        return items


def _jsonl_lines(path: Path, chunk: int) -> Iterator[Lines]:
    label = str(path)
    seq = 0
    numbers: list[int] = []
    raws: list[bytes | Item] = []
    for number, raw in _raw_lines(path):
        if len(raw) > MAX_BYTES:
            # Made into its item here, which drops the text of a line too long to be a
            # case: sent as bytes, a chunk of such lines would be held whole. (A line's
            # bytes are at least its characters, so every such line is made here.)
            item = _jsonl_item(label, seq + len(raws), number, raw)
            if item is not None:
                numbers.append(number)
                raws.append(item)
        elif _blank(number, raw):
            continue
        else:
            numbers.append(number)
            raws.append(raw)
        if len(raws) == chunk:
            yield Lines(label, seq, tuple(numbers), tuple(raws))
            seq += chunk
            numbers, raws = [], []
    if raws:
        yield Lines(label, seq, tuple(numbers), tuple(raws))


def _jsonl(path: Path) -> Iterator[Item]:
    for lines in _jsonl_lines(path, 128):  # any size gives the same items
        yield from lines.items()


Chunk = list[Item] | Lines
"""Consecutive items of a caseload, or (JSONL) the lines they are made from."""


def chunk_items(chunk: Chunk) -> list[Item]:
    return chunk.items() if isinstance(chunk, Lines) else chunk


def chunk_size(chunk: Chunk) -> int:
    """The bytes (or files) the chunk's cases were read from, for the progress bar."""
    return chunk.size if isinstance(chunk, Lines) else sum(item.size for item in chunk)


def read_chunks(path: Path, claimants: Path | None = None, *, size: int) -> Iterator[Chunk]:
    """`read_caseload`'s items, ``size`` at a time. A JSONL file's come as `Lines`: the
    reader (one process) only splits the file; whoever audits the chunk makes the items."""
    if input_kind(path) == "jsonl" and claimants is None:
        return _jsonl_lines(path, size)
    return _sized(read_caseload(path, claimants), size)


def _sized(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _csv_bool(value: str) -> Any:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    if word == "unknown":
        return "unknown"
    return value  # left as text, so the case model says what is allowed


@dataclass
class _Block:
    """The rows of one case, gathered while reading the CSV."""

    case: str
    line: int
    size: int = 0
    top: dict[str, Any] = field(default_factory=dict)
    claimant: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    event_lines: list[int] = field(default_factory=list)
    fact_lines: dict[str, int] = field(default_factory=dict)
    fact_files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def seed(self, facts: _Facts, file: str) -> None:
        """Start the case with its row of the claimants file ``file``."""
        self.top.update(facts.top)
        self.claimant.update(facts.claimant)
        self.fact_lines.update(facts.lines)
        self.fact_files.update(dict.fromkeys(facts.lines, file))
        if facts.claimant:
            self.fact_lines["claimant"] = facts.line
            self.fact_files["claimant"] = file
        self.problems.extend(facts.problems)

    def fact(self, target: dict[str, Any], key: str, value: Any, line: int) -> None:
        if key in target and target[key] != value:
            if key in self.fact_files:
                there = f"in {self.fact_files[key]} on line {self.fact_lines[key]}"
                advice = "give a claimant fact in one of the two files, or the same in both"
            else:
                there = f"on line {self.fact_lines[key]}"
                advice = "give a claimant fact once, or the same on every row"
            message = f"is '{_cell(value)}' here but '{_cell(target[key])}' {there}; {advice}"
            withheld = f"differs here from its value {there}; {advice}"
            self.problems.append(Problem(key, message, line=line, withheld=withheld))
            return
        target[key] = value
        self.fact_lines.setdefault(key, line)


def _header(reader: Any, label: str, what: str) -> list[str]:
    """A CSV file's first row; a file that cannot be read, or is empty, is an `InputError`."""
    try:
        header: list[str] | None = next(reader, None)
    except UnicodeDecodeError as exc:
        raise InputError.single(label, f"cannot be read as a UTF-8 CSV file ({exc})") from None
    except csv.Error as exc:
        raise InputError.single(label, _csv_problem(str(exc)), line=1) from None
    if header is None:
        raise InputError.single(label, f"is empty; {what} needs a header row")
    return header


def _reader(stream: IO[str]) -> Any:
    """A CSV reader that refuses what it would otherwise guess at.

    ``strict``: a quoted cell never closed is an error, not the rest of the file
    swallowed into one cell. The cell size limit is raised from the csv module's
    131,072 characters to what one case may hold, as for a JSONL line.
    """
    if csv.field_size_limit() < MAX_BYTES:
        csv.field_size_limit(MAX_BYTES)
    return csv.reader(stream, strict=True)


def _rows(reader: Any, label: str) -> Iterator[tuple[int, list[str]]]:
    """Each row of a CSV file with its line, blank rows skipped; a row that cannot be
    decoded or parsed is an `InputError` for the whole file, with its line."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InputError.single(
                label, f"is not UTF-8 ({exc.reason}); save it as CSV UTF-8", line=line
            ) from None
        except csv.Error as exc:
            raise InputError.single(label, _csv_problem(str(exc)), line=line) from None
        if any(cell.strip() for cell in row):
            yield line, row


def _csv_problem(reason: str) -> str:
    """What a csv module error means for the person who saved the file."""
    if reason == "unexpected end of data":
        return ('is not a readable CSV file: a cell that opens with a double quote (") on '
                "this line is never closed, so the rest of the file would be read into it; "
                "look for a stray double quote in this row")
    if reason.startswith("',' expected after '\"'"):
        return ('is not a readable CSV file: a cell in this row has something after its '
                'closing double quote (") before the next comma, such as a space; remove it, '
                "or put the whole cell in quotes")
    if reason.startswith("field larger than field limit"):
        return (f"is not a readable CSV file: a cell from this line on is longer than "
                f"{MAX_BYTES:,} characters, the most one case may hold")
    return f"is not a readable CSV file: {reason}"


def _csv_header(path: Path, header: list[str]) -> list[str]:
    allowed = set(CSV_CORE + CSV_CASE_FIELDS + CSV_CLAIMANT_FIELDS + CSV_EVENT_FIELDS)
    names = [h.strip() for h in header]
    problems = []
    for column, name in enumerate(names, start=1):
        if name in allowed or name == "":
            continue
        parts = name.split("_")
        if len(parts) >= 2 and parts[0] == "step" and parts[1].isdigit() and (
            len(parts) == 2 or parts[2:] == ["note"]
        ):
            continue
        problems.append(Problem(
            name, f"(column {column}) is not a column of the event log; a misspelt column "
            "would silently drop evidence",
            line=1,
            allowed="case, on, type, happened, note, recorded_by, the claimant's facts ("
            + ", ".join(CSV_CLAIMANT_FIELDS) + "), the event fields ("
            + ", ".join(CSV_EVENT_FIELDS) + "), step_1, step_1_note, ...",
        ))
    for required in ("case", "type"):
        if required not in names:
            problems.append(Problem(required, "is a required column", line=1))
    if len(set(n for n in names if n)) != len([n for n in names if n]):
        problems.append(Problem("", "a column name appears twice in the header", line=1))
    if problems:
        raise InputError(str(path), problems)
    return names


def _row_into(block: _Block, names: list[str], row: list[str], line: int) -> None:
    if len(row) > len(names) and any(v.strip() for v in row[len(names):]):
        block.problems.append(Problem("", "the row has more cells than the header", line=line))
    event: dict[str, Any] = {}
    steps: dict[str, Any] = {}
    for name, cell in zip(names, row, strict=False):
        value = cell.strip()
        if not name or name == "case" or value == "":
            continue
        if name in CSV_CASE_FIELDS:
            block.fact(block.top, name, cell.strip(), line)
        elif name in CSV_CLAIMANT_FIELDS:
            fact = _csv_bool(value) if name in _TRI_CLAIMANT else value
            block.fact(block.claimant, name, fact, line)
        elif name.startswith("step_"):
            parts = name.split("_")
            number = parts[1]
            record = steps.setdefault(number, {})
            record["note" if len(parts) > 2 else "status"] = value if len(parts) == 2 else cell
        elif name == "happened" or name in YES_NO_FIELDS:
            event[name] = _csv_bool(value)
        elif name == "note":
            event["note"] = cell
        else:
            event[name] = value
    if steps:
        event["steps"] = {
            number: record if "note" in record else record.get("status", "unknown")
            for number, record in steps.items()
        }
    if "type" in event:
        block.events.append(event)
        block.event_lines.append(line)
    elif len(event) > 0:
        block.problems.append(Problem(
            "type", "is empty, but the row records an event; a row without a type may carry "
            "only the case's claimant facts", line=line,
        ))


def _block_item(seq: int, label: str, block: _Block) -> Item:
    data: dict[str, Any] = {"case": block.case, **block.top}
    if block.claimant:
        data["claimant"] = block.claimant
    data["events"] = block.events
    return Item(seq, "csv", label, block.case, data, line=block.line, size=block.size,
                event_lines=tuple(block.event_lines), fact_lines=dict(block.fact_lines),
                early_error=tuple(block.problems), fact_files=dict(block.fact_files))


@dataclass
class _Facts:
    """One row of the claimants file: a case's facts and where each is."""

    line: int
    top: dict[str, Any] = field(default_factory=dict)
    claimant: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Claimants:
    """The claimants file, read whole: its rows by case id, in file order."""

    label: str
    rows: dict[str, _Facts] = field(default_factory=dict)
    blank: list[_Facts] = field(default_factory=list)  # rows with no case id

    def unmatched(self) -> list[tuple[str, _Facts]]:
        """The rows no case of the event log took (and those with no case id), by line."""
        rest = [*self.rows.items(), *(("", facts) for facts in self.blank)]
        return sorted(rest, key=lambda pair: pair[1].line)


def _claimants_header(path: Path, header: list[str]) -> list[str]:
    allowed = set(CLAIMANTS_COLUMNS)
    event_log = set(CSV_CORE + CSV_EVENT_FIELDS)
    names = [h.strip() for h in header]
    problems = []
    for column, name in enumerate(names, start=1):
        if name in allowed or name == "":
            continue
        if name in event_log or name.startswith("step_"):
            message = (f"(column {column}) belongs in the event log, not the claimants file "
                       "(one row per case: the case id and the claimant's facts)")
        else:
            message = (f"(column {column}) is not a column of the claimants file; a misspelt "
                       "column would silently drop a fact")
        problems.append(Problem(name, message, line=1, allowed=", ".join(CLAIMANTS_COLUMNS)))
    if "case" not in names:
        problems.append(Problem(
            "case", "is a required column: it names the case each row's facts belong to",
            line=1, allowed=", ".join(CLAIMANTS_COLUMNS),
        ))
    first: dict[str, int] = {}
    for column, name in enumerate(names, start=1):
        if name and name in first:
            problems.append(Problem(
                name, f"(column {column}) appears twice in the header (first in column "
                f"{first[name]}); give each column once", line=1,
            ))
        first.setdefault(name, column)
    if problems:
        raise InputError(str(path), problems)
    return names


def _read_claimants(path: Path) -> _Claimants:
    """The claimants file, whole; an `InputError` (the batch stops) if it is unusable."""
    label = str(path)
    if not path.exists():
        raise InputError.single(label, "no such file", field="--claimants")
    if not path.is_file():
        raise InputError.single(label, "is not a regular file", field="--claimants")
    if path.suffix.lower() != ".csv":
        raise InputError.single(
            label, "is not a .csv file; save the claimants sheet as CSV UTF-8",
            field="--claimants",
        )
    claimants = _Claimants(label)
    with _open_text(path) as stream:
        reader = _reader(stream)
        names = _claimants_header(path, _header(reader, label, "the claimants file"))
        case_at = names.index("case")
        for line, row in _rows(reader, label):
            case = row[case_at].strip() if case_at < len(row) else ""
            facts = _claimants_row(label, names, row, line)
            if not case:
                facts.problems.append(Problem(
                    "case", "is empty; every row of the claimants file names its case",
                    line=line, file=label,
                ))
                claimants.blank.append(facts)
            elif case in claimants.rows:
                claimants.rows[case].problems.append(Problem(
                    "case", f"'{case}' has a row on line {claimants.rows[case].line} and again "
                    "here; give each case one row in the claimants file", line=line, file=label,
                ))
            else:
                claimants.rows[case] = facts
    return claimants


def _claimants_row(label: str, names: list[str], row: list[str], line: int) -> _Facts:
    facts = _Facts(line)
    if len(row) > len(names) and any(v.strip() for v in row[len(names):]):
        facts.problems.append(Problem("", "the row has more cells than the header", line=line,
                                      file=label))
    for name, cell in zip(names, row, strict=False):
        value = cell.strip()
        if not name or name == "case" or value == "":
            continue
        if name in CSV_CASE_FIELDS:
            facts.top[name] = value
        else:
            facts.claimant[name] = _csv_bool(value) if name in _TRI_CLAIMANT else value
        facts.lines[name] = line
    return facts


def _unmatched_item(seq: int, events: str, claimants: str, case: str, facts: _Facts) -> Item:
    problems = list(facts.problems)
    if case:
        problems.insert(0, Problem(
            "case", f"'{case}' has no events in {events}; check the case id against the "
            "event log (letter case matters). To audit a case with no events, give it a row "
            "there with only its case id", line=facts.line, file=claimants,
        ))
    data: dict[str, Any] = {"case": case} if case else {}
    return Item(seq, "csv", claimants, case or f"line-{facts.line}", data, line=facts.line,
                early_error=tuple(problems))


def _csv(path: Path, claimants: _Claimants | None = None) -> Iterator[Item]:
    label = str(path)
    with _open_text(path) as stream:
        reader = _reader(stream)
        names = _csv_header(path, _header(reader, label, "the event log"))
        case_at = names.index("case")
        seen: set[str] = set()  # case ids already closed: their rows must be together
        block: _Block | None = None
        seq = 0
        for line, row in _rows(reader, label):
            case = row[case_at].strip() if case_at < len(row) else ""
            if block is not None and case != block.case:
                yield _block_item(seq, label, block)
                seq += 1
                seen.add(block.case)
                block = None
            if block is None:
                block = _Block(case or f"line-{line}", line)
                if not case:
                    block.problems.append(Problem("case", "is empty; every row names its case",
                                                  line=line))
                elif case in seen:
                    block.problems.append(Problem(
                        "case", f"'{case}' has rows earlier in the file and again here; keep a "
                        "case's rows together (sort the sheet by the case column)", line=line,
                    ))
                elif claimants is not None and case in claimants.rows:
                    block.seed(claimants.rows.pop(case), claimants.label)
            block.size += sum(len(c) + 1 for c in row)
            _row_into(block, names, row, line)
        if block is not None:
            yield _block_item(seq, label, block)
            seq += 1
    if claimants is not None:
        for case, facts in claimants.unmatched():
            yield _unmatched_item(seq, label, claimants.label, case, facts)
            seq += 1


def csv_columns(steps: Iterable[int], step_notes: Iterable[int] = ()) -> list[str]:
    """The event log's header, in the order a person fills a row in.

    ``steps`` are the procedure's step numbers; ``step_notes`` those that get
    a ``step_N_note`` column.
    """
    numbers = sorted(steps)
    notes = set(step_notes)
    step_columns = []
    for number in numbers:
        step_columns.append(f"step_{number}")
        if number in notes:
            step_columns.append(f"step_{number}_note")
    return [
        "case", "on", "type", "happened", *CSV_EVENT_FIELDS[:3], *step_columns,
        *CSV_EVENT_FIELDS[3:], "note", *CSV_CASE_FIELDS, *CSV_CLAIMANT_FIELDS,
    ]


def _cell(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def case_rows(case: dict[str, Any], columns: list[str], name: str) -> list[list[str]]:
    """A case (plain data in the case-file schema) as rows of the event log.

    The claimant's facts and ``recorded_by`` go on the first row; a case
    with no events is one row with no type. A value with no column raises
    `ValueError` (it would be lost).
    """
    facts: dict[str, Any] = dict(case.get("claimant") or {})
    if case.get("recorded_by") is not None:
        facts["recorded_by"] = case["recorded_by"]
    events = case.get("events") or [{}]
    rows = []
    for number, event in enumerate(events):
        cells: dict[str, Any] = {"case": case.get("case") or name}
        if number == 0:
            cells |= facts
        for key, value in event.items():
            if key == "steps":
                for step, record in value.items():
                    if isinstance(record, dict):
                        cells[f"step_{step}"] = record.get("status", "unknown")
                        if record.get("note") is not None:
                            cells[f"step_{step}_note"] = record["note"]
                    else:
                        cells[f"step_{step}"] = record
            else:
                cells[key] = value
        lost = set(cells) - set(columns)
        if lost:
            raise ValueError(f"no column for {', '.join(sorted(lost))}")
        rows.append([_cell(cells.get(column)) for column in columns])
    return rows
