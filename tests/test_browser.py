"""The HTML report in a real headless Chromium with JavaScript on.

Renders the sample-data report (``sample_data/charges.csv``; a synthetic export when that
file does not exist) through the CLI, opens it in Debian's Chromium driven by Selenium and
chromedriver (both local: no driver download, no network), and checks that:

* the page loads with no console error and makes no network request;
* the findings filter works (select a rule, a provider, a URL-hash filter, reset, sort);
* in print layout no table is wider than the page (nothing is cut off);
* a screenshot is saved to ``artifacts/report.png`` (and the print PDF to
  ``artifacts/report.pdf``) for people to look at.

Skipped, with the reason, only when Chromium or chromedriver is not installed
(``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .report_data import write_synthetic

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
SAMPLE = ROOT / "sample_data" / "charges.csv"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,1600",
]


def _find(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n) or next(
            (str(c) for c in (Path("/usr/bin") / n, Path("/usr/lib/chromium") / n) if c.exists()),
            None,
        )
        if p:
            return p
    return None


CHROMIUM = _find("chromium", "chromium-browser")
CHROMEDRIVER = _find("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium/chromedriver not installed (apt-get install chromium chromium-driver); "
    "the browser test of the HTML report needs them",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("browser")
    src = SAMPLE if SAMPLE.exists() else write_synthetic(tmp / "charges.csv", 300, seed=3)
    out = tmp / "report.html"
    t0 = time.perf_counter()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "dermaudit",
            "scan",
            str(src),
            "--html",
            str(out),
            "--fail-on",
            "never",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    print(f"\nreport from {src.name}: {out.stat().st_size:,} bytes, scan + render {seconds:.1f}s")
    return {"path": out, "source": src, "seconds": seconds}


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="dermaudit-chromium-")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _save(target: Path, data: bytes) -> None:
    """Write an artifact atomically (another test run may be writing the same file)."""
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def _open(driver: Any, report: dict[str, Any], fragment: str = "") -> None:
    driver.get("about:blank")
    driver.get(report["path"].as_uri() + fragment)
    for _ in range(100):
        if driver.execute_script("return !!window.dermauditReport"):
            return
        time.sleep(0.05)
    raise AssertionError("report script did not initialise")


def _visible(driver: Any) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = driver.execute_script(
        """return Array.from(document.querySelectorAll('#findings-table tbody tr'))
             .filter(tr => !tr.hidden)
             .map(tr => ({rule: tr.dataset.rule, provider: tr.dataset.provider,
                          severity: tr.dataset.severity, amount: tr.dataset.amount}));"""
    )
    return rows


def _summary(driver: Any) -> dict[str, Any]:
    text = driver.execute_script("return document.getElementById('report-data').textContent")
    data: dict[str, Any] = json.loads(text)
    return data


def test_loads_without_console_errors_or_network(driver: Any, report: dict[str, Any]) -> None:
    _open(driver, report)
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not errors, errors
    requests = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if url.split(":", 1)[0].lower() in ("http", "https", "ws", "wss", "ftp"):
                requests.append(url)
    assert not requests, f"the report made network requests: {requests[:5]}"
    assert driver.execute_script("return document.documentElement.className") == "js"
    assert driver.find_element("id", "findings-controls").is_displayed()


def test_filters_select_and_reset(driver: Any, report: dict[str, Any]) -> None:
    from selenium.webdriver.support.ui import Select

    _open(driver, report)
    data = _summary(driver)
    rows_in_page = data["report"]["table_rows"]
    capped = rows_in_page < data["report"]["findings_total"]
    assert len(_visible(driver)) == rows_in_page
    by_rule = [r for r in data["summary"]["by_rule"] if r["count"] < rows_in_page]
    assert by_rule, "need a rule that is not every finding"
    rule = by_rule[0]
    Select(driver.find_element("id", "f-rule")).select_by_value(rule["rule"])
    shown = _visible(driver)
    assert shown and all(r["rule"] == rule["rule"] for r in shown)
    if not capped:
        assert len(shown) == rule["count"]
    count_text = driver.find_element("id", "findings-count").text
    assert f"Showing {len(shown):,} of" in count_text
    assert "rule=" + rule["rule"] in driver.execute_script("return location.hash")

    provider = shown[0]["provider"]
    Select(driver.find_element("id", "f-provider")).select_by_value(provider)
    both = _visible(driver)
    assert both and all(r["rule"] == rule["rule"] and r["provider"] == provider for r in both)

    driver.find_element("id", "f-reset").click()
    assert len(_visible(driver)) == rows_in_page


def test_sort_by_amount(driver: Any, report: dict[str, Any]) -> None:
    _open(driver, report)

    def amounts() -> list[float]:
        return [float(r["amount"]) if r["amount"] else -1.0 for r in _visible(driver)]

    first = amounts()
    assert first == sorted(first, reverse=True)
    btn = driver.find_element("css selector", "button.sort[data-sort='amount']")
    driver.execute_script("arguments[0].click()", btn)
    assert amounts() == sorted(first)
    assert btn.get_attribute("aria-sort") == "ascending"


def test_url_hash_filter(driver: Any, report: dict[str, Any]) -> None:
    _open(driver, report)
    sev = next(s for s, v in _summary(driver)["summary"]["by_severity"].items() if v["count"])
    _open(driver, report, f"#filter?severity={sev}")
    shown = _visible(driver)
    assert shown and all(r["severity"] == sev for r in shown)
    assert driver.find_element("id", "f-severity").get_attribute("value") == sev


def test_rule_link_filters_the_table(driver: Any, report: dict[str, Any]) -> None:
    _open(driver, report)
    link = driver.find_element("css selector", "a[data-set-filter^='rule=']")
    rule = link.get_attribute("data-set-filter").split("=", 1)[1]
    driver.execute_script("arguments[0].click()", link)
    shown = _visible(driver)
    assert shown and all(r["rule"] == rule for r in shown)


PRINT_PAGE_LIMIT = 25  # issue #17: the sample's printed report fits 25 Letter pages


def test_print_layout_cuts_no_table(driver: Any, report: dict[str, Any]) -> None:
    """Printed (Letter, the report's @page margins): no table, chart or tile row is wider than
    the printable width, no table cell's content is cut, and the sample prints on at most
    PRINT_PAGE_LIMIT pages."""
    _open(driver, report)
    # the printable width: 8.5 in minus the 11 mm side margins of @page, at 96 dpi
    driver.set_window_size(816 - round(22 / 25.4 * 96), 1056)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        overflow = driver.execute_script(
            """const w = document.documentElement.clientWidth + 1;
               const wide = Array.from(document.querySelectorAll(
                   'table, svg.chart, .kpis, .money-tiles, ol.refs, pre'))
                 .filter(el => el.offsetParent !== null && el.getBoundingClientRect().right > w)
                 .map(el => el.id || el.className.baseVal || el.className || el.tagName);
               const cut = Array.from(document.querySelectorAll('td, th'))
                 .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
                 .map(el => el.textContent.slice(0, 40));
               return wide.concat(cut);"""
        )
        assert not overflow, f"wider than the printed page or cut off: {overflow}"
        pdf = driver.execute_cdp_cmd(
            "Page.printToPDF",
            {"printBackground": True, "preferCSSPageSize": True},
        )
        data = base64.b64decode(pdf["data"])
        _save(ARTIFACTS / "report.pdf", data)
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
        print(f"\nprinted report: {pages} pages")
        if report["source"] == SAMPLE:
            assert 1 < pages <= PRINT_PAGE_LIMIT, pages
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        driver.set_window_size(1280, 1600)


def test_screenshot(driver: Any, report: dict[str, Any]) -> None:
    _open(driver, report)
    driver.set_window_size(1280, 1600)
    driver.execute_script("window.scrollTo(0, 0)")
    png = driver.get_screenshot_as_png()
    assert len(png) > 20_000
    _save(ARTIFACTS / "report.png", png)
