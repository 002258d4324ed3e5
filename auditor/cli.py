"""The ``whp-audit`` command line (spec §2).

Exit status: 0 audited (findings or not); 2 invalid input, with a message
naming the file, line, field and what is allowed; 1 anything else. No
traceback reaches the user. The clock is read once, as the default of
``--as-of``.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor import __version__
from auditor.audit import Auditor
from auditor.case import redact_case
from auditor.checklist import Procedure, default_checklist, load_procedure
from auditor.errors import ChecklistError, InputError
from auditor.load import case_name, load_case
from auditor.output import refuse_overwriting, to_json, write_atomic
from auditor.report import render_html, render_pdf

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INVALID = 2
EXIT_OTHER = 1


def _fail(message: str, status: int) -> None:
    click.echo(f"whp-audit: {message}", err=True)
    sys.exit(status)


def reports_errors(command: F) -> F:
    """Turn every failure into a message and the spec's exit status, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            _fail(str(exc), EXIT_INVALID)
        except ChecklistError as exc:
            _fail(str(exc), EXIT_OTHER)
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror}", EXIT_OTHER)
        except Exception as exc:
            _fail(f"internal error ({type(exc).__name__}: {exc}); please report it", EXIT_OTHER)

    return run  # type: ignore[return-value]


def _as_of(value: date | None) -> date:
    return value or date.today()


AS_OF = click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The audit date, YYYY-MM-DD (default: today). Deadlines not yet reached are pending.",
)
CHECKLIST = click.option(
    "--checklist",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A procedure file to audit against (default: the bundled WHP referral checklist).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="whp-audit")
def main() -> None:
    """Audit a Work and Health Programme referral against the procedure, with sources.

    Not legal advice.
    """


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the report (default: standard output; a PDF needs -o on a terminal).")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "pdf"]), default="html",
              show_default=True)
@AS_OF
@click.option("--redact", is_flag=True,
              help="Hide personal fields (name, NI number, notes, recorded_by): html, pdf and json.")
@CHECKLIST
@reports_errors
def audit(
    case: Path,
    output: Path | None,
    fmt: str,
    as_of: Any,
    redact: bool,
    checklist: Path | None,
) -> None:
    """Audit one CASE file (YAML or JSON) and write the report."""
    day = as_of.date() if as_of else _as_of(None)
    if output is not None:
        # Before any work: a report must never replace the evidence it is about.
        refuse_overwriting(output, case, checklist)
    procedure = load_procedure(checklist)
    loaded = load_case(case, as_of=day, steps=procedure.steps)
    name = case_name(case, loaded)
    if redact:  # before auditing, so no format can carry a personal field
        loaded = redact_case(loaded)
    result = Auditor(procedure).audit(loaded, as_of=day, name=name)
    if fmt == "json":
        text = to_json(result.as_json())
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomic(output, text)
        return
    if fmt == "pdf" and output is None and sys.stdout.isatty():
        _fail("--format pdf writes binary data: give -o REPORT.pdf", EXIT_INVALID)
    digest = hashlib.sha256(case.read_bytes()).hexdigest()
    html = render_html(result, loaded, procedure, redact=redact, case_digest=digest)
    content: str | bytes = render_pdf(html) if fmt == "pdf" else html
    if output is not None:
        write_atomic(output, content)
    elif isinstance(content, bytes):
        sys.stdout.buffer.write(content)
    else:
        click.echo(content, nl=False)


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@AS_OF
@CHECKLIST
@reports_errors
def validate(case: Path, as_of: Any, checklist: Path | None) -> None:
    """Check a CASE file without auditing it: prints "valid" or what is wrong (exit 2)."""
    day = as_of.date() if as_of else _as_of(None)
    procedure: Procedure = load_procedure(checklist)
    load_case(case, as_of=day, steps=procedure.steps)
    click.echo(f"{case}: valid")


@main.command("checklist")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the sheet (default: HTML to stdout).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default=None,
              help="html or pdf (default: pdf when -o ends .pdf, else html).")
@CHECKLIST
@reports_errors
def checklist_sheet(output: Path | None, fmt: str | None, checklist: Path | None) -> None:
    """Write the printable pre-meeting sheet, made from the checklist. Not legal advice."""
    from auditor.sheet import SheetError, write_sheet

    if output is not None:
        refuse_overwriting(output, checklist or default_checklist())
    try:
        html = write_sheet(load_procedure(checklist), output, fmt)
    except SheetError as exc:
        _fail(str(exc), EXIT_INVALID)
    if html is not None:
        click.echo(html, nl=False)


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("case.yaml"),
              show_default=True, help="The case file to write (YAML).")
@CHECKLIST
@reports_errors
def new(output: Path, checklist: Path | None) -> None:
    """Record a case by answering questions; writes a commented case file for `audit`."""
    from auditor.interview import Stopped, run_new, terminal

    def echo(text: str) -> None:
        click.echo(text, nl=False)

    # sys.stdin, not click.get_text_stream: the same object, but typed.
    ask, say = terminal(sys.stdin, echo)
    try:
        run_new(load_procedure(checklist), output, ask=ask, say=say, today=date.today())
    except Stopped as exc:
        _fail(str(exc), EXIT_OTHER)


EXIT_SOME_REJECTED = 3


@main.command()
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", type=click.Path(path_type=Path), required=True,
              help="The folder for audits.jsonl, findings.csv, errors.csv and index.html.")
@AS_OF
@click.option("--reports", is_flag=True, help="Also write one HTML report per case.")
@click.option("--redact", is_flag=True, help="Hide personal data (name, NI number, notes, recorded_by) in every output.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes to audit with; the output is the same for any number.")
@click.option("--claimants", type=click.Path(path_type=Path), default=None,
              help="With a .csv event log: a CSV of the claimants' facts, one row per case.")
@CHECKLIST
@reports_errors
def batch(
    source: Path,
    outdir: Path,
    as_of: Any,
    reports: bool,
    redact: bool,
    jobs: int,
    claimants: Path | None,
    checklist: Path | None,
) -> None:
    """Audit a caseload: a folder of case files, a .jsonl file or a .csv event log.

    With a .csv event log, --claimants gives the claimants' facts in a second
    CSV (one row per case) instead of in columns of the log.

    Exit status 0 when every case was audited, 3 when some were rejected (listed
    in OUTDIR/errors.csv and index.html), 2 when INPUT itself is unusable.
    """
    from auditor.batch import ReportsUnavailable, run_batch

    day = as_of.date() if as_of else _as_of(None)
    try:
        result = run_batch(source, outdir, as_of=day, jobs=jobs, reports=reports,
                           redact=redact, checklist=checklist, claimants=claimants)
    except ReportsUnavailable as exc:
        _fail(str(exc), EXIT_OTHER)
        return
    click.echo(
        f"{result.audited} audited, {result.rejected} rejected; see {outdir / 'index.html'}",
        err=True,
    )
    if result.rejected:
        sys.exit(EXIT_SOME_REJECTED)
