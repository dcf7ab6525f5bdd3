"""Shave removal 11300-11313.

Codes by location group (A trunk/arms/legs 11300-11303; B scalp/neck/hands/feet/genitalia
11305-11308; C face/ears/eyelids/nose/lips/mucous membrane 11310-11313) and by lesion
diameter (no margins): <=0.5, 0.6-1.0, 1.1-2.0, >2.0 cm. Groups and bands are read from
rulesets/codes.csv; the site text is mapped to a group by rulesets/sites.csv.

SHV-003 (shave plus biopsy or destruction of the same lesion) is not a separate rule: the
biopsy pairs are BX-003, destruction pairs belong to the DEST rules.
"""

from __future__ import annotations

import polars as pl

from ..features import DAY_ID, DAY_KEY
from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, one_of, rule
from .biopsy import compare_text, money_dir, norm_site

GROUP_LABEL = {
    "A": "trunk/arms/legs",
    "B": "scalp/neck/hands/feet/genitalia",
    "C": "face/ears/eyelids/nose/lips/mucous membrane",
}
TOL_CM = 0.05  # half a millimetre either side of a band edge is not judged


def _band_label(lo: float | None, hi: float | None) -> str:
    if lo is None and hi is not None:
        return f"<={hi:.1f} cm"
    if hi is None and lo is not None:
        return f">{lo - 0.1:.1f} cm"
    return f"{lo:.1f}-{hi:.1f} cm"


def shave_table(ctx: Context) -> pl.DataFrame:
    """Shave codes with group, band and 2025 fee, plus readable labels."""
    df = ctx.ref.codes.filter(pl.col("family") == "shave").select(
        pl.col("code"),
        pl.col("site_group").alias("grp"),
        pl.col("size_min_cm").alias("lo"),
        pl.col("size_max_cm").alias("hi"),
        pl.col("fee_2025").alias("x_fee"),
    )
    labels = [
        f"group {g} {GROUP_LABEL.get(g, '')}, {_band_label(lo, hi)}".replace("  ", " ")
        for g, lo, hi in zip(df["grp"], df["lo"], df["hi"], strict=True)
    ]
    return df.with_columns(pl.Series("label", labels, dtype=pl.String))


@rule(
    "SHV-001",
    scope=("shave",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Shave-removal code does not match the site group or lesion size",
    level="line",
    requires=("site", "lesion_size_cm"),
    severities={
        Severity.REVENUE: "the code for the documented site and size pays more than the billed one",
    },
    out_of_scope="Lines without a site word in rulesets/sites.csv or without a size; exports "
    "whose size column is the excised diameter.",
    flags="""
A shave-removal line (11300-11313) whose code's location group differs from the group of the
site text, or whose size band does not contain the lesion diameter (with half a millimetre of
tolerance at band edges). Lines with an unknown site text or no size are skipped.
""",
    why="""
Shave codes are priced by location group and lesion diameter. A higher band or a face code
for a trunk lesion is paid more than the service supports (overpayment); a lower band or a
trunk code for a face lesion leaves revenue uncollected. Payers compare the code with the
diagnosis site and the documented size.
""",
    example="11306 (scalp/neck/hands/feet, 0.6-1.0 cm) for a 0.4 cm lesion on the back.",
    compliant="11300 (trunk/arms/legs, <=0.5 cm) for a 0.4 cm lesion on the back.",
    source=(
        "CPT 2025 Professional Edition shave-removal code family by location group and lesion"
        " diameter (11300-11313; group and band membership also in the CMS PFS Relative Value"
        " File short descriptors); secondary: AAPC, AAD ('diameter without margins'); site "
        "keywords: rulesets/sites.csv."
    ),
    amount="(billed code fee - fee of the code for the site and size) x units, 2025 national.",
    limits="""
The size column must hold the lesion diameter: an export that stores the excised diameter
(lesion plus margins) makes shaves look under-banded. The site-to-group mapping is dermaudit's
keyword table (sites.csv, S); add your EHR's site words there. Sizes are rounded to 0.1 cm for
the suggested code.
""",
)
def shv_001(ctx: Context) -> pl.LazyFrame:
    table = shave_table(ctx)
    size = pl.col("lesion_size_cm")
    lines = ctx.lines.filter(
        one_of("cpt", table["code"].to_list())
        & pl.col("site_group").is_not_null()
        & (size > 0).fill_null(False)
    )
    fits = (
        (pl.col("code_site_group") == pl.col("site_group"))
        & (size >= pl.col("size_min_cm").fill_null(0.0) - TOL_CM - 1e-9)
        & (size <= pl.col("size_max_cm").fill_null(1e9) + TOL_CM + 1e-9)
    ).fill_null(False)
    bad = lines.filter(~fits).with_columns((((size * 10) + 0.5).floor() / 10).alias("size_r"))
    expected = (
        bad.join(table.lazy(), left_on="site_group", right_on="grp", how="inner")
        .filter(
            (pl.col("size_r") >= pl.col("lo").fill_null(0.0) - 1e-9)
            & (pl.col("size_r") <= pl.col("hi").fill_null(1e9) + 1e-9)
        )
        .rename({"code": "x_code", "label": "x_label"})
    )
    billed_label = table.lazy().select(
        pl.col("code").alias("cpt"), pl.col("label").alias("b_label")
    )
    j = expected.join(billed_label, on="cpt", how="left")
    billed = pl.col("fee") * pl.col("units")
    fix = pl.col("x_fee") * pl.col("units")
    money = money_dir(billed, fix)
    return emit(
        j,
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " (shave, ",
            pl.col("b_label"),
            ") billed for a ",
            size,
            " cm lesion at '",
            pl.col("site"),
            "', which codes as ",
            pl.col("x_code"),
            " (",
            pl.col("x_label"),
            ")",
        ),
        suggestion=msg(
            "bill ", pl.col("x_code"), " instead of ", pl.col("cpt"), " ", compare_text(billed, fix)
        ),
        amount=(billed - fix).abs(),
        severity=pl.when(money == "under").then(pl.lit("revenue")).otherwise(pl.lit("compliance")),
        money=money,
    )


# Families that cannot leave a wound needing closure (used when sites cannot be compared).
NO_WOUND_FAMILIES = (
    "shave",
    "repair_simple",
    "em_office",
    "em_addon",
    "em_other",
    "em_consult",
    "pathology",
    "drug",
    "injection",
    "phototherapy",
    "pdt",
)


@rule(
    "SHV-002",
    scope=("repair_simple",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Simple repair billed with a shave removal of the same lesion",
    level="line",
    out_of_scope="Repairs with an injury diagnosis (lacerations); intermediate and complex "
    "repairs; full-thickness removals coded as shaves (a note review).",
    flags="""
A simple repair (12001-12018) on the same day, patient and rendering provider as a shave
removal (11300-11313), when the site column shows the same site for both, or - when the
export has no site (or a line's site is blank) - when the shave is the only procedure on the
day that could have left a wound to close. Repairs with an injury diagnosis (S/T codes, a
laceration) are never flagged.
""",
    why="""
A shave removal is a horizontal slice that does not need suture closure; a simple repair of
the shave wound is not separately reportable. If the wound was closed because the removal
went full thickness, the procedure was an excision (which includes simple closure), not a
shave.
""",
    example="11305 (scalp) + 12001 (simple repair), both at 'scalp'.",
    compliant="11305 alone; for a full-thickness removal, the excision code (114xx/116xx) alone.",
    source=(
        "CPT 2025 Professional Edition shave-removal guidelines (horizontal slicing without a"
        " full-thickness excision; no suture closure) and the surgical package (simple repair"
        " included); not read verbatim, so the rule is a review (U)."
    ),
    amount="2025 national non-facility fee x units of the repair line.",
    limits="""
Confidence U: review only. Without a site column the rule decides conservatively: it flags
only a day whose other procedures cannot leave a wound (E/M, pathology, injections,
phototherapy); any biopsy, excision, destruction, Mohs, flap or unlisted code on the day
clears it, because the repair may belong to that wound. Different sites clear it too.
""",
)
def shv_002(ctx: Context) -> pl.LazyFrame:
    injury = pl.col("dx").list.eval(pl.element().str.contains(r"^[ST]")).list.any().fill_null(False)
    other = (
        ctx.lines.filter(~one_of("family", NO_WOUND_FAMILIES))
        .select(DAY_ID)
        .unique()
        .with_columns(pl.lit(True).alias("other"))
    )
    shaves = ctx.lines.filter(pl.col("family") == "shave").select(
        DAY_ID,
        pl.col("_row").alias("s_row"),
        pl.col("cpt").alias("s_cpt"),
        norm_site().alias("s_site"),
    )
    reps = ctx.lines.filter((pl.col("family") == "repair_simple") & ~injury).with_columns(
        norm_site().alias("r_site")
    )
    p = (
        reps.join(shaves, on=DAY_ID, how="inner")
        .join(other, on=DAY_ID, how="left")
        .with_columns(pl.col("other").fill_null(False))
    )
    known = pl.col("r_site").is_not_null() & pl.col("s_site").is_not_null()
    same = (known & (pl.col("r_site") == pl.col("s_site"))).fill_null(False)
    ok = same | (~known & ~pl.col("other"))
    g = (
        p.filter(ok)
        .group_by("_file", "_row")
        .agg(
            *[
                pl.col(c).first()
                for c in ("claim_id", *DAY_KEY, "payer_class", "cpt", "units", "fee", "r_site")
            ],
            pl.col("s_row").sort().alias("s_rows"),
            pl.col("s_cpt").unique(maintain_order=True).sort().str.join(" + ").alias("s_cpts"),
            same.any().alias("by_site"),
        )
    )
    return emit(
        g,
        rows=pl.concat_list(pl.col("_row"), pl.col("s_rows")).list.sort(),
        codes=msg(pl.col("s_cpts"), " + ", pl.col("cpt")),
        message=pl.when(pl.col("by_site"))
        .then(
            msg(
                pl.col("cpt"),
                " (simple repair) billed with shave removal ",
                pl.col("s_cpts"),
                " at the same site ('",
                pl.col("r_site"),
                "')",
            )
        )
        .otherwise(
            msg(
                pl.col("cpt"),
                " (simple repair) billed on the same day as shave removal ",
                pl.col("s_cpts"),
                ", the only procedure that day that could leave a wound (no site to compare)",
            )
        ),
        suggestion=msg(
            "bill ",
            pl.col("s_cpts"),
            " alone (a shave removal needs no suture closure); if the lesion was removed full "
            "thickness and closed, code it as an excision (114xx/116xx) with no simple repair",
        ),
        amount=pl.col("fee") * pl.col("units"),
    )
