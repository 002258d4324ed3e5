"""Shared fixtures: the bundled procedure and one Auditor, built once for the whole run."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from auditor import cli
from auditor.audit import Audit, Auditor
from auditor.checklist import Procedure, load_procedure
from auditor.load import parse_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def procedure() -> Procedure:
    return load_procedure()


@pytest.fixture(scope="session")
def auditor(procedure: Procedure) -> Auditor:
    return Auditor(procedure)


class Result:
    """An audit indexed by rule, for short assertions."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit
        self.json = audit.as_json()
        self.statuses = {s["rule"]: s["status"] for s in self.json["steps"]}
        self.findings = {f["rule"]: f for f in self.json["findings"]}

    def status(self, rule: str) -> str:
        return self.statuses[rule]


@pytest.fixture(scope="session")
def run(auditor: Auditor, procedure: Procedure) -> Any:
    """``run(case_dict, as_of="YYYY-MM-DD")`` -> `Result`."""

    def audit(data: dict[str, Any], as_of: str = "2030-01-01") -> Result:
        day = date.fromisoformat(as_of)
        case = parse_case(
            data, file="<test>", locate=lambda loc: None, as_of=day, steps=procedure.steps
        )
        return Result(auditor.audit(case, as_of=day, name="test"))

    return audit


@pytest.fixture
def procedure_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the bundled procedure and its auditor once, not once per command run.

    Only the cost changes: the command's own reading, checking, error handling
    and output all run as they do for a user (the subprocess tests run it whole).
    """
    monkeypatch.setattr(cli, "load_procedure", _cached_procedure)
    monkeypatch.setattr(cli, "Auditor", _cached_auditor)


@functools.cache
def _cached_procedure(path: Path | None = None) -> Procedure:
    return load_procedure(path)


_AUDITORS: dict[int, Auditor] = {}


def _cached_auditor(procedure: Procedure) -> Auditor:
    # Keyed by identity: a procedure is not hashable, and the cached one is reused.
    if id(procedure) not in _AUDITORS:
        _AUDITORS[id(procedure)] = Auditor(procedure)
    return _AUDITORS[id(procedure)]
