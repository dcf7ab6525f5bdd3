"""General and data-validity rules (GEN)."""

from __future__ import annotations

import polars as pl

from ..features import DAY_KEY
from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, rule

REPEAT_MODS = ["76", "77", "59", "XE", "XS", "XP", "XU"]


@rule(
    "GEN-005",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Exact duplicate charge lines",
    level="line",
    flags="""
Two or more lines with the same patient, date of service, rendering provider, code, modifiers
and units, none carrying 76/77/59/XE/XS/XP/XU, and no different anatomic site. Add-on codes
(which practices often split across lines) are not flagged.
""",
    why="""
A line entered twice is paid twice or denied as a duplicate (CARC 18). Either way it needs a
correction before the claim goes out.
""",
    example="11402 on two identical lines for one patient on one day, no modifiers, no site.",
    compliant=(
        "One line; if there really were two lesions, a distinct-procedure modifier (XS or 59) "
        "or anatomic modifiers on the second line, with the site documented."
    ),
    source="Standard claim-editing practice (duplicate-line edit); CARC 18 'exact duplicate'.",
    amount="The charge of every copy after the first (or the 2025 national fee x units).",
    limits="Confidence U: a duplicate can be two real lesions coded without a modifier.",
)
def gen_005(ctx: Context) -> pl.LazyFrame:
    key = [*DAY_KEY, "cpt", "mods_key", "units", "site"]
    lines = ctx.lines.filter(
        (pl.col("kind") != "addon").fill_null(True)
        & ~pl.col("mods").list.eval(pl.element().is_in(REPEAT_MODS)).list.any().fill_null(False)
    ).with_columns(pl.col("mods").list.sort().list.join(",").alias("mods_key"))
    groups = (
        lines.group_by(key)
        .agg(
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row").sort().alias("dup_rows"),
            pl.coalesce(pl.col("charge"), pl.col("fee") * pl.col("units")).alias("amt"),
            pl.len().alias("n"),
        )
        .filter(pl.col("n") > 1)
    )
    return emit(
        groups,
        rows=pl.col("dup_rows"),
        codes=msg(pl.col("cpt"), pl.when(pl.col("mods_key") != "").then(msg("-", pl.col("mods_key")))),
        message=msg(
            pl.col("cpt"), " appears on ", pl.col("n"),
            " identical lines (same patient, day, provider, modifiers and units)",
        ),
        suggestion=msg(
            "remove the duplicate line(s), or add XS/59 or anatomic modifiers if these were "
            "separate lesions"
        ),
        amount=pl.col("amt").list.slice(1).list.sum(),
    )
