"""Shared fixtures: the bundled procedure and one Auditor, built once for the whole run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

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
