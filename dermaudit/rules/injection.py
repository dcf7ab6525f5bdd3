"""Intralesional injections (11900/11901) and the injected drug's units.

11900 covers up to 7 lesions injected in a session and 11901 more than 7: one code, one unit,
per session. Both have a 000 global period, so an E/M on an injection-only visit is handled by
the E/M rules (INJ-003 is a cross-reference to EM-001/EM-002, not a rule of its own).
"""

from __future__ import annotations

import polars as pl

from ..features import DAY_ID
from ..model import Confidence, Money, Severity
from .base import Context, emit, has_dx, msg, rows_of, rule
from .destruction import doc_count

INJ = ("11900", "11901")

# Drug HCPCS codes checked by INJ-002: (milligrams per billing unit, plausible units per day).
# The ceilings are dermaudit's plausibility bounds (U), not MUE values: triamcinolone acetonide is
# typically 1-40 mg intralesionally and 40-80 mg intramuscularly per visit, so more than
# 8 units (80 mg) of J3301 on one day usually means milligrams were keyed as units.
DRUG_UNITS: dict[str, tuple[float, int]] = {"J3301": (10.0, 8)}


@rule(
    "INJ-001",
    scope=("injection",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="11900 with 11901, or intralesional injection above one unit",
    codes=INJ,
    out_of_scope="Two separate injection sessions on one day; the drug supplied (INJ-002, "
    "INJ-004); chemotherapy intralesional codes 96405/96406.",
    flags="""
11900 and 11901 on the same day for the same patient and rendering provider, or either code
above 1 unit (as units or repeated lines).
""",
    why="""
11900 (up to 7 lesions) and 11901 (more than 7) describe the whole injection session by lesion
count: one of them, once. Units per lesion, or both codes, pay the session more than once.
""",
    example="11900 x4 for four keloids injected at one visit.",
    compliant="11900 x1 for up to 7 lesions; 11901 x1 alone for more than 7.",
    source=(
        "CPT 2025 Professional Edition, 11900/11901 descriptors (intralesional injection by "
        "number of lesions per session: up to 7, more than 7); the wording was not verified "
        "verbatim (U)."
    ),
    amount="""
2025 national non-facility fees: billed 11900/11901 (fee x units) minus one unit of the
compliant code - 11901 when billed, when lesion_count is above 7, or when 11900 alone was
billed with more than 7 units (units read as lesions); otherwise 11900.
""",
    limits="""
Confidence U: the descriptor wording was not verified verbatim, so this is a review. Two
separate injection sessions on one day are not exempted.
""",
)
def inj_001(ctx: Context) -> pl.LazyFrame:
    u0, u1 = ctx.u("11900"), ctx.u("11901")
    f0, f1 = ctx.fee("11900"), ctx.fee("11901")
    d = ctx.days.filter(((u0 > 0) & (u1 > 0)) | (u0 > 1) | (u1 > 1)).join(
        doc_count(ctx, INJ), on=DAY_ID, how="left"
    )
    use_01 = (u1 > 0) | (pl.col("doc_n").fill_null(0) > 7) | ((u1 == 0) & (u0 > 7))
    billed_txt = (
        pl.concat_list(
            pl.when(u0 > 0).then(msg("11900 x", u0)), pl.when(u1 > 0).then(msg("11901 x", u1))
        )
        .list.drop_nulls()
        .list.join(" + ")
    )
    return emit(
        d,
        rows=rows_of(*INJ),
        codes=billed_txt,
        message=msg(
            billed_txt,
            " on one day; 11900 (up to 7 lesions) and 11901 (more than 7) are single session "
            "codes (one or the other, one unit)",
        ),
        suggestion=pl.when(use_01)
        .then(msg("bill 11901 x1 (more than 7 lesions) instead of ", billed_txt))
        .otherwise(msg("bill 11900 x1 (up to 7 lesions) instead of ", billed_txt)),
        amount=(u0 * f0 + u1 * f1 - pl.when(use_01).then(f1).otherwise(f0)).clip(0),
    )


@rule(
    "INJ-002",
    scope=("drug",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Injected drug units above a plausible dose",
    codes=tuple(DRUG_UNITS),
    out_of_scope="Drugs other than triamcinolone J3301; the payer's MUE for the drug unless the "
    "CMS MUE table is imported.",
    flags="""
A drug code billed per dose unit (J3301 triamcinolone acetonide, per 10 mg) with more units on
one day, for one patient and rendering provider, than a plausible dermatology dose: above 8
units (80 mg) of J3301.
""",
    why="""
Drug HCPCS codes are billed in the code's own unit (J3301 = 10 mg), not in milligrams or
millilitres. Keying 40 units for 40 mg bills ten times the dose given; payers recoup drug
units the record does not support.
""",
    example="J3301 x40 with 11900 for 40 mg of triamcinolone injected into keloids.",
    compliant="J3301 x4 (40 mg = 4 units of 10 mg) with 11900 x1.",
    source=(
        "CMS HCPCS Level II code set 2025, J3301 (triamcinolone acetonide, per 10 mg); CMS "
        "NCCI MUE practitioner table for the payer's own limit (import it with 'dermaudit "
        "refdata import'). The 80 mg review ceiling is dermaudit's plausibility bound from "
        "typical intralesional (1-40 mg) and intramuscular (40-80 mg) doses, not an MUE "
        "value."
    ),
    amount="""
The charge per unit x the units above the ceiling (null when the export has no charge; drugs
have no fee in the code table).
""",
    limits="""
Confidence U: the ceiling is dermaudit's plausibility bound, not the CMS MUE, and a large
intramuscular dose can be genuine - review only. Load the practitioner MUE table for the
payer's own limit.
""",
)
def inj_002(ctx: Context) -> pl.LazyFrame:
    frames: list[pl.LazyFrame] = []
    for code, (mg, cap) in DRUG_UNITS.items():
        u = ctx.u(code)
        charge = (
            pl.col("lines")
            .list.eval(
                pl.element().struct.field("charge").filter(pl.element().struct.field("cpt") == code)
            )
            .list.sum()
        )
        d = ctx.days.filter(u > cap)
        frames.append(
            emit(
                d,
                rows=rows_of(code),
                codes=msg(code, " x", u),
                message=msg(
                    code,
                    " billed ",
                    u,
                    " units on one day (",
                    (u * mg).cast(pl.Int64),
                    f" mg at {mg:g} mg per unit); more than {cap} units ({cap * mg:g} mg) is "
                    "unusual for a dermatology visit - milligrams may have been keyed as units",
                ),
                suggestion=msg(
                    "check the dose given and bill ",
                    code,
                    f" in {mg:g} mg units (e.g. 40 mg = {40 / mg:g} units)",
                ),
                amount=pl.when(charge > 0).then(charge / u * (u - cap)).otherwise(None),
            )
        )
    return pl.concat(frames)


# ---- INJ-004: 96372 without a drug ---------------------------------------------------------

# Diagnoses typically treated by intralesional injection (11900/11901), by ICD-10-CM prefix:
# keloid and hypertrophic scar, alopecia areata, cysts and acne cysts, psoriasis plaques,
# granuloma annulare, lichen simplex / prurigo nodularis, lichen planus, discoid lupus.
INTRALESIONAL_DX = (
    "L91.0",
    "L63",
    "L72",
    "L70",
    "L73.2",
    "L40",
    "L92.0",
    "L28",
    "L43",
    "L93.0",
)
DRUG_CODE = r"^[JQ]\d{4}$"  # HCPCS Level II drug supply codes (J-codes, Q-code drugs)


@rule(
    "INJ-004",
    scope=("injection_admin",),
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.UNDER,
    title="Injection administration (96372) billed without a drug supply code",
    level="line",
    out_of_scope="Drugs the patient supplied or samples (no supply line is due); 96372 with any "
    "J/Q drug code on the claim or day; vaccines and chemotherapy administration codes.",
    flags="""
96372 (subcutaneous or intramuscular injection) on a claim - and a day of the same patient
and rendering provider - with no drug supply code (a HCPCS J-code, a Q-code drug, or a code of
family 'drug' in rulesets/codes.csv). When the line's diagnoses are conditions treated by
intralesional injection (keloid, alopecia areata, cysts, acne, psoriasis plaques, granuloma
annulare, lichen simplex, lichen planus, discoid lupus), the message says the administration
code is probably the wrong one.
""",
    why="""
96372 pays only the administration; the drug the practice supplies is billed with its own
HCPCS code and units. A 96372 alone either leaves the drug unbilled (revenue lost - triamcinolone
is J3301 per 10 mg) or codes an intralesional injection as a subcutaneous/intramuscular one:
injections into skin lesions are 11900 (up to 7 lesions) or 11901 (more than 7).
""",
    example="96372 with L91.0 (keloid) and no J3301 on the claim.",
    compliant="11900 + J3301 x2 for a keloid injected with 20 mg triamcinolone; 96372 + J3301 "
    "x4 for an intramuscular 40 mg dose.",
    source=(
        "CPT 2025 Professional Edition, 96372 (therapeutic injection, subcutaneous or "
        "intramuscular) and 11900/11901 (intralesional injection); NCCI Policy Manual for "
        "Medicare Services (revision effective 2025-01-01) ch. XI (therapeutic injections: the "
        "drug is reported separately with its HCPCS code); Medicare Claims Processing Manual, "
        "Pub. 100-04, ch. 17 (drugs and biologicals billed with HCPCS codes and units); CMS "
        "HCPCS Level II 2025 (J3301). The rule is a review (U): a missing drug line can be "
        "correct when the patient brought the drug."
    ),
    amount="""
With an intralesional diagnosis: the 2025 national non-facility fee of 11900 minus that of
96372 (the administration code swap, $41.73). Otherwise none: the missing drug's amount
depends on the drug and dose, which the export does not show.
""",
    limits="""
Confidence U: the drug may have been supplied by the patient or a specialty pharmacy (e.g.
biologics), in which case no supply line is due. The drug code is looked for on the same claim
id and the same day key. 'Intralesional' is inferred from the diagnosis only.
""",
)
def inj_004(ctx: Context) -> pl.LazyFrame:
    is_drug = pl.col("cpt").str.contains(DRUG_CODE).fill_null(False) | (
        pl.col("family") == "drug"
    ).fill_null(False)
    adm = ctx.lines.filter((pl.col("cpt") == "96372") & (pl.col("payer_class") != "self_pay"))
    drug = ctx.lines.filter(is_drug)
    adm = adm.join(drug.select("claim_id").unique(), on="claim_id", how="anti").join(
        drug.select(DAY_ID).unique(), on=DAY_ID, how="anti"
    )
    intra = has_dx(list(INTRALESIONAL_DX))
    swap = ctx.fee("11900") - ctx.fee("96372")
    return emit(
        adm.with_columns(intra.alias("intra")),
        rows=pl.concat_list(pl.col("_row")),
        codes=pl.col("cpt"),
        message=pl.when(pl.col("intra"))
        .then(
            msg(
                "96372 (subcutaneous/intramuscular injection) billed for ",
                pl.col("dx").list.join(" "),
                " with no drug supply code on the claim: a lesion injected with a drug is an "
                "intralesional injection (11900/11901), and the drug is billed with its own "
                "code",
            )
        )
        .otherwise(
            msg(
                "96372 (injection administration) billed with no drug supply code (J/Q "
                "HCPCS) on the claim or day",
            )
        ),
        suggestion=pl.when(pl.col("intra"))
        .then(
            msg(
                "if the drug was injected into the lesion(s), bill 11900 (up to 7 lesions) or "
                "11901 instead of 96372, plus the drug code and units (e.g. J3301 per 10 mg "
                "triamcinolone)",
            )
        )
        .otherwise(
            msg(
                "add the drug's HCPCS code and units to the claim (e.g. J3301 per 10 mg "
                "triamcinolone) unless the patient supplied the drug",
            )
        ),
        amount=pl.when(pl.col("intra")).then(pl.lit(swap)).otherwise(pl.lit(None, pl.Float64)),
    )
