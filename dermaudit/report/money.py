"""Dollars that add up: each charge line's dollars are counted once across overlapping findings.

Two findings *overlap* when they name the same data row of the same file (``file`` and one of
``rows``) and their dollars run the same way (both over, both under, or either one "either"):
an overbilled destruction line and an E/M at risk of denial for a missing modifier on the same
day are different dollars, and both are counted. Rules look at a line from different angles,
so overlapping findings often describe the same dollars twice (a biopsy finding and a modifier
finding on one line; an excision finding and a global-period finding; two destruction findings
with different advice). The findings frame is kept as it is - every finding keeps its own
``amount`` - and ``annotate`` adds two columns that decide which dollars the totals count:

* ``counted`` - the finding's amount is in the de-duplicated totals;
* ``covered_by`` - the rule id of the finding whose dollars are counted for the line(s) this
  finding shares with it (null when the finding is counted, or carries no dollars at risk).

Precedence (documented in the report's method section): among overlapping findings with
dollars at risk, the one counted is the one with

1. the higher severity (compliance > denial > revenue > review),
2. then the higher confidence (P primary source > S secondary > U unverified),
3. then the larger amount,
4. then the lower rule id, file name and first row (a stable tie-break).

The selection is the greedy one in that order: a finding is counted unless a finding of
higher precedence that is itself counted shares a line with it. A chain A-B-C (A overlaps B,
B overlaps C, A and C share nothing) counts A and C. The counted finding's ``suggestion`` is
the one recommended billing for the shared lines; the covered findings' advice is shown as
"also flagged by ...". Its dollars go to its own money direction, so overbilling exposure
and revenue left uncollected stay apart and are never netted.

Only findings with dollars at risk take part: money direction over, under or either, and an
amount above zero. Provider-level and practice-wide findings (no patient) describe a pattern,
not a line; they never cover a line finding and are counted on their own. Data-quality rows
(``DQ-*``) carry no dollars.

Basis: a finding's ``amount`` is the rule's estimate on the 2025 Medicare national
non-facility amount of the codes involved (CMS Physician Fee Schedule relative value file,
CY2025, conversion factor $32.3465). ``finding_charges`` adds the billed-charge view: the
practice's own charges on the finding's lines, when the export has a charge column.

Vectorised: the overlap pairs come from one self-join of the exploded rows; the greedy choice
runs as rounds over all findings at once (each round settles every finding whose undecided
neighbours all rank below it), so the number of rounds is the length of the longest chain of
overlaps, not the number of findings.
"""

from __future__ import annotations

import polars as pl

from ..charges import finding_charges
from ..model import SEVERITY_ORDER

__all__ = ["annotate", "finding_charges", "totals"]

AT_RISK_DIRECTIONS = ("over", "under", "either")
CONFIDENCE_RANK = {"P": 0, "S": 1, "U": 2}
ANNOTATION_COLUMNS = ("counted", "covered_by")


def _at_risk() -> pl.Expr:
    return (
        pl.col("money").is_in(list(AT_RISK_DIRECTIONS))
        & (pl.col("amount").fill_null(0.0) > 0)
        & ~pl.col("rule").str.starts_with("DQ")
    )


def _precedence(df: pl.DataFrame) -> pl.DataFrame:
    """``prec``: 0 for the finding that wins every overlap it is part of, then 1, 2, ..."""
    sev_rank = {str(s): i for i, s in enumerate(reversed(SEVERITY_ORDER))}
    return (
        df.with_columns(
            pl.col("severity").replace_strict(sev_rank, default=99).alias("_sev"),
            pl.col("confidence").replace_strict(CONFIDENCE_RANK, default=9).alias("_conf"),
            pl.col("rows").list.first().fill_null(0).alias("_first"),
        )
        .sort(
            ["_sev", "_conf", "amount", "rule", "file", "_first", "_fid"],
            descending=[False, False, True, False, False, False, False],
            nulls_last=True,
        )
        .with_row_index("prec")
        .drop("_sev", "_conf", "_first")
    )


def annotate(findings: pl.DataFrame) -> pl.DataFrame:
    """``findings`` with ``counted`` (bool) and ``covered_by`` (rule id or null) added.

    Row order and every existing column are unchanged. Deterministic: the same findings give
    the same annotation whatever their order, and redaction (hashed patient and claim ids)
    does not change it."""
    base = findings.drop([c for c in ANNOTATION_COLUMNS if c in findings.columns])
    if base.height == 0:
        return base.with_columns(
            pl.lit(None, pl.Boolean).alias("counted"), pl.lit(None, pl.String).alias("covered_by")
        )
    df = base.with_row_index("_fid").with_columns(_at_risk().alias("_risk"))
    line_level = pl.col("_risk") & pl.col("patient_id").is_not_null()
    part = _precedence(
        df.filter(line_level & (pl.col("rows").list.len().fill_null(0) > 0)).select(
            "_fid", "rule", "severity", "confidence", "amount", "money", "file", "rows"
        )
    )
    covered = _greedy(part)
    out = (
        df.join(covered, on="_fid", how="left")
        .with_columns(
            (pl.col("_risk") & pl.col("covered_by").is_null()).alias("counted"),
        )
        .sort("_fid")
        .select(*base.columns, "counted", "covered_by")
    )
    return out


def _greedy(part: pl.DataFrame) -> pl.DataFrame:
    """For the line-level findings with dollars: ``_fid`` -> ``covered_by`` (rule id), only
    for the findings that are covered."""
    empty = pl.DataFrame(schema={"_fid": pl.UInt32, "covered_by": pl.String})
    if part.height < 2:
        return empty
    cells = part.select("_fid", "prec", "money", "file", pl.col("rows").alias("row")).explode("row")
    same_dollars = (pl.col("money") == pl.col("money_o")) | (
        (pl.col("money") == "either") | (pl.col("money_o") == "either")
    )
    edges = (
        cells.join(cells, on=["file", "row"], suffix="_o")
        .filter((pl.col("_fid") != pl.col("_fid_o")) & same_dollars)
        .select("prec", pl.col("prec_o"))
        .unique()
    )
    if edges.height == 0:
        return empty
    state = part.select("prec", pl.lit(None, pl.Boolean).alias("counted"))
    cover: list[pl.DataFrame] = []
    for _ in range(part.height):  # rounds, bounded by the longest chain of overlaps
        undecided = state.filter(pl.col("counted").is_null()).select("prec")
        if undecided.height == 0:
            break
        live = edges.join(undecided, on="prec").join(
            undecided.rename({"prec": "prec_o"}), on="prec_o"
        )
        blocked = live.filter(pl.col("prec_o") < pl.col("prec")).select("prec").unique()
        winners = undecided.join(blocked, on="prec", how="anti")
        losers = (
            edges.join(winners.rename({"prec": "prec_o"}), on="prec_o")
            .join(undecided, on="prec")
            .join(winners, on="prec", how="anti")
            .group_by("prec")
            .agg(pl.col("prec_o").min().alias("by"))
        )
        cover.append(losers)
        state = state.with_columns(
            pl.when(pl.col("prec").is_in(winners["prec"].implode()))
            .then(pl.lit(True))
            .when(pl.col("prec").is_in(losers["prec"].implode()))
            .then(pl.lit(False))
            .otherwise(pl.col("counted"))
            .alias("counted")
        )
    if not cover:
        return empty
    by = pl.concat(cover)
    rules = part.select("prec", "_fid", "rule")
    return (
        by.join(rules.select("prec", "_fid"), on="prec")
        .join(rules.select(pl.col("prec").alias("by"), pl.col("rule").alias("covered_by")), on="by")
        .select(pl.col("_fid").cast(pl.UInt32), "covered_by")
    )


def totals(annotated: pl.DataFrame, value: str = "amount") -> dict[str, float]:
    """De-duplicated dollars by direction: ``{"over": .., "under": .., "either": ..}``."""
    f = annotated.filter(pl.col("counted").fill_null(False))
    return {
        m: round(float(f.filter(pl.col("money") == m)[value].sum() or 0.0), 2)
        for m in AT_RISK_DIRECTIONS
    }
