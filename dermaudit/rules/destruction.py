"""Destruction: premalignant 17000-17004, benign 17110/17111, vascular 17106-17108,
malignant 17260-17286.

Dates. Since 2007-01-01 the 17000 family is for premalignant lesions only and benign lesions
go to 17110/17111, so the diagnosis-versus-family rules (DEST-004/005) only run for dates of
service from 2007-01-01. Every diagnosis rule also needs ICD-10-CM diagnoses (dates of
service from 2015-10-01): the groups in rulesets/icd10_groups.csv are ICD-10 prefixes, and an
ICD-9 era line would otherwise look as if it had no supporting diagnosis.

Diagnoses. Exports either point each line at its own diagnoses or repeat the claim's list on
every line. A rule that says a code *lacks* its diagnosis looks at every diagnosis of the
encounter (same patient, date and rendering provider), so a supporting code anywhere on the
encounter clears it. A rule that says the *only* lesion diagnosis is X requires that of both
the flagged lines and the whole encounter.

Guard DEST-011 (INFO, not a rule): destruction of actinic keratoses is covered by Medicare
without lesion or patient restrictions (NCD 250.4, effective 2001-11-26). No rule here treats
AK destruction as non-covered or cosmetic: DEST-013 (wart coverage) only looks at 17110/17111
sessions whose only lesion diagnosis is a common/plantar wart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from ..features import DAY_ID
from ..model import Confidence, Money, Severity
from .base import (
    ICD10_START,
    MALIGNANT_GROUPS,
    Context,
    any_prefix,
    emit,
    has_dx,
    line_field,
    msg,
    one_of,
    rows_of,
    rule,
    site_partners,
)

RAC_0121 = (
    "CMS Recovery Audit Contractor approved topic 0121, 'Excessive Units of Destruction of "
    "Premalignant Lesions' (17000 x1, 17003 x13, 17004 x1 per date of service); CPT 2025 "
    "Professional Edition, destruction guidelines for 17000-17004."
)
FAMILY_2007 = (
    "CPT 2007 destruction revision (17000-17004 premalignant only; benign lesions to "
    "17110/17111; current in CPT 2025 Professional Edition); secondary: For The Record (Jan "
    "2007), AAPC (2007)"
)

D2007 = date(2007, 1, 1)

PM = ("17000", "17003", "17004")
BENIGN_SESSION = ("17110", "17111")
MALIGNANT_DEST = (
    "17260", "17261", "17262", "17263", "17264", "17266",
    "17270", "17271", "17272", "17273", "17274", "17276",
    "17280", "17281", "17282", "17283", "17284", "17286",
)  # fmt: skip

BENIGN_GROUPS = (
    "WARTS",
    "SEB_K",
    "BENIGN_NEVUS",
    "BENIGN_NEOPLASM_SKIN",
    "PYOGENIC_GRANULOMA",
    "CYSTS",
    "PIGMENT_COSMETIC",
    "SKIN_TAG",
)
VASCULAR_GROUPS = ("HEMANGIOMA", "VASCULAR_COSMETIC")
UNCERTAIN_GROUPS = ("UNCERTAIN_BEHAVIOR", "UNSPECIFIED_BEHAVIOR")
# Any diagnosis that could be "the lesion treated": skin chapter (L), neoplasms (C, D00-D49),
# viral warts/molluscum (B07, B08), condyloma (A63), non-neoplastic vascular nevi (I78),
# congenital skin malformations (Q82). Used by the "only lesion diagnosis is X" tests so that
# an unlisted benign lesion diagnosis clears the finding instead of causing it.
LESION_PREFIXES = ("L", "C", "D0", "D1", "D2", "D3", "D4", "B07", "B08", "A63", "I78", "Q82")
COMMON_WART = ("B07",)  # common/plantar/other viral warts; condyloma and molluscum excluded

SITE_GROUP_TEXT = {
    "A": "trunk/arms/legs",
    "B": "scalp/neck/hands/feet/genitalia",
    "C": "face/ears/eyelids/nose/lips/mucous membrane",
}


# ---- shared helpers (also used by mohs.py) ------------------------------------------


def dx_of(codes: Sequence[str], fallback: str = "dx") -> pl.Expr:
    """Day frame: the diagnoses on the lines with these codes; the encounter's when none."""
    own = (
        pl.col("lines")
        .list.eval(
            pl.element()
            .filter(line_field("cpt").is_in(list(codes)))
            .struct.field("dx")
            .list.explode(keep_nulls=False, empty_as_null=False)
        )
        .list.unique(maintain_order=True)
    )
    return pl.when(own.list.len() > 0).then(own).otherwise(pl.col(fallback))


def only_lesion(col: str, target: Sequence[str]) -> pl.Expr:
    """Every lesion-type diagnosis in ``col`` is in ``target``, and there is at least one."""
    # each diagnosis: 0 not a lesion (or null), 1 a target lesion, 2 another lesion; the
    # largest is 1 exactly when the test holds (one element-wise pass over the list)
    kind = (
        pl.when(any_prefix(LESION_PREFIXES))
        .then(pl.when(any_prefix(target)).then(1).otherwise(2))
        .otherwise(0)
    )
    return (pl.col(col).list.eval(kind).list.max() == 1).fill_null(False)


def dx_text(col: str) -> pl.Expr:
    return pl.col(col).list.join(" ")


def ak_fee(ctx: Context, lesions: pl.Expr) -> pl.Expr:
    """2025 fee of the compliant premalignant billing for a lesion count (0 -> $0)."""
    f0, f3, f4 = ctx.fee("17000"), ctx.fee("17003"), ctx.fee("17004")
    return (
        pl.when(lesions <= 0)
        .then(pl.lit(0.0))
        .when(lesions >= 15)
        .then(pl.lit(f4))
        .otherwise(f0 + (lesions - 1) * f3)
    )


def line_fee_sum(codes: Sequence[str]) -> pl.Expr:
    """Day frame: sum of 2025 fee x units over the lines with these codes."""
    return (
        pl.col("lines")
        .list.eval(
            (line_field("fee").fill_null(0.0) * line_field("units")).filter(
                line_field("cpt").is_in(list(codes))
            )
        )
        .list.sum()
        .fill_null(0.0)
    )


def doc_count(ctx: Context, codes: Sequence[str], name: str = "doc_n") -> pl.LazyFrame:
    """Per day (``day_id``): the largest documented lesion_count on the lines with these codes."""
    return (
        ctx.lines.filter(one_of("cpt", list(codes)))
        .group_by(DAY_ID)
        .agg(pl.col("lesion_count").max().alias(name))
    )


def code_lines(ctx: Context, codes: Sequence[str]) -> pl.LazyFrame:
    """Per day (``day_id``) with lines of these codes: their rows in line order (``code_rows``,
    what ``rows_of`` reads from the day frame) and their largest lesion_count (``doc_n``).
    Built from the line frame, which is much cheaper than list operations on the day frame's
    ``lines`` column."""
    return (
        ctx.lines.filter(one_of("cpt", list(codes)))
        .group_by(DAY_ID)
        .agg(pl.col("_row").alias("code_rows"), pl.col("lesion_count").max().alias("doc_n"))
    )


def signed_money(signed: pl.Expr) -> pl.Expr:
    return (
        pl.when(signed > 0.005)
        .then(pl.lit("over"))
        .when(signed < -0.005)
        .then(pl.lit("under"))
        .otherwise(pl.lit("either"))
    )


def signed_outcome(
    signed: pl.Expr,
    unsure: pl.Expr | None = None,
    billed: pl.Expr | None = None,
    unsure_severity: str = "review",
) -> dict[str, pl.Expr]:
    """``amount``, ``severity`` and ``money`` of a finding whose dollar gap ``signed`` (billed
    minus correct) is positive when over-billed: the gap, revenue when under-billed and
    compliance otherwise. Where ``unsure`` holds, the billed amount in either direction with
    ``unsure_severity``."""
    amount, money = signed.abs(), signed_money(signed)
    severity = pl.when(signed < -0.005).then(pl.lit("revenue")).otherwise(pl.lit("compliance"))
    if unsure is not None and billed is not None:
        amount = pl.when(unsure).then(billed).otherwise(amount)
        severity = pl.when(unsure).then(pl.lit(unsure_severity)).otherwise(severity)
        money = pl.when(unsure).then(pl.lit("either")).otherwise(money)
    return {"amount": amount, "severity": severity, "money": money}


def ak_billing(lesions: pl.Expr) -> pl.Expr:
    """The compliant premalignant codes for a lesion count, as text."""
    return (
        pl.when(lesions >= 15)
        .then(msg("17004 x1"))
        .when(lesions >= 2)
        .then(msg("17000 x1 + 17003 x", lesions - 1))
        .otherwise(msg("17000 x1"))
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


def _units_text(*codes: str) -> pl.Expr:
    """Day frame: '17000 x1 + 17003 x4' for the codes present (needs u_<code> columns)."""
    parts = [
        pl.when(pl.col(f"u_{c}").fill_null(0) > 0).then(
            pl.concat_str([pl.lit(f"{c} x"), pl.col(f"u_{c}").cast(pl.String)])
        )
        for c in codes
    ]
    return pl.concat_list(parts).list.drop_nulls().list.join(" + ")


# ---- rules -------------------------------------------------------------------------


@rule(
    "DEST-001",
    scope=("destruction_premalignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="17004 billed with 17000 or 17003 on the same day",
    codes=PM,
    out_of_scope="Which of the lines is wrong when fewer than 15 lesions were treated (the "
    "suggestion names both); benign and malignant destruction codes.",
    flags="""
17004 on the same day, for the same patient and rendering provider, as 17000 or 17003.
""",
    why="""
17004 is a single code for the whole session when 15 or more premalignant lesions are
destroyed; it replaces 17000 + 17003, it is not added to them. Billing both pays the first 14
lesions twice. Medicare's Recovery Audit Contractors recover premalignant destruction units
above the per-day limits (RAC topic 0121).
""",
    example="17004 x1 + 17000 x1 + 17003 x4 on one day for 20 actinic keratoses.",
    compliant=(
        "17004 x1 alone for 15 or more lesions; 17000 x1 + 17003 x(n-1) without 17004 for "
        "2-14 lesions."
    ),
    source=(
        RAC_0121 + "; CMS NCCI practitioner PTP edits 17004/17000 and 17004/17003 (the shipped "
        "ncci_pairs.csv lists them, indicator unverified)."
    ),
    amount="""
2025 national non-facility fee x units of the 17000 and 17003 lines billed beside 17004 (the
lines to remove when the session had 15 or more lesions).
""",
    limits="""
If fewer than 15 lesions were destroyed, 17004 is the wrong line rather than 17000/17003;
the finding cannot tell which, and the suggestion names both. Separate sessions on one day
are not exempted: RAC 0121 limits are per date of service.
""",
)
def dest_001(ctx: Context) -> pl.LazyFrame:
    u0, u3, u4 = ctx.u("17000"), ctx.u("17003"), ctx.u("17004")
    d = ctx.days.filter((u4 > 0) & (u0 + u3 > 0))
    extra = _units_text("17000", "17003")
    return emit(
        d,
        rows=rows_of(*PM),
        codes=msg("17004 x", u4, " + ", extra),
        message=msg(
            "17004 (whole session, 15 or more premalignant lesions) billed with ",
            extra,
            " on the same day; 17004 replaces 17000/17003",
        ),
        suggestion=msg(
            "bill 17004 x1 alone if 15 or more lesions were destroyed (remove ",
            extra,
            "); if fewer than 15, bill 17000 x1 + 17003 per lesion 2-14 and remove 17004",
        ),
        amount=u0 * ctx.fee("17000") + u3 * ctx.fee("17003"),
    )


@rule(
    "DEST-002",
    scope=("destruction_premalignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.P,
    money=Money.OVER,
    title="Premalignant destruction over the per-day unit caps",
    codes=PM,
    out_of_scope="Days with 17004 and 17000/17003 together (DEST-001); the lesion count "
    "documented in the note beyond the units and lesion_count column.",
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
17003 units). For 17003 or 17004 over cap: the units over the cap x fee (what the cap
recovers; DEST-003 reports the further difference to the compliant 17004).
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
    correct = pl.when(lesions >= 15).then(pl.lit(f4)).otherwise(f0 + (lesions - 1).clip(0, 13) * f3)
    over_17000 = emit(
        d.filter(u0 > 1),
        rows=rows_of("17000"),
        codes=msg("17000 x", u0),
        message=msg(
            "17000 billed ",
            u0,
            " times on one day; it may be billed once per date of service (first lesion only)",
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


@rule(
    "DEST-003",
    scope=("destruction_premalignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="15 or more premalignant lesions not billed as 17004",
    codes=PM,
    severities={
        Severity.REVENUE: "the units are within the caps and a documented lesion_count of 15 "
        "or more shows 17004 was earned",
    },
    out_of_scope="The over-cap units themselves (DEST-002); lesion counts that are only in the "
    "note.",
    flags="""
A day (same patient and rendering provider) with 15 or more premalignant lesions billed as
17000 + 17003 instead of one 17004: 17000 x1 + 17003 x14 or more, or 17000 + 17003 when the
export's lesion_count shows 15 or more lesions. Days with 17004 (DEST-001) or with 17000
billed more than once (DEST-002 prices the whole day) are left to those rules.
""",
    why="""
The 17000 family counts lesions per session: 17000 is the first, 17003 each of lesions 2-14
and 17004 replaces both when 15 or more are destroyed. 17003 above 13 units is recovered by
Medicare's Recovery Audit Contractors (RAC 0121, reported by DEST-002); what then remains
(17000 + 17003 x13) pays less than the 17004 the session earned, so the claim should be
corrected to 17004, not just trimmed.
""",
    example="17000 x1 + 17003 x15 (16 actinic keratoses) on one day.",
    compliant="17004 x1 alone for 15 or more lesions.",
    source=RAC_0121,
    amount="""
2025 national non-facility fee of 17004 minus the capped billing (17000 x1 + 17003 up to 13
units): the revenue the corrected claim adds after the over-cap units are recovered. The
over-cap units themselves are DEST-002's amount, so the two never count the same dollars.
""",
    limits="""
The over-billed part (17003 units above 13) is DEST-002's finding; this rule reports the
remaining difference, which is always under-billing. Findings from units above the cap are severity
compliance (the claim must be corrected); findings from a documented lesion_count with units
within the caps are severity revenue. The lesion count is the larger of the billed units and
the largest lesion_count on the 17000/17003 lines.
""",
)
def dest_003(ctx: Context) -> pl.LazyFrame:
    u0, u3, u4 = ctx.u("17000"), ctx.u("17003"), ctx.u("17004")
    f0, f3, f4 = ctx.fee("17000"), ctx.fee("17003"), ctx.fee("17004")
    by_units = pl.max_horizontal(u0, (u3 > 0).cast(pl.Int64)) + u3
    lesions = pl.max_horizontal(by_units, pl.col("doc_n").fill_null(0))
    capped = u0 * f0 + u3.clip(0, 13) * f3
    d = (
        ctx.days.filter((u4 == 0) & (u0 <= 1) & (u0 + u3 > 0))
        .join(code_lines(ctx, ("17000", "17003")), on=DAY_ID, how="left")
        .filter(lesions >= 15)
    )
    over_cap = u3 > 13
    return emit(
        d,
        rows=pl.col("code_rows"),
        codes=_units_text("17000", "17003"),
        message=pl.when(over_cap)
        .then(
            msg(
                lesions,
                " premalignant lesions billed as ",
                _units_text("17000", "17003"),
                "; 15 or more lesions are one 17004 for the session. After the units above 13 "
                "are recovered (DEST-002), 17000 + 17003 x13 pays less than 17004",
            )
        )
        .otherwise(
            msg(
                "lesion_count shows ",
                lesions,
                " premalignant lesions but the day is billed as ",
                _units_text("17000", "17003"),
                "; 15 or more lesions are one 17004",
            )
        ),
        suggestion=msg(
            "bill 17004 x1 instead of ",
            _units_text("17000", "17003"),
            " (17004 covers every lesion in the session)",
        ),
        amount=pl.lit(f4) - capped,
        severity=pl.when(over_cap).then(pl.lit("compliance")).otherwise(pl.lit("revenue")),
        money=pl.lit("under"),
    )


@rule(
    "DEST-004",
    scope=("destruction_premalignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Premalignant destruction codes without a premalignant diagnosis",
    requires=("dx",),
    codes=(*PM, "17110", "17111", "11200"),
    severities={
        Severity.REVENUE: "the corrected code pays more than the billed premalignant codes "
        "(e.g. a malignant destruction coded as 17000)",
        Severity.REVIEW: "the only lesion diagnosis is uncertain/unspecified behaviour or a "
        "premalignant code other than L57.0 that some payers accept",
    },
    out_of_scope="Dates before 2007 (when 17000 covered benign lesions) and before ICD-10 "
    "(2015-10-01); diagnoses documented only in the note.",
    flags="""
17000/17003/17004 on a day (date of service from 2007-01-01, ICD-10 era) whose encounter has
diagnoses but none is actinic keratosis (L57.0, group PREMALIGNANT). The diagnoses of the
17000-17004 lines decide what the compliant code is: benign lesions (warts, seborrheic
keratoses, nevi, other benign growths, cysts, lentigines) -> 17110/17111; skin tags only ->
11200/11201; skin cancer or in-situ lesions -> 17260-17286. When the diagnoses are mixed or
none of these, the finding asks for a review.
""",
    why="""
Since 2007 CPT restricts 17000-17004 to premalignant lesions; benign lesions are destroyed
with the session codes 17110/17111, skin tags with 11200/11201 and malignant lesions with the
per-lesion, site- and size-banded 17260-17286. A premalignant code on a benign or malignant
lesion is miscoded, and Medicare contractors edit 17000-17004 against the premalignant
diagnosis.
""",
    example="17000 x1 + 17003 x9 (10 lesions) for seborrheic keratoses (L82.1).",
    compliant="17110 x1 for up to 14 benign lesions (17111 x1 for 15 or more).",
    source=(
        FAMILY_2007
        + "; NCD 250.4 Treatment of Actinic Keratosis (effective 2001-11-26); ICD-10-CM FY2026 "
        "tabular list (L57.0)."
    ),
    amount="""
Per finding, 2025 national non-facility fees: billed (17000 + 17003 x units, or 17004) minus
the compliant billing for the same lesion count - 17110 (1-14 lesions) or 17111 (15+); 11200
+ 11201 per further 10 tags; for malignant lesions at least lesions x the lowest malignant
destruction fee (17260). When the day already has a 17110/17111 (or 11200) line the
compliant extra is $0. 1-7 lesions billed as 17000 + 17003 pay less than 17110 (money under,
severity revenue); 8-14 pay more (money over, severity compliance). Review findings carry
the billed amount.
""",
    limits="""
Only L57.0 is a verified premalignant diagnosis; some payers accept others (for example
actinic cheilitis or leukoplakia) - those encounters get a review finding, not a compliance
one. The lesion count is taken from units (15 for 17004). The malignant amount is a lower
bound because the right 17260-17286 code depends on site and lesion size.
""",
)
def dest_004(ctx: Context) -> pl.LazyFrame:
    u0, u3, u4 = ctx.u("17000"), ctx.u("17003"), ctx.u("17004")
    f0, f3, f4 = ctx.fee("17000"), ctx.fee("17003"), ctx.fee("17004")
    ref = ctx.ref
    premal = ref.dx_prefixes("PREMALIGNANT")
    mal = ref.dx_prefixes(*MALIGNANT_GROUPS)
    benign = ref.dx_prefixes(*BENIGN_GROUPS)
    tags = ref.dx_prefixes("SKIN_TAG")
    benign_not_tag = [p for p in benign if p not in tags]
    min_mal = min(ref.fee(c) for c in ref.family("destruction_malignant") if ref.fee(c) > 0)

    d = ctx.days.filter(
        (pl.col("dos") >= D2007)
        & (pl.col("dos") >= ICD10_START)
        & (u0 + u3 + u4 > 0)
        & (pl.col("dx").list.len() > 0)
        & ~has_dx(premal)
    ).with_columns(dx_pm=dx_of(PM))
    is_mal = has_dx(mal, "dx_pm")
    is_ben = has_dx(benign, "dx_pm")
    tags_only = has_dx(tags, "dx_pm") & ~has_dx(benign_not_tag, "dx_pm")
    n = pl.when(u4 > 0).then(pl.lit(15, pl.Int64)).otherwise(u0 + u3)
    billed = u0 * f0 + u3 * f3 + u4 * f4
    has_session = ctx.u("17110") + ctx.u("17111") > 0
    benign_fee = (
        pl.when(has_session)
        .then(pl.lit(0.0))
        .when(n >= 15)
        .then(pl.lit(ctx.fee("17111")))
        .otherwise(pl.lit(ctx.fee("17110")))
    )
    extra_blocks = ((n - 15).clip(0) + 9) // 10
    tag_fee = (
        pl.when(ctx.u("11200") > 0)
        .then(pl.lit(0.0))
        .otherwise(ctx.fee("11200") + extra_blocks * ctx.fee("11201"))
    )
    cat = (
        pl.when(is_mal & ~is_ben)
        .then(pl.lit("malignant"))
        .when(is_ben & ~is_mal & tags_only)
        .then(pl.lit("tags"))
        .when(is_ben & ~is_mal)
        .then(pl.lit("benign"))
        .otherwise(pl.lit("unclear"))
    )
    d = d.with_columns(
        cat.alias("cat"),
        n.alias("n"),
        billed.alias("billed"),
        pl.when(cat == "malignant")
        .then(n * min_mal)
        .when(cat == "tags")
        .then(tag_fee)
        .when(cat == "benign")
        .then(benign_fee)
        .otherwise(None)
        .alias("correct"),
    )
    signed = pl.col("billed") - pl.col("correct")
    review = pl.col("cat") == "unclear"
    billed_txt = _units_text(*PM)
    what = (
        pl.when(pl.col("cat") == "malignant")
        .then(pl.lit("malignant or in-situ"))
        .when(pl.col("cat") == "tags")
        .then(pl.lit("skin tag"))
        .when(pl.col("cat") == "benign")
        .then(pl.lit("benign"))
        .otherwise(pl.lit("neither premalignant, benign nor malignant (or mixed)"))
    )
    suggestion = (
        pl.when(pl.col("cat") == "malignant")
        .then(
            msg(
                "bill each malignant lesion with 17260-17286 (by site group and lesion "
                "diameter) instead of ",
                billed_txt,
            )
        )
        .when(pl.col("cat") == "tags")
        .then(
            pl.when(ctx.u("11200") > 0)
            .then(msg("remove ", billed_txt, "; the tags belong in the 11200/11201 already billed"))
            .otherwise(
                msg(
                    "bill 11200 x1",
                    pl.when(extra_blocks > 0).then(msg(" + 11201 x", extra_blocks)),
                    " (skin tags, any method) instead of ",
                    billed_txt,
                )
            )
        )
        .when(pl.col("cat") == "benign")
        .then(
            pl.when(has_session)
            .then(
                msg(
                    "remove ",
                    billed_txt,
                    "; benign lesions belong in the 17110/17111 session "
                    "already billed (17111 if the day's total reaches 15)",
                )
            )
            .when(pl.col("n") >= 15)
            .then(msg("bill 17111 x1 (15 or more benign lesions) instead of ", billed_txt))
            .otherwise(msg("bill 17110 x1 (up to 14 benign lesions) instead of ", billed_txt))
        )
        .otherwise(
            msg(
                "confirm the diagnosis: keep ",
                billed_txt,
                " only with a premalignant diagnosis "
                "(L57.0, or one your payer recognises); otherwise 17110/17111 (benign), "
                "11200 (tags) or 17260-17286 (malignant)",
            )
        )
    )
    return emit(
        d,
        rows=rows_of(*PM),
        codes=billed_txt,
        message=msg(
            billed_txt,
            " (",
            pl.col("n"),
            pl.when(u4 > 0).then(pl.lit(" or more")),
            " lesions) billed with no actinic keratosis diagnosis (L57.0) on the encounter; "
            "the destruction diagnoses (",
            dx_text("dx_pm"),
            ") are ",
            what,
        ),
        suggestion=suggestion,
        **signed_outcome(signed, unsure=review, billed=pl.col("billed")),
    )


@rule(
    "DEST-005",
    scope=("destruction_benign",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Benign destruction codes used for actinic keratoses",
    requires=("dx",),
    codes=(*BENIGN_SESSION, *PM),
    severities={
        Severity.REVENUE: "the premalignant codes for the lesion count pay more than the billed "
        "17110/17111",
    },
    out_of_scope="Sessions that also treated warts or other benign lesions; dates before 2007 "
    "or before ICD-10.",
    flags="""
17110/17111 on a day (date of service from 2007-01-01, ICD-10 era) whose only lesion
diagnosis - on the 17110/17111 lines and on the whole encounter - is actinic keratosis
(L57.0). Any other lesion-type diagnosis (skin chapter L, neoplasm C/D00-D49, wart,
molluscum, condyloma) on the encounter clears it.
""",
    why="""
Since 2007 actinic keratoses are destroyed with the premalignant codes (17000 first lesion,
17003 each of lesions 2-14, 17004 for 15 or more); 17110/17111 are for benign lesions only.
Medicare covers AK destruction without restriction (NCD 250.4), so the right code is
payable; the benign code is miscoded.
""",
    example="17110 x1 with L57.0 as the only diagnosis (5 actinic keratoses).",
    compliant="17000 x1 + 17003 x4 for 5 AKs; 17004 x1 for 15 or more.",
    source=FAMILY_2007 + "; NCD 250.4 (AK destruction coverage).",
    amount="""
2025 national non-facility fees: billed 17110/17111 minus the premalignant billing for the
lesion count (lesion_count on the 17110/17111 lines; 17111 means 15 or more, i.e. 17004).
1-7 AKs pay less as 17000 + 17003 than 17110 (money over); 8-14 pay more (money under,
severity revenue). Without a lesion count for 17110, or when the day already has 17000-17004,
the amount is the 17110 fee and the direction is 'either'.
""",
    limits="""
Encounters with any other lesion diagnosis are not flagged, so a session that also treated
warts or seborrheic keratoses is left alone even if some AKs were included in 17110.
""",
)
def dest_005(ctx: Context) -> pl.LazyFrame:
    premal = ctx.ref.dx_prefixes("PREMALIGNANT")
    u10, u11 = ctx.u("17110"), ctx.u("17111")
    pm_billed = ctx.u("17000") + ctx.u("17003") + ctx.u("17004") > 0
    d = (
        ctx.days.filter((pl.col("dos") >= D2007) & (pl.col("dos") >= ICD10_START) & (u10 + u11 > 0))
        .with_columns(dx_ben=dx_of(BENIGN_SESSION))
        .filter(only_lesion("dx_ben", premal) & only_lesion("dx", premal))
        .join(doc_count(ctx, BENIGN_SESSION), on=DAY_ID, how="left")
    )
    doc = pl.col("doc_n")
    lesions = pl.when(u11 > 0).then(pl.max_horizontal(doc.fill_null(15), pl.lit(15))).otherwise(doc)
    billed = u10 * ctx.fee("17110") + u11 * ctx.fee("17111")
    correct = pl.when(pm_billed).then(None).otherwise(ak_fee(ctx, lesions))
    signed = billed - correct
    unknown = signed.is_null()
    billed_txt = _units_text(*BENIGN_SESSION)
    return emit(
        d,
        rows=rows_of(*BENIGN_SESSION),
        codes=billed_txt,
        message=msg(
            billed_txt,
            " (benign-lesion destruction) billed when the only lesion diagnosis is "
            "actinic keratosis (",
            dx_text("dx_ben"),
            ")",
            pl.when(lesions.is_not_null()).then(msg("; ", lesions, " lesion(s)")),
        ),
        suggestion=pl.when(pm_billed)
        .then(
            msg(
                "remove ",
                billed_txt,
                " and count these lesions in the day's 17000/17003 (17004 for 15 or more)",
            )
        )
        .when(lesions.is_not_null())
        .then(msg("bill ", ak_billing(lesions), " instead of ", billed_txt))
        .otherwise(
            msg(
                "bill 17000 x1 + 17003 per lesion 2-14 (17004 x1 for 15 or more) instead of ",
                billed_txt,
            )
        ),
        **signed_outcome(signed, unsure=unknown, billed=billed, unsure_severity="compliance"),
    )


@rule(
    "DEST-006",
    scope=("destruction_benign",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="17110 with 17111, or benign destruction above one unit",
    codes=BENIGN_SESSION,
    out_of_scope="Separate sessions on one day with XE (not exempted); premalignant codes.",
    flags="""
17110 and 17111 on the same day for the same patient and rendering provider, or either code
above 1 unit (as units or repeated lines).
""",
    why="""
17110 (up to 14 benign lesions) and 17111 (15 or more) each describe the whole session by
lesion count: one of them, one unit, per session. Multiple units or both codes pay the
session twice; claim edits deny or recoup the extra units.
""",
    example="17110 x2 for 6 warts; or 17110 x1 + 17111 x1 for 20 lesions.",
    compliant="17110 x1 for up to 14 lesions; 17111 x1 alone for 15 or more.",
    source=(
        "CPT descriptors for 17110/17111 (session codes by lesion count) as quoted by AAPC "
        "and claimmax ('multiple units triggers an automatic edit'); NCCI pair 17111/17110 "
        "(rulesets/ncci_pairs.csv excerpt)."
    ),
    amount="""
2025 national non-facility fees: billed 17110/17111 (fee x units) minus one unit of the
compliant code (17111 when billed or when lesion_count shows 15 or more, else 17110).
""",
    limits="""
Two genuinely separate sessions on one day are not exempted (rare; document them and use
modifier XE). The lesion count, when present, is the largest lesion_count on the lines.
""",
)
def dest_006(ctx: Context) -> pl.LazyFrame:
    u10, u11 = ctx.u("17110"), ctx.u("17111")
    f10, f11 = ctx.fee("17110"), ctx.fee("17111")
    d = ctx.days.filter(((u10 > 0) & (u11 > 0)) | (u10 > 1) | (u11 > 1)).join(
        doc_count(ctx, BENIGN_SESSION), on=DAY_ID, how="left"
    )
    use_11 = (u11 > 0) | (pl.col("doc_n").fill_null(0) >= 15)
    billed_txt = _units_text(*BENIGN_SESSION)
    return emit(
        d,
        rows=rows_of(*BENIGN_SESSION),
        codes=billed_txt,
        message=msg(
            billed_txt,
            " on one day; 17110 and 17111 are single session codes (one or the other, one unit)",
        ),
        suggestion=pl.when(use_11)
        .then(msg("bill 17111 x1 alone (15 or more benign lesions) instead of ", billed_txt))
        .otherwise(msg("bill 17110 x1 (up to 14 benign lesions) instead of ", billed_txt)),
        amount=(u10 * f10 + u11 * f11 - pl.when(use_11).then(f11).otherwise(f10)).clip(0),
    )


@rule(
    "DEST-007",
    scope=("destruction_malignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Malignant destruction without a malignant or in-situ diagnosis",
    requires=("dx",),
    codes=(*MALIGNANT_DEST, *PM, *BENIGN_SESSION),
    severities={
        Severity.REVENUE: "the corrected destruction code pays more than the billed one",
        Severity.REVIEW: "the only lesion diagnosis is D48.5/D49.2 (uncertain or unspecified "
        "behaviour), e.g. a clinically diagnosed cancer destroyed without a biopsy",
    },
    out_of_scope="Cutaneous malignancies outside the groups of icd10_groups*.csv unless the "
    "practice adds them; dates before ICD-10.",
    flags="""
17260-17286 on a day (ICD-10 era) whose encounter has diagnoses but none in the malignant or
in-situ groups (C43, C4A, C44, D03, D04 and MAL_OTHER). The diagnoses of the malignant
destruction lines decide the compliant code: actinic keratosis -> 17000-17004; benign
lesions -> 17110/17111. Another cancer code (for example a soft-tissue sarcoma) or a
neoplasm of uncertain/unspecified behaviour (D48.5, D49.2) gives a review finding.
""",
    why="""
17260-17286 are for malignant lesions (in-situ carcinoma and melanoma in situ are treated as
malignant for code choice). Without a malignant diagnosis the claim reports a cancer
treatment the record does not show; premalignant and benign lesions have their own codes.
""",
    example="17281 x1 for an actinic keratosis of the cheek (L57.0).",
    compliant="17000 x1 for one AK; 17110 x1 for benign lesions.",
    source=(
        "CPT 2025 Professional Edition destruction families (17000-17004 premalignant, "
        "17110/17111 benign, 17260-17286 malignant); ICD-10-CM FY2026 tabular list (C43, C4A,"
        " C44, D03, D04); secondary: AAPC and For The Record (2007); in-situ lesions treated "
        "as malignant per AAPC's excision article."
    ),
    amount="""
2025 national non-facility fees: billed 17260-17286 (fee x units) minus the compliant
billing - added premalignant lesions priced on top of any 17000-17004 already billed that day
(17000 first, 17003 each, 17004 from 15), or 17110/17111 when no benign session is billed
yet ($0 when it is). With no supporting diagnosis at all the whole billed amount is at risk.
Money is 'over' or 'under' per finding (one 17260 pays less than 17110).
""",
    limits="""
A clinically diagnosed skin cancer destroyed without a biopsy may carry D48.5/D49.2 - those
are asked for review. The practice MAC's list of other cutaneous malignancies (MAL_OTHER)
should be added in rulesets/icd10_groups_mohs.csv or a --ruleset layer.
""",
)
def dest_007(ctx: Context) -> pl.LazyFrame:
    ref = ctx.ref
    mal = ref.dx_prefixes(*MALIGNANT_GROUPS)
    premal = ref.dx_prefixes("PREMALIGNANT")
    benign = ref.dx_prefixes(*BENIGN_GROUPS)
    uncertain = ref.dx_prefixes(*UNCERTAIN_GROUPS)
    u0, u3, u4 = ctx.u("17000"), ctx.u("17003"), ctx.u("17004")
    n_mal = pl.sum_horizontal([ctx.u(c) for c in MALIGNANT_DEST])
    d = ctx.days.filter(
        (pl.col("dos") >= ICD10_START) & (n_mal > 0) & (pl.col("dx").list.len() > 0) & ~has_dx(mal)
    ).with_columns(dx_mal=dx_of(MALIGNANT_DEST), n_mal=n_mal, billed=line_fee_sum(MALIGNANT_DEST))
    other_cancer = has_dx(["C", "D0"], "dx")
    cat = (
        pl.when(other_cancer | has_dx(uncertain, "dx_mal"))
        .then(pl.lit("review"))
        .when(has_dx(premal, "dx_mal"))
        .then(pl.lit("premalignant"))
        .when(has_dx(benign, "dx_mal"))
        .then(pl.lit("benign"))
        .otherwise(pl.lit("none"))
    )
    existing = pl.when(u4 > 0).then(pl.lit(15, pl.Int64)).otherwise(u0 + u3)
    n = pl.col("n_mal")
    pm_correct = ak_fee(ctx, existing + n) - ak_fee(ctx, existing)
    has_session = ctx.u("17110") + ctx.u("17111") > 0
    ben_correct = (
        pl.when(has_session)
        .then(pl.lit(0.0))
        .when(n >= 15)
        .then(pl.lit(ctx.fee("17111")))
        .otherwise(pl.lit(ctx.fee("17110")))
    )
    d = d.with_columns(cat.alias("cat")).with_columns(
        pl.when(pl.col("cat") == "premalignant")
        .then(pm_correct)
        .when(pl.col("cat") == "benign")
        .then(ben_correct)
        .when(pl.col("cat") == "none")
        .then(pl.lit(0.0))
        .otherwise(None)
        .alias("correct")
    )
    signed = pl.col("billed") - pl.col("correct")
    review = pl.col("cat") == "review"
    codes_txt = (
        pl.col("lines")
        .list.eval(line_field("cpt").filter(line_field("family") == "destruction_malignant"))
        .list.unique(maintain_order=True)
        .list.join(" + ")
    )
    return emit(
        d,
        rows=rows_of(*MALIGNANT_DEST),
        codes=codes_txt,
        message=msg(
            "malignant destruction ",
            codes_txt,
            " (",
            n,
            " lesion(s)) billed with no malignant "
            "or in-situ diagnosis on the encounter (diagnoses: ",
            dx_text("dx_mal"),
            ")",
            pl.when(review).then(
                pl.lit("; an uncertain-behaviour or other cancer code needs a coder's check")
            ),
        ),
        suggestion=pl.when(pl.col("cat") == "premalignant")
        .then(
            msg(
                "bill the actinic keratoses with 17000 (first) + 17003 (each of lesions 2-14), "
                "or 17004 for 15 or more, instead of ",
                codes_txt,
            )
        )
        .when(pl.col("cat") == "benign")
        .then(
            pl.when(has_session)
            .then(
                msg(
                    "remove ",
                    codes_txt,
                    "; the benign lesions belong in the 17110/17111 session already billed",
                )
            )
            .otherwise(
                msg("bill 17110 x1 (17111 for 15 or more benign lesions) instead of ", codes_txt)
            )
        )
        .when(review)
        .then(
            msg(
                "confirm the pathology: keep ",
                codes_txt,
                " only with a malignant or in-situ "
                "diagnosis (C43/C4A/C44/D03/D04 or your MAC's list); otherwise use the "
                "premalignant or benign destruction codes",
            )
        )
        .otherwise(
            msg(
                "add the malignant or in-situ diagnosis from the record, or do not bill ",
                codes_txt,
                " (no diagnosis supports it)",
            )
        ),
        **signed_outcome(signed, unsure=review, billed=pl.col("billed")),
    )


def _malignant_bands(ctx: Context) -> tuple[pl.DataFrame, list[float]]:
    """Malignant destruction codes with their site group and size band index (0 = smallest)."""
    codes = ctx.ref.codes.filter(pl.col("family") == "destruction_malignant").select(
        pl.col("code"),
        pl.col("site_group").alias("grp"),
        pl.col("size_min_cm"),
        pl.col("size_max_cm"),
        pl.col("fee_2025").alias("fee"),
    )
    codes = codes.sort("grp", pl.col("size_min_cm").fill_null(0.0)).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over("grp").alias("band")
    )
    uppers = sorted(set(codes["size_max_cm"].drop_nulls().to_list()))
    return codes, uppers


@rule(
    "DEST-008",
    scope=("destruction_malignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Malignant destruction code does not match the site group or lesion size",
    level="line",
    requires=("site", "lesion_size_cm"),
    codes=MALIGNANT_DEST,
    severities={
        Severity.REVENUE: "the code for the documented site and size pays more than the billed one",
    },
    out_of_scope="Lines without a site or size; site words not in rulesets/sites.csv; whether "
    "the size was measured with the curettage margin.",
    flags="""
A 17260-17286 line whose code is not the one the line's own site and lesion diameter call for:
site group A trunk/arms/legs (17260-17266), B scalp/neck/hands/feet/genitalia (17270-17276),
C face/ears/eyelids/nose/lips/mucous membrane (17280-17286), and six diameter bands (up to
0.5, 0.6-1.0, 1.1-2.0, 2.1-3.0, 3.1-4.0, over 4.0 cm). A line with a known site but no size
is checked for the site group only (band kept); a known size but unknown site for the band
only.
""",
    why="""
Malignant destruction is reported per lesion by anatomic group and lesion diameter; a face
code for a trunk lesion or a larger band than measured overbills, the reverse underbills.
""",
    example="17281 (face, 0.6-1.0 cm) for a 0.8 cm BCC on the back.",
    compliant="17261 (trunk/arms/legs, 0.6-1.0 cm) for that lesion; 17262 for a 1.5 cm trunk BCC.",
    source=(
        "CPT 2025 Professional Edition malignant destruction code structure (site groups, "
        "lesion-diameter bands; group membership also in the CMS PFS Relative Value File "
        "short descriptors); secondary: AAD (D. Elston 2012) on measuring the lesion and "
        "curettage diameter."
    ),
    amount="""
(2025 fee of the billed code - fee of the expected code) x units; positive = overbilled
(severity compliance), negative = underbilled (severity revenue).
""",
    limits="""
Site words are mapped to groups by rulesets/sites.csv; unknown words are skipped. The size
is taken as the lesion diameter (a size between bands, e.g. 0.55 cm, goes to the next band
up). Units > 1 are assumed to share the line's site and size.
""",
)
def dest_008(ctx: Context) -> pl.LazyFrame:
    bands, uppers = _malignant_bands(ctx)
    band_of_code: pl.Expr = pl.lit(None, pl.Int64)
    for code, band in zip(bands["code"], bands["band"], strict=True):
        band_of_code = pl.when(pl.col("cpt") == code).then(pl.lit(band)).otherwise(band_of_code)
    size = pl.col("lesion_size_cm")
    band_of_size: pl.Expr = pl.lit(len(uppers), pl.Int64)
    for i, upper in reversed(list(enumerate(uppers))):
        band_of_size = pl.when(size <= upper).then(pl.lit(i)).otherwise(band_of_size)
    band_of_size = pl.when(size.is_null()).then(None).otherwise(band_of_size)

    exp = bands.select(
        pl.col("grp").alias("exp_grp"),
        pl.col("band").alias("exp_band"),
        pl.col("code").alias("exp_code"),
        pl.col("fee").alias("exp_fee"),
    ).lazy()
    lines = ctx.lines.filter(
        one_of("cpt", list(MALIGNANT_DEST))
        & (pl.col("site_group").is_not_null() | size.is_not_null())
    ).with_columns(
        pl.coalesce(pl.col("site_group"), pl.col("code_site_group")).alias("exp_grp"),
        pl.coalesce(band_of_size, band_of_code).cast(pl.Int64).alias("exp_band"),
    )
    j = lines.join(exp, on=["exp_grp", "exp_band"], how="inner").filter(
        pl.col("exp_code") != pl.col("cpt")
    )
    signed = (pl.col("fee") - pl.col("exp_fee")) * pl.col("units")
    grp_txt = pl.col("exp_grp").replace_strict(SITE_GROUP_TEXT, default="?")
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row")),
        codes=msg(pl.col("cpt"), " -> ", pl.col("exp_code")),
        message=msg(
            pl.col("cpt"),
            " billed for site '",
            pl.col("site").fill_null("(none)"),
            "' (group ",
            pl.col("exp_grp"),
            ", ",
            grp_txt,
            ")",
            pl.when(size.is_not_null()).then(msg(", lesion ", size.round(2), " cm")),
            "; the matching code is ",
            pl.col("exp_code"),
        ),
        suggestion=msg(
            "bill ",
            pl.col("exp_code"),
            " x",
            pl.col("units"),
            " instead of ",
            pl.col("cpt"),
            " (site group ",
            pl.col("exp_grp"),
            ", lesion diameter band)",
        ),
        **signed_outcome(signed),
    )


@rule(
    "DEST-009",
    scope=("destruction_benign",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.EITHER,
    title="Cutaneous vascular lesions billed as benign destruction",
    requires=("dx",),
    codes=BENIGN_SESSION,
    out_of_scope="Vascular lesions coded with other diagnoses; laser treatment billed with "
    "17106-17108 (COS-002).",
    flags="""
17110/17111 on a day (ICD-10 era) whose only lesion diagnoses - on those lines and on the
encounter - are vascular: hemangioma of skin (D18.01) or spider/non-neoplastic vascular
nevus (I78.1).
""",
    why="""
CPT excludes cutaneous vascular proliferative lesions from 17110/17111; they are destroyed
with 17106-17108 (by area, 90-day global), which are frequently cosmetic and need coverage
support (see COS-002). Billing them as 17110 hides a cosmetic-prone service under a routine
code.
""",
    example="17110 x1 with D18.01 (cherry angiomas) as the only diagnosis.",
    compliant=(
        "17106 (under 10 sq cm) / 17107 / 17108 when medically necessary and covered; "
        "otherwise a self-pay cosmetic service (GY for Medicare)."
    ),
    source=(
        "CPT 2025 Professional Edition, 17110/17111 descriptor (benign lesions other than "
        "skin tags or cutaneous vascular proliferative lesions) and 17106-17108 (cutaneous "
        "vascular proliferative lesions); secondary: claimmax (2026)."
    ),
    amount="2025 national non-facility fee x units of the 17110/17111 lines (the lines at risk).",
    limits="""
Confidence U: reading D18.01/I78.1 as a 'vascular proliferative lesion' in the sense of the
17110 exclusion is an inference no payer text confirms, and some payers accept 17110 for small
angiomas. Review only.
""",
)
def dest_009(ctx: Context) -> pl.LazyFrame:
    vasc = ctx.ref.dx_prefixes(*VASCULAR_GROUPS)
    u10, u11 = ctx.u("17110"), ctx.u("17111")
    d = (
        ctx.days.filter((pl.col("dos") >= ICD10_START) & (u10 + u11 > 0))
        .with_columns(dx_ben=dx_of(BENIGN_SESSION))
        .filter(only_lesion("dx_ben", vasc) & only_lesion("dx", vasc))
    )
    billed_txt = _units_text(*BENIGN_SESSION)
    return emit(
        d,
        rows=rows_of(*BENIGN_SESSION),
        codes=billed_txt,
        message=msg(
            billed_txt,
            " billed for vascular lesions only (",
            dx_text("dx_ben"),
            "); 17110/17111 exclude cutaneous vascular proliferative lesions",
        ),
        suggestion=msg(
            "if medically necessary, bill 17106/17107/17108 by treated area (check coverage; "
            "GY or an ABN for Medicare if cosmetic) instead of ",
            billed_txt,
            "; cosmetic removal is self-pay",
        ),
        amount=u10 * ctx.fee("17110") + u11 * ctx.fee("17111"),
    )


def _partner_text(rows: str = "p_rows", cpts: str = "p_cpts") -> dict[str, pl.Expr]:
    return {
        "rows": pl.concat_list(pl.col("_row"), pl.col(rows)).list.unique().list.sort(),
        "codes": pl.col(cpts).list.join(" + "),
    }


@rule(
    "DEST-010",
    scope=("paring",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Paring billed with benign destruction of the same lesion",
    level="line",
    codes=BENIGN_SESSION,
    severities={
        Severity.REVIEW: "a pared wart and the destroyed warts are recorded at different sites: "
        "paring codes are for corns and calluses, not warts, but the wart pared may not be one "
        "that was destroyed",
    },
    out_of_scope="Paring of a corn or callus (L84) with a distinct-site modifier or at another "
    "site; routine foot care coverage rules for 11055-11057; destruction of premalignant or "
    "malignant lesions.",
    flags="""
A paring line (11055-11057) on the same day, patient and rendering provider as benign
destruction 17110/17111, when
  * neither line carries a distinct-procedure modifier (59/XS/XE/XU/XP) and the sites are the
    same or one is unknown; or
  * the paring line's own diagnoses are viral warts (B07) and a destruction line treats warts
    (B07): the wart pared was destroyed - whatever modifier the paring carries (compliance at
    the same or an unknown site; review when the sites differ).
""",
    why="""
Paring a wart or callus before freezing it is part of destroying that lesion; only the
destruction is billed. The paring codes describe benign hyperkeratotic lesions such as corns
and calluses, so paring coded for a wart diagnosis is the destruction's preparation, and a
distinct-site modifier on it does not make it separate. Paring codes are also status R for
Medicare (routine foot care limits), so an unsupported paring line is a recoupment target.
""",
    example="11055 + 17110 for a plantar wart pared and then frozen; 11055-XS (B07.0) + 17110 "
    "(B07.0).",
    compliant=(
        "17110 alone; 11055-11057 only for a different lesion (e.g. a separate corn, L84), with "
        "modifier XS or 59 and the site documented."
    ),
    source=(
        "CPT 2025 Professional Edition, 11055-11057 (paring or cutting of benign hyperkeratotic "
        "lesions, e.g. corn or callus) and the surgical package (preparation of the lesion is "
        "part of its destruction); NCCI Policy Manual for Medicare Services ch. I (a procedure "
        "needed to perform another at the same site is included); CMS NCCI practitioner PTP "
        "edits 17110/17111 with 11055-11057 (listed in the shipped excerpt, indicator "
        "unverified); CMS PFS Relative Value File status R for 11055-11057; secondary: thederm "
        "coding article ('pare and then freeze ... cannot bill both')."
    ),
    amount="2025 national non-facility fee x units of the paring line (its charge when the code "
    "has no fee).",
    limits="""
The export cannot prove that both codes treated the same lesion; a separate corn pared on the
same visit should carry XS/59 and a site. Sites compare as text (case and spaces ignored). At
most 20 partner rows are listed per finding.
""",
)
def dest_010(ctx: Context) -> pl.LazyFrame:
    wart = list(COMMON_WART)
    paring = ctx.lines.filter(pl.col("family") == "paring").with_columns(
        only_lesion("dx", wart).alias("wart_paring")
    )
    dest = ctx.lines.filter(one_of("cpt", list(BENIGN_SESSION)))
    paring = paring.join(dest.select(DAY_ID), on=DAY_ID, how="semi")
    # (a) no modifier on either line, sites not different
    plain = site_partners(paring.filter(~pl.col("m_distinct")), dest.filter(~pl.col("m_distinct")))
    # (b) a wart pared: any wart destruction of the day
    wart_dest = dest.filter(has_dx(wart))
    warts = site_partners(paring.filter(pl.col("wart_paring")), wart_dest).join(
        site_partners(
            paring.filter(pl.col("wart_paring")),
            wart_dest.with_columns(pl.lit(None, pl.String).alias("site")),
        ).select(
            "_file",
            "_row",
            pl.col("unk_rows").alias("all_rows"),
            pl.col("unk_cpts").alias("all_cpts"),
        ),
        on=["_file", "_row"],
        how="left",
    )
    a = plain.filter((pl.col("same_rows").list.len() + pl.col("unk_rows").list.len()) > 0).select(
        "_file",
        "_row",
        pl.concat_list("same_rows", "unk_rows").list.unique().list.sort().alias("p_rows"),
        pl.concat_list("same_cpts", "unk_cpts").list.unique().list.sort().alias("p_cpts"),
        pl.lit(False).alias("differ"),
    )
    b = warts.filter(pl.col("all_rows").list.len() > 0).select(
        "_file",
        "_row",
        pl.col("all_rows").alias("p_rows"),
        pl.col("all_cpts").alias("p_cpts"),
        ((pl.col("same_rows").list.len() + pl.col("unk_rows").list.len()) == 0).alias("differ"),
    )
    hits = (
        pl.concat([a, b], how="vertical")
        .sort("_file", "_row", "differ")
        .unique(["_file", "_row"], keep="first", maintain_order=True)
    )
    f = paring.join(hits, on=["_file", "_row"], how="inner")
    wart_txt = pl.col("wart_paring")
    return emit(
        f,
        **_partner_text(),
        message=msg(
            "paring ",
            pl.col("cpt"),
            " billed with benign destruction ",
            pl.col("p_cpts").list.join(" + "),
            " on the same day",
            pl.when(wart_txt)
            .then(
                msg(
                    " for a wart (",
                    pl.col("dx").list.join(" "),
                    "): paring codes are for corns and calluses, and paring a wart before "
                    "destroying it is part of the destruction",
                    pl.when(pl.col("differ")).then(
                        pl.lit(" (the sites differ: check which wart was pared)")
                    ),
                )
            )
            .otherwise(
                pl.lit(
                    " with no distinct-site modifier; paring before destroying the same lesion "
                    "is included"
                )
            ),
        ),
        suggestion=pl.when(wart_txt)
        .then(msg("remove ", pl.col("cpt"), "; the wart's destruction code covers its paring"))
        .otherwise(
            msg(
                "remove ",
                pl.col("cpt"),
                "; bill it only for a different lesion, with XS (or 59) and the site documented",
            )
        ),
        amount=pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")),
        severity=pl.when(pl.col("differ")).then(pl.lit("review")).otherwise(pl.lit("compliance")),
    )


@rule(
    "DEST-012",
    scope=("chemical_cautery",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Chemical cautery (17250) billed with another lesion procedure at the same site",
    level="line",
    out_of_scope="17250 for granulation tissue at a separate site or visit; hemostasis supplies.",
    flags="""
17250 on the same day, patient and rendering provider as a biopsy, shave, excision,
destruction or Mohs line, unless the two lines name different sites, or the 17250 line
carries a distinct-procedure modifier and no site contradicts it.
""",
    why="""
Chemical cautery used only to stop bleeding from a biopsy, shave, excision or destruction
wound is part of that procedure and is not reported with 17250 (CPT parenthetical);
17250 is for treating granulation tissue (e.g. proud flesh) as a service of its own.
""",
    example="11102 (tangential biopsy) + 17250 for aluminium chloride on the biopsy site.",
    compliant="11102 alone; 17250 only for granulation tissue at a separate site or visit.",
    source=(
        "CPT 2025 Professional Edition parenthetical under 17250 (not reported for hemostasis "
        "of another procedure's wound); not read verbatim, so the rule is a review (U)."
    ),
    amount="2025 national non-facility fee x units of the 17250 line (its charge when the code "
    "has no fee).",
    limits="""
Confidence U (the CPT instruction was not read verbatim): review only. Sites compare as text;
with no site the pair is flagged for a human look. At most 20 partner rows are listed.
""",
)
def dest_012(ctx: Context) -> pl.LazyFrame:
    fams = [
        "biopsy",
        "shave",
        "excision_benign",
        "excision_malignant",
        "destruction_premalignant",
        "destruction_benign",
        "destruction_vascular",
        "destruction_malignant",
        "mohs",
    ]
    caut = ctx.lines.filter(pl.col("cpt") == "17250")
    other = ctx.lines.filter(one_of("family", fams))
    p = site_partners(caut, other)
    j = (
        caut.join(p, on=["_file", "_row"], how="inner")
        # with a distinct-site modifier on 17250, only a recorded same site contradicts it
        .with_columns(
            pl.when(pl.col("m_distinct"))
            .then(pl.col("same_rows"))
            .otherwise(pl.concat_list("same_rows", "unk_rows").list.unique().list.sort())
            .alias("p_rows"),
            pl.when(pl.col("m_distinct"))
            .then(pl.col("same_cpts"))
            .otherwise(pl.concat_list("same_cpts", "unk_cpts").list.unique().list.sort())
            .alias("p_cpts"),
        )
        .filter(pl.col("p_rows").list.len() > 0)
    )
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), pl.col("p_rows")).list.unique().list.sort(),
        codes=msg("17250 + ", pl.col("p_cpts").list.join(" + ")),
        message=msg(
            "17250 (chemical cautery) billed with ",
            pl.col("p_cpts").list.join(" + "),
            pl.when(pl.col("site").is_not_null())
            .then(msg(" at the same site (", pl.col("site"), ")"))
            .otherwise(pl.lit(" on the same day (no site to tell them apart)")),
            "; cautery for hemostasis of that wound is included",
        ),
        suggestion=msg(
            "remove 17250 unless it treated granulation tissue at a different site (then "
            "document the site and add XS)",
        ),
        amount=pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")),
    )


@rule(
    "DEST-013",
    scope=("destruction_benign",),
    severity=Severity.REVIEW,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Wart destruction to Medicare without a covered-situation diagnosis",
    level="line",
    requires=("payer", "dx"),
    payers=("medicare_ffs",),
    codes=BENIGN_SESSION,
    out_of_scope="Medicare Advantage and other payers; wart destruction documented with "
    "symptoms in the note but not in a diagnosis code.",
    flags="""
A 17110/17111 line to Medicare FFS (ICD-10 era, no GA/GX/GY/GZ) whose only lesion diagnoses -
on the line and on the encounter - are common/plantar viral warts (B07), when the encounter
has no symptom diagnosis (SYMPTOM_SUPPORT) and none of the wart-coverage situations
(WART_COVERAGE: immunosuppression, chronic conjunctivitis for periocular warts, pain in
hand/foot). Condyloma (A63.0) and molluscum (B08.1) are covered situations and never flagged;
actinic keratosis or skin cancer on the encounter clears it (DEST-011 guard).
""",
    why="""
Medicare's benign-lesion LCDs cover wart destruction only with a symptom (bleeding, pain,
itching, inflammation, obstruction ...) or a listed wart situation (e.g. spreading warts in an
immunosuppressed patient, periocular warts with chronic conjunctivitis, condyloma,
molluscum). Routine removal of asymptomatic warts is not covered: without a supporting
diagnosis the claim invites denial or recoupment, and the patient cannot be billed unless an
ABN (GA) was signed.
""",
    example="17110 x1 with B07.8 only, to Medicare, no modifier.",
    compliant=(
        "17110 with the symptom diagnosis documented (e.g. B07.0 + M79.671 painful plantar "
        "wart); or 17110-GA with a signed ABN (GZ without one) when no indication applies."
    ),
    source=(
        "LCDs Removal of Benign Skin Lesions L35498, L34938, L34200 (wart indications) and "
        "their billing articles; CMS MLN Matters MM7228 and MM6563 (GA/GZ/GY); secondary: AAD"
        " member-to-member (2013) quoting the LCD."
    ),
    amount="2025 national non-facility fee x units of the line (the payment at risk).",
    limits="""
Charge data cannot show symptoms that the record documents but the claim does not code.
SYMPTOM_SUPPORT and WART_COVERAGE are candidate lists, not the MAC's billing-article lists;
replace them with the practice MAC's. Medicare Advantage plans are not checked.
""",
)
def dest_013(ctx: Context) -> pl.LazyFrame:
    support = ctx.ref.dx_prefixes("SYMPTOM_SUPPORT", "WART_COVERAGE")
    lines = ctx.lines.filter(
        one_of("cpt", list(BENIGN_SESSION))
        & (pl.col("payer_class") == "medicare_ffs")
        & ~pl.col("m_abn")  # GA/GX/GY/GZ (features.enrich_lines)
        & (pl.col("dos") >= ICD10_START)
    )
    j = lines.join(
        ctx.days.select(DAY_ID, pl.col("dx").alias("day_dx")), on=DAY_ID, how="left"
    ).with_columns(
        pl.when(pl.col("dx").list.len() > 0)
        .then(pl.col("dx"))
        .otherwise(pl.col("day_dx"))
        .alias("dx_line")
    )
    hit = j.filter(
        only_lesion("dx_line", COMMON_WART)
        & only_lesion("day_dx", COMMON_WART)
        & ~has_dx(support, "day_dx")
    )
    return emit(
        hit,
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (wart destruction) billed to Medicare with only wart diagnoses (",
            dx_text("dx_line"),
            ") and no symptom or covered-situation diagnosis",
        ),
        suggestion=msg(
            "code the documented indication (pain, bleeding, itching, inflammation, "
            "immunosuppression ...) with ",
            pl.col("cpt"),
            "; if none applies, append GA with a signed ABN (GZ without one)",
        ),
        amount=pl.col("fee").fill_null(0.0) * pl.col("units"),
    )
