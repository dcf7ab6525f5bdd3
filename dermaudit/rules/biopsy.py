"""Skin biopsy 11102-11107 (codes exist for dates of service from 2019-01-01).

Since 2019 skin biopsies are coded by technique: tangential (11102, add-on +11103), punch
(11104, +11105) and incisional (11106, +11107). One primary code is reported per encounter,
for the highest technique used (incisional > punch > tangential); every further biopsy, of
any technique, is reported with its own technique's add-on code. Every rule here skips dates
of service before 2019-01-01 (the old 11100/11101 belong to GEN-001 there).

BX-007 (biopsy versus removal intent) cannot be seen in charge data: a tangential biopsy
samples a lesion (11102), a shave removal removes it (11300-11313), and a whole lesion
removed and sent to pathology is an excision or shave, not a biopsy. It is documentation for
reviewers, not a rule. SHV-003 (shave and biopsy of the same lesion) is handled by BX-003.

The helpers at the bottom (dollar formatting, "code xN" strings) are shared with the tags,
shave and pathology modules.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..features import DAY_ID, DAY_KEY
from ..model import Confidence, Money, Severity
from .base import (
    CPT_BOOK,
    NCCI_MANUAL,
    PARTNER_ROWS,
    Context,
    emit,
    line_field,
    materialise,
    msg,
    one_of,
    rows_of,
    rule,
)

BX_START = date(2019, 1, 1)

# (technique, primary, add-on), highest technique first: incisional > punch > tangential.
TECHNIQUES: tuple[tuple[str, str, str], ...] = (
    ("incisional", "11106", "11107"),
    ("punch", "11104", "11105"),
    ("tangential", "11102", "11103"),
)
PRIMARIES = tuple(t[1] for t in TECHNIQUES)
ADDONS = tuple(t[2] for t in TECHNIQUES)
SKIN_BX = tuple(sorted(PRIMARIES + ADDONS))

# Families of "definitive" lesion procedures for BX-003/BX-004 (rulesets/codes.csv). Mohs is
# left out on purpose: a biopsy on the Mohs date is judged by MOHS-004.
DEFINITIVE_FAMILIES = (
    "shave",
    "excision_benign",
    "excision_malignant",
    "destruction_premalignant",
    "destruction_benign",
    "destruction_vascular",
    "destruction_malignant",
    "att",
)

BX_SOURCES_2019 = (
    f"{CPT_BOOK} skin-biopsy guidelines (11102-11107 by technique since 2019; one primary code "
    "per encounter, further biopsies with add-on codes); secondary: AAD Dermatology World "
    "'Cracking the code: biopsy coding in 2019' parts 2-3 (Dec 2018/Jan 2019), Karen Zupko & "
    "Associates 2019, AHA Coding Clinic for HCPCS Q1 2019 (as cited by Aquity) and First Coast "
    "Service Options (MAC) 'Be sure you are billing correctly for biopsy services' (2024); "
    "fees: CMS PFS 2025 national non-facility amounts."
)


# ---- shared helpers (also used by tags.py, shave.py, pathology.py) ----------------------


def usd(x: pl.Expr) -> pl.Expr:
    """Dollar text with two decimals, e.g. ``$47.88`` (null stays null)."""
    cents = (x * 100).round(0).cast(pl.Int64)
    a = cents.abs()
    return pl.concat_str(
        [
            pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            pl.lit("$"),
            (a // 100).cast(pl.String),
            pl.lit("."),
            (a % 100).cast(pl.String).str.zfill(2),
        ]
    )


def code_units(code: str | pl.Expr, n: pl.Expr) -> pl.Expr:
    """``11103`` for one unit, ``11103 x2`` for two, null for none."""
    c = code if isinstance(code, pl.Expr) else pl.lit(code)
    return (
        pl.when(n == 1)
        .then(c)
        .when(n > 1)
        .then(pl.concat_str([c, pl.lit(" x"), n.cast(pl.String)]))
        .otherwise(pl.lit(None, pl.String))
    )


def join_plus(parts: list[pl.Expr]) -> pl.Expr:
    return pl.concat_str(parts, separator=" + ", ignore_nulls=True)


def money_dir(billed: pl.Expr, correct: pl.Expr) -> pl.Expr:
    return (
        pl.when(billed > correct)
        .then(pl.lit("over"))
        .when(billed < correct)
        .then(pl.lit("under"))
        .otherwise(pl.lit("none"))
    )


def compare_text(billed: pl.Expr, correct: pl.Expr) -> pl.Expr:
    """'(2025 national: $167.23 instead of $215.11, $47.88 less)'."""
    diff = correct - billed
    return msg(
        "(2025 national non-facility: ",
        usd(correct),
        " instead of ",
        usd(billed),
        ", ",
        usd(diff.abs()),
        pl.when(diff < 0).then(pl.lit(" less")).otherwise(pl.lit(" more")),
        ")",
    )


def norm_site(col: str = "site") -> pl.Expr:
    return pl.col(col).str.strip_chars().str.replace_all(r"\s+", " ")


def definitive_codes(ctx: Context) -> list[str]:
    return ctx.ref.family(*DEFINITIVE_FAMILIES)


# ---- the biopsy hierarchy on the day frame ------------------------------------------------


def _hierarchy(ctx: Context) -> pl.LazyFrame:
    """Per day (DOS >= 2019): what was billed and the compliant biopsy combination."""
    fee = ctx.fee
    n = {t: ctx.u(p) + ctx.u(a) for t, p, a in TECHNIQUES}
    best = pl.lit(None, pl.String)
    for t, _, _ in reversed(TECHNIQUES):
        best = pl.when(n[t] > 0).then(pl.lit(t)).otherwise(best)
    best_primary = pl.lit(None, pl.String)
    best_premium = pl.lit(0.0)
    for t, p, a in reversed(TECHNIQUES):
        best_primary = pl.when(pl.col("bx_best") == t).then(pl.lit(p)).otherwise(best_primary)
        best_premium = (
            pl.when(pl.col("bx_best") == t).then(pl.lit(fee(p) - fee(a))).otherwise(best_premium)
        )
    extra = {
        t: pl.col(f"bx_n_{t}") - (pl.col("bx_best") == t).cast(pl.Int64) for t, _, _ in TECHNIQUES
    }
    billed_amt = sum((ctx.u(c) * fee(c) for c in SKIN_BX), start=pl.lit(0.0))
    fix_amt = (
        sum((pl.col(f"bx_n_{t}") * fee(a) for t, _, a in TECHNIQUES), start=pl.lit(0.0))
        + best_premium
    )
    return (
        ctx.days.filter(pl.col("dos") >= BX_START)
        .with_columns(
            *[n[t].alias(f"bx_n_{t}") for t, _, _ in TECHNIQUES],
            best.alias("bx_best"),
            sum((ctx.u(p) for p in PRIMARIES), start=pl.lit(0)).alias("bx_prim_units"),
        )
        .with_columns(
            join_plus([code_units(c, ctx.u(c)) for c in SKIN_BX]).alias("bx_billed"),
            join_plus([best_primary, *[code_units(a, extra[t]) for t, _, a in TECHNIQUES]]).alias(
                "bx_fix"
            ),
            billed_amt.alias("bx_billed_amt"),
            fix_amt.alias("bx_fix_amt"),
        )
    )


def _hierarchy_suggestion() -> pl.Expr:
    return msg(
        "bill ",
        pl.col("bx_fix"),
        " instead of ",
        pl.col("bx_billed"),
        " ",
        compare_text(pl.col("bx_billed_amt"), pl.col("bx_fix_amt")),
    )


@rule(
    "BX-001",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="More than one primary skin-biopsy code in an encounter",
    codes=SKIN_BX,
    severities={
        Severity.REVIEW: "a primary biopsy line carries XE (separate encounter): two encounters "
        "on one day may each have a primary",
    },
    out_of_scope="Biopsies before 2019-01-01 (11100/11101, GEN-001); whether each biopsy was "
    "medically necessary; biopsies billed under different rendering providers on one day.",
    flags="""
Two or more units of the primary biopsy codes 11102 (tangential), 11104 (punch) and 11106
(incisional) on one day for the same patient and rendering provider, as units or as separate
lines, for dates of service from 2019-01-01.
""",
    why="""
Since 2019 CPT allows one primary biopsy code per encounter: the code for the highest
technique used (incisional > punch > tangential). Every further biopsy, of any technique, is
an add-on (11103 tangential, 11105 punch, 11107 incisional). A second primary is paid at the
primary rate (less the multiple-procedure reduction) instead of the lower add-on rate, which
is an overpayment; MACs such as First Coast have published this as a common error.
""",
    example="11102 + 11104 on 2025-03-04 (a tangential and a punch biopsy of two lesions).",
    compliant=(
        "11104 + 11103: the punch biopsy is the primary, the tangential biopsy its add-on. "
        "Two punch biopsies: 11104 + 11105, not 11104 x2."
    ),
    source=BX_SOURCES_2019,
    amount="""
2025 national non-facility fees: billed (units x fee of every 11102-11107 line on the day)
minus the compliant combination (primary of the highest technique + one add-on per further
biopsy of its own technique). Example: 11102 + 11104 = $215.11 vs 11104 + 11103 = $167.23,
$47.88 at stake. Before the multiple-procedure reduction, which lowers the real difference.
""",
    limits="""
The number of biopsies per technique is taken from the units billed. A primary biopsy line
with XE (separate encounter) is reported as a review, not an error: two encounters on one
day may each have a primary. Two rendering providers on one day are two encounters here.
""",
)
def bx_001(ctx: Context) -> pl.LazyFrame:
    d = _hierarchy(ctx).filter(pl.col("bx_prim_units") >= 2)
    xe = (
        pl.col("lines")
        .list.eval(line_field("cpt").is_in(PRIMARIES) & line_field("mods").list.contains("XE"))
        .list.any()
        .fill_null(False)
    )
    return emit(
        d,
        rows=rows_of(*SKIN_BX),
        codes=pl.col("bx_billed"),
        message=msg(
            pl.col("bx_prim_units"),
            " primary biopsy codes in one encounter (",
            pl.col("bx_billed"),
            "); only one primary is allowed per encounter, further biopsies are add-ons",
            pl.when(xe).then(
                pl.lit("; a primary line carries XE (separate encounter): check the two visits")
            ),
        ),
        suggestion=_hierarchy_suggestion(),
        amount=(pl.col("bx_billed_amt") - pl.col("bx_fix_amt")).abs(),
        severity=pl.when(xe).then(pl.lit("review")).otherwise(pl.lit("compliance")),
        money=money_dir(pl.col("bx_billed_amt"), pl.col("bx_fix_amt")),
    )


@rule(
    "BX-002",
    severity=Severity.REVENUE,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="Biopsy primary below an add-on technique in the hierarchy",
    codes=SKIN_BX,
    out_of_scope="Days with two or more primaries (BX-001); a wrong add-on technique code "
    "itself; biopsies before 2019-01-01.",
    flags="""
One primary biopsy code whose technique ranks below an add-on technique billed the same day:
11102 with 11105 or 11107, or 11104 with 11107 (dates of service from 2019-01-01).
""",
    why="""
The primary biopsy code must be the highest technique performed in the encounter
(incisional 11106 > punch 11104 > tangential 11102); the other biopsies are reported with
their own add-on codes. Reporting the lower technique as primary under-reports the
encounter: the higher technique is paid only at the add-on rate.
""",
    example="11102 + 11105 (a tangential and a punch biopsy).",
    compliant="11104 + 11103: punch as the primary, tangential as the add-on.",
    source=BX_SOURCES_2019,
    amount="""
2025 national non-facility fees: compliant combination minus billed. Example: 11102 + 11105
= $153.33 vs 11104 + 11103 = $167.23, $13.90 under-billed.
""",
    limits="""
Technique is read from the codes billed; if the add-on code itself is wrong (e.g. a
tangential biopsy coded 11105) the fix is the add-on, not the primary. Days with two or more
primaries are reported by BX-001 instead.
""",
)
def bx_002(ctx: Context) -> pl.LazyFrame:
    u = ctx.u
    wrong = ((u("11102") == 1) & ((u("11105") + u("11107")) > 0)) | (
        (u("11104") == 1) & (u("11107") > 0)
    )
    d = _hierarchy(ctx).filter((pl.col("bx_prim_units") == 1) & wrong)
    return emit(
        d,
        rows=rows_of(*SKIN_BX),
        codes=pl.col("bx_billed"),
        message=msg(
            "biopsy primary is below the hierarchy (",
            pl.col("bx_billed"),
            "): the primary must be the highest technique performed (",
            pl.col("bx_best"),
            ")",
        ),
        suggestion=_hierarchy_suggestion(),
        amount=(pl.col("bx_fix_amt") - pl.col("bx_billed_amt")).abs(),
        money=money_dir(pl.col("bx_billed_amt"), pl.col("bx_fix_amt")),
    )


# ---- biopsy with a definitive lesion procedure (line pairs) --------------------------------


SESSION_CODES = ["17000", "17003", "17004", "17110", "17111", "11200", "11201"]


def _partners(ctx: Context) -> pl.LazyFrame:
    """Per skin biopsy line (DOS >= 2019, insured) on a day with a definitive lesion procedure:
    its definitive partners, by category, as BX-003/BX-004 judge them.

    A pair is at the ``same`` site when both sites are recorded and equal and their anatomic
    modifiers do not conflict; a line is ``modified`` when it carries 59/X{EPSU} (or, for the
    biopsy, an anatomic modifier). Categories: ``same_site`` (same site, either line
    modified), ``no_modifier`` (neither line modified, any site) and ``wrong_line`` (only the
    partner modified, never at the same site). For each biopsy and category the columns hold
    the partner rows (at most PARTNER_ROWS), codes, first distinct modifier, whether any
    partner is at the same site, whether all are at recorded different sites, and the 'soft'
    flag (XE, a frozen section, or a multi-lesion session code as partner).

    Built without pairing every biopsy with every partner: partners are grouped by (day, site,
    anatomic modifiers, modified) and by (day, modified); a biopsy is joined to the groups at
    its own site only, and to per-day aggregates otherwise - memory grows with the lines."""
    anat = ctx.ref.modifiers_of("anatomic")
    distinct = ctx.ref.modifiers_of("distinct")
    keep = [*anat, *distinct]

    def mods_in(names: list[str]) -> pl.Expr:
        return pl.col("mods").list.eval(pl.element().filter(pl.element().is_in(names)))

    def anat_text() -> pl.Expr:
        a = mods_in(anat)
        return pl.when(a.list.len() == 0).then(pl.lit("")).otherwise(a.list.sort().list.join(" "))

    # Self-pay lines are on no payer's claim, so no PTP edit pairs them (as in repair.py).
    insured = pl.col("payer_class").fill_null("unknown") != "self_pay"
    bx_lines = ctx.lines.filter(one_of("cpt", SKIN_BX) & (pl.col("dos") >= BX_START) & insured)
    df_lines = ctx.lines.filter(one_of("cpt", definitive_codes(ctx)) & insured)
    bx_lines, df_lines = (
        bx_lines.join(df_lines.select(DAY_ID), on=DAY_ID, how="semi"),
        df_lines.join(bx_lines.select(DAY_ID), on=DAY_ID, how="semi"),
    )
    bx = bx_lines.select(
        "_file",
        "_row",
        "claim_id",
        *DAY_KEY,
        DAY_ID,
        "payer_class",
        "cpt",
        "units",
        "fee",
        norm_site().alias("b_site"),
        anat_text().alias("b_anat"),
        mods_in(keep).list.join("-").alias("b_mods"),
        (pl.col("m_distinct") | mods_in(anat).list.len().gt(0)).fill_null(False).alias("b_mod"),
        pl.col("mods").list.contains("XE").fill_null(False).alias("b_xe"),
    )
    df = df_lines.select(
        DAY_ID,
        pl.col("_row").alias("d_row"),
        pl.col("cpt").alias("d_cpt"),
        norm_site().alias("d_site"),
        anat_text().alias("d_anat"),
        mods_in(distinct).list.first().alias("d_dmod"),
        pl.col("m_distinct").fill_null(False).alias("d_mod"),
        (
            pl.col("mods").list.contains("XE").fill_null(False)
            # a multi-lesion session code's site is a region ("bilateral forearms"): an equal
            # site text cannot show that the biopsy was of a destroyed lesion
            | one_of("cpt", SESSION_CODES)
        ).alias("d_soft"),
    )

    # each is read by several joins below; materialised once rather than recomputed per read
    bx, df = materialise(bx), materialise(df)

    def group(keys: list[str]) -> pl.LazyFrame:
        return (
            df.sort("d_row")
            .group_by(keys)
            .agg(
                pl.len().alias("g_n"),
                pl.col("d_site").null_count().alias("g_nosite"),
                pl.col("d_row").head(PARTNER_ROWS).alias("g_rows"),
                pl.col("d_cpt").unique().alias("g_cpts"),
                pl.col("d_dmod").drop_nulls().first().alias("g_dmod"),
                pl.col("d_soft").any().alias("g_soft"),
            )
        )

    at_site = group([DAY_ID, "d_site", "d_anat", "d_mod"]).filter(pl.col("d_site").is_not_null())
    per_day = group([DAY_ID, "d_mod"])
    frozen = (
        ctx.lines.filter(pl.col("cpt") == "88331")
        .select(DAY_ID)
        .unique()
        .with_columns(pl.lit(True).alias("frozen"))
    )
    b_cols = bx.collect_schema().names()

    def collect(lf: pl.LazyFrame, cat: str) -> pl.LazyFrame:
        """Partner groups of each biopsy (rows of ``lf``) folded into one row per biopsy."""
        return lf.group_by("_file", "_row").agg(
            *[pl.col(c).first() for c in b_cols if c not in ("_file", "_row")],
            pl.col("g_rows")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .head(PARTNER_ROWS)
            .alias("d_rows"),
            pl.col("g_cpts")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .str.join(" + ")
            .alias("d_cpts"),
            pl.col("g_dmod").drop_nulls().first().alias("d_dmod"),
            pl.col("g_soft").any().alias("g_soft"),
            pl.lit(cat).alias("cat"),
        )

    # same-site groups: an equality join on (day, site), then the anatomic-modifier check
    same = (
        bx.filter(pl.col("b_site").is_not_null())
        .join(at_site, left_on=[DAY_ID, "b_site"], right_on=[DAY_ID, "d_site"], how="inner")
        .filter(
            (pl.col("b_anat") == "")
            | (pl.col("d_anat") == "")
            | (pl.col("b_anat") == pl.col("d_anat"))
        )
    )
    same_site = collect(same.filter(pl.col("b_mod") | pl.col("d_mod")), "same_site")
    same_flags = same.group_by("_file", "_row").agg(
        (~pl.col("d_mod")).any().alias("same_plain"), pl.col("d_mod").any().alias("same_mod")
    )
    day_plain = per_day.filter(~pl.col("d_mod")).drop("d_mod")
    day_mod = per_day.filter(pl.col("d_mod")).drop("d_mod")
    plain_bx = bx.filter(~pl.col("b_mod")).join(same_flags, on=["_file", "_row"], how="left")
    no_mod = collect(plain_bx.join(day_plain, on=DAY_ID, how="inner"), "no_modifier").join(
        plain_bx.join(day_plain, on=DAY_ID, how="inner").select(
            "_file",
            "_row",
            pl.col("same_plain").fill_null(False).alias("any_same"),
            (
                pl.col("b_site").is_not_null()
                & (pl.col("g_nosite") == 0)
                & ~pl.col("same_plain").fill_null(False)
            ).alias("all_differ"),
        ),
        on=["_file", "_row"],
        how="left",
    )
    # the biopsy's partners are all modified and none at its site: the modifier is on the
    # wrong line
    only_mod = (
        plain_bx.filter(~pl.col("same_mod").fill_null(False))
        .join(day_plain.select(DAY_ID), on=DAY_ID, how="anti")
        .join(day_mod, on=DAY_ID, how="inner")
    )
    wrong = collect(only_mod, "wrong_line")
    out = pl.concat(
        [
            same_site.with_columns(
                pl.lit(True).alias("any_same"), pl.lit(False).alias("all_differ")
            ),
            no_mod,
            wrong.with_columns(pl.lit(False).alias("any_same"), pl.lit(True).alias("all_differ")),
        ],
        how="diagonal_relaxed",
    )
    return out.join(frozen, on=DAY_ID, how="left").with_columns(
        (pl.col("b_xe") | pl.col("g_soft") | pl.col("frozen").fill_null(False)).alias("soft")
    )


def _rows() -> pl.Expr:
    return pl.concat_list(pl.col("_row"), pl.col("d_rows")).list.sort()


NCCI_BIOPSY = (
    f"{NCCI_MANUAL} ch. I (biopsy with an excision, destruction or other removal of the same "
    "lesion is not separately reportable) and ch. III (Lesion Removal); CMS CR 8863 / "
    "Transmittal 1422 (X{EPSU} modifiers); CMS NCCI practitioner PTP edits for the column "
    "order and indicators (the shipped ncci_pairs.csv is an excerpt); secondary: AAPC 'Bundled "
    "or Separate Biopsy Depends on Circumstances', AAD (D. Elston 2012)"
)


@rule(
    "BX-003",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Biopsy billed with a definitive lesion procedure on the same day",
    level="line",
    severities={
        Severity.COMPLIANCE: "a distinct-site or anatomic modifier is present but both lines "
        "record the same site (the modifier is not supported)",
        Severity.REVIEW: "the same-site pair has a frozen section (88331) on the day, a line "
        "with XE, or a multi-lesion session code as the partner",
    },
    out_of_scope="Biopsies on a Mohs day (MOHS-004); biopsies with repairs (RPR-002); "
    "self-pay lines; which of two lesions with the same site text was biopsied.",
    flags="""
A skin biopsy line (11102-11107, DOS from 2019-01-01) on the same day, patient and rendering
provider as a shave removal (11300-11313), excision (11400-11646), destruction (17000-17286)
or adjacent tissue transfer (14000-14302), when either (a) neither line carries 59, XS, XE,
XU (X{EPSU}) or an anatomic modifier, or (b) such a modifier is present (on either line) but
the site column shows the same site on both lines.
""",
    why="""
NCCI bundles a biopsy into a removal or destruction of the same lesion. A biopsy of a separate
lesion is separately payable only when a modifier (59/XS or anatomic) tells the payer so;
without it the biopsy (column-2 code) is denied, which loses revenue when the lesions really
were separate (a). A distinct-procedure modifier on a biopsy of the very lesion that was then
removed (same site) bypasses the edit without support: an overpayment that audits recover (b).
""",
    example="""
(a) 11102 + 11300 (no modifiers). (b) 11102-XS at 'back' + 11401 at 'back'.
""",
    compliant="""
Separate lesions: 11102-XS (or 59, or matching anatomic modifiers) + 11300, with both sites
documented. Same lesion: bill only the definitive procedure (a biopsy of a lesion destroyed
the same day: the destruction if malignant on pathology, only the biopsy if benign - AAD).
""",
    source=NCCI_BIOPSY,
    amount="2025 national non-facility fee x units of the biopsy line (denied or overpaid).",
    limits="""
Mohs is not checked here: a biopsy on the Mohs date is MOHS-004. Without a site column, (b)
cannot be seen, and (a) cannot tell separate lesions from one lesion, so its money direction
is 'either'. A same-site pair is reported as a review when the day has a frozen section
(88331) or a line carries XE: a biopsy whose immediate pathology decided the procedure may be
separately reportable; also when the other line is a multi-lesion session code (17000-17004,
17110/17111, 11200/11201), whose site is a region, so an equal site text proves nothing about
the biopsied lesion. Self-pay lines (biopsy or partner) are skipped: no payer's edit pairs
them. The PTP file was not read; a payer whose edit table lacks a pair will pay without a
modifier. Flaps 14301/14302 are included by the same principle although the
reference names 14000-14061.
""",
)
def bx_003(ctx: Context) -> pl.LazyFrame:
    g = ctx.shared("biopsy partners", _partners).filter(
        pl.col("cat").is_in(["no_modifier", "same_site"])
    )
    same_cat = pl.col("cat") == "same_site"
    site_txt = msg(" (site: ", pl.col("b_site"), ")")
    message = (
        pl.when(same_cat)
        .then(
            msg(
                pl.col("cpt"),
                pl.when(pl.col("b_mods") != "").then(msg("-", pl.col("b_mods"))),
                " billed with ",
                pl.col("d_cpts"),
                pl.when(pl.col("d_dmod").is_not_null()).then(msg("-", pl.col("d_dmod"))),
                " at the same site",
                site_txt,
                ": the modifier claims a separate lesion, but the site column shows the "
                "lesion that was also removed or destroyed",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " (biopsy) billed with ",
                pl.col("d_cpts"),
                " on the same day and neither line carries 59/XS/XU/XE or an anatomic "
                "modifier, so the biopsy is bundled by the NCCI edit",
                pl.when(pl.col("any_same")).then(msg("; both lines show the same site", site_txt)),
            )
        )
    )
    suggestion = (
        pl.when(same_cat | pl.col("any_same"))
        .then(
            msg(
                "bill ",
                pl.col("d_cpts"),
                " only and remove ",
                pl.col("cpt"),
                " (a biopsy of the lesion removed or destroyed the same day is included); "
                "correct the site if the biopsy was of a different lesion",
            )
        )
        .otherwise(
            msg(
                "append XS (or 59) to ",
                pl.col("cpt"),
                " if it sampled a separate lesion and document both sites; if it was the same "
                "lesion, do not bill ",
                pl.col("cpt"),
            )
        )
    )
    severity = (
        pl.when(same_cat & pl.col("soft"))
        .then(pl.lit("review"))
        .when(same_cat)
        .then(pl.lit("compliance"))
        .otherwise(pl.lit("denial"))
    )
    money = (
        pl.when(same_cat | pl.col("any_same"))
        .then(pl.lit("over"))
        .when(pl.col("all_differ"))
        .then(pl.lit("under"))
        .otherwise(pl.lit("either"))
    )
    return emit(
        g,
        rows=_rows(),
        codes=msg(pl.col("cpt"), " + ", pl.col("d_cpts")),
        message=message,
        suggestion=suggestion,
        amount=pl.col("fee") * pl.col("units"),
        severity=severity,
        money=money,
    )


@rule(
    "BX-004",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="Distinct-procedure modifier on the other surgery instead of the biopsy",
    level="line",
    out_of_scope="Pairs at the same site (BX-003 b) or with an unmodified partner (BX-003 a); "
    "payers that accept the modifier on either line.",
    flags="""
A skin biopsy (11102-11107, DOS from 2019-01-01) with no distinct-procedure or anatomic
modifier, billed the same day as shave, excision, destruction or adjacent-tissue-transfer
lines that all carry 59 or an X{EPSU} modifier (and are not shown at the biopsy's site).
""",
    why="""
The biopsy is the column-2 code of the NCCI pair, so the modifier that says 'separate lesion'
belongs on the biopsy line. NCCI has said either line may carry it, but First Coast (MAC)
reported biopsy lines denied because 59 was appended to the other surgery code, and AAD
reported MACs requiring the column-2 code. The biopsy is at risk of denial.
""",
    example="11102 (no modifier) + 11300-XS, different lesions.",
    compliant="11102-XS + 11300 (the modifier on the biopsy line), sites documented.",
    source=(
        "First Coast Service Options (MAC) 'Be sure you are billing correctly for biopsy "
        "services' (2024); AAD Dermatology World 'Cracking the code: modifier madness' (Apr "
        "2019); NCCI Policy Manual ch. I via AAPC."
    ),
    amount="2025 national non-facility fee x units of the biopsy line (at risk of denial).",
    limits="""
Payer-specific: a payer that accepts the modifier on either code pays as billed. Pairs shown
at the same site are BX-003 (b), and biopsies with any unmodified partner are BX-003 (a).
Self-pay lines are skipped, as in BX-003.
""",
)
def bx_004(ctx: Context) -> pl.LazyFrame:
    g = ctx.shared("biopsy partners", _partners).filter(pl.col("cat") == "wrong_line")
    mod = pl.col("d_dmod").fill_null("59")
    return emit(
        g,
        rows=_rows(),
        codes=msg(pl.col("cpt"), " + ", pl.col("d_cpts"), "-", mod),
        message=msg(
            mod,
            " is on ",
            pl.col("d_cpts"),
            " but not on the biopsy ",
            pl.col("cpt"),
            "; payers that require the modifier on the column-2 code (the biopsy) deny ",
            pl.col("cpt"),
        ),
        suggestion=msg(
            "append ",
            mod,
            " to ",
            pl.col("cpt"),
            " (the biopsy line) instead of ",
            pl.col("d_cpts"),
            ", with both sites documented",
        ),
        amount=pl.col("fee") * pl.col("units"),
    )


# ---- modifiers on add-ons; site-specific biopsy codes ---------------------------------------

# Families that never need a bypass modifier against a biopsy: the biopsies themselves,
# office E/M (modifier 25, not 59) and pathology.
NO_PAIR_FAMILIES = ("biopsy", "em_office", "em_addon", "em_other", "em_consult", "pathology")


@rule(
    "BX-005",
    severity=Severity.REVIEW,
    confidence=Confidence.S,
    money=Money.NONE,
    title="Distinct-procedure modifier on a biopsy add-on code",
    level="line",
    out_of_scope="Add-on codes on days with any other procedure the modifier might bypass; the "
    "provider's overall 59 rate (MOD-004).",
    flags="""
11103, 11105 or 11107 carrying 59 or an X{EPSU} modifier on a day (DOS from 2019-01-01)
whose only other procedures are skin biopsies, office E/M and pathology, so there is no
other procedure for the modifier to bypass.
""",
    why="""
Add-on biopsy codes are reported with their primary without a modifier; AAD advises against
appending 59 to them. An unneeded 59 inflates the practice's modifier-59 rate, which CMS
calls the most misused modifier, and some payers edit or review such lines.
""",
    example="11102 + 11103-59 (two tangential biopsies, no other procedure).",
    compliant="11102 + 11103 (no modifier on the add-on).",
    source=(
        "AAD Dermatology World 'Cracking the code: modifier madness' (Apr 2019); CMS CR 8863 "
        "(modifier 59 misuse, X{EPSU})."
    ),
    amount="None: the modifier does not change the payment; the risk is audit exposure.",
    limits="""
A day with any other procedure (shave, excision, destruction, injection, unlisted codes...)
is not flagged, because the modifier may be bypassing an edit against it.
""",
)
def bx_005(ctx: Context) -> pl.LazyFrame:
    other = ctx.lines.filter(
        ~one_of("family", NO_PAIR_FAMILIES) | pl.col("family").is_null()
    ).select(DAY_ID)
    hit = ctx.lines.filter(
        one_of("cpt", ADDONS) & pl.col("m_distinct") & (pl.col("dos") >= BX_START)
    ).join(other, on=DAY_ID, how="anti")
    dmods = pl.col("mods").list.eval(
        pl.element().filter(pl.element().is_in(["59", "XE", "XS", "XP", "XU"]))
    )
    return emit(
        hit,
        rows=pl.concat_list(pl.col("_row")),
        codes=msg(pl.col("cpt"), "-", dmods.list.join("-")),
        message=msg(
            pl.col("cpt"),
            " (biopsy add-on) carries ",
            dmods.list.join("/"),
            " but the day has no other procedure that needs a bypass modifier",
        ),
        suggestion=msg("bill ", pl.col("cpt"), " without ", dmods.list.join("/")),
        amount=pl.lit(None, pl.Float64),
    )


# (regex on the lower-case site text, text to exclude, site-specific code, label, verified?)
SPECIAL_SITES: tuple[tuple[str, str | None, str, str, bool], ...] = (
    (r"vermill?ion|labial mucosa|lip mucosa|mucosal lip", None, "40490", "lip vermilion", True),
    (
        r"lid margin|lash line|palpebral margin|ciliary margin",
        None,
        "67810",
        "eyelid margin",
        False,
    ),
    (
        r"\bexternal ear|\bears?\b|\bearlobe|\bhelix|\bhelical|\bantihelix|\bauricle|\bpinna"
        r"|\btragus|\bconcha|\bscapha",
        r"(pre|post|retro|peri|infra|supra)[- ]?auric|behind (the )?((left|right|l|r) )?ear"
        r"|in front of (the )?((left|right|l|r) )?ear|\bear canal",
        "69100",
        "external ear",
        False,
    ),
)


@rule(
    "BX-006",
    severity=Severity.REVIEW,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Skin biopsy code at a site with its own biopsy code",
    level="line",
    requires=("site",),
    out_of_scope="Mucosal biopsies of other sites (mouth, genital mucosa) and nail-unit "
    "biopsies (11755); sites recorded only as a region such as 'face'.",
    flags="""
A skin biopsy code (11102-11107, DOS from 2019-01-01) whose site text names the lip
vermilion (or lip mucosa), the eyelid margin, or the external ear (auricle, helix, lobe...).
""",
    why="""
Skin biopsy codes are for skin. AAD (Dec 2018) states a biopsy of the lip vermilion is
reported with the lip biopsy code 40490, not 11102-11107. The eyelid-margin (67810) and
external-ear (69100) analogues follow the same logic but were not verified.
""",
    example="11104 with site 'lower lip vermilion'.",
    compliant="40490 for the lip vermilion biopsy (67810 eyelid margin, 69100 external ear).",
    source=(
        "CPT 2025 code set: 40490 (lip biopsy), 67810 (eyelid-margin biopsy), 69100 "
        "(external-ear biopsy); secondary: AAD Dermatology World 'Cracking the code: biopsy "
        "coding in 2019' part 2 (Dec 2018) - lip vermilion uses 40490 (S). That the "
        "skin-biopsy guideline sends eyelid-margin and ear biopsies to 67810/69100 is not "
        "verified (U), so those suggestions are conditional."
    ),
    amount="2025 national non-facility fee x units of the biopsy line (wrong code, at risk).",
    limits="""
The lip rule is secondary-source (S); the eyelid-margin and external-ear analogues are not
verified (U) - payers differ on whether ear skin biopsies may use 11102-11107. Ear sites in
front of or behind the ear (pre/post-auricular) are not flagged. Needs a granular site text.
""",
)
def bx_006(ctx: Context) -> pl.LazyFrame:
    site = pl.col("site")
    target = pl.lit(None, pl.String)
    label = pl.lit(None, pl.String)
    verified = pl.lit(None, pl.Boolean)
    for pat, excl, code, lab, ok in reversed(SPECIAL_SITES):
        cond = site.str.contains(pat)
        if excl:
            cond = cond & ~site.str.contains(excl)
        target = pl.when(cond).then(pl.lit(code)).otherwise(target)
        label = pl.when(cond).then(pl.lit(lab)).otherwise(label)
        verified = pl.when(cond).then(pl.lit(ok)).otherwise(verified)
    hit = (
        ctx.lines.filter(one_of("cpt", SKIN_BX) & (pl.col("dos") >= BX_START))
        .with_columns(target.alias("t_code"), label.alias("t_label"), verified.alias("t_ok"))
        .filter(pl.col("t_code").is_not_null())
    )
    return emit(
        hit,
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (skin biopsy) billed for the ",
            pl.col("t_label"),
            " (site: ",
            site,
            "); skin biopsy codes cover skin only",
        ),
        suggestion=msg(
            "bill ",
            pl.col("t_code"),
            " (",
            pl.col("t_label"),
            " biopsy) instead of ",
            pl.col("cpt"),
            pl.when(~pl.col("t_ok")).then(pl.lit(" if the payer follows the site-specific code")),
            pl.when(one_of("cpt", ADDONS)).then(
                pl.lit("; the remaining skin biopsies still need one primary skin-biopsy code")
            ),
        ),
        amount=pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")),
    )
