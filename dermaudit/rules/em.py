"""Evaluation and management (office 99202-99215) with procedures.

Shared helpers for the E/M, modifier and global-surgery families live here too
(``modifiers.py`` and ``globalsurg.py`` import them): the line amount, the provider-level
finding shape, and the "E/M-type code" test.

Conventions used by every rule in these three modules:

* Self-pay lines are not claims, so claim-correctness rules skip them (provider-level
  utilisation metrics still count them).
* Global days come from ``rulesets/codes.csv`` (``ctx.lines.global_days``), never from a list
  in the code. A procedure is a code whose global period is 000, 010 or 090.
* Rows from another file are never put in ``rows`` (row numbers are per file); a history
  finding names the earlier line's date, code and row in its message instead.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..features import DAY_ID, DAY_KEY, day_key_first
from ..model import Confidence, Money, Severity
from .base import (
    CPM_12,
    NCCI_MANUAL,
    Context,
    all_dx_in,
    dx_related,
    emit,
    group_key,
    line_field,
    line_rows,
    materialise,
    msg,
    non_physician,
    one_of,
    provider_keys,
    provider_stats,
    rows_where,
    rule,
    specialty_key,
)

NCCI_CH1_EM = (
    f"{CPM_12}, §40.1 (components of the global surgical package: pre-operative visits the "
    "day before a major procedure and the day of a minor one; the decision for surgery is "
    "excluded) and §40.2.A (billing requirements: modifier 57 for the decision for major "
    f"surgery, 25 for a separately identifiable visit on the day of a procedure); {NCCI_MANUAL}, "
    "ch. I (Evaluation & Management services) and ch. XI (Medicine, Evaluation and Management "
    "services); global days from the CMS PFS Relative Value File; secondary: AAPC blog 30916, "
    "McKesson."
)

NEW_TO_EST = {
    "99201": "99211",
    "99202": "99212",
    "99203": "99213",
    "99204": "99214",
    "99205": "99215",
}
EST_CODES = ["99211", "99212", "99213", "99214", "99215"]
NEW_CODES = ["99202", "99203", "99204", "99205"]
PROC_GLOBALS = ["000", "010", "090"]
PREVENTIVE_FAMILIES = ["em_preventive", "vaccine_admin"]
G2211_PAYABLE = date(2024, 1, 1)
G2211_PREVENTIVE_EXCEPTION = date(2025, 1, 1)
EM_2021 = date(2021, 1, 1)

NOT_SELF_PAY = pl.col("payer_class") != "self_pay"


# ---- shared helpers (also used by modifiers.py and globalsurg.py) ---------------------------


def line_amount() -> pl.Expr:
    """2025 national fee x units; the line's charge when the code has no national fee."""
    return pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge"))


def em_type() -> pl.Expr:
    """E/M-type code: office E/M, any E/M family in codes.csv, or a code in 99202-99499."""
    return (
        pl.col("is_em")
        | pl.col("family").str.starts_with("em_").fill_null(False)
        | pl.col("cpt").str.contains(r"^99[2-4]\d\d$").fill_null(False)
    )


def is_procedure() -> pl.Expr:
    """A code with a 000/010/090 global period (from codes.csv)."""
    return one_of("global_days", PROC_GLOBALS).fill_null(False)


def fee_of(ctx: Context, code: pl.Expr) -> pl.Expr:
    """2025 national fee of the code held in an expression (null when not in codes.csv)."""
    return code.replace_strict(ctx.ref.fees, default=None, return_dtype=pl.Float64)


def pct(x: pl.Expr) -> pl.Expr:
    return (x * 100).round(1).cast(pl.String)


def same_file_rows(other_file: str, other_rows: str) -> pl.Expr:
    """The line's own row plus another line's rows when those are in the same file."""
    return (
        pl.when(pl.col(other_file) == pl.col("_file"))
        .then(pl.concat_list(pl.col("_row"), pl.col(other_rows)))
        .otherwise(pl.concat_list(pl.col("_row")))
        .list.unique()
        .list.sort()
    )


def day_procedures(
    ctx: Context, globals_: list[str], only: pl.LazyFrame | None = None, dx: bool = False
) -> pl.LazyFrame:
    """Per same-day key: rows, codes and file of the procedures with the given global days
    (only on the days of ``only``, a frame with ``day_id``, when given), and with ``dx`` their
    diagnoses (``p_dx``)."""
    procs = ctx.lines.filter(one_of("global_days", globals_).fill_null(False))
    if only is not None:
        procs = procs.join(only.select(DAY_ID), on=DAY_ID, how="semi")
    extra = (
        [
            pl.col("dx")
            .explode(keep_nulls=False, empty_as_null=False)
            .unique(maintain_order=True)
            .alias("p_dx")
        ]
        if dx
        else []
    )
    return procs.group_by(DAY_ID).agg(
        *day_key_first(),
        pl.col("_file").first().alias("p_file"),
        pl.col("_row").sort().alias("p_rows"),
        pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("p_codes"),
        *extra,
    )


def major_day_keys(ctx: Context) -> pl.LazyFrame:
    """(patient, provider, dos) of the days on which an E/M is the day of, or the day before,
    a 090-global procedure by the same provider: EM-005's days, which EM-001/EM-003 leave to
    it (the modifier there is 57 for the decision for surgery)."""
    majors = ctx.lines.filter((pl.col("global_days") == "090").fill_null(False)).select(
        "patient_id", "provider", "dos"
    )
    return pl.concat(
        [majors, majors.with_columns(pl.col("dos") - pl.duration(days=1))], how="vertical"
    ).unique()


def _minor_procs(ctx: Context) -> pl.LazyFrame:
    """Per day with an E/M lacking 25: the rows and codes of 000/010-global procedures."""
    minor = line_field("global_days").is_in(["000", "010"])
    return ctx.days.filter(pl.col("has_minor") & pl.col("em_lacks25")).select(
        DAY_ID,
        rows_where(minor).alias("proc_rows"),
        pl.col("lines")
        .list.eval(line_field("cpt").filter(line_field("global_days").is_in(["000", "010"])))
        .list.unique(maintain_order=True)
        .list.join(" ")
        .alias("proc_codes"),
    )


# ---- EM-001 ---------------------------------------------------------------------------------


@rule(
    "EM-001",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="Office E/M on a minor-procedure day without modifier 25",
    out_of_scope="E/M lines with 57 (EM-004) and days with a 090 procedure (EM-005: the "
    "decision-for-surgery modifier); whether the visit was significant and separately "
    "identifiable (a note review); self-pay lines.",
    flags="""
An office E/M (99202-99215) on the same day, for the same patient and rendering provider, as
a procedure with a 000 or 010 global period, when the E/M line carries neither modifier 25
nor 57.
""",
    why="""
The pre-procedure evaluation and the decision to perform a minor procedure are part of the
procedure's global package. A significant, separately identifiable E/M is payable only with
modifier 25; without it the E/M is denied (revenue lost if the visit was separate), and if a
payer pays it anyway the practice holds an overpayment.
""",
    example="99213 (no modifier) + 17000 x1 for an AK on the same day.",
    compliant=(
        "99213-25 + 17000 when the visit addressed a separate problem; otherwise bill only "
        "17000 (the E/M is included)."
    ),
    source=NCCI_CH1_EM,
    amount="2025 national non-facility fee of the E/M code (the line at risk of denial).",
    limits="""
Global days come from rulesets/codes.csv; procedures missing from that table are not seen
as minor procedures (import the CMS PFS RVU file for full coverage). E/M lines with 57
belong to EM-004. A visit on the day of, or the day before, a 090-global procedure by the
same provider is EM-005's (the decision for major surgery takes 57, not 25). Self-pay lines
are skipped (no claim, so no modifier is needed).
""",
)
def em_001(ctx: Context) -> pl.LazyFrame:
    em = ctx.lines.filter(pl.col("is_em") & ~pl.col("m25") & ~pl.col("m57") & NOT_SELF_PAY)
    j = em.join(_minor_procs(ctx), on=DAY_ID, how="inner").join(
        major_day_keys(ctx), on=DAY_KEY, how="anti"
    )
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), pl.col("proc_rows")).list.unique(maintain_order=True),
        codes=msg(pl.col("cpt"), " + ", pl.col("proc_codes")),
        message=msg(
            pl.col("cpt"),
            " billed without modifier 25 on the same day as minor procedure(s) ",
            pl.col("proc_codes"),
        ),
        suggestion=msg(
            "append modifier 25 to ",
            pl.col("cpt"),
            " if the visit was significant and separately identifiable (documented); "
            "otherwise do not bill the E/M",
        ),
        amount=pl.col("fee"),
    )


# ---- EM-002 ---------------------------------------------------------------------------------


def _em_002_stats(ctx: Context) -> pl.LazyFrame:
    """Per provider: procedure encounters (n), those with an E/M-25 (k), office E/M lines
    (em_n) and those that are E/M-25 on a procedure day (em_k)."""
    proc_days = ctx.days.filter(pl.col("has_minor")).select(DAY_ID, "provider", "_file")
    # the E/M-25 lines of the procedure days, with the day's file
    em25 = proc_days.join(
        ctx.lines.filter(pl.col("is_em") & pl.col("m25")).select(DAY_ID, "_row"),
        on=DAY_ID,
        how="inner",
    )
    per = (
        proc_days.group_by("provider")
        .agg(pl.len().alias("n"))
        .join(
            em25.group_by("provider").agg(pl.col(DAY_ID).n_unique().alias("k")),
            on="provider",
            how="left",
        )
        .with_columns(pl.col("k").fill_null(0))
    )
    em_share = (
        ctx.lines.filter(pl.col("is_em"))
        .group_by("provider")
        .agg(pl.len().alias("em_n"))
        .join(em25.group_by("provider").agg(pl.len().alias("em_k")), on="provider", how="left")
        .with_columns(pl.col("em_k").fill_null(0))
    )
    support = em25.select("_file", "provider", "_row")
    return provider_stats(support, per.join(em_share, on="provider", how="left"))


@rule(
    "EM-002",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    level="provider",
    title="Modifier-25 utilisation outlier (provider)",
    stats=_em_002_stats,
    out_of_scope="Whether any single E/M-25 was justified (EM-001/EM-003 judge lines); payers "
    "other than Medicare are counted but not judged separately.",
    flags="""
A rendering provider who billed an office E/M with modifier 25 at more than the review
trigger (rulesets/benchmarks.toml em25_with_procedure_review_threshold, 90% by default) of
his or her encounters with a 000/010-global procedure. Only providers with at least
em25_min_procedure_encounters (20 by default, rulesets/benchmarks_em.toml) procedure
encounters in the data are measured; one finding per provider.
""",
    why="""
Modifier 25 on nearly every procedure visit is the pattern OIG and payers audit: the
decision to perform a minor procedure is part of the procedure, and only a significant,
separately identifiable E/M may be added. OIG (2025) found about 61.5% of Medicare-paid
dermatology E/M claims (2019-2020) had a same-day minor procedure and that 10 of 100 sampled
E/M services did not meet requirements; a 2016 commentary citing AMA RUC data put the typical
rate near 70% of biopsy/destruction encounters and reported record requests at 100%.
""",
    example="DrA: 99213-25 or 99214-25 on 38 of 40 days with 17000, 11102 or 11300 (95%).",
    compliant=(
        "E/M-25 only at visits that addressed a separate problem (e.g. psoriasis follow-up with "
        "a same-day AK destruction); 17000 alone when the visit was only the decision to treat."
    ),
    source=(
        "HHS-OIG (2025) 'Dermatology Providers Generally Met Medicare Requirements for E/M "
        "Services Performed on Same Day as Minor Surgical Procedures'; HHS-OIG "
        "OEI-07-03-00470 'Use of Modifier 25' (2005); Medicare Claims Processing Manual, Pub."
        " 100-04, ch. 12, §30.6.6.B (modifier 25); context only: Cutis/MDedge 2016 commentary"
        " (AMA RUC/RBRVS data). The review trigger and minimum counts are dermaudit settings "
        "in rulesets/benchmarks.toml and benchmarks_em.toml."
    ),
    amount="None: a utilisation rate is not an overpayment by itself (amount left empty).",
    limits="""
The review trigger is a dermaudit setting (U), not a payer limit; the OIG figure is a share of
E/M claims and is shown as context. All payers are counted together (the OIG data are
Medicare). A provider whose patients mostly come for chronic disease management with
incidental procedures may legitimately run high; the finding asks for a note sample, not a
refund.
""",
)
def em_002(ctx: Context, stats: pl.LazyFrame) -> pl.LazyFrame:
    ref = ctx.ref
    min_n = ref.bench("em25_min_procedure_encounters")
    thr = ref.bench("em25_with_procedure_review_threshold")
    oig = ref.bench("oig_2025_same_day_em_share")
    typical = ref.bench("em25_typical_share_biopsy_destruction")
    frame = stats.with_columns((pl.col("k") / pl.col("n")).alias("rate"), *provider_keys()).filter(
        (pl.col("n") >= min_n) & (pl.col("rate") > thr)
    )
    return emit(
        frame,
        rows=pl.col("sup_rows"),
        codes=pl.lit("office E/M-25 with 000/010 procedures"),
        message=msg(
            pl.col("provider"),
            " billed an office E/M with modifier 25 at ",
            pl.col("k"),
            " of ",
            pl.col("n"),
            " encounters with a 000/010-global procedure (",
            pct(pl.col("rate")),
            f"%), above the {thr:.0%} review trigger (dermaudit threshold, U); ",
            pct(pl.col("em_k") / pl.col("em_n")),
            "% of the provider's ",
            pl.col("em_n"),
            " office E/M lines were E/M-25 on a procedure day, vs about "
            f"{oig:.1%} of Medicare-paid dermatology E/M claims with a same-day minor procedure "
            f"(HHS-OIG 2025) and a typical ~{typical:.0%} of biopsy/premalignant-destruction "
            "encounters (Cutis/MDedge 2016, weak source)",
        ),
        suggestion=msg(
            "pull a sample of ",
            pl.col("provider"),
            "'s E/M-25 notes and confirm each documents a "
            "significant, separately identifiable problem beyond the decision to do the "
            "procedure; bill the procedure alone (no E/M) where it does not",
        ),
        amount=pl.lit(None, pl.Float64),
    )


# ---- EM-003 ---------------------------------------------------------------------------------


@rule(
    "EM-003",
    severity=Severity.REVIEW,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Modifier-25 E/M whose only diagnoses are the procedure's",
    requires=("dx",),
    out_of_scope=(
        "Visits on the day of, or the day before, a 090-global procedure (EM-005: 25 versus "
        "57); visits with a diagnosis of their own; exports that repeat the claim's diagnoses"
        " on every line, unless the encounter has one diagnosis."
    ),
    flags="""
An office E/M with modifier 25 on the same day as a 000/010-global procedure when every
diagnosis on the E/M line is also a diagnosis of the procedure line(s) - the visit addressed
no problem other than the one treated. Encounters where every line repeats the same list of
two or more diagnoses (a claim-level diagnosis export) are not judged.
""",
    why="""
NCCI does not require a different diagnosis for a 25-modified E/M, but an E/M that addressed
only the lesion that was then treated is usually the pre-procedure evaluation, which the
procedure already pays for. Payers and OIG sample exactly this pattern.
""",
    example=(
        "99213-25 (L57.0) + 17000 (L57.0): one problem, actinic keratosis, treated the same day."
    ),
    compliant=(
        "17000 alone for the AK; 99213-25 + 17000 when the visit also managed, e.g., psoriasis "
        "(L40.0) or a new changing nevus that was not treated."
    ),
    source=(
        "NCCI Policy Manual ch. I (modifier 25; different diagnosis not required) as quoted by "
        "AAPC; Cutis 'One Diagnosis and Modifier -25'; HHS-OIG 2025 dermatology E/M audit."
    ),
    amount=(
        "2025 national fee of the E/M line (what is at stake if the visit is found not separate)."
    ),
    limits="""
A single diagnosis can still carry a separately identifiable E/M (e.g. a new patient with
extensive AKs who also needed a full-skin work-up and counselling); this is a review prompt.
When the export repeats the claim's diagnoses on every line, the E/M's own problems cannot be
told apart, so such encounters are only judged when they have a single diagnosis.
""",
)
def em_003(ctx: Context) -> pl.LazyFrame:
    lines = ctx.lines.filter(NOT_SELF_PAY)
    em = lines.filter(pl.col("is_em") & pl.col("m25") & (pl.col("dx").list.len() > 0)).join(
        major_day_keys(ctx), on=DAY_KEY, how="anti"
    )
    minor = lines.filter(one_of("global_days", ["000", "010"]).fill_null(False))
    # First the cheap test on the days of those E/M lines (every E/M diagnosis is one of the
    # day's procedure diagnoses), then the codes, rows and diagnosis signatures of the few
    # days that pass it.
    proc_dx = (
        minor.join(em.select(DAY_ID), on=DAY_ID, how="semi")
        .group_by(DAY_ID)
        .agg(pl.col("dx").explode().unique().alias("p_dx"))
    )
    # materialised: the few E/M lines that pass are read three times below, and the lazy
    # plan would repeat the test at each read
    em = materialise(
        em.join(proc_dx, on=DAY_ID, how="inner").filter(
            pl.col("dx").list.set_difference(pl.col("p_dx")).list.len() == 0
        )
    )
    lines = lines.join(em.select(DAY_ID), on=DAY_ID, how="semi")
    procs = (
        minor.join(em.select(DAY_ID), on=DAY_ID, how="semi")
        .sort("_file", "_row")
        .group_by(DAY_ID)
        .agg(
            pl.col("_row").sort().alias("p_rows"),
            pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("p_codes"),
        )
    )
    day_sig = lines.group_by(DAY_ID).agg(
        pl.col("dx").list.sort().list.join("|").n_unique().alias("n_sig"),
        pl.col("dx").explode().drop_nulls().n_unique().alias("n_dx"),
    )
    j = (
        em.join(procs, on=DAY_ID, how="inner")
        .join(day_sig, on=DAY_ID, how="left")
        .filter((pl.col("n_dx") == 1) | (pl.col("n_sig") > 1))
    )
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row"), pl.col("p_rows")).list.unique().list.sort(),
        codes=msg(pl.col("cpt"), "-25 + ", pl.col("p_codes")),
        message=msg(
            pl.col("cpt"),
            "-25 carries only the diagnosis(es) ",
            pl.col("dx").list.join(" "),
            " of the same-day procedure(s) ",
            pl.col("p_codes"),
            ": no separate problem is coded for the visit",
        ),
        suggestion=msg(
            "check the note: if the visit only led to the decision to treat, bill ",
            pl.col("p_codes"),
            " without ",
            pl.col("cpt"),
            "; if a separate problem was managed, code that problem's diagnosis on the E/M line",
        ),
        amount=pl.col("fee"),
    )


# ---- EM-004 ---------------------------------------------------------------------------------


@rule(
    "EM-004",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Modifier 57 on an E/M before a minor (000/010) procedure",
    severities={
        Severity.REVIEW: "the 57 visit is the day before a 000/010 procedure and has no "
        "procedure of its own day: the visit is payable, but without 57",
    },
    out_of_scope="57 on the day of, or the day before, a 090-global procedure (correct); "
    "whether the visit was separately identifiable (a note review); self-pay lines.",
    flags="""
An office E/M with modifier 57 (decision for surgery), same patient and provider, when no
090-global procedure is on that day or the next, and either
(a) the day's procedures all have 000 or 010 global periods (denial: 57 does not apply to a
minor procedure; a separate visit takes 25), or
(b) the day has no procedure and the next day has only 000/010 procedures (review: a visit
the day before a minor procedure is outside its global package and is billed without 57).
""",
    why="""
Modifier 57 marks the visit at which the decision for major (090-day) surgery was made, on the
day of or the day before surgery. For 000/010 procedures the decision is part of the procedure
on its day, and the day before is not in the package at all, so 57 there is wrong: on the
procedure day it is denied or, if paid, paid in error (the visit needs 25); the day before it
is simply not needed.
""",
    example="99214-57 + 11102 (tangential biopsy, 000 global) on the same day; 99213-57 on "
    "2025-03-03 before 11602 (010 global) on 2025-03-04.",
    compliant="99214-25 + 11102 when the visit was separately identifiable (otherwise 11102 "
    "alone); 99213 without a modifier the day before the excision.",
    source=NCCI_CH1_EM,
    amount="""
(a) 2025 national non-facility fee of the E/M line (denied, or paid in error). (b) None: the
visit is payable either way, only the modifier is wrong.
""",
    limits="""
Global days come from rulesets/codes.csv. A 090 procedure by the same provider on the same or
next day clears the E/M, even if the 57 was really for the minor procedure. The day-before
check looks across files of the same scan.
""",
)
def em_004(ctx: Context) -> pl.LazyFrame:
    em = ctx.lines.filter(pl.col("is_em") & pl.col("m57") & NOT_SELF_PAY).join(
        major_day_keys(ctx), on=DAY_KEY, how="anti"
    )
    minor_days = ctx.days.filter(pl.col("has_minor") & ~pl.col("has_major")).select(DAY_ID)
    # (a) the E/M's own day has only minor procedures
    same = em.join(minor_days, on=DAY_ID, how="semi").join(
        day_procedures(ctx, ["000", "010"], only=em).drop(DAY_KEY), on=DAY_ID, how="inner"
    )
    # (b) no procedure that day, minor procedures the next day
    proc_days = ctx.lines.filter(is_procedure()).select(DAY_ID).unique()
    lone = em.join(proc_days, on=DAY_ID, how="anti")
    # only the next days of those E/Ms: aggregating every minor-procedure day of the export
    # was most of this rule's cost
    next_keys = lone.select(
        "patient_id", "provider", (pl.col("dos") + pl.duration(days=1)).alias("dos")
    ).unique()
    next_days = (
        ctx.days.join(next_keys, on=DAY_KEY, how="semi")
        .join(minor_days, on=DAY_ID, how="semi")
        .select(DAY_ID)
    )
    nxt = (
        day_procedures(ctx, ["000", "010"], only=next_days)
        .drop(DAY_ID)
        .with_columns((pl.col("dos") - pl.duration(days=1)).alias("dos"))
    )
    before = lone.join(nxt, on=DAY_KEY, how="inner").with_columns(pl.lit(True).alias("before"))
    j = pl.concat(
        [same.with_columns(pl.lit(False).alias("before")), before], how="diagonal_relaxed"
    )
    b = pl.col("before")
    return emit(
        j,
        rows=same_file_rows("p_file", "p_rows"),
        codes=msg(pl.col("cpt"), "-57 + ", pl.col("p_codes")),
        message=pl.when(b)
        .then(
            msg(
                pl.col("cpt"),
                " carries modifier 57 (decision for major surgery) the day before ",
                pl.col("p_codes"),
                ", which has a 000/010 global period: a minor procedure has no pre-operative "
                "day, so the visit is not in its package",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " carries modifier 57 (decision for major surgery) but the day's procedures (",
                pl.col("p_codes"),
                ") have 000/010 global periods and no 090 procedure follows",
            )
        ),
        suggestion=pl.when(b)
        .then(msg("remove 57 from ", pl.col("cpt"), " (bill the visit without a modifier)"))
        .otherwise(
            msg(
                "replace 57 with 25 on ",
                pl.col("cpt"),
                " if the visit was significant and separately identifiable; otherwise bill ",
                pl.col("p_codes"),
                " alone",
            )
        ),
        amount=pl.when(b).then(pl.lit(None, pl.Float64)).otherwise(pl.col("fee")),
        severity=pl.when(b).then(pl.lit("review")).otherwise(pl.lit("denial")),
        money=pl.when(b).then(pl.lit("none")).otherwise(pl.lit("either")),
    )


# ---- EM-005 ---------------------------------------------------------------------------------


@rule(
    "EM-005",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.UNDER,
    title="Decision-for-surgery E/M before a 090 procedure without 57",
    severities={
        Severity.REVIEW: "the visit carries 25 on the day of the 090 procedure and shares its "
        "diagnosis category: payable only as the decision for surgery (57), and included in "
        "the surgery if the decision was made earlier",
    },
    out_of_scope="Visits with 57; visits with 25 whose diagnoses are unrelated to the surgery's "
    "(correctly 25) or unknown; minor (000/010) procedures (EM-001, EM-003); a decision made "
    "at an earlier visit (a note review).",
    flags="""
An office E/M by the same provider for the same patient on the day of, or the day before, a
procedure with a 090 global period (e.g. adjacent tissue transfer 14000-14302, vascular
destruction 17106-17108, 13160, dermabrasion, blepharoplasty), without 57, when
(a) the E/M carries no modifier (denial: without 57 - or 25 for an unrelated problem on the
day of surgery - the visit is denied as part of the surgical package); or
(b) the E/M carries 25 and its diagnoses share an ICD-10-CM category with the 090
procedure's: the visit is the decision for that surgery, whose modifier is 57 - the day
before, 25 does not apply at all (denial); on the day of surgery, review.
A visit with both a minor and a 090 procedure that day is judged here (57 decides), not by
EM-001/EM-003.
""",
    why="""
The 090 global package includes the pre-operative visits from the day before surgery. The
visit at which the decision for major surgery was made is payable, with modifier 57; modifier
25 is for a significant, separately identifiable visit on the day of a procedure, typically a
minor one, or an unrelated problem. A decision visit billed without 57, or with 25 the day
before, is denied; 25 on a same-day decision visit misstates what the visit was.
""",
    example="99214 (C44.311) on 2025-03-03, then 14040 (C44.311) on 2025-03-04, no modifier; or "
    "99214-25 (C44.311) + 14040 (C44.311) on one day.",
    compliant="99214-57 on 2025-03-03 (the decision-for-surgery visit) + 14040 on 2025-03-04; "
    "99214-57 + 14040 on one day; 99213-25 + 14040 when the visit treated an unrelated "
    "problem (e.g. L40.0).",
    source=NCCI_CH1_EM,
    amount="""
2025 national non-facility fee of the E/M line: denied without the right modifier (a, and b
the day before), or included in the surgery if the decision was made earlier (b on the day of
surgery).
""",
    limits="""
If the decision for surgery had been made at an earlier visit, the day-before E/M really is a
routine pre-operative visit and is correctly unpaid; the finding then only asks to check it.
Diagnoses are compared by ICD-10-CM category (first three characters): a visit for D48.5 and
a flap for C44.311 do not share one, so such a 25 visit is not judged. The day-before check
looks across files of the same scan.
""",
)
def em_005(ctx: Context) -> pl.LazyFrame:
    em = ctx.lines.filter(pl.col("is_em") & ~pl.col("m57") & NOT_SELF_PAY)
    majors = day_procedures(ctx, ["090"], dx=True).drop(DAY_ID).rename({"dos": "p_dos"})
    same = em.join(majors.with_columns(pl.col("p_dos").alias("dos")), on=DAY_KEY, how="inner")
    before = em.join(
        majors.with_columns((pl.col("p_dos") - pl.duration(days=1)).alias("dos")),
        on=DAY_KEY,
        how="inner",
    )
    j = (
        pl.concat([same, before], how="vertical")
        .sort("_file", "_row", "p_dos")
        .unique(subset=["_file", "_row"], keep="first", maintain_order=True)
        .with_columns(dx_related("dx", "p_dx").fill_null(False).alias("related"))
        .filter(~pl.col("m25") | pl.col("related"))
    )
    same_day = pl.col("p_dos") == pl.col("dos")
    m25 = pl.col("m25")
    when = pl.when(same_day).then(pl.lit("the same day as")).otherwise(pl.lit("the day before"))
    return emit(
        j,
        rows=same_file_rows("p_file", "p_rows"),
        codes=msg(pl.col("cpt"), pl.when(m25).then(pl.lit("-25")), " + ", pl.col("p_codes")),
        message=pl.when(m25)
        .then(
            msg(
                pl.col("cpt"),
                "-25 on ",
                when,
                " 090-global procedure(s) ",
                pl.col("p_codes"),
                " (",
                pl.col("p_dos"),
                ") with the surgery's diagnosis (",
                pl.col("dx").list.join(" "),
                "): the decision for major surgery is reported with 57",
                pl.when(~same_day).then(pl.lit("; 25 does not apply the day before a procedure")),
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " billed without 57 or 25 on ",
                when,
                " 090-global procedure(s) ",
                pl.col("p_codes"),
                " (",
                pl.col("p_dos"),
                "): it falls inside the surgical package",
            )
        ),
        suggestion=pl.when(m25)
        .then(
            msg(
                "replace 25 with 57 on ",
                pl.col("cpt"),
                " if this visit made the decision for ",
                pl.col("p_codes"),
                "; if the decision was made at an earlier visit, this visit is part of the "
                "surgery: do not bill it",
            )
        )
        .otherwise(
            msg(
                "append 57 to ",
                pl.col("cpt"),
                " if this visit made the decision for ",
                pl.col("p_codes"),
                pl.when(same_day)
                .then(pl.lit(" (25 if it treated an unrelated problem, coded with its own "))
                .otherwise(pl.lit(" (if it treated an unrelated problem, code that problem's ")),
                "diagnosis); otherwise do not bill it",
            )
        ),
        amount=pl.col("fee"),
        severity=pl.when(m25 & same_day).then(pl.lit("review")).otherwise(pl.lit("denial")),
        money=pl.when(m25 & same_day).then(pl.lit("either")).otherwise(pl.lit("under")),
    )


# ---- EM-006 ---------------------------------------------------------------------------------


@rule(
    "EM-006",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    level="history",
    title="New-patient E/M for a patient seen by the practice within 3 years",
    severities={
        Severity.REVIEW: "the earlier visit was by another provider of the same group and the "
        "export carries no specialty (taxonomy) for one of them, so 'same specialty' is "
        "assumed",
    },
    out_of_scope="Providers of other groups (a new group makes the patient new); services "
    "before the first date in the data; pathology readings and other services without a "
    "face-to-face encounter; established-patient codes for new patients (not judged).",
    flags="""
A new-patient office E/M (99202-99205; 99201 before 2021) when the same patient had a
face-to-face service (any line except pathology readings) on an earlier date within the 3 years
before it, anywhere in the scanned files, from
  * the same rendering provider; or
  * another provider of the same group (the export's group / billing TIN column, or the billing
    provider when present) of the same specialty: same NUCC taxonomy specialty when the export
    has a taxonomy column; a nurse practitioner or physician assistant (credential or taxonomy)
    counts as the physician's specialty, in both directions. Without a taxonomy the group's
    providers are assumed to share the specialty and the finding is a review.
""",
    why="""
A patient who received a professional service from the physician, or from a physician of the
same specialty in the same group practice, within the past 3 years is established; Medicare
counts a nurse practitioner or physician assistant as working in the physician's specialty.
Established codes pay less (99204 $163.35 vs 99214 $125.18, 2025 national), so billing
new-patient codes for established patients is an overpayment.
""",
    example="99213 by DrA on 2024-05-10, then 99204 on 2025-03-04 by NP Lee of the same group.",
    compliant="99214 on 2025-03-04 (established patient, same level of decision making).",
    source=(
        "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §30.6.7.A (new patient: no "
        "professional service from the physician or physician group practice of the same "
        "specialty within the previous three years; interpretation-only services do not count) "
        "and §30.6.7 / MLN Evaluation and Management Services Guide (nonphysician practitioners "
        "are treated as the physician's specialty); CPT 2025 Professional Edition, E/M "
        "guidelines (new and established patients); secondary: WPS Medicare 'New Patient "
        "Services (Q&As)', AAPC forum quoting §30.6.7.A."
    ),
    amount=(
        "2025 national non-facility fee of the new-patient code minus that of the established "
        "code of the same level (the code swap)."
    ),
    limits="""
Only a service found in the data proves a patient established: a file covering less than 3
years cannot prove a patient is new, so established codes are never questioned. The group is
read from the group/TIN column (or billing provider); without one only the same rendering
provider counts, so the rule under-reports. Specialty is read from a NUCC taxonomy column
(first four characters, 207N = dermatology); without one, colleagues of the same group are
assumed to share it (review). Pathology lines are skipped (not face to face).
""",
)
def em_006(ctx: Context) -> pl.LazyFrame:
    new = ctx.lines.filter(one_of("cpt", list(NEW_TO_EST)) & NOT_SELF_PAY).with_columns(
        group_key(ctx).alias("grp"),
        specialty_key(ctx).alias("spec"),
        non_physician(ctx).alias("npp"),
    )
    pats = new.select("patient_id").unique()
    # the visits of those patients, once per day and provider attributes (the attributes are
    # computed after that reduction), sorted by date once: six look-backs read them
    attrs = ["group_id", "billing_provider", "taxonomy", "credential"]
    seen = materialise(
        ctx.lines.filter(pl.col("family") != "pathology")
        .join(pats, on="patient_id", how="semi")
        .select(DAY_ID, "patient_id", "provider", "dos", *attrs)
        .unique([DAY_ID, *attrs])
        .with_columns(
            group_key(ctx).alias("grp"),
            specialty_key(ctx).alias("spec"),
            non_physician(ctx).alias("npp"),
        )
        .select(DAY_ID, "patient_id", "provider", "dos", "grp", "spec", "npp")
        .unique([DAY_ID, "grp", "spec", "npp"])
        .sort("dos")
    )
    new = materialise(new)

    def look_back(left: pl.LazyFrame, right: pl.LazyFrame, by: list[str], tag: str) -> pl.LazyFrame:
        """Latest earlier visit of ``right`` matching on ``by``: (file, row, candidate...)."""
        r = right.select(*by, "dos", pl.col(DAY_ID).alias("c_id"), pl.col("dos").alias("c_dos"))
        return (
            left.select("_file", "_row", *by, "dos")
            .drop_nulls(by)
            .sort("dos")
            .join_asof(
                r.drop_nulls(by).sort("dos"),
                on="dos",
                by=by,
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
            .filter(
                pl.col("c_dos").is_not_null()
                & (pl.col("c_dos") >= pl.col("dos").dt.offset_by("-3y"))
            )
            .select("_file", "_row", "c_id", "c_dos", pl.lit(tag).alias("how"))
        )

    pair = ["patient_id", "provider"]
    grp = ["patient_id", "grp"]
    cands = [
        look_back(new, seen, pair, "same"),
        # same group, same taxonomy specialty
        look_back(new, seen, [*grp, "spec"], "specialty"),
        # an NPP counts as the physician's specialty, in both directions
        look_back(new.filter(pl.col("npp")), seen, grp, "npp_new"),
        look_back(new, seen.filter(pl.col("npp")), grp, "npp_prior"),
        # specialty unknown for one side: assumed the same (review)
        look_back(new.filter(pl.col("spec").is_null()), seen, grp, "assumed"),
        look_back(new, seen.filter(pl.col("spec").is_null()), grp, "assumed"),
    ]
    best = (
        pl.concat(cands, how="vertical")
        .with_columns((pl.col("how") == "assumed").alias("assumed"))
        # a certain match beats an assumed one, then the latest visit
        .sort("_file", "_row", "assumed", "c_dos", descending=[False, False, False, True])
        .unique(["_file", "_row"], keep="first", maintain_order=True)
    )
    j = new.join(best, on=["_file", "_row"], how="inner")
    prev = (
        ctx.lines.join(j.select(pl.col("c_id").alias(DAY_ID)), on=DAY_ID, how="semi")
        .filter(pl.col("family") != "pathology")
        .sort("_file", "_row")
        .group_by(DAY_ID)
        .agg(
            pl.col("_file").first().alias("prev_file"),
            pl.col("_row").first().alias("prev_row"),
            pl.col("provider").first().alias("prev_provider"),
            pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("prev_codes"),
        )
        .rename({DAY_ID: "c_id"})
    )
    j = j.join(prev, on="c_id", how="left")
    est = pl.col("cpt").replace_strict(NEW_TO_EST, default=None)
    other = pl.col("prev_provider") != pl.col("provider")
    why = (
        pl.when(pl.col("how") == "specialty")
        .then(pl.lit(", same group and specialty"))
        .when(pl.col("how").is_in(["npp_new", "npp_prior"]))
        .then(
            pl.lit(
                ", same group; a nurse practitioner or physician assistant counts as the "
                "physician's specialty"
            )
        )
        .when(pl.col("how") == "assumed")
        .then(pl.lit(", same group; specialty not in the export, assumed the same"))
        .otherwise(pl.lit(""))
    )
    return emit(
        j,
        rows=same_file_rows("prev_file", "prev_row"),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (new patient) billed although ",
            pl.when(other)
            .then(msg(pl.col("prev_provider"), " (", why.str.strip_chars(", "), ")"))
            .otherwise(pl.col("provider")),
            " saw the patient on ",
            pl.col("c_dos"),
            " (",
            pl.col("prev_codes"),
            ", ",
            pl.col("prev_file"),
            " row ",
            pl.col("prev_row"),
            "), within 3 years: the patient is established",
        ),
        suggestion=msg(
            "bill the established-patient code of the same level (",
            est,
            " instead of ",
            pl.col("cpt"),
            ")",
        ),
        amount=(pl.col("fee") - fee_of(ctx, est)).clip(0),
        severity=pl.when(pl.col("assumed")).then(pl.lit("review")).otherwise(pl.lit("compliance")),
    )


# ---- EM-007 ---------------------------------------------------------------------------------


@rule(
    "EM-007",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="More than one office E/M for one patient, provider and day",
    out_of_scope="Different rendering providers on one day (not combined); E/M codes outside "
    "99202-99215.",
    flags="""
Two or more office E/M units (99202-99215, as separate lines or units > 1) for the same
patient, rendering provider and date of service.
""",
    why="""
Office visits on one date by one practitioner are reported as a single E/M whose level
reflects the combined decision making or total time of the day. A second E/M line is
either a duplicate or a split visit, and is paid in error if not denied.
""",
    example="99213 + 99214 for P1 with DrA on 2025-03-04.",
    compliant="One E/M for the day at the level the combined work supports, e.g. 99214 x1.",
    source=(
        "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §30.6.7 (office visits: one "
        "E/M per day by the same physician or a physician of the same specialty in the group,"
        " combining the day's work); CPT 2025 Professional Edition office E/M guidelines "
        "(total time on the date of the encounter)."
    ),
    amount="2025 national fees of every E/M unit beyond the highest-paid one.",
    limits="""
Confidence U. Two genuinely separate visits on one day (e.g. morning clinic and an evening
return for a complication) exist but are rare and are still usually combined for office E/M.
""",
)
def em_007(ctx: Context) -> pl.LazyFrame:
    em = (
        ctx.lines.filter(pl.col("is_em") & NOT_SELF_PAY)
        # only a day with two E/M lines, or a line of 2+ units, can reach 2 units
        .filter(pl.col(DAY_ID).is_duplicated() | (pl.col("units") > 1))
        .with_columns((pl.col("fee") * pl.col("units")).alias("amt"))
        .sort("fee", "_row", descending=[True, False], nulls_last=True, maintain_order=True)
        .group_by(DAY_ID)
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row").sort().alias("em_rows"),
            pl.col("cpt").first().alias("keep"),
            pl.col("cpt").str.join(" + ").alias("all_codes"),
            pl.col("units").sum().alias("n"),
            pl.col("amt").sum().alias("total"),
            pl.col("fee").first().alias("top_fee"),
        )
        .filter(pl.col("n") > 1)
    )
    return emit(
        em,
        rows=pl.col("em_rows"),
        codes=pl.col("all_codes"),
        message=msg(
            pl.col("n"),
            " office E/M units (",
            pl.col("all_codes"),
            ") for one patient, provider and day; only one office E/M is reported per day",
        ),
        suggestion=msg(
            "bill one office E/M for the day at the level the combined work supports (e.g. ",
            pl.col("keep"),
            " x1) and remove the other line(s)",
        ),
        amount=(pl.col("total") - pl.col("top_fee")).clip(0),
    )


# ---- EM-008 ---------------------------------------------------------------------------------


# (metric key, label, denominator codes, high-level codes, benchmark key, benchmark text, era)
LEVEL_METRICS: list[tuple[str, str, list[str], list[str], str | None, str, str]] = [
    (
        "est",
        "established 99214+99215",
        EST_CODES,
        ["99214", "99215"],
        "em_specialty_high_share_established",
        "specialty",
        "modern",
    ),
    (
        "new",
        "new 99204+99205",
        NEW_CODES,
        ["99204", "99205"],
        "em_specialty_high_share_new",
        "specialty",
        "modern",
    ),
    ("old", "before 2021, 99214 of 99213+99214", ["99213", "99214"], ["99214"], None, "", "old"),
]


def _em_008_stats(ctx: Context) -> pl.LazyFrame:
    """Per provider and metric: visits in the denominator (n_*) and high-level visits (k_*)."""
    em = ctx.lines.filter(pl.col("is_em"))
    modern = pl.col("dos") >= EM_2021
    aggs: list[pl.Expr] = []
    high_any = pl.lit(False)
    for key, _label, denom, high, _bk, _bt, era in LEVEL_METRICS:
        in_era = modern if era == "modern" else ~modern
        in_denom = in_era & one_of("cpt", denom)
        is_high = in_denom & one_of("cpt", high)
        aggs.append(pl.col("units").filter(in_denom).sum().alias(f"n_{key}"))
        aggs.append(pl.col("units").filter(is_high).sum().alias(f"k_{key}"))
        high_any = high_any | is_high
    per = em.group_by("provider").agg(aggs)
    support = em.filter(high_any).select("_file", "_row", "provider")
    return provider_stats(support, per)


def _level_judgement(
    ctx: Context, key: str, label: str, bench_key: str | None, bench_text: str
) -> tuple[pl.Expr, pl.Expr]:
    """(flagged, text) for one metric over the merged per-provider statistics."""
    min_n = ctx.ref.bench("em_level_min_visits")
    factor = ctx.ref.bench("em_level_high_share_factor")
    z = ctx.ref.bench("em_level_outlier_sd")
    n, k = pl.col(f"n_{key}"), pl.col(f"k_{key}")
    if bench_key is not None and bench_key in ctx.ref.benchmarks:
        b = ctx.ref.bench(bench_key)
        src = ctx.ref.bench_source(bench_key) or bench_key
        bench: pl.Expr = pl.lit(b)
        bench_txt: pl.Expr = pl.lit(f"{bench_text} benchmark {b:.1%} ({src})")
        bench_ok: pl.Expr = pl.lit(True)
    elif bench_key is None:  # pre-2021: the weak 2018 dermatology figure
        bk = "em_2018_99214_share_of_99213_99214"
        b = ctx.ref.bench(bk)
        bench = pl.lit(b)
        bench_txt = pl.lit(f"2018 dermatology share {b:.0%} ({ctx.ref.bench_source(bk)}; weak)")
        bench_ok = pl.lit(True)
    else:  # no specialty benchmark configured: compare with the rest of the practice
        peer_n = n.sum() - n
        bench = (k.sum() - k) / peer_n
        bench_txt = msg(
            "the other providers in this data (",
            pct(bench),
            "% of ",
            peer_n,
            "; no specialty benchmark configured)",
        )
        bench_ok = peer_n >= min_n
    share = k / n
    se = (bench * (1 - bench) / n).sqrt()
    flagged = (
        bench_ok & (n >= min_n) & (bench > 0) & (share > factor * bench) & (share > bench + z * se)
    ).fill_null(False)
    text = msg(label, ": ", k, " of ", n, " (", pct(share), "%) vs ", bench_txt)
    return flagged, text


@rule(
    "EM-008",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    level="provider",
    title="High-level office E/M share outlier (provider)",
    stats=_em_008_stats,
    out_of_scope="Individual visits (EM-009 judges lines); total time and MDM, which a charge "
    "file cannot show.",
    flags="""
A rendering provider whose share of high-level office visits - 99214+99215 among established
visits (99211-99215), 99204+99205 among new visits (99202-99205), for dates from 2021-01-01 -
is more than em_level_high_share_factor (1.5x) the comparison share and also more than
em_level_outlier_sd (2) binomial standard errors above it. The comparison is a specialty
share configured in rulesets (em_specialty_high_share_established / _new), otherwise the rest
of the providers in the same data. For dates before 2021 the provider's 99214 share of
99213+99214 is compared with a weak 2018 dermatology figure. At least em_level_min_visits
(20) visits of the kind are needed; one finding per provider.
""",
    why="""
Payers and OIG profile E/M levels against specialty peers; a provider far above them draws
record requests. Since 2021 the level rests on medical decision making or total time, which a
charge file cannot show, so this is a prompt to audit a sample of notes.
""",
    example=(
        "DrB: 99214+99215 on 70 of 100 established visits while the rest of the practice bills 30%."
    ),
    compliant=(
        "Levels that follow documented MDM or total time; a note audit shows whether 70% is right."
    ),
    source=(
        "CMS Medicare Physician & Other Practitioners by Provider and Service (public use "
        "file; the specialty benchmark a practice can configure); AMA CPT 2021 office E/M "
        "revision (MDM or total time); HHS-OIG OEI-04-10-00180 (2012) on E/M coding trends. "
        "Thresholds (1.5x the comparison share and 2 standard errors) are dermaudit settings "
        "in rulesets/benchmarks.toml and benchmarks_em.toml."
    ),
    amount="None: a level distribution is not an overpayment by itself (amount left empty).",
    limits="""
No verified post-2021 dermatology distribution ships with dermaudit, so without a configured
benchmark the comparison is the practice's own other providers: a one-provider practice, or
one whose providers all code alike, gets no finding. The pre-2021 figure is a weak secondary
source. Case mix (e.g. a Mohs surgeon, a medical-dermatology clinic) legitimately moves the
share. When a file spans 2020 and 2021, the two E/M rule eras are measured separately and
reported together in the provider's one finding.
""",
)
def em_008(ctx: Context, stats: pl.LazyFrame) -> pl.LazyFrame:
    flags: list[pl.Expr] = []
    texts: list[pl.Expr] = []
    for key, label, _d, _h, bench_key, bench_text, _era in LEVEL_METRICS:
        f, t = _level_judgement(ctx, key, label, bench_key, bench_text)
        flags.append(f.alias(f"f_{key}"))
        texts.append(pl.when(pl.col(f"f_{key}")).then(t))
    frame = (
        stats.with_columns(flags)
        .with_columns(
            pl.concat_str(texts, separator="; ", ignore_nulls=True).alias("texts"),
            *provider_keys(),
        )
        .filter(pl.any_horizontal([pl.col(f"f_{m[0]}") for m in LEVEL_METRICS]))
    )
    return emit(
        frame,
        rows=pl.col("sup_rows"),
        codes=pl.lit("99214 99215 99204 99205"),
        message=msg(
            pl.col("provider"),
            " bills a high share of high-level office visits: ",
            pl.col("texts"),
        ),
        suggestion=msg(
            "audit a sample of ",
            pl.col("provider"),
            "'s 99214/99215 (and 99204/99205) notes "
            "against the MDM or total-time requirements; rebill at the supported level where "
            "they fall short",
        ),
        amount=pl.lit(None, pl.Float64),
    )


# ---- EM-009 ---------------------------------------------------------------------------------


@rule(
    "EM-009",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Highest-level office E/M with only minor or benign diagnoses",
    requires=("dx",),
    out_of_scope="Levels chosen by total time; 99204/99214; diagnoses documented only in the note.",
    flags="""
99205 or 99215 whose diagnoses (the E/M line's own, or the encounter's when the line has
none) all belong to the MINOR_BENIGN group in rulesets/icd10_groups.csv: seborrheic
keratosis, melanocytic nevus, skin tag, viral wart, skin-cancer screening, history of skin
cancer.
""",
    why="""
High-complexity decision making needs high-risk management or a severe problem; AAD's worked
examples put a benign-lesion or screening visit at straightforward or low. A level-5 visit
for such problems only is an overcoding pattern unless total time supports it.
""",
    example="99215 with L82.1 and D22.5 only (seborrheic keratosis and a benign nevus).",
    compliant=(
        "99212 or 99213 for benign lesions addressed with reassurance or a minor procedure "
        "decision."
    ),
    source=(
        "CPT 2025 Professional Edition office E/M guidelines, levels of medical decision "
        "making (table of MDM elements); secondary: AAD 'Cracking the code' E/M 2021 parts "
        "1-4 and the AAD 2021 E/M FAQ worked examples. The diagnosis-based screen is a "
        "heuristic (U)."
    ),
    amount=(
        "2025 national fee of the billed code minus that of the low-MDM code (99213/99203), a "
        "conservative estimate."
    ),
    limits="""
Heuristic (U): a level can be chosen by total time (40+ minutes for 99215 from 2024), which a
charge file does not show, and a diagnosis list can omit the problem that drove the MDM.
Review only.
""",
)
def em_009(ctx: Context) -> pl.LazyFrame:
    minor = ctx.ref.dx_prefixes("MINOR_BENIGN")
    top = {"99215": "99213", "99205": "99203"}
    em = (
        ctx.lines.filter(one_of("cpt", list(top)) & NOT_SELF_PAY)
        .join(ctx.days.select(DAY_ID, pl.col("dx").alias("day_dx")), on=DAY_ID, how="left")
        .with_columns(
            pl.when(pl.col("dx").list.len() > 0)
            .then(pl.col("dx"))
            .otherwise(pl.col("day_dx"))
            .alias("use_dx")
        )
        .filter(all_dx_in(minor, "use_dx"))
    )
    low = pl.col("cpt").replace_strict(top, default=None)
    return emit(
        em,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (highest level) with only minor/benign diagnoses: ",
            pl.col("use_dx").list.join(" "),
        ),
        suggestion=msg(
            "check the note's MDM or total time; for benign lesions or screening alone bill the "
            "supported level (usually ",
            low,
            " or lower) instead of ",
            pl.col("cpt"),
        ),
        amount=(pl.col("fee") - fee_of(ctx, low)).clip(0),
    )


# ---- EM-010 ---------------------------------------------------------------------------------


@rule(
    "EM-010",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="99211 on the same day as a procedure",
    out_of_scope="Other E/M levels (EM-001, EM-003); 99211 on days without a procedure.",
    flags="""
99211 (a minimal visit that may not need the physician) on the same day, for the same
patient and rendering provider, as a procedure with a 000, 010 or 090 global period.
""",
    why="""
A nurse-level visit on a procedure day is almost always the pre- or post-procedure work that
the procedure already pays for; 99211 is rarely separately payable with a procedure.
""",
    example="99211 + 11900 (intralesional injection) on the same day.",
    compliant="11900 alone.",
    source=(
        NCCI_CH1_EM
        + "; CPT 2025 Professional Edition, 99211 descriptor (may not require the presence of a"
        " physician)."
    ),
    amount="2025 national fee of 99211 x units.",
    limits=(
        "Confidence U: a genuinely separate nurse visit (e.g. a blood-pressure recheck ordered by"
        " another problem) is possible."
    ),
)
def em_010(ctx: Context) -> pl.LazyFrame:
    em = ctx.lines.filter((pl.col("cpt") == "99211") & NOT_SELF_PAY)
    procs = day_procedures(ctx, PROC_GLOBALS, only=em).drop(DAY_KEY)
    j = em.join(procs, on=DAY_ID, how="inner")
    return emit(
        j,
        rows=same_file_rows("p_file", "p_rows"),
        codes=msg("99211 + ", pl.col("p_codes")),
        message=msg("99211 billed on the same day as procedure(s) ", pl.col("p_codes")),
        suggestion=msg(
            "bill ",
            pl.col("p_codes"),
            " without 99211 unless the note documents a separate "
            "visit for another problem (then 99211-25)",
        ),
        amount=line_amount(),
    )


# ---- EM-011 ---------------------------------------------------------------------------------


@rule(
    "EM-011",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Office E/M for a routine skin-cancer screening billed to Medicare",
    requires=("payer", "dx"),
    payers=("medicare_ffs",),
    severities={
        Severity.REVIEW: "the diagnoses are screening/history codes other than Z12.83 alone "
        "(surveillance of a prior skin cancer is often covered)",
    },
    out_of_scope="Medicare Advantage and other payers (their screening benefits differ); "
    "preventive visits coded with G0438/G0439.",
    flags="""
An office E/M billed to Medicare fee-for-service without GY or GA whose diagnoses (the E/M
line's own, or the encounter's when the line has none) are only Z12.83 (skin-cancer
screening): denial. When they are only screening/history codes (Z85.820, Z85.828, Z80.8,
with or without Z12.83) the finding is a review.
""",
    why="""
Routine screening examinations are excluded from Medicare by statute (Social Security Act
§1862(a)(7)). A screening-only visit billed as covered is denied, and the patient can be
billed only if the line carries GY; if Medicare paid it, it is an overpayment.
""",
    example="99203 with Z12.83 only, to Medicare, no modifier.",
    compliant=(
        "99203-GY (statutory exclusion) and collect from the patient, or code the problem "
        "evaluated."
    ),
    source=(
        "Social Security Act §1862(a)(7) (routine physical checkups excluded); Medicare "
        "Benefit Policy Manual, Pub. 100-02, ch. 16, §90 (routine services and appliances); "
        "CMS MLN Matters MM6563 (GY modifier); ICD-10-CM FY2026 tabular list (Z12.83); "
        "secondary: Highmark Medicare policy, Find-A-Code, AAOMS."
    ),
    amount="2025 national fee of the E/M line.",
    limits="""
Surveillance of a patient with a personal history of melanoma or other skin cancer is often
accepted by MACs as medically necessary, so history-only visits are only a review. Medicare
FFS lines only; Medicare Advantage plans may cover screening.
""",
)
def em_011(ctx: Context) -> pl.LazyFrame:
    hist = ctx.ref.dx_prefixes("SCREENING_HISTORY")
    gy_ga = pl.col("mods").list.eval(pl.element().is_in(["GY", "GA"])).list.any().fill_null(False)
    em = (
        ctx.lines.filter(pl.col("is_em") & (pl.col("payer_class") == "medicare_ffs") & ~gy_ga)
        .join(ctx.days.select(DAY_ID, pl.col("dx").alias("day_dx")), on=DAY_ID, how="left")
        .with_columns(
            pl.when(pl.col("dx").list.len() > 0)
            .then(pl.col("dx"))
            .otherwise(pl.col("day_dx"))
            .alias("use_dx")
        )
        .filter(all_dx_in(hist, "use_dx"))
    )
    screening_only = all_dx_in(["Z12.83"], "use_dx")
    return emit(
        em,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=pl.when(screening_only)
        .then(
            msg(
                pl.col("cpt"),
                " billed to Medicare for a routine skin-cancer screening (Z12.83 only) "
                "without GY: screening is excluded by statute",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " billed to Medicare with only screening/history diagnoses (",
                pl.col("use_dx").list.join(" "),
                ") and no active skin problem coded",
            )
        ),
        suggestion=pl.when(screening_only)
        .then(
            msg(
                "append GY to ",
                pl.col("cpt"),
                " and bill the patient, or code the problem that "
                "was evaluated as the first diagnosis",
            )
        )
        .otherwise(
            msg(
                "confirm the note documents a problem or surveillance the MAC covers; otherwise "
                "append GY to ",
                pl.col("cpt"),
                " and bill the patient",
            )
        ),
        amount=pl.col("fee"),
        severity=pl.when(screening_only).then(pl.lit("denial")).otherwise(pl.lit("review")),
    )


# ---- EM-012 ---------------------------------------------------------------------------------


@rule(
    "EM-012",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Prolonged-visit code billed to the wrong payer or with the wrong E/M level",
    codes=("G2212", "99417", "99205", "99215"),
    severities={
        Severity.REVIEW: "G2212 is billed to a commercial plan (CPT's code is 99417, but some "
        "plans accept G2212)",
    },
    out_of_scope="Total time (not in a charge export); prolonged codes with no E/M at all "
    "(GEN-002); Medicare Advantage and Medicaid code choice.",
    flags="""
From 2021-01-01: 99417 billed to Medicare fee-for-service (Medicare uses G2212); G2212 or
99417 on a day whose office E/M is not 99205 or 99215; G2212 billed to a commercial plan
(review: CPT's code is 99417).
""",
    why="""
99417 has Medicare status I (not valid; G2212 is the Medicare code). Both prolonged codes
add time beyond a level-5 visit only: with 99204 or 99214 the prolonged line is denied, or
paid in error. G2212 (Medicare: from 89 minutes with 99205, 69 minutes with 99215) is a CMS
code that most commercial plans do not recognise.
""",
    example="99215 + 99417 to Medicare; or 99214 + G2212.",
    compliant=(
        "99215 + G2212 to Medicare when total time reached 69 minutes; 99215 + 99417 to a "
        "commercial plan."
    ),
    source=(
        "CMS PFS Relative Value File status I for 99417 (CY2022 January); CY2021 PFS final "
        "rule (85 FR 84472) creating G2212 and its time thresholds; CPT 2025 Professional "
        "Edition, 99417; secondary: AAPC, chirocode, icd10monitor."
    ),
    amount="""
99417 to Medicare: G2212 2025 fee x units (payable if rebilled correctly). Wrong level: the
prolonged line's 2025 fee x units (99417 has no Medicare fee: its charge, else the G2212 fee
as a proxy). G2212 to a commercial plan: the same.
""",
    limits="""
Total time is not in a charge export, so the 89/69-minute thresholds cannot be checked. A
prolonged code with no E/M at all is GEN-002's finding. Medicare Advantage and Medicaid
plans vary and are not judged on the code choice.
""",
)
def em_012(ctx: Context) -> pl.LazyFrame:
    g2212 = ctx.fee("G2212")
    lvl5 = (ctx.u("99205") + ctx.u("99215")) > 0
    pro = ctx.lines.filter(
        one_of("cpt", ["G2212", "99417"]) & NOT_SELF_PAY & (pl.col("dos") >= EM_2021)
    )
    day = ctx.days.join(pro.select(DAY_ID), on=DAY_ID, how="semi").select(
        DAY_ID,
        pl.col("has_em"),
        lvl5.alias("lvl5"),
        pl.col("lines")
        .list.eval(line_field("cpt").filter(line_field("is_em")))
        .list.join(" ")
        .alias("em_codes"),
    )
    pro = pro.join(day, on=DAY_ID, how="left")
    is_417_mcr = (pl.col("cpt") == "99417") & (pl.col("payer_class") == "medicare_ffs")
    wrong_lvl = pl.col("has_em").fill_null(False) & ~pl.col("lvl5").fill_null(False)
    g_comm = (pl.col("cpt") == "G2212") & (pl.col("payer_class") == "commercial")
    hit = pro.filter(is_417_mcr | wrong_lvl | g_comm)
    other_amt = pl.coalesce(
        pl.col("fee") * pl.col("units"), pl.col("charge"), pl.col("units") * g2212
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=msg(
            pl.col("cpt"), pl.when(pl.col("em_codes") != "").then(msg(" with ", pl.col("em_codes")))
        ),
        message=pl.when(is_417_mcr)
        .then(
            msg(
                "99417 billed to Medicare, which does not recognise it (status I); Medicare's "
                "prolonged-visit code is G2212",
                pl.when(wrong_lvl).then(
                    msg(", and the day's E/M is ", pl.col("em_codes"), " not 99205/99215")
                ),
            )
        )
        .when(wrong_lvl)
        .then(
            msg(
                pl.col("cpt"),
                " (prolonged visit) billed with ",
                pl.col("em_codes"),
                "; prolonged time is added only to 99205 or 99215",
            )
        )
        .otherwise(
            msg(
                "G2212 (a Medicare-only prolonged-visit code) billed to a commercial plan, which "
                "usually expects CPT 99417",
            )
        ),
        suggestion=pl.when(is_417_mcr & ~wrong_lvl)
        .then(
            msg(
                "replace 99417 with G2212 (only when total time reached 89 min with 99205 "
                "or 69 min with 99215)"
            )
        )
        .when(wrong_lvl)
        .then(
            msg(
                "remove ",
                pl.col("cpt"),
                ", or bill the level-5 visit (99205/99215) if total time supports it and add "
                "the prolonged code beyond that",
                pl.when(pl.col("payer_class") == "medicare_ffs").then(
                    pl.lit(" (for Medicare: G2212, not 99417)")
                ),
            )
        )
        .otherwise(msg("check the plan's policy; bill 99417 instead of G2212 if it follows CPT")),
        amount=pl.when(is_417_mcr & ~wrong_lvl).then(pl.col("units") * g2212).otherwise(other_amt),
        severity=pl.when(is_417_mcr | wrong_lvl).then(pl.lit("denial")).otherwise(pl.lit("review")),
        money=pl.when(is_417_mcr & ~wrong_lvl).then(pl.lit("under")).otherwise(pl.lit("either")),
    )


# ---- EM-013 ---------------------------------------------------------------------------------


@rule(
    "EM-013",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="G2211 (visit-complexity add-on) billed when it is not payable",
    severities={
        Severity.DENIAL: "G2211 is billed to Medicare FFS for a date before 2024-01-01 (never "
        "separately payable then)",
        Severity.REVIEW: "the payer is not Medicare FFS, or a preventive service and a 000/010 "
        "procedure are both on the day (the 2025 exception may apply)",
    },
    out_of_scope="Whether the visit was longitudinal care (not visible in charges); G2211 "
    "without an office E/M (GEN-002).",
    flags="""
G2211 with a date of service in 2021-2023 (bundled, never separately paid; before 2021 the
code did not exist, which is GEN-001's finding), or from 2024-01-01 on a day whose office
E/M carries modifier 25. From 2025-01-01 a 25-modified E/M
may carry G2211 when the same-day service is an annual wellness visit, vaccine administration
or another Part B preventive service (families em_preventive / vaccine_admin in
rulesets/codes_em.csv); dermatology procedures are not such services. If a preventive
service and a 000/010 procedure are both on the day, the finding is a review.
""",
    why="""
CMS made G2211 payable from 2024-01-01 (status B with no RVUs in 2021-2023) and does not pay
it when the E/M is reported with modifier 25, except from 2025 for the preventive-service
cases. G2211 on a procedure-day E/M-25 is denied, or paid in error.
""",
    example="99213-25 + G2211 + 17000 on 2025-03-04, Medicare.",
    compliant=(
        "99213-25 + 17000 (no G2211) on a procedure day; 99213 + G2211 at a longitudinal-care "
        "visit with no procedure."
    ),
    source=(
        "CMS PFS Relative Value Files CY2021-CY2025 (G2211 status B and no RVUs 2021-2023, "
        "payable from 2024); CY2024 PFS final rule (88 FR 78818, G2211 not payable with a "
        "modifier-25 E/M); CY2025 PFS final rule and CMS Transmittal 13015 (exception for "
        "annual wellness visits, vaccine administration and Part B preventive services); "
        "secondary: MDedge/Cutis 2024, edgemed."
    ),
    amount="""
From 2024: the G2211 2025 national fee x units (paid in error or denied). Before 2024 no
payment was ever due: the line's charge (empty when the export has no charge).
""",
    limits="""
Medicare rules: other payers' findings are reviews (commercial plans may not use G2211 at
all). Whether a visit is truly longitudinal care cannot be seen in charges. The preventive
code list in codes_em.csv is general HCPCS knowledge (U).
""",
)
def em_013(ctx: Context) -> pl.LazyFrame:
    e25 = line_field("is_em") & line_field("m25")
    g = ctx.lines.filter((pl.col("cpt") == "G2211") & NOT_SELF_PAY)
    day = ctx.days.join(g.select(DAY_ID), on=DAY_ID, how="semi").select(
        DAY_ID,
        pl.col("lines").list.eval(e25).list.any().fill_null(False).alias("em25"),
        pl.col("lines").list.eval(line_field("cpt").filter(e25)).list.join(" ").alias("em25_codes"),
        rows_where(e25).alias("em25_rows"),
        pl.col("lines")
        .list.eval(line_field("family").is_in(PREVENTIVE_FAMILIES))
        .list.any()
        .fill_null(False)
        .alias("prev"),
        pl.col("has_minor"),
    )
    g = g.join(day, on=DAY_ID, how="left")
    early = (pl.col("dos") < G2211_PAYABLE) & (pl.col("dos") >= EM_2021)
    exc = (pl.col("dos") >= G2211_PREVENTIVE_EXCEPTION) & pl.col("prev").fill_null(False)
    with25 = (
        ~early & pl.col("em25").fill_null(False) & ~(exc & ~pl.col("has_minor").fill_null(False))
    )
    medicare = pl.col("payer_class") == "medicare_ffs"
    hit = g.filter(early | with25)
    return emit(
        hit,
        rows=pl.when(early)
        .then(line_rows())
        .otherwise(pl.concat_list(pl.col("_row"), pl.col("em25_rows")).list.unique().list.sort()),
        codes=pl.when(early)
        .then(pl.lit("G2211"))
        .otherwise(msg(pl.col("em25_codes"), "-25 + G2211")),
        message=pl.when(early)
        .then(
            msg(
                "G2211 billed for ",
                pl.col("dos"),
                ": it was not payable before 2024-01-01 (bundled, no payment)",
            )
        )
        .otherwise(
            msg(
                "G2211 billed with ",
                pl.col("em25_codes"),
                "-25: G2211 is not paid with a modifier-25 E/M",
                pl.when(exc).then(
                    pl.lit(
                        " unless the 25 is for a same-day preventive service "
                        "(a 000/010 procedure is also on this day)"
                    )
                ),
                pl.when(pl.col("dos") < G2211_PREVENTIVE_EXCEPTION).then(
                    pl.lit(" (2024 rule, no exceptions)")
                ),
            )
        ),
        suggestion=pl.when(early)
        .then(msg("remove G2211 from claims with dates of service before 2024-01-01"))
        .otherwise(
            msg(
                "remove G2211 from the procedure-day visit (keep ",
                pl.col("em25_codes"),
                "-25 and the procedure)",
            )
        ),
        amount=pl.when(early).then(pl.col("charge")).otherwise(pl.col("fee") * pl.col("units")),
        severity=pl.when(early & medicare)
        .then(pl.lit("denial"))
        .when(medicare & ~(exc & pl.col("has_minor").fill_null(False)))
        .then(pl.lit("compliance"))
        .otherwise(pl.lit("review")),
    )


# Re-exported for the modifier and global-surgery modules.
__all__ = [
    "NOT_SELF_PAY",
    "PROC_GLOBALS",
    "day_procedures",
    "em_type",
    "fee_of",
    "is_procedure",
    "line_amount",
    "pct",
    "same_file_rows",
]
