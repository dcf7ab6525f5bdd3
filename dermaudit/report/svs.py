"""Audit samples drawn from every encounter of the scan, the way auditors draw them.

Two samples, both from *all* encounters (one encounter = one patient seen by one rendering
provider on one date of service), never only from the flagged ones:

* the **probe sample** (``probe_sample``): ``per_provider`` encounters per rendering provider
  (default 10) at random. Reviewing it tells the consultant how often the charts do not
  support the billing before a larger sample is planned (a probe sample, as RAT-STATS'
  "unrestricted using a probe sample" sample-size routine expects);
* the **statistically valid random sample** (``plan`` + ``draw``): simple random, or
  stratified by rendering provider or by dollar band, with the sample size that gives the
  chosen precision at the chosen confidence for the estimated overpayment (see ``plan``).
  After review, ``dermaudit extrapolate`` (``report/extrapolate.py``) projects the results.

Random selection: each encounter gets a 64-bit key, SplitMix64 of (seed, the date of service,
the encounter's first row number); a stratum's sample is its ``n`` encounters with the
smallest keys. That is a simple random sample without replacement within the stratum, it is
reproducible on any machine from the seed, it never uses patient or claim identifiers (a
redacted run draws the same encounters), and it merges: the smallest keys of each partition
of a partitioned scan, merged, are the smallest keys overall (``candidates`` /
``merge_candidates``). The key is written in the sample file, so anyone can check the draw.

Dollars per encounter are the 2025 Medicare national non-facility amounts of its codes
(rulesets/codes.csv ``fee_2025`` x units: CMS Physician Fee Schedule relative value file,
CY2025), the basis of every finding's amount; the billed charges are given beside them.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ..errors import UsageError
from ..refdata import RefData

ENCOUNTER = ["patient_id", "dos", "provider"]
PROBE_PER_PROVIDER = 10
DESIGNS = ("simple", "provider", "dollar")
DOLLAR_QUANTILES = (0.25, 0.5, 0.75)
MIN_PER_STRATUM = 2
REVIEW_COLUMNS = ["audited_amount", "reviewer_note"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _text_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def draw_keys(enc: pl.DataFrame, seed: int) -> pl.Series:
    """The random key of each encounter (see the module docstring)."""
    if enc.height == 0:
        return pl.Series("key", [], dtype=pl.UInt64)
    # the date, not the file name: a redacted run renames the files and must draw the same
    fh = _splitmix64(enc["dos"].cast(pl.Int64).fill_null(0).cast(pl.UInt64).to_numpy())
    rows = enc["first_row"].fill_null(0).cast(pl.UInt64).to_numpy()
    base = _splitmix64(np.array([_text_hash(f"dermaudit-sample|{seed}")], dtype=np.uint64))
    with np.errstate(over="ignore"):
        x = base ^ fh ^ (rows * _GOLDEN)
    return pl.Series("key", _splitmix64(_splitmix64(x)), dtype=pl.UInt64)


def encounter_frame(lines: pl.DataFrame, ref: RefData) -> pl.DataFrame:
    """One row per encounter of the canonical charge lines: patient, date, provider, claim,
    file, first row, rows, codes, lines, ``amount`` (Medicare national amount of its codes)
    and ``charge`` (billed)."""
    fees = ref.codes.select(pl.col("code").alias("cpt"), pl.col("fee_2025").alias("_fee"))
    return (
        lines.lazy()
        .join(fees.lazy(), on="cpt", how="left")
        .group_by(ENCOUNTER)
        .agg(
            pl.col("claim_id").drop_nulls().min().alias("claim_id"),
            pl.col("_file").min().alias("file"),
            pl.col("_row").min().alias("first_row"),
            pl.col("_row").sort().alias("rows"),
            pl.col("cpt").sort().str.join(" ").alias("codes"),
            pl.len().alias("lines"),
            (pl.col("_fee").fill_null(0.0) * pl.col("units").fill_null(1))
            .sum()
            .round(2)
            .alias("amount"),
            pl.col("charge").sum().round(2).alias("charge"),
        )
        .sort(["file", "first_row"])
        .collect()
    )


def _top(enc: pl.DataFrame, by: str, n: int, seed: int) -> pl.DataFrame:
    keyed = enc if "key" in enc.columns else enc.with_columns(draw_keys(enc, seed))
    return keyed.sort([by, "key"]).group_by(by, maintain_order=True).head(n)


def candidates(enc: pl.DataFrame, per_provider: int, seed: int) -> pl.DataFrame:
    """The probe candidates of one partition: its ``per_provider`` smallest keys per provider
    (with the partition's encounter count per provider in ``provider_encounters``)."""
    counts = enc.group_by("provider").agg(pl.len().alias("provider_encounters"))
    return _top(enc, "provider", per_provider, seed).join(counts, on="provider", how="left")


def merge_candidates(parts: Sequence[pl.DataFrame], per_provider: int) -> pl.DataFrame:
    """Merge the ``candidates`` of disjoint partitions (each patient in one partition): the
    same draw, and the same encounter counts, as an in-memory scan."""
    if not parts:
        raise UsageError("no partition to merge")
    allc = pl.concat(
        [p.with_columns(pl.lit(i).alias("_part")) for i, p in enumerate(parts)],
        how="vertical_relaxed",
    )
    totals = (
        allc.unique(["_part", "provider"])
        .group_by("provider")
        .agg(pl.col("provider_encounters").sum())
    )
    top = allc.drop("provider_encounters", "_part").sort(["provider", "key"])
    top = top.group_by("provider", maintain_order=True).head(per_provider)
    return top.join(totals, on="provider", how="left")


def probe_sample(
    enc: pl.DataFrame, per_provider: int = PROBE_PER_PROVIDER, seed: int = 0
) -> pl.DataFrame:
    """``per_provider`` encounters per rendering provider at random from all encounters (all
    of them when a provider has fewer), sorted by provider and key."""
    if per_provider < 1:
        raise UsageError("the probe sample needs at least 1 encounter per provider")
    out = candidates(enc, per_provider, seed)
    return out.rename({"provider_encounters": "stratum_size"}).with_columns(
        pl.col("provider").alias("stratum")
    )


# ---- sample size and the statistically valid sample ------------------------------------


@dataclass(frozen=True)
class StratumPlan:
    name: str
    size: int  # N_h
    amount_total: float
    amount_mean: float
    amount_sd: float
    diff_sd: float  # expected standard deviation of the overpayment per encounter
    diff_mean: float
    n: int = 0
    bounds: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stratum": self.name,
            "universe": self.size,
            "sample": self.n,
            "amount_total": round(self.amount_total, 2),
            "amount_mean": round(self.amount_mean, 2),
            "amount_sd": round(self.amount_sd, 2),
            "expected_overpayment_sd": round(self.diff_sd, 2),
        }


@dataclass(frozen=True)
class SamplePlan:
    design: str
    confidence: float
    precision: float
    error_rate: float
    strata: tuple[StratumPlan, ...]
    bands: tuple[float, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return sum(s.n for s in self.strata)

    @property
    def universe(self) -> int:
        return sum(s.size for s in self.strata)

    @property
    def expected_overpayment(self) -> float:
        return sum(s.size * s.diff_mean for s in self.strata)

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "confidence": self.confidence,
            "precision": self.precision,
            "expected_error_rate": round(self.error_rate, 6),
            "universe": self.universe,
            "sample": self.n,
            "expected_overpayment": round(self.expected_overpayment, 2),
            "strata": [s.as_dict() for s in self.strata],
        }

    def method(self) -> str:
        return (
            f"Sample size for a two-sided {self.confidence:.0%} interval whose half-width is "
            f"{self.precision:.0%} of the estimated overpayment, assuming an error rate of "
            f"{self.error_rate:.1%} and, for an encounter in error, an overpayment equal to its "
            "Medicare amount (so the overpayment per encounter has mean p·μ and variance "
            "p(σ² + μ²) − p²μ² in each stratum); Neyman allocation across strata "
            f"(n_h proportional to N_h·σ_h), at least {MIN_PER_STRATUM} per stratum; Student's "
            "t on n − H degrees of freedom, iterated. Refine the error rate with the reviewed "
            "probe sample before drawing."
        )


def _strata(
    enc: pl.DataFrame, design: str, bands: Sequence[float] | None
) -> tuple[pl.DataFrame, tuple[float, ...]]:
    if design not in DESIGNS:
        raise UsageError(f"sample design {design!r} is not one of: {', '.join(DESIGNS)}")
    if design == "simple":
        return enc.with_columns(pl.lit("all encounters").alias("stratum")), ()
    if design == "provider":
        return enc.with_columns(pl.col("provider").fill_null("(unknown)").alias("stratum")), ()
    cuts = (
        tuple(sorted(set(bands)))
        if bands
        else tuple(
            sorted({round(float(enc["amount"].quantile(q) or 0.0)) for q in DOLLAR_QUANTILES})
        )
    )
    edges = [-math.inf, *cuts, math.inf]
    labels = []
    for lo, hi in itertools.pairwise(edges):
        if lo == -math.inf:
            labels.append(f"under ${hi:,.0f}")
        elif hi == math.inf:
            labels.append(f"${lo:,.0f} and over")
        else:
            labels.append(f"${lo:,.0f} to under ${hi:,.0f}")
    band: pl.Expr = pl.lit(labels[-1])
    for cut, label in reversed(list(zip(cuts, labels, strict=False))):
        band = pl.when(pl.col("amount") < cut).then(pl.lit(label)).otherwise(band)
    return enc.with_columns(band.alias("stratum")), cuts


def plan(
    enc: pl.DataFrame,
    *,
    design: str = "simple",
    confidence: float = 0.90,
    precision: float = 0.25,
    error_rate: float = 0.10,
    bands: Sequence[float] | None = None,
) -> SamplePlan:
    """The sample size per stratum (see ``SamplePlan.method``)."""
    from .extrapolate import t_quantile

    if not 0 < confidence < 1 or not 0 < precision < 1:
        raise UsageError("confidence and precision must be between 0 and 1 (e.g. 0.90 and 0.10)")
    if not 0 < error_rate <= 1:
        raise UsageError("the expected error rate must be above 0 and at most 1 (e.g. 0.05)")
    if enc.height == 0:
        raise UsageError("no encounter to sample")
    framed, cuts = _strata(enc, design, bands)
    p = error_rate
    stats = (
        framed.group_by("stratum")
        .agg(
            pl.len().alias("N"),
            pl.col("amount").sum().alias("tot"),
            pl.col("amount").mean().alias("mu"),
            pl.col("amount").std(ddof=0).fill_null(0.0).alias("sd"),
        )
        .sort("stratum")
    )
    base: list[StratumPlan] = []
    for r in stats.iter_rows(named=True):  # one row per stratum
        mu, sd = float(r["mu"] or 0.0), float(r["sd"] or 0.0)
        var = max(p * (sd**2 + mu**2) - (p * mu) ** 2, 0.0)
        base.append(
            StratumPlan(
                str(r["stratum"]), int(r["N"]), float(r["tot"]), mu, sd, math.sqrt(var), p * mu
            )
        )
    target = precision * sum(s.size * s.diff_mean for s in base)
    weights = [s.size * s.diff_sd for s in base]
    sum_w = sum(weights)
    n_alloc = [min(s.size, MIN_PER_STRATUM) for s in base]
    if target > 0 and sum_w > 0:
        z = t_quantile(1 - (1 - confidence) / 2, 10_000)
        for _ in range(8):  # t depends on n: iterate to a fixed point
            denom = (target / z) ** 2 + sum(s.size * s.diff_sd**2 for s in base)
            n_total = sum_w**2 / denom
            n_alloc = [
                max(min(s.size, MIN_PER_STRATUM), min(s.size, math.ceil(n_total * w / sum_w)))
                for s, w in zip(base, weights, strict=True)
            ]
            df = max(sum(n_alloc) - len(base), 1)
            z_new = t_quantile(1 - (1 - confidence) / 2, df)
            if abs(z_new - z) < 1e-9:
                break
            z = z_new
    strata = tuple(
        StratumPlan(
            s.name, s.size, s.amount_total, s.amount_mean, s.amount_sd, s.diff_sd, s.diff_mean, n
        )
        for s, n in zip(base, n_alloc, strict=True)
    )
    return SamplePlan(design, confidence, precision, error_rate, strata, cuts)


def draw(enc: pl.DataFrame, sample_plan: SamplePlan, seed: int = 0) -> pl.DataFrame:
    """The sample of ``sample_plan``: per stratum its ``n`` smallest keys."""
    framed, _ = _strata(enc, sample_plan.design, sample_plan.bands or None)
    sizes = pl.DataFrame(
        {
            "stratum": [s.name for s in sample_plan.strata],
            "stratum_size": [s.size for s in sample_plan.strata],
            "_n": [s.n for s in sample_plan.strata],
        },
        schema={"stratum": pl.String, "stratum_size": pl.Int64, "_n": pl.Int64},
    )
    keyed = framed.with_columns(draw_keys(framed, seed)).join(sizes, on="stratum", how="left")
    return (
        keyed.sort(["stratum", "key"])
        .filter(pl.int_range(pl.len()).over("stratum") < pl.col("_n"))
        .drop("_n")
    )


def review_file(sample: pl.DataFrame, findings: pl.DataFrame | None = None) -> pl.DataFrame:
    """The sample as the reviewer's worksheet (CSV-ready): identifiers, codes, the Medicare
    amount and billed charge, the rules that flagged the encounter (context only: the draw
    did not look at them), blank ``audited_amount`` and ``reviewer_note`` to fill in, and the
    stratum, its size and the random key that ``dermaudit extrapolate`` and a checker need."""
    out = sample
    if findings is not None and findings.height:
        flagged = (
            findings.filter(pl.col("patient_id").is_not_null())
            .group_by(ENCOUNTER)
            .agg(pl.col("rule").unique().sort().str.join(" ").alias("flagged_by"))
        )
        out = out.join(flagged, on=ENCOUNTER, how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("flagged_by"))
    return out.select(
        pl.col("patient_id").alias("patient"),
        "dos",
        "provider",
        pl.col("claim_id").alias("claim"),
        "file",
        pl.col("rows").cast(pl.List(pl.String)).list.join(" ").alias("rows"),
        "codes",
        "amount",
        "charge",
        pl.col("flagged_by").fill_null(""),
        "stratum",
        "stratum_size",
        pl.col("key").cast(pl.String).alias("random_key"),
        *[pl.lit("").alias(c) for c in REVIEW_COLUMNS],
    )


def expected_error_rate(findings: pl.DataFrame, encounters: int) -> float:
    """The scan's share of encounters with a finding whose dollars are counted (at least 1%):
    the planning error rate before a probe sample has been reviewed."""
    from .summary import annotated

    f = annotated(findings).filter(
        pl.col("counted").fill_null(False) & pl.col("patient_id").is_not_null()
    )
    n = f.select(pl.struct(ENCOUNTER).n_unique()).item() if f.height else 0
    return max(n / encounters, 0.01) if encounters else 0.1


def sheet(
    lines: pl.DataFrame,
    findings: pl.DataFrame,
    ref: RefData,
    *,
    design: str = "probe",
    per_provider: int = PROBE_PER_PROVIDER,
    seed: int = 0,
    confidence: float = 0.90,
    precision: float = 0.25,
    error_rate: float | None = None,
) -> tuple[pl.DataFrame, str]:
    """The reviewer's worksheet of a ``design`` sample (probe, simple, provider or dollar)
    drawn from every encounter of ``lines``, and a one-line description of the draw."""
    enc = encounter_frame(lines, ref)
    if enc.height == 0:
        raise UsageError("no encounter to sample from")
    if design == "probe":
        drawn = probe_sample(enc, per_provider, seed)
        what = f"probe sample, {per_provider} per provider"
    elif design in DESIGNS:
        rate = error_rate if error_rate is not None else expected_error_rate(findings, enc.height)
        p = plan(enc, design=design, confidence=confidence, precision=precision, error_rate=rate)
        drawn = draw(enc, p, seed)
        what = (
            f"{design} design, {len(p.strata)} strata, {confidence:.0%} confidence, "
            f"{precision:.0%} precision, expected error rate {rate:.1%}"
        )
    else:
        raise UsageError(f"unknown sample design {design!r}; use probe, {', '.join(DESIGNS)}")
    return review_file(drawn, findings), f"{drawn.height} of {enc.height:,} encounters ({what})"
