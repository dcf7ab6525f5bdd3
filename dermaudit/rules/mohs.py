"""Mohs micrographic surgery 17311-17315.

CPT site families: 17311/+17312 head, neck, hands, feet, genitalia (or any site with
deep-structure involvement); 17313/+17314 trunk, arms, legs; +17315 each block beyond 5.
Some marketing texts swap the families; CPT and the CMS RVU short descriptors do not.

The Mohs surgeon acts as both surgeon and pathologist, so the histology of Mohs layers is
part of the Mohs codes (MOHS-003/010). Repairs, flaps and grafts after Mohs are separately
reportable (guards RPR-005 / ATT-003): no rule here flags them.

Provider-level benchmarks: Krishnan et al., JAMA Dermatology 2017 (rulesets/benchmarks.toml)
and the CMS 2021 provider distribution derived by scripts/derive_mohs_benchmarks.py
(rulesets/benchmarks_mohs_mpop2021.toml).
"""

from __future__ import annotations

import re

import polars as pl

from ..features import DAY_ID, DAY_KEY
from ..model import Confidence, Money, Severity
from .base import (
    ICD10_START,
    MALIGNANT_GROUPS,
    MEDICARE,
    PARTNER_ROWS,
    SURG_PATH,
    Context,
    emit,
    has_dx,
    line_field,
    materialise,
    msg,
    non_physician,
    one_of,
    opt_col,
    provider_keys,
    provider_stats,
    rows_of,
    rows_where,
    rule,
)
from .destruction import dx_text, line_fee_sum

MOHS = ("17311", "17312", "17313", "17314", "17315")
MOHS_STAGES = ("17311", "17312", "17313", "17314")
OTHER_FAMILY = {"17311": "17313", "17312": "17314", "17313": "17311", "17314": "17312"}
SPECIMEN_FAMILIES = ("biopsy", "shave", "excision_benign", "excision_malignant")
MIN_PROVIDER_CASES = 20
LCD_MOHS = (
    "Medicare Mohs Micrographic Surgery LCDs L35494 (rev. eff. 2024-10-31), L34195 (rev. "
    "eff. 2024-05-09), L35704 (Noridian JF), L35702 (Noridian JE), L34961 (rev. eff. "
    "2019-11-14) and billing article A56514"
)
CPT_MOHS = (
    "CPT 2025 Professional Edition, Mohs micrographic surgery guidelines (17311-17315: one "
    "physician acts as surgeon and pathologist; the histopathology of the Mohs layers is part "
    "of the codes)"
)


@rule(
    "MOHS-001",
    scope=("mohs",),
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Mohs add-on stage without its primary",
    codes=("17311", "17312", "17313", "17314", "17315"),
    out_of_scope="Two cases at different sites on one day (judged together); the number of "
    "stages medically needed (MOHS-007 looks at rates).",
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
        CPT_MOHS + "; CMS NCCI add-on code (AOC) edits; add-ons carry global 'ZZZ' in the CMS PFS "
        "Relative Value File; Noridian SMRC project 01-095 (Mohs add-on stage review)."
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
        .then(
            msg(
                "use 17314 x",
                u12,
                " with 17313, or 17311 as the first stage if the site is "
                "head/neck/hands/feet/genitalia",
            )
        )
        .otherwise(msg("add the 17311 first stage, or remove 17312")),
        amount=u12 * ctx.fee("17312"),
    )
    b = emit(
        d.filter((u14 > 0) & (u13 == 0)),
        rows=rows_of("17314", "17311"),
        codes=msg("17314 x", u14),
        message=pl.when(u11 > 0)
        .then(
            msg("17314 (trunk/arms/legs add-on) billed with 17311 (head/neck/hands/feet/genitalia)")
        )
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


def _mohs_text() -> pl.Expr:
    """Day frame: '17311 x1 + 17312 x2' for the Mohs lines of the day."""
    return (
        pl.col("lines")
        .list.eval(
            pl.concat_str(
                [line_field("cpt"), pl.lit(" x"), line_field("units").cast(pl.String)]
            ).filter(line_field("family") == "mohs")
        )
        .list.join(" + ")
    )


@rule(
    "MOHS-002",
    unit_families=("mohs",),
    scope=("mohs",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Mohs surgery without a malignant or in-situ diagnosis",
    requires=("dx",),
    codes=MOHS,
    severities={
        Severity.REVIEW: "the encounter's only cancer code is outside the skin-cancer groups "
        "(e.g. a soft-tissue sarcoma code) - the MAC's Mohs article may list it",
    },
    out_of_scope="The LCD's other indications (tumour size, location area, recurrence, "
    "immunosuppression); Mohs before ICD-10 (2015-10-01).",
    flags="""
17311-17315 on a day (ICD-10 era) whose encounter has diagnoses but none in the malignant or
in-situ groups (C43, C4A, C44, D03, D04, MAL_OTHER - which rulesets/icd10_groups_mohs.csv
extends with external-lip, vulvar, penile and scrotal cancers). An encounter whose only
cancer code is outside those groups (for example a soft-tissue sarcoma code) is asked for a
review instead.
""",
    why="""
Mohs LCDs cover Mohs only for skin cancers that meet their indications (melanoma in situ in
limited circumstances). Actinic keratoses and benign lesions are not Mohs indications, so a
Mohs claim without a cancer diagnosis is unsupported and recoupable.
""",
    example="17311 x1 + 17312 x1 with D48.5 (uncertain behaviour) as the only diagnosis.",
    compliant=(
        "17311 + 17312 with the pathology-confirmed diagnosis, e.g. C44.311 (BCC of the nose); "
        "no Mohs codes for a lesion that is not malignant."
    ),
    source=(
        LCD_MOHS
        + "; ICD-10-CM FY2026 tabular list (C43, C4A, C44, D03, D04); secondary: Practical "
        "Dermatology 2011 survey of the Mohs LCDs."
    ),
    amount="2025 national non-facility fee x units of every Mohs line of the day.",
    limits="""
The practice MAC's Mohs article may list further cutaneous malignancies (DFSP, extramammary
Paget, sebaceous carcinoma ...): add them to MAL_OTHER in rulesets/icd10_groups_mohs.csv or
a --ruleset layer. Diagnoses are read from the whole encounter.
""",
)
def mohs_002(ctx: Context) -> pl.LazyFrame:
    mal = ctx.ref.dx_prefixes(*MALIGNANT_GROUPS)
    d = ctx.days.filter(
        (pl.col("dos") >= ICD10_START)
        & (ctx.fu("mohs") > 0)
        & (pl.col("dx").list.len() > 0)
        & ~has_dx(mal)
    )
    other_cancer = has_dx(["C", "D0"])
    return emit(
        d,
        rows=rows_of(*MOHS),
        codes=_mohs_text(),
        message=msg(
            "Mohs ",
            _mohs_text(),
            " billed with no malignant or in-situ diagnosis on the encounter (diagnoses: ",
            dx_text("dx"),
            ")",
            pl.when(other_cancer).then(
                pl.lit(
                    "; the cancer code present is outside the skin-cancer groups - check "
                    "the MAC's Mohs article"
                )
            ),
        ),
        suggestion=msg(
            "add the pathology-confirmed skin-cancer diagnosis (C43/C4A/C44/D03/D04 or one "
            "the MAC's Mohs article lists) to the Mohs lines; if the lesion was not malignant, "
            "do not bill ",
            _mohs_text(),
        ),
        amount=line_fee_sum(MOHS),
        severity=pl.when(other_cancer).then(pl.lit("review")).otherwise(pl.lit("compliance")),
    )


def _path_amount() -> pl.Expr:
    return pl.coalesce(pl.col("charge"), pl.col("fee") * pl.col("units"))


def _mohs_day_info(ctx: Context) -> pl.LazyFrame:
    """Per day with Mohs: Mohs rows, other specimen procedures, frozen-section rows."""
    specimen = pl.sum_horizontal([ctx.fu(f) for f in SPECIMEN_FAMILIES]) > 0
    return ctx.days.filter(ctx.fu("mohs") > 0).select(
        DAY_ID,
        rows_of(*MOHS).alias("mohs_rows"),
        _mohs_text().alias("mohs_txt"),
        specimen.alias("other_specimen"),
        rows_of("88331", "88332").alias("fs_rows"),
    )


@rule(
    "MOHS-003",
    unit_families=("mohs", *SPECIMEN_FAMILIES),
    scope=("mohs",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Surgical pathology billed on a Mohs day without a distinct-specimen modifier",
    level="line",
    codes=MOHS,
    severities={
        Severity.REVIEW: "the day also has a biopsy, shave or excision whose specimen the "
        "pathology may belong to (the modifier may be all that is missing; the pair's NCCI "
        "indicator is unverified)",
    },
    out_of_scope="Pathology billed under a different rendering provider (a dermatopathologist); "
    "which specimen a pathology unit belongs to.",
    flags="""
A surgical pathology line (88302-88309, e.g. 88305) billed by the same rendering provider, for
the same patient and day as Mohs (17311-17315), without 59/XS/XU/XE. When the day also has a
biopsy, shave or excision whose specimen the pathology may belong to, the finding is a review
(the modifier may be all that is missing) rather than an overbilling.
""",
    why="""
The Mohs codes include the surgeon's own histopathology of every Mohs layer; the same tissue
may not also be billed with surgical pathology codes. Separate tissue (a biopsy of another
lesion, or a debulking specimen sent for permanent sections) can be billed, with a
distinct-specimen modifier.
""",
    example="17311 + 17312 + 88305 x2 on one day, no modifier, no other specimen procedure.",
    compliant=(
        "17311 + 17312 alone; 88305-59 (or XS) only for a separate specimen such as a biopsy "
        "of another lesion or a debulk sent for formalin processing."
    ),
    source=(
        CPT_MOHS
        + "; "
        + LCD_MOHS
        + "; CPT Assistant Feb 2014 as cited by AAD (Mar 2020: separate tissue sent for "
        "permanent sections may be reported); NCCI Policy Manual for Medicare Services ch. X "
        "(Pathology) and ch. III (Mohs Micrographic Surgery); CMS NCCI practitioner PTP edits"
        " 17311-17315 / 88302-88309 (indicator unverified in the shipped excerpt)."
    ),
    amount="The pathology line's charge (pathology has no single fee in the code table).",
    limits="""
Pathology billed under a different rendering provider (a dermatopathologist) is not
compared. The export cannot show which specimen a pathology unit belongs to.
""",
)
def mohs_003(ctx: Context) -> pl.LazyFrame:
    path = ctx.lines.filter(one_of("cpt", list(SURG_PATH)) & ~pl.col("m_distinct"))
    j = path.join(_mohs_day_info(ctx), on=DAY_ID, how="inner")
    other = pl.col("other_specimen")
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), pl.col("mohs_rows")).list.unique().list.sort(),
        codes=msg(pl.col("cpt"), " + ", pl.col("mohs_txt")),
        message=msg(
            pl.col("cpt"),
            " x",
            pl.col("units"),
            " billed on the Mohs day (",
            pl.col("mohs_txt"),
            ") without 59/XS/XU",
            pl.when(other)
            .then(
                pl.lit(
                    "; if it is for the day's separate biopsy/shave/excision specimen it "
                    "needs the modifier to be paid"
                )
            )
            .otherwise(pl.lit("; Mohs includes the histology of the Mohs layers")),
        ),
        suggestion=pl.when(other)
        .then(
            msg(
                "append 59 or XS to ",
                pl.col("cpt"),
                " if it examined the separate "
                "biopsy/shave/excision specimen; remove it if it examined Mohs tissue",
            )
        )
        .otherwise(
            msg(
                "remove ",
                pl.col("cpt"),
                " (Mohs tissue is examined within the Mohs codes); "
                "bill it with 59/XS only for separate tissue such as a debulk sent for "
                "permanent sections",
            )
        ),
        amount=_path_amount(),
        # the Mohs/pathology pair's NCCI indicator is unverified: a missing modifier is a review
        severity=pl.when(other).then(pl.lit("review")).otherwise(pl.lit("compliance")),
        money=pl.when(other).then(pl.lit("under")).otherwise(pl.lit("over")),
    )


def _distinct_or_anatomic(ctx: Context) -> pl.Expr:
    """Line carries 59, an X{EPSU} modifier or an anatomic modifier (LT/RT, E1-E4, F*, T*)."""
    mods = ["59", "XE", "XS", "XP", "XU", *ctx.ref.modifiers_of("anatomic")]
    return pl.col("mods").list.eval(pl.element().is_in(mods)).list.any().fill_null(False)


PRIOR_BIOPSY_DAYS = 60  # a biopsy this many days before the Mohs date is a prior diagnosis


def _mohs_stage_lines(ctx: Context) -> pl.LazyFrame:
    """The Mohs stage lines (17311-17314) with their site, diagnoses and modifier flag."""
    return ctx.lines.filter(one_of("cpt", list(MOHS_STAGES))).select(
        DAY_ID,
        pl.col("_row").alias("m_row"),
        pl.col("cpt").alias("m_cpt"),
        pl.col("site").alias("m_site"),
        pl.col("dx").alias("m_dx"),
        _distinct_or_anatomic(ctx).alias("m_mod"),
    )


def _same_site_mohs(ctx: Context) -> pl.LazyFrame:
    """Per (day, site): the Mohs stage rows at that site text (at most PARTNER_ROWS)."""
    return (
        _mohs_stage_lines(ctx)
        .filter(pl.col("m_site").is_not_null())
        .group_by(DAY_ID, "m_site")
        .agg(
            pl.col("m_row").sort().head(PARTNER_ROWS).alias("same_rows"),
            pl.col("m_cpt").unique(maintain_order=True).alias("same_cpts"),
        )
        .rename({"m_site": "site"})
    )


def prior_biopsy(ctx: Context, left: pl.LazyFrame) -> pl.LazyFrame:
    """For lines of ``left`` (``_file``, ``_row``, ``patient_id``, ``dos``, ``site``): the latest
    skin biopsy of the patient in the PRIOR_BIOPSY_DAYS before the date - at the same site
    text (``prior_same``), or at any site when either site is unknown (``prior_any``) - with
    its date (``prior_dos``). ``join_asof`` look-backs, no pair join."""
    # the biopsies of left's patients only: the look-backs match on the patient
    bx = (
        ctx.lines.filter(pl.col("family") == "biopsy")
        .select("patient_id", "dos", "site")
        .join(left.select("patient_id").unique(), on="patient_id", how="semi")
    )

    def back(lf: pl.LazyFrame, rel: pl.LazyFrame, by: list[str], name: str) -> pl.LazyFrame:
        return (
            lf.select("_file", "_row", *by, "dos")
            .drop_nulls(by)
            .sort("dos")
            .join_asof(
                rel.select(*by, "dos", pl.col("dos").alias(name)).drop_nulls(by).sort("dos"),
                on="dos",
                by=by,
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
            .filter((pl.col("dos") - pl.col(name)).dt.total_days() <= PRIOR_BIOPSY_DAYS)
            .select("_file", "_row", name)
        )

    same = back(left, bx, ["patient_id", "site"], "prior_same")
    # either site unknown: any earlier biopsy may have been of this lesion
    unk_prior = back(left, bx.filter(pl.col("site").is_null()), ["patient_id"], "prior_u1")
    unk_here = back(left.filter(pl.col("site").is_null()), bx, ["patient_id"], "prior_u2")
    return (
        left.select("_file", "_row")
        .join(same, on=["_file", "_row"], how="left")
        .join(unk_prior, on=["_file", "_row"], how="left")
        .join(unk_here, on=["_file", "_row"], how="left")
        .select(
            "_file",
            "_row",
            pl.col("prior_same").is_not_null().alias("prior_same"),
            (pl.col("prior_u1").is_not_null() | pl.col("prior_u2").is_not_null()).alias(
                "prior_any"
            ),
            pl.coalesce("prior_same", "prior_u1", "prior_u2").alias("prior_dos"),
        )
    )


def _frozen_section_days(ctx: Context) -> pl.LazyFrame:
    """Mohs days with a frozen section (88331/88332): ``fs_mod`` = every frozen-section line
    carries 59 or an X{EPSU} modifier."""
    mohs_days = ctx.lines.filter(one_of("cpt", list(MOHS_STAGES))).select(DAY_ID).unique()
    return (
        ctx.lines.filter(one_of("cpt", ["88331", "88332"]))
        .join(mohs_days, on=DAY_ID, how="semi")
        .group_by(DAY_ID)
        .agg(pl.col("m_distinct").all().alias("fs_mod"))
    )


def frozen_section_exception(ctx: Context) -> pl.LazyFrame:
    """Lines (``_file``, ``_row``) of the pre-Mohs diagnostic biopsy exception: on a Mohs day
    with a frozen section, a skin biopsy carrying 59/X{EPSU} whose frozen-section lines also do,
    with no biopsy of the patient in the 60 days before (no prior diagnosis, at the same site
    or - when a site is unknown - anywhere), and those frozen-section lines. MOD-003 and
    MOHS-004 do not flag them."""
    fs = materialise(_frozen_section_days(ctx).filter(pl.col("fs_mod")))
    if fs.select(pl.len()).collect().item() == 0:  # the usual case: no look-back needed
        return pl.LazyFrame(schema={"_file": pl.String, "_row": pl.Int64})
    bx = (
        ctx.lines.filter((pl.col("family") == "biopsy") & pl.col("m_distinct"))
        .join(fs, on=DAY_ID, how="semi")
        .select("_file", "_row", DAY_ID, "patient_id", "dos", "site")
    )
    ok = bx.join(prior_biopsy(ctx, bx), on=["_file", "_row"], how="left").filter(
        ~pl.col("prior_same").fill_null(False) & ~pl.col("prior_any").fill_null(False)
    )
    fs_lines = (
        ctx.lines.filter(one_of("cpt", ["88331", "88332"]))
        .join(ok.select(DAY_ID).unique(), on=DAY_ID, how="semi")
        .select("_file", "_row")
    )
    return pl.concat([ok.select("_file", "_row"), fs_lines], how="vertical").unique()


@rule(
    "MOHS-004",
    unit_families=("mohs", *SPECIMEN_FAMILIES),
    scope=("mohs",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Same-day biopsy on a Mohs day (same lesion, prior diagnosis, or no modifier)",
    level="history",
    codes=(*MOHS, "88331", "88332"),
    severities={
        Severity.REVIEW: "a frozen section is on the day but the biopsy or frozen-section line "
        "lacks 59/XS, or a prior biopsy exists at an unknown site",
        Severity.DENIAL: "no frozen section, the sites differ or are unknown and neither line "
        "carries 59/X{EPSU} or an anatomic modifier (the NCCI edit bundles the biopsy)",
    },
    out_of_scope="Biopsies with XS/59 at the Mohs site and no frozen section (MOD-003); "
    "whether pathology from outside the practice existed (only biopsies in the data are "
    "seen); biopsies more than 60 days before the Mohs.",
    flags="""
A skin biopsy line (11102-11107, older 11100/11101, site-specific biopsies) on the same day,
patient and provider as a Mohs stage (BX-003 leaves Mohs dates to this rule):
(a) a frozen section (88331) that day:
    - no finding when the biopsy and the frozen section both carry 59/XS (or another X{EPSU})
      and the patient had no biopsy in the 60 days before: the pre-Mohs diagnostic biopsy,
      separately reportable;
    - compliance when a biopsy of the same site is in the 60 days before: the diagnosis was
      already known, so a '59' biopsy of the same lesion is not separately reportable (review
      when the earlier biopsy's site is unknown);
    - review when the biopsy or the frozen section lacks 59/XS;
(b) no frozen section, the biopsy names the same site as a Mohs line and carries no 59,
X{EPSU} or anatomic modifier - compliance: the biopsy of the Mohs lesion is included in the
Mohs (with XS/59 at the same site the pair is MOD-003's finding);
(c) no frozen section, sites different or unknown, and neither line carries 59, X{EPSU} or an
anatomic modifier - denial: the NCCI edit bundles the biopsy into the Mohs, losing it if it
was a separate lesion.
""",
    why="""
Mohs includes sampling of the tumour it removes. A same-day biopsy of that lesion is
separately reportable only when no prior pathology was available and a frozen section of the
biopsy made the diagnosis that led to the Mohs the same day; then the biopsy and 88331 are
reported with 59 (or XS). After a prior diagnosis the same-day biopsy is part of the Mohs. A
biopsy of a different lesion is payable with a distinct-site modifier; without one it is denied
as bundled.
""",
    example="11102 + 17311 at the same site (left nasal ala), no frozen section; or 11104-59 + "
    "88331-59 + 17311 three weeks after a biopsy of the same nasal ala.",
    compliant=(
        "17311 alone for a lesion already biopsied; 11104-59 + 88331-59 + 17311 when a same-day "
        "biopsy read by frozen section (no prior pathology) led to the Mohs; 11102-XS for a "
        "biopsy of another lesion, its site documented."
    ),
    source=(
        CPT_MOHS + "; NCCI Policy Manual for Medicare Services (revision effective 2025-01-01) "
        "ch. III (Mohs Micrographic Surgery: a biopsy and frozen section on the day of Mohs are "
        "separately reportable only when no prior pathology was available and they led to the "
        "decision for Mohs, with modifier 59 or XS) and ch. I (biopsy with a removal of the same "
        "lesion); CMS NCCI practitioner PTP edits 17311-17315 / 11102-11107 and 88331/88332; "
        "Mohs billing article A56836; secondary: CodingIntel, Ellzey Coding Solutions (2016), "
        "verity.backworkai.com's summary of A56836 ('no prior biopsy within 60 days')."
    ),
    amount="""
2025 national non-facility fee x units of the biopsy line (its charge when the code has no
fee): overpaid for a prior diagnosis or (b), at risk of denial for (c), to verify for (a).
""",
    limits="""
Sites compare as exact text; two lesions described with the same word are read as one. A
prior diagnosis is seen only as a biopsy line of the patient in the data within 60 days (the
window of the MAC article as summarised; pathology from another practice is invisible), so a
frozen-section biopsy without one is taken as the diagnostic exception. Without a site column,
(c) cannot tell a separate lesion from the Mohs lesion, so its money direction is 'either'.
""",
)
def mohs_004(ctx: Context) -> pl.LazyFrame:
    days = _mohs_day_info(ctx)
    bx = (
        ctx.lines.filter(pl.col("family") == "biopsy")
        .join(days.select(DAY_ID), on=DAY_ID, how="semi")
        .with_columns(_distinct_or_anatomic(ctx).alias("l_mod"))
    )
    m_mod = _mohs_stage_lines(ctx).group_by(DAY_ID).agg(pl.col("m_mod").any())
    per = (
        bx.join(days, on=DAY_ID, how="inner")
        .join(m_mod, on=DAY_ID, how="left")
        .join(_frozen_section_days(ctx), on=DAY_ID, how="left")
        .join(_same_site_mohs(ctx), on=[DAY_ID, "site"], how="left")
        .join(prior_biopsy(ctx, bx), on=["_file", "_row"], how="left")
        .with_columns(
            pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")).alias("amt"),
            pl.col("same_rows").is_not_null().alias("same_site"),
            pl.col("m_mod").fill_null(False),
        )
    )
    fs = pl.col("fs_rows").list.len() > 0
    prior = pl.col("prior_same") | pl.col("prior_any")
    mods_ok = pl.col("m_distinct") & pl.col("fs_mod").fill_null(False)
    prior_fs = fs & prior
    fs_review = fs & ~prior & ~mods_ok
    same = ~fs & pl.col("same_site") & ~pl.col("l_mod")
    no_mod = ~fs & ~pl.col("same_site") & ~pl.col("l_mod") & ~pl.col("m_mod")
    hit = per.filter(prior_fs | fs_review | same | no_mod)
    return emit(
        hit,
        rows=pl.when(fs)
        .then(pl.concat_list(pl.col("_row"), pl.col("mohs_rows"), pl.col("fs_rows")))
        .when(same)
        .then(pl.concat_list(pl.col("_row"), pl.col("same_rows")))
        .otherwise(pl.concat_list(pl.col("_row"), pl.col("mohs_rows")))
        .list.unique()
        .list.sort(),
        codes=msg(pl.col("cpt"), " + ", pl.col("mohs_txt"), pl.when(fs).then(pl.lit(" + 88331"))),
        message=pl.when(prior_fs)
        .then(
            msg(
                "biopsy ",
                pl.col("cpt"),
                " with a frozen section (88331) on the Mohs day (",
                pl.col("mohs_txt"),
                "), but the patient had a biopsy ",
                pl.when(pl.col("prior_same")).then(pl.lit("of the same site ")),
                "on ",
                pl.col("prior_dos"),
                ": with a prior diagnosis the same-day biopsy is part of the Mohs",
            )
        )
        .when(fs)
        .then(
            msg(
                "biopsy ",
                pl.col("cpt"),
                " with a frozen section (88331) on the Mohs day (",
                pl.col("mohs_txt"),
                "): payable only as the pre-Mohs diagnostic biopsy, reported with 59 (or XS) on "
                "the biopsy and the frozen section",
                pl.when(~pl.col("m_distinct")).then(pl.lit("; the biopsy line lacks 59/XS")),
                pl.when(~pl.col("fs_mod").fill_null(False)).then(
                    pl.lit("; the frozen-section line lacks 59/XS")
                ),
            )
        )
        .when(same)
        .then(
            msg(
                "biopsy ",
                pl.col("cpt"),
                " at the same site as the Mohs (",
                pl.col("site"),
                ") with no frozen section: the biopsy of the Mohs lesion is included in the Mohs",
            )
        )
        .otherwise(
            msg(
                "biopsy ",
                pl.col("cpt"),
                " billed with Mohs ",
                pl.col("mohs_txt"),
                " on the same day and neither line carries 59/XS/XU/XE or an anatomic "
                "modifier, so the biopsy is bundled by the NCCI edit",
            )
        ),
        suggestion=pl.when(prior_fs)
        .then(
            msg(
                "remove ",
                pl.col("cpt"),
                " and 88331 unless the biopsy was of a different lesion (then XS with its own "
                "site); bill ",
                pl.col("mohs_txt"),
                " alone",
            )
        )
        .when(fs)
        .then(
            msg(
                "if no prior pathology was available and the frozen section led to the Mohs, "
                "append 59 (or XS) to ",
                pl.col("cpt"),
                " and to 88331; otherwise remove them",
            )
        )
        .when(same)
        .then(msg("remove ", pl.col("cpt"), "; bill ", pl.col("mohs_txt"), " alone"))
        .otherwise(
            msg(
                "if the biopsy was of a different lesion, append XS (or 59) to ",
                pl.col("cpt"),
                " and document both sites; if it was the Mohs lesion, remove ",
                pl.col("cpt"),
            )
        ),
        amount=pl.col("amt"),
        severity=pl.when(prior_fs & pl.col("prior_same"))
        .then(pl.lit("compliance"))
        .when(fs)
        .then(pl.lit("review"))
        .when(same)
        .then(pl.lit("compliance"))
        .otherwise(pl.lit("denial")),
        money=pl.when(same | prior_fs | (fs & pl.col("m_distinct")))
        .then(pl.lit("over"))
        .otherwise(pl.lit("either")),
    )


@rule(
    "MOHS-005",
    unit_families=("mohs", *SPECIMEN_FAMILIES),
    scope=("mohs",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Excision or destruction of the Mohs lesion on the Mohs day",
    level="line",
    codes=MOHS,
    severities={
        Severity.REVIEW: "a site is missing and the only link between the lines is a shared "
        "diagnosis code",
    },
    out_of_scope="Lines with 59/X{EPSU}/anatomic modifiers at the same site (MOD-003); repairs "
    "and flaps after Mohs (separately reportable).",
    flags="""
A malignant excision (11600-11646) or malignant destruction (17260-17286) on the same day,
patient and provider as a Mohs stage, at the same site as a Mohs line and without 59, an
X{EPSU} or an anatomic modifier on the excision/destruction line (compliance); or, when a site
is missing, sharing a diagnosis code with the Mohs line with none of those modifiers on either
line (review). With a modifier and the same site text the pair is left to MOD-003.
""",
    why="""
One lesion has one removal: Mohs removes the tumour, so an excision or destruction of the same
lesion that day bills the removal twice. A different lesion treated the same day is billable
with XS (or 59) and its own site.
""",
    example="17311 + 11641 for the same BCC of the nose.",
    compliant="17311 (+17312) alone; 11602-XS for a different lesion on the back, site documented.",
    source=(
        CPT_MOHS + "; NCCI Policy Manual for Medicare Services ch. III (Lesion Removal; Mohs "
        "Micrographic Surgery): one removal per lesion; secondary: AAPC."
    ),
    amount="2025 national non-facility fee x units of the excision/destruction line.",
    limits="""
Sites compare as exact text. Without sites the export cannot prove the lesions are the same;
a shared diagnosis code only raises a review (two BCCs of the same region share a code).
""",
)
def mohs_005(ctx: Context) -> pl.LazyFrame:
    left = (
        ctx.lines.filter(one_of("family", ["excision_malignant", "destruction_malignant"]))
        .join(_mohs_day_info(ctx).select(DAY_ID), on=DAY_ID, how="semi")
        .with_columns(_distinct_or_anatomic(ctx).alias("l_mod"))
        .filter(~pl.col("l_mod"))
    )
    # (1) a Mohs stage line at the same site text: an equality join on (day, site)
    by_site = left.join(_same_site_mohs(ctx), on=[DAY_ID, "site"], how="inner").select(
        "_file", "_row", pl.col("same_rows").alias("m1"), pl.col("same_cpts").alias("c1")
    )
    # (2) a site missing on either line, and a shared diagnosis code with a Mohs line that
    # carries no distinct-site modifier: an equality join on (day, diagnosis)
    mohs_dx = (
        _mohs_stage_lines(ctx)
        .filter(~pl.col("m_mod"))
        .explode("m_dx")
        .filter(pl.col("m_dx").is_not_null())
        .group_by(DAY_ID, pl.col("m_dx").alias("dx1"), pl.col("m_site").is_null().alias("m_nosite"))
        .agg(
            pl.col("m_row").sort().head(PARTNER_ROWS).alias("m2"),
            pl.col("m_cpt").unique(maintain_order=True).alias("c2"),
        )
    )
    by_dx = (
        left.select("_file", "_row", DAY_ID, "site", pl.col("dx").alias("dx1"))
        .explode("dx1")
        .filter(pl.col("dx1").is_not_null())
        .join(mohs_dx, on=[DAY_ID, "dx1"], how="inner")
        .filter(pl.col("site").is_null() | pl.col("m_nosite"))
        .group_by("_file", "_row")
        .agg(
            pl.col("m2").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("m2"),
            pl.col("c2").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("c2"),
        )
    )
    per = (
        left.join(by_site, on=["_file", "_row"], how="left")
        .join(by_dx, on=["_file", "_row"], how="left")
        .filter(pl.col("m1").is_not_null() | pl.col("m2").is_not_null())
        .with_columns(
            pl.col("m1").is_not_null().alias("same_site"),
            (pl.col("fee").fill_null(0.0) * pl.col("units")).alias("amt"),
            pl.concat_list(
                pl.col("m1").fill_null(pl.lit([], pl.List(pl.Int64))),
                pl.col("m2").fill_null(pl.lit([], pl.List(pl.Int64))),
            )
            .list.unique()
            .list.sort()
            .list.head(PARTNER_ROWS)
            .alias("m_rows"),
            pl.concat_list(
                pl.col("c1").fill_null(pl.lit([], pl.List(pl.String))),
                pl.col("c2").fill_null(pl.lit([], pl.List(pl.String))),
            )
            .list.unique()
            .list.sort()
            .alias("m_cpts"),
        )
    )
    by_site_e = pl.col("same_site")
    return emit(
        per,
        rows=pl.concat_list(pl.col("_row"), pl.col("m_rows")).list.unique().list.sort(),
        codes=msg(pl.col("cpt"), " + ", pl.col("m_cpts").list.join(" + ")),
        message=pl.when(by_site_e)
        .then(
            msg(
                pl.col("cpt"),
                " billed at the same site as Mohs ",
                pl.col("m_cpts").list.join(" + "),
                " (",
                pl.col("site"),
                ") on the same day: one lesion has one removal",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " billed with Mohs ",
                pl.col("m_cpts").list.join(" + "),
                " on the same day for the same diagnosis and no site to tell the lesions apart",
            )
        ),
        suggestion=msg(
            "remove ",
            pl.col("cpt"),
            " if it treated the Mohs lesion; for a different lesion "
            "document its site and append XS (or 59)",
        ),
        amount=pl.col("amt"),
        severity=pl.when(by_site_e).then(pl.lit("compliance")).otherwise(pl.lit("review")),
    )


@rule(
    "MOHS-006",
    scope=("mohs",),
    severity=Severity.REVENUE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Mohs site family does not match the site",
    level="day",
    requires=("site",),
    codes=MOHS,
    severities={
        Severity.REVIEW: "17311/17312 is billed for a trunk or limb site (the 17311 family also "
        "covers deep-structure involvement at any site, which the export cannot show)",
    },
    out_of_scope="Lines without a site or with site words not in rulesets/sites.csv; the "
    "number of tissue blocks (17315).",
    flags="""
17313/17314 (trunk, arms, legs) on a line whose site is head, neck, hands, feet or genitalia
(revenue: 17311/17312 pay more); 17311/17312 on a trunk/arm/leg site (review: 17311 is
also correct at any site when the surgery directly involves muscle, cartilage, bone, tendon,
major nerves or vessels).
""",
    why="""
The Mohs codes are split by site family: 17311/+17312 for head, neck, hands, feet and genitalia
(and deep-structure cases anywhere), 17313/+17314 for trunk, arms and legs. A head-and-neck
case coded as trunk leaves money uncollected; a trunk case coded as head-and-neck without a
documented deep-structure involvement is overbilled.
""",
    example="17313 + 17314 for a BCC of the left temple.",
    compliant=(
        "17311 + 17312 for the temple; 17313 + 17314 for the back unless the note documents "
        "deep-structure involvement."
    ),
    source=(
        CPT_MOHS
        + "; CMS PFS Relative Value File short descriptors (family membership); secondary: "
        "Find-A-Code (17311 deep-structure wording); site words: rulesets/sites.csv."
    ),
    amount="""
Sum over the case's stage lines of (2025 fee of the other site family's code - fee of the
billed code) x units: 17311 vs 17313 $39.78, 17312 vs 17314 $17.14 per unit. One finding per
Mohs case (the stage lines of one day naming the same site).
""",
    limits="""
Site words are mapped by rulesets/sites.csv ('arm' and 'hand' are different families; an
unknown word is skipped). The deep-structure exception cannot be seen in charges, hence
review for 17311 on trunk/limb sites.
""",
)
def mohs_006(ctx: Context) -> pl.LazyFrame:
    ref = ctx.ref
    other = pl.col("cpt").replace_strict(OTHER_FAMILY, default=None)
    other_fee = pl.col("cpt").replace_strict(
        {c: ref.fee(o) for c, o in OTHER_FAMILY.items()}, default=None, return_dtype=pl.Float64
    )
    lines = (
        ctx.lines.filter(
            one_of("cpt", list(MOHS_STAGES))
            & pl.col("site_mohs").is_not_null()
            & (pl.col("site_mohs") != pl.col("code_site_group"))
        )
        .with_columns(
            other.alias("other"),
            ((other_fee - pl.col("fee")) * pl.col("units")).abs().alias("diff"),
            msg(pl.col("cpt"), " x", pl.col("units")).alias("billed"),
            msg(other, " x", pl.col("units")).alias("right"),
        )
        .sort("_file", "_row")
    )
    # one finding per Mohs case: the stage lines of one day that name the same site
    case = lines.group_by(*DAY_KEY, "site", "site_mohs", maintain_order=True).agg(
        pl.col("_file", "claim_id", "payer_class").first(),
        pl.col("_row").alias("rows"),
        pl.col("billed").str.join(" + "),
        pl.col("right").str.join(" + "),
        pl.col("diff").sum(),
    )
    head = pl.col("site_mohs") == "HNHFG"
    return emit(
        case,
        rows=pl.col("rows"),
        codes=msg(pl.col("billed"), " -> ", pl.col("right")),
        message=pl.when(head)
        .then(
            msg(
                pl.col("billed"),
                " (trunk/arms/legs family) billed for site '",
                pl.col("site"),
                "', which is head/neck/hands/feet/genitalia",
            )
        )
        .otherwise(
            msg(
                pl.col("billed"),
                " (head/neck/hands/feet/genitalia family) billed for site '",
                pl.col("site"),
                "', which is trunk/arms/legs; correct only if the surgery "
                "directly involved muscle, cartilage, bone, tendon, major nerve or vessel",
            )
        ),
        suggestion=pl.when(head)
        .then(msg("bill ", pl.col("right"), " instead of ", pl.col("billed")))
        .otherwise(
            msg(
                "bill ",
                pl.col("right"),
                " instead of ",
                pl.col("billed"),
                " unless deep-structure involvement is documented",
            )
        ),
        amount=pl.col("diff"),
        severity=pl.when(head).then(pl.lit("revenue")).otherwise(pl.lit("review")),
        money=pl.when(head).then(pl.lit("under")).otherwise(pl.lit("over")),
    )


def _fmt(x: pl.Expr, digits: int = 2) -> pl.Expr:
    return x.round(digits).cast(pl.String)


# (key in column names, primary, add-on, site family text, benchmark section)
STAGE_FAMILIES = (
    ("hn", "17311", "17312", "head/neck/hands/feet/genitalia", "mohs_mpop2021_addon_ratio_hnhfg"),
    ("tal", "17313", "17314", "trunk/arms/legs", "mohs_mpop2021_addon_ratio_tal"),
)
STAT_COL = re.compile(r"^cases_(hn|tal)_(\d{4})$")


def _mohs_007_stats(ctx: Context) -> pl.LazyFrame:
    """Per provider, additive: first-stage units (cases_<fam>_<year>) and add-on stage units
    (extra_<fam>_<year>) for each site family and calendar year of the data."""
    lines = ctx.lines.filter(one_of("cpt", list(MOHS_STAGES))).with_columns(
        pl.col("dos").dt.year().alias("year")
    )
    years = (
        range(ctx.first_dos.year, ctx.last_dos.year + 1)
        if ctx.first_dos is not None and ctx.last_dos is not None
        else range(0)
    )
    aggs: list[pl.Expr] = []
    for key, primary, addon, _, _ in STAGE_FAMILIES:
        for y in years:
            in_year = pl.col("year") == y
            aggs += [
                pl.col("units")
                .filter(in_year & (pl.col("cpt") == primary))
                .sum()
                .alias(f"cases_{key}_{y}"),
                pl.col("units")
                .filter(in_year & (pl.col("cpt") == addon))
                .sum()
                .alias(f"extra_{key}_{y}"),
            ]
    per = lines.group_by("provider").agg(pl.len().alias("stage_lines"), *aggs)
    return provider_stats(lines.select("_file", "_row", "provider"), per)


@rule(
    "MOHS-007",
    severity=Severity.REVIEW,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Mohs stages-per-case outlier (provider)",
    level="provider",
    stats=_mohs_007_stats,
    codes=MOHS,
    out_of_scope="Whether any single stage was needed; providers with fewer than 20 cases in "
    "a family and year.",
    flags="""
A rendering provider whose Mohs stages per case in a calendar year - 1 + (17312 units /
17311 units) for head/neck/hands/feet/genitalia, 1 + (17314 units / 17313 units) for
trunk/arms/legs - is above the national 95th percentile of Medicare providers in 2021
(rulesets/benchmarks_mohs_mpop2021.toml), with at least 20 cases (first-stage units) in that
family and year. One finding per provider lists every flagged family and year.
""",
    why="""
Additional Mohs stages are paid per stage, so a high stages-per-case rate drives payment.
Krishnan et al. (JAMA Dermatology 2017) found a national mean of 1.74 (median 1.69) stages per
head-and-neck case in Medicare 2012-2014, and 49 surgeons persistently above the high-outlier
cut-off of 2.41; CMS's Supplemental Medical Review Contractor has reviewed 17312/17314 claims
(project 01-095). An outlier rate is a pattern for review, not an error.
""",
    example="A surgeon with 40 head-and-neck cases in 2024 billed as 17311 x40 + 17312 x60 "
    "(2.5 stages per case).",
    compliant=(
        "Each 17312/17314 stage supported by a documented positive margin on the previous "
        "stage's map; rates near the national median (about 1.6 stages per head-and-neck case)."
    ),
    source=(
        "Krishnan A. et al., JAMA Dermatology 2017 (rulesets/benchmarks.toml, S); CMS Medicare "
        "Physician & Other Practitioners by Provider and Service CY2021, derived by "
        "scripts/derive_mohs_benchmarks.py (rulesets/benchmarks_mohs_mpop2021.toml); Noridian "
        "SMRC project 01-095."
    ),
    amount="None (no documented estimate of the excess; the message gives the rates).",
    limits="""
The benchmark is Medicare FFS 2021 per-provider data, while a practice's export may hold all
payers and other years; 2021 percentiles also exclude providers whose add-on row CMS
suppressed. Krishnan's figures describe the head-and-neck family only. Complex case mixes
(large or recurrent tumours, referral centres) legitimately run high: review only, minimum
20 cases per family and year.
""",
)
def mohs_007(ctx: Context, stats: pl.LazyFrame) -> pl.LazyFrame:
    ref = ctx.ref
    k_median = ref.bench("mohs_stages_per_case_median")
    k_cut = ref.bench("mohs_stages_per_case_outlier")
    fams = {key: (primary, addon, label, sec) for key, primary, addon, label, sec in STAGE_FAMILIES}
    cells = sorted(
        (m.group(2), m.group(1))
        for c in stats.collect_schema().names()
        if (m := STAT_COL.match(c)) is not None
    )
    texts: list[pl.Expr] = []
    flagged_fams: list[pl.Expr] = []
    for year, key in cells:
        primary, addon, label, sec = fams[key]
        b = ref.benchmarks[sec]
        thr = 1.0 + float(b["value"])
        med = 1.0 + float(b["median"])
        cases = pl.col(f"cases_{key}_{year}").fill_null(0)
        extra = pl.col(f"extra_{key}_{year}").fill_null(0)
        spc = 1.0 + extra / cases
        hit = (cases >= MIN_PROVIDER_CASES) & (spc > thr)
        if key == "hn":
            krishnan = (
                pl.when(spc > k_cut)
                .then(pl.lit(f"; also above Krishnan 2017's high-outlier cut-off {k_cut:.2f}"))
                .otherwise(
                    pl.lit(
                        f"; Krishnan 2017: median {k_median:.2f}, high-outlier cut-off {k_cut:.2f}"
                    )
                )
            )
        else:
            krishnan = pl.lit("")
        text = msg(
            f"{year} {label}: ",
            _fmt(spc),
            f" stages per case ({primary} x",
            cases,
            f" cases, {addon} x",
            extra,
            f"); CMS 2021 national median {med:.2f}, 95th percentile {thr:.2f} (review "
            f"trigger, n={int(b['n_providers'])} providers)",
            krishnan,
        )
        texts.append(pl.when(hit).then(text))
        flagged_fams.append(pl.when(hit).then(pl.lit(f"{primary}/{addon}")))
    if not texts:
        texts, flagged_fams = [pl.lit(None, pl.String)], [pl.lit(None, pl.String)]
    frame = stats.with_columns(
        pl.concat_list(texts).list.drop_nulls().alias("texts"),
        pl.concat_list(flagged_fams)
        .list.drop_nulls()
        .list.unique(maintain_order=True)
        .alias("fams"),
        *provider_keys(),
    ).filter(pl.col("texts").list.len() > 0)
    return emit(
        frame,
        rows=pl.col("sup_rows"),
        codes=pl.col("fams").list.join(", "),
        message=msg(
            "Mohs stages per case above the national 95th percentile for ",
            pl.col("provider"),
            ": ",
            pl.col("texts").list.join("; "),
        ),
        suggestion=msg(
            "review a sample of this provider's Mohs cases: each 17312/17314 stage needs a "
            "documented positive margin on the previous stage's map; confirm the case mix "
            "(tumour size, recurrence) explains the rate",
        ),
        amount=pl.lit(None, pl.Float64),
    )


def _mohs_008_stats(ctx: Context) -> pl.LazyFrame:
    """Per provider, additive: Mohs days (17311 or 17313), those with an office E/M, those
    with an E/M-25; support = the E/M and first-stage rows of the Mohs days with an E/M."""
    em25 = rows_where(line_field("is_em") & line_field("m25")).list.len() > 0
    d = ctx.days.filter((ctx.u("17311") + ctx.u("17313")) > 0).with_columns(
        pl.col("has_em").fill_null(False).alias("em"),
        em25.fill_null(False).alias("em25"),
        pl.concat_list(rows_where(line_field("is_em")), rows_of("17311", "17313")).alias("_row"),
    )
    per = d.group_by("provider").agg(
        pl.len().alias("n_days"),
        pl.col("em").sum().alias("n_em"),
        pl.col("em25").sum().alias("n_em25"),
    )
    support = d.filter(pl.col("em")).select("_file", "provider", "_row").explode("_row")
    return provider_stats(support, per)


@rule(
    "MOHS-008",
    severity=Severity.REVIEW,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Same-day E/M on Mohs days above the typical rate (provider)",
    level="provider",
    stats=_mohs_008_stats,
    codes=MOHS,
    out_of_scope="Whether any single Mohs-day E/M was separately identifiable (EM-001/EM-003 "
    "judge lines); providers with fewer than 20 Mohs days.",
    flags="""
A rendering provider who billed an office E/M (99202-99215, with or without modifier 25) on
more than the typical share of Mohs days (days with 17311 or 17313): the threshold is
rulesets/benchmarks.toml 'mohs_same_day_em_share_typical' (25%), counted over the audited
period with at least 20 Mohs days.
""",
    why="""
Mohs has a 0-day global: the evaluation that leads to the Mohs that day is part of it, and a
same-day E/M is payable only for a significant, separately identifiable problem (modifier
25). A Cutis/MDedge commentary citing AMA RUC data puts same-day E/M with Mohs below 25% in
Medicare and describes audits of a practice that billed an E/M with every Mohs case.
""",
    example="A Mohs surgeon with 40 Mohs days, 36 of them with 99214-25 (90%).",
    compliant=(
        "An E/M with modifier 25 only when the visit addressed a separate problem (e.g. a new "
        "full-skin exam with other lesions managed), documented separately."
    ),
    source=(
        "Cutis/MDedge commentary citing AMA RUC/RBRVS data (May 2016; S, weak) via "
        "rulesets/benchmarks.toml; NCCI Policy Manual ch. I (E/M with 000-global procedures)."
    ),
    amount="None (a rate, not a line error; EM-001 prices individual E/M lines).",
    limits="""
The 25% benchmark is weak (one commentary, Medicare only) and practices that see new
referrals on the Mohs day run higher legitimately. Review only; minimum 20 Mohs days.
""",
)
def mohs_008(ctx: Context, stats: pl.LazyFrame) -> pl.LazyFrame:
    thr = ctx.ref.bench("mohs_same_day_em_share_typical")
    src = ctx.ref.bench_source("mohs_same_day_em_share_typical")
    frame = stats.with_columns(
        (pl.col("n_em") / pl.col("n_days")).alias("share"), *provider_keys()
    ).filter((pl.col("n_days") >= MIN_PROVIDER_CASES) & (pl.col("share") > thr))
    return emit(
        frame,
        rows=pl.col("sup_rows"),
        codes=pl.lit("99202-99215 + 17311/17313"),
        message=msg(
            pl.col("provider"),
            " billed an office E/M on ",
            pl.col("n_em"),
            " of ",
            pl.col("n_days"),
            " Mohs days (",
            _fmt(pl.col("share") * 100, 0).str.replace(r"\.0$", ""),
            "%; ",
            pl.col("n_em25"),
            f" with modifier 25); typical same-day E/M with Mohs is below {thr:.0%} ({src})",
        ),
        suggestion=msg(
            "review a sample of Mohs-day E/M visits: bill 99202-99215-25 only for a separately "
            "identifiable problem documented apart from the Mohs decision; otherwise bill the "
            "Mohs alone",
        ),
        amount=pl.lit(None, pl.Float64),
    )


@rule(
    "MOHS-009",
    scope=("mohs",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.P,
    money=Money.OVER,
    title="Mohs billed under a non-physician practitioner",
    requires=("credential",),
    codes=MOHS,
    severities={
        Severity.REVIEW: "the payer is not Medicare (FFS or Medicare Advantage): the MD/DO limit "
        "is written in Medicare LCDs; other payers follow CPT's single-physician definition by "
        "their own policies",
    },
    out_of_scope="Lines whose credential is blank, unknown or a physician (MD, DO, MBBS...); "
    "who performed the stages when the rendering provider is a physician; incident-to "
    "billing arrangements.",
    flags="""
17311-17315 lines whose rendering provider is a non-physician practitioner - the credential
names one (NP, PA, PA-C, APRN, CNS, RN ...) and no MD/DO degree, or, when the export has a
NUCC taxonomy column, an NPP taxonomy (363L nurse practitioner, 363A physician assistant,
364S clinical nurse specialist) - grouped per day. MD/DO credentials are fine; an unknown or
blank credential gives no finding.
""",
    why="""
Mohs is defined as one physician acting as both surgeon and pathologist. Medicare Mohs LCDs
limit it to physicians: L35494 (geographic jurisdiction includes Michigan) states, citing
Social Security Act §1861(s)(1), that only physicians (MD/DO) may perform it, and billing
article A56514 says Mohs is limited to physicians (i.e., MD/DO); L34961 requires a qualified
MD/DO. Mohs billed under an NP's or PA's number is then not payable by Medicare - a recoupment
and credentialing problem.
""",
    example="17311 + 17312 with rendering credential 'PA-C', billed to Medicare.",
    compliant="Mohs billed under the Mohs surgeon (MD/DO) who performed and read every stage.",
    source=(
        "LCD L35494 Mohs Micrographic Surgery (rev. eff. 2024-10-31; jurisdiction includes "
        "Michigan): 'only physicians (MD/DO) may perform this procedure', citing Social "
        "Security Act §1861(s)(1); billing "
        "article A56514 ('limited to physicians (i.e., MD/DO)'); LCD L34961 (rev. eff. "
        "2019-11-14: performed by a qualified MD/DO); " + CPT_MOHS + "."
    ),
    amount="2025 national non-facility fee x units of the Mohs lines under the non-physician.",
    limits="""
The explicit MD/DO wording was read in L35494 and A56514, and in a summary of L34961;
it was not verified in the other MACs' Mohs LCDs (L34195, L35704 Noridian JF, L35702 Noridian
JE, L33689), so for a practice under another MAC the finding rests on CPT's definition and the
MAC's LCD should be checked. The credential column may hold a specialty or provider type
instead of a degree; only recognised non-physician credentials are flagged ('MD, PA' - a
professional association - is a physician).
""",
)
def mohs_009(ctx: Context) -> pl.LazyFrame:
    m = ctx.lines.filter(one_of("cpt", list(MOHS)) & non_physician(ctx))
    per = m.group_by(*DAY_KEY).agg(
        pl.col("_file", "claim_id", "payer_class").first(),
        pl.col("_row").sort().alias("rows"),
        pl.coalesce(pl.col("credential"), opt_col(ctx, "taxonomy"))
        .unique(maintain_order=True)
        .str.join(", ")
        .alias("creds"),
        pl.concat_str([pl.col("cpt"), pl.lit(" x"), pl.col("units").cast(pl.String)])
        .str.join(" + ")
        .alias("txt"),
        (pl.col("fee").fill_null(0.0) * pl.col("units")).sum().alias("amt"),
    )
    return emit(
        per,
        rows=pl.col("rows"),
        codes=pl.col("txt"),
        message=msg(
            "Mohs ",
            pl.col("txt"),
            " billed under rendering provider ",
            pl.col("provider"),
            " with non-physician credential ",
            pl.col("creds"),
            "; Mohs must be performed and read by a physician (MD/DO)",
        ),
        suggestion=msg(
            "bill the Mohs under the MD/DO Mohs surgeon who performed it and examined the "
            "slides; if a non-physician performed it, do not bill ",
            pl.col("txt"),
        ),
        amount=pl.col("amt"),
        severity=pl.when(one_of("payer_class", MEDICARE))
        .then(pl.lit("compliance"))
        .otherwise(pl.lit("review")),
    )


@rule(
    "MOHS-010",
    unit_families=("mohs", *SPECIMEN_FAMILIES),
    scope=("mohs",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Frozen-section histochemical stain (88314) billed with Mohs",
    level="line",
    codes=MOHS,
    out_of_scope="88314 with 59/X{EPSU} (accepted as a non-routine stain); immunostains "
    "(88342) and other pathology codes.",
    flags="""
88314 billed by the same rendering provider, for the same patient and day as Mohs
(17311-17315), without 59 or an X{EPSU} modifier.
""",
    why="""
The Mohs codes include routine stains of the Mohs sections (hematoxylin and eosin, toluidine
blue); only a non-routine histochemical stain is reported separately with 88314, with a
modifier showing it is not the routine stain.
""",
    example="17311 + 17312 + 88314 x2, no modifier.",
    compliant=(
        "17311 + 17312 alone for routine H&E/toluidine blue; 88314-59 for a documented "
        "non-routine stain."
    ),
    source=(
        CPT_MOHS
        + "; CPT 2025 parenthetical on routine stains with Mohs (not read verbatim, so the rule"
        " is a review: U); CMS NCCI practitioner PTP edits 17311-17315 / 88314."
    ),
    amount="The 88314 line's charge (no fee in the code table).",
    limits="Confidence U: the CPT instruction was not read verbatim. Review only.",
)
def mohs_010(ctx: Context) -> pl.LazyFrame:
    st = ctx.lines.filter((pl.col("cpt") == "88314") & ~pl.col("m_distinct"))
    j = st.join(_mohs_day_info(ctx), on=DAY_ID, how="inner")
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), pl.col("mohs_rows")).list.unique().list.sort(),
        codes=msg("88314 + ", pl.col("mohs_txt")),
        message=msg(
            "88314 x",
            pl.col("units"),
            " billed with Mohs (",
            pl.col("mohs_txt"),
            ") without 59/X{EPSU}; routine Mohs stains are included",
        ),
        suggestion=msg(
            "remove 88314 for routine H&E/toluidine blue; keep it with 59 only for a "
            "documented non-routine histochemical stain",
        ),
        amount=_path_amount(),
    )
