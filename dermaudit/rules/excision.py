"""Excision of skin lesions: benign 11400-11446, malignant 11600-11646 (010 global).

Code choice: benign vs malignant follows the final pathology (melanoma in situ and carcinoma
in situ count as malignant); the location group is A trunk/arms/legs, B scalp/neck/hands/
feet/genitalia, C face/ears/eyelids/nose/lips/mucous membrane; the size band is the excised
diameter (greatest lesion diameter + 2 x the narrowest margin), never summed across lesions.
Simple closure is included in the excision; intermediate/complex closure is separately
reportable except after a benign excision of 0.5 cm or less.

EXC-006 (excision + adjacent tissue transfer at one site) is ATT-001 in att.py.
Same-site pairing and the Mohs guard are described in repair.py.
"""

from __future__ import annotations

import polars as pl

from ..features import DAY_ID
from ..model import Confidence, Money, Severity
from .base import (
    ICD10_START,
    MALIGNANT_GROUPS,
    PARTNER_ROWS,
    Context,
    any_prefix,
    emit,
    has_dx,
    msg,
    one_of,
    rule,
    site_partners,
)
from .repair import (
    LINE_KEY,
    MOHS_CODES,
    NCCI_CH3,
    PUNCH_INCISIONAL,
    RISK_COLS,
    att_repair_hits,
    emit_bundled,
    exc_simple_repair_hits,
    first_mod,
    is_excision,
    join_codes,
    line_amount,
    mod_aggs,
    norm_site,
    pair_message,
    pair_suggestion,
    rows_sorted,
    same_file,
    site_pairs,
    site_words,
    status_amount,
    status_money,
    status_severity,
    with_status,
)

GROUP_WORDS = {
    "A": "trunk/arms/legs",
    "B": "scalp/neck/hands/feet/genitalia",
    "C": "face/ears/eyelids/nose/lips/mucous membrane",
}
AAPC_EXCISION = (
    "CPT 2025 Professional Edition excision guidelines (benign 11400-11446 and malignant "
    "11600-11646 by pathology, location group and excised diameter including margins); "
    "location groups and size bands also in the CMS PFS Relative Value File short "
    "descriptors; secondary: AAPC ('What You Need to Know to Code Excisions', 'Three "
    "Tidbits'), CodingIntel"
)


# ---- helpers ------------------------------------------------------------------------


def excision_bands(ctx: Context) -> pl.DataFrame:
    """Excision codes with family, location group, band index (0 = up to 0.5 cm) and fee."""
    return (
        ctx.ref.codes.filter(one_of("family", ["excision_benign", "excision_malignant"]))
        .select(
            pl.col("code"),
            pl.col("family"),
            pl.col("site_group").alias("grp"),
            pl.col("size_max_cm"),
            pl.col("fee_2025").alias("fee"),
        )
        .with_columns(
            (
                pl.col("size_max_cm")
                .fill_null(1e9)
                .rank("dense")
                .over("family", "grp")
                .cast(pl.Int64)
                - 1
            ).alias("band")
        )
    )


def band_maxima(ctx: Context) -> list[float]:
    b = excision_bands(ctx)["size_max_cm"].drop_nulls().unique().sort()
    return [float(x) for x in b.to_list()]


def size_band(ctx: Context, col: str) -> pl.Expr:
    """Band index of a size in cm: how many band upper limits it exceeds."""
    out: pl.Expr = pl.lit(0, pl.Int64)
    for m in band_maxima(ctx):
        out = out + (pl.col(col) > m).cast(pl.Int64)
    return out


def counterpart(ctx: Context, family: str, prefix: str) -> pl.LazyFrame:
    """For each excision code: the code of ``family`` with the same location group and band."""
    b = excision_bands(ctx)
    other = b.filter(pl.col("family") == family).select(
        "grp", "band", pl.col("code").alias(f"{prefix}_code"), pl.col("fee").alias(f"{prefix}_fee")
    )
    return (
        b.select(pl.col("code").alias("cpt"), "grp", "band")
        .join(other, on=["grp", "band"], how="inner")
        .drop("grp", "band")
        .lazy()
    )


def with_encounter_dx(ctx: Context, lines: pl.LazyFrame) -> pl.LazyFrame:
    """Attach the day's diagnoses and codes; ``dxe`` = the line's dx, else the day's."""
    days = ctx.days.select(DAY_ID, pl.col("dx").alias("day_dx"), pl.col("cpts").alias("day_cpts"))
    return lines.join(days, on=DAY_ID, how="left").with_columns(
        pl.when(pl.col("dx").list.len() > 0)
        .then(pl.col("dx"))
        .otherwise(pl.col("day_dx"))
        .fill_null(pl.lit([], pl.List(pl.String)))
        .alias("dxe")
    )


def lesion_dx(col: str) -> pl.Expr:
    """Diagnoses that can describe a lesion: drop Z (status/encounter) and R (symptom) codes."""
    e = pl.element()
    return pl.col(col).list.eval(e.filter(~e.str.starts_with("Z") & ~e.str.starts_with("R")))


# ---- EXC-001 / EXC-002: benign vs malignant -----------------------------------------


@rule(
    "EXC-001",
    scope=("excision_malignant",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Malignant excision code without a malignant or in-situ diagnosis",
    level="line",
    requires=("dx",),
    severities={
        Severity.REVIEW: "the diagnoses are history (Z85), uncertain/unspecified behaviour or a "
        "malignancy outside the skin-cancer list",
    },
    out_of_scope="Whether the final pathology was malignant (the claim's diagnosis is "
    "trusted); excisions before ICD-10 (2015-10-01).",
    flags="""
A malignant-lesion excision (11600-11646) whose diagnoses (the line's own, or the encounter's
when the line has none) include no malignant or in-situ skin code (C43, C4A, C44, C46.0, D03,
D04; rulesets/icd10_groups.csv). Dates of service from 2015-10-01 (ICD-10-CM). Lines whose
only support is a history-of-skin-cancer code (Z85.82x, a re-excision coded with the history
code), D48.5 (uncertain behavior), D49.2 (pathology pending) or another malignant neoplasm
code (any C code outside the list: e.g. C49.x dermatofibrosarcoma protuberans or angiosarcoma,
C79.2 skin metastasis, C84.A cutaneous T-cell lymphoma) get a review finding instead.
""",
    why="""
The benign/malignant choice follows the final pathology. A malignant excision code with a
benign diagnosis pays the malignant rate (e.g. 11602 $237.75 vs 11402 $166.91 in 2025)
without support - an overpayment on review.
""",
    example="11602 with D22.5 (melanocytic nevus of trunk).",
    compliant=(
        "11402 for the benign lesion; or 11602 with the malignant pathology code (e.g. C44.519)."
    ),
    source=(AAPC_EXCISION + "; ICD-10-CM FY2026 tabular list (C43, C4A, C44, D03, D04)."),
    amount="""
(2025 national fee of the malignant code - fee of the benign code with the same location
group and size band) x units.
""",
    limits="""
Diagnosis pointers are not in a line export; a line with no diagnosis is judged on the
encounter's diagnoses. A re-excision for margins after a cancer is correctly a malignant
excision but should carry the cancer code rather than Z85.82x - hence review. Lesions of
uncertain behavior (D48.5) are coded by payers in different ways - review. A malignancy coded
outside the skin-cancer list (DFSP, metastasis, cutaneous lymphoma...) is correctly excised
with 116xx; it is a review only because the export cannot show it was the excised lesion.
""",
)
def exc_001(ctx: Context) -> pl.LazyFrame:
    mal = ctx.ref.dx_prefixes(*MALIGNANT_GROUPS)
    hist = [p for p in ctx.ref.dx_prefixes("SCREENING_HISTORY") if p.startswith("Z85")]
    # "C": any malignant neoplasm (C00-C96). Malignancies of the skin coded outside the skin
    # groups (C49 DFSP/angiosarcoma, C79.2 metastasis, C84.A lymphoma) use 116xx correctly.
    soft = [*ctx.ref.dx_prefixes("UNCERTAIN_BEHAVIOR", "UNSPECIFIED_BEHAVIOR"), *hist, "C"]
    lines = ctx.lines.filter(
        (pl.col("family") == "excision_malignant") & (pl.col("dos") >= ICD10_START)
    )
    j = (
        with_encounter_dx(ctx, lines)
        .filter((pl.col("dxe").list.len() > 0) & ~has_dx(mal, "dxe"))
        .join(counterpart(ctx, "excision_benign", "alt"), on="cpt", how="left")
    )
    review = has_dx(soft, "dxe")
    other_c = has_dx(["C"], "dxe")
    return emit(
        j.sort("_file", "_row"),
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=pl.when(other_c)
        .then(
            msg(
                "malignant excision ",
                pl.col("cpt"),
                " billed with a malignant diagnosis outside the skin-cancer list (dx: ",
                pl.col("dxe").list.join(" "),
                "); confirm the excised lesion was that malignancy",
            )
        )
        .otherwise(
            msg(
                "malignant excision ",
                pl.col("cpt"),
                " billed with no malignant or in-situ diagnosis (dx: ",
                pl.col("dxe").list.join(" "),
                ")",
            )
        ),
        suggestion=pl.when(other_c)
        .then(
            msg(
                "keep ",
                pl.col("cpt"),
                " if the excised lesion was the malignancy coded (116xx covers any malignant "
                "skin lesion, e.g. DFSP C49.x or a skin metastasis C79.2); if its pathology was "
                "benign, bill ",
                pl.col("alt_code"),
                " instead of ",
                pl.col("cpt"),
            )
        )
        .when(review)
        .then(
            msg(
                "if the pathology showed a malignancy (or this re-excises a treated cancer), "
                "report the cancer code (C43/C4A/C44/D03/D04) instead of the history/uncertain "
                "code; if it was benign, bill ",
                pl.col("alt_code"),
                " instead of ",
                pl.col("cpt"),
            )
        )
        .otherwise(
            msg(
                "bill ",
                pl.col("alt_code"),
                " (benign excision, same site group and size) instead of ",
                pl.col("cpt"),
                ", unless the final pathology was malignant - then add that diagnosis",
            )
        ),
        amount=((pl.col("fee") - pl.col("alt_fee")) * pl.col("units")).clip(0),
        severity=pl.when(review).then(pl.lit("review")).otherwise(pl.lit("compliance")),
    )


@rule(
    "EXC-002",
    scope=("excision_benign",),
    severity=Severity.REVENUE,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="Benign excision code with a malignant or in-situ diagnosis",
    level="line",
    requires=("dx",),
    severities={
        Severity.REVIEW: "the encounter's diagnoses mix a malignancy with other lesions, so the "
        "excised lesion cannot be told",
    },
    out_of_scope="Claims sent before the pathology report (then the diagnosis is the error); "
    "excisions before ICD-10.",
    flags="""
A benign-lesion excision (11400-11446) whose lesion diagnoses (the line's own, or the
encounter's when the line has none; Z and R codes ignored) are all malignant or in situ
(C43, C4A, C44, C46.0, D03, D04). Dates of service from 2015-10-01. When the diagnoses mix a
malignant and a non-malignant lesion code, the finding is a review - unless the same day also
has a malignant excision, malignant destruction or Mohs, which explains the malignant code.
""",
    why="""
Melanoma in situ and carcinoma in situ are coded with the malignant excision codes, and the
choice follows the final pathology. A benign code for a malignant lesion under-bills (e.g.
11402 $166.91 vs 11602 $237.75 in 2025).
""",
    example="11402 with C44.519 (basal cell carcinoma, trunk) as the only diagnosis.",
    compliant="11602 (malignant excision, trunk, 1.1-2.0 cm) with C44.519.",
    source=(AAPC_EXCISION + "; ICD-10-CM FY2026 tabular list (C43, C4A, C44, D03, D04)."),
    amount="""
(2025 national fee of the malignant code with the same location group and size band - fee of
the billed benign code) x units: revenue left uncollected.
""",
    limits="""
Without diagnosis pointers an encounter-level list can mix lesions; mixed lists are reviews,
and mixed lists explained by a same-day malignant procedure are not flagged. If the claim was
sent before the pathology came back and the pathology was benign, the malignant code on the
line is the error, not the CPT code.
""",
)
def exc_002(ctx: Context) -> pl.LazyFrame:
    mal = ctx.ref.dx_prefixes(*MALIGNANT_GROUPS)
    mal_procs = [
        *ctx.ref.family("excision_malignant", "destruction_malignant"),
        *MOHS_CODES,
    ]
    lines = ctx.lines.filter(
        (pl.col("family") == "excision_benign") & (pl.col("dos") >= ICD10_START)
    )
    j = with_encounter_dx(ctx, lines).with_columns(
        has_dx(mal, "dxe").alias("_mal"),
        lesion_dx("dxe").list.eval(~any_prefix(mal)).list.any().fill_null(False).alias("_other"),
        pl.col("day_cpts")
        .list.eval(pl.element().is_in(mal_procs))
        .list.any()
        .fill_null(False)
        .alias("_mal_proc"),
    )
    j = j.filter(pl.col("_mal") & (~pl.col("_other") | ~pl.col("_mal_proc"))).join(
        counterpart(ctx, "excision_malignant", "alt"), on="cpt", how="left"
    )
    mixed = pl.col("_other")
    mal_dx = pl.col("dxe").list.eval(pl.element().filter(any_prefix(mal))).list.join(" ")
    return emit(
        j.sort("_file", "_row"),
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            "benign excision ",
            pl.col("cpt"),
            " billed with malignant/in-situ diagnosis ",
            mal_dx,
            pl.when(mixed)
            .then(
                msg(
                    " among other lesion diagnoses (",
                    pl.col("dxe").list.join(" "),
                    "); which lesion was excised cannot be told from the export",
                )
            )
            .otherwise(pl.lit("")),
        ),
        suggestion=msg(
            "bill ",
            pl.col("alt_code"),
            " (malignant excision, same site group and size) instead of ",
            pl.col("cpt"),
            " if the final pathology of the excised lesion was ",
            mal_dx,
        ),
        amount=((pl.col("alt_fee") - pl.col("fee")) * pl.col("units")).clip(0),
        severity=pl.when(mixed).then(pl.lit("review")).otherwise(pl.lit("revenue")),
    )


# ---- EXC-003: location group and size band -------------------------------------------


@rule(
    "EXC-003",
    scope=("excision_benign", "excision_malignant"),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Excision code does not match the site's location group or the size band",
    level="line",
    requires=("site", "lesion_size_cm"),
    severities={
        Severity.REVENUE: "the right code pays more (under-banded, or a lower-paying group was "
        "billed)",
        Severity.REVIEW: "the billed band is above the size (the export's size may be the lesion "
        "without margins)",
    },
    out_of_scope="Lines without a site word in rulesets/sites.csv or without a size; the "
    "margin width chosen by the surgeon.",
    flags="""
An excision (11400-11646) whose code's location group differs from the group of the line's
site text (rulesets/sites.csv), or whose size band differs from the band of the line's size.
The export's size is read as the excised diameter (the export has no margin column, so the
'+ 2 x margin' cannot be added): a code banded BELOW that size is under-coded (revenue); a
code banded ABOVE it is a review, because margins may explain the higher band.
""",
    why="""
Excision codes are chosen by location group and by excised diameter (lesion + 2 x narrowest
margin). A face lesion billed with a trunk code, or a band above what was excised, is paid
wrongly; a band below the lesion's own size can never be right, since margins only add.
""",
    example="11402 (trunk/arms/legs) with site 'left cheek', size 1.5 cm.",
    compliant="11442 (face group, 1.1-2.0 cm) for that lesion.",
    source=AAPC_EXCISION + ".",
    amount="""
2025 national fees x units: wrong group - the difference between the billed code and the
right-group code of the same band (or of the size's band when that is higher); under-banded -
the right code's fee minus the billed fee; over-banded (review) - the billed fee minus the fee
of the band the size alone gives.
""",
    limits="""
Lines with an unknown site word or no size are skipped. If the export's size is the lesion
diameter (without margins) every over-banded finding may be correct billing - hence review.
Site words are mapped by keyword (S); 'neck' is group B, 'axilla' group A.
""",
)
def exc_003(ctx: Context) -> pl.LazyFrame:
    bands = excision_bands(ctx)
    billed = bands.select(pl.col("code").alias("cpt"), pl.col("band").alias("b_band")).lazy()
    pick = bands.select("family", "grp", "band", "code", "fee")
    lines = (
        ctx.lines.filter(
            is_excision()
            & pl.col("site_group").is_not_null()
            & (pl.col("lesion_size_cm") > 0).fill_null(False)
        )
        .join(billed, on="cpt", how="inner")
        .with_columns(size_band(ctx, "lesion_size_cm").alias("s_band"))
        .with_columns(
            (pl.col("code_site_group") == pl.col("site_group")).alias("grp_ok"),
            pl.max_horizontal("s_band", "b_band").alias("e_band"),
        )
        .filter(~pl.col("grp_ok") | (pl.col("s_band") != pl.col("b_band")))
    )
    exp = pick.rename({"grp": "site_group", "band": "e_band", "code": "e_code", "fee": "e_fee"})
    siz = pick.rename({"grp": "site_group", "band": "s_band", "code": "z_code", "fee": "z_fee"})
    j = lines.join(exp.lazy(), on=["family", "site_group", "e_band"], how="left").join(
        siz.lazy(), on=["family", "site_group", "s_band"], how="left"
    )
    grp_ok = pl.col("grp_ok")
    under = grp_ok & (pl.col("s_band") > pl.col("b_band"))
    over_band = pl.col("s_band") < pl.col("b_band")
    grp_msg = msg(
        pl.col("cpt"),
        " is a group ",
        pl.col("code_site_group"),
        " code (",
        pl.col("code_site_group").replace_strict(GROUP_WORDS, default=None),
        ") but the site ",
        site_words(),
        " is group ",
        pl.col("site_group"),
        " (",
        pl.col("site_group").replace_strict(GROUP_WORDS, default=None),
        ")",
    )
    size_msg = msg(" ", pl.col("lesion_size_cm"), " cm (read as the excised diameter)")
    wrong_grp_sev = (
        pl.when(pl.col("e_fee") > pl.col("fee"))
        .then(pl.lit("revenue"))
        .otherwise(pl.lit("compliance"))
    )
    return emit(
        j.sort("_file", "_row"),
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=pl.when(~grp_ok)
        .then(
            msg(
                grp_msg,
                pl.when(over_band)
                .then(
                    msg(
                        "; the size ",
                        pl.col("lesion_size_cm"),
                        " cm alone is below the billed band (margins may explain it)",
                    )
                )
                .when(pl.col("s_band") > pl.col("b_band"))
                .then(
                    msg(
                        "; the size ", pl.col("lesion_size_cm"), " cm is also above the billed band"
                    )
                )
                .otherwise(pl.lit("")),
            )
        )
        .when(under)
        .then(
            msg(
                pl.col("cpt"),
                " is banded below the size ",
                pl.col("lesion_size_cm"),
                " cm; the excised diameter (lesion + margins) cannot be smaller than the size",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " is banded above the size",
                size_msg,
                "; margins may explain it - confirm the excised diameter",
            )
        ),
        suggestion=pl.when(~grp_ok | under)
        .then(msg("bill ", pl.col("e_code"), " instead of ", pl.col("cpt")))
        .otherwise(
            msg(
                "confirm the note documents an excised diameter (lesion + 2 x narrowest "
                "margin) in the band of ",
                pl.col("cpt"),
                "; if ",
                pl.col("lesion_size_cm"),
                " cm is the excised diameter, bill ",
                pl.col("z_code"),
            )
        ),
        amount=pl.when(~grp_ok)
        .then((pl.col("e_fee") - pl.col("fee")).abs() * pl.col("units"))
        .when(under)
        .then((pl.col("e_fee") - pl.col("fee")) * pl.col("units"))
        .otherwise(((pl.col("fee") - pl.col("z_fee")) * pl.col("units")).clip(0)),
        severity=pl.when(~grp_ok)
        .then(wrong_grp_sev)
        .when(under)
        .then(pl.lit("revenue"))
        .otherwise(pl.lit("review")),
        money=pl.when(~grp_ok)
        .then(
            pl.when(pl.col("e_fee") > pl.col("fee")).then(pl.lit("under")).otherwise(pl.lit("over"))
        )
        .when(under)
        .then(pl.lit("under"))
        .otherwise(pl.lit("over")),
    )


# ---- EXC-004 / EXC-005: closure with an excision -------------------------------------


@rule(
    "EXC-004",
    scope=("repair_simple",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Simple repair billed with an excision of the same site",
    level="day",
    severities={
        Severity.DENIAL: "the sites cannot be compared (no site on a line) and neither line "
        "carries XS/59, or the sites differ and the pair comes from an imported CMS PTP file "
        "with indicator 1 (the column-2 code is denied without a modifier)",
        Severity.REVIEW: "the sites differ, no modifier is present and the pair comes from the "
        "shipped excerpt (column order and indicator unverified)",
    },
    out_of_scope="Intermediate and complex repairs (EXC-005 for benign excisions of 0.5 cm or "
    "less); repairs on a Mohs day at the Mohs site.",
    flags="""
A simple repair (12001-12018) on the same day, patient and rendering provider as a lesion
excision (11400-11646) at the same site. When the export has no site (or a line's site is
blank) and neither line carries XS/59, the pair is a denial risk and the message says the site
could not be compared. At different recorded sites without XS/59 (or differing anatomic
modifiers), the NCCI pair still denies the column-2 code: a missing-modifier finding, money
under (review while the pair comes from our unverified excerpt; denial once an imported CMS PTP
file gives indicator 1). Not flagged: different sites with a modifier; an XS/59 when sites
cannot be compared; Mohs-day repairs at the Mohs site or of unknown site (RPR-005: they close
the Mohs defect); repairs at the site of an adjacent tissue transfer (ATT-002 reports them);
self-pay lines.
""",
    why="""
Simple (single-layer) closure is part of every excision code; a separate simple-repair line
for the excision wound is an overpayment, and NCCI bundles 12001-12018 into 11400-11646
unless a modifier shows a different wound.
""",
    example="11402 (back) + 12001 (back) on one day.",
    compliant=(
        "11402 alone; a simple repair of a separate laceration is 12001-XS with its own site."
    ),
    source=(
        NCCI_CH3
        + "; CPT 2025 Professional Edition excision guidelines (simple closure is included in "
        "the excision); CMS NCCI practitioner PTP edits 11400-11646 / 12001-12018 (load the "
        "quarterly file; the shipped pair table is an excerpt)."
    ),
    amount=(
        "2025 national non-facility fee x units of the simple repair (charge if not in the table). "
        "For a missing modifier at different sites: the fee x units of the line in column 2 "
        "of the pair (the one the edit denies)."
    ),
    limits="""
Same site means equal site text; close but different words ('back' vs 'upper back') are not
flagged. Without a site the finding is a denial risk: the repair may have closed another
wound, in which case the claim needs XS/59.
""",
)
def exc_004(ctx: Context) -> pl.LazyFrame:
    hits = exc_simple_repair_hits(ctx)
    return emit_bundled(
        hits,
        "simple repair",
        "excision",
        "simple closure is included in the excision",
        "simple closure is part of",
        "closed the excision wound",
    )


@rule(
    "EXC-005",
    scope=("excision_benign",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Intermediate or complex repair billed after a benign excision of 0.5 cm or less",
    level="day",
    severities={
        Severity.DENIAL: "the sites cannot be compared (no site on a line) and neither line "
        "carries XS/59, or the sites differ and the pair comes from an imported CMS PTP file "
        "with indicator 1 (the column-2 code is denied without a modifier)",
        Severity.REVIEW: "the sites differ, no modifier is present and the pair comes from the "
        "shipped excerpt (column order and indicator unverified)",
    },
    out_of_scope="Malignant excisions (their repairs are separately reportable); complex "
    "add-on codes on their own; the true excised diameter when it differs from the code.",
    flags="""
An intermediate or complex repair (12031-12057, 13100-13152) whose only possible wound on the
day is a benign excision of 0.5 cm or less (11400, 11420, 11440): at the same site when sites
are known; or, when sites cannot be compared, when no other excision or punch/incisional biopsy
could own the repair and no line carries XS/59 (denial risk). Without sites, another excision
or biopsy is set aside only when its own line diagnoses and the repair's are both present and
share no code. A repair at a different recorded site from a small benign excision, with no
XS/59, is a missing-modifier finding, money under (review while the pair comes from our
unverified excerpt; denial once an imported CMS PTP file gives indicator 1): the NCCI pair
denies one of them without the modifier. Not flagged: a larger, malignant or cancer-coded
excision (or a biopsy) at the repair's site or of unknown site; Mohs-day repairs at the Mohs
site or of unknown site (RPR-005); repairs at a flap site (ATT-002); self-pay lines.
""",
    why="""
The NCCI Policy Manual says a benign excision with an excised diameter of 0.5 cm or less
includes simple, intermediate and complex repair; a layered repair is reportable only for a
larger or malignant excision. The PTP edit can be bypassed with a modifier, but a modifier is
not supported for the same lesion.
""",
    example="11400 (back) + 12031 (back) on one day.",
    compliant="11400 alone; 11401 + 12031 when the excised diameter was 0.6-1.0 cm.",
    source=(
        NCCI_CH3
        + "; CPT 2025 Professional Edition excision guidelines (benign excisions of 0.5 cm or "
        "less include any repair); secondary: AAPC forum quoting the NCCI text, AAPC General "
        "Surgery Alert and med3000 (malignant excisions keep their repairs)."
    ),
    amount=(
        "2025 national non-facility fee x units of the repair (charge if not in the table). "
        "For a missing modifier at different sites: the fee x units of the line in column 2 "
        "of the pair (the one the edit denies)."
    ),
    limits="""
Complex add-on codes are not flagged separately (fix them with their primary). If the excised
diameter was really above 0.5 cm the excision code is the error (under-coded) and the repair
stands - check the note's excised diameter before removing the repair.
""",
)
def exc_005(ctx: Context) -> pl.LazyFrame:
    small = ctx.ref.codes.filter(
        (pl.col("family") == "excision_benign") & (pl.col("size_max_cm") <= 0.5)
    )["code"].to_list()
    risk = one_of("family", ["repair_intermediate", "repair_complex"]) & (
        pl.col("kind") == "primary"
    )
    source = is_excision() | one_of("cpt", PUNCH_INCISIONAL)
    mal = ctx.ref.dx_prefixes(*MALIGNANT_GROUPS)
    s_dxe = (
        pl.when(pl.col("s_dx").list.len() > 0)
        .then(pl.col("s_dx"))
        .otherwise(pl.col("day_dx"))
        .fill_null(pl.lit([], pl.List(pl.String)))
    )
    # A small 'benign' excision with a malignant diagnosis is EXC-002's under-coding: its
    # repair is reportable once the excision is coded as malignant, so it is not small here.
    small_src = pl.col("s_cpt").is_in(small) & ~has_dx(mal, "s_dxe")
    # Without sites, another wound source (larger excision, biopsy) explains the repair unless
    # the two lines' own lesion diagnoses are both present and share no code.
    rdx, sdx = lesion_dx("dx"), lesion_dx("s_dx")
    dx_apart = (
        (rdx.list.len() > 0)
        & (sdx.list.len() > 0)
        & (rdx.list.set_intersection(sdx).list.len() == 0)
    ).fill_null(False)
    p = (
        site_pairs(ctx, risk, source)
        .filter(~pl.col("mohs_guard"))
        .join(ctx.days.select(DAY_ID, pl.col("dx").alias("day_dx")), on=DAY_ID, how="left")
        .with_columns(s_dxe.alias("s_dxe"))
        # the per-pair flags once on the pair frame, not inside every aggregation below
        .with_columns(small_src.alias("small"), dx_apart.alias("dx_apart"))
    )
    is_small, apart = pl.col("small"), pl.col("dx_apart")
    same = pl.col("rel") == "same"
    unk = pl.col("rel") == "unknown"
    nomod = ~pl.col("modded")
    mod = (pl.col("rel") == "diff") & is_small & nomod & pl.col("listed")
    empty = pl.lit([], pl.List(pl.String))
    g = (
        p.with_columns(first_mod(mod))
        .group_by(LINE_KEY)
        .agg(
            *[pl.col(c).first() for c in RISK_COLS],
            pl.col("s__row").filter(same & is_small & nomod & same_file()).alias("same_rows"),
            pl.col("s_cpt").filter(same & is_small & nomod).alias("same_codes"),
            (same & ~is_small).any().alias("same_other"),
            pl.col("s__row").filter(unk & is_small & nomod & same_file()).alias("unk_rows"),
            pl.col("s_cpt").filter(unk & is_small & nomod).alias("unk_codes"),
            (unk & ~is_small & ~apart).any().alias("unk_other"),
            *mod_aggs(mod),
        )
        .with_columns(
            # another possible wound at the repair's site (or of unknown site) owns the repair
            pl.when(pl.col("same_other"))
            .then(empty)
            .otherwise(pl.col("same_codes"))
            .alias("same_codes"),
            pl.when(
                pl.col("same_other") | pl.col("unk_other") | (pl.col("same_codes").list.len() > 0)
            )
            .then(empty)
            .otherwise(pl.col("unk_codes"))
            .alias("unk_codes"),
        )
        .pipe(with_status)
        .filter(pl.col("status").is_not_null())
        .join(att_repair_hits(ctx).select(LINE_KEY), on=LINE_KEY, how="anti")
    )
    st = pl.col("status")
    return emit(
        g.sort("_file", "_row"),
        rows=rows_sorted("_row", "src_rows"),
        codes=msg(pl.col("cpt"), " + ", join_codes("src_codes")),
        message=pair_message(
            msg(
                "repair ",
                pl.col("cpt"),
                " billed with benign excision ",
                join_codes("src_codes"),
                " (excised diameter 0.5 cm or less)",
                pl.when(st == "unknown")
                .then(pl.lit(" and no other excision or biopsy that could own it"))
                .otherwise(pl.lit("")),
            ),
            "these excision codes include any repair",
        ),
        suggestion=pl.when(st == "same")
        .then(
            msg(
                "remove ",
                pl.col("cpt"),
                "; if the excised diameter (lesion + 2 x margin) was "
                "over 0.5 cm, correct the excision code to the right band instead and keep the "
                "repair",
            )
        )
        .when(st == "modifier")
        .then(pair_suggestion("", ""))
        .otherwise(
            msg(
                "remove ",
                pl.col("cpt"),
                " if it closed the small excision (or correct the "
                "excision band if the excised diameter was over 0.5 cm); if it closed a "
                "separate wound, record that site and append XS (or 59) to ",
                pl.col("cpt"),
            )
        ),
        amount=status_amount(),
        severity=status_severity(),
        money=status_money(),
    )


# ---- EXC-007: re-excision inside the 10-day global -----------------------------------


@rule(
    "EXC-007",
    scope=("excision_benign", "excision_malignant"),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.UNDER,
    title="Re-excision inside the 10-day global without 58/78/79",
    level="history",
    out_of_scope="Re-excisions by a different group; re-excisions after the 10-day window "
    "(no global period left); payer-specific use of 58 versus 78.",
    flags="""
An excision (11400-11646) 1-10 days after an earlier excision of the same lesion for the same
patient by the same rendering provider (or the same billing group when the export has one),
when the later line carries none of 58/78/79. Same lesion = equal site text when both lines
have a site; when a site is missing, a shared lesion diagnosis (Z and R codes ignored).
Different site texts are not this rule (an unrelated procedure in a global period is
GLOB-002). Self-pay lines are skipped.
""",
    why="""
Excisions carry a 10-day global period. A second procedure on the same lesion inside it -
typically a re-excision for positive margins - is paid only with a global modifier (usually 58,
staged or more extensive procedure; 78 for an unplanned return to the OR); without one the
payer denies it as part of the first excision's global package.
""",
    example="11602 on 2025-03-04, then 11603 for the same back lesion on 2025-03-12, no modifier.",
    compliant=(
        "11603-58 on 2025-03-12 (re-excision for margins); after day 10 no modifier is needed."
    ),
    source=(
        "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §40.1 and §40.2.A "
        "(procedures during a global period; modifiers 58 and 78); CMS PFS Relative Value "
        "File global days 010 for excisions; secondary: AAPC General Surgery Alert. Payer "
        "practice on 58 versus 78 varies (U)."
    ),
    amount="2025 national non-facility fee x units of the later excision (at risk of denial).",
    limits="""
Confidence U: whether 58 or 78 is expected varies by payer, so this asks for a review. The
10-day window counts calendar days after the first excision. Without a site, a shared
diagnosis code stands in for 'same lesion' and can join two lesions with the same code.
""",
)
def exc_007(ctx: Context) -> pl.LazyFrame:
    base = ctx.lines.filter(is_excision()).with_columns(
        norm_site().alias("site_n"), lesion_dx("dx").alias("ldx")
    )
    later = base.filter(~pl.col("m_global") & (pl.col("payer_class") != "self_pay"))
    prior = base.select(
        "patient_id",
        *[
            pl.col(c).alias("p_" + c)
            for c in (
                "provider",
                "group_id",
                "dos",
                "_file",
                "_row",
                "cpt",
                "site",
                "site_n",
                "ldx",
            )
        ],
    )
    j = (
        later.join(prior, on="patient_id", how="inner")
        .with_columns((pl.col("dos") - pl.col("p_dos")).dt.total_days().alias("gap"))
        .filter((pl.col("gap") >= 1) & (pl.col("gap") <= 10))
        .filter(
            pl.col("provider").eq_missing(pl.col("p_provider"))
            | (pl.col("group_id").is_not_null() & (pl.col("group_id") == pl.col("p_group_id")))
        )
        .with_columns(
            (
                pl.col("site_n").is_not_null()
                & pl.col("p_site_n").is_not_null()
                & (pl.col("site_n") == pl.col("p_site_n"))
            ).alias("same_site"),
            (pl.col("site_n").is_null() | pl.col("p_site_n").is_null()).alias("no_site"),
            pl.col("ldx").list.set_intersection(pl.col("p_ldx")).alias("shared_dx"),
        )
        .filter(pl.col("same_site") | (pl.col("no_site") & (pl.col("shared_dx").list.len() > 0)))
        .sort("gap", "p__file", "p__row")
    )
    g = j.group_by("_file", "_row").agg(
        *[
            pl.col(c).first()
            for c in (
                "claim_id",
                "patient_id",
                "dos",
                "provider",
                "payer_class",
                "cpt",
                "units",
                "fee",
                "charge",
                "site",
                "p_cpt",
                "p_dos",
                "gap",
                "same_site",
                "shared_dx",
            )
        ],
        pl.col("p__row").filter(pl.col("p__file") == pl.col("_file")).alias("p_rows"),
    )
    return emit(
        g.sort("_file", "_row"),
        rows=rows_sorted("_row", "p_rows"),
        codes=msg(pl.col("p_cpt"), " -> ", pl.col("cpt")),
        message=msg(
            pl.col("cpt"),
            " on ",
            pl.col("dos").cast(pl.String),
            " follows excision ",
            pl.col("p_cpt"),
            " of ",
            pl.col("p_dos").cast(pl.String),
            " (",
            pl.col("gap"),
            " days earlier, ",
            pl.when(pl.col("same_site"))
            .then(msg("same site ", site_words()))
            .otherwise(msg("same diagnosis ", pl.col("shared_dx").list.join(" "))),
            ") inside its 10-day global period, without 58/78/79",
        ),
        suggestion=msg(
            "append 58 to ",
            pl.col("cpt"),
            " if it is a planned re-excision (e.g. for "
            "positive margins), or 78 for an unplanned return to the procedure room for a "
            "complication; 79 only if it treated an unrelated lesion",
        ),
        amount=line_amount(),
    )


# ---- EXC-008: debridement with removal of the same lesion ------------------------------

DEBRIDEMENT = ("11042", "11043", "11044", "11045", "11046", "11047", "97597", "97598")
LESION_REMOVAL = (
    "shave",
    "excision_benign",
    "excision_malignant",
    "destruction_premalignant",
    "destruction_benign",
    "destruction_vascular",
    "destruction_malignant",
    "mohs",
)


def _distinct_or_anatomic(ctx: Context) -> pl.Expr:
    mods = ["59", "XE", "XS", "XP", "XU", *ctx.ref.modifiers_of("anatomic")]
    return pl.col("mods").list.eval(pl.element().is_in(mods)).list.any().fill_null(False)


@rule(
    "EXC-008",
    scope=("debridement",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Debridement billed with removal or destruction of the same lesion",
    level="line",
    severities={
        Severity.REVIEW: "a site is missing on either line, so the debrided wound may be "
        "another one (then it needs XS/59 and its own site)",
    },
    out_of_scope="Debridement of a separate wound or ulcer with 59/X{EPSU} or anatomic "
    "modifiers, or at a different recorded site; debridement codes 11000-11012 (eczematous, "
    "necrotizing or fracture-site debridement); burn care.",
    flags="""
A debridement line (11042-11047 excisional, 97597/97598 selective) on the same day, patient
and rendering provider as a lesion removal or destruction (shave 11300-11313, excision
11400-11646, destruction 17000-17286, Mohs 17311-17315), when neither line carries 59, an
X{EPSU} or an anatomic modifier and both lines record the same site (compliance) or a site is
missing (review).
""",
    why="""
Removing or destroying a lesion includes preparing and cleaning its wound: debridement at the
site of the excision, shave or destruction is part of that procedure, and CMS's NCCI edits pair
debridement codes (column 2) with the surgical codes. Debridement is separately reportable
only for a different wound, with a distinct-site modifier. Billed for the same lesion it is an
overpayment.
""",
    example="11602 (excision, left shin) + 11042 (debridement, left shin) on one day.",
    compliant="11602 alone; 11042-XS for a separate ulcer elsewhere, its site and depth "
    "documented.",
    source=(
        "NCCI Policy Manual for Medicare Services (revision effective 2025-01-01) ch. I (a "
        "procedure needed to accomplish another at the same site is included) and ch. III "
        "(integumentary: lesion removal) and ch. XI (active wound care 97597/97598); CMS NCCI "
        "practitioner PTP edits pairing debridement (column 2) with surgical codes (not in the "
        "shipped excerpt: import the CMS file); CPT 2025 Professional Edition debridement "
        "guidelines (11042-11047 by depth, 97597/97598 selective); secondary: Practice "
        "Velocity on the NCCI edits that bar debridement with surgical codes."
    ),
    amount="2025 national non-facility fee x units of the debridement line (its charge when "
    "the code has no fee): the payment for work the removal already includes.",
    limits="""
Sites compare as text (case and spaces ignored). Without a site the export cannot tell the
lesion's wound from another ulcer: review. The debridement-to-surgery pairs are not in the
shipped pair excerpt, so a missing modifier at different sites is not reported; import the
CMS PTP file (PTP-001) for those. At most 20 partner rows are listed.
""",
)
def exc_008(ctx: Context) -> pl.LazyFrame:
    deb = ctx.lines.filter(
        one_of("cpt", list(DEBRIDEMENT)) & (pl.col("payer_class") != "self_pay")
    ).filter(~_distinct_or_anatomic(ctx))
    rem = ctx.lines.filter(one_of("family", list(LESION_REMOVAL))).filter(
        ~_distinct_or_anatomic(ctx)
    )
    deb = deb.join(rem.select(DAY_ID), on=DAY_ID, how="semi")
    p = site_partners(deb, rem)
    same = pl.col("same_rows").list.len() > 0
    j = deb.join(p, on=["_file", "_row"], how="inner").filter(
        same | (pl.col("unk_rows").list.len() > 0)
    )
    rows = pl.when(same).then(pl.col("same_rows")).otherwise(pl.col("unk_rows"))
    codes = pl.when(same).then(pl.col("same_cpts")).otherwise(pl.col("unk_cpts"))
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), rows).list.unique().list.sort(),
        codes=msg(pl.col("cpt"), " + ", codes.list.join(" + ")),
        message=msg(
            "debridement ",
            pl.col("cpt"),
            " billed with ",
            codes.list.join(" + "),
            pl.when(same)
            .then(msg(" at the same site (", pl.col("site"), ")"))
            .otherwise(pl.lit(" on the same day (no site to tell the wounds apart)")),
            " and no distinct-site modifier: debridement of the lesion's own wound is part of "
            "its removal",
        ),
        suggestion=msg(
            "remove ",
            pl.col("cpt"),
            " if it debrided the wound of the lesion removed; for a separate wound append XS "
            "(or 59) to ",
            pl.col("cpt"),
            " and document its site and depth",
        ),
        amount=pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")),
        severity=pl.when(same).then(pl.lit("compliance")).otherwise(pl.lit("review")),
    )


# ---- EXC-009: incision and drainage with excision of the same cyst ----------------------

ID_CODES = ("10060", "10061")


@rule(
    "EXC-009",
    scope=("incision_drainage",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Incision and drainage billed with excision of the same cyst on the same day",
    level="line",
    severities={
        Severity.REVIEW: "a site is missing on either line and the two share a diagnosis "
        "category (e.g. L72 cyst, L02 abscess), so the same lesion is likely but not shown",
    },
    out_of_scope="Drainage of a separate abscess with 59/X{EPSU} or another recorded site; an "
    "I&D on an earlier visit followed by a later excision (the I&D's 10-day global is "
    "GLOB-002's); 10080/10081 pilonidal and 10140 hematoma drainage.",
    flags="""
An incision and drainage (10060/10061) on the same day, patient and rendering provider as a
benign or malignant excision (11400-11646), when neither line carries 59, an X{EPSU} or an
anatomic modifier and the two lines record the same site (compliance), or a site is missing
and they share an ICD-10-CM category (review).
""",
    why="""
Excising a cyst removes it whole; opening and draining it in the same session is part of the
excision, not a separate procedure. NCCI bundles the I&D into the more extensive procedure on
the same lesion. An I&D of a different abscess the same day is separately reportable with a
distinct-site modifier.
""",
    example="10060 (I&D, inflamed epidermal cyst of the back) + 11403 (excision of that cyst, "
    "back) on one day.",
    compliant="11403 alone (the excision includes the drainage); 10060-XS for a separate "
    "abscess elsewhere, its site documented.",
    source=(
        "NCCI Policy Manual for Medicare Services (revision effective 2025-01-01) ch. III §D "
        "(Incision and Drainage) and ch. I (a less extensive procedure on the same lesion is "
        "included in the more extensive one); CPT 2025 Professional Edition, 10060/10061 and "
        "11400-11646; LCD L33909 billing article A57783 (I&D is for an abscess; the diagnosis "
        "must be the abscess)."
    ),
    amount="2025 national non-facility fee x units of the I&D line (its charge when the code "
    "has no fee).",
    limits="""
Sites compare as text (case and spaces ignored). Without sites the shared diagnosis category
stands in for 'the same cyst', which can join two cysts of one patient: review. At most 20
partner rows are listed.
""",
)
def exc_009(ctx: Context) -> pl.LazyFrame:
    idd = ctx.lines.filter(
        one_of("cpt", list(ID_CODES)) & (pl.col("payer_class") != "self_pay")
    ).filter(~_distinct_or_anatomic(ctx))
    exc = ctx.lines.filter(is_excision()).filter(~_distinct_or_anatomic(ctx))
    idd = idd.join(exc.select(DAY_ID), on=DAY_ID, how="semi")
    p = site_partners(idd, exc)
    # without a site: a shared diagnosis category with an excision of the day
    cats = (
        exc.select(DAY_ID, "_row", "cpt", pl.col("dx").list.eval(pl.element().str.slice(0, 3)))
        .explode("dx")
        .filter(pl.col("dx").is_not_null())
        .unique([DAY_ID, "dx", "_row"])
        .sort("_row")
        .group_by(DAY_ID, "dx")
        .agg(pl.col("_row").head(PARTNER_ROWS).alias("c_rows"), pl.col("cpt").unique())
    )
    shared = (
        idd.select("_file", "_row", DAY_ID, pl.col("dx").list.eval(pl.element().str.slice(0, 3)))
        .explode("dx")
        .filter(pl.col("dx").is_not_null())
        .join(cats, on=[DAY_ID, "dx"], how="inner")
        .group_by("_file", "_row")
        .agg(
            pl.col("c_rows").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            pl.col("cpt")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("c_cpts"),
            pl.col("dx").unique().sort().alias("cat"),
        )
    )
    same = pl.col("same_rows").list.len() > 0
    j = (
        idd.join(p, on=["_file", "_row"], how="inner")
        .join(shared, on=["_file", "_row"], how="left")
        .with_columns(
            pl.col("c_rows").fill_null(pl.lit([], pl.List(pl.Int64))),
            # rows that are both without a site (or the I&D's is missing) and share a category
            pl.col("unk_rows")
            .list.set_intersection(pl.col("c_rows").fill_null(pl.lit([], pl.List(pl.Int64))))
            .alias("unk_dx_rows"),
        )
        .filter(same | (pl.col("unk_dx_rows").list.len() > 0))
    )
    rows = pl.when(same).then(pl.col("same_rows")).otherwise(pl.col("unk_dx_rows"))
    codes = (
        pl.when(same)
        .then(pl.col("same_cpts").list.join(" + "))
        .otherwise(pl.col("c_cpts").list.join(" + "))
    )
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), rows).list.unique().list.sort(),
        codes=msg(pl.col("cpt"), " + ", codes),
        message=msg(
            "incision and drainage ",
            pl.col("cpt"),
            " billed with excision ",
            codes,
            pl.when(same)
            .then(msg(" at the same site (", pl.col("site"), ")"))
            .otherwise(
                msg(
                    " on the same day with a shared diagnosis (",
                    pl.col("cat").list.join(" "),
                    ") and no site to tell the lesions apart",
                )
            ),
            ": draining the cyst that is then excised is part of the excision",
        ),
        suggestion=msg(
            "remove ",
            pl.col("cpt"),
            " if it drained the lesion that was excised; for a separate abscess append XS (or "
            "59) to ",
            pl.col("cpt"),
            " and document its site",
        ),
        amount=pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")),
        severity=pl.when(same).then(pl.lit("compliance")).otherwise(pl.lit("review")),
    )
