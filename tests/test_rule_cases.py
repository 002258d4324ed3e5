"""Rule semantics as readable cases: each file in tests/cases/ lists cases and what they must give.

A case entry has ``name``, ``as_of``, ``case`` (a case file's content) and
``expect`` (rule -> status). ``evidence`` (rule -> evidence), ``events``
(rule -> event indexes), ``ground`` and ``ground_not`` (rule -> text the
ground must, or must not, contain) are optional. Rules not named are not
checked, so each entry pins exactly the behaviour it is about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

CASES = Path(__file__).parent / "cases"


def _entries() -> list[Any]:
    yaml = YAML(typ="safe")
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        for entry in yaml.load(path.read_text(encoding="utf-8")):
            out.append(pytest.param(entry, id=f"{path.stem}: {entry['name']}"))
    return out


def _dates_as_text(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _dates_as_text(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_dates_as_text(v) for v in node]
    if hasattr(node, "isoformat"):
        return node.isoformat()
    return node


@pytest.mark.parametrize("entry", _entries())
def test_case(entry: dict[str, Any], run: Any) -> None:
    result = run(_dates_as_text(entry["case"]), as_of=str(entry.get("as_of", "2030-01-01")))
    for rule, status in entry["expect"].items():
        assert result.status(rule) == status, f"{rule}: {result.findings.get(rule)}"
        if status in ("done", "met", "not_applicable"):
            assert rule not in result.findings
        else:
            assert result.findings[rule]["kind"] == status
    for rule, evidence in entry.get("evidence", {}).items():
        assert result.findings[rule]["evidence"] == evidence
    for rule, events in entry.get("events", {}).items():
        assert result.findings[rule]["events"] == events
    for rule, words in entry.get("ground", {}).items():
        for text in [words] if isinstance(words, str) else words:
            assert text in result.findings[rule]["ground"], result.findings[rule]["ground"]
    for rule, words in entry.get("ground_not", {}).items():
        for text in [words] if isinstance(words, str) else words:
            assert text not in result.findings[rule]["ground"], result.findings[rule]["ground"]


def test_an_order_finding_carries_the_order_s_own_verification(run) -> None:
    result = run(
        {"events": [{"on": "2019-03-01", "type": "invite_letter"},
                    {"on": "2019-03-05", "type": "eligibility_check"}]}
    )
    assert result.findings["eligibility"]["verification"] == "forum"
    unevidenced = run({"events": []}).findings["eligibility"]
    assert unevidenced["verification"] == "verified"


def test_a_date_based_finding_cites_the_period_and_the_dated_event(run) -> None:
    result = run(
        {"claimant": {"benefit": "jsa", "mandatory": True},
         "events": [{"on": "2020-03-01", "type": "invite_letter"},
                    {"on": "2020-03-20", "type": "referral_letter"}]}
    )
    finding = result.findings["mandatory-basis"]
    assert finding["events"] == [1]
    refs = [s["ref"] for s in finding["sources"]]
    assert any("secondary source" in ref for ref in refs)
    assert {s["verification"] for s in finding["sources"]} == {"verified", "secondary"}
