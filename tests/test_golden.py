"""Golden output: every finding of the bundled sample, all rules selected, field by field.

The engine can be rewritten for speed (issue #13) without changing a finding; this file is
what proves it. When a rule change is meant to change findings, regenerate the file with
``python tests/test_golden.py`` and review the diff of ``tests/data/golden/sample_all.csv``
line by line before committing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

if __package__:
    from .helpers import scan_paths
else:  # run as a script to regenerate
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.helpers import scan_paths

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "charges.csv"
GOLDEN = Path(__file__).parent / "data" / "golden" / "sample_all.csv"


def flat(findings: pl.DataFrame) -> pl.DataFrame:
    """Findings as text columns, in the engine's order (rows space-separated, cents)."""
    return findings.select(
        pl.all().exclude("rows", "dos", "amount").cast(pl.String),
        pl.col("rows").cast(pl.List(pl.String)).list.join(" "),
        pl.col("dos").dt.strftime("%Y-%m-%d"),
        pl.col("amount").round(2).map_elements(lambda v: f"{v:.2f}", return_dtype=pl.String),
    )


def current() -> pl.DataFrame:
    return flat(scan_paths([str(SAMPLE)], select=["ALL"]).findings)


def test_sample_findings_equal_the_golden_file() -> None:
    golden = pl.read_csv(GOLDEN, infer_schema=False).select(current().columns)
    now = current()
    assert now.height == golden.height, f"{now.height} findings, golden file has {golden.height}"
    gone = golden.join(now, on=golden.columns, how="anti", nulls_equal=True)
    new = now.join(golden, on=golden.columns, how="anti", nulls_equal=True)
    assert gone.height == 0 and new.height == 0, f"missing:\n{gone}\nnew:\n{new}"
    assert now.equals(golden), "same findings, different order"


if __name__ == "__main__":
    current().write_csv(GOLDEN)
    print(f"wrote {GOLDEN}")
