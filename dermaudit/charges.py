"""Billed charges of findings: the practice's own prices on each finding's lines.

Kept apart from ``report/`` so the partitioned engines (``partition``, ``cluster``) can take
these figures while a partition's lines are in memory without importing the report."""

from __future__ import annotations

import polars as pl


def finding_charges(findings: pl.DataFrame, lines: pl.DataFrame) -> pl.Series | None:
    """Billed charges on each finding's lines (the practice's own prices), or None when the
    lines are not at hand (a partitioned scan keeps no lines; it carries these figures in
    ``ScanResult.finding_charges``) or carry no charge column. A provider-level or
    practice-wide finding (no patient) describes a pattern and lists example rows: it gets
    no billed charge (null), as the examples are not the dollars at risk."""
    if lines.height == 0 or not {"_file", "_row", "charge"} <= set(lines.columns):
        return None
    if findings.height == 0:
        return pl.Series("charge", [], dtype=pl.Float64)
    cells = (
        findings.select(pl.int_range(pl.len()).alias("_fid"), "file", "rows", "patient_id")
        .filter(pl.col("patient_id").is_not_null())
        .drop("patient_id")
        .explode("rows")
        .drop_nulls("rows")
        .unique()
    )
    # an inner join (Polars hashes the smaller side, the findings' rows, and streams the
    # lines past it); a finding none of whose rows is found gets no group and so a null below
    priced = lines.select(
        pl.col("_file").alias("file"), pl.col("_row").alias("rows"), "charge"
    ).join(cells, on=["file", "rows"], how="inner")
    per = priced.group_by("_fid").agg(
        pl.col("charge").sum().alias("charge"), pl.col("charge").is_null().all().alias("_none")
    )
    out = (
        pl.DataFrame({"_fid": pl.int_range(findings.height, eager=True)})
        .join(per, on="_fid", how="left")
        .sort("_fid")
        .select(
            pl.when(pl.col("_none").fill_null(True))
            .then(None)
            .otherwise(pl.col("charge").round(2))
            .alias("charge")
        )
    )
    return out.to_series()
