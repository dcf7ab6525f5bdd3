"""In-office dermatopathology: surgical pathology units against specimen-producing procedures.

Pathology is matched to procedures by patient and date of service across rendering providers,
because the dermatopathologist who reads the slide is often not the surgeon. Medicare's date
of service for a specimen is the collection date, so the pathology line normally carries the
procedure date. Each separately submitted specimen is one unit of one of 88302-88309 (88305
for a typical skin biopsy).

PATH-003 (pathology on Mohs specimens) is MOHS-003: dates with Mohs are left to the Mohs
rules here.
"""

from __future__ import annotations

import polars as pl

from ..model import Confidence, Money, Severity
from .base import SURG_PATH, Context, emit, msg, one_of, rule
from .biopsy import BX_START, TECHNIQUES, usd

PATIENT_DAY = ["patient_id", "dos"]
# Families whose every unit can yield a specimen; session codes count one per line.
PER_UNIT_FAMILIES = (
    "biopsy",
    "shave",
    "excision_benign",
    "excision_malignant",
    "destruction_malignant",
)
PER_LINE_CODES = ("17110", "17111", "11200")
PER_UNIT_CODES = ("11201",)
# One-biopsy encounters: primary code -> its add-on (2019+), and the pre-2019 pair.
ADDON_OF = {p: a for _, p, a in TECHNIQUES}
PRE_2019 = ("11100", "11101")


def _patient_days(ctx: Context, keep: pl.Expr) -> pl.LazyFrame:
    """Per patient and date: pathology specimens billed and specimen-producing capacity, for
    the patient-days with more than one specimen (both PATH rules need that) matching ``keep``
    (an expression on the numbers, codes and date)."""
    lines = ctx.lines
    path_code = one_of("cpt", SURG_PATH)
    comp26 = pl.col("mods").list.contains("26").fill_null(False)
    comptc = pl.col("mods").list.contains("TC").fill_null(False)
    per_unit = one_of("family", PER_UNIT_FAMILIES) | one_of("cpt", PER_UNIT_CODES)
    capacity = (
        pl.when(per_unit)
        .then(pl.col("units"))
        .when(one_of("cpt", PER_LINE_CODES))
        .then(pl.lit(1))
        .otherwise(pl.lit(0))
    )
    is_spec = pl.col("cap") > 0
    units = pl.col("units")
    p_26, p_tc = units.filter(pl.col("p_26")).sum(), units.filter(pl.col("p_tc")).sum()
    specimens = units.filter(pl.col("p_global")).sum() + pl.max_horizontal(p_26, p_tc)
    # only patient-days with more than one surgical pathology specimen (counted from the
    # pathology lines alone), and only the lines that matter to them
    path_days = (
        lines.filter(path_code)
        .select(
            *PATIENT_DAY,
            "units",
            (~comp26 & ~comptc).alias("p_global"),
            comp26.alias("p_26"),
            comptc.alias("p_tc"),
        )
        .group_by(PATIENT_DAY)
        .agg(specimens.alias("specimens"))
        .filter(pl.col("specimens") > 1)
        .select(PATIENT_DAY)
    )
    relevant = path_code | per_unit | one_of("cpt", PER_LINE_CODES) | (pl.col("family") == "mohs")

    def day_lines(keys: pl.LazyFrame) -> pl.LazyFrame:
        """The lines that matter on the patient-days in ``keys``, with per-line numbers."""
        return (
            lines.filter(relevant)
            .join(keys, on=PATIENT_DAY, how="semi")
            .select(
                *PATIENT_DAY,
                "_file",
                "_row",
                "claim_id",
                "provider",
                "payer_class",
                "cpt",
                capacity.alias("cap"),
                path_code.alias("is_path"),
                (path_code & ~comp26 & ~comptc).alias("p_global"),
                (path_code & comp26).alias("p_26"),
                (path_code & comptc).alias("p_tc"),
                (pl.col("family") == "biopsy").alias("is_bx"),
                (pl.col("family") == "mohs").alias("is_mohs"),
                units,
                pl.col("charge"),
            )
        )

    is_path = pl.col("is_path")
    is_bx = pl.col("is_bx")
    # 1. the numbers, then the patient-days that matter; 2. only for those, the codes and rows
    # (their lines are selected again: cheaper than keeping every patient-day's lines)
    numbers = (
        day_lines(path_days)
        .group_by(PATIENT_DAY)
        .agg(
            pl.col("_file").first(),
            pl.col("claim_id").filter(is_path).first().alias("claim_id"),
            pl.col("provider").filter(is_path).first().alias("provider"),
            pl.col("payer_class").filter(is_path).first().alias("payer_class"),
            units.filter(pl.col("p_global")).sum().alias("p_global"),
            units.filter(pl.col("p_26")).sum().alias("p_26"),
            units.filter(pl.col("p_tc")).sum().alias("p_tc"),
            pl.col("charge").filter(is_path).sum().alias("p_charge"),
            units.filter(is_path).sum().alias("p_units"),
            pl.col("cap").sum().alias("cap"),
            units.filter(is_bx).sum().alias("bx_units"),
            pl.col("cpt").filter(is_bx).first().alias("bx_code"),
            pl.col("cap").filter(~is_bx).sum().alias("other_cap"),
            pl.col("is_mohs").any().alias("mohs"),
        )
        .with_columns((pl.col("p_global") + pl.max_horizontal("p_26", "p_tc")).alias("specimens"))
        .filter((pl.col("specimens") > 0) & ~pl.col("mohs"))
    )
    # the same numbers for PATH-001 and PATH-002: computed once per scan
    numbers = ctx.shared("pathology patient-days", lambda _: numbers).filter(keep)
    listed = (
        day_lines(numbers.select(PATIENT_DAY))
        .group_by(PATIENT_DAY)
        .agg(
            pl.col("cpt")
            .filter(is_path)
            .unique(maintain_order=True)
            .sort()
            .str.join(" + ")
            .alias("p_codes"),
            pl.col("_row").filter(is_path | is_spec).sort().alias("r"),
            pl.col("cpt")
            .filter(is_spec)
            .unique(maintain_order=True)
            .sort()
            .str.join(" + ")
            .alias("spec_codes"),
        )
    )
    return numbers.join(listed, on=PATIENT_DAY, how="left")


def _addon_expr() -> pl.Expr:
    """The add-on code for the day's single biopsy, or null if it has none."""
    out = pl.lit(None, pl.String)
    for p, a in ADDON_OF.items():
        out = (
            pl.when((pl.col("bx_code") == p) & (pl.col("dos") >= BX_START))
            .then(pl.lit(a))
            .otherwise(out)
        )
    return (
        pl.when((pl.col("bx_code") == PRE_2019[0]) & (pl.col("dos") < BX_START))
        .then(pl.lit(PRE_2019[1]))
        .otherwise(out)
    )


def _one_biopsy_pattern() -> pl.Expr:
    return (
        (pl.col("bx_units") == 1)
        & (pl.col("other_cap") == 0)
        & (pl.col("specimens") > 1)
        & _addon_expr().is_not_null()
    )


@rule(
    "PATH-001",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Surgical pathology units exceed the specimen-producing procedures",
    out_of_scope="Dates with Mohs (MOHS-003); pathology with no same-day procedure (outside "
    "specimens); the one-biopsy pattern (PATH-002).",
    flags="""
For one patient and date of service (any rendering provider), more units of surgical
pathology 88302-88309 than the procedures that day could have produced specimens: biopsy,
shave and excision units, malignant-destruction units, and one per skin-tag or benign-
destruction session. Only dates with at least one such procedure are judged.
""",
    why="""
Each separately submitted specimen is one unit of surgical pathology. More pathology units
than specimens suggests duplicated or unsupported pathology billing, an overpayment.
""",
    example="11102 + 11103 (two biopsies) and 88305 x3 on the same date.",
    compliant="88305 x2, one per biopsy specimen.",
    source=(
        "CPT 2025 Professional Edition surgical pathology guidelines (88300-88309: the unit "
        "of service is the specimen); NCCI Policy Manual for Medicare Services ch. X "
        "(Pathology/Laboratory); the guideline wording was not read verbatim, so the rule is "
        "a review (U)."
    ),
    amount="""
Excess units x the billed pathology charge per unit when the export has charges; no amount
otherwise (the fee table has no pathology fee: global, -26 and -TC rates differ).
""",
    limits="""
Confidence U: review only. A date with pathology but no procedure is skipped (outside
specimens read by an in-house dermatopathologist, or a lab that dates by receipt). Dates with
Mohs are left to MOHS-003. A lesion sent as several specimens (e.g. separately oriented
margins) is legitimate and needs the record. Professional (-26) and technical (-TC) lines for
the same specimen count once. The single-biopsy pattern (one biopsy, several pathology
units) is PATH-002.
""",
)
def path_001(ctx: Context) -> pl.LazyFrame:
    d = _patient_days(
        ctx, (pl.col("cap") >= 1) & (pl.col("specimens") > pl.col("cap")) & ~_one_biopsy_pattern()
    )
    excess = pl.col("specimens") - pl.col("cap")
    per_unit = pl.when(pl.col("p_units") > 0).then(pl.col("p_charge") / pl.col("p_units"))
    return emit(
        d,
        rows=pl.col("r"),
        codes=msg(pl.col("p_codes"), " x", pl.col("specimens")),
        message=msg(
            pl.col("specimens"),
            " surgical pathology specimen(s) billed (",
            pl.col("p_codes"),
            ") but the day's procedures (",
            pl.col("spec_codes"),
            ") account for at most ",
            pl.col("cap"),
        ),
        suggestion=msg(
            "bill pathology for at most ",
            pl.col("cap"),
            " specimen(s), one unit per separately submitted specimen, unless the record "
            "shows more specimens; remove ",
            excess,
            " unit(s)",
        ),
        amount=pl.when(pl.col("p_charge") > 0).then(excess * per_unit),
    )


@rule(
    "PATH-002",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.UNDER,
    title="Several pathology specimens but only one biopsy billed",
    out_of_scope="Dates with Mohs or other specimen-producing procedures (MOHS-003, "
    "PATH-001); which specimen belongs to which biopsy.",
    flags="""
For one patient and date: more than one unit of surgical pathology (88302-88309) while the only
specimen-producing procedure billed is a single skin biopsy unit (11102, 11104 or 11106; 11100
before 2019) - biopsy add-on codes may have been missed.
""",
    why="""
Each biopsy after the first is reported with an add-on code (11103/11105/11107 by technique).
Two or more specimens from one encounter with one biopsy code usually mean the further
biopsies were not billed (revenue lost); otherwise the pathology units are overstated.
""",
    example="11102 x1 and 88305 x3 on the same date.",
    compliant="11102 + 11103 x2 and 88305 x3 (three tangential biopsies).",
    source=(
        "CPT 2025 Professional Edition skin-biopsy add-on structure (11103/11105/11107 per "
        "additional lesion) and surgical pathology unit of service (the specimen); NCCI "
        "Policy Manual for Medicare Services ch. X; secondary: AAD 'Cracking the code' 2019, "
        "First Coast 2024. Not read verbatim (U)."
    ),
    amount="""
(pathology specimens - 1) x the 2025 national non-facility fee of the add-on of the biopsy's
technique (e.g. 11103 $47.87 for a tangential biopsy). The add-on of the billed technique is
assumed; a different technique changes the amount.
""",
    limits="""
Confidence U: review only. One biopsy split into several specimens, or outside specimens read
the same day, also produce this pattern. Dates with Mohs are left to MOHS-003; dates with
other specimen-producing procedures are PATH-001.
""",
)
def path_002(ctx: Context) -> pl.LazyFrame:
    d = _patient_days(ctx, _one_biopsy_pattern()).with_columns(
        _addon_expr().alias("addon"), (pl.col("specimens") - 1).alias("missing")
    )
    addon_fee = pl.lit(None, pl.Float64)
    for a in (*ADDON_OF.values(), PRE_2019[1]):
        addon_fee = (
            pl.when(pl.col("addon") == a).then(pl.lit(ctx.fee(a) or None)).otherwise(addon_fee)
        )
    amount = pl.col("missing") * addon_fee
    return emit(
        d,
        rows=pl.col("r"),
        codes=msg(pl.col("bx_code"), " + ", pl.col("p_codes"), " x", pl.col("specimens")),
        message=msg(
            pl.col("specimens"),
            " pathology specimens (",
            pl.col("p_codes"),
            ") but only one biopsy (",
            pl.col("bx_code"),
            ") and no other specimen-producing procedure on the date: ",
            pl.col("missing"),
            " biopsy add-on(s) may be missing, or the pathology units are overstated",
        ),
        suggestion=msg(
            "if ",
            pl.col("specimens"),
            " lesions were biopsied, bill ",
            pl.col("bx_code"),
            " + ",
            pl.col("addon"),
            pl.when(pl.col("missing") > 1).then(msg(" x", pl.col("missing"))),
            " (add-on of the technique used for each further biopsy",
            pl.when(amount.is_not_null()).then(msg("; ", usd(amount), " at 2025 national rates")),
            "); otherwise bill one pathology unit per specimen",
        ),
        amount=amount,
    )
