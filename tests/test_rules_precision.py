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


# ---- PTP-001 fires once the quarterly CMS PTP file is imported (issue #12 item 8) ----------

PTP_PREAMBLE = [
    "CPT only copyright 2024 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
]
# rows in the published layout (tab-delimited, CRLF, YYYYMMDD dates, '*' = no deletion); the
# pairs are for this test only - their codes are in families no named rule owns
PTP_ROWS = [
    "17110\t11900\t\t20190101\t*\t1\tMisuse of column two code with column one code",
    "11900\t96372\t\t20150101\t*\t0\tStandard preparation / monitoring services",
    "17110\t11901\t\t20190101\t20221231\t1\tMisuse of column two code with column one code",
]


def _imported_ref(tmp: Path):  # type: ignore[no-untyped-def]
    from dermaudit.refdata import load_refdata
    from dermaudit.refdata_import import import_files

    src = tmp / "in" / "ccipra-v313r0-f1.txt"
    src.parent.mkdir(parents=True)
    src.write_bytes(("\r\n".join(PTP_PREAMBLE + PTP_ROWS) + "\r\n").encode("latin-1"))
    layer = tmp / "cms2025q4"
    import_files([src], layer, today=date(2026, 1, 15))
    return load_refdata([layer])


def _ptp(tmp: Path, csv: str):  # type: ignore[no-untyped-def]
    r = _imported_ref(tmp)
    p = tmp / "charges.csv"
    p.write_text(csv.strip() + "\n", encoding="utf-8")
    ing = ingest.load([str(p)], payer_rules=r.payer_rules, today=date(2026, 11, 27))
    return engine.run(ing, r, [RULES["PTP-001"]], include_dq=False).findings


def test_ptp001_is_silent_with_the_shipped_excerpt(tmp_path: Path) -> None:
    csv = """
patient_id,dos,provider,payer,cpt,modifiers,units,dx
P1,2025-03-04,DrA,Medicare,17110,,1,B07.0
P1,2025-03-04,DrA,Medicare,11900,,1,L91.0
"""
    p = tmp_path / "charges.csv"
    p.write_text(csv.strip() + "\n", encoding="utf-8")
    r = ref()
    ing = ingest.load([str(p)], payer_rules=r.payer_rules, today=date(2026, 11, 27))
    assert engine.run(ing, r, [RULES["PTP-001"]], include_dq=False).findings.height == 0


def test_ptp001_fires_on_an_imported_cms_ptp_file(tmp_path: Path) -> None:
    f = _ptp(
        tmp_path,
        """
patient_id,dos,provider,payer,cpt,modifiers,units,dx
P1,2025-03-04,DrA,Medicare,17110,,1,B07.0
P1,2025-03-04,DrA,Medicare,11900,,1,L91.0
P2,2025-03-04,DrA,Medicare,17110,,1,B07.0
P2,2025-03-04,DrA,Medicare,11900,XS,1,L91.0
P3,2025-03-04,DrA,Medicare,11900,,1,L91.0
P3,2025-03-04,DrA,Medicare,96372,XS,1,L91.0
P4,2022-03-04,DrA,Medicare,17110,,1,B07.0
P4,2022-03-04,DrA,Medicare,11901,,1,L91.0
P5,2023-03-04,DrA,Medicare,17110,,1,B07.0
P5,2023-03-04,DrA,Medicare,11901,,1,L91.0
""",
    )
    got = {tuple(r): (s, m) for r, s, m in f.select("rows", "severity", "money").iter_rows()}
    # indicator 1, no modifier: the column-2 code is denied
    assert got[(1, 2)] == ("denial", "either")
    # indicator 0 with a modifier: the modifier cannot bypass the edit (if paid, overpaid)
    assert got[(5, 6)] == ("compliance", "over")
    # in force on the date (deleted 2022-12-31): flagged in 2022, not in 2023
    assert (7, 8) in got and (9, 10) not in got
    # XS on the column-2 line bypasses an indicator-1 edit
    assert (3, 4) not in got
    assert len(got) == 3
    msg = f.filter(pl.col("rows") == [1, 2])["message"][0]
    assert "column 1 17110, column 2 11900, modifier indicator 1" in msg
