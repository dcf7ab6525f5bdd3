"""Mohs micrographic surgery 17311-17315.

CPT site families: 17311/+17312 head, neck, hands, feet, genitalia (or any site with
deep-structure involvement); 17313/+17314 trunk, arms, legs; +17315 each block beyond 5.
Some marketing texts swap the families; CPT and the CMS RVU short descriptors do not.
"""

from __future__ import annotations

import polars as pl

from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, rows_of, rule


@rule(
    "MOHS-001",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Mohs add-on stage without its primary",
    codes=("17311", "17312", "17313", "17314", "17315"),
    flags="""
17312 without 17311, 17314 without 17313, or 17315 without any of 17311-17314, on the same
day for the same patient and rendering provider.
""",
    why="""
Add-on stages are payable only with the first-stage code of the same site family: 17312 with
17311 (head, neck, hands, feet, genitalia), 17314 with 17313 (trunk, arms, legs). An orphan
add-on is denied by the NCCI add-on code edit, and 17314 beside 17311 usually means the site
family was mixed up. Medicare's Supplemental Medical Review Contractor reviewed 17312/17314
claims (project 01-095).
""",
    example="17311 x1 + 17314 x2 (head-and-neck first stage with trunk add-on stages).",
    compliant="17311 x1 + 17312 x2 for a head-and-neck case; 17313 x1 + 17314 x2 for the trunk.",
    source=(
        "CPT Mohs code family (17311-17315) and CMS RVU file global 'ZZZ' for the add-ons; "
        "NCCI add-on code edits; Noridian SMRC project 01-095."
    ),
    amount="2025 national non-facility fee x units of the orphan add-on (denied if billed).",
    limits="Two cases at different sites on one day are judged together for the day.",
)
def mohs_001(ctx: Context) -> pl.LazyFrame:
    d = ctx.days
    u11, u12, u13, u14, u15 = (ctx.u(c) for c in ("17311", "17312", "17313", "17314", "17315"))
    a = emit(
        d.filter((u12 > 0) & (u11 == 0)),
        rows=rows_of("17312", "17313"),
        codes=msg("17312 x", u12),
        message=pl.when(u13 > 0)
        .then(msg("17312 (head/neck/hands/feet/genitalia add-on) billed with 17313 (trunk/limbs)"))
        .otherwise(msg("17312 billed without 17311 on the same day")),
        suggestion=pl.when(u13 > 0)
        .then(msg("use 17314 x", u12, " with 17313, or 17311 as the first stage if the site is "
                  "head/neck/hands/feet/genitalia"))
        .otherwise(msg("add the 17311 first stage, or remove 17312")),
        amount=u12 * ctx.fee("17312"),
    )
    b = emit(
        d.filter((u14 > 0) & (u13 == 0)),
        rows=rows_of("17314", "17311"),
        codes=msg("17314 x", u14),
        message=pl.when(u11 > 0)
        .then(msg("17314 (trunk/arms/legs add-on) billed with 17311 (head/neck/hands/feet/genitalia)"))
        .otherwise(msg("17314 billed without 17313 on the same day")),
        suggestion=pl.when(u11 > 0)
        .then(msg("use 17312 x", u14, " with 17311 for a head/neck/hands/feet/genitalia case"))
        .otherwise(msg("add the 17313 first stage, or remove 17314")),
        amount=u14 * ctx.fee("17314"),
    )
    c = emit(
        d.filter((u15 > 0) & (u11 + u12 + u13 + u14 == 0)),
        rows=rows_of("17315"),
        codes=msg("17315 x", u15),
        message=msg("17315 (extra tissue blocks) billed without any Mohs stage code"),
        suggestion=msg("bill 17315 only with the stage (17311-17314) whose blocks exceeded 5"),
        amount=u15 * ctx.fee("17315"),
    )
    return pl.concat([a, b, c])
