"""Cosmetic services and coverage (Medicare-centric).

Medicare excludes cosmetic surgery (Medicare Benefit Policy Manual, Pub. 100-02, ch. 16
§120). Guards (COS-004): treatment of actinic keratoses (NCD 250.4) and of malignant or
in-situ lesions is never cosmetic, so those encounters are not flagged.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..features import DAY_ID
from ..model import Confidence, Money, Severity
from .base import (
    MALIGNANT_GROUPS,
    MEDICARE,
    Context,
    all_dx_in,
    emit,
    has_dx,
    line_rows,
    msg,
    one_of,
    rule,
)

GUARD_GROUPS = ("PREMALIGNANT", *MALIGNANT_GROUPS)
# L29.8 (other pruritus) became a category on 2024-10-01 (FY2025: L29.81, L29.89;
# rulesets/icd10_changes.csv), so the billable code suggested for itching depends on the date.
L29_SPLIT = date(2024, 10, 1)
INSURED = ["medicare_ffs", "medicare_advantage", "medicaid", "commercial"]


def _with_day_dx(ctx: Context, lines: pl.LazyFrame) -> pl.LazyFrame:
    """Attach the encounter's diagnoses (union over the day) as ``day_dx``."""
    return lines.join(ctx.days.select(DAY_ID, pl.col("dx").alias("day_dx")), on=DAY_ID, how="left")


def _amount() -> pl.Expr:
    """2025 national non-facility amount x units; the line's charge when the code has no fee."""
    return pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge"))


@rule(
    "COS-001",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Cosmetic encounter diagnosis billed to an insurer",
    requires=("payer", "dx"),
    out_of_scope="Cosmetic services coded without a Z41 diagnosis (COS-002, COS-003); "
    "self-pay lines; whether the plan covers the service under a rider.",
    flags="""
A line whose diagnoses include Z41.1 (encounter for cosmetic surgery), Z41.8 or Z41.9, billed
to Medicare, Medicare Advantage, Medicaid or a commercial plan - for Medicare FFS only when
the line lacks GY/GX (statutory exclusion / voluntary ABN).
""",
    why="""
A cosmetic encounter is not a covered benefit. Billing it to an insurer as if covered invites
recoupment; for Medicare the line must carry GY (and GX when a voluntary ABN was given) so it
denies correctly and the patient can be billed.
""",
    example="11300 with Z41.1 to Aetna; 15788 with Z41.1 to Medicare with no modifier.",
    compliant=(
        "Collect from the patient (self-pay); for Medicare, 15788-GY (with GX if an ABN was given)."
    ),
    source=(
        "Medicare Benefit Policy Manual, Pub. 100-02, ch. 16, §120 (cosmetic surgery "
        "exclusion); ICD-10-CM FY2026 tabular list (Z41 category); CMS MLN Matters MM6563 "
        "(GY/GX modifiers); secondary: Palmetto GBA ABN-modifier guide, AAOMS 2010."
    ),
    amount=(
        "2025 national non-facility fee x units of the line (its charge when the code has no "
        "fee in the code table)."
    ),
    limits="""
Z41.1/Z41.8/Z41.9 are checked against the ICD-10-CM FY2026 tabular list, but whether an
insurer treats the whole line as cosmetic depends on its policy and the note (U), so this
asks for a review. Lines with an AK or skin-cancer diagnosis are never flagged (COS-004).
Unknown payer classes are skipped.
""",
)
def cos_001(ctx: Context) -> pl.LazyFrame:
    cosm = ctx.ref.dx_prefixes("COSMETIC_ENCOUNTER")
    guard = ctx.ref.dx_prefixes(*GUARD_GROUPS)
    abn_ok = pl.col("mods").list.eval(pl.element().is_in(["GY", "GX"])).list.any()
    hit = (
        ctx.lines.filter(has_dx(cosm) & one_of("payer_class", INSURED))
        # the guard on those few lines only: as a column, so that the optimizer does not merge
        # it into the filter above and test every line's diagnoses against it
        .with_columns(
            (~has_dx(guard) & ~((pl.col("payer_class") == "medicare_ffs") & abn_ok)).alias("_ok")
        )
        .filter(pl.col("_ok"))
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " billed to ",
            pl.col("payer_class"),
            " with a cosmetic-encounter diagnosis (",
            pl.col("dx")
            .list.eval(pl.element().filter(pl.element().str.starts_with("Z41")))
            .list.join(" "),
            ")",
        ),
        suggestion=pl.when(pl.col("payer_class") == "medicare_ffs")
        .then(
            msg(
                "append GY (and GX if a voluntary ABN was given) to ",
                pl.col("cpt"),
                ", or bill the patient directly",
            )
        )
        .otherwise(
            msg("bill the patient (self-pay) unless the plan covers it; remove it from the claim")
        ),
        amount=_amount(),
    )


@rule(
    "COS-002",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Cosmetic-prone procedure billed to an insurer without coverage support",
    requires=("payer",),
    severities={
        Severity.REVIEW: "the payer is not Medicare FFS, or the code's cosmetic_codes.csv row "
        "is tagged U (blepharoplasty, botulinum toxin, fractional laser)",
    },
    out_of_scope="Codes not in cosmetic_codes.csv; the functional criteria of blepharoplasty "
    "and botulinum-toxin LCDs (visual fields, photographs); self-pay lines.",
    flags="""
A cosmetic-prone procedure (rulesets/cosmetic_codes.csv: dermabrasion, chemical peels,
blepharoplasty, vascular-lesion destruction, electrolysis, fillers, hair transplant,
liposuction, fractional laser, cosmetic botulinum toxin) billed to an insurer when no
diagnosis on the encounter supports a covered indication. Medicare FFS lines are flagged
only without GY/GX/GA/GZ; other insurers are asked for a review of their cosmetic policy.
""",
    why="""
Medicare excludes cosmetic surgery by statute. A cosmetic service billed without GY is either
paid wrongly (overpayment) or denied in a way that leaves the patient not billable. Peels or
dermabrasion for actinic keratoses are covered (NCD 250.4), so those are not flagged.
""",
    example="15788 (facial chemical peel) with L81.4 to Medicare, no modifier.",
    compliant="15788-GY (statutory exclusion), or self-pay; 15788 with L57.0 for AKs is covered.",
    source=(
        "Medicare Benefit Policy Manual, Pub. 100-02, ch. 16, §120; NCD 250.4 Treatment of "
        "Actinic Keratosis (effective 2001-11-26); CMS PFS Relative Value File status "
        "indicators (CY2022 January); CMS MLN Matters MM6563 and MM7228 (GY/GA/GZ/GX)."
    ),
    amount=(
        "2025 national non-facility fee x units of the line (its charge when the code has no "
        "fee in the code table)."
    ),
    limits="""
Which procedures are 'cosmetic-prone' is a judgement (S/U); blepharoplasty's functional
diagnoses come from the MAC's LCD, which was not retrieved, so every blepharoplasty without
GY/GA is flagged - as a review, like every code whose cosmetic_codes.csv row is tagged U
(blepharoplasty, botulinum toxin, fractional laser): a functional blepharoplasty or
hyperhidrosis toxin may well be covered. Non-Medicare insurers get a review finding: their
policies differ.
""",
)
def cos_002(ctx: Context) -> pl.LazyFrame:
    cos = ctx.ref.cosmetic.select(
        pl.col("code").alias("cpt"),
        pl.col("category"),
        pl.col("covered_dx_prefixes").fill_null("").str.split(" ").alias("covered"),
        (
            pl.col("confidence").fill_null("U").str.strip_chars()
            if "confidence" in ctx.ref.cosmetic.columns
            else pl.lit("U")
        ).alias("cos_conf"),
    )
    guard = ctx.ref.dx_prefixes(*GUARD_GROUPS)
    lines = ctx.lines.filter(one_of("payer_class", INSURED) & one_of("cpt", cos["cpt"].to_list()))
    j = _with_day_dx(ctx, lines.join(cos.lazy(), on="cpt", how="inner"))
    j = j.with_columns(pl.concat_list(pl.col("dx"), pl.col("day_dx").fill_null([])).alias("all_dx"))
    supported = (
        j.select("_file", "_row", "all_dx", "covered")
        .explode("covered")
        .explode("all_dx")
        .filter(
            (pl.col("covered") != "")
            & pl.col("all_dx").str.starts_with(pl.col("covered")).fill_null(False)
        )
        .select("_file", "_row")
        .unique()
    )
    medicare = pl.col("payer_class") == "medicare_ffs"
    abn = pl.col("m_abn")  # GA/GX/GY/GZ (features.enrich_lines)
    hit = j.join(supported, on=["_file", "_row"], how="anti").filter(
        ~has_dx(guard, "all_dx") & ~(medicare & abn)
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (",
            pl.col("category"),
            ") billed to ",
            pl.col("payer_class"),
            " with no diagnosis supporting a covered indication",
            pl.when(medicare).then(pl.lit(" and no GY/GX/GA/GZ")).otherwise(pl.lit("")),
        ),
        suggestion=pl.when(medicare)
        .then(
            msg(
                "append GY (statutory exclusion; GX if a voluntary ABN was given) to ",
                pl.col("cpt"),
                ", or add the diagnosis that supports coverage",
            )
        )
        .otherwise(msg("check the plan's cosmetic policy; bill the patient if not covered")),
        amount=_amount(),
        # a U row (blepharoplasty, botulinum toxin, fractional laser: covered-dx list not
        # retrieved) may only produce a review, whatever the payer
        severity=pl.when(medicare & (pl.col("cos_conf") != "U"))
        .then(pl.lit("compliance"))
        .otherwise(pl.lit("review")),
    )


# ---- COS-003 ----------------------------------------------------------------------------

COS003_FAMILIES = ("skin_tag", "shave", "excision_benign", "destruction_benign")
# Groups whose diagnosis on the line documents an LCD indication.
SUPPORT_GROUPS = (
    "SYMPTOM_SUPPORT",
    "SEB_K_INFLAMED",
    "UNCERTAIN_BEHAVIOR",
    "UNSPECIFIED_BEHAVIOR",
)


@rule(
    "COS-003",
    scope=("skin_tag", "shave", "excision_benign", "destruction_benign"),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Benign lesion removal billed to Medicare without an indication-supporting diagnosis",
    requires=("payer", "dx"),
    level="line",
    out_of_scope="Indications documented only in the note (recent change, recurrent trauma); "
    "payers other than Medicare FFS and Medicare Advantage; AK and skin-cancer treatment "
    "(never cosmetic).",
    flags="""
A benign-lesion removal or destruction line (skin tags 11200/11201, shave 11300-11313, benign
excision 11400-11446, benign destruction 17110/17111) billed to Medicare FFS or a Medicare
Advantage plan when the line's diagnoses are only benign lesions whose removal is usually
cosmetic (rulesets/icd10_groups_cosmetic.csv: L82.1, D22, D23, L91.8, L72, D18.01, L81.4;
history/screening codes may sit beside them), none of the line's diagnoses documents an
indication (symptoms such as itching, bleeding, pain, swelling; L82.0 inflamed seborrheic
keratosis; D48.5/D49.2 uncertain or unspecified behaviour) and the line carries no
GA/GZ/GY/GX. The line's own diagnoses (its pointers) are judged, as the payer does; when the
export has no line-level diagnoses, the encounter's diagnoses are used.

Never flagged (COS-004 / DEST-011 guards): a line whose own diagnoses include an actinic
keratosis (L57.0) or a malignant or in-situ skin lesion - only lines whose diagnoses are all
benign are judged, so AK and skin-cancer treatment is never called cosmetic; an unrelated
benign removal on the same day as an AK destruction still is. Left to other rules: Z41.x
cosmetic-encounter lines (COS-001),
vascular destruction 17106-17108 (COS-002), 17110/17111 whose only lesion is a skin tag or a
vascular lesion (TAG-002 / DEST-009: wrong code first).
""",
    why="""
Medicare covers removal of a benign skin lesion only when an LCD indication is documented
(bleeding, intense itching, pain, recent change, physical signs of inflammation, obstruction,
realistic suspicion of malignancy, recurrent trauma...). Removal for appearance is cosmetic and
excluded; billed as covered it is an overpayment, and denied without GA/GY the patient may not
be billable.
""",
    example="11300 (shave, trunk) with L82.1 only, billed to Medicare with no modifier.",
    compliant=(
        "11300 with L82.0 (inflamed SK) or with the symptom code that documents the indication "
        "(e.g. L29.89 itching, L29.8 before FY2025); or 11300-GY billed as cosmetic (patient "
        "pays), or 11300-GA when an ABN was signed."
    ),
    source=(
        "LCDs Removal of Benign Skin Lesions L35498 (rev. eff. 2023-10-26), L34938 (rev. eff."
        " 2019-09-26), L34200 (CGS, rev. eff. 2024-08-08) and their billing articles; "
        "Medicare Benefit Policy Manual, Pub. 100-02, ch. 16, §120; NCD 250.4 (AK treatment "
        "is not cosmetic); ICD-10-CM FY2026 tabular list (billable codes suggested); "
        "secondary: AAD 2013 and AAPC quoting the LCD indications."
    ),
    amount=(
        "2025 national non-facility fee x units of the line (its charge when the code has no "
        "fee in the code table)."
    ),
    limits="""
Confidence U: the indication-supporting diagnosis list (SYMPTOM_SUPPORT) is a candidate list -
the MAC billing articles' ICD-10 lists (A57044, A57482, A57162, A56346) were not retrieved - and
many indications (recent change, recurrent trauma, obstruction) are documented in the note, not
in a diagnosis code. A symptom code that was not pointed to the removal line (only to the
visit, say) does not protect it, although a reviewer may find the indication in the note.
Exports that repeat every encounter diagnosis on every line are judged on that whole list.
Medicare Advantage plans may apply their own criteria.
""",
)
def cos_003(ctx: Context) -> pl.LazyFrame:
    ref = ctx.ref
    benign = ref.dx_prefixes("COS_BENIGN_REMOVAL")
    neutral = ref.dx_prefixes("SCREENING_HISTORY")
    support = ref.dx_prefixes(*SUPPORT_GROUPS)
    cosm = ref.dx_prefixes("COSMETIC_ENCOUNTER")
    wrong_code = ref.dx_prefixes("SKIN_TAG", "HEMANGIOMA", "VASCULAR_COSMETIC")
    codes = ref.family(*COS003_FAMILIES)
    lines = _with_day_dx(
        ctx,
        ctx.lines.filter(one_of("cpt", codes) & one_of("payer_class", MEDICARE)),
    ).with_columns(
        # the line's own diagnoses; the encounter's when the export has no line pointers
        pl.when(pl.col("dx").list.len() > 0)
        .then(pl.col("dx"))
        .otherwise(pl.col("day_dx").fill_null([]))
        .alias("trig"),
    )
    abn = pl.col("m_abn")  # GA/GX/GY/GZ (features.enrich_lines)
    tag_or_vascular = (pl.col("family") == "destruction_benign") & all_dx_in(
        [*wrong_code, *neutral], "trig"
    )
    hit = (
        lines.filter(all_dx_in([*benign, *neutral], "trig") & ~abn)
        # the other diagnosis tests on those few lines only: as a column, so that the
        # optimizer does not merge them into the filter above and run them on every line
        .with_columns(
            (has_dx(benign, "trig") & ~has_dx([*support, *cosm], "trig") & ~tag_or_vascular).alias(
                "_hit"
            )
        )
        .filter(pl.col("_hit"))
    )
    benign_dx = pl.col("trig").list.eval(
        pl.element().filter(_starts_with_any(pl.element(), benign))
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (",
            pl.col("family").str.replace("_", " "),
            ") billed to ",
            pl.col("payer_class"),
            " for ",
            benign_dx.list.join(" "),
            " with no diagnosis documenting a covered indication (itching, bleeding, pain, "
            "inflammation, uncertain diagnosis) and no GA/GZ/GY/GX",
        ),
        suggestion=msg(
            "if the removal met an LCD indication, add the diagnosis that documents it (e.g. "
            "L82.0 inflamed seborrheic keratosis, ",
            pl.when(pl.col("dos") >= L29_SPLIT)
            .then(pl.lit("L29.89 other pruritus"))
            .otherwise(pl.lit("L29.8 other pruritus")),
            ", R58 bleeding); if it was for appearance, bill the patient and append GY to ",
            pl.col("cpt"),
            " (or GA when an ABN was signed)",
        ),
        amount=_amount(),
    )


def _starts_with_any(e: pl.Expr, prefixes: list[str]) -> pl.Expr:
    out = e.str.starts_with(prefixes[0])
    for p in prefixes[1:]:
        out = out | e.str.starts_with(p)
    return out
