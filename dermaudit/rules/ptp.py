"""NCCI procedure-to-procedure (PTP) pair edits, driven by the ``ncci_pairs`` table.

PTP-001 is the generic engine for an imported CMS practitioner PTP file. The pairs whose
rationale a named rule already explains (biopsy with a definitive procedure, repairs with
excisions, ATT, Mohs with pathology, ...) are left to that rule, by code family: see
``PAIR_OWNERS``.
"""

from __future__ import annotations

import polars as pl

from ..features import DAY_ID, DAY_KEY, day_key_first
from ..model import Confidence, Money, Severity
from .base import Context, emit, msg, one_of, rule

DESTRUCTION = (
    "destruction_premalignant",
    "destruction_benign",
    "destruction_vascular",
    "destruction_malignant",
)
EXCISION = ("excision_benign", "excision_malignant")
REPAIR = ("repair_simple", "repair_intermediate", "repair_complex")
EM = ("em_office", "em_addon", "em_consult", "em_other", "em_preventive")
ANY = ("*",)

# (families of one code, families of the other code, rule that reports the pair). Order does
# not matter. "*" = any family.
PAIR_OWNERS: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (("destruction_premalignant",), ("destruction_premalignant",), "DEST-001"),
    (("destruction_benign",), ("destruction_benign",), "DEST-006"),
    (("biopsy",), ("biopsy",), "BX-001/BX-002"),
    (
        ("biopsy",),
        ("shave", *EXCISION, *DESTRUCTION, "chemical_cautery", "mohs", "att"),
        "BX-003/MOHS-004",
    ),
    (("biopsy",), ("repair_simple",), "RPR-002"),
    (EXCISION, ("repair_simple",), "EXC-004"),
    (("excision_benign",), ("repair_intermediate", "repair_complex"), "EXC-005"),
    (EXCISION, ("att",), "ATT-001"),
    (REPAIR, ("att",), "ATT-002"),
    (("shave",), ("repair_simple",), "SHV-002"),
    (("mohs",), ("pathology",), "MOHS-003/MOHS-004/MOHS-010"),
    (("mohs",), ("excision_malignant", "destruction_malignant"), "MOHS-005"),
    (("paring",), ("destruction_benign",), "DEST-010"),
    (("skin_tag",), ("destruction_premalignant", "destruction_benign"), "TAG-003"),
    (("chemical_cautery",), ("shave", *EXCISION, *DESTRUCTION), "DEST-012"),
    (("injection",), ("injection",), "INJ-001"),
    (("repair_simple",), ("repair_simple",), "RPR-001"),
    (("repair_intermediate",), ("repair_intermediate",), "RPR-001"),
    (("repair_complex",), ("repair_complex",), "RPR-001"),
    (EM, ANY, "EM-001/EM-004/EM-005/EM-007/EM-010"),
]
EXTRA_NCCI_MODS = ["91"]


def _owned_family_pairs(families: list[str]) -> pl.DataFrame:
    """Every (family1, family2) pair, both orders, that a named rule owns."""
    rows: set[tuple[str, str]] = set()
    for a, b, _owner in PAIR_OWNERS:
        left = families if a == ANY else list(a)
        right = families if b == ANY else list(b)
        for x in left:
            for y in right:
                rows.add((x, y))
                rows.add((y, x))
    ordered = sorted(rows)
    return pl.DataFrame(
        {"f1": [r[0] for r in ordered], "f2": [r[1] for r in ordered]},
        schema={"f1": pl.String, "f2": pl.String},
    )


@rule(
    "PTP-001",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="NCCI procedure-to-procedure pair billed on one day",
    severities={
        Severity.REVIEW: "the pair's modifier indicator or confidence is U (the shipped excerpt: "
        "column order and indicator unverified)",
        Severity.COMPLIANCE: "the modifier indicator is 0 and a modifier was used anyway (the "
        "edit cannot be bypassed; if paid, an overpayment)",
    },
    out_of_scope="Pairs a named rule reports (listed above); outpatient-hospital (OPPS) PTP "
    "edits; MUE and add-on edits (GEN-003, GEN-002); pairs across different rendering "
    "providers or days.",
    flags="""
Two codes that form a pair in rulesets/ncci_pairs.csv (column 1 / column 2, e.g. an imported
CMS practitioner PTP file) billed for the same patient, date of service and rendering
provider, while the pair is in force on that date (effective date <= DOS < deletion date):
  * modifier indicator 0 -> flagged whatever the modifiers;
  * indicator 1 -> flagged unless either line carries an NCCI-associated modifier (59, XE, XS,
    XP, XU, anatomic LT/RT/E1-E4/FA/F1-F9/TA/T1-T9, 24, 25, 57, 58, 78, 79, 91);
  * indicator 9 -> never flagged;
  * indicator U (unknown, as in the shipped excerpt) -> handled like 1, reported as review.
One finding per pair per day.

Pairs whose codes both fall in families a named rule already covers are NOT reported here:
biopsy pairs (BX-001/002/003, RPR-002, MOHS-004), excision/shave + repair (EXC-004, EXC-005,
SHV-002), ATT pairs (ATT-001/002), Mohs + pathology or same-lesion removal (MOHS-003/004/005/
010), paring + destruction (DEST-010), tags + destruction (TAG-003), premalignant or benign
destruction with itself (DEST-001, DEST-006), chemical cautery (DEST-012), injections
(INJ-001), same-class repairs (RPR-001) and any pair with an E/M code (EM rules).

The shipped rulesets/ncci_pairs.csv is a small excerpt whose pairs all belong to those named
rules, so PTP-001 finds nothing until the quarterly CMS file is imported. To make it fire:
  1. download the practitioner PTP edits from the CMS NCCI page ('Medicare NCCI Procedure to
     Procedure (PTP) Edits', practitioner file for the quarter; a zip of four tab-delimited
     text files ccipra-v###r#-f1.txt ... f4.txt);
  2. dermaudit refdata import ccipra-v313r0-f*.txt --into cms2025q4   (or the zip itself);
  3. dermaudit scan charges.csv --ruleset cms2025q4
The imported pairs (confidence P, indicators 0/1/9, effective and deletion dates) replace the
excerpt's rows for the same pair, and every other pair of the file is judged here.
""",
    why="""
NCCI PTP edits deny the column-2 code when both are billed for one patient on one day by one
provider, unless the edit allows a modifier (indicator 1) and the services really were
distinct (separate lesion, site or encounter). A modifier on an indicator-0 pair does not
bypass the edit; if the payer paid anyway, it is an overpayment.
""",
    example="17000 (AK destruction) + 17260 (malignant destruction, trunk) same day, no modifier "
    "(historical pair, indicator unknown).",
    compliant="17000 + 17260-XS when the basal cell carcinoma was a separate lesion, site "
    "documented; or only the column-1 code when both lines describe one lesion.",
    source=(
        "CMS NCCI practitioner PTP edits (quarterly release; column 1/column 2, effective and"
        " deletion dates, modifier indicator 0/1/9) and the NCCI Policy Manual for Medicare "
        "Services (revision effective 2025-01-01), ch. I §E (modifiers and modifier "
        "indicators; NCCI-associated modifiers 59, X{EPSU}, anatomic, 24, 25, 57, 58, 78, 79,"
        " 91). The shipped table is an excerpt, not the CMS file."
    ),
    amount="2025 national non-facility fee x units of the column-2 line(s) (its charge when "
    "the code has no fee): the line the edit denies, or that was paid in error.",
    limits="""
The shipped ncci_pairs.csv is built from policy pointers, not the CMS file: column order and
indicators are unverified where marked U, and one group (17000/17004 with 17260-17286) is
historical (NCCI v11.0, c. 2005) and may have been deleted - those findings are reviews.
Effective/deletion dates are applied only when the table has them. The family exclusion is
coarse: an imported file's pair in an owned family pair is left to the family rule even if
that rule checks a narrower condition. Anatomic modifiers are accepted as bypass without
checking that they differ between the two lines.
""",
)
def ptp_001(ctx: Context) -> pl.LazyFrame:
    ref = ctx.ref
    families = sorted(set(ref.codes["family"].drop_nulls().to_list()) | {"unlisted"})
    owned = _owned_family_pairs(families)
    ncci_mods = sorted(
        set(ref.modifiers_of("distinct"))
        | set(ref.modifiers_of("anatomic"))
        | set(ref.modifiers_of("global"))
        | set(ref.modifiers_of("em"))
        | set(EXTRA_NCCI_MODS)
    )
    pairs = ref.ncci_pairs.select(
        pl.col("column1").str.strip_chars(),
        pl.col("column2").str.strip_chars(),
        pl.col("modifier_indicator").fill_null("U").str.strip_chars().alias("ind"),
        pl.col("effective"),
        pl.col("deletion"),
        pl.col("rationale").fill_null(""),
        pl.col("confidence").fill_null("U").str.strip_chars().alias("pair_conf"),
    ).filter((pl.col("ind") != "9") & (pl.col("column1") != pl.col("column2")))
    # Only lines whose code is in a pair that no named rule owns can be reported: drop the
    # others first. A line's family is its code's family in the code table ("other" when the
    # table has none, "unlisted" for a code not in it; features.enrich_lines); the owned
    # check below still uses the lines' own families.
    code_family = dict(
        zip(
            ref.codes["code"].to_list(),
            ref.codes["family"].fill_null("other").to_list(),
            strict=True,
        )
    )
    live = pairs.with_columns(
        pl.col("column1").replace_strict(code_family, default="unlisted").alias("f1"),
        pl.col("column2").replace_strict(code_family, default="unlisted").alias("f2"),
    ).join(owned, on=["f1", "f2"], how="anti")
    live_codes = sorted(
        set(live["column1"].drop_nulls().to_list()) | set(live["column2"].drop_nulls().to_list())
    )
    base = ctx.lines.filter(one_of("cpt", live_codes)).select(
        "_file",
        "_row",
        "claim_id",
        "payer_class",
        *DAY_KEY,
        DAY_ID,
        "cpt",
        "family",
        "units",
        "fee",
        "charge",
        pl.col("mods").list.eval(pl.element().is_in(ncci_mods)).list.any().alias("bypass"),
    )
    col2 = base.select(
        DAY_ID,
        pl.col("cpt").alias("column2"),
        pl.col("_row").alias("_row2"),
        pl.col("bypass").alias("bypass2"),
        pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")).alias("amt2"),
    )
    # 1. code pairs that occur together on a day (small: a derm day has a handful of codes),
    # 2. matched to the pair table on both codes, not owned elsewhere,
    # 3. only then joined back to the lines for rows, modifiers, dates and amounts.
    day_codes = base.select(DAY_ID, "cpt", "family").unique()
    combos = (
        day_codes.rename({"cpt": "column1", "family": "f1"})
        .join(day_codes.rename({"cpt": "column2", "family": "f2"}), on=DAY_ID, how="inner")
        .filter(pl.col("column1") != pl.col("column2"))
        .join(pairs.lazy(), on=["column1", "column2"], how="inner")
        .join(owned.lazy(), on=["f1", "f2"], how="anti")
        .drop("f1", "f2")
    )
    j = (
        combos.join(
            base.drop("family").rename({"cpt": "column1"}), on=[DAY_ID, "column1"], how="inner"
        )
        .filter(
            (pl.col("effective").is_null() | (pl.col("dos") >= pl.col("effective")))
            & (pl.col("deletion").is_null() | (pl.col("dos") < pl.col("deletion")))
        )
        .join(col2, on=[DAY_ID, "column2"], how="inner")
    )
    any_mod = pl.col("bypass") | pl.col("bypass2")
    flagged = j.filter((pl.col("ind") == "0") | ~any_mod.fill_null(False))
    key = [DAY_ID, "column1", "column2"]
    amounts = (
        flagged.select(*key, "_row2", "amt2")
        .unique()
        .group_by(key)
        .agg(pl.when(pl.col("amt2").count() > 0).then(pl.col("amt2").sum()).alias("amt"))
    )
    per_pair = (
        flagged.group_by(key)
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.concat_list("_row", "_row2").list.explode().unique().sort().alias("pair_rows"),
            pl.col("ind").first(),
            pl.col("pair_conf").first(),
            pl.col("rationale").first(),
            any_mod.any().alias("mod_used"),
        )
        .join(amounts, on=key, how="left")
    )
    zero = pl.col("ind") == "0"
    unsure = (pl.col("ind") == "U") | (pl.col("pair_conf") == "U")
    severity = (
        pl.when(unsure)
        .then(pl.lit("review"))
        .when(zero & pl.col("mod_used"))
        .then(pl.lit("compliance"))
        .otherwise(pl.lit("denial"))
    )
    return emit(
        per_pair,
        rows=pl.col("pair_rows"),
        codes=msg(pl.col("column1"), " + ", pl.col("column2")),
        message=msg(
            pl.col("column1"),
            " and ",
            pl.col("column2"),
            " billed on the same day: NCCI pair (column 1 ",
            pl.col("column1"),
            ", column 2 ",
            pl.col("column2"),
            ", modifier indicator ",
            pl.col("ind"),
            ")",
            pl.when(zero & pl.col("mod_used"))
            .then(pl.lit("; a modifier cannot bypass an indicator-0 edit"))
            .when(~zero)
            .then(pl.lit(" with no NCCI-associated modifier on either line")),
            pl.when(pl.col("rationale") != "").then(msg(" - ", pl.col("rationale"))),
        ),
        suggestion=pl.when(zero)
        .then(
            msg(
                "bill only ",
                pl.col("column1"),
                "; ",
                pl.col("column2"),
                " is not payable with it and no modifier overrides this edit",
            )
        )
        .otherwise(
            msg(
                "if ",
                pl.col("column2"),
                " treated a separate lesion, site or "
                "encounter, append XS (or XE/59, or anatomic modifiers) to ",
                pl.col("column2"),
                " with the site documented; otherwise bill only ",
                pl.col("column1"),
            )
        ),
        amount=pl.col("amt"),
        severity=severity,
        money=pl.when(zero & pl.col("mod_used")).then(pl.lit("over")).otherwise(pl.lit("either")),
    )
