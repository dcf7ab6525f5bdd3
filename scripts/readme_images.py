"""Make the README's pictures from the bundled sample: ``docs/report.png`` (the first screen
of the HTML report, headless Chromium) and ``docs/console.svg`` (the first 40 lines of the
console at 80 columns). Run from the repository root after a change to the report or the
console::

    python scripts/readme_images.py

Needs Chromium and chromedriver (Debian: ``apt-get install chromium chromium-driver``) and
selenium (the dev extra)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "charges.csv"
DOCS = ROOT / "docs"


def console_svg(lines: int = 40) -> None:
    env = {**os.environ, "COLUMNS": "80", "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    out = subprocess.run(
        [sys.executable, "-m", "dermaudit", "scan", str(SAMPLE), "--fail-on", "never"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    head = "\n".join(out.splitlines()[:lines])
    rec = Console(record=True, width=80, file=open(os.devnull, "w"))  # noqa: SIM115
    rec.print(Text.from_ansi(head))
    rec.save_svg(str(DOCS / "console.svg"), title="dermaudit scan sample_data/charges.csv")


def report_png() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "report.html"
        args = ["scan", str(SAMPLE), "--html", str(html), "--fail-on", "never", "-q"]
        args += ["--practice", "Sample Dermatology (synthetic)", "--period", "Mar-May 2025"]
        args += ["--report-kind", "pre-engagement"]
        subprocess.run(
            [sys.executable, "-m", "dermaudit", *args],
            check=True,
            capture_output=True,
        )
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={tmp}/profile")
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        try:
            d.set_window_size(1280, 1100)
            d.get(html.as_uri())
            (DOCS / "report.png").write_bytes(d.get_screenshot_as_png())
        finally:
            d.quit()


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    console_svg()
    report_png()
    print(f"wrote {DOCS / 'console.svg'} and {DOCS / 'report.png'}")
