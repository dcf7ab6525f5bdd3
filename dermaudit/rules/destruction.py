"""Destruction: premalignant 17000-17004, benign 17110/17111, vascular 17106-17108,
malignant 17260-17286."""

from __future__ import annotations

import polars as pl

from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, rows_of, rule

RAC_0121 = (
    "CMS Recovery Audit Contractor approved topic 0121, 'Excessive Units of Destruction of "
    "Premalignant Lesions' (17000 x1, 17003 x13, 17004 x1 per date of service); CPT "
    "integumentary guidelines for 17000-17004."
)


def _ak_suggestion(lesions: pl.Expr) -> pl.Expr:
    """What to bill for a count of premalignant lesions destroyed on one day."""
    return (
        pl.when(lesions >= 15)
        .then(msg("bill 17004 x1 (15 or more lesions) instead"))
        .when(lesions >= 2)
        .then(msg("bill 17000 x1 + 17003 x", lesions - 1, " instead"))
        .otherwise(msg("bill 17000 x1 instead"))
    )


@rule(
    "DEST-002",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.P,
    money=Money.OVER,
    title="Premalignant destruction over the per-day unit caps",
    codes=("17000", "17003", "17004"),
    flags="""
17000 billed more than once on one day for the same patient and rendering provider (as
units or as repeated lines), 17003 above 13 units, or 17004 above 1 unit.
""",
    why="""
17000 is the first lesion only; lesions 2-14 are 17003 (one unit each) and 15 or more are one
17004 for the whole session. Units above 1/13/1 per date of service are overpayments that
Medicare's Recovery Audit Contractors recover (RAC topic 0121).
""",
    example="17000 x3 on 2025-03-04 for one patient (3 actinic keratoses).",
    compliant="17000 x1 + 17003 x2 for 3 lesions; 17004 x1 alone for 15 or more.",
    source=RAC_0121,
    amount="""
2025 national non-facility amounts: (billed units of 17000/17003/17004 x fee) minus the
amount for the compliant combination for the same lesion count (lesions = 17000 units +
17003 units). For 17003 or 17004 over cap: the units over the cap x fee.
""",
    limits="""
The lesion count is inferred from units. Separate sessions on one day (modifier XE) are not
exempted: RAC 0121 caps are per date of service.
""",
)
def dest_002(ctx: Context) -> pl.LazyFrame:
    u0, u3, u4 = ctx.u("17000"), ctx.u("17003"), ctx.u("17004")
    f0, f3, f4 = ctx.fee("17000"), ctx.fee("17003"), ctx.fee("17004")
    d = ctx.days
    lesions = u0 + u3
    billed = u0 * f0 + u3 * f3
    correct = (
        pl.when(lesions >= 15).then(pl.lit(f4)).otherwise(f0 + (lesions - 1).clip(0, 13) * f3)
    )
    over_17000 = emit(
        d.filter(u0 > 1),
        rows=rows_of("17000"),
        codes=msg("17000 x", u0),
        message=msg(
            "17000 billed ", u0, " times on one day; it may be billed once per date of service "
            "(first lesion only)",
        ),
        suggestion=_ak_suggestion(lesions),
        amount=(billed - correct).clip(0),
    )
    over_17003 = emit(
        d.filter(u3 > 13),
        rows=rows_of("17003"),
        codes=msg("17003 x", u3),
        message=msg("17003 billed ", u3, " units on one day; the cap is 13 (lesions 2-14)"),
        suggestion=msg("bill 17004 x1 (15 or more lesions) instead of 17000 + 17003 x", u3),
        amount=(u3 - 13) * f3,
    )
    over_17004 = emit(
        d.filter(u4 > 1),
        rows=rows_of("17004"),
        codes=msg("17004 x", u4),
        message=msg(
            "17004 billed ", u4, " units on one day; it covers the whole session (15+ lesions)"
        ),
        suggestion=msg("bill 17004 x1"),
        amount=(u4 - 1) * f4,
    )
    return pl.concat([over_17000, over_17003, over_17004])
