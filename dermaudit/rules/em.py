"""Evaluation and management (office 99202-99215) with procedures."""

from __future__ import annotations

import polars as pl

from ..features import DAY_KEY
from ..model import Confidence, Money, Severity
from .base import Context, emit, line_field, msg, rows_where, rule

NCCI_CH1_EM = (
    "NCCI Policy Manual ch. I (E/M with procedures) and ch. III (integumentary), as quoted by "
    "AAPC and McKesson; global days from the CMS PFS RVU file (rulesets/codes.csv)."
)


def _minor_procs(ctx: Context) -> pl.LazyFrame:
    """Per day: the rows and codes of 000/010-global procedures."""
    minor = line_field("global_days").is_in(["000", "010"])
    return ctx.days.filter(pl.col("has_minor")).select(
        *DAY_KEY,
        rows_where(minor).alias("proc_rows"),
        pl.col("lines")
        .list.eval(line_field("cpt").filter(line_field("global_days").is_in(["000", "010"])))
        .list.unique(maintain_order=True)
        .list.join(" ")
        .alias("proc_codes"),
    )


@rule(
    "EM-001",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="Office E/M on a minor-procedure day without modifier 25",
    flags="""
An office E/M (99202-99215) on the same day, for the same patient and rendering provider, as
a procedure with a 000 or 010 global period, when the E/M line carries neither modifier 25
nor 57.
""",
    why="""
The pre-procedure evaluation and the decision to perform a minor procedure are part of the
procedure's global package. A significant, separately identifiable E/M is payable only with
modifier 25; without it the E/M is denied (revenue lost if the visit was separate), and if a
payer pays it anyway the practice holds an overpayment.
""",
    example="99213 (no modifier) + 17000 x1 for an AK on the same day.",
    compliant=(
        "99213-25 + 17000 when the visit addressed a separate problem; otherwise bill only "
        "17000 (the E/M is included)."
    ),
    source=NCCI_CH1_EM,
    amount="2025 national non-facility fee of the E/M code (the line at risk of denial).",
    limits="""
Global days come from rulesets/codes.csv; procedures missing from that table are not seen
as minor procedures (import the CMS PFS RVU file for full coverage). E/M lines with 57
belong to EM-004.
""",
)
def em_001(ctx: Context) -> pl.LazyFrame:
    em = ctx.lines.filter(pl.col("is_em") & ~pl.col("m25") & ~pl.col("m57"))
    j = em.join(_minor_procs(ctx), on=DAY_KEY, how="inner")
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), pl.col("proc_rows")).list.unique(maintain_order=True),
        codes=msg(pl.col("cpt"), " + ", pl.col("proc_codes")),
        message=msg(
            pl.col("cpt"), " billed without modifier 25 on the same day as minor procedure(s) ",
            pl.col("proc_codes"),
        ),
        suggestion=msg(
            "append modifier 25 to ", pl.col("cpt"),
            " if the visit was significant and separately identifiable (documented); "
            "otherwise do not bill the E/M",
        ),
        amount=pl.col("fee"),
    )
