"""The report in a real browser: headless Chromium, axe-core, no console errors (issue 3).

One browser launch for the whole module. Chromium is the Debian package
(`.ci/run` installs it); playwright drives it through ``executable_path``, so
``playwright install`` (a download) is never needed, and axe-core comes from
the axe-playwright-python wheel. The test skips only when Chromium is absent
outside CI; in CI (``CI`` set) its absence is a failure.

A full-page screenshot at A4 width (794 px) is written to
``$WHP_AUDIT_SCREENSHOTS`` when set (for a person to look at), else to the
test's temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import Auditor
from auditor.checklist import load_procedure
from auditor.load import case_name, load_case
from auditor.report import render_html

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                         else None)
A4_WIDTH = 794
REPORTS = [
    ("rushed-referral.yaml", date(2018, 7, 1), False),
    ("support-group.json", date(2019, 3, 1), True),
    ("by-the-book.yaml", date(2019, 6, 1), False),
]

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("CI must have Chromium: .ci/run installs the Debian package 'chromium'",
                    pytrace=False)
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def write_report(folder: Path, name: str, as_of: date, redact: bool) -> Path:
    procedure = load_procedure()
    path = ROOT / "examples" / name
    case = load_case(path, as_of=as_of, steps=procedure.steps)
    result = Auditor(procedure).audit(case, as_of=as_of, name=case_name(path, case))
    html = render_html(result, case, procedure, redact=redact,
                       case_digest=hashlib.sha256(path.read_bytes()).hexdigest())
    out = folder / f"{path.stem}.html"
    out.write_text(html, encoding="utf-8")
    return out


@pytest.mark.parametrize(("name", "as_of", "redact"), REPORTS)
def test_report_in_chromium_passes_axe(
    browser: Any, axe_source: str, tmp_path: Path, name: str, as_of: date, redact: bool
) -> None:
    report = write_report(tmp_path, name, as_of, redact)
    page = browser.new_page(viewport={"width": A4_WIDTH, "height": 1123})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(report.as_uri())
        shots = Path(os.environ.get("WHP_AUDIT_SCREENSHOTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{report.stem}-a4.png"), full_page=True)
        page.add_script_tag(content=axe_source)
        results = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
        )
        width = page.evaluate("() => document.documentElement.scrollWidth")
    finally:
        page.close()
    assert problems == [], problems
    assert requests == [report.as_uri()], "the report must load nothing but itself"
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad
    assert width <= A4_WIDTH, "nothing may overflow an A4-wide window"
