"""Modifier rules (MOD): distinct-procedure, E/M, ABN and global-period modifiers.

Modifier meanings and effective dates come from ``rulesets/modifiers.csv`` (X{EPSU} from
2015-01-01, CMS CR 8863); global days from ``rulesets/codes.csv``.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from ..features import DAY_ID
from ..model import Confidence, Money, Severity
from .base import (
    PARTNER_ROWS,
    Context,
    dx_related,
    emit,
    has_dx,
    line_field,
    line_rows,
    materialise,
    msg,
    one_of,
    provider_keys,
    provider_stats,
    rule,
)
from .em import (
    NOT_SELF_PAY,
    PROC_GLOBALS,
    em_type,
    is_procedure,
    line_amount,
    pct,
)
from .mohs import frozen_section_exception

CR_8863 = (
    "CMS Change Request 8863, Transmittal 1422 (Pub. 100-20), MLN Matters MM8863 (X{EPSU} "
    "modifiers, effective 2015-01-01: subsets of 59, not reported with it); NCCI Policy Manual "
    "for Medicare Services ch. I (modifiers and modifier indicators); secondary: AAPC, AAFP, "
    "HMSA summaries"
)
CPT_APPX_A = (
    "CPT 2025 Professional Edition, appendix A (modifier 25 for E/M only; 59 not for E/M); "
    "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §30.6.6.B (modifier 25); "
    "secondary: HMSA"
)
X_MODS = ["XE", "XS", "XP", "XU"]
X_DEFAULT_FROM = date(2015, 1, 1)
BENIGN_REMOVAL = ["shave", "excision_benign", "destruction_benign", "skin_tag"]


def _has(*mods: str) -> pl.Expr:
    return pl.col("mods").list.eval(pl.element().is_in(list(mods))).list.any().fill_null(False)


def _mods_text(mods: list[str]) -> pl.Expr:
    return pl.col("mods").list.eval(pl.element().filter(pl.element().is_in(mods))).list.join("+")


def _valid_from(ctx: Context) -> dict[str, date]:
    """Modifier -> first valid date, from rulesets/modifiers.csv (X{EPSU}: 2015-01-01)."""
    df = ctx.ref.modifiers
    out: dict[str, date] = {}
    if "valid_from" in df.columns:
        for m, v in zip(df["modifier"], df["valid_from"], strict=True):
            if v and str(v).strip():
                out[str(m)] = date.fromisoformat(str(v).strip())
    for m in X_MODS:
        out.setdefault(m, X_DEFAULT_FROM)
    return out


def _too_early(ctx: Context, mods: list[str]) -> pl.Expr:
    """The line carries one of ``mods`` on a date before that modifier existed."""
    vf = _valid_from(ctx)
    expr = pl.lit(False)
    for m in mods:
        if m in vf:
            expr = expr | (_has(m) & (pl.col("dos") < vf[m]))
    return expr


# ---- MOD-001 --------------------------------------------------------------------------------


@rule(
    "MOD-001",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    level="line",
    title="59 together with an X{EPSU} modifier, or an X modifier before 2015",
    out_of_scope="Whether the distinct service was justified (BX-003, MOD-003); payers that "
    "do not accept X{EPSU} modifiers at all.",
    flags="""
A line carrying modifier 59 and one of XE/XS/XP/XU at the same time; or an X{EPSU} modifier
on a date of service before it existed (2015-01-01, rulesets/modifiers.csv).
""",
    why="""
XE, XS, XP and XU are more specific subsets of 59 (CMS CR 8863): a line takes either the X
modifier that fits or 59, never both. Payers reject the combination as contradictory, and an
X modifier before 2015 is not a valid modifier for that date.
""",
    example="11102-59-XS on 2025-03-04.",
    compliant="11102-XS (the more specific modifier alone).",
    source=CR_8863 + ".",
    amount=(
        "2025 national fee x units of the line (the charge when the code has no fee): the line at"
        " risk of rejection."
    ),
    limits=(
        "Self-pay lines are skipped. Whether the distinct service itself was justified is "
        "BX-/MOD-003's question."
    ),
)
def mod_001(ctx: Context) -> pl.LazyFrame:
    # both cases need an X{EPSU} modifier (flag ``mx``): the list checks run on those lines only
    hit = (
        ctx.lines.filter(NOT_SELF_PAY & pl.col("mx"))
        .with_columns(_too_early(ctx, X_MODS).alias("early"))
        .filter(pl.col("m59") | pl.col("early"))
    )
    early = pl.col("early")
    xm = _mods_text(X_MODS)
    return emit(
        hit,
        rows=line_rows(),
        codes=msg(pl.col("cpt"), "-", pl.col("mods").list.join("-")),
        message=pl.when(early)
        .then(
            msg(
                pl.col("cpt"),
                " carries ",
                xm,
                " on ",
                pl.col("dos"),
                ", before the X{EPSU} modifiers took effect (2015-01-01)",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " carries both 59 and ",
                xm,
                "; X{EPSU} modifiers replace 59 and are not reported with it",
            )
        ),
        suggestion=pl.when(early)
        .then(msg("use 59 instead of ", xm, " on ", pl.col("cpt"), " for this date"))
        .otherwise(msg("keep ", xm, " and remove 59 from ", pl.col("cpt"))),
        amount=line_amount(),
    )


# ---- MOD-002 --------------------------------------------------------------------------------


@rule(
    "MOD-002",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    level="line",
    title="59/X{EPSU} on an E/M code, or 25 on a non-E/M code",
    out_of_scope="E/M lines lacking 25 (EM-001); modifiers other than 25, 59 and X{EPSU}.",
    flags="""
A distinct-procedure modifier (59, XE, XS, XP, XU) on an E/M-type code (office, consult and
other E/M families in codes.csv, or any code 99202-99499), or modifier 25 on a code that is
not E/M-type (e.g. a biopsy or destruction line).
""",
    why="""
59 and X{EPSU} are for procedures and services that are not E/M; an E/M separate from a
same-day procedure takes 25. Conversely 25 belongs only on the E/M. Misplaced modifiers get
the line rejected, or leave the E/M without the modifier it needs (EM-001).
""",
    example="99213-59 + 17000; or 99213 + 17000-25.",
    compliant="99213-25 + 17000.",
    source=CPT_APPX_A + "; " + CR_8863 + ".",
    amount=(
        "2025 national fee x units of the line carrying the misplaced modifier (the charge when "
        "the code has no fee)."
    ),
    limits="""
E/M-type is decided from codes.csv families (em_*) and the 99202-99499 range; HCPCS preventive
codes in codes_em.csv count as E/M-type. Self-pay lines are skipped.
""",
)
def mod_002(ctx: Context) -> pl.LazyFrame:
    # a finding needs 59/X{EPSU} (flag ``m_distinct``) or 25: the other checks run on those lines
    lines = ctx.lines.filter(NOT_SELF_PAY & (pl.col("m_distinct") | pl.col("m25"))).with_columns(
        (em_type() & (pl.col("m59") | (pl.col("mx") & ~_too_early(ctx, X_MODS)))).alias("on_em"),
        (~em_type() & pl.col("m25")).alias("misplaced25"),
    )
    hit = lines.filter(pl.col("on_em") | pl.col("misplaced25"))
    em_codes = ctx.days.join(hit.select(DAY_ID), on=DAY_ID, how="semi").select(
        DAY_ID,
        pl.col("lines")
        .list.eval(line_field("cpt").filter(line_field("is_em")))
        .list.join(" ")
        .alias("day_em"),
    )
    hit = hit.join(em_codes, on=DAY_ID, how="left")
    on_em = pl.col("on_em")
    dm = _mods_text(["59", *X_MODS])
    day_em = pl.col("day_em").fill_null("")
    return emit(
        hit,
        rows=line_rows(),
        codes=pl.when(on_em).then(msg(pl.col("cpt"), "-", dm)).otherwise(msg(pl.col("cpt"), "-25")),
        message=pl.when(on_em)
        .then(
            msg(
                pl.col("cpt"),
                " (E/M) carries distinct-procedure modifier ",
                dm,
                "; 59/X{EPSU} are not used on E/M codes",
            )
        )
        .otherwise(
            msg(pl.col("cpt"), " (not an E/M code) carries modifier 25, which applies only to E/M")
        ),
        suggestion=pl.when(on_em)
        .then(
            msg(
                "remove ",
                dm,
                " from ",
                pl.col("cpt"),
                "; use 25 if the visit was separate from a same-day procedure",
            )
        )
        .when(day_em != "")
        .then(
            msg(
                "remove 25 from ",
                pl.col("cpt"),
                " and put it on the same-day E/M (",
                day_em,
                ") if that visit was separately identifiable",
            )
        )
        .otherwise(
            msg(
                "remove 25 from ",
                pl.col("cpt"),
                " (use 59/XS/XU only if a distinct-procedure modifier is needed)",
            )
        ),
        amount=line_amount(),
    )


# ---- MOD-003 --------------------------------------------------------------------------------


@rule(
    "MOD-003",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    level="day",
    title="XS/59 'separate site' on a line whose site equals the other procedure's",
    requires=("site",),
    severities={
        Severity.REVIEW: "the modifier line or a partner has no diagnosis, so a different "
        "lesion cannot be ruled out by the diagnoses",
    },
    out_of_scope="Days whose other procedures are at different sites; the pre-Mohs diagnostic "
    "biopsy with a frozen section and no prior biopsy (MOHS-004's exception); modifiers other "
    "than 59 and XS; sites recorded only on some lines.",
    flags="""
A line with XS or 59 and a recorded site when every other procedure (000/010/090 global) of
the same patient, provider and day that has a site records the same site text, and nothing
shows they were different lesions: no differing anatomic modifiers (LT/RT, E1-E4, F/T
digits) and no disjoint diagnoses. Severity review when either line has no diagnosis.
""",
    why="""
XS (and 59 used for a separate site) tells the payer the service was on a different
structure or lesion, which is what unbundles an NCCI pair. If both services were at the same
site, the modifier bypasses the edit without support: an overpayment on audit.
""",
    example="11102-XS at 'left cheek' + 17000 at 'left cheek', both L57.0.",
    compliant=(
        "17000 alone when the biopsied lesion was the one destroyed; 11102-XS + 17000 when the "
        "biopsy was of a different lesion - record each lesion's own site."
    ),
    source=CR_8863
    + " (XS definition); NCCI Policy Manual ch. I biopsy/lesion policy as quoted by AAPC.",
    amount=(
        "2025 national fee x units of the line carrying the modifier (the charge when the code "
        "has no fee)."
    ),
    limits="""
Site text is compared exactly after lower-casing: two lesions recorded with the same coarse
site ('back') and the same diagnosis are flagged, though they may be different lesions - the
fix is to record distinct sites. Diagnoses that share no code clear the pair (different
lesions). Days where another procedure is at a different site are not judged.
""",
)
def mod_003(ctx: Context) -> pl.LazyFrame:
    anat = ctx.ref.modifiers_of("anatomic")
    xs_ok = ~_too_early(ctx, ["XS"])
    sited = NOT_SELF_PAY & pl.col("site").is_not_null()
    site_k = pl.col("site").str.strip_chars()

    def anat_text(col: str = "mods") -> pl.Expr:
        a = pl.col(col).list.eval(pl.element().filter(pl.element().is_in(anat)))
        return pl.when(a.list.len() == 0).then(pl.lit("")).otherwise(a.list.sort().list.join(","))

    def dx_sig(col: str = "dx") -> pl.Expr:
        return pl.col(col).list.sort().list.join("|")

    # the lines with 59 or XS: the cheap flag ``m_distinct`` first, the list checks on those
    def modifier_lines(lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.filter(sited & pl.col("m_distinct")).filter(
            ~em_type() & (pl.col("m59") | (_has("XS") & xs_ok))
        )

    cand = modifier_lines(ctx.lines)
    # Their partners: the other procedures with a site on those days. A finding needs every
    # partner at the modifier line's own site, so all the day's sited procedures share one
    # site: only such days are kept, a few hundred of the 88k days with 59/XS on 1M lines
    # (found by each day's first and last site text, cheaper than counting distinct texts).
    # Only the columns read below are carried through the joins: gathering every column of
    # the 200k sited procedures of those days cost more than the rest of the rule.
    procs = (
        ctx.lines.filter(sited & is_procedure())
        .select(DAY_ID, "_file", "_row", "cpt", "family", "is_em", "site", "mods", "dx")
        .join(cand.select(DAY_ID), on=DAY_ID, how="semi")
        .filter(~em_type())
        .with_columns(site_k.alias("o_site"))
    )
    one_site = (
        procs.group_by(DAY_ID)
        .agg(pl.col("o_site").min().alias("lo"), pl.col("o_site").max().alias("hi"))
        .filter(pl.col("lo") == pl.col("hi"))
    )
    # Partners are grouped by (anatomic modifiers, diagnosis list), so each modifier line
    # meets a few groups, never every line of a large day. Materialised once: the joins below
    # read it several times, and the lazy plan recomputed it every time.
    others = materialise(
        procs.join(one_site.select(DAY_ID), on=DAY_ID, how="semi").with_columns(
            anat_text().alias("o_anat"), dx_sig().alias("o_sig")
        )
    )
    # the modifier lines of those days only (all their columns: the finding reads them), not
    # the pre-Mohs diagnostic biopsy with its frozen section (MOHS-004's exception). Rule on
    # 1M lines: 0.26 -> 0.20 s, same findings.
    mod_lines = materialise(
        modifier_lines(ctx.lines.join(others.select(DAY_ID).unique(), on=DAY_ID, how="semi"))
        .join(frozen_section_exception(ctx), on=["_file", "_row"], how="anti")
        .with_columns(
            site_k.alias("site_k"),
            anat_text().alias("anat"),
            dx_sig().alias("sig"),
            is_procedure().alias("m_proc"),
        )
    )
    gkey = [DAY_ID, "o_site", "o_anat", "o_sig"]
    groups = others.group_by(gkey).agg(
        pl.len().alias("o_n"),
        pl.col("dx").first().alias("o_dx"),
    )
    # the codes of each group with their line counts (the modifier line's own code is left
    # out when it is its only line in the group)
    group_codes = others.group_by(*gkey, pl.col("cpt").alias("o_cpt")).agg(
        pl.len().alias("o_cpt_n")
    )
    # the groups' rows per file (finding rows are per file), at most PARTNER_ROWS + 1 each
    group_rows = (
        others.sort("_file", "_row")
        .group_by(*gkey, "_file")
        .agg(pl.col("_row").head(PARTNER_ROWS + 1).alias("o_rows_all"))
    )
    pairs = (
        mod_lines.select(
            "_file",
            "_row",
            DAY_ID,
            "site_k",
            "anat",
            "sig",
            "dx",
            "m_proc",
            pl.col("cpt").alias("cpt_m"),
        )
        .join(groups, on=DAY_ID, how="inner")
        .join(group_rows, on=[*gkey, "_file"], how="left")
        # the modifier line is one of its own partners' group when it is a sited procedure
        # with the group's site, anatomic modifiers and diagnoses: leave it out
        .with_columns(
            (
                pl.col("m_proc")
                & (pl.col("o_site") == pl.col("site_k"))
                & (pl.col("o_anat") == pl.col("anat"))
                & (pl.col("o_sig") == pl.col("sig"))
            ).alias("self_in")
        )
        .with_columns(
            (pl.col("o_n").cast(pl.Int64) - pl.col("self_in").cast(pl.Int64)).alias("o_eff"),
            pl.col("o_rows_all").fill_null(pl.lit([], pl.List(pl.Int64))),
        )
        .filter(pl.col("o_eff") > 0)
    )
    pairs = materialise(pairs)
    codes_of = (
        pairs.select("_file", "_row", *gkey, "self_in", "cpt_m")
        .join(group_codes, on=gkey, how="inner")
        .filter(
            (pl.col("o_cpt_n") - (pl.col("self_in") & (pl.col("o_cpt") == pl.col("cpt_m")))) > 0
        )
        .group_by("_file", "_row")
        .agg(pl.col("o_cpt").unique().sort().str.join(" ").alias("o_codes"))
    )
    anat_differs = (
        (pl.col("anat") != "") & (pl.col("o_anat") != "") & (pl.col("anat") != pl.col("o_anat"))
    )
    both_dx = (pl.col("dx").list.len() > 0) & (pl.col("o_dx").list.len() > 0)
    dx_disjoint = both_dx & (pl.col("dx").list.set_intersection(pl.col("o_dx")).list.len() == 0)
    same = (pl.col("o_site") == pl.col("site_k")) & ~anat_differs & ~dx_disjoint
    grouped = (
        pairs.with_columns(same.alias("same"), both_dx.alias("both_dx"))
        .group_by("_file", "_row")
        .agg(
            pl.col("same").all().alias("all_same"),
            pl.col("both_dx").all().alias("all_dx"),
            pl.col("o_rows_all")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .alias("o_rows"),
        )
        .filter(pl.col("all_same"))
        .with_columns(
            pl.col("o_rows")
            .list.set_difference(pl.concat_list(pl.col("_row")))
            .list.sort()
            .list.head(PARTNER_ROWS)
        )
    )
    hit = mod_lines.join(grouped, on=["_file", "_row"], how="inner").join(
        codes_of, on=["_file", "_row"], how="left"
    )
    dm = _mods_text(["59", "XS"])
    return emit(
        hit,
        rows=pl.concat_list(pl.col("_row"), pl.col("o_rows")).list.unique().list.sort(),
        codes=msg(pl.col("cpt"), "-", dm, " + ", pl.col("o_codes")),
        message=msg(
            pl.col("cpt"),
            "-",
            dm,
            " claims a separate site, but ",
            pl.col("o_codes"),
            " on the same day records the same site ('",
            pl.col("site_k"),
            "')",
        ),
        suggestion=msg(
            "remove ",
            dm,
            " from ",
            pl.col("cpt"),
            " (and do not bill it) if it treated the same lesion as ",
            pl.col("o_codes"),
            "; if it was a different lesion, record that lesion's own site",
        ),
        amount=line_amount(),
        severity=pl.when(pl.col("all_dx")).then(pl.lit("compliance")).otherwise(pl.lit("review")),
    )


# ---- MOD-004 --------------------------------------------------------------------------------


def _mod_004_stats(ctx: Context) -> pl.LazyFrame:
    procs = ctx.lines.filter(one_of("global_days", [*PROC_GLOBALS, "ZZZ"]).fill_null(False))
    per = procs.group_by("provider").agg(pl.len().alias("n"), pl.col("m_distinct").sum().alias("k"))
    support = procs.filter(pl.col("m_distinct")).select("_file", "_row", "provider")
    return provider_stats(support, per)


@rule(
    "MOD-004",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    level="provider",
    title="Distinct-procedure modifier rate outlier (provider)",
    stats=_mod_004_stats,
    out_of_scope="Whether any single 59/X{EPSU} line was justified (MOD-003 and BX-003 judge "
    "lines); providers with fewer than 20 procedure lines.",
    flags="""
A rendering provider whose share of procedure lines (global 000/010/090/ZZZ) carrying 59 or
X{EPSU} is above mod59_share_review_threshold (rulesets/benchmarks.toml, 30% by default),
with at least mod59_min_procedure_lines (20, benchmarks_em.toml) procedure lines; one
finding per provider.
""",
    why="""
CMS calls 59 the most widely used HCPCS modifier and one associated with considerable misuse
(CR 8863): routine distinct-procedure modifiers unbundle NCCI pairs without support.
""",
    example="DrA: 59/XS on 18 of 40 procedure lines (45%).",
    compliant="59/X{EPSU} only where a different lesion, site or session is documented.",
    source=(
        CR_8863 + "; MOD-004's 30% review trigger and 20-line minimum are dermaudit settings "
        "(rulesets/benchmarks.toml, benchmarks_em.toml): no published dermatology benchmark "
        "exists."
    ),
    amount="None: a modifier rate is not an overpayment by itself (amount left empty).",
    limits="""
The threshold is a dermaudit setting (U): no published dermatology benchmark was found. Practices
doing many multi-lesion sessions (biopsy plus destruction of other lesions) legitimately run
higher. All payers counted together.
""",
)
def mod_004(ctx: Context, stats: pl.LazyFrame) -> pl.LazyFrame:
    min_n = ctx.ref.bench("mod59_min_procedure_lines")
    thr = ctx.ref.bench("mod59_share_review_threshold")
    src = ctx.ref.bench_source("mod59_share_review_threshold")
    frame = stats.with_columns((pl.col("k") / pl.col("n")).alias("rate"), *provider_keys()).filter(
        (pl.col("n") >= min_n) & (pl.col("rate") > thr)
    )
    return emit(
        frame,
        rows=pl.col("sup_rows"),
        codes=pl.lit("59 XE XS XP XU"),
        message=msg(
            pl.col("provider"),
            " put 59/X{EPSU} on ",
            pl.col("k"),
            " of ",
            pl.col("n"),
            " procedure lines (",
            pct(pl.col("rate")),
            f"%), above the {thr:.0%} review trigger ({src}, U)",
        ),
        suggestion=msg(
            "sample ",
            pl.col("provider"),
            "'s 59/X{EPSU} lines and check each documents a "
            "different lesion, site or session; remove the modifier (and the bundled line) "
            "where it does not",
        ),
        amount=pl.lit(None, pl.Float64),
    )


# ---- MOD-005 --------------------------------------------------------------------------------

# (modifier pair, severity, why) - GA+GZ contradict each other by their CMS definitions (S);
# the other pairs are logically contradictory (required vs voluntary ABN, excluded vs medical
# necessity) and one vendor source says any GA/GY/GZ combination is denied (weak) -> review.
_CONTRADICTIONS: list[tuple[str, str, str, str]] = [
    ("GA", "GZ", "denial", "GA (ABN on file) and GZ (no ABN) contradict each other"),
    (
        "GA",
        "GY",
        "review",
        "GA (medical-necessity ABN) and GY (statutory exclusion) contradict each other",
    ),
    (
        "GY",
        "GZ",
        "review",
        "GY (statutory exclusion) and GZ (expected medical-necessity denial) contradict each other",
    ),
    (
        "GX",
        "GA",
        "review",
        "GX (voluntary ABN, excluded service) and GA (required ABN) contradict each other",
    ),
    ("GX", "GZ", "review", "GX (ABN issued) and GZ (no ABN) contradict each other"),
]


@rule(
    "MOD-005",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    level="line",
    title="ABN/liability modifiers that contradict each other or the service (Medicare)",
    requires=("payer",),
    payers=("medicare_ffs",),
    severities={
        Severity.REVIEW: "the contradiction is GA+GY, GY+GZ, GX+GA or GX+GZ (logical, not "
        "confirmed by a payer text), or GY sits on a benign removal whose diagnosis supports an "
        "LCD indication",
    },
    out_of_scope="Payers other than Medicare FFS; whether an ABN was actually signed; "
    "cosmetic services without GY (COS-002).",
    flags="""
Medicare fee-for-service lines with GA and GZ together (denial); with GA+GY, GY+GZ, GX+GA or
GX+GZ (review); or a benign-lesion removal (shave, benign excision, benign destruction, skin
tags) carrying GY while a diagnosis on it supports an LCD indication (SYMPTOM_SUPPORT or
SEB_K_INFLAMED groups) (review: GA/GZ would fit).
""",
    why="""
GA says an ABN is on file for an expected medical-necessity denial, GZ says none was given,
GY says the service is excluded by statute, GX that a voluntary ABN was issued. Pairs that
contradict get the line returned or denied, and leave patient liability unclear. A benign
lesion removal with a symptom is a covered benefit under the LCD, so GY (not a benefit)
denies a service that may be payable.
""",
    example="11300-GA-GZ to Medicare; 11300-GY with L82.0 (inflamed seborrheic keratosis).",
    compliant=(
        "11300-GA when an ABN was signed, 11300-GZ when not; 11300 with L82.0 and no modifier if "
        "the LCD indication is documented."
    ),
    source=(
        "CMS MLN Matters MM6563 (GA, GX, GY, GZ definitions) and MM7228 (GZ lines denied "
        "automatically from 2011-07-01); Medicare Claims Processing Manual, Pub. 100-04, ch. "
        "30, §50 (Advance Beneficiary Notice); secondary: Palmetto GBA 'How to Use Modifiers "
        "to Indicate the Status of an ABN', Find-A-Code, AAOMS 2010; weak: rcmguide (GA/GY/GZ"
        " combinations)."
    ),
    amount="2025 national fee x units of the line (the charge when the code has no fee).",
    limits="""
Only GA+GZ is confirmed by a payer text (S); the other contradictions are logical (U) and
only ask for a review. The symptom-diagnosis lists are candidate lists until the practice's MAC
article is loaded. Lines to payers other than Medicare FFS are skipped.
""",
)
def mod_005(ctx: Context) -> pl.LazyFrame:
    symptom = ctx.ref.dx_prefixes("SYMPTOM_SUPPORT", "SEB_K_INFLAMED")
    lines = ctx.lines.filter((pl.col("payer_class") == "medicare_ffs") & pl.col("m_abn"))
    sev: pl.Expr = pl.lit(None, pl.String)
    text: pl.Expr = pl.lit(None, pl.String)
    cond: pl.Expr = pl.lit(False)
    for a, b, s, t in reversed(_CONTRADICTIONS):
        c = _has(a) & _has(b)
        sev = pl.when(c).then(pl.lit(s)).otherwise(sev)
        text = pl.when(c).then(pl.lit(t)).otherwise(text)
        cond = cond | c
    gy_covered = (
        ~cond & _has("GY") & one_of("family", BENIGN_REMOVAL).fill_null(False) & has_dx(symptom)
    )
    # as columns, so the list checks run on the few GA/GX/GY/GZ lines only
    hit = lines.with_columns(cond.alias("contra"), gy_covered.alias("gy_covered")).filter(
        pl.col("contra") | pl.col("gy_covered")
    )
    cond = pl.col("contra")
    abn = _mods_text(["GA", "GX", "GY", "GZ"])
    sym_dx = pl.col("dx").list.eval(
        pl.element().filter(pl.any_horizontal([pl.element().str.starts_with(p) for p in symptom]))
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=msg(pl.col("cpt"), "-", abn),
        message=pl.when(cond)
        .then(msg(pl.col("cpt"), " billed to Medicare with ", abn, ": ", text))
        .otherwise(
            msg(
                pl.col("cpt"),
                "-GY (not a Medicare benefit) although the line's diagnosis ",
                sym_dx.list.join(" "),
                " supports an LCD indication for removal",
            )
        ),
        suggestion=pl.when(cond)
        .then(
            msg(
                "keep one liability modifier on ",
                pl.col("cpt"),
                ": GA if a signed ABN is on file, GZ if not, GY only for an excluded service "
                "(with GX if a voluntary ABN was given)",
            )
        )
        .otherwise(
            msg(
                "remove GY from ",
                pl.col("cpt"),
                "; bill it as covered if the indication is "
                "documented, or with GA (ABN signed) / GZ (no ABN) if a denial is expected",
            )
        ),
        amount=line_amount(),
        severity=pl.when(cond).then(sev).otherwise(pl.lit("review")),
        money=pl.when(cond).then(pl.lit("either")).otherwise(pl.lit("under")),
    )


# ---- MOD-006 --------------------------------------------------------------------------------


@rule(
    "MOD-006",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.EITHER,
    level="history",
    title="Global-period modifier without a global period, or against the diagnoses",
    out_of_scope="Which of 58/78 fits a related procedure (a note review); surgeries before "
    "the first date in the data (the first 90 days are not judged for missing globals); "
    "procedures missing from codes.csv; self-pay lines.",
    flags="""
A line with a global-period modifier (24, 58, 78, 79) that does not fit:
  * 24 on a code that is not E/M-type, or 58/78/79 on an E/M-type code;
  * 24 on an E/M with no 010 procedure in the 10 days before it and no 090 procedure in the
    90 days before it (same patient, any provider) in the scanned data; 58/78/79 on a
    procedure with no 010/090 procedure for the patient in the same windows (the same day
    included). These history checks only run for dates at least 90 days after the first date
    of service in the data, so the whole look-back window is covered;
  * inside such a window, the diagnoses contradict the modifier (ICD-10-CM categories compared
    with those of the surgery that opened the period): 24 (unrelated visit) or 79 (unrelated
    procedure) with the surgery's diagnosis category - the visit or procedure is related and
    24/79 are misused; 58 (staged or related procedure) with diagnoses that share no category
    with the surgery's - an unrelated procedure takes 79.
""",
    why="""
24 (unrelated E/M in a post-op period) and 58/78/79 (staged, return to the procedure room,
unrelated procedure in a post-op period) only make sense inside a global period, and each
says whether the service is related to the surgery. Used without a global period they suggest
a modifier appended by habit or a missing surgery line; used against the diagnoses they claim
separate payment for related post-operative care (24, 79 - an overpayment) or mislabel an
unrelated procedure (58 - 78 also cuts the payment).
""",
    example=(
        "99213-24 on 2025-06-10 with no procedure for the patient in the prior 90 days; "
        "99213-24 (C44.519) six days after 11602 (C44.519)."
    ),
    compliant=(
        "99213 without 24 when no post-operative period is running; 99024 (no charge) for the "
        "wound check after 11602; 99213-24 only for an unrelated problem (e.g. L40.0)."
    ),
    source=(
        "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §40.1 (services included in "
        "and excluded from the global package: visits unrelated to the diagnosis of the "
        "surgery) and §40.2.A (modifiers 24, 58, 78, 79 and the diagnosis an unrelated visit "
        "must carry); CPT 2025 Professional Edition appendix A (modifiers 24, 58, 78, 79); "
        "global days from the CMS PFS Relative Value File."
    ),
    amount=(
        "2025 national non-facility fee x units of the line (the charge when the code has no "
        "fee): the line at risk of rejection or mis-payment (for 24/79 against the diagnosis, "
        "the payment for related care that the global package already covers)."
    ),
    limits="""
Confidence U (payer-specific use): review only. The surgery that opened the global period may
have been done by a colleague in the group, which is why any provider's procedure counts; a
surgery before the data's first date cannot be seen, which is why the first 90 days are not
judged for a missing global period. Diagnoses are compared by ICD-10-CM category: a
complication coded in another category looks unrelated. Procedures missing from codes.csv are
invisible.
""",
)
def mod_006(ctx: Context) -> pl.LazyFrame:
    # every finding is a line with 24, 58, 78 or 79 (flags ``m24``, ``m_global``)
    lines = ctx.lines.filter(NOT_SELF_PAY & (pl.col("m24") | pl.col("m_global"))).with_columns(
        em_type().alias("em_t"),
        _has("58").alias("m58"),
        _has("79").alias("m79"),
    )
    is_em = pl.col("em_t")
    m24 = pl.col("m24")
    mg = pl.col("m_global")
    wrong_code = (m24 & ~is_em) | (mg & is_em)
    start = (ctx.first_dos or date(1900, 1, 1)) + timedelta(days=90)
    cand = lines.filter(~wrong_code & ((m24 & is_em) | (mg & ~is_em))).with_columns(
        one_of("global_days", ["010", "090"]).fill_null(False).alias("self_glob")
    )
    glob_lines = ctx.lines.filter(
        NOT_SELF_PAY & one_of("global_days", ["010", "090"]).fill_null(False)
    ).join(cand.select("patient_id").unique(), on="patient_id", how="semi")
    # the surgery days of the candidates' patients: date, diagnoses and line count
    gdays = glob_lines.group_by("patient_id", "dos").agg(
        pl.col("dx")
        .explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True)
        .alias("g_dx"),
        pl.len().alias("g_n"),
        (pl.col("global_days") == "090").any().alias("g_090"),
    )

    def latest(days: int, only_090: bool) -> pl.LazyFrame:
        """The latest surgery day strictly before each candidate, within ``days``."""
        right = gdays.filter(pl.col("g_090")) if only_090 else gdays
        tag = "090" if only_090 else "any"
        return (
            cand.select("_file", "_row", "patient_id", "dos")
            .sort("dos")
            .join_asof(
                right.select(
                    "patient_id",
                    "dos",
                    pl.col("dos").alias(f"d_{tag}"),
                    pl.col("g_dx").alias(f"dx_{tag}"),
                ).sort("dos"),
                on="dos",
                by="patient_id",
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
            .filter((pl.col("dos") - pl.col(f"d_{tag}")).dt.total_days() <= days)
            .select("_file", "_row", f"d_{tag}", f"dx_{tag}")
        )

    # a 090 surgery within 90 days, else any 010/090 surgery within 10 days (the 010 window)
    cov = (
        cand.select("_file", "_row", "patient_id", "dos", "self_glob", "m24")
        .join(latest(90, True), on=["_file", "_row"], how="left")
        .join(latest(10, False), on=["_file", "_row"], how="left")
        # the same day counts for 58/78/79 when another surgery line is on it
        .join(
            gdays.select("patient_id", "dos", pl.col("g_dx").alias("dx_same"), "g_n"),
            on=["patient_id", "dos"],
            how="left",
        )
        .with_columns(
            (
                ~pl.col("m24")
                & ((pl.col("g_n").fill_null(0) - pl.col("self_glob").cast(pl.Int64)) >= 1)
            ).alias("same_day"),
        )
        .with_columns(
            pl.coalesce(
                pl.when(pl.col("same_day")).then(pl.col("dx_same")),
                pl.col("dx_090"),
                pl.col("dx_any"),
            ).alias("g_dx"),
            (
                pl.col("same_day") | pl.col("d_090").is_not_null() | pl.col("d_any").is_not_null()
            ).alias("covered"),
        )
        .select("_file", "_row", "covered", "g_dx")
    )
    judged = lines.join(cov, on=["_file", "_row"], how="left").with_columns(
        pl.col("covered").fill_null(False),
        dx_related("dx", "g_dx").alias("rel"),
    )
    related = pl.col("rel").fill_null(False)
    unrelated = (pl.col("rel") == False).fill_null(False)  # noqa: E712 (null = unknown)
    no_global = ~wrong_code & ~pl.col("covered") & (pl.col("dos") >= start)
    misuse_rel = ~wrong_code & pl.col("covered") & (m24 | pl.col("m79")) & related
    misuse_58 = ~wrong_code & pl.col("covered") & pl.col("m58") & ~pl.col("m79") & unrelated
    hit = judged.filter(wrong_code | no_global | misuse_rel | misuse_58)
    gm = _mods_text(["24", "58", "78", "79"])
    g_dx = pl.col("g_dx").list.join(" ")
    return emit(
        hit,
        rows=line_rows(),
        codes=msg(pl.col("cpt"), "-", gm),
        message=pl.when(wrong_code & m24)
        .then(msg(pl.col("cpt"), " carries 24, which applies only to E/M services"))
        .when(wrong_code)
        .then(msg(pl.col("cpt"), " (E/M) carries ", gm, ", which apply only to procedures"))
        .when(misuse_rel & m24)
        .then(
            msg(
                pl.col("cpt"),
                "-24 claims a visit unrelated to the surgery, but its diagnoses (",
                pl.col("dx").list.join(" "),
                ") are the surgery's (",
                g_dx,
                "): related post-operative care is part of the global package",
            )
        )
        .when(misuse_rel)
        .then(
            msg(
                pl.col("cpt"),
                "-79 claims a procedure unrelated to the surgery, but its diagnoses (",
                pl.col("dx").list.join(" "),
                ") are the surgery's (",
                g_dx,
                ")",
            )
        )
        .when(misuse_58)
        .then(
            msg(
                pl.col("cpt"),
                "-58 claims a staged or related procedure, but its diagnoses (",
                pl.col("dx").list.join(" "),
                ") share nothing with the surgery's (",
                g_dx,
                ")",
            )
        )
        .when(m24)
        .then(
            msg(
                pl.col("cpt"),
                "-24 (unrelated visit in a post-op period) but the data show no "
                "010 procedure in the prior 10 days or 090 procedure in the prior 90 days",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                "-",
                gm,
                " (procedure in a post-op period) but the data show no "
                "010/090 procedure in the global window before it",
            )
        ),
        suggestion=pl.when(wrong_code & m24)
        .then(
            msg(
                "remove 24 from ",
                pl.col("cpt"),
                "; use 79 for an unrelated procedure in a post-op period",
            )
        )
        .when(wrong_code)
        .then(
            msg(
                "remove ",
                gm,
                " from ",
                pl.col("cpt"),
                "; an unrelated E/M in a post-op period takes 24",
            )
        )
        .when(misuse_rel & m24)
        .then(
            msg(
                "remove 24 and do not bill ",
                pl.col("cpt"),
                " (report the post-operative visit as 99024, no charge); keep 24 only if the "
                "visit treated a different problem - then code that problem's diagnosis",
            )
        )
        .when(misuse_rel)
        .then(
            msg(
                "use 58 (staged or more extensive) or 78 (unplanned return for a complication) "
                "instead of 79 on ",
                pl.col("cpt"),
                " if it continued the same problem; keep 79 only for an unrelated lesion, "
                "coded with its own diagnosis",
            )
        )
        .when(misuse_58)
        .then(
            msg(
                "use 79 (unrelated procedure) instead of 58 on ",
                pl.col("cpt"),
                " if it treated a different problem; keep 58 for a planned or more extensive "
                "procedure on the same lesion and code its diagnosis",
            )
        )
        .when(m24)
        .then(
            msg(
                "remove 24 from ",
                pl.col("cpt"),
                " unless the surgery was billed elsewhere (then keep it)",
            )
        )
        .otherwise(
            msg(
                "remove ",
                gm,
                " from ",
                pl.col("cpt"),
                " unless the earlier surgery was billed elsewhere or before this data",
            )
        ),
        amount=line_amount(),
        money=pl.when(misuse_rel).then(pl.lit("over")).otherwise(pl.lit("either")),
    )
