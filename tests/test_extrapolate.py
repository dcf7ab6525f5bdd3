"""Extrapolation reproduces a published worked example.

Worked example: Lohr, S. L. (2010). *Sampling: Design and Analysis*, 2nd ed., Boston:
Brooks/Cole, Example 3.2 - a stratified random sample of 300 of the 3,078 U.S. counties
(strata: the four census regions, N_h = 1054, 220, 1382, 422; n_h = 103, 21, 135, 41) from the
1992 Census of Agriculture, estimating the total acres devoted to farms (``acres92``). The
published figures: estimated total 909,736,035 acres, standard error 50,417,248; per region
NC 316,731,380 (SE 16,977,399), NE 21,478,558 (3,992,889), S 292,037,391 (26,154,840),
W 279,488,706 (39,416,342); 95% interval with t on n - H = 296 degrees of freedom
[810,514,350, 1,008,957,721]. The sample values (``tests/fixtures/sampling/
lohr_agstrat_acres92.csv``: region and acres92 of the 300 sampled counties, public U.S.
Census of Agriculture data) are those of the book's data file ``agstrat.csv``.

The estimator is the one RAT-STATS uses for a variable appraisal (mean per unit with the
finite-population correction, Student's t); acres play the role of dollars of overpayment.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from dermaudit.errors import UsageError
from dermaudit.report.extrapolate import appraise, from_csv, from_frame, t_quantile

AGSTRAT = Path(__file__).parent / "fixtures" / "sampling" / "lohr_agstrat_acres92.csv"
N_H = {"NC": 1054, "NE": 220, "S": 1382, "W": 422}
PUBLISHED = {
    "NC": (316_731_380, 16_977_399),
    "NE": (21_478_558, 3_992_889),
    "S": (292_037_391, 26_154_840),
    "W": (279_488_706, 39_416_342),
}


def agstrat_as_review() -> pl.DataFrame:
    """The book's sample as a reviewed dermaudit sample: acres92 as the overpayment."""
    df = pl.read_csv(AGSTRAT)
    return df.select(
        pl.col("region").alias("stratum"),
        pl.col("region").replace_strict(N_H).alias("stratum_size"),
        pl.col("acres92").alias("amount"),
        pl.col("acres92").alias("overpayment"),
    )


def test_stratified_appraisal_matches_lohr_example_3_2() -> None:
    x = from_frame(agstrat_as_review())
    o = x.overpayment
    assert o.design == "stratified" and o.universe == 3078 and o.sample == 300 and o.df == 296
    assert round(o.point) == 909_736_035
    assert round(o.se) == 50_417_248
    for s in o.strata:
        total, se = PUBLISHED[s.name]
        assert (round(s.total), round(math.sqrt(s.variance))) == (total, se), s.name
    lo, hi = o.interval(0.95)
    assert (round(lo), round(hi)) == (810_514_350, 1_008_957_721)


def test_unrestricted_appraisal_matches_one_region_of_the_example() -> None:
    """Within a stratum the sample is a simple random sample: the NE region alone is an
    unrestricted appraisal (N = 220, n = 21) whose published total and SE are above."""
    ne = pl.read_csv(AGSTRAT).filter(pl.col("region") == "NE")["acres92"].to_list()
    o = appraise([("NE", 220, ne)])
    assert o.design == "unrestricted" and o.df == 20
    assert (round(o.point), round(o.se)) == PUBLISHED["NE"]


def test_the_90_percent_figures_cms_and_oig_ask_for() -> None:
    o = from_frame(agstrat_as_review()).overpayment
    # t quantiles on 296 df (tables: t(0.90) = 1.284, t(0.95) = 1.650)
    assert t_quantile(0.90, 296) == pytest.approx(1.2844, abs=1e-4)
    assert t_quantile(0.95, 296) == pytest.approx(1.6500, abs=1e-4)
    # CMS: lower limit of the one-sided 90% interval
    assert o.lower_one_sided == pytest.approx(909_736_035 - 1.284418 * 50_417_248, rel=1e-6)
    # OIG: the point estimate and its precision at 90% (two-sided)
    assert o.precision == pytest.approx(1.650018 * 50_417_248, rel=1e-6)
    assert o.precision_pct == pytest.approx(o.precision / o.point)
    d = o.as_dict()
    assert round(d["point_estimate"]) == 909_736_035 and round(d["standard_error"]) == 50_417_248
    assert d["lower_limit_one_sided_90"] < d["lower_limit_90"] + d["precision_90"]


def test_error_rate_and_audited_amounts(tmp_path: Path) -> None:
    rows = [
        # stratum A: 10 encounters in the universe, 4 reviewed, 2 in error
        ("A", 10, 100.0, 100.0),
        ("A", 10, 120.0, 60.0),
        ("A", 10, 80.0, 80.0),
        ("A", 10, 90.0, 0.0),
        # stratum B: 20 in the universe, 3 reviewed, 1 under-billed (negative difference)
        ("B", 20, 50.0, 50.0),
        ("B", 20, 50.0, 75.0),
        ("B", 20, 60.0, 60.0),
    ]
    p = tmp_path / "reviewed.csv"
    p.write_text(
        "stratum,stratum_size,amount,audited_amount\n"
        + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows)
    )
    x = from_csv(p)
    assert x.reviewed == 7 and x.in_error == 3
    # differences: A [0, 60, 0, 90] mean 37.5 -> 375; B [0, -25, 0] mean -8.333 -> -166.67
    assert x.overpayment.point == pytest.approx(375 - 500 / 3)
    # errors: A 2/4 of 10 = 5, B 1/3 of 20 = 6.667 -> 11.667 of 30
    assert x.error_rate == pytest.approx((5 + 20 / 3) / 30)
    lo, hi = x.error_rate_limits()
    assert 0 <= lo < x.error_rate < hi <= 1
    text = "\n".join(x.lines())
    assert "one-sided 90%" in text and "Program Integrity Manual" in text


def test_incomplete_or_foreign_files_fail_with_one_line(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("stratum,stratum_size,amount,overpayment\nA,10,5,\nA,10,5,0\n")
    with pytest.raises(UsageError, match="no reviewer result"):
        from_csv(p)
    p.write_text("stratum,stratum_size,amount\nA,10,5\n")
    with pytest.raises(UsageError, match="no reviewer column"):
        from_csv(p)
    p.write_text("claim,amount\nC1,5\n")
    with pytest.raises(UsageError, match="lacks column"):
        from_csv(p)
    p.write_text("stratum,stratum_size,amount,overpayment\nA,10,5,1\nB,10,5,0\nB,10,5,0\n")
    with pytest.raises(UsageError, match="at least 2"):
        from_csv(p)
    with pytest.raises(UsageError, match="not found"):
        from_csv(tmp_path / "missing.csv")
