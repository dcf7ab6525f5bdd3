"""Intralesional injections (11900/11901) and the injected drug's units.

11900 covers up to 7 lesions injected in a session and 11901 more than 7: one code, one unit,
per session. Both have a 000 global period, so an E/M on an injection-only visit is handled by
the E/M rules (INJ-003 is a cross-reference to EM-001/EM-002, not a rule of its own).
"""

from __future__ import annotations

import polars as pl

from ..features import DAY_ID
from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, rows_of, rule
from .destruction import doc_count

INJ = ("11900", "11901")

# Drug HCPCS codes checked by INJ-002: (milligrams per billing unit, plausible units per day).
# The ceilings are OUR plausibility limits (U), not MUE values: triamcinolone acetonide is
# typically 1-40 mg intralesionally and 40-80 mg intramuscularly per visit, so more than
# 8 units (80 mg) of J3301 on one day usually means milligrams were keyed as units.
DRUG_UNITS: dict[str, tuple[float, int]] = {"J3301": (10.0, 8)}


@rule(
    "INJ-001",
    scope=("injection",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="11900 with 11901, or intralesional injection above one unit",
    codes=INJ,
    out_of_scope="Two separate injection sessions on one day; the drug supplied (INJ-002, "
    "INJ-003); chemotherapy intralesional codes 96405/96406.",
    flags="""
11900 and 11901 on the same day for the same patient and rendering provider, or either code
above 1 unit (as units or repeated lines).
""",
    why="""
11900 (up to 7 lesions) and 11901 (more than 7) describe the whole injection session by lesion
count: one of them, once. Units per lesion, or both codes, pay the session more than once.
""",
    example="11900 x4 for four keloids injected at one visit.",
    compliant="11900 x1 for up to 7 lesions; 11901 x1 alone for more than 7.",
    source=(
        "CPT 2025 Professional Edition, 11900/11901 descriptors (intralesional injection by "
        "number of lesions per session: up to 7, more than 7); the wording was not verified "
        "verbatim (U)."
    ),
    amount="""
2025 national non-facility fees: billed 11900/11901 (fee x units) minus one unit of the
compliant code - 11901 when billed, when lesion_count is above 7, or when 11900 alone was
billed with more than 7 units (units read as lesions); otherwise 11900.
""",
    limits="""
Confidence U: the descriptor wording was not verified verbatim, so this is a review. Two
separate injection sessions on one day are not exempted.
""",
)
def inj_001(ctx: Context) -> pl.LazyFrame:
    u0, u1 = ctx.u("11900"), ctx.u("11901")
    f0, f1 = ctx.fee("11900"), ctx.fee("11901")
    d = ctx.days.filter(((u0 > 0) & (u1 > 0)) | (u0 > 1) | (u1 > 1)).join(
        doc_count(ctx, INJ), on=DAY_ID, how="left"
    )
    use_01 = (u1 > 0) | (pl.col("doc_n").fill_null(0) > 7) | ((u1 == 0) & (u0 > 7))
    billed_txt = (
        pl.concat_list(
            pl.when(u0 > 0).then(msg("11900 x", u0)), pl.when(u1 > 0).then(msg("11901 x", u1))
        )
        .list.drop_nulls()
        .list.join(" + ")
    )
    return emit(
        d,
        rows=rows_of(*INJ),
        codes=billed_txt,
        message=msg(
            billed_txt,
            " on one day; 11900 (up to 7 lesions) and 11901 (more than 7) are single session "
            "codes (one or the other, one unit)",
        ),
        suggestion=pl.when(use_01)
        .then(msg("bill 11901 x1 (more than 7 lesions) instead of ", billed_txt))
        .otherwise(msg("bill 11900 x1 (up to 7 lesions) instead of ", billed_txt)),
        amount=(u0 * f0 + u1 * f1 - pl.when(use_01).then(f1).otherwise(f0)).clip(0),
    )


@rule(
    "INJ-002",
    scope=("drug",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Injected drug units above a plausible dose",
    codes=tuple(DRUG_UNITS),
    out_of_scope="Drugs other than triamcinolone J3301; the payer's MUE for the drug unless the "
    "CMS MUE table is imported.",
    flags="""
A drug code billed per dose unit (J3301 triamcinolone acetonide, per 10 mg) with more units on
one day, for one patient and rendering provider, than a plausible dermatology dose: above 8
units (80 mg) of J3301.
""",
    why="""
Drug HCPCS codes are billed in the code's own unit (J3301 = 10 mg), not in milligrams or
millilitres. Keying 40 units for 40 mg bills ten times the dose given; payers recoup drug
units the record does not support.
""",
    example="J3301 x40 with 11900 for 40 mg of triamcinolone injected into keloids.",
    compliant="J3301 x4 (40 mg = 4 units of 10 mg) with 11900 x1.",
    source=(
        "CMS HCPCS Level II code set 2025, J3301 (triamcinolone acetonide, per 10 mg); CMS "
        "NCCI MUE practitioner table for the payer's own limit (import it with 'dermaudit "
        "refdata import'). The 80 mg review ceiling is dermaudit's plausibility bound from "
        "typical intralesional (1-40 mg) and intramuscular (40-80 mg) doses, not an MUE "
        "value."
    ),
    amount="""
The charge per unit x the units above the ceiling (null when the export has no charge; drugs
have no fee in the code table).
""",
    limits="""
Confidence U: the ceiling is dermaudit's plausibility bound, not the CMS MUE, and a large
intramuscular dose can be genuine - review only. Load the practitioner MUE table for the
payer's own limit.
""",
)
def inj_002(ctx: Context) -> pl.LazyFrame:
    frames: list[pl.LazyFrame] = []
    for code, (mg, cap) in DRUG_UNITS.items():
        u = ctx.u(code)
        charge = (
            pl.col("lines")
            .list.eval(
                pl.element().struct.field("charge").filter(pl.element().struct.field("cpt") == code)
            )
            .list.sum()
        )
        d = ctx.days.filter(u > cap)
        frames.append(
            emit(
                d,
                rows=rows_of(code),
                codes=msg(code, " x", u),
                message=msg(
                    code,
                    " billed ",
                    u,
                    " units on one day (",
                    (u * mg).cast(pl.Int64),
                    f" mg at {mg:g} mg per unit); more than {cap} units ({cap * mg:g} mg) is "
                    "unusual for a dermatology visit - milligrams may have been keyed as units",
                ),
                suggestion=msg(
                    "check the dose given and bill ",
                    code,
                    f" in {mg:g} mg units (e.g. 40 mg = {40 / mg:g} units)",
                ),
                amount=pl.when(charge > 0).then(charge / u * (u - cap)).otherwise(None),
            )
        )
    return pl.concat(frames)
