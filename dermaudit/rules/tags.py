"""Skin tags (acrochordons): 11200 first 15 tags, +11201 each further block of up to 10.

Skin tags are reported with 11200/11201 whatever the removal method (scissors, blade,
ligature, chemical or electrical destruction); 17110/17111 exclude them (CPT Assistant 2007
as quoted by AAPC). Medicare coverage of tag removal is COS-003.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..features import DAY_ID, day_key_first
from ..model import Confidence, Money, Severity
from .base import Context, all_dx_in, emit, has_dx, msg, one_of, rows_of, rule
from .biopsy import code_units, compare_text, join_plus, money_dir

# 17110/17111 became benign-lesion-only codes (tags moved to 11200/11201) on 2007-01-01.
BENIGN_ONLY_FROM = date(2007, 1, 1)


def addon_blocks(tags: pl.Expr) -> pl.Expr:
    """11201 units for a tag count: one per block of up to 10 tags beyond the first 15."""
    return ((tags - 15).clip(lower_bound=0) / 10).ceil().cast(pl.Int64)


def tag_only_dx(ctx: Context) -> pl.Expr:
    """The line's diagnoses are skin tags (L91.8) plus, at most, symptoms/status codes."""
    tags = ctx.ref.dx_prefixes("SKIN_TAG")
    allowed = [*tags, *ctx.ref.dx_prefixes("SYMPTOM_SUPPORT"), "R", "Z"]
    return has_dx(tags) & all_dx_in(allowed)


@rule(
    "TAG-001",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Skin-tag removal units do not follow the 15 + 10 block structure",
    codes=("11200", "11201"),
    out_of_scope="Skin tags destroyed but coded 17110/17111 (TAG-002); 11201 without 11200 "
    "(GEN-002).",
    flags="""
On one day for the same patient and rendering provider: 11200 billed more than one unit
(it covers the first 15 tags), or - when the export has a lesion count - 11201 units that
differ from one unit per further block of up to 10 tags.
""",
    why="""
11200 is reported once for up to 15 tags and 11201 once per further 10 tags or part of
10. 11200 x2 pays a second first-15 block at the full primary rate; a wrong 11201 count
over- or under-bills the add-on.
""",
    example="11200 x3 for 30 tags; or 11200 + 11201 for 12 tags.",
    compliant="30 tags: 11200 x1 + 11201 x2. 12 tags: 11200 x1 alone.",
    source=(
        "CPT 2025 Professional Edition, 11200/11201 descriptors (first 15 tags; each further "
        "10 or part thereof), also in the CMS PFS Relative Value File short descriptors; the "
        "descriptor wording was not read verbatim, so the rule is a review (U)."
    ),
    amount="""
2025 national non-facility fees, billed minus compliant. With a lesion count: compliant =
11200 + 11201 x ceil((tags - 15) / 10). Without one, 11200 x N is priced against the most
favourable reading (each unit stood for 15 tags), so the amount is a lower bound.
""",
    limits="""
Confidence U: the exact descriptor wording was not verified, so this asks for a review. A
lesion count is read from the 11200/11201 lines. It is read as the encounter total (the
largest count on the lines) and, when every line's count fits its own code (11200 up to 15,
11201 up to 10 per unit), also as per-line counts to add up; the reading closest to the
billing is used.
11201 without 11200 is reported by GEN-002 (add-on without primary).
""",
)
def tag_001(ctx: Context) -> pl.LazyFrame:
    u200, u201 = ctx.u("11200"), ctx.u("11201")
    f200, f201 = ctx.fee("11200"), ctx.fee("11201")
    cap = pl.when(pl.col("cpt") == "11200").then(15).otherwise(10)
    counts = (
        ctx.lines.filter(one_of("cpt", ["11200", "11201"]))
        .group_by(DAY_ID)
        .agg(
            pl.col("lesion_count").max().alias("n_max"),
            pl.col("lesion_count").sum().alias("n_sum"),
            pl.col("lesion_count").is_not_null().any().alias("n_known"),
            # per-line reading is plausible only if every line has a count within its own
            # code's capacity (11200: 15 per unit, 11201: 10 per unit) and there are 2+ lines
            (
                (pl.col("lesion_count") <= pl.col("units") * cap).fill_null(False).all()
                & (pl.len() > 1)
            ).alias("per_line_ok"),
        )
    )
    d = ctx.days.filter(u200 >= 1).join(counts, on=DAY_ID, how="left")
    known = pl.col("n_known").fill_null(False)
    e_max = addon_blocks(pl.col("n_max"))
    e_sum = pl.when(pl.col("per_line_ok")).then(addon_blocks(pl.col("n_sum"))).otherwise(e_max)
    use_max = (e_max - u201).abs() <= (e_sum - u201).abs()
    mismatch = known & (u201 != e_max) & (u201 != e_sum)
    d = d.filter((u200 > 1) | mismatch.fill_null(False)).with_columns(
        pl.when(use_max | ~pl.col("per_line_ok"))
        .then(pl.col("n_max"))
        .otherwise(pl.col("n_sum"))
        .alias("tags"),
        pl.when(known)
        .then(pl.when(use_max).then(e_max).otherwise(e_sum))
        .otherwise(u201 + ((u200 - 1) * 15 / 10).ceil().cast(pl.Int64))
        .alias("k_fix"),
        join_plus([code_units("11200", u200), code_units("11201", u201)]).alias("billed_s"),
        (u200 * f200 + u201 * f201).alias("billed_amt"),
    )
    k = pl.col("k_fix")
    fix_amt = f200 + k * f201
    fix_s = join_plus([pl.lit("11200 x1"), code_units("11201", k)])
    billed_s, billed_amt = pl.col("billed_s"), pl.col("billed_amt")
    return emit(
        d,
        rows=rows_of("11200", "11201"),
        codes=billed_s,
        message=pl.when(known)
        .then(
            msg(
                billed_s,
                " billed for ",
                pl.col("tags"),
                " skin tags; 11200 covers the first 15 tags and 11201 each further block of up "
                "to 10",
            )
        )
        .otherwise(
            msg(
                "11200 billed ",
                u200,
                " units on one day; it is reported once (it covers up to 15 tags) and further "
                "tags with 11201",
            )
        ),
        suggestion=pl.when(known)
        .then(
            msg(
                "bill ",
                fix_s,
                " for ",
                pl.col("tags"),
                " tags instead of ",
                billed_s,
                " ",
                compare_text(billed_amt, fix_amt),
            )
        )
        .otherwise(
            msg(
                "bill 11200 x1 + 11201 x1 per further 10 tags (or part); even if every unit "
                "stood for 15 tags that is at most ",
                fix_s,
                " instead of ",
                billed_s,
                " ",
                compare_text(billed_amt, fix_amt),
            )
        ),
        amount=(billed_amt - fix_amt).abs(),
        money=money_dir(billed_amt, fix_amt),
    )


@rule(
    "TAG-002",
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Skin tags coded as benign-lesion destruction",
    level="line",
    scope=("destruction_benign",),  # the flagged 17110/17111 line is one
    severities={
        Severity.DENIAL: "11200/11201 for the tag count pay the same or more than the billed "
        "17110/17111 (payers applying the CPT exclusion deny the line)",
    },
    out_of_scope="17110/17111 lines with any other lesion diagnosis; dates before 2007.",
    flags="""
17110 or 17111 (DOS from 2007-01-01) whose only lesion diagnosis is L91.8 (acrochordon /
skin tag); symptom (R, L29, L08.9) and status (Z) codes may accompany it.
""",
    why="""
Since 2007 the benign-destruction codes 17110/17111 exclude skin tags: tag removal by any
method, destruction included, is reported with 11200/11201. 17110 pays more than 11200
($109.98 vs $90.25 in 2025), so the wrong code overbills; payers that apply the CPT
exclusion deny it.
""",
    example="17110 with L91.8 only (skin tags destroyed by electrodesiccation).",
    compliant="11200 (up to 15 tags) + 11201 per further 10 tags.",
    source=(
        "CPT 2025 Professional Edition, 17110/17111 descriptor (benign lesions other than "
        "skin tags) and 11200/11201 (skin tags by any method); secondary: CPT Assistant 2007 "
        "as quoted by AAPC, claimmaxrcm; 2025 CMS PFS national non-facility amounts."
    ),
    amount="""
2025 national non-facility fees: billed (fee x units) minus 11200 + 11201 x
ceil((tags - 15) / 10). Without a lesion count, 17110 (1-14 lesions) compares with 11200
x1; 17111 (15+) compares with 11200 x1, the minimum, and its direction is 'either'.
""",
    limits="""
Uses the line's own diagnoses; a line with any other lesion diagnosis (wart, seborrheic
keratosis, nevus...) is not flagged. L91.8 also covers other hypertrophic skin disorders,
rarely destroyed in dermatology.
""",
)
def tag_002(ctx: Context) -> pl.LazyFrame:
    f200, f201 = ctx.fee("11200"), ctx.fee("11201")
    hit = (
        ctx.lines.filter(one_of("cpt", ["17110", "17111"]) & (pl.col("dos") >= BENIGN_ONLY_FROM))
        # the list work on those lines only (a column, so the filters are not merged)
        .with_columns(tag_only_dx(ctx).alias("tag_only"))
        .filter(pl.col("tag_only"))
        .with_columns(addon_blocks(pl.col("lesion_count")).fill_null(0).alias("k"))
    )
    k = pl.col("k")
    billed = pl.col("fee") * pl.col("units")
    fix = f200 + k * f201
    unknown_big = pl.col("lesion_count").is_null() & (pl.col("cpt") == "17111")
    money = pl.when(unknown_big).then(pl.lit("either")).otherwise(money_dir(billed, fix))
    return emit(
        hit,
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            code_units(pl.col("cpt"), pl.col("units")),
            " (benign-lesion destruction) billed with skin-tag diagnosis L91.8 only",
            pl.when(pl.col("lesion_count").is_not_null()).then(
                msg(" (", pl.col("lesion_count"), " lesions)")
            ),
            "; skin tags are reported with 11200/11201 whatever the method",
        ),
        suggestion=msg(
            "bill ",
            join_plus([pl.lit("11200"), code_units("11201", k)]),
            pl.when(unknown_big).then(pl.lit(" (+ 11201 per further 10 tags beyond 15)")),
            " instead of ",
            code_units(pl.col("cpt"), pl.col("units")),
            " ",
            compare_text(billed, fix),
        ),
        amount=(billed - fix).abs(),
        severity=pl.when(money == "over").then(pl.lit("compliance")).otherwise(pl.lit("denial")),
        money=money,
    )


@rule(
    "TAG-003",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Skin-tag removal with a destruction code on the same day, no modifier",
    severities={
        Severity.REVIEW: "the destruction code is 17110 only: the 17110/11200 pair is not in the "
        "shipped pair table (unverified)",
    },
    out_of_scope="Self-pay lines; days whose 17110 lines are themselves skin tags (TAG-002); "
    "payers whose current edit table lacks the pair.",
    flags="""
11200 on the same day, patient and rendering provider as 17000 or 17110 (DOS from
2007-01-01), when none of the tag and destruction lines carries 59, an X{EPSU} modifier or
an anatomic modifier. Days whose 17110 lines are themselves skin tags (TAG-002) are left to
TAG-002.
""",
    why="""
NCCI has paired 17000 (column 1) with 11200 (column 2) as mutually exclusive; both are payable
for different lesions only with a distinct-procedure modifier. Without it the tag removal is
denied, which loses revenue when the lesions really were different.
""",
    example="11200 (12 skin tags) + 17000 + 17003 x3 (AKs), no modifiers.",
    compliant="11200-XS (or 59) + 17000 + 17003 x3, with the tags and the AK sites documented.",
    source=(
        "CMS NCCI practitioner PTP edits (17000 column 1 / 11200 column 2, modifier indicator"
        " 1, as listed in the shipped ncci_pairs.csv from an older NCCI version - verify "
        "against the current quarterly file); NCCI Policy Manual for Medicare Services ch. I "
        "(mutually exclusive procedures); secondary: AAPC Primary Care Alert. The 17110/11200"
        " pair is not verified."
    ),
    amount="""
2025 national non-facility fee x units of 11200: the column-2 code for 17000, and the
lower-paid code of the 17110 pair (column order not verified).
""",
    limits="""
The 17000/11200 pair comes from an older NCCI version and the 17110/11200 pair is not
verified: a payer whose current edit table lacks the pair pays both without a modifier.
Self-pay lines are left out (a cosmetic tag removal paid by the patient next to a covered AK
destruction needs no modifier).
""",
)
def tag_003(ctx: Context) -> pl.LazyFrame:
    mods = [*ctx.ref.modifiers_of("distinct"), *ctx.ref.modifiers_of("anatomic")]
    dest_primary = one_of("cpt", ["17000", "17110"])
    # only the days with 11200 can fire: keep their lines before the list and group work
    tag_days = ctx.lines.filter(pl.col("cpt") == "11200").select(DAY_ID)
    lines = (
        ctx.lines.filter(
            one_of("cpt", ["11200", "11201", "17000", "17003", "17110"])
            & (pl.col("dos") >= BENIGN_ONLY_FROM)
            # self-pay lines (e.g. cosmetic tag removal) are on no payer's claim: no edit applies
            & (pl.col("payer_class").fill_null("unknown") != "self_pay")
        )
        .join(tag_days, on=DAY_ID, how="semi")
        .with_columns(
            pl.col("mods")
            .list.eval(pl.element().is_in(mods))
            .list.any()
            .fill_null(False)
            .alias("m"),
            (dest_primary & ~((pl.col("cpt") == "17110") & tag_only_dx(ctx))).alias("real_dest"),
        )
    )
    g = (
        lines.group_by(DAY_ID)
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row").sort().alias("r"),
            pl.col("units").filter(pl.col("cpt") == "11200").sum().alias("u200"),
            pl.col("real_dest").any(),
            pl.col("cpt")
            .filter(dest_primary)
            .unique(maintain_order=True)
            .sort()
            .str.join(" + ")
            .alias("dest"),
            pl.col("m").any().alias("any_mod"),
        )
        .filter((pl.col("u200") > 0) & pl.col("real_dest") & ~pl.col("any_mod"))
    )
    return emit(
        g,
        rows=pl.col("r"),
        codes=msg("11200 + ", pl.col("dest")),
        message=msg(
            "11200 (skin tags) billed with ",
            pl.col("dest"),
            " on the same day and no line carries 59/XS or an anatomic modifier; NCCI has "
            "treated these as mutually exclusive",
        ),
        suggestion=msg(
            "if the skin tags and the lesions destroyed with ",
            pl.col("dest"),
            " were different lesions, append XS (or 59) to 11200 and document both sites; if "
            "tags were destroyed, bill them only as 11200/11201",
        ),
        amount=pl.col("u200") * ctx.fee("11200"),
    )
