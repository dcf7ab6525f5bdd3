"""Revenue and pricing (REV): charge master below Medicare, multiple-procedure reduction.

REV-003 (biopsy hierarchy, AK bundling, tag add-ons under-billed) is a cross-reference to the
UNDER variants of BX-002, DEST-003 and TAG-001; it is not a separate rule.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ..features import DAY_KEY
from ..model import Confidence, Money, Severity
from .base import MEDICARE, Context, emit, msg, one_of, provider_keys, provider_stats, rule

# G2211 was bundled (status B, no payment) before 2024-01-01 (CMS PFS RVU files, P).
NOT_PAYABLE_BEFORE: dict[str, date] = {"G2211": date(2024, 1, 1)}


def _payable_on_dos() -> pl.Expr:
    out: pl.Expr = pl.lit(True)
    for code, start in NOT_PAYABLE_BEFORE.items():
        out = out & ~((pl.col("cpt") == code) & (pl.col("dos") < start))
    return out


def _money(e: pl.Expr) -> pl.Expr:
    """$1,234.56 from a float expression."""
    cents = (e * 100).round(0).cast(pl.Int64)
    dollars = (cents // 100).cast(pl.String)
    rest = (cents % 100).cast(pl.String).str.zfill(2)
    with_commas = (
        dollars.str.reverse().str.replace_all(r"(\d{3})", "$1,").str.strip_chars_end(",")
    ).str.reverse()
    return msg("$", with_commas, ".", rest)


def _rev_001_stats(ctx: Context) -> pl.LazyFrame:
    """Per code: below-fee insured lines (n), the lowest and highest charge per unit, the fee,
    the dollar gap, the providers who billed them, and the first 20 rows of the first file."""
    lines = ctx.lines.filter(
        (pl.col("payer_class") != "self_pay")
        & (pl.col("charge") > 0)
        & (pl.col("units") > 0)
        & pl.col("fee").is_not_null()
        & (pl.col("fee") > 0)
        & _payable_on_dos()
    ).with_columns((pl.col("charge") / pl.col("units")).alias("per_unit"))
    low = lines.filter(pl.col("per_unit") < pl.col("fee") - 0.005)
    per = low.group_by("cpt").agg(
        pl.len().alias("n"),
        pl.col("per_unit").min().alias("min_lo"),
        pl.col("per_unit").max().alias("max_hi"),
        pl.col("fee").min().alias("min_fee"),  # one fee per code
        ((pl.col("fee") - pl.col("per_unit")) * pl.col("units")).sum().alias("gap"),
        pl.col("provider").unique().sort().alias("set_prov"),
    )
    return provider_stats(low.select("_file", "_row", "cpt"), per, key="cpt")


@rule(
    "REV-001",
    severity=Severity.REVIEW,
    confidence=Confidence.U,
    money=Money.UNDER,
    title="Charge per unit below the Medicare national allowable",
    requires=("charge",),
    level="provider",
    stats=_rev_001_stats,
    out_of_scope="Locality (GPCI) adjustment, commercial fee schedules, multiple-procedure "
    "reduction and coinsurance; codes without a national amount in the code table.",
    flags="""
A code whose charge per unit (line charge / units) is below its 2025 Medicare national
non-facility amount (rulesets/codes.csv fee_2025) on insured lines (self-pay lines are left
out: a cash price may be set low on purpose). ONE finding per code for the whole audit, not
one per line: the fix is a single charge-master entry. Lines with a zero or blank charge,
codes without a fee (status B/I/C, drugs) and G2211 before 2024 (not payable) are skipped.
""",
    why="""
Medicare, and most payers under 'lesser of' contract terms, pay the lower of the billed charge
and the fee-schedule amount. A charge set below the allowable caps the payment at the charge,
so every such line leaves money uncollected - a charge-master problem that repeats on every
claim until the fee is updated.
""",
    example="11102 charged $80.00 on 12 lines; the 2025 national amount is $95.75.",
    compliant="Set the 11102 charge at or above the highest allowable of the practice's payers "
    "(e.g. at least $95.75 plus the local geographic adjustment).",
    source=(
        "Social Security Act §1848(a)(1) (payment is 80 percent of the lesser of the actual "
        "charge and the fee-schedule amount); CMS PFS Relative Value File CY2025 October "
        "release with CF $32.3465 (national amounts, rulesets/codes.csv fee_2025)."
    ),
    amount="""
Sum over the code's below-fee insured lines of (2025 national fee - charge per unit) x units:
an upper bound of the money left uncollected, before the local geographic adjustment,
multiple-procedure reduction, sequestration and patient coinsurance.
""",
    limits="""
Confidence U (review only): the 'lesser of' principle (Social Security Act §1848(a)(1)) is
statutory, but a practice's contracts may differ, and the comparison uses the 2025 NATIONAL
amount - a practice in a locality with a geographic index below 1.0, or auditing another year,
may be compared with the wrong figure. A practice that charges every payer the Medicare rate on
purpose will see findings for the codes whose 2025 amount rose. Lines whose export 'charge' is
really an expected or paid amount will look under-priced. The finding is audit-wide (level
provider, no date or patient); a partitioned larger-than-memory scan merges the per-code
counts, sums, lowest and highest charge of every partition before judging, and lists up to 20
example rows of the first file in which the code was under-priced.
""",
)
def rev_001(ctx: Context, stats: pl.LazyFrame) -> pl.LazyFrame:
    per_code = stats.rename({"min_lo": "lo", "max_hi": "hi", "min_fee": "fee"}).with_columns(
        *provider_keys(),
        pl.when(pl.col("set_prov").list.len() == 1)
        .then(pl.col("set_prov").list.first())
        .otherwise(pl.lit(None, pl.String))
        .alias("provider"),
    )
    charged = (
        pl.when(pl.col("lo") == pl.col("hi"))
        .then(_money(pl.col("lo")))
        .otherwise(msg(_money(pl.col("lo")), "-", _money(pl.col("hi"))))
    )
    return emit(
        per_code,
        rows=pl.col("sup_rows"),
        codes=pl.col("cpt"),
        message=msg(
            pl.col("cpt"),
            " charged ",
            charged,
            " per unit on ",
            pl.col("n"),
            pl.when(pl.col("n") == 1)
            .then(pl.lit(" insured line"))
            .otherwise(pl.lit(" insured lines")),
            ", below the 2025 Medicare national non-facility amount ",
            _money(pl.col("fee")),
        ),
        suggestion=msg(
            "raise the charge-master price of ",
            pl.col("cpt"),
            " to at least ",
            _money(pl.col("fee")),
            " (better: above the highest allowable among the practice's payers, including "
            "the local geographic adjustment)",
        ),
        amount=pl.col("gap"),
    )


@rule(
    "REV-002",
    severity=Severity.INFO,
    confidence=Confidence.S,
    money=Money.NONE,
    title="Multiple-procedure payment reduction expected (not an error)",
    requires=("payer",),
    default=False,
    out_of_scope="Bilateral, endoscopy-family and assistant-at-surgery payment rules; "
    "commercial contracts' own reductions.",
    flags="""
A day (same patient, date of service and rendering provider) billed to Medicare FFS or
Medicare Advantage with two or more units of codes whose multiple-procedure indicator is 2
(rulesets/codes.csv mult_proc: most biopsy primaries, shaves, excisions, destructions, repairs,
Mohs first stages). One info finding per day with the expected reduction in dollars, for
expected-payment modelling and payment variance analysis. Nothing is wrong with the billing.
""",
    why="""
Medicare pays the highest-valued procedure of the day at 100% and each further indicator-2
procedure at 50%; add-ons (indicator 0, e.g. 11103, 17003, 17312) and 17004 are not reduced.
Posting the reduced payment as an underpayment, or writing off the difference wrongly, is a
common reconciliation error.
""",
    example="11402 + 11602 + 12032 for one Medicare patient on one day.",
    compliant="No change: expect 11602 at 100% and 11402 and 12032 at 50% (list the "
    "highest-valued procedure first); never put modifier 51 on add-on codes.",
    source=(
        "Medicare Claims Processing Manual, Pub. 100-04, ch. 12, §40.6 (multiple surgery: "
        "100% for the highest-valued procedure, 50% for the others); CMS PFS Relative Value "
        "File CY2022 January multiple-procedure indicators; secondary: AAD 'Modifier madness'"
        " (Apr 2019)."
    ),
    amount="""
Expected reduction = 50% x (sum of 2025 national fee x units of the day's indicator-2 codes -
the highest single fee among them). An expectation, not money at risk (money = none).
""",
    limits="""
Uses 2025 national amounts and the 2022 indicators; real payments are locality-adjusted, and
other special rules (endoscopy families, bilateral surgery) do not apply to these codes.
Commercial payers often reduce similarly but by contract. Lines with GA/GY/GZ and G2211
before 2024 are included only if their code has indicator 2.
""",
)
def rev_002(ctx: Context) -> pl.LazyFrame:
    mp = ctx.ref.codes.select(
        pl.col("code").alias("cpt"), pl.col("mult_proc").str.strip_chars().alias("mp")
    )
    lines = ctx.lines.filter(
        one_of("payer_class", MEDICARE) & pl.col("fee").is_not_null() & (pl.col("units") > 0)
    ).join(mp.lazy(), on="cpt", how="inner")
    reduced = lines.filter(pl.col("mp") == "2")
    days = (
        reduced.sort(pl.col("fee"), descending=True)
        .group_by(DAY_KEY)
        .agg(
            pl.col("_file").first(),
            pl.col("claim_id").first(),
            pl.col("payer_class").first(),
            pl.col("_row").sort().alias("mp_rows"),
            pl.col("units").sum().alias("n"),
            (pl.col("fee") * pl.col("units")).sum().alias("full"),
            pl.col("fee").max().alias("top_fee"),
            pl.col("cpt").first().alias("top"),
            pl.col("cpt").unique(maintain_order=True).str.join(" ").alias("codes_mp"),
        )
        .filter(pl.col("n") >= 2)
        .with_columns((0.5 * (pl.col("full") - pl.col("top_fee"))).alias("cut"))
    )
    return emit(
        days,
        rows=pl.col("mp_rows"),
        codes=pl.col("codes_mp"),
        message=msg(
            pl.col("n"),
            " units of multiple-procedure codes (",
            pl.col("codes_mp"),
            ") on one day: Medicare pays ",
            pl.col("top"),
            " at 100% and the others at 50%, about ",
            _money(pl.col("cut")),
            " less than the full national fees (",
            _money(pl.col("full")),
            ")",
        ),
        suggestion=msg(
            "no correction needed: expect the reduction when posting payments; list ",
            pl.col("top"),
            " (highest-valued) first and do not append 51 to add-on codes",
        ),
        amount=pl.col("cut"),
    )
