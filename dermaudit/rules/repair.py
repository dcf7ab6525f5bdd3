"""Repairs (closures) 12001-13153, plus the same-site pairing helpers shared with the
excision (EXC) and adjacent tissue transfer (ATT) rules.

CPT repair classes and site groups (the ``site_group`` slug in rulesets/codes.csv, e.g.
``R_INT_TRUNK``): simple 12001-12007 (scalp/neck/axillae/genitalia/trunk/limbs) and
12011-12018 (face); intermediate 12031-12037, 12041-12047, 12051-12057; complex
13100-13102, 13120-13122, 13131-13133, 13151-13153. Lengths of repairs of one class in one
site group are added and reported as one code.

Same-site pairs. A repair (or excision) is "included" in another procedure only when both
treated the same wound. For each pair of lines on one same-day key the helpers decide:

* ``same``: both lines have a site and the site texts are equal (case, spaces and
  punctuation ignored), and their anatomic modifiers (LT/RT, E1-E4, F*, T*) do not differ;
* ``diff``: the site texts differ, or both lines carry anatomic modifiers with none in
  common;
* ``unknown``: the export has no site column, or one line's site is blank.

A "modifier" means 59/XE/XS/XP/XU on either line, or differing anatomic modifiers (NCCI lets
both bypass a PTP edit). Statuses, strongest first:

* ``same`` without a modifier: compliance (the line is part of the other procedure);
* ``unknown`` without a modifier: denial risk, and the message says the site could not be
  compared - as billed, the payer's NCCI edit bundles the line; it is payable only if a
  modifier shows a separate wound;
* ``diff`` without a modifier, when the two codes are a pair in rulesets/ncci_pairs.csv on the
  date of service: money under - separately reportable, but the edit denies the column-2 code
  without XS/59. Severity review while the pair comes from the shipped excerpt (column order
  and indicator unverified), denial when it comes from an imported CMS file (confidence P) with
  indicator 1. Pairs with indicator 0 or 9 are not used. (The PTP rule leaves these code
  families to the named rules.)

A pair with a modifier is not flagged when the sites differ or cannot be compared (the
modifier is the coder's statement of a separate site); ``same`` site with a modifier is left to
MOD-003.

Mohs guard (RPR-005 / ATT-003, INFO): repairs, flaps and grafts after Mohs (17311-17315) are
separately reportable. A repair or flap on a Mohs day is presumed to close the Mohs defect -
and is not treated as part of an excision or biopsy - when it is at a Mohs site, or when its
site or a Mohs line's site is unknown. Rules that do not rest on bundling (RPR-001 summing,
RPR-003 length, RPR-004 site family) still apply to Mohs-day repairs: CPT's summing and
code-choice rules do not change after Mohs.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from ..features import DAY_ID, DAY_KEY, day_key_first
from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, one_of, rule

MOHS_CODES = ("17311", "17312", "17313", "17314", "17315")
LINE_KEY = [*DAY_KEY, "_file", "_row"]  # one charge line, with its same-day key
PUNCH_INCISIONAL = ("11104", "11105", "11106", "11107")
REPAIR_FAMILIES = ("repair_simple", "repair_intermediate", "repair_complex")
CLASS_SITE_COL = {
    "repair_simple": "site_simple",
    "repair_intermediate": "site_intermediate",
    "repair_complex": "site_complex",
}
# Complex-repair add-ons (13102/13122/13133/13153) are "each additional 5 cm or less" beyond
# the top band (7.5 cm) - code table labels and notes (U).
ADDON_STEP_CM = 5.0
SLUG_GROUP = {
    "R_SIMPLE_BODY": "scalp/neck/axillae/genitalia/trunk/limbs",
    "R_SIMPLE_FACE": "face/ears/eyelids/nose/lips/mucosa",
    "R_INT_TRUNK": "scalp/axillae/trunk/limbs",
    "R_INT_NECK_HANDS_FEET": "neck/hands/feet/genitalia",
    "R_INT_FACE": "face/ears/eyelids/nose/lips/mucosa",
    "R_CX_TRUNK": "trunk",
    "R_CX_SCALP_LIMBS": "scalp/arms/legs",
    "R_CX_FOREHEAD_ETC": "forehead/cheeks/chin/mouth/neck/axillae/genitalia/hands/feet",
    "R_CX_EYELID_NOSE_EAR_LIP": "eyelids/nose/ears/lips",
}
SLUG_CLASS = {"R_SIMPLE": "simple", "R_INT": "intermediate", "R_CX": "complex"}
NCCI_CH3 = (
    "NCCI Policy Manual for Medicare Services (CMS, revision effective 2025-01-01), ch. III "
    "(Surgery: Integumentary System - Lesion Removal; Repair and Tissue Transfer); secondary: "
    "AAPC 'Know When to Report Excision or Repair (or Both)' (blog 21905), AAD"
)
CPT_REPAIR = (
    "CPT 2025 Professional Edition, repair (closure) guidelines (simple, intermediate and "
    "complex classes by anatomic group; lengths of repairs of one class in one group are added "
    "and reported as one code); group membership also in the CMS PFS Relative Value File "
    "short descriptors"
)


# ---- small expressions ----------------------------------------------------------------


def norm_site(col: str = "site") -> pl.Expr:
    """Site text for comparison: lower case, punctuation and runs of spaces folded."""
    s = pl.col(col).str.to_lowercase().str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def line_amount() -> pl.Expr:
    """Dollars of one line: 2025 national fee x units, else the line's charge."""
    return pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge"))


def join_codes(col: str) -> pl.Expr:
    return pl.col(col).list.unique().list.sort().list.join(" + ")


def rows_sorted(*cols: str) -> pl.Expr:
    return pl.concat_list([pl.col(c) for c in cols]).list.unique().list.sort()


def site_words(col: str = "site") -> pl.Expr:
    return (
        pl.when(pl.col(col).is_null()).then(pl.lit("no site")).otherwise(msg("'", pl.col(col), "'"))
    )


# ---- same-site pairing ----------------------------------------------------------------


def prep_lines(ctx: Context, lines: pl.LazyFrame, prefix: str = "") -> pl.LazyFrame:
    """These lines with a comparable site, anatomic modifiers and the Mohs guard.

    Non-key columns are renamed with ``prefix`` (keys: day_id, patient_id, dos, provider).
    """
    anat = ctx.ref.modifiers_of("anatomic")
    mohs = (
        ctx.lines.filter(one_of("cpt", MOHS_CODES))
        .group_by(DAY_ID)
        .agg(norm_site().alias("_mohs_sites"))
    )
    cols = [
        "_file",
        "_row",
        "claim_id",
        "payer_class",
        "cpt",
        "units",
        "fee",
        "charge",
        "family",
        "kind",
        "mods",
        "m_distinct",
        "site",
        "dx",
    ]
    out = (
        lines.select(DAY_ID, *DAY_KEY, *cols)
        .with_columns(
            norm_site().alias("site_n"),
            pl.col("mods").list.eval(pl.element().filter(pl.element().is_in(anat))).alias("anat"),
        )
        .join(mohs, on=DAY_ID, how="left")
        .with_columns(
            (
                pl.col("_mohs_sites").is_not_null()
                & (
                    pl.col("site_n").is_null()
                    | pl.col("_mohs_sites").list.eval(pl.element().is_null()).list.any()
                    | pl.col("_mohs_sites").list.contains(pl.col("site_n"))
                )
            )
            .fill_null(False)
            .alias("mohs_guard")
        )
        .drop("_mohs_sites")
    )
    if prefix:
        keep = {DAY_ID, *DAY_KEY}
        out = out.rename({c: prefix + c for c in out.collect_schema().names() if c not in keep})
    return out


def anat_differ(a: str = "", b: str = "s_") -> pl.Expr:
    """Both lines carry anatomic modifiers (LT/RT, E1-E4, F*, T*) and share none. NCCI counts
    such modifiers as bypassing a PTP edit, like XS."""
    xa, xb = pl.col(a + "anat"), pl.col(b + "anat")
    return (
        (xa.list.len() > 0) & (xb.list.len() > 0) & (xa.list.set_intersection(xb).list.len() == 0)
    ).fill_null(False)


def site_relation(a: str = "", b: str = "s_") -> pl.Expr:
    """'same' / 'diff' / 'unknown' for a joined pair of prepared lines."""
    sa, sb = pl.col(a + "site_n"), pl.col(b + "site_n")
    anat_diff = anat_differ(a, b)
    both = sa.is_not_null() & sb.is_not_null()
    return (
        pl.when(anat_diff | (both & (sa != sb)))
        .then(pl.lit("diff"))
        .when(both)
        .then(pl.lit("same"))
        .otherwise(pl.lit("unknown"))
    )


def site_pairs(
    ctx: Context,
    risk: pl.Expr,
    source: pl.Expr,
    *,
    skip_self_pay: bool = True,
) -> pl.LazyFrame:
    """Every (line at risk, source line) pair on one same-day key, with ``rel`` and
    ``modded`` (either line carries 59/X{EPSU}, or their anatomic modifiers differ) and
    ``listed`` (the two codes are a pair in rulesets/ncci_pairs.csv on the date of service)."""
    r_lines = ctx.lines.filter(risk)
    if skip_self_pay:
        r_lines = r_lines.filter(pl.col("payer_class") != "self_pay")
    s_lines = ctx.lines.filter(source)
    # only days with lines of both kinds make pairs: drop the others before the per-line work
    r_lines = r_lines.join(s_lines.select(DAY_ID), on=DAY_ID, how="semi")
    s_lines = s_lines.join(r_lines.select(DAY_ID), on=DAY_ID, how="semi")
    r = prep_lines(ctx, r_lines)
    s = prep_lines(ctx, s_lines, "s_").drop(DAY_KEY)
    return (
        r.join(s, on=DAY_ID, how="inner")
        .filter((pl.col("_row") != pl.col("s__row")) | (pl.col("_file") != pl.col("s__file")))
        .join(ncci_listed(ctx), left_on=["cpt", "s_cpt"], right_on=["_a", "_b"], how="left")
        .with_columns(
            site_relation().alias("rel"),
            (pl.col("m_distinct") | pl.col("s_m_distinct") | anat_differ()).alias("modded"),
            (
                pl.col("_col2").is_not_null()
                & (pl.col("_from").is_null() | (pl.col("_from") <= pl.col("dos")))
                & (pl.col("_to").is_null() | (pl.col("_to") > pl.col("dos")))
            ).alias("listed"),
            # the CMS file itself (confidence P) with indicator 1: a modifier is required
            ((pl.col("_conf") == "P") & (pl.col("_ind") == "1")).fill_null(False).alias("verified"),
            pl.when(pl.col("_col2") == pl.col("cpt"))
            .then(pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")))
            .otherwise(pl.coalesce(pl.col("s_fee") * pl.col("s_units"), pl.col("s_charge")))
            .alias("col2_amount"),
        )
        .rename({"_col2": "col2"})
        .drop("_from", "_to", "_conf", "_ind")
    )


def ncci_listed(ctx: Context) -> pl.LazyFrame:
    """Pairs of rulesets/ncci_pairs.csv in both orders, keyed (_a, _b), with the pair's
    column-2 code, indicator and confidence. Rows from an imported CMS file (confidence P) win
    over the excerpt's guessed order; indicator 9 (deleted) and 0 (no modifier allowed) are
    dropped - a 0 pair cannot be fixed with XS."""
    t = (
        ctx.ref.ncci_pairs.with_columns(
            pl.col("modifier_indicator").fill_null("").str.strip_chars().alias("_ind"),
            pl.col("confidence").fill_null("").str.strip_chars().alias("_conf"),
        )
        .filter(~pl.col("_ind").is_in(["0", "9"]))
        .select(
            "column1",
            "column2",
            pl.col("column2").alias("_col2"),
            "_ind",
            "_conf",
            pl.col("effective").alias("_from"),
            pl.col("deletion").alias("_to"),
        )
    )
    both = pl.concat(
        [
            t.rename({"column1": "_a", "column2": "_b"}),
            t.rename({"column1": "_b", "column2": "_a"}).select(
                "_a", "_b", "_col2", "_ind", "_conf", "_from", "_to"
            ),
        ]
    )
    return (
        both.sort(pl.col("_conf") != "P", "_a", "_b", "_col2")
        .unique(["_a", "_b"], keep="first", maintain_order=True)
        .lazy()
    )


RISK_COLS = (
    "claim_id",
    "payer_class",
    "cpt",
    "units",
    "fee",
    "charge",
    "family",
    "kind",
    "mods",
    "site",
    "dx",
    "mohs_guard",
)


def same_file() -> pl.Expr:
    """A source line from the same export file as the line at risk (finding rows are per file)."""
    return pl.col("s__file") == pl.col("_file")


def summarize_pairs(pairs: pl.LazyFrame, extra: Iterable[pl.Expr] = ()) -> pl.LazyFrame:
    """One row per line at risk and its ``status``: 'same' (a same-site source, no modifier)
    beats 'unknown' (site not comparable, no modifier) beats 'modifier' (different sites, no
    modifier, and the pair is an NCCI pair); null when none. ``src_rows``/``src_codes`` are the
    sources behind the status, ``other_site`` the source's site for 'modifier'."""
    nomod = ~pl.col("modded")
    same = (pl.col("rel") == "same") & nomod
    unk = (pl.col("rel") == "unknown") & nomod
    mod = (pl.col("rel") == "diff") & nomod & pl.col("listed")
    g = (
        pairs.with_columns(first_mod(mod))
        .group_by(LINE_KEY)
        .agg(
            *[pl.col(c).first() for c in RISK_COLS],
            pl.col("s__row").filter(same & same_file()).alias("same_rows"),
            pl.col("s_cpt").filter(same).alias("same_codes"),
            pl.col("s__row").filter(unk & same_file()).alias("unk_rows"),
            pl.col("s_cpt").filter(unk).alias("unk_codes"),
            *mod_aggs(mod),
            *extra,
        )
    )
    return with_status(g)


def first_mod(mod: pl.Expr) -> pl.Expr:
    """On the pair frame, column ``first_mod``: a 'modifier' pair whose source row is the
    lowest of its line at risk's 'modifier' pairs. A window over the line, because sorting
    inside every group of the aggregation is several times slower."""
    low = pl.col("s__row").filter(mod).min().over(LINE_KEY)
    return (mod & (pl.col("s__row") == low)).alias("first_mod")


def mod_aggs(mod: pl.Expr) -> list[pl.Expr]:
    """Aggregations for the 'modifier' status: sources, the other site, the pair's column-2
    code and its amount, and whether the pair comes from the CMS file with indicator 1.
    The pair frame needs the ``first_mod`` column (``first_mod(mod)``)."""

    def at_first(col: str) -> pl.Expr:
        # the value at the first source row; tied rows (same row number in two files) keep
        # their frame order, as a stable sort would. Not gather(arg_min), which the in-memory
        # engine of Polars 2.1 types as Null on an empty frame
        return pl.col(col).filter(pl.col("first_mod")).first()

    return [
        pl.col("s__row").filter(mod & same_file()).alias("mod_rows"),
        pl.col("s_cpt").filter(mod).alias("mod_codes"),
        at_first("s_site").alias("other_site"),
        at_first("col2").alias("mod_col2"),
        at_first("col2_amount").alias("mod_amount"),
        at_first("verified").alias("mod_verified"),
    ]


def with_status(g: pl.LazyFrame) -> pl.LazyFrame:
    """Pick the status and its sources from the same_/unk_/mod_ rows and codes."""
    st = pl.col("status")
    return g.with_columns(
        pl.when(pl.col("same_codes").list.len() > 0)
        .then(pl.lit("same"))
        .when(pl.col("unk_codes").list.len() > 0)
        .then(pl.lit("unknown"))
        .when(pl.col("mod_codes").list.len() > 0)
        .then(pl.lit("modifier"))
        .otherwise(None)
        .alias("status")
    ).with_columns(
        pl.when(st == "same")
        .then(pl.col("same_rows"))
        .when(st == "unknown")
        .then(pl.col("unk_rows"))
        .otherwise(pl.col("mod_rows"))
        .alias("src_rows"),
        pl.when(st == "same")
        .then(pl.col("same_codes"))
        .when(st == "unknown")
        .then(pl.col("unk_codes"))
        .otherwise(pl.col("mod_codes"))
        .alias("src_codes"),
    )


def bundled(
    ctx: Context,
    risk: pl.Expr,
    source: pl.Expr,
    *,
    guard_risk: str | None = "all",
    guard_source: bool = False,
) -> pl.LazyFrame:
    """Lines at risk of being included in a same-day source procedure at the same wound.

    ``guard_risk``: 'all' drops Mohs-guarded lines at risk; 'keep_same' keeps them only for
    pairs at the same site; None keeps them. ``guard_source`` drops Mohs-guarded source lines
    (e.g. a flap that closes the Mohs defect).
    """
    p = site_pairs(ctx, risk, source)
    if guard_risk == "all":
        p = p.filter(~pl.col("mohs_guard"))
    elif guard_risk == "keep_same":
        p = p.filter(~pl.col("mohs_guard") | (pl.col("rel") == "same"))
    if guard_source:
        p = p.filter(~pl.col("s_mohs_guard"))
    return summarize_pairs(p).filter(pl.col("status").is_not_null())


def status_severity() -> pl.Expr:
    """same -> compliance; unknown site -> denial risk; missing modifier at different sites ->
    denial when the pair comes from the CMS PTP file with indicator 1, else review (the
    shipped ncci_pairs excerpt has unverified column order and indicators)."""
    st = pl.col("status")
    return (
        pl.when(st == "same")
        .then(pl.lit("compliance"))
        .when(st == "unknown")
        .then(pl.lit("denial"))
        .when(pl.col("mod_verified").fill_null(False))
        .then(pl.lit("denial"))
        .otherwise(pl.lit("review"))
    )


def status_amount() -> pl.Expr:
    """The line at risk: the flagged line, or for a missing modifier the pair's column-2 line."""
    return (
        pl.when(pl.col("status") == "modifier").then(pl.col("mod_amount")).otherwise(line_amount())
    )


def status_money() -> pl.Expr:
    return (
        pl.when(pl.col("status") == "same")
        .then(pl.lit("over"))
        .when(pl.col("status") == "modifier")
        .then(pl.lit("under"))
        .otherwise(pl.lit("either"))
    )


MODIFIER_REASON = (
    "at a separate site both are reportable, but NCCI pairs these codes and neither line "
    "carries XS/59 (or differing anatomic modifiers), so the payer's edit denies the column-2 code"
)
UNKNOWN_NOTE = (
    "; the site could not be compared (no site in the export for these lines) and neither line "
    "carries XS/59"
)


def pair_message(lead: pl.Expr, reason: str) -> pl.Expr:
    """'<lead> at the same site ('back'); <reason>' and its unknown-site / missing-modifier
    variants."""
    st = pl.col("status")
    where = (
        pl.when(st == "same")
        .then(msg(" at the same site (", site_words(), ")"))
        .when(st == "modifier")
        .then(msg(" at a different site (", site_words(), " vs '", pl.col("other_site"), "')"))
        .otherwise(pl.lit(" on the same day"))
    )
    why = pl.when(st == "modifier").then(pl.lit(MODIFIER_REASON)).otherwise(pl.lit(reason))
    note = pl.when(st == "unknown").then(pl.lit(UNKNOWN_NOTE)).otherwise(pl.lit(""))
    return msg(lead, where, "; ", why, note)


def pair_suggestion(part_of: str, closed: str) -> pl.Expr:
    """What to bill: remove the line (same site), append XS (different site), or either."""
    st, cpt, src = pl.col("status"), pl.col("cpt"), join_codes("src_codes")
    return (
        pl.when(st == "same")
        .then(msg("remove ", cpt, ": ", part_of, " ", src))
        .when(st == "modifier")
        .then(
            msg(
                "append XS (separate site) or 59 to ",
                pl.col("mod_col2"),
                pl.when(pl.col("mod_verified").fill_null(False))
                .then(pl.lit(" (column 2 of the CMS pair)"))
                .otherwise(
                    pl.lit(
                        " (column 2 in rulesets/ncci_pairs.csv, an unverified excerpt: confirm "
                        "the order and indicator in the payer's PTP file)"
                    )
                ),
                "; the recorded sites support it",
            )
        )
        .otherwise(
            msg(
                "remove ",
                cpt,
                " if it ",
                closed,
                "; if not, record its own site and append XS (or 59) to ",
                cpt,
            )
        )
    )


# ---- predicates shared by the EXC / RPR / ATT rules ------------------------------------


def emit_bundled(
    hits: pl.LazyFrame, line_label: str, src_label: str, reason: str, part_of: str, closed: str
) -> pl.LazyFrame:
    """The finding of a bundling pair: the line's code billed with the source line(s)."""
    return emit(
        hits.sort("_file", "_row"),
        rows=rows_sorted("_row", "src_rows"),
        codes=msg(pl.col("cpt"), " + ", join_codes("src_codes")),
        message=pair_message(
            msg(
                f"{line_label} ",
                pl.col("cpt"),
                f" billed with {src_label} ",
                join_codes("src_codes"),
            ),
            reason,
        ),
        suggestion=pair_suggestion(part_of, closed),
        amount=status_amount(),
        severity=status_severity(),
        money=status_money(),
    )


def fam(*families: str) -> pl.Expr:
    return one_of("family", list(families))


def is_simple() -> pl.Expr:
    return pl.col("family") == "repair_simple"


def is_repair() -> pl.Expr:
    return fam(*REPAIR_FAMILIES)


def is_excision() -> pl.Expr:
    return fam("excision_benign", "excision_malignant")


def is_att(primary_only: bool = False) -> pl.Expr:
    e = pl.col("family") == "att"
    return e & (pl.col("kind") == "primary") if primary_only else e


def att_repair_hits(ctx: Context) -> pl.LazyFrame:
    """ATT-002: repair lines at the same wound as an adjacent tissue transfer."""
    return bundled(ctx, is_repair(), is_att(), guard_risk="keep_same")


def exc_simple_repair_hits(ctx: Context) -> pl.LazyFrame:
    """EXC-004: simple repair lines at the same wound as an excision (ATT-002 lines excluded)."""
    hits = bundled(ctx, is_simple(), is_excision(), guard_risk="all")
    return hits.join(att_repair_hits(ctx).select(LINE_KEY), on=LINE_KEY, how="anti")


# ---- repair code bands ----------------------------------------------------------------


def repair_bands(ctx: Context) -> pl.DataFrame:
    """Primary repair codes: slug, code, band limits (cm), fee."""
    return ctx.ref.codes.filter(
        one_of("family", list(REPAIR_FAMILIES)) & (pl.col("kind") == "primary")
    ).select(
        pl.col("site_group").alias("slug"),
        pl.col("family").alias("b_family"),
        pl.col("code").alias("b_code"),
        pl.col("size_min_cm").alias("b_min"),
        pl.col("size_max_cm").alias("b_max"),
        pl.col("fee_2025").alias("b_fee"),
    )


def band_code(
    ctx: Context, frame: pl.LazyFrame, key: list[str], slug: str, length: str, out: str
) -> pl.LazyFrame:
    """Add ``{out}_code`` and ``{out}_fee``: the compliant repair code(s) for ``length`` cm in
    site group ``slug`` (complex repairs above the top band add their 5 cm add-on)."""
    bands = repair_bands(ctx).rename({"slug": "_slug"})
    top = (
        bands.group_by("_slug")
        .agg(
            pl.col(c).sort_by(pl.col("b_max").fill_null(1e9)).last().alias(a)
            for c, a in (("b_code", "_t_code"), ("b_max", "_t_max"), ("b_fee", "_t_fee"))
        )
        .lazy()
    )
    addon = (
        ctx.ref.codes.filter(one_of("family", list(REPAIR_FAMILIES)) & (pl.col("kind") == "addon"))
        .select(
            pl.col("site_group").alias("_slug"),
            pl.col("code").alias("_a_code"),
            pl.col("fee_2025").alias("_a_fee"),
        )
        .lazy()
    )
    hit = (
        frame.select(*key, pl.col(slug).alias("_slug"), pl.col(length).alias("_len"))
        .filter(pl.col("_len").is_not_null() & pl.col("_slug").is_not_null())
        .join(bands.lazy(), on="_slug", how="inner")
        .filter(pl.col("b_max").is_null() | (pl.col("_len") <= pl.col("b_max")))
        .group_by(key)
        .agg(
            pl.col("b_code").sort_by(pl.col("b_max").fill_null(1e9)).first().alias("_b_code"),
            pl.col("b_fee").sort_by(pl.col("b_max").fill_null(1e9)).first().alias("_b_fee"),
        )
    )
    n_add = ((pl.col(length) - pl.col("_t_max")) / ADDON_STEP_CM).ceil().cast(pl.Int64)
    over_top = pl.col("_a_code").is_not_null() & (pl.col(length) > pl.col("_t_max"))
    return (
        frame.with_columns(pl.col(slug).alias("_slug"))
        .join(hit, on=key, how="left")
        .join(top, on="_slug", how="left")
        .join(addon, on="_slug", how="left")
        .with_columns(
            pl.coalesce(
                pl.col("_b_code"),
                pl.when(over_top).then(
                    msg(pl.col("_t_code"), " + ", pl.col("_a_code"), " x", n_add)
                ),
            ).alias(f"{out}_code"),
            pl.coalesce(
                pl.col("_b_fee"),
                pl.when(over_top).then(pl.col("_t_fee") + n_add * pl.col("_a_fee")),
            ).alias(f"{out}_fee"),
        )
        .drop("_slug", "_b_code", "_b_fee", "_t_code", "_t_max", "_t_fee", "_a_code", "_a_fee")
    )


def slug_group(col: str) -> pl.Expr:
    """Plain words for a repair site group slug (e.g. 'face/ears/eyelids/nose/lips/mucosa')."""
    return pl.col(col).replace_strict(SLUG_GROUP, default=pl.col(col), return_dtype=pl.String)


def slug_words(col: str) -> pl.Expr:
    """'intermediate repair of face/ears/...' for a repair site group slug."""
    cls = pl.lit("repair")
    for pre, word in SLUG_CLASS.items():
        cls = (
            pl.when(pl.col(col).str.starts_with(pre + "_"))
            .then(pl.lit(word + " repair"))
            .otherwise(cls)
        )
    return msg(cls, " of ", slug_group(col))


# ---- rules ----------------------------------------------------------------------------


@rule(
    "RPR-001",
    scope=("repair_simple", "repair_intermediate", "repair_complex"),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Repairs of one class and site group not added together",
    level="day",
    out_of_scope="Repairs at separate encounters on one day with XE; add-on codes on their "
    "own; the documented length when the export has no size.",
    flags="""
Two or more units of repair codes (12001-13153, first-band/primary codes) from the same
classification and the same CPT site group (e.g. two 12032 lines, or 12031 + 12032, or 12032
x2) on one day for one patient and rendering provider, when the lines do not carry XE
(separate encounter). Complex add-on codes (13102/13122/13133/13153) are not counted.
""",
    why="""
CPT repair guidelines: the lengths of repairs of the same classification (simple,
intermediate, complex) in the same anatomic group are added together and reported as one
code; only different classes or different groups are reported separately. Separate lines pay
each code's full amount (before the multiple-procedure reduction), which is more than the one
code for the summed length.
""",
    example="12032 (3 cm back) + 12032 (4 cm arm) on 2025-03-04.",
    compliant="12032 x1 for the summed 7.0 cm; 12031 (trunk) + 12051 (face) stay separate.",
    source=(
        CPT_REPAIR + "; the summing instruction was not read verbatim, so the rule is a review (U)."
    ),
    amount="""
2025 national non-facility fees. When every line in the group has a repair length in the size
column and 1 unit: billed fees minus the fee of the code(s) for the summed length (complex
repairs above 7.5 cm add the 5 cm add-on). Otherwise a floor: billed fees minus the fee of the
code for the largest length the billed bands allow (sum of each band's upper limit).
""",
    limits="""
Confidence U: the summing rule is standard CPT guidance but was not verified verbatim, so this
asks for a review. Two repairs in one group on one day at separate encounters should carry XE
and are not flagged. The size column on a repair line is read as the repair length; if the
export holds lesion sizes there, the exact amount is wrong (the finding still stands). Mohs-day
repairs are included: CPT summing applies after Mohs too (RPR-005 only says Mohs does not
bundle them).
""",
)
def rpr_001(ctx: Context) -> pl.LazyFrame:
    lines = ctx.lines.filter(
        is_repair()
        & (pl.col("kind") == "primary")
        & ~pl.col("mods").list.contains("XE").fill_null(False)
    ).with_columns(
        pl.col("code_site_group").alias("slug"),
        (pl.col("lesion_size_cm").is_not_null() & (pl.col("units") == 1)).alias("_has_len"),
        pl.coalesce(
            pl.when(pl.col("units") == 1).then(pl.col("lesion_size_cm")),
            pl.col("size_min_cm").fill_null(0.0) * pl.col("units"),
        ).alias("_lo"),
        pl.coalesce(
            pl.when(pl.col("units") == 1).then(pl.col("lesion_size_cm")),
            pl.coalesce(pl.col("size_max_cm"), pl.col("size_min_cm")) * pl.col("units"),
        ).alias("_hi"),
    )
    key = [DAY_ID, "slug"]
    g = (
        # only groups of two or more units are findings: drop the others before aggregating
        lines.filter(pl.col("units").sum().over(key) >= 2)
        .group_by(key)
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row")
            .filter(pl.col("_file") == pl.col("_file").first())
            .sort()
            .alias("g_rows"),
            pl.col("units").sum().alias("n_units"),
            pl.len().alias("n_lines"),
            msg(pl.col("cpt"), " x", pl.col("units")).sort_by("_row").alias("parts"),
            line_amount().sum().alias("billed"),
            pl.col("_has_len").all().alias("exact"),
            pl.col("lesion_size_cm").sum().alias("len_sum"),
            pl.col("_lo").sum().alias("len_lo"),
            pl.col("_hi").sum().alias("len_hi"),
        )
    )
    g = band_code(ctx, g, key, "slug", "len_sum", "ex")
    g = band_code(ctx, g, key, "slug", "len_lo", "lo")
    g = band_code(ctx, g, key, "slug", "len_hi", "hi")
    codes = pl.col("parts").list.join(" + ")
    exact = pl.col("exact")
    return emit(
        g.sort("_file", pl.col("g_rows").list.first()),
        rows=pl.col("g_rows"),
        codes=codes,
        message=msg(
            pl.col("n_units"),
            " units of ",
            slug_words("slug"),
            " billed separately (",
            pl.col("parts").list.join(", "),
            "); CPT adds the lengths of repairs of one class in one site group and reports "
            "one code",
        ),
        suggestion=pl.when(exact)
        .then(
            msg(
                "bill ",
                pl.col("ex_code"),
                " for the summed length ",
                pl.col("len_sum").round(1),
                " cm instead of ",
                pl.col("parts").list.join(" + "),
            )
        )
        .otherwise(
            msg(
                "add the lengths and bill one code for the total (the billed bands allow ",
                pl.col("len_lo").round(1),
                "-",
                pl.col("len_hi").round(1),
                " cm: ",
                pl.when(pl.col("lo_code") == pl.col("hi_code"))
                .then(pl.col("lo_code"))
                .otherwise(msg(pl.col("lo_code"), " to ", pl.col("hi_code"))),
                ") instead of ",
                pl.col("parts").list.join(" + "),
                "; use XE only if a repair was done at a separate encounter",
            )
        ),
        amount=pl.when(exact)
        .then(pl.col("billed") - pl.col("ex_fee"))
        .otherwise(pl.col("billed") - pl.col("hi_fee"))
        .clip(0),
    )


@rule(
    "RPR-002",
    scope=("repair_simple",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Simple repair billed with a punch or incisional biopsy of the same site",
    level="day",
    severities={
        Severity.DENIAL: "the sites cannot be compared (no site on a line) and neither line "
        "carries XS/59, or the sites differ and the pair comes from an imported CMS PTP file "
        "with indicator 1 (the column-2 code is denied without a modifier)",
        Severity.REVIEW: "the sites differ, no modifier is present and the pair comes from the "
        "shipped excerpt (column order and indicator unverified)",
    },
    out_of_scope="Tangential biopsies (no closure needed); intermediate and complex repairs "
    "after a biopsy; Mohs-day repairs at the Mohs site (RPR-005).",
    flags="""
A simple repair (12001-12018) on the same day, patient and rendering provider as a punch or
incisional biopsy (11104-11107) at the same site. When the export has no site (or a line's site
is blank) and neither line carries XS/59, the pair is flagged as a denial risk and the message
says the site could not be compared; at different recorded sites without XS/59 the NCCI pair
still denies the column-2 code: a missing-modifier finding, money under (review while the pair
comes from the shipped excerpt, whose indicators are unverified; denial once an imported CMS
PTP file gives indicator 1).
Repairs already reported by EXC-004 (with an excision) or ATT-002 (with a flap) are not
repeated here; Mohs-day repairs at the Mohs site (or of unknown site) are presumed to close the
Mohs defect and are not flagged (RPR-005).
""",
    why="""
Punch and incisional biopsy codes include simple closure of the biopsy wound. A separate
simple-repair line for that wound is an overpayment; NCCI pairs 11104/11106 with 12001-12018
and pays the repair only with a modifier showing a separate wound.
""",
    example="11104 (punch biopsy, left forearm) + 12001 (left forearm) on one day.",
    compliant=(
        "11104 alone; a simple repair of a different wound is billed 12001-XS with its own site."
    ),
    source=(
        "CPT 2025 Professional Edition, 11104-11107 descriptors (punch and incisional biopsy "
        "include simple closure); CMS NCCI practitioner PTP edits 11104/11106 with "
        "12001-12018 (load the quarterly file; the shipped pair table is an excerpt); "
        "secondary: AAD 2018, Karen Zupko & Associates."
    ),
    amount=(
        "2025 national non-facility fee x units of the simple repair (charge if not in the table). "
        "For a missing modifier at different sites: the fee x units of the line in column 2 "
        "of the pair (the one the edit denies)."
    ),
    limits="""
Same site means equal site text; 'forearm' and 'left forearm' count as different (not
flagged). Without site data the finding is a denial risk, not an accusation: the repair may
have closed another wound, in which case the claim needs XS/59. Tangential biopsies
(11102/11103) do not normally need a repair and are not paired here.
""",
)
def rpr_002(ctx: Context) -> pl.LazyFrame:
    hits = bundled(ctx, is_simple(), one_of("cpt", PUNCH_INCISIONAL), guard_risk="all")
    taken = pl.concat(
        [
            exc_simple_repair_hits(ctx).select(LINE_KEY),
            att_repair_hits(ctx).select(LINE_KEY),
        ]
    )
    hits = hits.join(taken, on=LINE_KEY, how="anti")
    return emit_bundled(
        hits,
        "simple repair",
        "punch/incisional biopsy",
        "the biopsy code includes simple closure of its wound",
        "closure is part of",
        "closed the biopsy wound",
    )


@rule(
    "RPR-003",
    scope=("repair_complex",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Complex repair billed for a length of 1.0 cm or less",
    level="line",
    requires=("lesion_size_cm",),
    out_of_scope="Complex repairs over 1.0 cm; the documented length when the export's size "
    "column holds the lesion diameter.",
    flags="""
A complex-repair first-band or primary code (13100, 13101, 13120, 13121, 13131, 13132,
13151, 13152) whose line gives a size of 1.0 cm or less in the export's size/length column.
""",
    why="""
Complex repair codes start at 1.1 cm; a CPT parenthetical sends complex repairs of 1.0 cm or
less to the simple or intermediate codes of the site. Billing 13131 for a 0.8 cm closure pays
a complex code the documentation cannot support.
""",
    example="13131 with length 0.8 cm (cheek).",
    compliant=(
        "12051 (intermediate repair, face, up to 2.5 cm) - or 12011 if the closure was simple."
    ),
    source=(
        CPT_REPAIR
        + "; CPT parenthetical on complex repairs of 1.0 cm or less (not read verbatim, so the "
        "rule is a review: U)."
    ),
    amount="""
2025 national non-facility fee of the complex code minus the fee of the first-band intermediate
code of the site (from the site text when known; otherwise the highest-paying intermediate
group the complex group can map to, so the amount is a floor).
""",
    limits="""
Confidence U (CPT parenthetical not verified verbatim), so this asks for a review. The size
column on a repair line is read as the repair length; some exports put the lesion diameter
there - a 0.8 cm lesion can need a 3 cm complex closure, so check the operative note's repair
length before changing the code.
""",
)
def rpr_003(ctx: Context) -> pl.LazyFrame:
    bands = repair_bands(ctx)
    first_int = (
        bands.filter(pl.col("b_family") == "repair_intermediate")
        .sort(pl.col("b_max").fill_null(1e9))
        .group_by("slug")
        .agg(pl.col("b_code").first().alias("i_code"), pl.col("b_fee").first().alias("i_fee"))
    )
    sites = ctx.ref.sites
    cand = (
        sites.select(
            pl.col("complex_group").alias("cx"), pl.col("intermediate_group").alias("slug")
        )
        .filter(pl.col("cx").is_not_null() & (pl.col("cx") != "") & pl.col("slug").is_not_null())
        .unique()
        .join(first_int, on="slug", how="inner")
        .group_by("cx")
        .agg(
            pl.col("i_code").unique().sort().str.join(" / ").alias("cand_codes"),
            pl.col("i_code").sort_by("i_fee").last().alias("cand_code"),
            pl.col("i_fee").max().alias("cand_fee"),
        )
        .lazy()
    )
    lines = ctx.lines.filter(
        (pl.col("family") == "repair_complex")
        & (pl.col("kind") == "primary")
        & (pl.col("lesion_size_cm") <= 1.0).fill_null(False)
    )
    j = (
        lines.join(cand, left_on="code_site_group", right_on="cx", how="left")
        .join(first_int.lazy(), left_on="site_intermediate", right_on="slug", how="left")
        .with_columns(
            pl.coalesce(pl.col("i_code"), pl.col("cand_codes")).alias("alt_codes"),
            pl.coalesce(pl.col("i_fee"), pl.col("cand_fee")).alias("alt_fee"),
        )
    )
    return emit(
        j.sort("_file", "_row"),
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            "complex repair ",
            pl.col("cpt"),
            " billed for a length of ",
            pl.col("lesion_size_cm"),
            " cm; complex repair codes start at 1.1 cm",
        ),
        suggestion=msg(
            "confirm the repair length in the note; if it is 1.0 cm or less, bill the "
            "intermediate repair ",
            pl.col("alt_codes"),
            " for the site (or the simple repair code if the closure was single-layer)",
        ),
        amount=((pl.col("fee") - pl.col("alt_fee")) * pl.col("units")).clip(0),
    )


@rule(
    "RPR-004",
    scope=("repair_simple", "repair_intermediate", "repair_complex"),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.P,
    money=Money.EITHER,
    title="Repair code from the wrong site group for the documented site",
    level="line",
    requires=("site",),
    severities={
        Severity.DENIAL: "the right-group code pays the same or more (wrong group, at risk of "
        "denial rather than an overpayment)",
    },
    out_of_scope="Sites the keyword table does not know; add-on codes; the repair class "
    "(simple, intermediate, complex) itself.",
    flags="""
A primary repair code (12001-13152) whose CPT site group differs from the group of the line's
site text for that repair class (rulesets/sites.csv simple/intermediate/complex columns), e.g.
12051 (face) with site 'back', or 13100 (trunk) with site 'scalp'. Sites the table does not
know are skipped.
""",
    why="""
Each repair class has its own site groups and length bands; the code must match where the
wound was. A wrong-group code is open to denial or recoupment on record review (the
diagnosis and note give the site), and face groups pay more than trunk groups, so a trunk
repair billed with a face code is an overpayment.
""",
    example="12051 (intermediate, face, up to 2.5 cm) for a 2 cm repair on the back.",
    compliant="12031 (intermediate, scalp/axillae/trunk/limbs, up to 2.5 cm) for that repair.",
    source=(CPT_REPAIR + "."),
    amount="""
2025 national non-facility fees: billed code minus the right-group code for the repair length
(from the size column when present, otherwise the right-group codes whose bands overlap the
billed band). Over-billed: billed minus the highest candidate (compliance). Under-billed: the
lowest candidate minus billed (denial risk, money under). When the candidates straddle the
billed fee, the billed line's fee (the line at risk).
""",
    limits="""
The site text is mapped to CPT groups with keyword rules (rulesets/sites.csv, S); an unusual
word can map wrongly - 'scalp' is B for lesions but goes with the trunk for intermediate and
with arms/legs for complex repairs, and the table handles that per class. Add-on codes are
not judged; fix them with their primary.
""",
)
def rpr_004(ctx: Context) -> pl.LazyFrame:
    target = pl.coalesce(
        *[pl.when(pl.col("family") == f).then(pl.col(c)) for f, c in CLASS_SITE_COL.items()]
    )
    lines = (
        ctx.lines.filter(is_repair() & (pl.col("kind") == "primary"))
        .with_columns(target.alias("want"))
        .filter(pl.col("want").is_not_null() & (pl.col("want") != pl.col("code_site_group")))
    )
    key = ["_file", "_row"]
    sized = band_code(ctx, lines, key, "want", "lesion_size_cm", "sz")
    bands = repair_bands(ctx).lazy()
    lo = pl.col("size_min_cm").fill_null(0.0)
    hi = pl.col("size_max_cm").fill_null(1e9)
    overlap = (
        lines.select(*key, "want", lo.alias("_lo"), hi.alias("_hi"))
        .join(bands, left_on="want", right_on="slug", how="inner")
        .filter(
            (pl.col("b_min").fill_null(0.0) <= pl.col("_hi"))
            & (pl.col("b_max").fill_null(1e9) >= pl.col("_lo"))
        )
        .group_by(key)
        .agg(
            pl.col("b_code").sort().str.join(" or ").alias("ov_codes"),
            pl.col("b_fee").min().alias("ov_min"),
            pl.col("b_fee").max().alias("ov_max"),
        )
    )
    j = sized.join(overlap, on=key, how="left").with_columns(
        pl.coalesce(pl.col("sz_code"), pl.col("ov_codes")).alias("right_code"),
        pl.coalesce(pl.col("sz_fee"), pl.col("ov_min")).alias("right_min"),
        pl.coalesce(pl.col("sz_fee"), pl.col("ov_max")).alias("right_max"),
    )
    over = pl.col("fee") > pl.col("right_max")
    under = pl.col("fee") < pl.col("right_min")
    return emit(
        j.sort("_file", "_row"),
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " is for the ",
            slug_group("code_site_group"),
            " group of ",
            pl.col("family").str.replace("repair_", ""),
            " repairs, but the site ",
            site_words(),
            " is in the ",
            slug_group("want"),
            " group",
        ),
        suggestion=pl.when(pl.col("right_code").is_not_null())
        .then(
            msg(
                "bill ",
                pl.col("right_code"),
                " (",
                slug_words("want"),
                pl.when(pl.col("sz_code").is_not_null())
                .then(msg(", ", pl.col("lesion_size_cm"), " cm"))
                .otherwise(pl.lit(", by the repair length")),
                ") instead of ",
                pl.col("cpt"),
            )
        )
        .otherwise(
            msg(
                "bill the ",
                slug_words("want"),
                " code for the repair length instead of ",
                pl.col("cpt"),
            )
        ),
        amount=pl.when(over)
        .then((pl.col("fee") - pl.col("right_max")) * pl.col("units"))
        .when(under)
        .then((pl.col("right_min") - pl.col("fee")) * pl.col("units"))
        .otherwise(pl.col("fee") * pl.col("units")),
        severity=pl.when(over).then(pl.lit("compliance")).otherwise(pl.lit("denial")),
        money=pl.when(over)
        .then(pl.lit("over"))
        .when(under)
        .then(pl.lit("under"))
        .otherwise(pl.lit("either")),
    )
