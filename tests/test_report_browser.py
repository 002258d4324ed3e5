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


# Every element with text, its colour against the background it is drawn on (the first
# opaque background up the tree, semi-transparent ones blended in), by the WCAG formula.
# axe leaves some of these "incomplete" (it cannot always tell the background), so they
# are measured here. SVG text is checked by its fixed colours in the next test.
CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(',').map(parseFloat);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (c, base) => ({r: c.r * c.a + base.r * (1 - c.a),
    g: c.g * c.a + base.g * (1 - c.a), b: c.b * c.a + base.b * (1 - c.a), a: 1});
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = {r: 255, g: 255, b: 255, a: 1};
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const low = [];
  let checked = 0;
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el) || el instanceof SVGElement) continue;
    seen.add(el);
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden') continue;
    const bg = background(el);
    const fg = over(parse(st.color), bg);
    const a = lum(fg), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    checked++;
    if (ratio < (large ? 3 : 4.5)) low.push([n.textContent.trim().slice(0, 40), ratio, st.color]);
  }
  return {checked, low};
}
"""


@pytest.mark.parametrize(("name", "as_of", "redact"), REPORTS)
def test_every_text_meets_wcag_aa_contrast(
    browser: Any, tmp_path: Path, name: str, as_of: date, redact: bool
) -> None:
    report = write_report(tmp_path, name, as_of, redact)
    page = browser.new_page(viewport={"width": A4_WIDTH, "height": 1123})
    try:
        page.goto(report.as_uri())
        result = page.evaluate(CONTRAST_JS)
    finally:
        page.close()
    assert result["checked"] > 100
    assert result["low"] == []


def _ratio(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_diagrams_text_colours_meet_wcag_aa() -> None:
    parts = (ROOT / "reports" / "parts.html.j2").read_text(encoding="utf-8")
    # The path diagram draws its text on two kinds of box: filled blue, and white.
    assert 'fill="#1f4e8c"' in parts and 'fill="#ffffff" stroke="#4a4a4a"' in parts
    for text, box in (("#ffffff", "#1f4e8c"), ("#1b1b1b", "#ffffff"), ("#4a4a4a", "#ffffff")):
        assert f'fill="{text}"' in parts
        assert _ratio(text, box) >= 4.5, (text, box)
