"""dermaudit.refdata_import: CMS files -> a ruleset layer that load_refdata() reads.

The small files below copy the CMS layouts (preamble lines, split/quoted headers, tab
delimiter, '*' deletion dates, MAI text, Julian dates, two-row PPRRVU header). Their VALUES
are test fixtures, not real CMS edits.
"""

from __future__ import annotations

import io
import os
import tomllib
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dermaudit.errors import InputError
from dermaudit.refdata import default_ruleset_dir, load_refdata
from dermaudit.refdata_import import (
    GENERATOR,
    NEW_CODE_FAMILY,
    NEW_CODE_LABEL,
    describe_layer,
    detect_kind,
    import_files,
    import_layers,
)

TODAY = date(2026, 1, 15)

# ---- NCCI PTP practitioner (ccipra-v313r0-f1.txt): tab-delimited, CRLF, 6-line preamble ----
PTP_PREAMBLE = [
    "CPT only copyright 2024 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
]
PTP_F1 = [
    "17004\t17000\t\t20070101\t*\t0\tMutually exclusive procedures",
    "17311\t11102\t\t20190101\t*\t1\tMisuse of column two code with column one code",
    # same pair twice: deleted, then re-added with another indicator -> the latest row is kept
    "11300\t11102\t\t20190101\t20231231\t0\tStandards of medical / surgical services",
    "11300\t11102\t\t20240101\t*\t1\tStandards of medical / surgical services",
    # deleted pair
    "11301\t11102\t\t20190101\t20221231\t1\tStandards of medical / surgical services",
    "10060\t10061\t*\t19960101\t*\t9\tMore extensive procedure",
]
PTP_F2 = ["99213\t36415\t\t20200101\t*\t1\tStandard preparation / monitoring services"]


def ptp_text(rows: list[str]) -> bytes:
    return ("\r\n".join(PTP_PREAMBLE + rows) + "\r\n").encode("latin-1")


# ---- MUE practitioner: quoted multi-line copyright cell, header cell with embedded newline --
MUE_TEXT = (
    '"CPT codes, descriptions and other data only are copyright 2024 American Medical '
    "Association.  All Rights Reserved.\n"
    "Applicable FARS/HHSARS apply.\n"
    'Fee schedules, relative value units, conversion factors are not assigned by the AMA.",,,\n'
    '"HCPCS/\nCPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
    '"MUE Rationale"\n'
    '17110,2,"2 Date of Service Edit: Policy","Code Descriptor / CPT Instruction"\n'
    '17003,13,"2 Date of Service Edit: Policy","Code Descriptor / CPT Instruction"\n'
    '11105,4,"3 Date of Service Edit: Clinical","Clinical: Data"\n'
    'J3301,20,"1 Line Edit","Prescribing Information"\n'
)
MUE_NAME = "MCR_MUE_PractitionerServices_Eff_10-01-2025.csv"


# ---- AOC (fixed-width .txt): type(1) addon(5) addon-del(7) primary(5) primary-del(7)
#      edit-eff(7) edit-del(7) notes; dates Julian YYYYDDD ------------------------------------
def aoc_line(t: str, addon: str, primary: str, eff: str, edel: str = "", pdel: str = "") -> str:
    return f"{t}{addon:5}{'':7}{primary:5}{pdel:7}{eff:7}{edel:7}"


AOC_LINES = [
    aoc_line("1", "17312", "17311", "2007001"),
    aoc_line("1", "17312", "17999", "2007001", edel="2020001"),  # pairing deleted in 2020
    aoc_line("1", "11105", "11104", "2019001"),
    aoc_line("1", "11105", "11106", "2019001"),
    aoc_line("3", "17315", "17311", "2007001"),
    aoc_line("2", "15777", "CCCCC", "2017001"),
    aoc_line("1", "11047", "11042", "2011001"),
]


# ---- PPRRVU (two-row header under title lines) --------------------------------------------
PFS_HEAD = [
    ",,2025 National Physician Fee Schedule Relative Value File January Release" + "," * 28,
    ",,CPT codes and descriptions only are copyright 2024 American Medical Association." + "," * 28,
    ",,,STATUS,NOT USED FOR MEDICARE,WORK,NON-FAC,NON-FAC NA,FACILITY,FACILITY NA,MP,"
    "NON-FACILITY,FACILITY,PCTC,GLOB,PRE,INTRA,POST,MULT,BILAT,ASST,CO-,TEAM,ENDO,CONV,"
    "DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,PAYMENT,PAYMENT",
    "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,"
    "IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,"
    "AMOUNT,AMOUNT",
]


def pfs_row(
    code: str, mod: str, status: str, rvu: tuple[str, str, str], glob: str, mult: str
) -> str:
    w, pe, mp = rvu
    return (
        f'{code},{mod},"SECRET DESCRIPTOR, {code}",{status},,{w},{pe},,0.30,,{mp},0,0,0,{glob},'
        f"0.10,0.80,0.10,{mult},0,1,0,0,,32.3465,09,,99,0,0,0"
    )


PFS_ROWS = [
    pfs_row("11102", "", "A", ("0.66", "2.23", "0.07"), "000", "2"),
    pfs_row("11102", "26", "A", ("0.66", "0.20", "0.07"), "000", "2"),
    pfs_row("17110", "", "A", ("0.70", "1.95", "0.07"), "010", "2"),
    pfs_row("17312", "", "A", ("3.30", "8.50", "0.55"), "ZZZ", "0"),
    pfs_row("G2211", "", "A", ("0.33", "0.11", "0.04"), "XXX", "9"),
    pfs_row("17999", "", "C", ("0.00", "0.00", "0.00"), "YYY", "2"),
    pfs_row("99499", "", "C", ("0.00", "0.00", "0.00"), "XXX", "0"),
    pfs_row("15777", "", "A", ("3.65", "1.40", "0.45"), "ZZZ", "0"),
]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def cms(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "downloads"
    return {
        "ptp1": write(d / "ccipra-v313r0-f1.txt", ptp_text(PTP_F1)),
        "ptp2": write(d / "ccipra-v313r0-f2.txt", ptp_text(PTP_F2)),
        "mue": write(d / MUE_NAME, MUE_TEXT),
        "aoc": write(d / "AOC_V2025Q4_01-MCR.txt", "\r\n".join(AOC_LINES) + "\r\n"),
        "pfs": write(d / "PPRRVU25_JAN.csv", "\r\n".join(PFS_HEAD + PFS_ROWS) + "\r\n"),
    }


def layer(tmp_path: Path) -> Path:
    return tmp_path / "cms-2025q4"


# ---------------------------------------------------------------------------------------------
def test_detect_kind(cms: dict[str, Path]) -> None:
    assert detect_kind(cms["ptp1"]) == "ptp"
    assert detect_kind(cms["mue"]) == "mue"
    assert detect_kind(cms["aoc"]) == "aoc"
    assert detect_kind(cms["pfs"]) == "pfs"


def test_detect_kind_from_content_when_renamed(cms: dict[str, Path], tmp_path: Path) -> None:
    renamed = write(tmp_path / "x" / "ptp.txt", cms["ptp1"].read_bytes())
    assert detect_kind(renamed) == "ptp"


def test_ptp_import_layers_over_default_pairs(cms: dict[str, Path], tmp_path: Path) -> None:
    before = {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in cms.items()}
    rep = import_files([cms["ptp1"], cms["ptp2"]], layer(tmp_path), today=TODAY)
    assert [t.file for t in rep.tables] == ["ncci_pairs_cms.csv"]
    assert rep.tables[0].rows == 6  # 7 rows, one pair twice
    # inputs untouched
    assert {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in cms.items()} == before

    ref = load_refdata([layer(tmp_path)])
    pairs = ref.ncci_pairs
    row = pairs.filter((pl.col("column1") == "17311") & (pl.col("column2") == "11102")).row(
        0, named=True
    )
    assert row["modifier_indicator"] == "1"
    assert row["effective"] == date(2019, 1, 1)
    assert row["deletion"] is None  # '*' = still active
    assert row["confidence"] == "P"
    assert row["source"] == "CMS NCCI PTP practitioner v313r0"
    assert row["rationale"] == "Misuse of column two code with column one code"
    # a deletion date is parsed
    deleted = pairs.filter((pl.col("column1") == "11301") & (pl.col("column2") == "11102"))
    assert deleted["deletion"].to_list() == [date(2022, 12, 31)]
    # a pair listed twice keeps its latest row, which replaces the default excerpt row
    again = pairs.filter((pl.col("column1") == "11300") & (pl.col("column2") == "11102"))
    assert again.height == 1
    assert again["effective"].to_list() == [date(2024, 1, 1)]
    assert again["deletion"].to_list() == [None]
    assert again["source"].to_list() == ["CMS NCCI PTP practitioner v313r0"]
    # the default excerpt row for 17004/17000 (indicator U) is replaced; others stay
    p = pairs.filter((pl.col("column1") == "17004") & (pl.col("column2") == "17000"))
    assert p["modifier_indicator"].to_list() == ["0"]
    kept = pairs.filter((pl.col("column1") == "17004") & (pl.col("column2") == "17003"))
    assert kept["modifier_indicator"].to_list() == ["U"]
    # second file part and pre-1996 flag rows are read; 9 = not applicable is kept as-is
    assert pairs.filter(pl.col("column1") == "99213").height == 1
    assert pairs.filter(pl.col("column1") == "10060")["modifier_indicator"].to_list() == ["9"]
    assert ref.vintages["ncci_pairs_cms"].startswith("CMS NCCI PTP practitioner v313r0 (2025 Q4")


def test_ptp_since_drops_old_deleted_pairs(cms: dict[str, Path], tmp_path: Path) -> None:
    import_files([cms["ptp1"]], layer(tmp_path), today=TODAY, since=date(2023, 1, 1))
    text = (layer(tmp_path) / "ncci_pairs_cms.csv").read_text()
    assert "11301,11102" not in text
    assert "11300,11102" in text


def test_ptp_xlsx_and_csv_variants(tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    x = tmp_path / "in" / "ccipra-v320r0-f1.xlsx"
    x.parent.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(x))
    ws = wb.add_worksheet()
    sheet: list[list[str | int | None]] = [
        ["CPT only copyright 2025 American Medical Association. All rights reserved."],
        ["Column1/Column2 Edits"],
        ["Column 1", "Column 2", "*=in existence prior to 1996", "Effective Date",
         "Deletion Date", "Modifier", "PTP Edit Rationale"],
        [None, None, None, None, None, "0=not allowed", None],
        [None, None, None, None, "*=no data", "1=allowed", None],
        [None, None, None, None, None, "9=not applicable", None],
        [17311, "11102", None, 20190101, "*", 1, "Misuse of column two code"],
        [17000, 11200, None, 20190101, 20211231, 1, "Mutually exclusive procedures"],
    ]  # fmt: skip
    for i, r in enumerate(sheet):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(i, j, v)
    wb.close()
    csv_file = write(
        tmp_path / "in" / "ccipra-v320r0-f2.csv",
        "CPT only copyright 2025 American Medical Association.,,,,,,\n"
        "Column 1,Column 2,*=in existence prior to 1996,Effective Date,Deletion Date,Modifier,"
        "PTP Edit Rationale\n"
        '17004,17003,,20070101,*,0,"Mutually exclusive procedures, by descriptor"\n',
    )
    rep = import_files([x, csv_file], layer(tmp_path), today=TODAY)
    assert rep.tables[0].release == "v320r0"
    pairs = load_refdata([layer(tmp_path)]).ncci_pairs
    got = pairs.filter((pl.col("column1") == "17000") & (pl.col("column2") == "11200"))
    assert got["modifier_indicator"].to_list() == ["1"]
    assert got["deletion"].to_list() == [date(2021, 12, 31)]
    assert got["source"].to_list() == ["CMS NCCI PTP practitioner v320r0"]
    got = pairs.filter((pl.col("column1") == "17004") & (pl.col("column2") == "17003"))
    assert got["rationale"].to_list() == ["Mutually exclusive procedures, by descriptor"]
    assert got["effective"].to_list() == [date(2007, 1, 1)]


def test_mue_import_overrides_default_caps(cms: dict[str, Path], tmp_path: Path) -> None:
    default_caps = load_refdata().unit_caps
    assert default_caps.filter(pl.col("code") == "17110")["max_units"].to_list() == [1]
    import_files([cms["mue"]], layer(tmp_path), today=TODAY)
    ref = load_refdata([layer(tmp_path)])
    caps = {r["code"]: r for r in ref.unit_caps.iter_rows(named=True)}
    assert caps["17110"]["max_units"] == 2
    assert (caps["17110"]["per"], caps["17110"]["mai"]) == ("day", "2")
    assert caps["17110"]["source"] == "CMS MUE practitioner eff 2025-10-01"
    assert caps["17110"]["confidence"] == "P"
    assert caps["11105"]["mai"] == "3"
    assert (caps["J3301"]["per"], caps["J3301"]["mai"], caps["J3301"]["max_units"]) == (
        "line",
        "1",
        20,
    )
    assert caps["J3301"]["rationale"] == "Prescribing Information"
    assert caps["17000"]["source"].startswith("CMS RAC")  # default row not in the file: kept
    assert ref.vintages["unit_caps_cms"] == "CMS MUE practitioner table, effective 2025-10-01"


def test_mue_with_plain_preamble_lines_and_xlsx(tmp_path: Path) -> None:
    text = (
        "CPT codes, descriptions and other data only are copyright 2024 AMA.\n"
        "All Rights Reserved.\n\n"
        '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,'
        "MUE Rationale\n"
        "17000,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction\n"
        "bad,x,9,footer\n"
    )
    f = write(tmp_path / "in" / "MCR_MUE_PractitionerServices_Eff_01-01-2026.csv", text)
    rep = import_files([f], layer(tmp_path), today=TODAY)
    assert rep.inputs[0].rows_skipped == 1
    assert "1 MUE rows could not be read" in " ".join(rep.warnings)
    caps = load_refdata([layer(tmp_path)]).unit_caps
    assert caps.filter(pl.col("code") == "17000")["mai"].to_list() == ["2"]


def test_aoc_fixed_width_import(cms: dict[str, Path], tmp_path: Path) -> None:
    import_files([cms["aoc"]], layer(tmp_path), today=TODAY)
    ref = load_refdata([layer(tmp_path)])
    ap = ref.addon_primaries
    # type 1: the CMS list is authoritative and replaces the default list
    assert ap["11105"] == ["11104", "11106"]
    # type 3: CMS primaries merged with the default list
    assert ap["17315"] == ["17311", "17312", "17313", "17314"]
    # a pairing deleted later is kept (the primary can no longer be billed anyway)
    assert ap["17312"] == ["17311", "17999"]
    # new add-on from the file
    assert ap["11047"] == ["11042"]
    # type 2 (CCCCC, contractor-defined) is not written
    assert "15777" not in ap
    # defaults the file does not list stay
    assert ap["17003"] == ["17000"]
    t = ref.tables["addon_primaries.csv"]
    row = t.filter(pl.col("addon") == "17315").row(0, named=True)
    assert row["aoc_type"] == "3" and row["confidence"] == "P"
    assert row["source"].startswith("CMS NCCI AOC V2025Q4_01 type 3")
    assert ref.vintages["addon_primaries_cms"].startswith("CMS NCCI AOC V2025Q4_01 (2025 Q4")


def test_aoc_since_drops_deleted_pairings(cms: dict[str, Path], tmp_path: Path) -> None:
    import_files([cms["aoc"]], layer(tmp_path), today=TODAY, since=date(2021, 1, 1))
    assert load_refdata([layer(tmp_path)]).addon_primaries["17312"] == ["17311"]


def test_aoc_xlsx_with_julian_dates(tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    x = tmp_path / "in" / "AOC_V2026Q1_01-MCR.xlsx"
    x.parent.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(x))
    ws = wb.add_worksheet()
    sheet: list[list[str | int | None]] = [
        ["CPT only copyright 2025 American Medical Association. All rights reserved."],
        ["AOC_Edit_Type", "Add-On_Code", "AOC_DelDT", "Primary_Code", "Primary_Code_DelDT",
         "AOC_Edit_EffDT", "AOC_Edit_DelDT", "Special_Instruction_Notes"],
        [1, "17003", None, "17000", None, 2007001, None, None],
        [1, "11201", None, "11200", None, 2005001, None, None],
        [2, "15777", None, "CCCCC", None, 2017001, None, "Contractor Defined Primary Codes"],
    ]  # fmt: skip
    for i, r in enumerate(sheet):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(i, j, v)
    wb.close()
    rep = import_files([x], layer(tmp_path), today=TODAY)
    assert rep.tables[0].covers == (date(2005, 1, 1), date(2026, 3, 31))
    ap = load_refdata([layer(tmp_path)]).addon_primaries
    assert ap["11201"] == ["11200"] and ap["17003"] == ["17000"]


def test_pprrvu_import_merges_code_table(cms: dict[str, Path], tmp_path: Path) -> None:
    rep = import_files([cms["pfs"]], layer(tmp_path), today=TODAY)
    out_text = (layer(tmp_path) / "codes_cms.csv").read_text()
    assert "SECRET" not in out_text  # CPT descriptors are never copied
    ref = load_refdata([layer(tmp_path)])
    c = ref.code_attr
    # fee = (work + non-facility PE + MP) x CF, from the global (no-modifier) row
    assert c["11102"]["fee_2025"] == pytest.approx(95.75)  # 2.96 x 32.3465
    assert c["11102"]["work_rvu_2025"] == pytest.approx(0.66)
    assert c["17110"]["fee_2025"] == pytest.approx(87.98)  # 2.72 x 32.3465
    assert c["17110"]["global_days"] == "010"
    # labels, families, site groups and validity of known codes are kept
    default = load_refdata().code_attr
    for code in ("11102", "17110", "17312"):
        for col in ("label", "family", "site_group", "valid_from", "note"):
            assert c[code][col] == default[code][col], (code, col)
    # kind: ZZZ -> addon; a default add-on with XXX stays an add-on
    assert c["17312"]["kind"] == "addon"
    assert c["G2211"]["kind"] == "addon"
    assert c["G2211"]["status"] == "A"
    # new codes: no descriptor, our placeholder label and family
    assert c["99499"]["label"] == NEW_CODE_LABEL
    assert c["99499"]["family"] == NEW_CODE_FAMILY
    assert c["99499"]["kind"] == "primary"
    assert c["15777"]["kind"] == "addon"
    # no RVUs -> no fee
    assert c["17999"]["fee_2025"] is None and c["17999"]["status"] == "C"
    # default codes absent from the file stay
    assert "11100" in c
    assert ref.fee("11102") == pytest.approx(95.75)
    assert rep.tables[0].rows == 7  # 8 rows, the 26 row skipped
    assert "CY2025" in ref.vintages["codes_cms"] and "32.3465" in ref.vintages["codes_cms"]


def test_pprrvu_other_year_warns_about_column_names(tmp_path: Path) -> None:
    head = [PFS_HEAD[0].replace("2025", "2026"), *PFS_HEAD[1:]]
    f = write(tmp_path / "in" / "PPRRVU2026_Jan_nonQPP.csv", "\n".join(head + PFS_ROWS[:1]))
    rep = import_files([f], layer(tmp_path), today=TODAY)
    assert any("CY2026" in w and "fee_2025" in w for w in rep.warnings)
    toml = tomllib.loads((layer(tmp_path) / "ruleset.toml").read_text())
    assert toml["covers"]["codes.csv"] == ["2026-01-01", "2026-12-31"]
    assert "CY2026" in (layer(tmp_path) / "codes_cms.csv").read_text().split("\ncode,")[0]


def test_aoc_addons_mark_codes_as_addon_when_imported_together(
    cms: dict[str, Path], tmp_path: Path
) -> None:
    rows = [*PFS_ROWS, pfs_row("11047", "", "A", ("0.50", "0.20", "0.05"), "XXX", "0")]
    pfs = write(tmp_path / "in" / "PPRRVU25_JAN.csv", "\n".join(PFS_HEAD + rows))
    import_files([pfs, cms["aoc"]], layer(tmp_path), today=TODAY)
    assert load_refdata([layer(tmp_path)]).code_attr["11047"]["kind"] == "addon"


def test_all_four_ruleset_toml_and_describe_layer(cms: dict[str, Path], tmp_path: Path) -> None:
    out = layer(tmp_path)
    rep = import_files(list(cms.values()), out, today=TODAY)
    assert sorted(t.file for t in rep.tables) == [
        "addon_primaries_cms.csv",
        "codes_cms.csv",
        "ncci_pairs_cms.csv",
        "unit_caps_cms.csv",
    ]
    meta = tomllib.loads((out / "ruleset.toml").read_text())
    assert meta["generator"] == GENERATOR
    assert meta["covers"]["unit_caps.csv"] == ["2025-10-01", "2025-12-31"]
    assert meta["covers"]["ncci_pairs.csv"] == ["1996-01-01", "2025-12-31"]
    imp = meta["imports"]["ncci_pairs_cms"]
    assert imp["sources"][0].startswith("ccipra-v313r0-f1.txt sha256=")
    assert imp["period"] == ["2025-10-01", "2025-12-31"]
    # provenance header of every output: source name, sha256, vintage, import date
    for t in rep.tables:
        head = (out / t.file).read_text().split("\n")
        prov = [ln for ln in head if ln.startswith("#")]
        assert TODAY.isoformat() in prov[0]
        assert any("sha256=" in ln for ln in prov)
        assert any(ln.startswith("# Vintage:") for ln in prov)
    ref = load_refdata([out])
    assert ref.provenance  # loader reads the headers
    info = describe_layer(out)
    assert info.is_import and len(info.tables) == 4
    assert info.files["unit_caps_cms.csv"] == 4
    assert not info.warnings(today=date(2025, 12, 1))
    w = info.warnings(today=date(2026, 2, 1), first=date(2025, 1, 1), last=date(2026, 1, 31))
    assert any("unit_caps_cms.csv" in x and "newer release" in x for x in w)
    assert any("data starts 2025-10-01, audit starts 2025-01-01" in x for x in w)
    assert any("data ends 2025-12-31, audit runs to 2026-01-31" in x for x in w)
    assert any("ncci_pairs_cms.csv" in x for x in info.lines())
    assert [i.path for i in import_layers([default_ruleset_dir(), out])] == [out]
    # edited by hand -> flagged
    p = out / "unit_caps_cms.csv"
    p.write_text(p.read_text().replace("17110,2,", "17110,3,"))
    assert any("changed since" in x for x in describe_layer(out).warnings(today=date(2025, 12, 1)))


def test_incremental_import_keeps_other_tables(cms: dict[str, Path], tmp_path: Path) -> None:
    out = layer(tmp_path)
    import_files([cms["ptp1"]], out, today=TODAY)
    import_files([cms["mue"]], out, today=date(2026, 2, 1))
    meta = tomllib.loads((out / "ruleset.toml").read_text())
    assert set(meta["imports"]) == {"ncci_pairs_cms", "unit_caps_cms"}
    assert meta["imports"]["ncci_pairs_cms"]["imported"] == TODAY.isoformat()
    assert set(meta["vintages"]) == {"ncci_pairs_cms", "unit_caps_cms"}
    ref = load_refdata([out])
    assert "ncci_pairs_cms" in ref.vintages and "unit_caps_cms" in ref.vintages


def test_output_is_deterministic(cms: dict[str, Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    import_files(list(cms.values()), a, today=TODAY)
    import_files(list(reversed(cms.values())), b, today=TODAY)
    for f in sorted(os.listdir(a)):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_zip_and_folder_inputs(cms: dict[str, Path], tmp_path: Path) -> None:
    z = tmp_path / "mue.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"2025q4/{MUE_NAME}", MUE_TEXT)
        zf.writestr("2025q4/README.txt", "read me")
        zf.writestr("2025q4/MUE policy.pdf", b"%PDF")
    rep = import_files([z], tmp_path / "z", today=TODAY)
    assert rep.inputs[0].origin.endswith(f"!2025q4/{MUE_NAME}")
    folder = cms["ptp1"].parent
    rep = import_files([folder], tmp_path / "f", today=TODAY)
    assert {i.kind for i in rep.inputs} == {"ptp", "mue", "aoc", "pfs"}


def test_errors_are_one_line(cms: dict[str, Path], tmp_path: Path) -> None:
    def err(paths: list[Path], out: Path | None = None) -> str:
        with pytest.raises(InputError) as ei:
            import_files(paths, out or tmp_path / "out", today=TODAY)
        msg = str(ei.value)
        assert "\n" not in msg
        return msg

    junk = write(tmp_path / "in" / "charges.csv", "patient,cpt,units\n1,17000,1\n")
    assert "not a recognised CMS file" in err([junk])
    hosp = write(tmp_path / "in" / "ccioph-v313r0-f1.txt", ptp_text(PTP_F2))
    assert "outpatient hospital" in err([hosp])
    opps = write(
        tmp_path / "in" / "MUE_x.csv",
        MUE_TEXT.replace("Practitioner Services", "Outpatient Hospital Services"),
    )
    assert "practitioner MUE" in err([opps])
    noname = write(tmp_path / "in" / "mue.csv", MUE_TEXT)
    assert "file name" in err([noname])
    v2 = write(tmp_path / "in" / "ccipra-v320r0-f1.txt", ptp_text(PTP_F2))
    assert "one release at a time" in err([cms["ptp1"], v2])
    assert "shipped default ruleset" in err([cms["mue"]], default_ruleset_dir())
    foreign = tmp_path / "mine"
    write(foreign / "ruleset.toml", 'name = "my-mac"\n')
    assert "not written by" in err([cms["mue"]], foreign)
    assert "no such file" in err([tmp_path / "missing.txt"])
    fixed = write(tmp_path / "in" / "PPRRVU25_JAN.txt", "HDR 2025 PFS\nHDR CPT copyright\n")
    assert "fixed-width PPRRVU" in err([fixed])


def test_inputs_are_never_outputs(cms: dict[str, Path], tmp_path: Path) -> None:
    out = layer(tmp_path)
    import_files([cms["mue"]], out, today=TODAY)
    # re-importing a file that lives in the layer under an output name is refused
    with pytest.raises(InputError, match="one of the files the import writes"):
        import_files([out / "unit_caps_cms.csv"], out, today=TODAY)


def test_report_lines(cms: dict[str, Path], tmp_path: Path) -> None:
    rep = import_files([cms["mue"]], layer(tmp_path), today=TODAY)
    text = "\n".join(rep.lines())
    assert "unit_caps_cms.csv: 4 rows" in text and MUE_NAME in text
    assert f"--ruleset {layer(tmp_path)}" in text


def test_polars_reads_outputs_as_text(cms: dict[str, Path], tmp_path: Path) -> None:
    # codes keep their leading zeros / letters when read back with the loader's options
    import_files([cms["pfs"]], layer(tmp_path), today=TODAY)
    df = pl.read_csv(
        io.BytesIO((layer(tmp_path) / "codes_cms.csv").read_bytes()),
        comment_prefix="#",
        infer_schema=False,
    )
    assert df.filter(pl.col("code") == "11102")["global_days"].to_list() == ["000"]
