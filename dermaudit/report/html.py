"""HTML audit report (placeholder replaced by the full report module)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..engine import ScanResult


def write_html(
    result: ScanResult, dest: Path, findings: pl.DataFrame | None = None, redacted: bool = False
) -> None:
    raise NotImplementedError("the HTML report is not built yet")
