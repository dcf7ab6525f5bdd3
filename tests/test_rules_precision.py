"""Targeted tests for rule behaviour that CSV fixtures cannot express yet (columns that
today's column detection does not map, such as a NUCC taxonomy)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from dermaudit import engine, ingest
from dermaudit.rules.base import RULES

from .helpers import ref


def _scan_with(tmp: Path, csv: str, rule: str, extra: dict[str, list[str | None]]) -> pl.DataFrame:
    """Scan ``csv`` with extra canonical columns added to the lines (in row order)."""
    p = tmp / "charges.csv"
    p.write_text(csv.strip() + "\n", encoding="utf-8")
    r = ref()
    ing = ingest.load([str(p)], payer_rules=r.payer_rules, today=date(2026, 11, 27))
    lines = ing.lines.sort("_row").with_columns(
        [pl.Series(k, v, dtype=pl.String) for k, v in extra.items()]
    )
    ing.lines = lines
    ing.present = ing.present | set(extra)
    return engine.run(ing, r, [RULES[rule]], include_dq=False).findings


EM006 = """
patient_id,dos,provider,group,payer,cpt,modifiers,units,dx
P1,2024-05-10,DrB,G1,Medicare,99213,,1,L40.0
P1,2025-03-04,DrA,G1,Medicare,99204,,1,L40.0
"""


def test_em006_same_group_same_taxonomy_specialty_is_established(tmp_path: Path) -> None:
    f = _scan_with(tmp_path, EM006, "EM-006", {"taxonomy": ["207ND0101X", "207N00000X"]})
    assert f["rows"].to_list() == [[1, 2]]
    assert f["severity"].to_list() == ["compliance"]
    assert "same group and specialty" in f["message"][0]


def test_em006_same_group_other_specialty_is_new(tmp_path: Path) -> None:
    # an internist (207R) of a multispecialty group does not make the patient established
    f = _scan_with(tmp_path, EM006, "EM-006", {"taxonomy": ["207R00000X", "207N00000X"]})
    assert f.height == 0


def test_em006_nurse_practitioner_by_taxonomy(tmp_path: Path) -> None:
    # no credential column: the NP is recognised from the 363L taxonomy
    f = _scan_with(tmp_path, EM006, "EM-006", {"taxonomy": ["363LF0000X", "207N00000X"]})
    assert f["rows"].to_list() == [[1, 2]]
    assert f["severity"].to_list() == ["compliance"]


def test_em006_billing_provider_identifies_the_group(tmp_path: Path) -> None:
    csv = """
patient_id,dos,provider,payer,cpt,modifiers,units,dx
P1,2024-05-10,DrB,Medicare,99213,,1,L40.0
P1,2025-03-04,DrA,Medicare,99204,,1,L40.0
"""
    f = _scan_with(tmp_path, csv, "EM-006", {"billing_provider": ["1234567893", "1234567893"]})
    assert f["rows"].to_list() == [[1, 2]]
    assert f["severity"].to_list() == ["review"]


def test_mohs009_nurse_practitioner_by_taxonomy_without_credential(tmp_path: Path) -> None:
    csv = """
patient_id,dos,provider,payer,cpt,modifiers,units,dx,credential
P1,2025-03-04,Lee,Medicare,17311,,1,C44.311,
P2,2025-03-04,Kim,Medicare,17311,,1,C44.311,
"""
    f = _scan_with(tmp_path, csv, "MOHS-009", {"taxonomy": ["363LF0000X", "207ND0101X"]})
    assert f["rows"].to_list() == [[1]]
    assert f["severity"].to_list() == ["compliance"]
    assert "363LF0000X" in f["message"][0]
