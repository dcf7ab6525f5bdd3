"""A reproducible chart-review sample of encounters, stratified by rule and provider.

A pre-engagement assessment ends with "pull these charts": for every (rule x rendering
provider) stratum that has findings, up to ``per_stratum`` encounters are drawn. The draw is
seeded and stable:

* the order inside a stratum is the SHA-256 of ``seed|rule|provider|date|first row``, so the
  same findings and seed give the same sample on any machine and Python/Polars version;
* the key uses neither patient, claim nor file names, so a redacted run (``--redact``) draws
  exactly the same encounters as an unredacted one;
* an encounter drawn for several strata appears once, with every stratum that drew it.

Provider-level findings (no patient or date) are not chart-reviewable and are left out, and
so, unless asked for, are data-quality rows (``DQ-*``) and ``info`` findings (guards and
context, not problems).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import polars as pl

ENCOUNTER = ["patient_id", "dos", "provider"]
SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "patient": pl.String(),
    "dos": pl.Date(),
    "provider": pl.String(),
    "claim": pl.String(),
    "rules": pl.List(pl.String()),
    "rows": pl.List(pl.Int64()),
    "file": pl.String(),
    "drawn_for": pl.List(pl.String()),
    "amount": pl.Float64(),
}


def _reviewable(
    findings: pl.DataFrame, rules: Sequence[str] | None, include_dq: bool, include_info: bool
) -> pl.DataFrame:
    f = findings.filter(
        pl.col("patient_id").is_not_null()
        & pl.col("dos").is_not_null()
        & pl.col("provider").is_not_null()
    )
    if not include_dq:
        f = f.filter(~pl.col("rule").str.starts_with("DQ"))
    if not include_info:
        f = f.filter(pl.col("severity") != "info")
    if rules:
        pats = [r.upper().strip() for r in rules]
        cond = pl.lit(False)
        for p in pats:
            cond = (
                cond | (pl.col("rule") == p) | pl.col("rule").str.starts_with(p.rstrip("-") + "-")
            )
        f = f.filter(cond)
    return f


def _encounters(f: pl.DataFrame) -> pl.DataFrame:
    return (
        f.group_by(ENCOUNTER)
        .agg(
            pl.col("file").drop_nulls().min().alias("file"),
            pl.col("claim_id").drop_nulls().sort().first().alias("claim"),
            pl.col("rule").unique().sort().alias("rules"),
            pl.col("rows")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("rows"),
            pl.col("amount").sum().round(2).alias("amount"),
        )
        .with_columns(pl.col("rows").list.first().fill_null(0).alias("_first_row"))
    )


def _rank(keys: list[str]) -> list[str]:
    return [hashlib.sha256(k.encode("utf-8")).hexdigest() for k in keys]


def draw_sample(
    findings: pl.DataFrame,
    *,
    per_stratum: int = 2,
    seed: int = 0,
    rules: Sequence[str] | None = None,
    include_dq: bool = False,
    include_info: bool = False,
) -> pl.DataFrame:
    """Draw up to ``per_stratum`` encounters per (rule x provider) stratum.

    Returns one row per sampled encounter with columns ``patient, dos, provider, claim,
    rules, rows`` (plus ``file``, ``drawn_for`` - the strata that drew it - and ``amount``,
    the dollars of all its findings), sorted by provider, date, file and first row.
    ``rules`` limits the strata to rule ids or family prefixes (e.g. ``["EM", "MOHS-001"]``);
    ``include_dq`` / ``include_info`` bring data-quality rows / info findings back in.
    The patient and claim columns are whatever the findings hold: pass redacted findings to
    get hashed identifiers (the draw itself does not change).
    """
    if per_stratum < 1:
        raise ValueError("per_stratum must be at least 1")
    f = _reviewable(findings, rules, include_dq, include_info)
    if f.height == 0:
        return pl.DataFrame(schema=SAMPLE_SCHEMA)
    enc = _encounters(f)
    pairs = (
        f.select("rule", *ENCOUNTER)
        .unique()
        .join(enc.select(*ENCOUNTER, "file", "_first_row"), on=ENCOUNTER, how="left")
    )
    keys = pl.concat_str(
        [
            pl.lit(str(seed)),
            pl.col("rule"),
            pl.col("provider"),
            pl.col("dos").cast(pl.String),
            pl.col("_first_row").cast(pl.String),
        ],
        separator="|",
    )
    key_list = pairs.select(keys.alias("k"))["k"].to_list()
    pairs = pairs.with_columns(pl.Series("_rank", _rank(key_list), dtype=pl.String))
    chosen = (
        pairs.sort(["rule", "provider", "_rank"])
        .group_by(["rule", "provider"], maintain_order=True)
        .head(per_stratum)
    )
    drawn = chosen.group_by(ENCOUNTER).agg(pl.col("rule").unique().sort().alias("drawn_for"))
    out = (
        enc.join(drawn, on=ENCOUNTER, how="inner")
        .sort(["provider", "dos", "file", "_first_row"], nulls_last=True)
        .select(
            pl.col("patient_id").alias("patient"),
            "dos",
            "provider",
            "claim",
            "rules",
            "rows",
            "file",
            "drawn_for",
            "amount",
        )
    )
    return out.cast(SAMPLE_SCHEMA)  # type: ignore[arg-type]


def stratum_counts(
    findings: pl.DataFrame,
    sample: pl.DataFrame,
    *,
    rules: Sequence[str] | None = None,
    include_dq: bool = False,
    include_info: bool = False,
) -> pl.DataFrame:
    """Per (rule, provider): encounters with findings and encounters drawn for the stratum."""
    f = _reviewable(findings, rules, include_dq, include_info)
    pop = f.group_by("rule", "provider").agg(pl.struct(ENCOUNTER).n_unique().alias("encounters"))
    drawn = (
        sample.select("provider", pl.col("drawn_for").alias("rule"))
        .explode("rule")
        .group_by("rule", "provider")
        .agg(pl.len().alias("drawn"))
    )
    return (
        pop.join(drawn, on=["rule", "provider"], how="left")
        .with_columns(
            pl.col("drawn").fill_null(0).cast(pl.Int64), pl.col("encounters").cast(pl.Int64)
        )
        .sort("rule", "provider")
    )


def flatten_for_csv(sample: pl.DataFrame) -> pl.DataFrame:
    """List columns joined with spaces, for CSV output of ``dermaudit sample``."""
    return sample.with_columns(
        pl.col("rules").list.join(" "),
        pl.col("drawn_for").list.join(" "),
        pl.col("rows").cast(pl.List(pl.String)).list.join(" "),
    )
