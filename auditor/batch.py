"""Batch mode: audit a whole caseload into OUTDIR, streaming, in parallel if asked.

``run_batch`` reads the caseload one case at a time (`auditor.caseload`),
audits each with one `Auditor` per process, and writes, in input order:

- ``audits.jsonl``: per case, one line holding exactly the JSON that
  ``whp-audit audit --format json`` gives for it, written compactly (no
  indentation, so that it is one line; parsed, it is equal);
- ``findings.csv``: one row per finding;
- ``errors.csv``: one row per problem of each case that was refused;
- ``index.html``: the caseload summary (`auditor.stats`);
- with ``reports``, ``reports/NNNNNN-CASE.html``, one HTML report per case.

Nothing is held but counters: the output goes to temporary files in OUTDIR,
renamed into place when the batch is complete, so a reader never sees half a
file. The output depends only on the input, the checklist and ``as_of``:
with any number of jobs, the bytes are the same.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, replace
from datetime import date
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

import jinja2

from auditor.audit import Audit, Auditor, RuleStatus
from auditor.case import is_personal, redact_case
from auditor.caseload import (
    Chunk,
    Item,
    chunk_items,
    chunk_size,
    input_kind,
    input_size,
    read_chunks,
)
from auditor.checklist import Procedure, load_procedure
from auditor.errors import InputError, Problem
from auditor.findings import Finding
from auditor.load import CaseloadParser
from auditor.output import write_atomic
from auditor.stats import CaseloadStats, Tally

FINDINGS_COLUMNS = (
    "case", "rule", "title", "kind", "evidence", "verification", "events",
    "source", "source_ref", "source_paragraph", "ground", "how_to_evidence",
)
ERRORS_COLUMNS = ("case", "file", "line", "field", "message", "allowed")
CHUNK = 128
"""Cases per task sent to a worker: large enough to make the hand-off cheap."""


class ReportsUnavailable(Exception):
    """``--reports`` was asked for but this installation has no per-case report renderer."""


@dataclass(frozen=True)
class BatchResult:
    audited: int
    rejected: int


@dataclass(frozen=True)
class _Done:
    """One audited case, ready to write."""

    seq: int
    jsonl: bytes
    findings_csv: bytes
    summary: tuple[int, str, tuple[str, ...], tuple[tuple[str, str, str], ...], str | None]
    """What `CaseloadStats.count` counts of the case."""


@dataclass(frozen=True)
class _Refused:
    """One refused case: its problems as rows of ``errors.csv``."""

    seq: int
    rows: tuple[tuple[str, ...], ...]


_STATUS = attrgetter("status")
_COUNTED = attrgetter("rule", "kind", "evidence")
"""What `CaseloadStats.count` counts of a rule's status and of a finding."""

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_PLAIN = json.JSONEncoder(ensure_ascii=False)


def compact_json(data: Any) -> str:
    """One audit as one JSONL line (no trailing newline)."""
    return _COMPACT.encode(data)


def report_name(seq: int, name: str) -> str:
    """The per-case report's file name: input position first, so that names never collide."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "case"
    return f"{seq + 1:06d}-{safe}.html"


def _csv_text(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _dumps(value: Any) -> str:
    return _PLAIN.encode(value)


def _csv_cells(values: Iterable[Any]) -> str:
    return _csv_text([values])[:-2]


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a ``'``.

    (OWASP's advice on CSV injection: case names and ``recorded_by`` come from
    the case file, and a cell such as ``=HYPERLINK(...)`` would run on opening.)
    """
    return "'" + text if text.startswith(_FORMULA) else text


def _cell(text: str) -> str:
    """One cell of a row of several, quoted as `csv.writer` quotes it (QUOTE_MINIMAL)."""
    text = safe_cell(text)
    if "," in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


_GROUND = "\x00ground\x00"
"""Stands in for the ground while a frame is serialised; no ground holds a NUL."""


class _Serializer:
    """An `Audit` as its JSONL line and its findings.csv rows, fast, in UTF-8.

    The line is byte for byte ``compact_json(audit.as_json())`` encoded (tests
    check it). It is assembled from encoded pieces cached per finding wording,
    since most findings of a caseload repeat word for word and differ only in
    their events, and, for wordings seen once (a ground with dates in it), from
    pieces cached per frame with only the ground to encode. Wordings and
    frames are the numbers in `Audit.wordings` and `Audit.frames`, so one
    serializer serves the audits of one `Auditor`. The caches are bounded as
    the auditor's are.
    """

    PATHS = 4096

    def __init__(self) -> None:
        self._findings: dict[int, tuple[bytes, bytes, bytes, bytes]] = {}
        self._frames: dict[int, tuple[bytes, bytes, bytes, bytes, bytes, bytes] | None] = {}
        self._steps: dict[tuple[str, str], bytes] = {}
        self._head: dict[tuple[str, str], bytes] = {}
        self._paths: dict[tuple[str, ...], bytes] = {}
        self._events: dict[tuple[int, ...], tuple[bytes, bytes]] = {}
        """A finding's events as JSON list items and as a findings.csv cell."""
        self._step_pieces: dict[int, bytes] = {}
        self._pinned: list[RuleStatus] = []

    def _frame(
        self, finding: Finding, frame: int
    ) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes] | None:
        """JSON before the events, between them and the ground, after it; the CSV cells
        before the events, between them and the ground, after it. None: no such pieces."""
        if frame in self._frames:
            return self._frames[frame]
        pieces = None
        text = compact_json(replace(finding, events=(), ground=_GROUND).as_json())
        head, rest = text.split('"events":[]', 1)
        if rest.count(compact_json(_GROUND)) == 1:
            between, after = rest.split(compact_json(_GROUND))
            source = finding.sources[0]
            cells = ",".join(_cell(c) for c in (finding.rule, finding.title, finding.kind,
                                                finding.evidence, finding.verification))
            pieces = (
                (head + '"events":[').encode("utf-8"), ("]" + between).encode("utf-8"),
                after.encode("utf-8"), cells.encode("utf-8"),
                ",".join(_cell(c) for c in (source.title, source.ref, source.paragraph or "")
                         ).encode("utf-8"),
                _cell(finding.how_to_evidence or "").encode("utf-8"),
            )
        if frame >= 0:
            self._frames[frame] = pieces
        return pieces

    def _finding(
        self, finding: Finding, wording: int, frame: int
    ) -> tuple[bytes, bytes, bytes, bytes]:
        """JSON before the events and after them; CSV cells before them and after them."""
        pieces = self._findings.get(wording) if wording >= 0 else None
        if pieces is None:
            framed = self._frame(finding, frame)
            if framed is None:  # a ground holding the stand-in: the slow, sure way
                text = compact_json(replace(finding, events=()).as_json())
                before, after = text.split('"events":[]', 1)
                source = finding.sources[0]
                pieces = (
                    (before + '"events":[').encode("utf-8"), ("]" + after).encode("utf-8"),
                    _csv_cells([safe_cell(c) for c in (finding.rule, finding.title, finding.kind,
                                                        finding.evidence, finding.verification)]
                               ).encode("utf-8"),
                    _csv_cells([safe_cell(c) for c in (source.title, source.ref,
                                                        source.paragraph or "", finding.ground,
                                                        finding.how_to_evidence or "")]
                               ).encode("utf-8"),
                )
            else:
                head, middle, tail, cells, cited, how = framed
                ground = finding.ground
                pieces = (
                    head, middle + compact_json(ground).encode("utf-8") + tail, cells,
                    b"%s,%s,%s" % (cited, _cell(ground).encode("utf-8"), how),
                )
            if wording >= 0:
                self._findings[wording] = pieces
        return pieces

    def _step(self, rule: str, status: str) -> bytes:
        piece = self._steps.get((rule, status))
        if piece is None:
            piece = self._steps[(rule, status)] = compact_json(
                {"rule": rule, "status": status}).encode("utf-8")
        return piece

    def _steps_json(self, steps: tuple[RuleStatus, ...]) -> bytes:
        try:
            # An `Auditor` shares one `RuleStatus` per rule and status, so its pieces are
            # found by identity, in one pass that runs in C.
            return b",".join(map(self._step_pieces.__getitem__, map(id, steps)))
        except KeyError:
            pass
        for status in steps:
            if id(status) not in self._step_pieces and len(self._step_pieces) < self.PATHS:
                self._step_pieces[id(status)] = self._step(status.rule, status.status)
                self._pinned.append(status)  # so that its id is never another object's
        return b",".join([self._step(s.rule, s.status) for s in steps])

    def _path(self, path: tuple[str, ...]) -> bytes:
        piece = self._paths.get(path)
        if piece is None:
            piece = compact_json(list(path)).encode("utf-8")
            if len(self._paths) < self.PATHS:
                self._paths[path] = piece
        return piece

    def line(self, audit: Audit) -> tuple[bytes, bytes]:
        """The JSONL line (no newline) and the findings.csv rows of one audit, in UTF-8."""
        head_key = (audit.procedure_id, audit.procedure_version)
        head = self._head.get(head_key)
        if head is None:
            head = self._head[head_key] = compact_json(
                {"id": audit.procedure_id, "version": audit.procedure_version}
            ).encode("utf-8")
        case_csv = _cell(audit.case).encode("utf-8")
        parts = [
            b'{"case":', _dumps(audit.case).encode("utf-8"), b',"procedure":', head,
            b',"as_of":"', audit.as_of.isoformat().encode("ascii"), b'","recorded_by":',
            _dumps(audit.recorded_by).encode("utf-8"), b',"steps":[',
            self._steps_json(audit.steps), b'],"findings":[',
        ]
        rows = []
        unknown = (-1,) * len(audit.findings)
        numbered = zip(audit.findings, audit.wordings or unknown, audit.frames or unknown,
                       strict=True)
        for number, (finding, wording, frame) in enumerate(numbered):
            before, after, cells, tail = self._finding(finding, wording, frame)
            listed = self._events.get(finding.events)
            if listed is None:
                events = ",".join(map(str, finding.events)).encode("ascii")
                listed = (events, events.replace(b",", b" "))
                if len(self._events) < self.PATHS:
                    self._events[finding.events] = listed
            if number:
                parts.append(b",")
            parts += (before, listed[0], after)
            rows.append(b"%s,%s,%s,%s\r\n" % (case_csv, cells, listed[1], tail))
        parts += (b'],"path":', self._path(audit.path))
        if audit.warnings:
            # The same optional key as Audit.as_json(), present only when there is a warning.
            parts += (b',"warnings":', compact_json(list(audit.warnings)).encode("utf-8"))
        parts.append(b"}")
        return b"".join(parts), b"".join(rows)


@dataclass(frozen=True)
class _Spilled:
    """Where a worker process wrote a chunk's three outputs: per output, its part file and
    the chunk's (offset, length) in it. The parent copies the ranges in input order."""

    paths: tuple[str, ...]
    ranges: tuple[tuple[int, int], ...]


_Output = tuple[bytes, bytes, bytes] | _Spilled
"""A chunk's audits.jsonl lines, findings.csv rows and errors.csv rows (UTF-8), or where
a worker process wrote them."""

_Chunk = tuple[_Output, Tally, list[tuple[tuple[str, ...], ...]]]
"""A chunk's outputs, the counts of its audited cases, and each refused case's error
rows, in input order."""


class _Worker:
    """What one process needs to audit items: built once per process."""

    def __init__(
        self, checklist: str | None, as_of: date, reports: str | None, redact: bool
    ) -> None:
        preloaded = _PRELOADED.get(checklist)
        # A forked worker inherits the procedure the parent loaded; reading the YAML again
        # would cost half a second per process.
        self.procedure = preloaded or load_procedure(Path(checklist) if checklist else None)
        self.auditor = Auditor(self.procedure)
        self.as_of = as_of
        self.steps = self.procedure.steps
        self.parser = CaseloadParser(as_of=as_of, steps=self.steps)
        self.reports = Path(reports) if reports else None
        self.redact = redact
        self.serializer = _Serializer()
        self.render: Callable[..., str] | None = _renderer() if reports else None

    def run(self, item: Item) -> _Done | _Refused:
        try:
            case, name, raw = item.load(as_of=self.as_of, steps=self.steps, parser=self.parser)
        except InputError as exc:
            return _refused(item, item.name_hint(), exc, redact=self.redact)
        except Exception as exc:  # one case must never stop the batch
            return _internal(item, exc)
        try:
            if self.redact:
                # Before auditing, as `audit --redact` does: then no output (audits.jsonl,
                # findings.csv, the report) can carry a personal field.
                case = redact_case(case)
            audit = self.auditor.audit(case, as_of=self.as_of, name=name)
            line, rows = self.serializer.line(audit)
            report = None
            if self.render is not None and self.reports is not None:
                import hashlib

                report = report_name(item.seq, audit.case)
                html = self.render(
                    audit, case, self.procedure, redact=self.redact,
                    case_digest=hashlib.sha256(raw).hexdigest(),
                )
                _write_report(self.reports / report, html)
        except Exception as exc:  # one case must never stop the batch
            return _internal(item, exc)
        summary = (item.seq, audit.case, tuple(map(_STATUS, audit.steps)),
                   tuple(map(_COUNTED, audit.findings)), report)
        return _Done(item.seq, line, rows, summary)

    def run_chunk(self, chunk: Chunk) -> _Chunk:
        """A chunk's output as a few large strings and small tuples: cheap to send back.

        (Sending a result object per case cost more to unpickle in the parent
        than the audit itself.)
        """
        lines: list[bytes] = []
        rows: list[bytes] = []
        refusals: list[str] = []
        refused: list[tuple[tuple[str, ...], ...]] = []
        stats = CaseloadStats(self.procedure)
        # A case's garbage is freed by reference counting, all but a little: the collector,
        # which would run every few cases, runs once a chunk instead (`settle_heap`).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for item in chunk_items(chunk):
                result = self.run(item)
                if isinstance(result, _Done):
                    lines.append(result.jsonl)
                    rows.append(result.findings_csv)
                    stats.count(*result.summary)
                else:
                    refusals.append(
                        _csv_text([[safe_cell(c) for c in row] for row in result.rows])
                    )
                    refused.append(result.rows)
        finally:
            if collecting:
                gc.enable()
        jsonl = b"\n".join(lines) + b"\n" if lines else b""
        settle_heap()
        # Bytes, made here in parallel: the parent only writes them.
        output = (jsonl, b"".join(rows), "".join(refusals).encode("utf-8"))
        return output, stats.tally(), refused


def _write_report(path: Path, html: str) -> None:
    """A per-case report, renamed into place so that a reader never sees half of one.

    Lighter than `write_atomic`: the name is the worker's own, so no unique
    temporary name is needed; the file is created as an ordinary one (the
    umask applies); and it is not flushed to disk one by one, which cost as
    much as rendering the report.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as stream:
            stream.write(html.encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def settle_heap() -> None:
    """Collect this chunk's garbage, then exempt what survived from later collections.

    What survives a chunk is long-lived: the procedure, the machine and the
    caches (bounded). Left to the collector, every full collection walks all of
    it again, which halved the speed of a batch; frozen, it is walked once.
    Collecting first means no garbage is frozen, so memory stays flat.
    """
    gc.collect()
    gc.freeze()


def _internal(item: Item, exc: Exception) -> _Refused:
    problem = f"internal error ({type(exc).__name__}: {exc}); please report it"
    row = (item.name_hint(), item.label, str(item.line or ""), "", problem, "")
    return _Refused(item.seq, (row,))


WITHHELD = ("withheld under --redact, as it may quote personal data; "
            "run without --redact to see it")
"""The message of a problem with a personal field, under ``--redact``."""


def _message(problem: Problem, redact: bool) -> str:
    """The problem's message; under ``redact``, without personal data: a personal field's
    message is its value-free wording or withheld, and any field's given text is replaced
    where the message quotes it (a name typed into the date column)."""
    if not redact:
        return problem.message
    if is_personal(problem.field):
        return problem.withheld or WITHHELD
    given = problem.given
    if given and given.strip() and given in problem.message:
        return problem.message.replace(given, "[withheld under --redact]")
    return problem.message


def _refused(item: Item, name: str, exc: InputError, *, redact: bool = False) -> _Refused:
    rows = tuple(
        (name, p.file or exc.file, str(p.line or ""), p.field,
         _message(p, redact), p.allowed or "")
        for p in exc.problems
    )
    return _Refused(item.seq, rows)


def _renderer() -> Callable[..., str]:
    try:
        from auditor import report  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise ReportsUnavailable(
            "--reports needs the per-case HTML report (auditor.report), which this "
            f"installation does not have ({exc})"
        ) from None
    render: Callable[..., str] = report.render_html
    return render


_PROCESS_WORKER: _Worker | None = None
_PRELOADED: dict[str | None, Procedure] = {}
_PARTS: list[IO[bytes]] = []
_PART_PREFIX: str | None = None


def _init_process(checklist: str | None, as_of: date, reports: str | None, redact: bool,
                  parts: str | None = None) -> None:
    global _PROCESS_WORKER, _PART_PREFIX
    # Ctrl-C is the parent's to handle (it stops the pool and removes its temporary files);
    # workers ignoring it keeps a traceback per worker off the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's SIGTERM handler (`_stop_as_ctrl_c`) is not a worker's: the parent stops
    # its workers with SIGTERM.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _PROCESS_WORKER = _Worker(checklist, as_of, reports, redact)
    _PART_PREFIX = parts
    settle_heap()


def _process_chunk(chunk: Chunk) -> _Chunk:
    """A chunk audited in a worker process, its output written to the process's part files:
    the audits are about 20 KB a case, and passing them through the parent cost it more
    than a core's share of the time."""
    assert _PROCESS_WORKER is not None
    output, tally, refused = _PROCESS_WORKER.run_chunk(chunk)
    if _PART_PREFIX is None or isinstance(output, _Spilled):
        return output, tally, refused
    if not _PARTS:
        for n in range(len(output)):
            _PARTS.append(open(f"{_PART_PREFIX}-{os.getpid()}-{n}", "wb"))  # noqa: SIM115
    ranges = []
    for stream, data in zip(_PARTS, output, strict=True):
        ranges.append((stream.tell(), len(data)))
        stream.write(data)
        stream.flush()  # the parent copies it from the file as soon as it hears of it
    return _Spilled(tuple(s.name for s in _PARTS), tuple(ranges)), tally, refused


def _results(
    chunks: Iterator[Chunk], jobs: int, args: tuple[str | None, date, str | None, bool],
    parts: str,
) -> Generator[tuple[Chunk, _Chunk], None, None]:
    """Each chunk with its results, in input order; at most a few chunks in flight.

    With more than one job, each worker process writes its output to part files
    named from ``parts``.
    """
    if jobs <= 1:
        worker = _Worker(*args)
        settle_heap()
        for chunk in chunks:
            yield chunk, worker.run_chunk(chunk)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # concurrent.futures rather than multiprocessing.Pool: the Pool's worker-handler
    # thread wakes whenever results wait in its pipe, and with large results it spun,
    # taking a core's worth of the parent's time from the workers.
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_process,
                               initargs=(*args, parts))
    try:
        # A bounded window of chunks in flight, collected in order: the caseload is never
        # queued whole, and the order is the input's.
        window: deque[tuple[Chunk, Future[_Chunk]]] = deque()
        for chunk in chunks:
            window.append((chunk, pool.submit(_process_chunk, chunk)))
            if len(window) >= jobs * 3:
                done, pending = window.popleft()
                yield done, pending.result()
        while window:
            done, pending = window.popleft()
            yield done, pending.result()
    except BaseException:
        # Stop the workers now, as Pool.terminate did (3.14 has terminate_workers()); taken
        # before shutdown, which forgets them.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
        raise
    pool.shutdown(wait=True)


class _StreamOut:
    """A file written in OUTDIR under a temporary name, renamed into place on `commit`."""

    def __init__(self, outdir: Path, name: str, header: str) -> None:
        self.target = outdir / name
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=outdir)
        self.temporary = Path(temporary)
        self.stream: IO[bytes] = os.fdopen(handle, "wb")
        self.stream.write(header.encode("utf-8"))
        self._sources: dict[str, int] = {}

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def splice(self, path: str, offset: int, length: int) -> None:
        """Append ``length`` bytes of the file at ``path`` from ``offset``, copied by the
        kernel where it can (the bytes never pass through this process)."""
        if not length:
            return
        self.stream.flush()
        source = self._sources.get(path)
        if source is None:
            source = self._sources[path] = os.open(path, os.O_RDONLY)
        target = self.stream.fileno()
        while length:
            try:
                copied = os.copy_file_range(source, target, length, offset)
            except (AttributeError, OSError):  # not on this system or file system
                copied = 0
            if not copied:
                data = os.pread(source, length, offset)
                if len(data) != length:
                    raise OSError(f"{path} ended {length - len(data)} bytes short")
                self.stream.write(data)
                self.stream.flush()
                return
            offset += copied
            length -= copied

    def _close_sources(self) -> None:
        for source in self._sources.values():
            os.close(source)
        self._sources.clear()

    def commit(self) -> None:
        self._close_sources()
        self.stream.close()
        _readable(self.temporary)
        os.replace(self.temporary, self.target)

    def discard(self) -> None:
        try:
            self._close_sources()
            # The error being cleaned up after may be the disk filling: the last flush can
            # fail too, and must not keep the temporary file or mask that error.
            with contextlib.suppress(OSError):
                self.stream.close()
        finally:
            self.temporary.unlink(missing_ok=True)


def _readable(path: Path) -> None:
    """Give an output the permissions of an ordinary new file (mkstemp makes it private)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def template_dir() -> Path:
    """Where the report templates are: beside the package in a checkout, inside it installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "reports", here.parent / "reports"):
        if (candidate / "caseload.html.j2").is_file():
            return candidate
    raise FileNotFoundError("the caseload template (reports/caseload.html.j2) is missing")


def render_index(stats: CaseloadStats, *, as_of: date, source: str,
                 errors: list[tuple[str, ...]], more_errors: int, reports: bool) -> str:
    """The caseload summary page: self-contained HTML, no script, no network."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda rate: f"{rate * 100:.1f}%"
    env.filters["width"] = lambda rate: f"{rate * 100:.2f}"
    context = stats.as_context()
    return env.get_template("caseload.html.j2").render(
        **context, as_of=as_of.isoformat(), source=source, errors=errors,
        more_errors=more_errors, reports=reports,
        css=(template_dir() / "caseload.css").read_text(encoding="utf-8"),
    )


ERRORS_SHOWN = 200
"""Refused cases' problems listed on index.html; all of them are in errors.csv."""


def run_batch(
    source: Path,
    outdir: Path,
    *,
    as_of: date,
    jobs: int = 1,
    reports: bool = False,
    redact: bool = False,
    checklist: Path | None = None,
    progress: bool | None = None,
    claimants: Path | None = None,
) -> BatchResult:
    """Audit every case of ``source`` into ``outdir``.

    Raises `InputError` when the input itself is unusable (nothing is
    written then), `ReportsUnavailable` when ``reports`` cannot be made. A
    case that cannot be audited is listed in ``errors.csv`` and counted in
    `BatchResult.rejected`; it never stops the batch.
    """
    procedure: Procedure = load_procedure(checklist)
    _PRELOADED.clear()
    _PRELOADED[str(checklist) if checklist else None] = procedure
    input_kind(source)
    if outdir.exists() and not outdir.is_dir():
        raise InputError.single(str(outdir), "is a file; -o names a folder for the outputs",
                                field="-o")
    if outdir.resolve() == source.resolve() or source.resolve() in outdir.resolve().parents:
        raise InputError.single(str(outdir), "is inside the input; choose another folder",
                                field="-o")
    if reports:
        _renderer()
    chunks = read_chunks(source, claimants, size=CHUNK)
    first = next(chunks, None)
    if first is None:
        raise InputError.single(str(source), "holds no cases")
    folder = outdir / "reports"
    if reports and (folder.is_symlink() or folder.exists()) and not folder.is_dir():
        raise InputError.single(
            str(folder), "is not a folder; --reports writes the per-case reports into "
            "OUTDIR/reports: move it away, or choose another -o", field="-o")
    created = not outdir.exists()
    outdir.mkdir(parents=True, exist_ok=True)
    # This run's reports are written to a hidden folder of its own inside reports/ (so on
    # the same file system, even where reports/ is a link to another) and put in place at
    # the end: reports/ then never mixes runs (an earlier run's unredacted reports among
    # redacted ones), and a failed or interrupted run leaves the last one's as they were.
    fresh = folder / f".run-{os.getpid()}-{secrets.token_hex(4)}"
    made_folder = reports and not folder.exists()
    if reports:
        folder.mkdir(exist_ok=True)
        fresh.mkdir()
    args = (
        str(checklist) if checklist else None, as_of,
        str(fresh) if reports else None, redact,
    )
    if progress is None:
        progress = sys.stderr.isatty()
    stats = CaseloadStats(procedure)
    errors: list[tuple[str, ...]] = []
    more_errors = 0
    outs = [
        _StreamOut(outdir, "audits.jsonl", ""),
        _StreamOut(outdir, "findings.csv", _csv_text([FINDINGS_COLUMNS])),
        _StreamOut(outdir, "errors.csv", _csv_text([ERRORS_COLUMNS])),
    ]
    # The worker processes' part files (jobs > 1): hidden, and named for this run alone.
    parts = str(outdir / f".part-{os.getpid()}-{secrets.token_hex(4)}")
    stop_as_ctrl_c = _stop_as_ctrl_c()
    failed = False
    try:
        with ExitStack() as stack:
            bar = _progress_bar(stack, source, progress)
            results = stack.enter_context(
                closing(_results(chain([first], chunks), jobs, args, parts))
            )
            for chunk, (output, tally, rejects) in results:
                if isinstance(output, _Spilled):
                    for out, path, (offset, length) in zip(
                        outs, output.paths, output.ranges, strict=True
                    ):
                        out.splice(path, offset, length)
                else:
                    for out, data in zip(outs, output, strict=True):
                        out.write(data)
                stats.absorb(tally)
                for case in rejects:
                    stats.reject()
                    for row in case:
                        if len(errors) < ERRORS_SHOWN:
                            errors.append(row)
                        else:
                            more_errors += 1
                bar(chunk_size(chunk))
        index = render_index(stats, as_of=as_of, source=source.name, errors=errors,
                             more_errors=more_errors, reports=reports)
        for out in outs:
            out.commit()
    except BaseException:
        for out in outs:
            out.discard()
        shutil.rmtree(fresh, ignore_errors=True)
        failed = True
        raise
    finally:
        # The workers have stopped (closing the results stops them): their part files,
        # and any report they were writing when stopped, can go.
        for part in outdir.glob(Path(parts).name + "-*"):
            part.unlink(missing_ok=True)
        if reports:
            for left in fresh.glob(".*.tmp"):
                left.unlink(missing_ok=True)
        if failed:
            # "Nothing is written": the folders this run made go too, once empty.
            for made in [*([folder] if made_folder else []), *([outdir] if created else [])]:
                with contextlib.suppress(OSError):
                    made.rmdir()
        stop_as_ctrl_c()
    _replace_reports(folder, fresh if reports else None)
    write_atomic(outdir / "index.html", index)
    _readable(outdir / "index.html")
    return BatchResult(stats.audited, stats.rejected)


REPORTS_LISTED = ".whp-audit-reports"
"""In reports/: the names of the reports the last run wrote there, one a line."""
_REPORT = re.compile(r"\d{6,}-[A-Za-z0-9._-]*\.html")
"""A name `report_name` gives: no folder in it, so a list edited by hand removes nothing
outside reports/."""
_UNLISTED_REPORT = re.compile(r"\d{6}-[A-Za-z0-9._-]*\.html")
"""A report of a run from before the list was kept (`report_name`, below a million cases)."""


def _replace_reports(folder: Path, fresh: Path | None) -> None:
    """Put this run's reports (in ``fresh``; None: it wrote none) in ``folder``, in place
    of the last run's. Only the last run's reports are removed (by its list, or by name
    where there is no list): anything else kept there stays.

    Each new report replaces its namesake in one rename, and the old ones go only after
    all the new are in: whenever this is stopped, every report there is whole, and the
    list names every report either run put there."""
    listed = folder / REPORTS_LISTED
    if not folder.is_dir():
        return
    if listed.is_file():
        old = {n for n in listed.read_text(encoding="utf-8").split() if _REPORT.fullmatch(n)}
    else:
        old = {p.name for p in folder.iterdir() if _UNLISTED_REPORT.fullmatch(p.name)}
    if fresh is None:
        for name in old:
            (folder / name).unlink(missing_ok=True)
        listed.unlink(missing_ok=True)
        if old:
            with contextlib.suppress(OSError):  # not empty: the user's own files are there
                folder.rmdir()
        return
    new = sorted(p.name for p in fresh.iterdir())
    _write_list(listed, old.union(new))
    try:
        for name in new:
            (fresh / name).rename(folder / name)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    for name in old.difference(new):
        (folder / name).unlink(missing_ok=True)
    fresh.rmdir()
    _write_list(listed, new)


def _write_list(listed: Path, names: Iterable[str]) -> None:
    write_atomic(listed, "".join(f"{name}\n" for name in sorted(names)))


def _stop_as_ctrl_c() -> Callable[[], None]:
    """Make SIGTERM (a job scheduler's or `timeout`'s stop) stop the batch as Ctrl-C does,
    removing its part files and unfinished reports; return what puts SIGTERM back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set a handler

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def _progress_bar(stack: ExitStack, source: Path, show: bool) -> Callable[[int], None]:
    if not show:
        return lambda _: None
    import click

    bar = stack.enter_context(
        click.progressbar(length=input_size(source), label="Auditing", file=sys.stderr,
                          show_percent=True, show_eta=True)
    )
    return bar.update
