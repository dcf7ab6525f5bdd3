"""Audit samples: drawn from every encounter, seeded, reproducible, redaction-proof, mergeable
across partitions; the sample size follows the plan; a reviewed sample extrapolates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dermaudit.engine import ScanResult
from dermaudit.errors import UsageError
from dermaudit.report import svs as sampling
from dermaudit.report.extrapolate import from_frame

from .helpers import scan_paths
from .report_data import synthetic_charges


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    p = tmp_path_factory.mktemp("sampling") / "charges.csv"
    p.write_text(synthetic_charges(n_encounters=300, seed=5), encoding="utf-8")
    return scan_paths([str(p)])


@pytest.fixture(scope="module")
def enc(result: ScanResult) -> pl.DataFrame:
    return sampling.encounter_frame(result.ingested.lines, result.ref)


def test_encounter_frame_covers_every_line(result: ScanResult, enc: pl.DataFrame) -> None:
    assert enc.height == result.stats["encounters"]
    assert enc["lines"].sum() == result.ingested.lines.height
    assert enc.select(sampling.ENCOUNTER).is_unique().all()
    assert enc["charge"].sum() == pytest.approx(result.stats["charges"])
    # Medicare amount = fee x units of the codes (99213 alone: the 2025 national fee)
    fee = result.ref.fee("99213")
    alone = enc.filter(pl.col("codes") == "99213")
    assert alone.height and (alone["amount"] == round(fee, 2)).all()


def test_probe_sample_is_per_provider_from_all_encounters(
    result: ScanResult, enc: pl.DataFrame
) -> None:
    a = sampling.probe_sample(enc, 10, seed=3)
    b = sampling.probe_sample(enc, 10, seed=3)
    assert a.equals(b)
    per = a.group_by("provider").len()
    counts = enc.group_by("provider").len()
    want = counts.with_columns(pl.col("len").clip(upper_bound=10))
    assert per.sort("provider").equals(want.sort("provider"))
    sizes = dict(a.select("provider", "stratum_size").unique().iter_rows())
    assert sizes == dict(counts.iter_rows())
    # not only flagged encounters: the draw ignores the findings
    flagged = result.findings.filter(pl.col("patient_id").is_not_null()).select(sampling.ENCOUNTER)
    unflagged = a.join(flagged.unique(), on=sampling.ENCOUNTER, how="anti")
    assert unflagged.height > 0
    assert not sampling.probe_sample(enc, 10, seed=4).equals(a)


def test_draw_ignores_identifiers(result: ScanResult, enc: pl.DataFrame) -> None:
    """Hashing patient and claim ids (redaction) draws the same encounters."""
    red = enc.with_columns(
        (pl.lit("H-") + pl.col("patient_id").hash(1).cast(pl.String)).alias("patient_id"),
        pl.lit(None, pl.String).alias("claim_id"),
    )
    a = sampling.probe_sample(enc, 5, seed=9)
    b = sampling.probe_sample(red, 5, seed=9)
    assert a["first_row"].to_list() == b["first_row"].to_list()


def test_partition_candidates_merge_to_the_in_memory_draw(enc: pl.DataFrame) -> None:
    whole = sampling.probe_sample(enc, 7, seed=2)
    part = pl.col("patient_id").hash(3) % 3
    parts = [sampling.candidates(enc.filter(part == i), 7, seed=2) for i in range(3)]
    merged = sampling.merge_candidates(parts, 7)
    cols = ["provider", "first_row", "key", "provider_encounters"]
    got = merged.sort("provider", "key").select(cols)
    want = (
        whole.rename({"stratum_size": "provider_encounters"}).sort("provider", "key").select(cols)
    )
    assert got.equals(want)


@pytest.mark.parametrize("design", ["simple", "provider", "dollar"])
def test_plan_and_draw(enc: pl.DataFrame, design: str) -> None:
    plan = sampling.plan(enc, design=design, confidence=0.90, precision=0.25, error_rate=0.2)
    assert plan.universe == enc.height
    assert all(min(s.size, sampling.MIN_PER_STRATUM) <= s.n <= s.size for s in plan.strata)
    drawn = sampling.draw(enc, plan, seed=11)
    assert drawn.height == plan.n
    per = dict(drawn.group_by("stratum").len().iter_rows())
    assert per == {s.name: s.n for s in plan.strata if s.n}
    assert drawn.equals(sampling.draw(enc, plan, seed=11))
    # looser precision never needs a larger sample
    loose = sampling.plan(enc, design=design, precision=0.5, error_rate=0.2)
    assert loose.n <= plan.n


def test_sample_size_matches_the_textbook_formula(enc: pl.DataFrame) -> None:
    """Simple design: n = N^2 s^2 / ((E/t)^2 + N s^2) with E the target half-width."""
    from dermaudit.report.extrapolate import t_quantile

    p = sampling.plan(enc, design="simple", precision=0.3, error_rate=0.25)
    (s,) = p.strata
    e = 0.3 * s.size * s.diff_mean
    t = t_quantile(0.95, p.n - 1)
    n = (s.size * s.diff_sd) ** 2 / ((e / t) ** 2 + s.size * s.diff_sd**2)
    assert p.n == max(2, -(-n // 1))


def test_bad_plans_fail_with_one_line(enc: pl.DataFrame) -> None:
    with pytest.raises(UsageError, match="design"):
        sampling.plan(enc, design="cluster")
    with pytest.raises(UsageError, match="between 0 and 1"):
        sampling.plan(enc, precision=10)
    with pytest.raises(UsageError, match="error rate"):
        sampling.plan(enc, error_rate=0)


def test_review_file_round_trip(result: ScanResult, enc: pl.DataFrame, tmp_path: Path) -> None:
    plan = sampling.plan(enc, design="provider", precision=0.5, error_rate=0.3)
    sheet = sampling.review_file(sampling.draw(enc, plan, seed=1), result.findings)
    assert sheet.columns[:3] == ["patient", "dos", "provider"]
    assert {"stratum", "stratum_size", "random_key", "audited_amount"} <= set(sheet.columns)
    assert (sheet["audited_amount"] == "").all()
    path = tmp_path / "sheet.csv"
    sheet.write_csv(path)
    # the reviewer supports every other encounter in full and half of the rest
    back = pl.read_csv(path, infer_schema=False).with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 0)
        .then(pl.col("amount"))
        .otherwise((pl.col("amount").cast(pl.Float64) / 2).round(2).cast(pl.String))
        .alias("audited_amount")
    )
    x = from_frame(back)
    assert x.reviewed == sheet.height
    assert x.overpayment.universe == enc.height
    assert 0 < x.error_rate < 1
    assert x.overpayment.lower_one_sided < x.overpayment.point
