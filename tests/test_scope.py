"""Rule scopes: a scoped rule finds exactly what it finds on the whole frame.

``@rule(scope=families)`` lets the engine run a rule on the days (patients, for history rules)
that have a line of those code families only. A wrong scope would drop findings silently, so
every scoped rule is run both ways on the sample data, on a synthetic export with a high rate of
seeded errors, and on every fixture case of the rule, and the findings must be identical.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from dermaudit import engine, ingest
from dermaudit.model import FINDINGS_SCHEMA
from dermaudit.rules.base import RULES

from .helpers import all_fixtures, ref

ROOT = Path(__file__).resolve().parents[1]
SCOPED = sorted(r.id for r in RULES.values() if r.scope)


def _generator() -> ModuleType:
    name = "dermaudit_bench_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _both_ways(
    paths: list[str], ids: list[str] = SCOPED, layer: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    r = ref(layer)
    ing = ingest.load(paths, payer_rules=r.payer_rules)
    rules = [RULES[i] for i in ids]
    key = list(FINDINGS_SCHEMA)
    out = []
    for scoping in (True, False):
        f = engine.run(ing, r, rules, include_dq=False, scoping=scoping).findings
        out.append(f.select(key).sort(pl.exclude("rows"), pl.col("rows").list.first()))
    return out[0], out[1]


def test_some_rules_are_scoped() -> None:
    assert len(SCOPED) >= 10


def test_scope_families_exist_in_the_code_table() -> None:
    families = set(ref().codes["family"].drop_nulls().to_list())
    for rid in SCOPED:
        unknown = set(RULES[rid].scope) - families
        assert not unknown, f"{rid}: scope names unknown families {unknown}"


def test_scoped_equals_unscoped_on_the_sample_data() -> None:
    scoped, whole = _both_ways([str(ROOT / "sample_data" / "charges.csv")])
    assert whole.height > 0
    assert scoped.equals(whole)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gen = _generator()
    cfg = gen.Config(lines=40_000, seed=23, error_rate=0.15, providers=6, months=6)
    df, _, _ = gen.generate(cfg)
    p = tmp_path_factory.mktemp("scope") / "charges.parquet"
    df.write_parquet(p)
    return p


def test_scoped_equals_unscoped_on_a_synthetic_export(synthetic: Path) -> None:
    scoped, whole = _both_ways([str(synthetic)])
    # most scoped rules have seeded errors here, so the comparison is not between empty frames
    assert whole["rule"].n_unique() >= 0.8 * len(SCOPED)
    assert scoped.equals(whole)


@pytest.mark.parametrize(
    ("rule", "case"),
    [pytest.param(r, c, id=f"{r}::{n}") for r, n, c in all_fixtures() if r in SCOPED],
)
def test_scoped_equals_unscoped_on_fixture_cases(
    rule: str, case: dict[str, object], tmp_path: Path
) -> None:
    p = tmp_path / "charges.csv"
    p.write_text(str(case["csv"]).strip() + "\n", encoding="utf-8")
    layer = case.get("ruleset")
    scoped, whole = _both_ways([str(p)], [rule], layer=str(layer) if layer else None)
    assert scoped.equals(whole)
