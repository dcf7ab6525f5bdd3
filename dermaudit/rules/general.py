"""General and data-validity rules (GEN).

* GEN-001 code not valid on the date of service (``valid_from``/``valid_to`` in codes.csv);
* GEN-002 add-on code without an eligible primary the same day (addon_primaries.csv);
* GEN-003 units above a per-day or per-line cap (unit_caps.csv);
* GEN-004 Medicare fee-schedule status screen (status I, B, R, N, C, X);
* GEN-005 exact duplicate lines.

Where a named family rule already reports the same thing, the GEN rule leaves it to that rule
(``*_OWNED_BY`` tables below) so one error is reported once.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..features import DAY_ID, DAY_KEY, EM_OFFICE, day_key_first
from ..model import Confidence, Money, Severity
from .base import MEDICARE, Context, emit, line_rows, msg, one_of, rule

REPEAT_MODS = ["76", "77", "59", "XE", "XS", "XP", "XU"]


def _valid_on_dos() -> pl.Expr:
    """The line's code is inside its validity window (blank dates = open)."""
    return (
        (pl.col("valid_from").is_null() | (pl.col("dos") >= pl.col("valid_from")))
        & (pl.col("valid_to").is_null() | (pl.col("dos") <= pl.col("valid_to")))
    ).fill_null(True)


def _line_amount() -> pl.Expr:
    """2025 national non-facility fee x units; the line's charge when the code has no fee."""
    return pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge"))


def _lookup(col: str, mapping: dict[str, str]) -> pl.Expr:
    """Text for a code from a small table; null when the code is not in it."""
    return pl.col(col).replace_strict(mapping, default=None, return_dtype=pl.String)


# ---- GEN-001 ----------------------------------------------------------------------------

# What to bill instead of a code that did not exist on the date of service (dermaudit's
# wording of the CMS PFS file changes by year). Codes not listed get a generic suggestion.
REPLACED_BY: dict[str, str] = {
    "11100": "bill the 2019+ technique codes: 11102 (tangential), 11104 (punch) or 11106 "
    "(incisional) for the first biopsy",
    "11101": "bill the 2019+ add-ons 11103, 11105 or 11107 (technique of each further biopsy) "
    "with one primary 11102/11104/11106",
    "11102": "bill 11100 for the first biopsy (technique codes start 2019-01-01)",
    "11104": "bill 11100 for the first biopsy (technique codes start 2019-01-01)",
    "11106": "bill 11100 for the first biopsy (technique codes start 2019-01-01)",
    "11103": "bill 11101 for each further biopsy (technique codes start 2019-01-01)",
    "11105": "bill 11101 for each further biopsy (technique codes start 2019-01-01)",
    "11107": "bill 11101 for each further biopsy (technique codes start 2019-01-01)",
    "99201": "bill 99202 (the lowest new-patient level from 2021-01-01)",
    "99241": "bill the office E/M 99202-99215 that fits (99241 was deleted 2023-01-01; "
    "Medicare does not pay consultation codes)",
    "G2211": "remove G2211: the code did not exist before 2021-01-01",
    "G2212": "use the prolonged-service code in force on that date (99354 before 2021); "
    "G2212 starts 2021-01-01",
    "99417": "use the prolonged-service code in force on that date (99354 before 2021); "
    "99417 starts 2021-01-01",
}


@rule(
    "GEN-001",
    severity=Severity.DENIAL,
    confidence=Confidence.P,
    money=Money.EITHER,
    title="Code not valid on the date of service",
    level="line",
    out_of_scope="Codes missing from rulesets/codes.csv or without validity dates (assumed "
    "valid); codes whose meaning changed without a new number (17110/17111 in 2007).",
    flags="""
A CPT/HCPCS line whose date of service falls outside the code's validity window in
rulesets/codes.csv (valid_from / valid_to): e.g. 11100/11101 on or after 2019-01-01,
11102-11107 before 2019-01-01, 99201 from 2021, 99241 from 2023, G2211/G2212/99417 before 2021,
fat-grafting codes 15769/15771-15774 before 2020.
""",
    why="""
A code that was deleted, or not yet created, on the date of service is rejected by the payer's
front-end edits (invalid procedure code for the date): the line is unpaid until it is re-coded.
Code sets change every 1 January (and quarterly for HCPCS/Category III), so an audit of 2018
charges must use the 2018 code set.
""",
    example="11100 (old skin biopsy code) on 2019-03-04; 11104 on 2018-11-20; 99201 on 2021-02-01.",
    compliant=("11104 (punch biopsy) on 2019-03-04; 11100 on 2018-11-20; 99202 on 2021-02-01."),
    source=(
        "CMS PFS Relative Value Files CY2019-CY2025 (code present or absent by year: "
        "11100/11101 absent and 11102-11107 present from 2019, 99201 absent from 2021, 99241 "
        "absent from 2023, G2212/99417 present from 2021); CPT 2019, 2021 and 2023 code-set "
        "changes; HIPAA code-set standard 45 CFR 162.1002; secondary: AAD 2018 and First "
        "Coast 2024 on the 2019-01-01 biopsy switch."
    ),
    amount=(
        "2025 national non-facility fee x units of the line (its charge when the code has no "
        "fee): the line is unpaid until re-coded."
    ),
    limits="""
Only codes listed in rulesets/codes.csv with a validity date are judged; codes missing from the
table (or with blank dates) are assumed valid - import the yearly CMS PFS/HCPCS files for full
coverage. A code whose meaning changed without a new number (17110/17111 benign-only from
2007) is not a validity problem and is left to the destruction rules.
""",
)
def gen_001(ctx: Context) -> pl.LazyFrame:
    early = pl.col("valid_from").is_not_null() & (pl.col("dos") < pl.col("valid_from"))
    late = pl.col("valid_to").is_not_null() & (pl.col("dos") > pl.col("valid_to"))
    hit = ctx.lines.filter((early | late).fill_null(False))
    why = (
        pl.when(early)
        .then(msg("the code starts ", pl.col("valid_from")))
        .otherwise(msg("the code was deleted after ", pl.col("valid_to")))
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=msg(pl.col("cpt"), " is not a valid code on ", pl.col("dos"), " (", why, ")"),
        suggestion=pl.coalesce(
            _lookup("cpt", REPLACED_BY),
            msg("re-code with the code valid on ", pl.col("dos"), " (check that year's code set)"),
        ),
        amount=_line_amount(),
    )


# ---- GEN-002 ----------------------------------------------------------------------------

# Add-ons whose pairing a named rule reports: GEN-002 leaves them alone.
ADDON_OWNED_BY: dict[str, str] = {
    "17312": "MOHS-001",
    "17314": "MOHS-001",
    "17315": "MOHS-001",
}
# An orphan add-on is left to another rule when the day has one of these codes.
ADDON_DEFER_IF_DAY_HAS: dict[str, tuple[list[str], str]] = {
    "17003": (["17004"], "DEST-001"),  # 17004 replaces 17000 + 17003
    "G2212": (EM_OFFICE, "EM-012"),  # G2212 with the wrong E/M level
    "99417": (EM_OFFICE, "EM-012"),
}
# An orphan add-on before this date is left to another rule (G2211 was never payable then).
ADDON_DEFER_BEFORE: dict[str, tuple[date, str]] = {
    "G2211": (date(2024, 1, 1), "EM-013"),
}
# The add-on whose first unit should have been billed as this primary (same technique).
FIRST_UNIT_PRIMARY: dict[str, str] = {
    "11103": "11102",
    "11105": "11104",
    "11107": "11106",
    "11101": "11100",
    "17003": "17000",
    "11201": "11200",
    "14302": "14301",
    "15787": "15786",
    "15772": "15771",
    "15774": "15773",
    "0480T": "0479T",
    "88332": "88331",
}


@rule(
    "GEN-002",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.EITHER,
    title="Add-on code without an eligible primary on the same day",
    severities={
        Severity.REVIEW: "the add-on/primary pairing is tagged U in addon_primaries.csv (not "
        "confirmed in the CMS AOC file)",
    },
    out_of_scope="Primaries billed by another rendering provider the same day; add-ons whose "
    "pairing a named rule reports (biopsy, Mohs, 17003, G2211/G2212); add-ons invalid on the "
    "date (GEN-001).",
    flags="""
An add-on code (rulesets/addon_primaries.csv) billed for a patient on a day when the same
rendering provider billed none of its eligible primary codes: e.g. 11103/11105/11107 without
11102/11104/11106, 17003 without 17000, 11201 without 11200, 13102 without 13100/13101,
14302 without 14301, G2211 without an office E/M, G2212 without 99205/99215. One finding per
add-on code per day.

Not reported here (a named rule owns them): the Mohs add-ons 17312/17314/17315 (MOHS-001);
17003 on a day with 17004 (DEST-001: 17004 replaces 17000 + 17003); G2212/99417 on a day with
a different office E/M level (EM-012); G2211 before 2024-01-01 (EM-013: never payable then).
""",
    why="""
An add-on describes extra work done with a primary procedure and is payable only when that
primary is billed the same day by the same practitioner. The NCCI add-on code (AOC) edits deny
an orphan add-on; if a payer paid one anyway, the practice holds an overpayment.
""",
    example="11103 x2 (tangential biopsies) on a day with no 11102/11104/11106.",
    compliant="11102 x1 + 11103 x1 for two tangential biopsies (the first one is the primary).",
    source=(
        "CMS NCCI add-on code (AOC) edit file (type 1/2/3 primary lists; import it with "
        "'dermaudit refdata import'); add-ons carry global 'ZZZ' in the CMS PFS Relative "
        "Value File; CPT 2025 Professional Edition parenthetical instructions (biopsy "
        "add-ons, 17003, Mohs add-ons); CY2021 PFS final rule (G2212 with 99205/99215); "
        "secondary: AAD 2019, First Coast, AAPC."
    ),
    amount="2025 national non-facility fee x units of the orphan add-on (the line that is denied "
    "or was paid without its primary); the export's charge when the code has no fee.",
    limits="""
The pairings come from CPT parentheticals and society summaries, not the CMS AOC file (not
retrieved); pairings tagged U in addon_primaries.csv (repairs, ATT, 11201, 88332, fat grafting,
abdominoplasty, 0480T) are reported as review. A primary billed by a different rendering
provider the same day does not count. Add-ons invalid on the date of service are left to
GEN-001.
""",
)
def gen_002(ctx: Context) -> pl.LazyFrame:
    tbl = ctx.ref.tables["addon_primaries.csv"]
    addons = tbl.select(
        pl.col("addon").str.strip_chars().alias("cpt"),
        pl.col("primaries")
        .fill_null("")
        .str.strip_chars()
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias("primaries"),
        pl.col("confidence").fill_null("U").str.strip_chars().alias("pair_conf"),
    ).filter(~one_of("cpt", list(ADDON_OWNED_BY)) & (pl.col("primaries").list.len() > 0))
    lines = (
        ctx.lines.filter(one_of("cpt", addons["cpt"].to_list()))
        .join(addons.lazy(), on="cpt", how="inner")
        .filter(_valid_on_dos())
    )
    # 1. the (day, add-on) pairs without a primary: one row each, judged on the day's codes
    pairs = lines.select(DAY_ID, "cpt", "dos", "primaries").unique(subset=[DAY_ID, "cpt"])
    j = pairs.join(ctx.days.select(DAY_ID, "cpts"), on=DAY_ID, how="inner")
    has_primary = pl.col("cpts").list.set_intersection(pl.col("primaries")).list.len() > 0
    defer = pl.lit(False)
    for code, (others, _owner) in ADDON_DEFER_IF_DAY_HAS.items():
        day_has = pl.col("cpts").list.eval(pl.element().is_in(others)).list.any()
        defer = defer | ((pl.col("cpt") == code) & day_has)
    for code, (start, _owner) in ADDON_DEFER_BEFORE.items():
        defer = defer | ((pl.col("cpt") == code) & (pl.col("dos") < start))
    orphans = (
        j.with_columns(has_primary.fill_null(False).alias("has_primary"))
        .filter(~pl.col("has_primary"))
        # a column, so the deferral checks run on the orphans only
        .with_columns(defer.fill_null(False).alias("defer"))
        .filter(~pl.col("defer"))
        .select(DAY_ID, "cpt")
    )
    # 2. the lines of those pairs only
    hit = (
        lines.join(orphans, on=[DAY_ID, "cpt"], how="semi")
        .group_by([DAY_ID, "cpt"])
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row").sort().alias("addon_rows"),
            pl.col("units").sum().alias("n"),
            pl.col("fee").first(),
            pl.when(pl.col("charge").count() > 0).then(pl.col("charge").sum()).alias("charged"),
            pl.col("primaries").first(),
            pl.col("pair_conf").first(),
        )
    )
    first = _lookup("cpt", FIRST_UNIT_PRIMARY)
    plist = pl.col("primaries").list.join("/")
    swap = (
        pl.when(pl.col("n") > 1)
        .then(
            msg(
                "bill ",
                first,
                " x1 + ",
                pl.col("cpt"),
                " x",
                pl.col("n") - 1,
                " instead of ",
                pl.col("cpt"),
                " x",
                pl.col("n"),
                " (the first one is the primary), or add the primary that was performed",
            )
        )
        .otherwise(
            msg(
                "bill ",
                first,
                " x1 instead of ",
                pl.col("cpt"),
                " x1 (the first one is the primary), or add the primary that was performed",
            )
        )
    )
    generic = msg(
        "bill ",
        pl.col("cpt"),
        " only with its primary (",
        plist,
        ") by the same provider that day; add the primary if it was performed, otherwise remove ",
        pl.col("cpt"),
    )
    return emit(
        hit,
        rows=pl.col("addon_rows"),
        codes=msg(pl.col("cpt"), " x", pl.col("n")),
        message=msg(
            "add-on ",
            pl.col("cpt"),
            " x",
            pl.col("n"),
            " billed without any of its primary codes (",
            plist,
            ") on the same day by the same provider",
            pl.when(pl.col("pair_conf") == "U").then(pl.lit(" (pairing not verified: U)")),
        ),
        suggestion=pl.when(first.is_not_null()).then(swap).otherwise(generic),
        amount=pl.coalesce(pl.col("fee") * pl.col("n"), pl.col("charged")),
        severity=pl.when(pl.col("pair_conf") == "U")
        .then(pl.lit("review"))
        .otherwise(pl.lit("denial")),
    )


# ---- GEN-003 ----------------------------------------------------------------------------

# Codes whose unit cap a named rule reports: GEN-003 leaves them alone.
# Each of these rules checks "units > 1" (or the cap) for its codes.
CAP_OWNED_BY: dict[str, str] = {
    "17000": "DEST-002",
    "17003": "DEST-002",
    "17004": "DEST-002",
    "17110": "DEST-006",
    "17111": "DEST-006",
    "11102": "BX-001",
    "11104": "BX-001",
    "11106": "BX-001",
    "11200": "TAG-001",
    "11900": "INJ-001",
    "11901": "INJ-001",
}
# Repair codes (families repair_*) are RPR-001's: it flags two or more units of one repair
# class and site group on a day.
CAP_OWNED_FAMILIES: dict[str, str] = {
    "repair_simple": "RPR-001",
    "repair_intermediate": "RPR-001",
    "repair_complex": "RPR-001",
}
# What to bill instead of the extra units (dermaudit's wording of the CPT code structure).
CAP_FIX: dict[str, str] = {
    "11055": "bill one paring code for the session by lesion count: 11055 (1), 11056 (2-4) or "
    "11057 (more than 4)",
    "11056": "bill one paring code for the session by lesion count: 11055 (1), 11056 (2-4) or "
    "11057 (more than 4)",
    "11057": "bill 11057 x1 for the session (more than 4 lesions)",
    "11720": "bill one nail-debridement code for the session: 11720 (1-5 nails) or 11721 "
    "(6 or more)",
    "11721": "bill 11721 x1 for the session (6 or more nails)",
    "96920": "bill one excimer code for the session by the total area treated: 96920 (under "
    "250 sq cm), 96921 (250-500) or 96922 (over 500)",
    "96921": "bill one excimer code for the session by the total area treated: 96920 (under "
    "250 sq cm), 96921 (250-500) or 96922 (over 500)",
    "96922": "bill 96922 x1 for the session (over 500 sq cm treated)",
    "G2211": "bill G2211 x1 with the office E/M visit",
}


@rule(
    "GEN-003",
    severity=Severity.DENIAL,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Units above the code's unit cap",
    severities={
        Severity.REVIEW: "the cap is tagged U in unit_caps*.csv (descriptor logic, not the CMS "
        "MUE table) - every cap shipped with dermaudit",
    },
    out_of_scope="Codes whose caps a named rule reports (CAP_OWNED_BY); repair codes (RPR-001); "
    "MUE adjudication indicators unless the CMS MUE table is imported.",
    flags="""
A code billed with more units than its cap in rulesets/unit_caps.csv (and extension files such
as unit_caps_general.csv, or an imported CMS MUE table). Caps with per = day, or MUE
adjudication indicator (MAI) 2 or 3, are checked on the sum of units for the same patient, date
of service and rendering provider across all lines; caps with per = line, or MAI 1 (a
claim-line edit that separate lines with a justifying modifier may exceed), are checked line by
line. Shipped caps left to GEN-003: per-session codes paring 11055-11057, nail care
11719/G0127/11720/11721, excimer laser 96920-96922, and G2211.

Not reported here, because a named family rule flags the same units: 17000/17003/17004
(DEST-002, RAC topic 0121), 17110/17111 (DEST-006), 11102/11104/11106 (BX-001), 11200 (TAG-001),
11900/11901 (INJ-001) and every repair code (RPR-001).
""",
    why="""
Units above a medically unlikely edit (MUE) are denied (MAI 2 absolutely; MAI 3 unless an
appeal documents them); units above a per-session code's descriptor logic (the code already
counts every lesion, nail or square centimetre of the session) are an overpayment when paid.
""",
    example="11721 x2 (nail debridement, 6 or more nails) on one day.",
    compliant="11721 x1 for the session, however many nails beyond five were debrided.",
    source=(
        "CMS NCCI Medically Unlikely Edits, practitioner services table and MUE adjudication "
        "indicators (import it with 'dermaudit refdata import'); CPT 2025 Professional "
        "Edition per-session code structure (11055-11057, 11720/11721, 11200, 11900/11901); "
        "secondary: Noridian JF and First Coast MUE articles (MAI definitions)."
    ),
    amount="Units above the cap x the 2025 national non-facility fee (the export's charge per "
    "unit when the code has no fee).",
    limits="""
The shipped caps are NOT the CMS MUE table (not retrieved): import it for real MUE values and
MAIs. Every cap GEN-003 reports with the shipped tables is descriptor logic tagged U, so it is
a review; caps tagged P/S (or an imported MUE table) give denial findings. A second session on
the same day (XE) is not exempted for per-day caps: MAI 2/3 limits are per date of service.
CAP_OWNED_BY / CAP_OWNED_FAMILIES in this module list the codes left to family rules. Codes
invalid on the date of service are left to GEN-001.
""",
)
def gen_003(ctx: Context) -> pl.LazyFrame:
    caps = ctx.ref.unit_caps.select(
        pl.col("code").str.strip_chars().alias("cpt"),
        pl.col("max_units").alias("cap"),
        pl.col("per").fill_null("day").str.strip_chars().str.to_lowercase().alias("per"),
        pl.col("mai").fill_null("").str.strip_chars().alias("mai"),
        pl.col("confidence").fill_null("U").str.strip_chars().alias("cap_conf"),
    ).filter(pl.col("cap").is_not_null() & ~one_of("cpt", list(CAP_OWNED_BY)))
    owned_fam = list(CAP_OWNED_FAMILIES)
    by_line = (pl.col("per") == "line") | (pl.col("mai") == "1")
    lines = (
        ctx.lines.filter(one_of("cpt", caps["cpt"].to_list()))
        .join(caps.lazy(), on="cpt", how="inner")
        .filter(_valid_on_dos() & ~one_of("family", owned_fam))
        .with_columns(by_line.alias("by_line"))
    )
    line_hits = lines.filter(pl.col("by_line") & (pl.col("units") > pl.col("cap"))).select(
        "_file",
        "claim_id",
        "payer_class",
        *DAY_KEY,
        "cpt",
        "family",
        "cap",
        "mai",
        "cap_conf",
        "fee",
        pl.concat_list("_row").alias("cap_rows"),
        pl.col("units").alias("n"),
        pl.col("charge").alias("charged"),
        pl.lit("line").alias("scope"),
    )
    day_hits = (
        lines.filter(~pl.col("by_line"))
        .group_by([DAY_ID, "cpt"])
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("family").first(),
            pl.col("cap").first(),
            pl.col("mai").first(),
            pl.col("cap_conf").first(),
            pl.col("fee").first(),
            pl.col("_row").sort().alias("cap_rows"),
            pl.col("units").sum().alias("n"),
            pl.when(pl.col("charge").count() > 0).then(pl.col("charge").sum()).alias("charged"),
        )
        .filter(pl.col("n") > pl.col("cap"))
        .with_columns(pl.lit("day").alias("scope"))
    )
    hits = pl.concat([line_hits, day_hits], how="diagonal_relaxed")
    excess = pl.col("n") - pl.col("cap")
    per_unit = pl.coalesce(pl.col("fee"), pl.col("charged") / pl.col("n"))
    where = (
        pl.when(pl.col("scope") == "line")
        .then(pl.lit(" on one line"))
        .otherwise(pl.lit(" on one day (same patient and provider)"))
    )
    mai_note = (
        pl.when(pl.col("mai") == "2")
        .then(pl.lit("; MAI 2: absolute per-day limit, no appeal"))
        .when(pl.col("mai") == "3")
        .then(pl.lit("; MAI 3: per-day limit, payable only on appeal with documentation"))
        .when(pl.col("mai") == "1")
        .then(pl.lit("; MAI 1: claim-line limit"))
    )
    return emit(
        hits,
        rows=pl.col("cap_rows"),
        codes=msg(pl.col("cpt"), " x", pl.col("n")),
        message=msg(
            pl.col("cpt"),
            " billed ",
            pl.col("n"),
            " units",
            where,
            "; the cap is ",
            pl.col("cap"),
            mai_note,
            pl.when(pl.col("cap_conf") == "U").then(pl.lit(" (cap not verified: U)")),
        ),
        suggestion=pl.coalesce(
            _lookup("cpt", CAP_FIX),
            pl.when(pl.col("family").str.starts_with("repair_")).then(
                msg(
                    "add the lengths of all repairs of the same class in the same anatomic "
                    "group and bill one code of that class for the total length (not ",
                    pl.col("cpt"),
                    " x",
                    pl.col("n"),
                    "); use XE only for a truly separate encounter",
                )
            ),
            msg(
                "bill ",
                pl.col("cpt"),
                " x",
                pl.col("cap"),
                "; document any medical necessity for more units and follow the payer's "
                "appeal route",
            ),
        ),
        amount=excess * per_unit,
        severity=pl.when(pl.col("cap_conf") == "U")
        .then(pl.lit("review"))
        .otherwise(pl.lit("denial")),
    )


# ---- GEN-004 ----------------------------------------------------------------------------

# Status changes by date the CY2022 status column cannot show: (code, first day of the new
# status, status before, status from that day). G2211: B (bundled, 0 RVU) 2021-2023, payable
# from 2024-01-01 (CMS PFS RVU files 2021-2025, P).
STATUS_CHANGES: list[tuple[str, date, str, str]] = [
    ("G2211", date(2024, 1, 1), "B", "A"),
]
# (code, payer classes) a named rule already reports for its status.
STATUS_OWNED_BY: list[tuple[str, list[str], str]] = [
    ("99417", ["medicare_ffs"], "EM-012"),  # 99417 to Medicare FFS (status I, use G2212)
    ("G2211", MEDICARE, "EM-013"),  # G2211 not payable before 2024
]
# Liability / routine-foot-care modifiers that show the coverage question was handled.
COVERAGE_MODS = ["GA", "GX", "GY", "GZ", "Q7", "Q8", "Q9"]
STATUS_I_FIX: dict[str, str] = {
    "99417": "bill G2212 (Medicare's prolonged office-visit add-on) when its time threshold is "
    "met (99205 >= 89 min, 99215 >= 69 min)",
    "99242": "bill the office E/M 99202-99215 that fits the documented MDM or time (Medicare "
    "does not pay consultation codes)",
    "99243": "bill the office E/M 99202-99215 that fits the documented MDM or time (Medicare "
    "does not pay consultation codes)",
    "99244": "bill the office E/M 99202-99215 that fits the documented MDM or time (Medicare "
    "does not pay consultation codes)",
    "99245": "bill the office E/M 99202-99215 that fits the documented MDM or time (Medicare "
    "does not pay consultation codes)",
}


def _status_on_dos() -> pl.Expr:
    expr: pl.Expr = pl.col("status")
    for code, start, before, after in STATUS_CHANGES:
        expr = (
            pl.when(pl.col("cpt") == code)
            .then(pl.when(pl.col("dos") < start).then(pl.lit(before)).otherwise(pl.lit(after)))
            .otherwise(expr)
        )
    return expr


@rule(
    "GEN-004",
    severity=Severity.DENIAL,
    confidence=Confidence.P,
    money=Money.EITHER,
    title="Medicare fee-schedule status: code not payable as billed",
    requires=("payer",),
    payers=("medicare_ffs", "medicare_advantage"),
    severities={
        Severity.REVIEW: "the status is R, N, X or C, the payer is Medicare Advantage, or the "
        "code's status is tagged U",
        Severity.INFO: "the status is B (bundled): the line is fine for tracking but Medicare "
        "pays $0",
    },
    out_of_scope="Cosmetic-prone codes (COS-002), 99417 to Medicare (EM-012), G2211 before 2024 "
    "(EM-013); commercial payers' own fee schedules.",
    flags="""
A line billed to Medicare FFS or a Medicare Advantage plan whose Physician Fee Schedule status
(rulesets/codes.csv, CY2022 file, adjusted by date for G2211) says it is not payable as billed:
  * status I (or the older G: not valid for Medicare; another code is used, e.g. 99417,
    consultation codes) -> denial (review for Medicare Advantage, whose plans may differ);
  * status B (bundled, never paid separately, e.g. 99024) or P (bundled/excluded) with a
    charge > 0 -> info: expect $0;
  * status R (restricted coverage, e.g. paring 11055-11057, nail trimming, 96904),
    N (non-covered), X (statutory exclusion), C (carrier-priced, e.g. 17999, 96999)
    -> review, unless the line carries GA/GX/GY/GZ (or Q7/Q8/Q9 routine-foot-care findings).
Status A, E (paid under another schedule, e.g. drugs) and T are not flagged.
""",
    why="""
Medicare pays a PFS service according to its RVU-file status: status I codes are denied (the
Medicare code must be used), bundled codes are never paid separately, and restricted,
non-covered and carrier-priced codes need coverage conditions, a liability modifier or
pricing documentation before they pay.
""",
    example="99243 (office consultation) billed to Medicare FFS; 11056 (paring) with no modifier.",
    compliant=(
        "99204 (office visit at the documented level) instead of 99243; 11056 with the "
        "routine-foot-care class-finding modifier or with GA when an ABN was signed."
    ),
    source=(
        "CMS PFS Relative Value File CY2022 January status indicators (A, B, C, I, N, R, T, "
        "X) and their definitions in the file's record layout; CMS PFS Relative Value Files "
        "CY2021-CY2025 for G2211 (status B with no RVUs 2021-2023, payable from 2024); "
        "Medicare Benefit Policy Manual, Pub. 100-02, ch. 15, §290 (routine foot care, Q7-Q9 "
        "class findings)."
    ),
    amount="""
Status I, R, N, X, C: 2025 national non-facility fee x units (the line's charge when the code
has no fee). Status B: the line's charge, which Medicare will not pay (expected $0; money
direction none).
""",
    limits="""
Statuses are the CY2022 values (G2211 adjusted by date); re-check yearly against the current
RVU file. Consultation codes 99242-99245 are status I from general knowledge (U) and reported
as review. Cosmetic-prone codes (rulesets/cosmetic_codes.csv) are left to COS-002, 99417 to
Medicare FFS to EM-012 and G2211 before 2024 to EM-013. The Q7/Q8/Q9 exemption for routine foot
care is general coding knowledge (U). Medicare Advantage plans may price or cover differently,
so their status I lines are review.
""",
)
def gen_004(ctx: Context) -> pl.LazyFrame:
    conf = ctx.ref.codes.select(
        pl.col("code").alias("cpt"), pl.col("confidence").fill_null("U").alias("code_conf")
    )
    cosmetic = ctx.ref.cosmetic["code"].to_list()
    owned = pl.lit(False)
    for code, payers, _owner in STATUS_OWNED_BY:
        owned = owned | ((pl.col("cpt") == code) & one_of("payer_class", payers))
    cover_mod = pl.col("mods").list.eval(pl.element().is_in(COVERAGE_MODS)).list.any()
    lines = (
        ctx.lines.filter(one_of("payer_class", MEDICARE))
        .with_columns(_status_on_dos().alias("st"))
        .join(conf.lazy(), on="cpt", how="left")
    )
    st = pl.col("st")
    is_i = st.is_in(["I", "G"])
    is_b = st.is_in(["B", "P"]) & (pl.col("charge").fill_null(0) > 0)
    is_cov = st.is_in(["R", "N", "X", "C"]) & ~one_of("cpt", cosmetic) & ~cover_mod
    hit = lines.filter(((is_i | is_b | is_cov) & ~owned).fill_null(False))
    meaning = (
        pl.when(is_i)
        .then(msg("status ", st, ": not valid for Medicare, another code is used"))
        .when(st == "B")
        .then(pl.lit("status B: bundled, never paid separately"))
        .when(st == "P")
        .then(pl.lit("status P: bundled or excluded, no separate payment"))
        .when(st == "R")
        .then(pl.lit("status R: restricted coverage, special coverage conditions apply"))
        .when(st == "N")
        .then(pl.lit("status N: not covered by Medicare"))
        .when(st == "X")
        .then(pl.lit("status X: excluded from Medicare by statute"))
        .otherwise(pl.lit("status C: carrier-priced, the MAC sets the payment"))
    )
    suggestion = (
        pl.when(is_i)
        .then(
            pl.coalesce(
                _lookup("cpt", STATUS_I_FIX),
                msg("bill the Medicare code for this service instead of ", pl.col("cpt")),
            )
        )
        .when(is_b)
        .then(
            msg(
                "no change needed if ",
                pl.col("cpt"),
                " is kept for tracking: expect $0 from Medicare (its payment is included in "
                "another service)",
            )
        )
        .when(st == "C")
        .then(
            msg(
                "send the documentation the MAC needs to price ",
                pl.col("cpt"),
                " (operative note, comparable code, invoice)",
            )
        )
        .otherwise(
            msg(
                "confirm the Medicare coverage conditions for ",
                pl.col("cpt"),
                "; if they are not met, append GA (ABN signed), GZ (no ABN) or GY "
                "(statutory exclusion) so the line denies correctly",
            )
        )
    )
    severity = (
        pl.when(is_b)
        .then(pl.lit("info"))
        .when(is_i & (pl.col("payer_class") == "medicare_ffs") & (pl.col("code_conf") != "U"))
        .then(pl.lit("denial"))
        .otherwise(pl.lit("review"))
    )
    return emit(
        hit,
        rows=line_rows(),
        codes=pl.col("cpt"),
        message=msg(pl.col("cpt"), " billed to ", pl.col("payer_class"), " (", meaning, ")"),
        suggestion=suggestion,
        amount=pl.when(is_b).then(pl.col("charge")).otherwise(_line_amount()),
        severity=severity,
        money=pl.when(is_b).then(pl.lit("none")).otherwise(pl.lit("either")),
    )


# ---- GEN-005 ----------------------------------------------------------------------------


@rule(
    "GEN-005",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.OVER,
    title="Exact duplicate charge lines",
    level="line",
    out_of_scope="Lines that differ in modifiers, units or site; repeated services billed "
    "with 76/77 or XE; duplicates across claims on different days.",
    flags="""
Two or more lines with the same patient, date of service, rendering provider, code, modifiers
and units, none carrying 76/77/59/XE/XS/XP/XU, and no different anatomic site. Add-on codes
(which practices often split across lines) are not flagged.
""",
    why="""
A line entered twice is paid twice or denied as a duplicate (CARC 18). Either way it needs a
correction before the claim goes out.
""",
    example="11402 on two identical lines for one patient on one day, no modifiers, no site.",
    compliant=(
        "One line; if there really were two lesions, a distinct-procedure modifier (XS or 59) "
        "or anatomic modifiers on the second line, with the site documented."
    ),
    source=(
        "Medicare Claims Processing Manual, Pub. 100-04, ch. 1, §120 (detection of duplicate "
        "claims); X12 claim adjustment reason code 18 (exact duplicate claim/service); CPT "
        "2025 Professional Edition appendix A (modifiers 76, 77, 59, XS)."
    ),
    amount=(
        "2025 national non-facility fee x units of every copy after the first (its charge "
        "when the code has no fee)."
    ),
    limits="Confidence U: a duplicate can be two real lesions coded without a modifier.",
)
def gen_005(ctx: Context) -> pl.LazyFrame:
    key = [DAY_ID, "cpt", "mods_key", "units", "site"]
    # a duplicate needs the same code twice on the day: keep the days that repeat a code
    # (a cheap test on the day frame), then the lines of those days whose code repeats
    repeat_days = ctx.days.filter(pl.col("cpts").list.n_unique() < pl.col("n_lines")).select(DAY_ID)
    lines = (
        ctx.lines.filter((pl.col("kind") != "addon").fill_null(True))
        .join(repeat_days, on=DAY_ID, how="semi")
        .filter(pl.struct(DAY_ID, "cpt").is_duplicated())
        .filter(
            ~pl.col("mods").list.eval(pl.element().is_in(REPEAT_MODS)).list.any().fill_null(False)
        )
        .with_columns(pl.col("mods").list.sort().list.join(",").alias("mods_key"))
    )
    groups = (
        lines.group_by(key)
        .agg(
            *day_key_first(),
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row").sort().alias("dup_rows"),
            pl.coalesce(pl.col("fee") * pl.col("units"), pl.col("charge")).alias("amt"),
            pl.len().alias("n"),
            pl.col("dx").list.sort().list.join(" ").n_unique().alias("n_dx"),
            pl.col("family").first(),
        )
        .filter(pl.col("n") > 1)
    )
    dx_differ = pl.col("n_dx") > 1
    pathology = pl.col("family") == "pathology"
    return emit(
        groups,
        rows=pl.col("dup_rows"),
        codes=msg(
            pl.col("cpt"), pl.when(pl.col("mods_key") != "").then(msg("-", pl.col("mods_key")))
        ),
        message=msg(
            pl.col("cpt"),
            " appears on ",
            pl.col("n"),
            pl.when(dx_differ)
            .then(
                pl.lit(
                    " lines with the same patient, day, provider, modifiers and units (their "
                    "diagnoses differ, but a payer's duplicate edit does not look at diagnoses)"
                )
            )
            .otherwise(
                pl.lit(" identical lines (same patient, day, provider, modifiers and units)")
            ),
        ),
        suggestion=pl.when(pathology)
        .then(
            msg(
                "bill ",
                pl.col("cpt"),
                " once with units = the number of specimens, or add 59/XS to each later line "
                "for a separate specimen",
            )
        )
        .otherwise(
            msg(
                "remove the duplicate line(s), or add XS/59 or anatomic modifiers if these were "
                "separate lesions"
            )
        ),
        amount=pl.col("amt").list.slice(1).list.sum(),
    )
