"""JSON Schemas for the case file and the audit, generated from the models.

``python -m auditor.schema`` writes ``schemas/case.schema.json`` and
``schemas/audit.schema.json``; ``python -m auditor.schema --check`` exits 1 if
the committed files differ from what the models generate now (the test suite
runs the same comparison).

The case schema is generated from `auditor.case.Case`: the validators that
widen a type (``unknown`` for a yes/no fact, a bare word for a step, dates as
``YYYY-MM-DD`` text) are described as what they accept, and the rules the
model checks in code (which fields each event type may carry, ``on`` required
unless ``happened: false``, ``esa_group`` only with ``benefit: esa``, the step
numbers of the bundled procedure) are added as JSON Schema conditions generated
from the same tables. An editor with a YAML language server then checks a case
file as it is typed; the auditor itself still validates with the model, whose
messages say more. What a widening validator accepts is written out in
`_CaseSchema`, so a change to one must be mirrored there: the drift check cannot
see it, but the tests that validate generated and hand-written cases against
both the model and the schema can.

The audit schema is generated from `AuditJson`, TypedDicts that mirror
`auditor.audit.Audit.as_json` key for key; tests validate real audits against
the committed file, so the mirror cannot drift from the output unnoticed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, Literal, NotRequired, get_args

from pydantic import ConfigDict, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from auditor.case import (
    EVENT_FIELDS,
    EVENT_TYPES,
    FIRST_YEAR,
    LAST_YEAR,
    Case,
    StepRecord,
    StepStatus,
    _parse_date,
    _unknown_is_none,
)
from auditor.checklist import Kind, Verification, load_procedure
from auditor.output import write_atomic

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
CASE_SCHEMA = "case.schema.json"
AUDIT_SCHEMA = "audit.schema.json"

Status = Literal[
    "done", "met", "missed", "unevidenced", "out_of_order", "late", "pending",
    "ineligible", "content", "not_applicable",
]
"""A rule's status in ``steps`` (spec §3); a test keeps it equal to `auditor.evaluate.STATUSES`."""

Evidence = Literal["statement", "dates", "none"]

_FORBID = ConfigDict(extra="forbid")


class ProcedureJson(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    id: str
    version: str


class StepJson(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    rule: str
    status: Status


class SourceJson(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    title: str
    ref: str
    paragraph: NotRequired[str]
    verification: Verification


class FindingJson(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    rule: str
    kind: Kind
    evidence: Evidence
    events: list[int]
    source: SourceJson
    verification: Verification
    ground: str
    title: str
    sources: list[SourceJson]
    how_to_evidence: str | None


class AuditJson(TypedDict):
    """`Audit.as_json()`, key for key (spec §3 and its extensions)."""

    __pydantic_config__ = _FORBID  # type: ignore[misc]
    case: str
    procedure: ProcedureJson
    as_of: date
    recorded_by: str | None
    steps: list[StepJson]
    findings: list[FindingJson]
    path: list[str]
    warnings: NotRequired[list[str]]


def _year_pattern() -> str:
    """``YYYY-MM-DD`` with the year limited to the case model's range (whole centuries)."""
    if FIRST_YEAR % 100 or (LAST_YEAR + 1) % 100:
        raise ValueError("the year range must be whole centuries to be a simple pattern")
    centuries = "|".join(str(c) for c in range(FIRST_YEAR // 100, (LAST_YEAR + 1) // 100))
    return rf"^({centuries})\d{{2}}-\d{{2}}-\d{{2}}$"


class _CaseSchema(GenerateJsonSchema):
    """Describes the case model's widening validators as what they accept."""

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        function = schema["function"]["function"]
        if function is _unknown_is_none:
            return {
                "enum": [True, False, "unknown", None],
                "description": "true, false, or unknown (unknown is never read as either)",
            }
        if function is _parse_date:
            return {
                "type": "string",
                "format": "date",
                "pattern": _year_pattern(),
                "description": f"a date as YYYY-MM-DD, e.g. 2018-05-01, in the years "
                f"{FIRST_YEAR} to {LAST_YEAR}",
            }
        if getattr(function, "__self__", None) is StepRecord:
            # StepRecord's before-validator: a bare status word, true/false/null, or the
            # mapping, whose status may also be true or false.
            mapping = self.generate_inner(schema["schema"])
            mapping["properties"]["status"] = {
                "enum": [*get_args(StepStatus), True, False],
                "default": "unknown",
            }
            return {"anyOf": [{"enum": [*get_args(StepStatus), True, False, None]}, mapping]}
        return super().function_before_schema(schema)


def _event_conditions() -> list[dict[str, Any]]:
    """The rules `Event` checks in code, as JSON Schema conditions from the same tables."""
    base = ["on", "type", "note", "happened"]
    conditions: list[dict[str, Any]] = [
        {
            "if": {"properties": {"happened": {"const": False}}, "required": ["happened"]},
            "then": {"propertyNames": {"enum": base}},
            "else": {"required": ["on"]},
        }
    ]
    for event_type, fields in EVENT_FIELDS.items():
        conditions.append(
            {
                "if": {"properties": {"type": {"const": event_type}}, "required": ["type"]},
                "then": {"propertyNames": {"enum": [*base, *fields]}},
            }
        )
    return conditions


def case_schema() -> dict[str, Any]:
    """The JSON Schema of a case file, for editors and outside checks."""
    steps = load_procedure().steps
    schema = Case.model_json_schema(schema_generator=_CaseSchema)
    defs = schema["$defs"]
    event = defs["Event"]
    event["properties"]["type"] = {
        "enum": list(EVENT_TYPES),
        "description": "the kind of event (spec §1, event types)",
    }
    event["properties"]["steps"]["propertyNames"] = {
        "enum": [str(n) for n in sorted(steps)],
        "description": f"a step number, {min(steps)} to {max(steps)}",
    }
    event["allOf"] = _event_conditions()
    step = defs["StepRecord"]
    # additionalProperties applies beside "properties", which sit in the mapping branch.
    step["anyOf"][1]["additionalProperties"] = step.pop("additionalProperties")
    claimant = defs["Claimant"]
    claimant["properties"]["nino"]["anyOf"][0]["pattern"] = (
        r"^\s*[A-Za-z]\s*[A-Za-z](\s*[0-9]){6}\s*[A-Da-d]\s*$"
    )
    claimant["allOf"] = [
        {
            "if": {"properties": {"esa_group": {"type": "string"}}, "required": ["esa_group"]},
            "then": {"properties": {"benefit": {"const": "esa"}}, "required": ["benefit"]},
        }
    ]
    return {**schema, "$schema": DRAFT, "title": "whp-audit case file"}


def audit_schema() -> dict[str, Any]:
    """The JSON Schema of `Audit.as_json()` (the ``--format json`` output)."""
    schema = TypeAdapter(AuditJson).json_schema()
    return {**schema, "$schema": DRAFT, "title": "whp-audit audit (--format json)"}


def rendered() -> dict[str, str]:
    """Each schema file's name and its text, exactly as committed."""
    return {
        CASE_SCHEMA: json.dumps(case_schema(), indent=2, ensure_ascii=False) + "\n",
        AUDIT_SCHEMA: json.dumps(audit_schema(), indent=2, ensure_ascii=False) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    """Write the schema files, or with ``--check`` report whether they have drifted."""
    parser = argparse.ArgumentParser(prog="python -m auditor.schema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="where the schemas live")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = args.dir / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            write_atomic(path, text)
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run python -m auditor.schema", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
