"""Global surgery package (GLOB): visits and procedures inside a post-operative period.

Global days come from ``rulesets/codes.csv`` (CMS PFS RVU file): 010 = 10 post-operative
days, 090 = 90 post-operative days (plus the day before). Day 0 (the procedure day) belongs to
EM-001/EM-005. GLOB-003 (expected post-op visits billed as 99024) is not a separate rule: a
paid E/M in the window is GLOB-001's finding, and 99024 lines are never flagged.

The look-back uses ``join_asof`` per (patient, provider): the latest earlier 010 procedure
and, separately, the latest earlier 090 procedure; if the latest one is outside its window,
every earlier one is too.
"""

from __future__ import annotations

import polars as pl

from ..features import DAY_ID, DAY_KEY
from ..model import Confidence, Money, Severity
from .base import Context, dx_related, emit, msg, rule
from .em import NOT_SELF_PAY, em_type, is_procedure, line_amount, same_file_rows

CMS_GLOBAL = (
    "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §40.1 (components of the global "
    "surgical package; services not included: visits unrelated to the diagnosis of the "
    "surgery, treatment of the underlying condition) and §40.2.A (billing requirements: "
    "modifiers 24, 58, 78, 79); global days 000/010/090/ZZZ/XXX as defined in the record layout "
    "of the CMS PFS Relative Value File"
)


def _proc_days(ctx: Context, gdays: str) -> pl.LazyFrame:
    """The same-day keys (and ``day_id``) of the days with a procedure of global ``gdays``
    (computed once per scan: GLOB-001 and GLOB-002 both look back to them)."""
    return ctx.shared(
        f"days with a {gdays}-day global procedure",
        lambda c: (
            c.lines.filter((pl.col("global_days") == gdays).fill_null(False))
            .select(DAY_ID, *DAY_KEY)
            .unique(DAY_ID)
            .sort("dos")
        ),
    )


def _prior(ctx: Context, left: pl.LazyFrame, gdays: str) -> pl.LazyFrame:
    """Attach to each day of ``left`` the latest earlier procedure day with global ``gdays``
    (same patient + provider): its ``day_id`` (``g{gdays}``) and date (``d{gdays}``), both
    null when it is outside the post-op window."""
    days = 10 if gdays == "010" else 90
    right = (
        _proc_days(ctx, gdays)
        .select(
            "patient_id",
            "provider",
            "dos",
            pl.col(DAY_ID).alias(f"g{gdays}"),
            pl.col("dos").alias(f"d{gdays}"),
        )
        .sort("dos")
    )
    j = left.sort("dos").join_asof(
        right,
        on="dos",
        by=["patient_id", "provider"],
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    inside = (pl.col("dos") - pl.col(f"d{gdays}")).dt.total_days() <= days
    return j.with_columns(
        pl.when(inside).then(pl.col(f"d{gdays}")).otherwise(None).alias(f"d{gdays}"),
        pl.when(inside).then(pl.col(f"g{gdays}")).otherwise(None).alias(f"g{gdays}"),
    )


def _in_global(ctx: Context, left: pl.LazyFrame) -> pl.LazyFrame:
    """Lines inside a 010 or 090 post-op period, with the opening procedure (090 preferred)."""
    # The look-back runs on the lines' days (keys only); the opening procedure's file, rows and
    # codes are then gathered for the few days inside a window.
    days = left.select(DAY_ID, *DAY_KEY).unique(DAY_ID)
    j = _prior(ctx, _prior(ctx, days, "090"), "010")
    use90 = pl.col("d090").is_not_null()
    hits = j.filter(use90 | pl.col("d010").is_not_null()).select(
        DAY_ID,
        pl.when(use90).then(pl.col("g090")).otherwise(pl.col("g010")).alias("g_id"),
        pl.when(use90).then(pl.lit("090")).otherwise(pl.lit("010")).alias("g_global"),
        pl.when(use90).then(pl.col("d090")).otherwise(pl.col("d010")).alias("g_dos"),
        pl.when(use90).then(pl.lit(90)).otherwise(pl.lit(10)).alias("g_len"),
    )
    opening = (
        ctx.lines.join(
            hits.select(pl.col("g_id").alias(DAY_ID), pl.col("g_global").alias("global_days")),
            on=[DAY_ID, "global_days"],
            how="semi",
        )
        .sort("_file", "_row")
        .group_by(DAY_ID, "global_days")
        .agg(
            pl.col("_file").first().alias("g_file"),
            pl.col("_row").filter(pl.col("_file") == pl.col("_file").first()).alias("g_rows"),
            pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("g_codes"),
            pl.col("dx")
            .explode(keep_nulls=False, empty_as_null=False)
            .unique(maintain_order=True)
            .alias("g_dx"),
        )
        .rename({DAY_ID: "g_id", "global_days": "g_global"})
    )
    return (
        left.join(hits, on=DAY_ID, how="inner")
        .join(opening, on=["g_id", "g_global"], how="left")
        .with_columns((pl.col("dos") - pl.col("g_dos")).dt.total_days().alias("g_day"))
    )


def _in_global_message(missing: str) -> pl.Expr:
    """'<code> on <dos> is day N of the M-day global period of <codes> (<dos>) ...'"""
    return msg(
        pl.col("cpt"),
        " on ",
        pl.col("dos"),
        " is day ",
        pl.col("g_day"),
        " of the ",
        pl.col("g_len"),
        "-day global period of ",
        pl.col("g_codes"),
        " (",
        pl.col("g_dos"),
        f") by the same provider, without {missing}",
    )


@rule(
    "GLOB-001",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.P,
    money=Money.OVER,
    level="history",
    title="Office E/M inside a post-operative period without modifier 24",
    severities={
        Severity.DENIAL: "the visit's diagnoses share no ICD-10-CM category with the surgery's: "
        "an unrelated visit is payable, but only with 24 (without it, a denial and revenue left "
        "uncollected - money under)",
    },
    out_of_scope="Visits by other providers of the group; visits with 24 or 57 (MOD-006 "
    "checks 24 against the diagnoses); 99024 lines; the day of the procedure (EM-001/EM-005); "
    "self-pay lines.",
    flags="""
An office E/M (99202-99215) by the same rendering provider for the same patient on days 1-10
after a procedure with a 010 global period, or days 1-90 after a 090 procedure, without
modifier 24 (or 57). The visit's diagnoses are compared with the surgery's by ICD-10-CM
category:
  * same category (or a diagnosis missing on either side): the visit is post-operative care
    included in the global package - billing it is overbilling (compliance, money over);
  * no shared category: the visit treated an unrelated problem, which is payable only with
    modifier 24 - without it the claim is denied (denial, money under).
99024 (the no-charge post-op visit code) is never flagged.
""",
    why="""
Follow-up visits related to the surgery during the global period are paid as part of the
surgery; visits unrelated to the diagnosis for which the surgery was performed are not part of
the package and are billed with modifier 24. A related visit billed as a paid E/M is an
overpayment; an unrelated visit billed without 24 is denied. Note that 17000-17004,
17110/17111, benign and malignant excisions, intermediate/complex repairs and 11200 all have
10-day global periods.
""",
    example="11602 (C44.519) on 2025-03-04, then 99213 (C44.519) on 2025-03-10 (day 6); or "
    "99213 (L40.0, psoriasis) on day 6 without 24.",
    compliant=(
        "99024 for the wound check on 2025-03-10; 99213-24 for the psoriasis visit (an unrelated "
        "problem, documented)."
    ),
    source=CMS_GLOBAL + "; CMS PFS Relative Value File status B for 99024 (post-operative visit).",
    amount="2025 national non-facility fee of the E/M code: paid inside the global package "
    "(related, over) or denied without 24 (unrelated, under).",
    limits="""
Medicare treats physicians of the same group and specialty as one for the global package;
only the same rendering provider is checked here, so visits by a colleague are not flagged.
Diagnoses are compared by ICD-10-CM category: a complication coded in another category (e.g.
a wound infection, L08/T81) looks unrelated, and such visits are in fact part of the package
unless they need a return to the operating room - review those. Global days come from
rulesets/codes.csv. Self-pay lines are skipped. The look-back spans every file of the scan.
""",
)
def glob_001(ctx: Context) -> pl.LazyFrame:
    em = ctx.lines.filter(pl.col("is_em") & ~pl.col("m24") & ~pl.col("m57") & NOT_SELF_PAY)
    j = _in_global(ctx, em).with_columns(dx_related("dx", "g_dx").alias("rel"))
    unrelated = (pl.col("rel") == False).fill_null(False)  # noqa: E712 (null = unknown)
    related = pl.col("rel").fill_null(False)
    return emit(
        j,
        rows=same_file_rows("g_file", "g_rows"),
        codes=msg(pl.col("cpt"), " after ", pl.col("g_codes")),
        message=msg(
            _in_global_message("modifier 24"),
            pl.when(unrelated)
            .then(
                msg(
                    "; its diagnoses (",
                    pl.col("dx").list.join(" "),
                    ") are unrelated to the surgery's (",
                    pl.col("g_dx").list.join(" "),
                    "), so it is payable only with 24",
                )
            )
            .when(related)
            .then(
                msg(
                    "; it treats the surgery's condition (",
                    pl.col("dx").list.join(" "),
                    "), so it is part of the global package",
                )
            ),
        ),
        suggestion=pl.when(unrelated)
        .then(
            msg(
                "append 24 to ",
                pl.col("cpt"),
                " (unrelated problem, documented in the note) so it is paid",
            )
        )
        .when(related)
        .then(
            msg(
                "do not bill ",
                pl.col("cpt"),
                "; report the post-operative visit as 99024 (no charge)",
            )
        )
        .otherwise(
            msg(
                "bill 99024 (no charge) instead of ",
                pl.col("cpt"),
                " if the visit was post-operative follow-up; append 24 only if it treated an "
                "unrelated problem (documented)",
            )
        ),
        amount=pl.col("fee"),
        severity=pl.when(unrelated).then(pl.lit("denial")).otherwise(pl.lit("compliance")),
        money=pl.when(unrelated).then(pl.lit("under")).otherwise(pl.lit("over")),
    )


@rule(
    "GLOB-002",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.EITHER,
    level="history",
    title="Procedure inside a post-operative period without 58, 78 or 79",
    out_of_scope="Procedures by other providers of the group; add-on and E/M codes; which of "
    "58/78/79 fits (the suggestion names all three); self-pay lines.",
    flags="""
A procedure (000/010/090 global, not an add-on or E/M) by the same rendering provider for the
same patient on days 1-10 after a 010 procedure or days 1-90 after a 090 procedure, without
58, 78 or 79.
""",
    why="""
A procedure during another procedure's post-operative period is denied as part of the first
surgery's package unless a modifier says why it is separate: 58 staged or more extensive
(e.g. re-excision for margins), 78 unplanned return for a complication, 79 unrelated
procedure (e.g. a new lesion).
""",
    example="11602 on 2025-03-04, then 17000 on 2025-03-12 (day 8) for a new AK, no modifier.",
    compliant="17000-79 on 2025-03-12 (unrelated lesion); 11602-58 for a planned re-excision.",
    source=CMS_GLOBAL + "; CPT 2025 Professional Edition appendix A (modifiers 58, 78, 79).",
    amount=(
        "2025 national fee x units of the procedure line (the charge when the code has no fee): "
        "the line at risk of denial."
    ),
    limits="""
Confidence U: payer use of 58/78/79 varies, and some payers do not apply global rules to
every procedure. Same rendering provider only (group colleagues are not checked). Self-pay
lines are skipped. EXC-007 looks at re-excisions specifically.
""",
)
def glob_002(ctx: Context) -> pl.LazyFrame:
    procs = ctx.lines.filter(
        is_procedure()
        & ~em_type()
        & ~pl.col("m_global")
        & NOT_SELF_PAY
        & (pl.col("kind") != "addon").fill_null(True)
    )
    j = _in_global(ctx, procs)
    return emit(
        j,
        rows=same_file_rows("g_file", "g_rows"),
        codes=msg(pl.col("cpt"), " after ", pl.col("g_codes")),
        message=_in_global_message("58, 78 or 79"),
        suggestion=msg(
            "append 79 to ",
            pl.col("cpt"),
            " if unrelated to ",
            pl.col("g_codes"),
            " (e.g. a different lesion), 58 if staged or more extensive (e.g. re-excision), 78 "
            "if an unplanned return for a complication",
        ),
        amount=line_amount(),
    )
