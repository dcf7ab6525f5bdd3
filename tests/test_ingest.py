"""Ingest: real export shapes need no mapping file; bad input gives a clear error."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from .helpers import scan_paths

CANONICAL = """\
patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge
P1,2025-03-04,1111111111,Medicare,99213,,1,L57.0,120
P1,2025-03-04,1111111111,Medicare,17000,,3,L57.0,270
P2,2025-03-05,1111111111,Medicare,17311,,1,C44.311,700
P2,2025-03-05,1111111111,Medicare,17314,,2,C44.311,700
P3,2025-03-06,1111111111,Medicare,11402,59,1,D22.5,200
P3,2025-03-06,1111111111,Medicare,11402,59,1,D22.5,200
P4,2025-03-06,1111111111,Medicare,99214,25,1,C44.311,150
P4,2025-03-06,1111111111,Medicare,11104,,1,C44.311,150
"""

TEBRA = """\
Patient ID,Encounter ID,From,To,Procedure,Mod 1,Mod 2,Mod 3,Mod 4,Units,Unit Charge,Total Charge,Diag 1,Diag 2,Diag 3,Diag 4,Rendering Provider,Primary Insurance
P1,E1,3/4/2025,3/4/2025,99213,,,,,1,120.00,120.00,L57.0,,,,1111111111,Medicare
P1,E1,3/4/2025,3/4/2025,17000,,,,,3.00,90.00,270.00,L57.0,,,,1111111111,Medicare
P2,E2,3/5/2025,3/5/2025,17311,,,,,1,700.00,700.00,C44.311,,,,1111111111,Medicare
P2,E2,3/5/2025,3/5/2025,17314,,,,,2,350.00,700.00,C44.311,,,,1111111111,Medicare
P3,E3,3/6/2025,3/6/2025,11402,59,,,,1,200.00,200.00,D22.5,,,,1111111111,Medicare
P3,E3,3/6/2025,3/6/2025,11402,59,,,,1,200.00,200.00,D22.5,,,,1111111111,Medicare
P4,E4,3/6/2025,3/6/2025,99214,25,,,,1,150.00,150.00,C44.311,,,,1111111111,Medicare
P4,E4,3/6/2025,3/6/2025,11104,,,,,1,150.00,150.00,C44.311,,,,1111111111,Medicare
"""

NEXTGEN = """\
Per Nbr\tSvc Dates\tSvc Item\tCPT4\tModifiers 1 - 4\tQuantity\tChg Amt\tRendering\tFinancial Class\tDx Codes
P1\t03/04/2025\tSIM-EM3\t99213\t\t1\t120\t1111111111\tMedicare\tL570
P1\t03/04/2025\tSIM-AK1\t17000\t\t3\t270\t1111111111\tMedicare\tL570
P2\t03/05/2025\tSIM-MOHS1\t17311\t\t1\t700\t1111111111\tMedicare\tC44311
P2\t03/05/2025\tSIM-MOHS2\t17314\t\t2\t700\t1111111111\tMedicare\tC44311
P3\t03/06/2025\tSIM-EX2\t11402\t59\t1\t200\t1111111111\tMedicare\tD225
P3\t03/06/2025\tSIM-EX2\t11402\t59\t1\t200\t1111111111\tMedicare\tD225
P4\t03/06/2025\tSIM-EM4\t99214\t25\t1\t150\t1111111111\tMedicare\tC44311
P4\t03/06/2025\tSIM-BX\t11104\t\t1\t150\t1111111111\tMedicare\tC44311
"""

CARRIER = """\
BENE_ID|CLM_ID|LINE_NUM|LINE_1ST_EXPNS_DT|HCPCS_CD|HCPCS_1ST_MDFR_CD|HCPCS_2ND_MDFR_CD|LINE_SRVC_CNT|PRF_PHYSN_NPI|PRVDR_SPCLTY|LINE_ICD_DGNS_CD|LINE_SBMTD_CHRG_AMT
P1|C1|1|04-MAR-2025|99213|||1|1111111111|07|L570|120.00
P1|C1|2|04-MAR-2025|17000|||3|1111111111|07|L570|270.00
P2|C2|1|05-MAR-2025|17311|||1|1111111111|07|C44311|700.00
P2|C2|2|05-MAR-2025|17314|||2|1111111111|07|C44311|700.00
P3|C3|1|06-MAR-2025|11402|59||1|1111111111|07|D225|200.00
P3|C3|2|06-MAR-2025|11402|59||1|1111111111|07|D225|200.00
P4|C4|1|06-MAR-2025|99214|25||1|1111111111|07|C44311|150.00
P4|C4|2|06-MAR-2025|11104|||1|1111111111|07|C44311|150.00
"""


def _keyed(result) -> set[tuple[str, tuple[int, ...]]]:  # type: ignore[no-untyped-def]
    f = result.findings
    return {(r, tuple(sorted(rows))) for r, rows in zip(f["rule"], f["rows"], strict=True)}


@pytest.mark.parametrize(
    ("name", "text", "fname"),
    [
        ("tebra", TEBRA, "tebra.csv"),
        ("nextgen", NEXTGEN, "nextgen.txt"),
        ("carrier", CARRIER, "rif.csv"),
    ],
)
def test_real_export_shapes_match_canonical(
    name: str, text: str, fname: str, tmp_path: Path
) -> None:
    canon_p = tmp_path / "canonical.csv"
    canon_p.write_text(CANONICAL)
    other_p = tmp_path / fname
    other_p.write_text(text)
    canon = scan_paths([str(canon_p)])
    other = scan_paths([str(other_p)])
    both = set(canon.rules_run) & set(other.rules_run)
    want = {k for k in _keyed(canon) if k[0] in both}
    got = {k for k in _keyed(other) if k[0] in both}
    assert got == want
    assert {"DEST-002", "EM-001", "MOHS-001"} <= {k[0] for k in got}
    # the carrier file has no payer column: payer rules are reported as skipped, not silent
    if name == "carrier":
        assert any("payer" in why for why in other.rules_skipped.values())


def test_dx_without_dot_and_glued_modifiers(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("Patient,DOS,Code,Dx\nP1,20250304,99213 25,L570\nP1,20250304,17000/59,L57.0\n")
    res = scan_paths([str(p)])
    lines = res.ingested.lines
    assert lines["cpt"].to_list() == ["99213", "17000"]
    assert lines["mods"].to_list() == [["25"], ["59"]]
    assert lines["dx"].to_list() == [["L57.0"], ["L57.0"]]


def test_parquet_with_numeric_codes_and_dates(tmp_path: Path) -> None:
    p = tmp_path / "x.parquet"
    df = pl.DataFrame(
        {"patient_id": [1, 1], "cpt": [17000, 100], "units": [3.0, 1.0]}
    ).with_columns(pl.Series("dos", ["2025-03-04", "2025-03-04"]).str.to_date())
    df.write_parquet(p)
    res = scan_paths([str(p)])
    assert res.ingested.lines["cpt"].to_list() == ["17000", "00100"]
    assert any("zero-padded" in n for n in res.ingested.notes)
    assert "DEST-002" in res.findings["rule"].to_list()


def test_multiple_files_keep_file_and_row(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("patient_id,dos,cpt,units\nP1,2025-03-04,17000,1\n")
    b.write_text("patient_id,dos,cpt,units\nP9,2025-03-04,99213,1\nP1,2025-03-04,17000,1\n")
    res = scan_paths([str(tmp_path / "*.csv")])
    f = res.findings.filter(pl.col("rule") == "DEST-002")
    assert f.height == 1
    assert res.ingested.rows_total == 3


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dermaudit", *args], capture_output=True, text=True, timeout=120
    )


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


BAD_INPUTS = {
    "empty.csv": (b"", "is empty"),
    "header_only.csv": (b"patient_id,dos,cpt\n", "no data rows"),
    "binary.csv": (bytes(range(256)) * 4, "not a text file"),
    "wrong_delim.csv": (b"patient_id;dos;cpt\nP1;2025-03-04;17000\n", None),
    "no_code.csv": (b"patient_id,dos,amount\nP1,2025-03-04,5\n", "no column for cpt"),
    "blank_lines.csv": (b"\n\n\n", "blank lines"),
    "junk.parquet": (b"PAR1 not really parquet", "cannot be read as Parquet"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error(name: str, tmp_path: Path) -> None:
    data, needle = BAD_INPUTS[name]
    p = tmp_path / name
    p.write_bytes(data)
    before = _sha(p)
    r = _cli("scan", str(p), "--format", "json")
    assert "Traceback" not in r.stderr
    assert _sha(p) == before
    if needle is None:  # the semicolon file is detected and scanned
        assert r.returncode in (0, 1), r.stderr
        return
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]


def test_latin1_file_is_read(tmp_path: Path) -> None:
    p = tmp_path / "latin1.csv"
    p.write_bytes(
        "patient_id,dos,provider,cpt,units\nP1,2025-03-04,Dr Muñoz,17000,2\n".encode("latin-1")
    )
    before = _sha(p)
    r = _cli("scan", str(p), "--format", "json")
    assert r.returncode == 1, r.stderr
    assert "Dr Muñoz" in r.stdout
    assert "cp1252" in r.stdout
    assert _sha(p) == before


def test_cp1252_byte_after_the_first_mebibyte_is_found(tmp_path: Path) -> None:
    """The head (1 MiB) is UTF-8; a Windows-1252 byte far below it switches the encoding, and
    the file's SHA-256 (computed in the same pass) is still that of the file."""
    from dermaudit.ingest.readers import read_file

    filler = "".join(f"P{i},2025-03-04,DrA,99213,1\n" for i in range(50_000))
    body = "patient_id,dos,provider,cpt,units\n" + filler + "P9,2025-03-04,Dr Muñoz,17000,2\n"
    p = tmp_path / "late.csv"
    p.write_bytes(body.encode("cp1252"))
    assert p.stat().st_size > 1 << 20
    raw = read_file(p)
    assert raw.encoding == "cp1252"
    assert raw.frame.height == 50_001
    assert raw.frame["provider"][-1] == "Dr Muñoz"
    assert raw.sha256 == _sha(p)


def test_utf16_file_is_read(tmp_path: Path) -> None:
    from dermaudit.ingest.readers import read_file

    p = tmp_path / "u16.csv"
    p.write_bytes(
        "patient_id,dos,provider,cpt,units\nP1,2025-03-04,Dr Muñoz,17000,2\n".encode("utf-16")
    )
    raw = read_file(p)
    assert raw.frame["provider"].to_list() == ["Dr Muñoz"]
    assert raw.sha256 == _sha(p)


def test_bad_rows_become_dq_findings_and_are_counted(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(
        "patient_id,dos,cpt,units\n"
        "P1,2025-03-04,17000,1\n"
        "P1,13/45/2025,17000,1\n"
        "P2,2025-03-04,17O00,1\n"
        ",2025-03-04,17000,1\n"
        "P3,2025-03-04,17000,-2\n"
        "P4,1899-01-01,17000,1\n"
    )
    res = scan_paths([str(p)])
    dq = res.findings.filter(pl.col("rule").str.starts_with("DQ"))
    assert sorted(zip(dq["rule"], dq["rows"].list.first(), strict=True)) == [
        ("DQ-001", 2),
        ("DQ-002", 3),
        ("DQ-003", 4),
        ("DQ-004", 5),
        ("DQ-005", 6),
    ]
    assert res.ingested.rows_total == 6
    assert res.ingested.lines.height == 1


def test_a_placeholder_patient_day_is_set_aside(tmp_path: Path) -> None:
    """DQ-006: more than MAX_DAY_LINES lines on one (patient, date) are a placeholder id or
    date; they are kept out of the coding rules (and out of their memory-hungry same-day
    comparisons). A day at the bound is audited as usual."""
    from dermaudit.ingest import MAX_DAY_LINES

    rows = ["patient_id,dos,cpt,units"]
    rows += ["UNKNOWN,2025-06-10,17000,1"] * (MAX_DAY_LINES + 1)
    rows += ["P2,2025-06-10,17000,1"] * MAX_DAY_LINES
    p = tmp_path / "x.csv"
    p.write_text("\n".join(rows) + "\n")
    res = scan_paths([str(p)])
    dq = res.findings.filter(pl.col("rule") == "DQ-006")
    assert dq.height == MAX_DAY_LINES + 1
    assert set(dq["patient_id"]) == {"UNKNOWN"}
    assert dq["message"][0] == (
        f"Row excluded from the coding rules: this patient-day holds {MAX_DAY_LINES + 1} lines "
        f"(more than {MAX_DAY_LINES}): a stand-in patient id or date of service?"
    )
    assert res.ingested.lines.height == MAX_DAY_LINES  # P2's day is audited
    assert set(res.ingested.lines["patient_id"]) == {"P2"}
    # P2's 500 lines of 17000 on one day: the destruction rules still see them
    assert "DEST-002" in set(res.findings["rule"])


def test_excel_input(tmp_path: Path) -> None:
    p = tmp_path / "charges.xlsx"
    pl.DataFrame(
        {
            "Patient ID": ["P1", "P1"],
            "Date of Service": ["3/4/2025", "3/4/2025"],
            "CPT": ["17000", "17003"],
            "Units": [3, 1],
        }
    ).with_columns(pl.col("Date of Service").str.to_date("%m/%d/%Y")).write_excel(p)
    res = scan_paths([str(p)], select=["DEST-002"])
    assert res.ingested.files[0].format == "excel"
    assert res.findings.filter(pl.col("rule") == "DEST-002")["rows"].to_list() == [[1]]
