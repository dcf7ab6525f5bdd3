"""The synthetic export generator (bench/generate.py) and the files it made in sample_data/."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

pytest.importorskip("numpy", reason="bench/generate.py needs numpy (a dev dependency)")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _load_generator() -> ModuleType:
    name = "dermaudit_bench_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the file executes
    spec.loader.exec_module(mod)
    return mod


gen = _load_generator()
SMALL = gen.Config(lines=3000, seed=11, error_rate=0.08, providers=4, start="2025-02-03", months=3)


@pytest.fixture(scope="module")
def small() -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    return gen.generate(SMALL)


def _labels(lab: pl.DataFrame) -> list[tuple[str, list[int]]]:
    return [(r, rows) for r, rows in lab.select("rule", "row").iter_rows()]


def test_deterministic_for_a_seed(small: tuple[pl.DataFrame, pl.DataFrame, dict]) -> None:
    df, lab, man = small
    df2, lab2, man2 = gen.generate(SMALL)
    assert df.equals(df2)
    assert _labels(lab) == _labels(lab2)
    assert man["errors_by_rule"] == man2["errors_by_rule"]
    other, _, _ = gen.generate(gen.Config(**{**SMALL.__dict__, "seed": 12}))
    assert not df.equals(other)


def test_shape_and_columns(small: tuple[pl.DataFrame, pl.DataFrame, dict]) -> None:
    df, _, man = small
    assert df.columns == [
        "Claim ID",
        "Patient ID",
        "Date of Service",
        "Rendering Provider",
        "Credential",
        "Payer",
        "CPT",
        "Mod 1",
        "Mod 2",
        "Units",
        "Diag 1",
        "Diag 2",
        "Diag 3",
        "Charge",
        "Site",
        "Lesion Size (cm)",
        "POS",
    ]
    assert 0.95 * SMALL.lines <= df.height <= 1.05 * SMALL.lines
    assert man["lines"] == df.height
    dos = df["Date of Service"]
    assert dos.dtype == pl.Date
    assert dos.min() >= pl.Series(["2025-02-03"]).str.to_date()[0]
    assert dos.max() < pl.Series(["2025-05-03"]).str.to_date()[0]
    assert df["CPT"].str.contains(r"^(?:\d{4}[0-9T]|[A-Z]\d{4})$").all()
    assert (df["Units"] >= 1).all()
    # new-patient codes only at a patient's first visit
    em_new = df.filter(pl.col("CPT").is_in(["99202", "99203", "99204", "99205"]))
    first = df.group_by("Patient ID").agg(pl.col("Date of Service").min().alias("first"))
    clean_new = em_new.join(first, on="Patient ID").filter(
        pl.col("Date of Service") > pl.col("first")
    )
    assert clean_new.height <= man["errors_by_rule"].get("EM-006", 0)


def test_labels_point_at_rows_with_the_named_codes(
    small: tuple[pl.DataFrame, pl.DataFrame, dict],
) -> None:
    df, lab, man = small
    codes = df["CPT"].to_list()
    assert lab.height == man["errors_total"] > 0
    seen: dict[str, int] = {}
    for rule, rows in _labels(lab):
        assert rows and all(1 <= r <= df.height for r in rows), (rule, rows)
        want = set(gen.RULE_BY_ID[rule].codes)
        got = {codes[r - 1] for r in rows}
        assert got & want, f"{rule}: rows {rows} hold {got}, expected one of {sorted(want)[:8]}"
        seen[rule] = seen.get(rule, 0) + 1
    assert seen == {k: v for k, v in man["errors_by_rule"].items() if v}


def test_written_files_parse_and_agree(
    tmp_path: Path, small: tuple[pl.DataFrame, pl.DataFrame, dict]
) -> None:
    df, lab, man = small
    gen.write(tmp_path, df, lab, man, ["csv", "parquet"])
    csv = pl.read_csv(tmp_path / "charges.csv", infer_schema=False)
    pq = pl.read_parquet(tmp_path / "charges.parquet")
    assert csv.height == pq.height == df.height
    assert pq.schema["Date of Service"] == pl.Date and pq.schema["CPT"] == pl.String
    parsed = csv["Date of Service"].str.to_date("%m/%d/%Y")
    assert parsed.null_count() == 0
    assert parsed.equals(pq["Date of Service"], check_names=False)
    assert csv["CPT"].equals(pq["CPT"])
    labels = pl.read_csv(tmp_path / "seeded_errors.csv")
    assert labels.columns == ["rule", "file", "rows"]
    assert labels.height == lab.height
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["seed"] == SMALL.seed and m["generator_version"] == gen.GENERATOR_VERSION


def test_columns_are_detected_by_dermaudit(
    tmp_path: Path, small: tuple[pl.DataFrame, pl.DataFrame, dict]
) -> None:
    from dermaudit.ingest.columns import detect

    m = detect(small[0].columns)
    assert m.single["claim_id"] == "Claim ID"
    assert m.single["patient_id"] == "Patient ID"
    assert m.single["dos"] == "Date of Service"
    assert m.single["provider"] == "Rendering Provider"
    assert m.single["credential"] == "Credential"
    assert m.single["payer"] == "Payer"
    assert m.single["cpt"] == "CPT"
    assert m.single["units"] == "Units"
    assert m.single["charge"] == "Charge"
    assert m.single["site"] == "Site"
    assert m.single["lesion_size_cm"] == "Lesion Size (cm)"
    assert m.single["pos"] == "POS"
    assert m.multi["modifiers"] == ["Mod 1", "Mod 2"]
    assert m.multi["dx"] == ["Diag 1", "Diag 2", "Diag 3"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # simple_icd_10_cm resource loading
def test_reference_vocabulary_matches_rulesets() -> None:
    """Sites, payer names, fees and ICD-10-CM codes agree with the tables dermaudit loads."""
    from dermaudit.features import site_group_expr
    from dermaudit.icd10 import facts
    from dermaudit.ingest.normalize import payer_class
    from dermaudit.refdata import load_refdata

    ref = load_refdata()
    sites = pl.DataFrame({"site": gen.SITE_NAMES}).with_columns(
        site_group_expr(ref, "lesion_group").alias("lesion"),
        site_group_expr(ref, "mohs_group").alias("mohs"),
        site_group_expr(ref, "simple_group").alias("simple"),
        site_group_expr(ref, "intermediate_group").alias("intermediate"),
        site_group_expr(ref, "complex_group").alias("complex"),
    )
    simple = ["R_SIMPLE_BODY", "R_SIMPLE_FACE"]
    inter = ["R_INT_TRUNK", "R_INT_NECK_HANDS_FEET", "R_INT_FACE"]
    cx = ["R_CX_TRUNK", "R_CX_SCALP_LIMBS", "R_CX_FOREHEAD_ETC", "R_CX_EYELID_NOSE_EAR_LIP"]
    for (name, grp, mohs, s, i, c, _axis), row in zip(
        gen.SITES, sites.iter_rows(named=True), strict=True
    ):
        assert row["lesion"] == "ABC"[grp], name
        assert row["mohs"] == ["HNHFG", "TAL"][mohs], name
        assert (row["simple"], row["intermediate"], row["complex"]) == (
            simple[s],
            inter[i],
            cx[c],
        ), name
    classes = pl.select(payer_class(pl.Series(gen.PAYER_NAMES), ref.payer_rules, {}).alias("c"))[
        "c"
    ].to_list()
    assert classes == gen.PAYER_CLASS
    fees = dict(ref.codes.select("code", "fee_2025").drop_nulls().iter_rows())
    for code in gen.FEE_2025:
        price = gen.PRICE_CENTS[gen.CI[code]] / 100
        assert price >= float(fees[code]), f"{code}: charge {price} below the 2025 fee"
    invalid = set(gen.INVALID_DX.values())
    icd = facts()  # the ICD-10-CM edition dermaudit checks codes against (DX-004)
    for d in gen.DX_LIST:
        ok = icd.is_valid_item(d) and icd.is_leaf(d)
        assert ok != (d in invalid), d


def test_sample_data_is_in_sync_with_the_generator(tmp_path: Path) -> None:
    man = json.loads((SAMPLE / "manifest.json").read_text())
    args = man["args"]
    cfg = gen.Config(
        lines=args["lines"],
        seed=args["seed"],
        error_rate=args["error_rate"],
        providers=args["providers"],
        start=args["start"],
        months=args["months"],
    )
    df, lab, m = gen.generate(cfg)
    gen.write(tmp_path, df, lab, m, ["csv"])
    assert (tmp_path / "charges.csv").read_bytes() == (SAMPLE / "charges.csv").read_bytes(), (
        "sample_data/charges.csv is stale: run sample_data/make_sample.sh"
    )
    assert (tmp_path / "seeded_errors.csv").read_bytes() == (
        SAMPLE / "seeded_errors.csv"
    ).read_bytes()
    sample = pl.read_parquet(SAMPLE / "charges.parquet")
    assert sample.equals(df)
    assert man["errors_by_rule"] == m["errors_by_rule"]
    readme = (SAMPLE / "README.md").read_text()
    assert gen.seeded_table(man) in readme
    assert 2000 <= df.height <= 3000
    assert len(man["providers"]) == 3
