"""Test helpers: run the real pipeline (ingest -> engine) on small CSV texts."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from dermaudit import engine, ingest
from dermaudit.refdata import RefData, load_refdata

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
LAYERS = Path(__file__).parent / "fixtures" / "rulesets"
_REF: dict[str, RefData] = {}


def ref(layer: str | None = None) -> RefData:
    key = layer or ""
    if key not in _REF:
        _REF[key] = load_refdata([LAYERS / layer] if layer else None)
    return _REF[key]


def scan_text(
    tmp: Path, csv: str, select: list[str] | None = None, name: str = "charges.csv", **opts: Any
) -> engine.ScanResult:
    p = tmp / name
    p.write_text(csv.strip() + "\n", encoding="utf-8")
    return scan_paths([str(p)], select=select, **opts)


def scan_paths(
    paths: list[str], select: list[str] | None = None, layer: str | None = None, **opts: Any
) -> engine.ScanResult:
    r = ref(layer or None)
    ing = ingest.load(paths, payer_rules=r.payer_rules, today=date(2026, 11, 27), **opts)
    return engine.run(ing, r, engine.select_rules(select))


def flagged(result: engine.ScanResult, rule: str) -> list[list[int]]:
    f = result.findings.filter(pl.col("rule") == rule)
    return sorted(sorted(r) for r in f["rows"].to_list())


def load_fixture(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text("utf-8"))


def all_fixtures() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for p in sorted(FIXTURES.glob("*.toml")):
        data = load_fixture(p)
        for case in data.get("case", []):
            if "ruleset" in data and "ruleset" not in case:
                case = {**case, "ruleset": data["ruleset"]}
            out.append((data["rule"], case["name"], case))
    return out
