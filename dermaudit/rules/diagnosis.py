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
from .base import ICD10_START, Context, emit, has_dx, line_rows, materialise, msg, one_of, rule

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
    out_of_scope="Diagnoses without a site axis (e.g. L82, B07); overlapping (.8) and "
    "unspecified (.9) sites; lines whose documented site maps to another group (the site rules "
    "SHV-001, EXC-003, DEST-008, MOHS-006 report those).",
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
        "ICD-10-CM FY2026 tabular list (April 1, 2026 update, via simple_icd_10_cm): "
        "4th-character site axis of C43, C4A, C44, D03, D04, D22, D23; CPT 2025 Professional "
        "Edition location groups of the shave, excision and malignant destruction families "
        "and the Mohs site families (group membership also in the CMS PFS Relative Value File"
        " short descriptors)."
    ),
    amount="""
2025 national non-facility fees x units: billed code minus the same-band code of the group the
diagnosis fits (the closest-priced one when two groups fit, e.g. A or B for a limb). Money is
'over' when the billed code pays more, 'under' when it pays less. No amount when the site
column shows the code is right and only the diagnosis is wrong.
""",
    limits="""
Confidence U: the site axis itself is confirmed in the FY2026 tabular list, but no payer text
maps it to the CPT location groups (the mapping is dermaudit's reading), and limb codes cannot
tell a hand or foot (group B) from an arm or leg (group A). If the export lists the
encounter's diagnoses on every line instead of each line's own pointer, a line is only flagged
when none of them fits. Overlapping (.8) and unspecified (.9) sites are never flagged (DX-003
covers unspecified ones). 17311 also covers deep-structure involvement at any site.
""",
)
def dx_001(ctx: Context) -> pl.LazyFrame:
    groups = LESION_GROUPS + MOHS_GROUPS
    lines = ctx.lines.filter(one_of("code_site_group", groups) & (pl.col("dos") >= ICD10_START))
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
        pl.when(one_of("code_site_group", MOHS_GROUPS))
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
                pl.when(one_of("code_site_group", MOHS_GROUPS))
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
    out_of_scope="D48.5 on lines other than biopsies, shaves and benign excisions; whether the "
    "pathology report called the behaviour uncertain.",
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
Using D48.5 as a stand-in misstates the diagnosis and can trip payers' diagnosis edits.
""",
    example="11102 (tangential biopsy) with D48.5 on the biopsy date.",
    compliant="11102 with D49.2 (or the sign/symptom) if billed before pathology; with the "
    "pathology diagnosis (e.g. C44.319, D22.5) if coding waited for the report; D48.5 only "
    "when the pathologist reported uncertain behaviour.",
    source=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, section I.C.2 and the"
        " Table of Neoplasms (uncertain vs unspecified behaviour), section IV.H (outpatient: "
        "code uncertain diagnoses as signs/symptoms); sources that explain provisional use "
        "conflict (MedCoder.ai vs icd10.blog), so the rule is a review."
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
    hit = ctx.lines.filter(one_of("family", fams) & has_dx(d48) & (pl.col("dos") >= ICD10_START))
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
    out_of_scope="Unspecified codes when a site-specific code of the same category is also on "
    "the line; C43.9, D03.9 and overlapping-site (.8) codes.",
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
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, section I.B.2 and "
        "section IV (code to the highest degree of specificity documented); secondary (weak):"
        " scribing.io on denials of unspecified codes."
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
        one_of("family", list(DX003_FAMILIES)) & has_dx(unspec) & (pl.col("dos") >= ICD10_START)
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

ICD_EDITION = "ICD-10-CM FY2026 (April 1, 2026 update)"
ICD_CHECK = pl.Struct(
    {"status": pl.String, "certain": pl.Boolean, "note": pl.String, "hint": pl.String}
)
ICD9_V = r"^V\d{2}(\.\d{1,2})?$"  # an ICD-9-CM supplementary code, not a valid ICD-10-CM one


def _shown(codes: list[str]) -> str:
    return ", ".join(codes[:4]) + (", ..." if len(codes) > 4 else "")


def _judge(cs: icd10.CodeSet, code: str, fy: date) -> dict[str, Any]:
    """Status, certainty, message and hint for one diagnosis in the edition that starts ``fy``."""
    ed = icd10.fy_label(fy)
    status, certain, ch = cs.status(code, fy)
    if status == "ok":
        return {"status": "ok", "certain": True, "note": None, "hint": None}
    if status == "not_yet" and ch is not None:
        older = [
            c
            for c, rows in cs.changes.items()
            if any(
                r.change == "expanded" and r.effective == ch.effective and code in r.children
                for r in rows
            )
        ]
        return {
            "status": status,
            "certain": True,
            "note": f"{code} did not exist before {ch.effective} ({icd10.fy_label(ch.effective)}"
            f" edition); the {ed} edition applies to this date of service",
            "hint": f"report {older[0]} (the billable code in {ed})"
            if older
            else f"report the {ed} code for the condition",
        }
    if status == "deleted" and ch is not None:
        return {
            "status": status,
            "certain": True,
            "note": f"{code} was deleted on {ch.effective}",
            "hint": "report the code that replaced it (CMS ICD-10-CM conversion table of "
            f"{icd10.fy_label(ch.effective)})",
        }
    if status == "expanded" and ch is not None:
        leaves = cs.leaves_on(code, fy)
        return {
            "status": status,
            "certain": True,
            "note": f"{code} has been a category since {ch.effective} "
            f"({icd10.fy_label(ch.effective)}); it is not billable in the {ed} edition",
            "hint": f"report a complete code under {code} (e.g. {_shown(leaves)})",
        }
    if status == "not_leaf":
        leaves = cs.leaves_on(code, fy)
        return {
            "status": status,
            "certain": certain,
            "note": f"{code} is a category, not a billable code (it has subcodes)",
            "hint": f"report a complete code under {code} (e.g. {_shown(leaves)})",
        }
    parent = code
    while len(parent) > 3 and not cs.facts.is_valid_item(parent):
        parent = parent[:-1].rstrip(".")
    near = (
        f"the nearest valid category is {parent} ({cs.facts.get_description(parent)})"
        if cs.facts.is_valid_item(parent)
        else "no such ICD-10-CM category exists"
    )
    return {
        "status": "unknown",
        "certain": certain,
        "note": f"{code} is not in the {ICD_EDITION} code set",
        "hint": f"check {code}: {near}",
    }


def _icd_check(pairs: pl.Series) -> pl.Series:
    """Validity of each distinct (diagnosis, fiscal-year start) pair."""
    cs = icd10.CodeSet(_CHANGES.get("table"))
    out: list[dict[str, Any]] = []
    for p in pairs.to_list():
        code, fy = p["dx"], p["fy"]
        if code is None or fy is None:
            out.append({"status": None, "certain": None, "note": None, "hint": None})
        else:
            out.append(_judge(cs, code, fy))
    return pl.Series(pairs.name, out, dtype=ICD_CHECK)


# the change table of the running scan (set by dx_004; the check runs inside a plan)
_CHANGES: dict[str, dict[str, list[icd10.Change]]] = {}


@rule(
    "DX-004",
    severity=Severity.DENIAL,
    confidence=Confidence.P,
    money=Money.UNDER,
    title="Diagnosis not valid in the ICD-10-CM edition of the date of service",
    requires=("dx",),
    severities={
        Severity.REVIEW: "the date of service is outside FY2026 and the code's history is not "
        "in rulesets/icd10_changes.csv, so only the FY2026 edition speaks for that year",
    },
    out_of_scope="Whether the code is the right one for the condition (only its validity on "
    "the date of service is checked); ICD-10-CM codes on dates before 2015-10-01; diagnosis "
    "pointers that are numbers.",
    flags="""
For dates of service from 2015-10-01 (ICD-10-CM era), a diagnosis that is not a billable
ICD-10-CM code in the fiscal-year edition in force on the date of service (editions start each
October 1):
  * an ICD-9-CM code (e.g. 702.0, 173.31, V10.82) - ICD-9 is invalid from 2015-10-01;
  * a code not yet valid on the date (added in a later edition, e.g. C44.1121 on a claim of
    2018-05-01; added 2018-10-01);
  * a code already deleted on the date;
  * a code that was billable then but has since become a category is judged by the year of
    service (C44.112 is valid on 2018-05-01, not on 2019-05-01);
  * a category or subcategory that has subcodes (e.g. L82 instead of L82.0/L82.1), or a code
    that does not exist.
One finding per patient, day and provider, listing every invalid diagnosis of the day.
""",
    why="""
Claims must carry complete ICD-10-CM codes valid for the date of service (HIPAA code-set
standard; ICD-9-CM was retired for dates of service from 2015-10-01). A truncated, retired or
not-yet-valid code is rejected at the clearinghouse or denied, so every line pointing to it is
unpaid until the diagnosis is corrected.
""",
    example="11102 on 2026-01-15 with L82; 17311 on 2019-05-01 with C44.112; 17000 on "
    "2016-03-01 with 702.0.",
    compliant="L82.1 (or L82.0); C44.1121 (right upper eyelid) from 2018-10-01; L57.0 for the "
    "actinic keratosis.",
    source=(
        "ICD-10-CM FY2026 tabular list (April 1, 2026 update, as shipped in simple_icd_10_cm "
        "1.5); CMS/NCHS ICD-10-CM addenda and conversion tables for the changes listed in "
        "rulesets/icd10_changes.csv (FY2019 eyelid laterality, FY2025 L29.8/L66.1/L66.8); "
        "HIPAA code-set standard 45 CFR 162.1002 (ICD-9-CM through 2015-09-30, ICD-10-CM from "
        "2015-10-01); CMS General Equivalence Mappings for ICD-9 to ICD-10 re-coding."
    ),
    amount="Sum of the affected lines' 2025 national fee x units (the export's charge when the "
    "code has no fee): the lines unpaid until the diagnosis is fixed.",
    limits="""
The code set is the FY2026 edition shipped with simple_icd_10_cm plus the fiscal-year changes
in rulesets/icd10_changes.csv, which covers the dermatology codes listed there only (eyelid
neoplasm laterality of FY2019; pruritus and cicatricial alopecia splits of FY2025). For other
codes and dates before FY2026 a finding is a review: the code may have been valid in that
year's edition. ICD-9 codes are recognised by their shape (three digits with up to two
decimals, or a V code not valid in ICD-10-CM); E codes of ICD-9 cannot be told from ICD-10-CM
E codes and are not reported as ICD-9.
""",
)
def dx_004(ctx: Context) -> pl.LazyFrame:
    _CHANGES["table"] = icd10.parse_changes(ctx.ref.tables.get("icd10_changes.csv"))
    lines = ctx.lines.filter(pl.col("dos") >= ICD10_START)
    fy = (
        pl.when(pl.col("dos").dt.month() >= 10)
        .then(pl.date(pl.col("dos").dt.year(), 10, 1))
        .otherwise(pl.date(pl.col("dos").dt.year() - 1, 10, 1))
    )
    has_icd9 = "dx_icd9" in ctx.lines.collect_schema().names()
    v_codes = pl.col("dx").str.contains(ICD9_V)
    # The distinct (fiscal year, code) pairs are found from the distinct (year, diagnosis list)
    # pairs (exports repeat a few thousand lists over millions of lines) and checked; only the
    # lines holding a code that fails are then split into (line, code) and matched.
    fy_end = pl.col("dos").dt.year() + (pl.col("dos").dt.month() >= 10).cast(pl.Int32)
    pairs = (
        lines.select(fy_end.alias("fy_end"), "dx")
        .unique()
        .explode("dx")
        .filter(pl.col("dx").is_not_null())
        .unique()
        .select("dx", pl.date(pl.col("fy_end") - 1, 10, 1).alias("fy"))
    )
    checks = materialise(
        pairs.with_columns(
            pl.struct("dx", "fy").map_batches(_icd_check, return_dtype=ICD_CHECK).alias("chk")
        )
        .unnest("chk")
        .filter(pl.col("status") != "ok")
        # an ICD-9 V code read as an (invalid) ICD-10-CM code is reported as ICD-9 below
        .filter(~(v_codes & (pl.col("status") == "unknown")) if has_icd9 else pl.lit(True))
    )
    failing = checks.select(pl.col("dx").unique()).collect()["dx"].to_list()
    per_dx = (
        lines.filter(pl.col("dx").list.eval(pl.element().is_in(failing)).list.any())
        .select("_file", "_row", "dx", fy.alias("fy"))
        .explode("dx")
        .filter(pl.col("dx").is_not_null())
    )
    bad = per_dx.join(checks, on=["dx", "fy"], how="inner").select(
        "_file", "_row", "dx", "certain", "note", "hint"
    )
    if has_icd9:
        icd9 = (
            lines.select("_file", "_row", pl.col("dx_icd9").alias("dx"))
            .explode("dx")
            .filter(pl.col("dx").is_not_null())
            .with_columns(
                pl.lit(True).alias("certain"),
                msg(
                    pl.col("dx"),
                    " is an ICD-9-CM code; ICD-10-CM is required for dates of service from "
                    "2015-10-01",
                ).alias("note"),
                msg(
                    "re-code ",
                    pl.col("dx"),
                    " in ICD-10-CM (the CMS General Equivalence Mappings give the candidates)",
                ).alias("hint"),
            )
        )
        bad = pl.concat([bad, icd9], how="vertical_relaxed")
    per_line = bad.group_by("_file", "_row").agg(
        pl.col("dx").alias("bad_dx"), pl.col("certain").all().alias("certain")
    )
    j = lines.join(per_line, on=["_file", "_row"], how="inner").with_columns(
        _line_amount().alias("amt")
    )
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
        pl.col("certain").all(),
        pl.when(pl.col("amt").count() > 0).then(pl.col("amt").sum()).alias("amt"),
    )
    notes = (
        bad.join(lines.select("_file", "_row", *DAY_KEY), on=["_file", "_row"], how="inner")
        .select(*DAY_KEY, "dx", "note", "hint")
        .unique()
        .sort("dx")
        .group_by(DAY_KEY)
        .agg(pl.col("note").str.join("; "), pl.col("hint").str.join("; "))
    )
    out = days.join(notes, on=DAY_KEY, how="left")
    certain = pl.col("certain")
    return emit(
        out,
        rows=pl.col("dx_rows"),
        codes=pl.col("bad").list.join(" "),
        message=msg(
            pl.col("note"),
            pl.when(~certain).then(
                msg(
                    " (checked against the ",
                    pl.lit(ICD_EDITION),
                    " edition; the edition of the date of service may differ)",
                )
            ),
        ),
        suggestion=pl.col("hint"),
        amount=pl.col("amt"),
        severity=pl.when(certain).then(pl.lit("denial")).otherwise(pl.lit("review")),
    )
