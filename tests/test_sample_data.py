"""The bundled sample practice: every seeded error is found (checked from the seeding labels)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from .helpers import scan_paths

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return scan_paths([str(SAMPLE / "charges.csv")])


def _labels() -> pl.DataFrame:
    lab = pl.read_csv(SAMPLE / "seeded_errors.csv", infer_schema=False)
    return lab.with_columns(pl.col("rows").str.split(" ").cast(pl.List(pl.Int64)).alias("rows"))


def test_every_seeded_error_is_found(result) -> None:  # type: ignore[no-untyped-def]
    f = result.findings
    missed = []
    for rule, file, rows in _labels().iter_rows():
        hits = f.filter(
            (pl.col("rule") == rule)
            & (pl.col("file") == file)
            & pl.col("rows").list.eval(pl.element().is_in(rows)).list.any()
        )
        if hits.height == 0:
            missed.append(f"{rule} rows {rows}")
    assert not missed, f"{len(missed)} seeded error(s) not found: {missed}"


def test_sample_data_covers_every_rule_family(result) -> None:  # type: ignore[no-untyped-def]
    from dermaudit.rules.base import FAMILIES

    seeded = {r.split("-")[0] for r in _labels()["rule"].to_list()}
    rule_families = set(FAMILIES) - {"DQ", "PTP"}
    assert rule_families <= seeded, sorted(rule_families - seeded)


def test_csv_and_parquet_give_the_same_findings(result) -> None:  # type: ignore[no-untyped-def]
    pq = scan_paths([str(SAMPLE / "charges.parquet")])
    key = ["rule", "rows", "codes", "message"]
    a = result.findings.select(key).sort(key)
    b = (
        pq.findings.with_columns(
            pl.col("message").str.replace_all("charges.parquet", "charges.csv")
        )
        .select(key)
        .sort(key)
    )
    assert a.equals(b)


def test_two_scans_of_the_sample_give_identical_findings(result) -> None:  # type: ignore[no-untyped-def]
    again = scan_paths([str(SAMPLE / "charges.csv")])
    assert again.findings.equals(result.findings)
