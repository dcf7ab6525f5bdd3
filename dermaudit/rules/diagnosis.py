"""Diagnosis coding (DX): ICD-10-CM site, specificity, provisional codes and validity.

* DX-001 the diagnosis's site (4th character of the skin-neoplasm categories) disagrees with the
  procedure's CPT location group - works without a ``site`` column;
* DX-002 D48.5 (uncertain behaviour) on a biopsy, shave or benign excision line;
* DX-003 unspecified-site skin neoplasm codes on procedure lines;
* DX-004 diagnosis not a billable ICD-10-CM code (checked with the ``simple_icd_10_cm``
  package, which ships the April 2026 tabular list).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from .. import icd10
from ..features import DAY_ID, DAY_KEY, day_key_first
from ..model import Confidence, Money, Severity
from .base import ICD10_START, Context, emit, has_dx, line_rows, msg, rule

# ---- shared helpers ----------------------------------------------------------------------


def _dx_site_class(ctx: Context, dx: pl.Expr) -> pl.Expr:
    """Site class of one diagnosis code: face / scalp_neck / trunk / limb / genital / null.

    In the categories of group DX_SITE_AXIS the 4th character is the site (.0 lip, .1 eyelid,
    .2 ear, .3 other face, .4 scalp and neck, .5 trunk, .6 upper limb, .7 lower limb; .8/.9
    overlapping/unspecified carry no usable site).
    """
    axis = ctx.ref.dx_prefixes("DX_SITE_AXIS")
    genital = ctx.ref.dx_prefixes("DX_SITE_GENITAL")
    on_axis = dx.str.slice(0, 3).is_in(axis) & (dx.str.slice(3, 1) == ".")
    ch = dx.str.slice(4, 1)
    gen = _starts_with_any(dx, genital)
    return (
        pl.when(gen)
        .then(pl.lit("genital"))
        .when(on_axis & ch.is_in(["0", "1", "2", "3"]))
        .then(pl.lit("face"))
        .when(on_axis & (ch == "4"))
        .then(pl.lit("scalp_neck"))
        .when(on_axis & (ch == "5"))
        .then(pl.lit("trunk"))
        .when(on_axis & ch.is_in(["6", "7"]))
        .then(pl.lit("limb"))
        .otherwise(pl.lit(None, pl.String))
    )


def _starts_with_any(e: pl.Expr, prefixes: list[str]) -> pl.Expr:
    if not prefixes:
        return pl.lit(False)
    out = e.str.starts_with(prefixes[0])
    for p in prefixes[1:]:
        out = out | e.str.starts_with(p)
    return out.fill_null(False)


def _line_amount() -> pl.Expr:
    return pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge"))


# ---- DX-001 ------------------------------------------------------------------------------

# CPT location groups compatible with each diagnosis site class. Lesion codes (shave,
# excision, malignant destruction): A trunk/arms/legs, B scalp/neck/hands/feet/genitalia,
# C face/ears/eyelids/nose/lips/mucosa. Mohs: HNHFG 17311/17312, TAL 17313/17314. Limbs
# include hands and feet, so a limb diagnosis fits A or B (and either Mohs family).
SITE_FITS: dict[str, list[str]] = {
    "face": ["C", "HNHFG"],
    "scalp_neck": ["B", "HNHFG"],
    "trunk": ["A", "TAL"],
    "limb": ["A", "B", "HNHFG", "TAL"],
    "genital": ["B", "C", "HNHFG"],
}
SITE_WORDS: dict[str, str] = {
    "face": "face, lip, eyelid or ear",
    "scalp_neck": "scalp/neck",
    "trunk": "trunk",
    "limb": "arm/leg",
    "genital": "genitalia",
}
GROUP_WORDS: dict[str, str] = {
    "A": "group A: trunk/arms/legs",
    "B": "group B: scalp/neck/hands/feet/genitalia",
    "C": "group C: face/ears/eyelids/nose/lips/mucosa",
    "HNHFG": "Mohs head/neck/hands/feet/genitalia family",
    "TAL": "Mohs trunk/arms/legs family",
}
MOHS_GROUPS = ["HNHFG", "TAL"]
LESION_GROUPS = ["A", "B", "C"]


def _fits(cls: pl.Expr, grp: pl.Expr) -> pl.Expr:
    out: pl.Expr = pl.lit(None, pl.Boolean)
    for c, groups in SITE_FITS.items():
        out = pl.when(cls == c).then(grp.is_in(groups)).otherwise(out)
    return out


def _targets(cls: pl.Expr, grp: pl.Expr) -> pl.Expr:
    """The groups of the code's own kind (lesion or Mohs) that fit the diagnosis site."""
    out: pl.Expr = pl.lit([], pl.List(pl.String))
    for c, groups in SITE_FITS.items():
        lesion = [g for g in groups if g in LESION_GROUPS]
        mohs = [g for g in groups if g in MOHS_GROUPS]
        out = (
            pl.when(cls == c)
            .then(pl.when(grp.is_in(MOHS_GROUPS)).then(pl.lit(mohs)).otherwise(pl.lit(lesion)))
            .otherwise(out)
        )
    return out


@rule(
    "DX-001",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.EITHER,
    title="Diagnosis site does not match the procedure's location group",
    requires=("dx",),
    level="line",
    flags="""
A shave (11300-11313), excision (11400-11646), malignant destruction (17260-17286) or Mohs
(17311-17314) line whose skin-neoplasm diagnoses all point to a site outside the code's CPT
location group. The site is read from the 4th character of C43, C4A, C44, D03, D04, D22 and
D23 (.0-.3 face, .4 scalp/neck, .5 trunk, .6/.7 limbs) and from the genital-skin cancer codes
(rulesets/icd10_groups_dx.csv). Flagged: face diagnosis with a group A/B code or 17313/17314;
scalp/neck diagnosis with a group A/C code or 17313/17314; trunk diagnosis with a group B/C
code or 17311/17312; limb diagnosis with a group C code; genital diagnosis with a group A code
or 17313/17314. A line is flagged only when none of its site-coded diagnoses fits.

Works without a site column. When the export has a site that maps to the code's own group,
the finding says the diagnosis is what needs correcting; when the site maps to another group,
the line is left to the site rules (SHV-001, EXC-003, DEST-008, MOHS-006).
""",
    why="""
Face codes pay more than trunk codes of the same size band, so a face code with a trunk
diagnosis is an overpayment risk (and the reverse is revenue lost); either way the claim is
internally inconsistent, which payers' diagnosis-to-procedure edits and auditors notice.
""",
    example="11440 (benign excision, face, up to 0.5 cm) billed with D22.5 (nevus of trunk).",
    compliant="11400 (trunk/arms/legs, same size band) with D22.5, or 11440 with D22.39 for a "
    "facial nevus.",
    source=(
        "ICD-10-CM tabular list (April 2026 edition via simple_icd_10_cm): 4th-character site "
        "axis of C43, C4A, C44, D03, D04, D22, D23; CPT location groups of the shave, excision "
        "and malignant destruction families and the Mohs site families (CMS PFS RVU short "
        "descriptors); derm_rules.md DX-001."
    ),
    amount="""
2025 national non-facility fees x units: billed code minus the same-band code of the group the
diagnosis fits (the closest-priced one when two groups fit, e.g. A or B for a limb). Money is
'over' when the billed code pays more, 'under' when it pays less. No amount when the site
column shows the code is right and only the diagnosis is wrong.
""",
    limits="""
Confidence U (kept at review as the reference tags it): the site axis itself is confirmed in the
April 2026 tabular list, but the mapping to CPT groups is our reading (S), and limb codes
cannot tell a hand or foot (group B) from an arm or leg (group A). If the export lists the
encounter's diagnoses on every line instead of each line's own pointer, a line is only flagged
when none of them fits. Overlapping (.8) and unspecified (.9) sites are never flagged (DX-003
covers unspecified ones). 17311 also covers deep-structure involvement at any site.
""",
)
def dx_001(ctx: Context) -> pl.LazyFrame:
    groups = LESION_GROUPS + MOHS_GROUPS
    lines = ctx.lines.filter(
        pl.col("code_site_group").is_in(groups) & (pl.col("dos") >= ICD10_START)
    )
    per_dx = (
        lines.select("_file", "_row", "code_site_group", "dx")
        .explode("dx")
        .with_columns(_dx_site_class(ctx, pl.col("dx")).alias("cls"))
        .filter(pl.col("cls").is_not_null())
        .with_columns(_fits(pl.col("cls"), pl.col("code_site_group")).alias("fits"))
    )
    bad = (
        per_dx.group_by("_file", "_row")
        .agg(
            pl.col("fits").any().alias("any_fit"),
            pl.col("dx").first().alias("bad_dx"),
            pl.col("cls").first().alias("cls"),
        )
        .filter(~pl.col("any_fit"))
    )
    doc_grp = (
        pl.when(pl.col("code_site_group").is_in(MOHS_GROUPS))
        .then(pl.col("site_mohs"))
        .otherwise(pl.col("site_group"))
    )
    j = (
        lines.join(bad, on=["_file", "_row"], how="inner")
        .with_columns(doc_grp.alias("doc_grp"))
        # a documented site in another group: the site rules report the code choice
        .filter(pl.col("doc_grp").is_null() | (pl.col("doc_grp") == pl.col("code_site_group")))
        .with_columns(_targets(pl.col("cls"), pl.col("code_site_group")).alias("targets"))
    )
    alt_codes = ctx.ref.codes.filter(pl.col("site_group").is_in(groups)).select(
        "family",
        "kind",
        "size_min_cm",
        "size_max_cm",
        pl.col("site_group").alias("target"),
        pl.col("code").alias("alt_code"),
        pl.col("fee_2025").alias("alt_fee"),
    )
    alts = (
        j.select("_file", "_row", "family", "kind", "size_min_cm", "size_max_cm", "targets")
        .explode("targets")
        .rename({"targets": "target"})
        .join(
            alt_codes.lazy(),
            on=["family", "kind", "size_min_cm", "size_max_cm", "target"],
            how="inner",
            nulls_equal=True,
        )
        .sort("alt_code")
        .group_by("_file", "_row")
        .agg(
            pl.col("alt_code").str.join(" or ").alias("alt"),
            pl.col("alt_fee").max().alias("alt_max"),
            pl.col("alt_fee").min().alias("alt_min"),
        )
    )
    j = j.join(alts, on=["_file", "_row"], how="left")
    dx_only = pl.col("doc_grp").is_not_null()
    over = pl.col("fee") > pl.col("alt_max")
    under = pl.col("fee") < pl.col("alt_min")
    where = pl.col("cls").replace_strict(SITE_WORDS, default=None, return_dtype=pl.String)
    grp_words = pl.col("code_site_group").replace_strict(
        GROUP_WORDS, default=None, return_dtype=pl.String
    )
    message = msg(
        pl.col("cpt"),
        " (",
        grp_words,
        ") billed with ",
        pl.col("bad_dx"),
        " (",
        where,
        pl.lit(" site)"),
        pl.when(dx_only)
        .then(
            msg(
                "; the documented site '",
                pl.col("site"),
                "' fits the code, so the diagnosis site is wrong",
            )
        )
        .otherwise(pl.lit("; the diagnosis site and the code's location group disagree")),
    )
    suggestion = (
        pl.when(dx_only)
        .then(
            msg(
                "report the diagnosis for the documented site (4th character: .0-.3 face, "
                ".4 scalp/neck, .5 trunk, .6/.7 limbs) instead of ",
                pl.col("bad_dx"),
            )
        )
        .when(pl.col("alt").is_not_null())
        .then(
            msg(
                "if the lesion was on the ",
                where,
                ", bill ",
                pl.col("alt"),
                pl.when(pl.col("code_site_group").is_in(MOHS_GROUPS))
                .then(pl.lit(" (same stage)"))
                .otherwise(pl.lit(" (same size band)")),
                " instead of ",
                pl.col("cpt"),
                "; otherwise correct the diagnosis to the site treated",
            )
        )
        .otherwise(
            msg(
                "bill the ",
                where,
                " code of the same family, or correct the diagnosis to the site treated",
            )
        )
    )
    amount = (
        pl.when(dx_only)
        .then(pl.lit(None, pl.Float64))
        .when(over)
        .then((pl.col("fee") - pl.col("alt_max")) * pl.col("units"))
        .when(under)
        .then((pl.col("alt_min") - pl.col("fee")) * pl.col("units"))
        .otherwise(pl.lit(0.0))
    )
    money = (
        pl.when(dx_only)
        .then(pl.lit("none"))
        .when(over)
        .then(pl.lit("over"))
        .when(under)
        .then(pl.lit("under"))
        .otherwise(pl.lit("either"))
    )
    return emit(
        j,
        rows=line_rows(),
        codes=msg(pl.col("cpt"), " + ", pl.col("bad_dx")),
        message=message,
        suggestion=suggestion,
        amount=amount,
        money=money,
    )


# ---- DX-002 ------------------------------------------------------------------------------

DX002_FAMILIES = ("biopsy", "shave", "excision_benign")


@rule(
    "DX-002",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.NONE,
    title="Uncertain-behaviour code D48.5 used as a provisional diagnosis",
    requires=("dx",),
    flags="""
D48.5 (neoplasm of uncertain behaviour of skin) on a skin biopsy, shave removal or benign
excision line - the day the tissue is taken, when the pathology cannot yet be known. One
finding per patient, day and provider. D48.5 as the only diagnosis of a malignant excision,
malignant destruction or Mohs line is left to EXC-001, DEST-007 and MOHS-002 (malignant code
without a malignant diagnosis).
""",
    why="""
ICD-10-CM reserves D37-D48 for neoplasms whose behaviour the pathologist could not determine
from the histology. A lesion not yet examined is a neoplasm of unspecified behaviour (D49.2) or
is coded by its sign or symptom; once the report is back, the histologic diagnosis is coded.
Using D48.5 as a placeholder misstates the diagnosis and can trip payers' diagnosis edits.
""",
    example="11102 (tangential biopsy) with D48.5 on the biopsy date.",
    compliant="11102 with D49.2 (or the sign/symptom) if billed before pathology; with the "
    "pathology diagnosis (e.g. C44.319, D22.5) if coding waited for the report; D48.5 only "
    "when the pathologist reported uncertain behaviour.",
    source=(
        "ICD-10-CM Official Guidelines for Coding and Reporting, section I.C.2 and the "
        "neoplasm table (uncertain vs unspecified behaviour); derm_rules.md DX-002 (sources "
        "conflict: MedCoder.ai vs icd10.blog)."
    ),
    amount="None: a diagnosis-accuracy finding with no direct payment effect.",
    limits="""
Confidence U: sources conflict on provisional use of D48.5, and a practice that holds biopsy
claims until the pathology report arrives may rightly report D48.5 when the pathologist called
the behaviour uncertain (e.g. some atypical melanocytic or spitzoid lesions). Review only.
""",
)
def dx_002(ctx: Context) -> pl.LazyFrame:
    d48 = ctx.ref.dx_prefixes("UNCERTAIN_BEHAVIOR")
    fams = list(DX002_FAMILIES)
    hit = ctx.lines.filter(
        pl.col("family").is_in(fams) & has_dx(d48) & (pl.col("dos") >= ICD10_START)
    )
    days = hit.group_by(DAY_KEY).agg(
        pl.col("_file").first(),
        pl.col("claim_id").first(),
        pl.col("payer_class").first(),
        pl.col("_row").sort().alias("dx_rows"),
        pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("proc"),
    )
    return emit(
        days,
        rows=pl.col("dx_rows"),
        codes=msg(pl.col("proc"), " + D48.5"),
        message=msg(
            "D48.5 (uncertain behaviour, a pathology finding) reported on ",
            pl.col("proc"),
            " on the day the tissue was taken",
        ),
        suggestion=msg(
            "report D49.2 (unspecified behaviour) or the sign/symptom if the claim is coded "
            "before pathology, or the pathology diagnosis once the report is back; keep D48.5 "
            "only if the pathologist reported uncertain behaviour",
        ),
        amount=pl.lit(None, pl.Float64),
    )


# ---- DX-003 ------------------------------------------------------------------------------

DX003_FAMILIES = (
    "biopsy",
    "shave",
    "excision_benign",
    "excision_malignant",
    "destruction_premalignant",
    "destruction_benign",
    "destruction_malignant",
    "mohs",
    "skin_tag",
    "repair_simple",
    "repair_intermediate",
    "repair_complex",
    "att",
)


@rule(
    "DX-003",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.UNDER,
    title="Unspecified-site skin neoplasm code on a procedure line",
    requires=("dx",),
    flags="""
A skin procedure line (biopsy, shave, excision, destruction, Mohs, skin tags, repair, adjacent
tissue transfer) whose diagnosis is an unspecified-site or unspecified-type code from group
UNSPECIFIED_SKIN (C44.90, C44.91, C44.92, C44.99, D22.9, D23.9, D04.9) with no site-specific
code of the same category on the line. One finding per patient, day and provider.
""",
    why="""
A procedure is always done at a known site, so the site-specific code is available. Some MAC
billing articles do not list unspecified codes as covering the procedure, which leads to
denials; unspecified codes also weaken the record if the claim is audited.
""",
    example="17262 (malignant destruction, trunk) with C44.91 (basal cell carcinoma, site "
    "unspecified).",
    compliant="17262 with C44.519 (basal cell carcinoma of skin of other part of trunk).",
    source=(
        "ICD-10-CM Official Guidelines section I.B (code to the highest specificity "
        "documented); derm_rules.md DX-003 (denial risk: scribing.io, weak secondary source)."
    ),
    amount="2025 national non-facility fee x units of the affected procedure lines (the "
    "export's charge when the code has no fee): the lines at risk of a diagnosis denial.",
    limits="""
Confidence U: whether a given MAC article omits the unspecified codes was not verified, so
this is a review. C43.9, D03.9 and the .8 overlapping-site codes are not in the list (extend
UNSPECIFIED_SKIN in rulesets/ if your payers deny them).
""",
)
def dx_003(ctx: Context) -> pl.LazyFrame:
    unspec = ctx.ref.dx_prefixes("UNSPECIFIED_SKIN")
    lines = ctx.lines.filter(
        pl.col("family").is_in(list(DX003_FAMILIES))
        & has_dx(unspec)
        & (pl.col("dos") >= ICD10_START)
    )
    per_dx = (
        lines.select("_file", "_row", "dx")
        .explode("dx")
        .filter(pl.col("dx").is_not_null())
        .with_columns(
            pl.col("dx").str.slice(0, 3).alias("cat"),
            _starts_with_any(pl.col("dx"), unspec).alias("uns"),
            _dx_site_class(ctx, pl.col("dx")).is_not_null().alias("sited"),
        )
    )
    flagged = (
        per_dx.group_by("_file", "_row", "cat")
        .agg(
            pl.col("uns").any().alias("any_uns"),
            pl.col("sited").any().alias("any_sited"),
            pl.col("dx").filter(pl.col("uns")).alias("uns_dx"),
        )
        .filter(pl.col("any_uns") & ~pl.col("any_sited"))
        .group_by("_file", "_row")
        .agg(pl.col("uns_dx").list.explode(keep_nulls=False, empty_as_null=False).alias("uns_dx"))
    )
    # line order kept: the day's code list (and its fingerprint) must not vary run to run
    j = lines.join(flagged, on=["_file", "_row"], how="inner", maintain_order="left")
    days = j.group_by(DAY_ID).agg(
        *day_key_first(),
        pl.col("_file").first(),
        pl.col("claim_id").first(),
        pl.col("payer_class").first(),
        pl.col("_row").sort().alias("dx_rows"),
        pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("proc"),
        pl.col("uns_dx")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True)
        .str.join(" ")
        .alias("uns"),
        pl.when(_line_amount().count() > 0).then(_line_amount().sum()).alias("amt"),
    )
    return emit(
        days,
        rows=pl.col("dx_rows"),
        codes=msg(pl.col("proc"), " + ", pl.col("uns")),
        message=msg(
            pl.col("proc"),
            " reported with unspecified-site diagnosis ",
            pl.col("uns"),
            " and no site-specific code of the same category",
        ),
        suggestion=msg(
            "report the site-specific code for the lesion treated instead of ",
            pl.col("uns"),
            " (e.g. C44.519 basal cell carcinoma of trunk rather than C44.91; D22.5 nevus of "
            "trunk rather than D22.9)",
        ),
        amount=pl.col("amt"),
    )


# ---- DX-004 ------------------------------------------------------------------------------

ICD_EDITION = "ICD-10-CM April 2026"
# The fiscal year the package's edition belongs to: outside it, validity is a review.
EDITION_FY = (date(2025, 10, 1), date(2026, 9, 30))
ICD_CHECK = pl.Struct({"status": pl.String, "note": pl.String, "hint": pl.String})


def _icd() -> Any:
    """ICD-10-CM look-ups from the cached tables derived from simple_icd_10_cm."""
    return icd10.facts()


def _icd_check(codes: pl.Series) -> pl.Series:
    """Validity of each (already unique) diagnosis code against the package's code set."""
    icd = _icd()
    out: list[dict[str, str | None]] = []
    for code in codes.to_list():
        if code is None:
            out.append({"status": None, "note": None, "hint": None})
        elif icd.is_valid_item(code) and icd.is_leaf(code):
            out.append({"status": "ok", "note": None, "hint": None})
        elif icd.is_valid_item(code):
            kids = [str(k) for k in icd.get_children(code)]
            shown = ", ".join(kids[:4]) + (", ..." if len(kids) > 4 else "")
            out.append(
                {
                    "status": "not_leaf",
                    "note": f"{code} is a category, not a billable code (it has subcodes)",
                    "hint": f"report a complete code under {code} (e.g. {shown})",
                }
            )
        else:
            parent = code
            while len(parent) > 3 and not icd.is_valid_item(parent):
                parent = parent[:-1].rstrip(".")
            near = (
                f"the nearest valid category is {parent} ({icd.get_description(parent)})"
                if icd.is_valid_item(parent)
                else "no such ICD-10-CM category exists"
            )
            out.append(
                {
                    "status": "unknown",
                    "note": f"{code} is not in the {ICD_EDITION} code set",
                    "hint": f"check {code}: {near}",
                }
            )
    return pl.Series(codes.name, out, dtype=ICD_CHECK)


@rule(
    "DX-004",
    severity=Severity.DENIAL,
    confidence=Confidence.P,
    money=Money.UNDER,
    title="Diagnosis is not a valid, billable ICD-10-CM code",
    requires=("dx",),
    flags="""
A line with a date of service from 2015-10-01 (ICD-10-CM era) whose diagnosis is not a
billable ICD-10-CM code: either a category or subcategory that has subcodes (e.g. L82 instead
of L82.0/L82.1, C44.31 instead of C44.311), or a code that does not exist in the code set. One
finding per patient, day and provider, listing every invalid diagnosis of the day.
""",
    why="""
Claims must carry complete ICD-10-CM codes valid for the date of service (fiscal years run
1 October - 30 September). A truncated or unknown code is rejected at the clearinghouse or
denied, so every line pointing to it is unpaid until the diagnosis is corrected.
""",
    example="11102 + 99213 on 2026-01-15 with diagnosis L82 (no 4th character).",
    compliant="L82.1 (seborrheic keratosis, not inflamed) or L82.0 (inflamed).",
    source=(
        "ICD-10-CM tabular list, April 2026 edition (CDC/CMS), as shipped in the "
        "simple_icd_10_cm package (1.5.0); HIPAA code-set rule (valid codes for the date of "
        "service); ICD-10-CM effective 2015-10-01 (LCD revision dates); derm_rules.md DX-004."
    ),
    amount="Sum of the affected lines' 2025 national fee x units (the export's charge when the "
    "code has no fee): the lines unpaid until the diagnosis is fixed.",
    limits="""
Validity is checked against ONE edition, the April 2026 ICD-10-CM tabular list shipped with
simple_icd_10_cm; the package has no other years. Codes added or deleted in other fiscal
years may be misjudged (a code deleted in FY2024 looks valid; a code that only became a
category later, such as C44.112 before FY2019, looks truncated). So findings are denials only
for dates of service in FY2026 (2025-10-01 to 2026-09-30) and reviews for every other year.
Dates of service before 2015-10-01 (ICD-9-CM) are not checked.
""",
)
def dx_004(ctx: Context) -> pl.LazyFrame:
    lines = ctx.lines.filter(pl.col("dos") >= ICD10_START)
    per_dx = lines.select("_file", "_row", "dx").explode("dx").filter(pl.col("dx").is_not_null())
    checks = (
        per_dx.select("dx")
        .unique()
        .with_columns(pl.col("dx").map_batches(_icd_check, return_dtype=ICD_CHECK).alias("chk"))
        .unnest("chk")
        .filter(pl.col("status").is_in(["not_leaf", "unknown"]))
    )
    bad = (
        per_dx.join(checks, on="dx", how="inner")
        .group_by("_file", "_row")
        .agg(pl.col("dx").alias("bad_dx"))
    )
    j = lines.join(bad, on=["_file", "_row"], how="inner").with_columns(_line_amount().alias("amt"))
    days = j.group_by(DAY_KEY).agg(
        pl.col("_file").first(),
        pl.col("claim_id").first(),
        pl.col("payer_class").first(),
        pl.col("_row").sort().alias("dx_rows"),
        pl.col("bad_dx")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
        .alias("bad"),
        pl.when(pl.col("amt").count() > 0).then(pl.col("amt").sum()).alias("amt"),
    )
    all_notes = (
        days.select(*DAY_KEY, "bad")
        .explode("bad")
        .join(checks.select(pl.col("dx").alias("bad"), "note", "hint"), on="bad", how="left")
        .sort("bad")
        .group_by(DAY_KEY)
        .agg(pl.col("note").str.join("; "), pl.col("hint").str.join("; "))
    )
    out = days.join(all_notes, on=DAY_KEY, how="left")
    in_edition = pl.col("dos").is_between(*EDITION_FY)
    return emit(
        out,
        rows=pl.col("dx_rows"),
        codes=pl.col("bad").list.join(" "),
        message=msg(
            pl.col("note"),
            pl.when(~in_edition).then(
                msg(
                    " (checked against the ",
                    pl.lit(ICD_EDITION),
                    " edition; the code set of the date of service may differ)",
                )
            ),
        ),
        suggestion=pl.col("hint"),
        amount=pl.col("amt"),
        severity=pl.when(in_edition).then(pl.lit("denial")).otherwise(pl.lit("review")),
    )
