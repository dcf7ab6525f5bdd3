"""Extrapolating a reviewed random sample to the whole universe of encounters.

After chart review, each sampled encounter carries the reviewer's result: the amount that
should have been billed (``audited_amount``, same basis as ``amount``) or directly the
``overpayment`` (amount billed minus amount supported; negative for an underpayment). From
those values this module gives, the way OIG's RAT-STATS variable appraisals do:

* the point estimate of the total overpayment: the mean-per-unit estimator applied to the
  per-encounter differences (RAT-STATS' "difference" values), ``N x mean`` for an unrestricted
  (simple random) sample and ``sum over strata of N_h x mean_h`` for a stratified one;
* its standard error with the finite-population correction,
  ``SE = sqrt(sum N_h^2 (1 - n_h/N_h) s_h^2 / n_h)``;
* the limits with Student's t quantile on ``n - 1`` (unrestricted) or ``n - H`` (stratified,
  H strata) degrees of freedom:

  - the lower limit of a one-sided 90% confidence interval, ``PE - t(0.90) x SE``: the amount
    Medicare contractors demand (Medicare Program Integrity Manual, Pub. 100-08, ch. 8,
    §8.4, "Use of Statistical Sampling for Overpayment Estimation");
  - the point estimate with its precision at 90% confidence, ``t(0.95) x SE`` (and as a
    percentage of the point estimate), the two-sided 90% interval that the HHS-OIG Health
    Care Fraud Self-Disclosure Protocol asks a disclosing party to report;

* the error rate: the share of encounters with a non-zero difference, estimated with the same
  stratified estimator on the 0/1 indicator (two-sided 90% limits, t quantile; RAT-STATS'
  attribute appraisal uses exact limits instead, which differ for very small or very large
  rates).

Validated against a published worked example: Lohr, *Sampling: Design and Analysis*, 2nd ed.
(2010), Example 3.2, the stratified sample of 300 U.S. counties from the 1992 Census of
Agriculture (``tests/test_extrapolate.py``). Degrees of freedom for a stratified sample are
``n - H`` as in Lohr §3.2; RAT-STATS' own choice for stratified appraisals is not documented
in a source we could read, so a stratified interval may differ from RAT-STATS in the last
digits when strata are small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import UsageError

ONE_SIDED = 0.90  # PIM ch. 8 §8.4: lower limit of a one-sided 90% interval
TWO_SIDED = 0.90  # OIG self-disclosure: point estimate and two-sided 90% interval
CENTS = 0.005


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (scipy), ``p`` in (0, 1)."""
    from scipy.stats import t

    return float(t.ppf(p, df))


@dataclass(frozen=True)
class Stratum:
    name: str
    size: int  # N_h, encounters in the universe
    n: int  # sampled and reviewed
    mean: float
    sd: float  # sample standard deviation (n - 1 divisor)
    nonzero: int  # sampled encounters with a non-zero value

    @property
    def total(self) -> float:
        return self.size * self.mean

    @property
    def variance(self) -> float:
        """Variance of the estimated stratum total (finite-population correction)."""
        if self.n >= self.size:
            return 0.0
        return self.size**2 * (1 - self.n / self.size) * self.sd**2 / self.n


@dataclass(frozen=True)
class Estimate:
    """A variable appraisal: estimated universe total of the values and its limits."""

    strata: tuple[Stratum, ...]
    confidence_one_sided: float = ONE_SIDED
    confidence_two_sided: float = TWO_SIDED

    @property
    def design(self) -> str:
        return "unrestricted" if len(self.strata) == 1 else "stratified"

    @property
    def universe(self) -> int:
        return sum(s.size for s in self.strata)

    @property
    def sample(self) -> int:
        return sum(s.n for s in self.strata)

    @property
    def df(self) -> int:
        return self.sample - len(self.strata)

    @property
    def point(self) -> float:
        return sum(s.total for s in self.strata)

    @property
    def se(self) -> float:
        return math.sqrt(sum(s.variance for s in self.strata))

    def t(self, p: float) -> float:
        return t_quantile(p, self.df)

    def interval(self, confidence: float) -> tuple[float, float]:
        """Two-sided interval at ``confidence``."""
        half = self.t(1 - (1 - confidence) / 2) * self.se
        return self.point - half, self.point + half

    @property
    def lower_one_sided(self) -> float:
        return self.point - self.t(self.confidence_one_sided) * self.se

    @property
    def precision(self) -> float:
        """Half-width of the two-sided interval (RAT-STATS "precision amount")."""
        return self.t(1 - (1 - self.confidence_two_sided) / 2) * self.se

    @property
    def precision_pct(self) -> float | None:
        return self.precision / abs(self.point) if self.point else None

    def as_dict(self) -> dict[str, Any]:
        lo, hi = self.interval(self.confidence_two_sided)
        return {
            "design": self.design,
            "universe": self.universe,
            "sample": self.sample,
            "degrees_of_freedom": self.df,
            "point_estimate": round(self.point, 2),
            "standard_error": round(self.se, 2),
            "lower_limit_one_sided_90": round(self.lower_one_sided, 2),
            "t_one_sided_90": round(self.t(self.confidence_one_sided), 6),
            "precision_90": round(self.precision, 2),
            "precision_90_pct": (
                round(self.precision_pct, 6) if self.precision_pct is not None else None
            ),
            "lower_limit_90": round(lo, 2),
            "upper_limit_90": round(hi, 2),
            "t_two_sided_90": round(self.t(1 - (1 - self.confidence_two_sided) / 2), 6),
            "strata": [
                {
                    "stratum": s.name,
                    "universe": s.size,
                    "sample": s.n,
                    "mean": round(s.mean, 4),
                    "sd": round(s.sd, 4),
                    "nonzero": s.nonzero,
                    "point_estimate": round(s.total, 2),
                    "standard_error": round(math.sqrt(s.variance), 2),
                }
                for s in self.strata
            ],
        }


def _check(name: str, size: int, n: int) -> None:
    if n < 2:
        raise UsageError(
            f"stratum {name!r} has {n} reviewed encounter(s); at least 2 are needed to "
            "estimate its variance"
        )
    if size < n:
        raise UsageError(f"stratum {name!r}: universe size {size} is below its sample size {n}")


def appraise_frame(df: pl.DataFrame, value: str, size: str = "_size") -> Estimate:
    """Variable appraisal of ``df[value]`` grouped by ``stratum`` (universe size per stratum in
    ``df[size]``); one stratum is an unrestricted (simple random) sample."""
    if df.height == 0:
        raise UsageError("no reviewed encounter to extrapolate")
    st = (
        df.group_by("stratum")
        .agg(
            pl.col(size).first().alias("size"),
            pl.len().alias("n"),
            pl.col(value).mean().alias("mean"),
            pl.col(value).std(ddof=1).alias("sd"),
            (pl.col(value).abs() >= CENTS).sum().alias("nonzero"),
        )
        .sort("stratum")
    )
    strata = []
    for r in st.iter_rows(named=True):  # one row per stratum
        _check(str(r["stratum"]), int(r["size"]), int(r["n"]))
        strata.append(
            Stratum(
                str(r["stratum"]),
                int(r["size"]),
                int(r["n"]),
                float(r["mean"]),
                float(r["sd"] or 0.0),
                int(r["nonzero"]),
            )
        )
    return Estimate(tuple(strata))


def appraise(groups: Sequence[tuple[str, int, Sequence[float]]]) -> Estimate:
    """Variable appraisal of ``(stratum name, universe size N_h, sampled values)`` groups."""
    frames = [
        pl.DataFrame(
            {"stratum": [name] * len(vals), "_size": [size] * len(vals), "v": list(vals)},
            schema={"stratum": pl.String, "_size": pl.Int64, "v": pl.Float64},
        )
        for name, size, vals in groups
    ]
    if not frames:
        raise UsageError("no reviewed encounter to extrapolate")
    return appraise_frame(pl.concat(frames), "v")


@dataclass(frozen=True)
class Extrapolation:
    overpayment: Estimate
    errors: Estimate  # the 0/1 error indicator: its total is the number of encounters in error
    examined: Estimate  # the billed amounts of the sample, projected (a check on the frame)
    reviewed: int
    in_error: int

    @property
    def error_rate(self) -> float:
        return self.errors.point / self.errors.universe

    def error_rate_limits(self) -> tuple[float, float]:
        lo, hi = self.errors.interval(self.errors.confidence_two_sided)
        n = self.errors.universe
        return max(lo / n, 0.0), min(hi / n, 1.0)

    def as_dict(self) -> dict[str, Any]:
        lo, hi = self.error_rate_limits()
        return {
            "reviewed": self.reviewed,
            "in_error": self.in_error,
            "error_rate": round(self.error_rate, 6),
            "error_rate_lower_90": round(lo, 6),
            "error_rate_upper_90": round(hi, 6),
            "overpayment": self.overpayment.as_dict(),
            "examined": self.examined.as_dict(),
        }

    def lines(self) -> list[str]:
        """The result as plain text lines for the console."""
        o = self.overpayment
        lo, hi = o.interval(o.confidence_two_sided)
        rlo, rhi = self.error_rate_limits()
        pct = f" ({o.precision_pct:.1%} of the point estimate)" if o.precision_pct else ""
        design = (
            f"{o.design} sample, {len(o.strata)} strata" if len(o.strata) > 1 else "simple random"
        )
        return [
            f"Sample: {o.sample:,} reviewed encounters of {o.universe:,} ({design}); "
            f"{o.df} degrees of freedom",
            f"Error rate: {self.error_rate:.2%} ({self.in_error:,} of {self.reviewed:,} "
            f"reviewed in error); 90% interval {rlo:.2%} to {rhi:.2%}",
            f"Overpayment, point estimate: ${o.point:,.2f} (standard error ${o.se:,.2f})",
            f"  precision at 90% confidence: ${o.precision:,.2f}{pct}; "
            f"interval ${lo:,.2f} to ${hi:,.2f} (HHS-OIG Self-Disclosure Protocol)",
            f"  lower limit of the one-sided 90% interval: ${o.lower_one_sided:,.2f} "
            "(Medicare Program Integrity Manual, Pub. 100-08, ch. 8, §8.4)",
            "Method: mean-per-unit estimator on the per-encounter differences, finite-population "
            "correction, Student's t (RAT-STATS variable appraisal).",
        ]


REVIEW_COLUMNS = ("audited_amount", "overpayment")


def from_frame(df: pl.DataFrame) -> Extrapolation:
    """Extrapolate a reviewed sample: one row per sampled encounter with ``stratum``,
    ``stratum_size`` (encounters in the stratum's universe), ``amount`` (as billed) and the
    reviewer's ``audited_amount`` or ``overpayment``. Rows whose review cell is blank are
    not reviewed yet: they make the whole extrapolation fail (a sample with holes is not the
    random sample that was drawn)."""
    need = {"stratum", "stratum_size", "amount"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise UsageError(
            f"the sample file lacks column(s) {', '.join(missing)}; use the CSV written by "
            "'dermaudit sample'"
        )
    review = next((c for c in REVIEW_COLUMNS if c in df.columns), None)
    if review is None:
        raise UsageError(
            "the sample file has no reviewer column; fill 'audited_amount' (amount the chart "
            "supports) or 'overpayment' for every sampled encounter"
        )
    num = pl.col(review).cast(pl.String).str.strip_chars().str.replace_all(r"[$,]", "")
    d = df.with_columns(
        num.cast(pl.Float64, strict=False).alias("_review"),
        pl.col("amount").cast(pl.Float64, strict=False).alias("_amount"),
        pl.col("stratum_size").cast(pl.Int64, strict=False).alias("_size"),
        pl.col("stratum").cast(pl.String).fill_null(""),
    )
    blank = d.filter(pl.col("_review").is_null()).height
    if blank:
        raise UsageError(
            f"{blank} sampled encounter(s) have no reviewer result in '{review}'; review every "
            "sampled encounter (enter 0 when the chart supports the billing) and run again"
        )
    if d["_size"].null_count() or d["_amount"].null_count():
        raise UsageError("'stratum_size' and 'amount' must be numbers in every row")
    diff = (
        pl.col("_amount") - pl.col("_review") if review == "audited_amount" else pl.col("_review")
    )
    d = d.with_columns(diff.round(2).alias("_diff"))
    sizes = d.group_by("stratum").agg(pl.col("_size").n_unique().alias("k"))
    if sizes.filter(pl.col("k") > 1).height:
        raise UsageError("a stratum has more than one 'stratum_size'; the file was edited")
    d = d.with_columns((pl.col("_diff").abs() >= CENTS).cast(pl.Float64).alias("_err"))
    o = appraise_frame(d, "_diff")
    return Extrapolation(
        overpayment=o,
        errors=appraise_frame(d, "_err"),
        examined=appraise_frame(d, "_amount"),
        reviewed=o.sample,
        in_error=sum(s.nonzero for s in o.strata),
    )


def from_csv(path: Path) -> Extrapolation:
    try:
        df = pl.read_csv(path, infer_schema=False)
    except FileNotFoundError as exc:
        raise UsageError(f"sample file {path} not found") from exc
    except pl.exceptions.PolarsError as exc:
        raise UsageError(f"{path} is not a readable CSV file") from exc
    return from_frame(df)
