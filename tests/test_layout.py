"""The header wherever it is; lines that are not charge lines set aside (never DQ findings);
every container a practice sends; nothing skipped silently."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import polars as pl
import pytest

import dermaudit
from dermaudit.errors import InputError

from .test_cli import cli

HEADER = "patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge"
BODY = [
    "P1,2025-03-04,DrA,Medicare,99213,,1,L57.0,120",
    "P1,2025-03-04,DrA,Medicare,17000,,3,L57.0,270",
    "P2,2025-03-05,DrA,Medicare,17312,,1,C44.311,700",
]
PLAIN = HEADER + "\n" + "\n".join(BODY) + "\n"


def _summary(p: Path) -> tuple[list[tuple[str, list[int]]], int]:
    r = dermaudit.scan(p)
    f = r.findings
    return sorted(zip(f["rule"], f["rows"].to_list(), strict=True)), f.filter(
        pl.col("rule").str.starts_with("DQ")
    ).height


@pytest.fixture()
def plain(tmp_path: Path) -> list[tuple[str, list[int]]]:
    p = tmp_path / "plain.csv"
    p.write_text(PLAIN)
    got, dq = _summary(p)
    assert dq == 0 and {"DEST-002", "EM-001", "MOHS-001"} <= {r for r, _ in got}
    return got


def test_title_block_blank_lines_footer_and_repeated_header(tmp_path: Path, plain: list) -> None:  # type: ignore[type-arg]
    text = (
        "Charge Detail Report\nRun date: 12/01/2025\nPractice: Lakeside Dermatology\n\n"
        + HEADER + "\n" + BODY[0] + "\n\n" + BODY[1] + "\n"
        + "Page 1 of 2\n" + HEADER + "\n" + BODY[2] + "\n"
        + "Grand Total,,,,,,,,1090.00\nPage 2 of 2\n"
    )  # fmt: skip
    p = tmp_path / "printed.csv"
    p.write_text(text)
    r = dermaudit.scan(p)
    f = r.findings
    assert f.filter(pl.col("rule").str.starts_with("DQ")).height == 0
    # rows count the lines below the header: BODY lines are rows 1, 3 and 6
    moved = {1: [1], 2: [3], 3: [6]}
    want = sorted((rule, sorted(moved[x][0] for x in rows)) for rule, rows in plain)
    assert sorted(zip(f["rule"], f["rows"].to_list(), strict=True)) == want
    note = next(n for n in r.ingested.notes if "set aside" in n)
    assert "4 lines above the header" in note and "1 blank line" in note
    assert "1 repeated header" in note and "3 total, page or report-parameter lines" in note
    assert r.ingested.files[0].header_line == 5


def test_headerless_file_is_read_by_content(tmp_path: Path) -> None:
    p = tmp_path / "noheader.csv"
    p.write_text("\n".join(BODY) + "\n")
    r = dermaudit.scan(p)
    assert {"DEST-002", "MOHS-001"} <= set(r.findings["rule"])
    assert any("no header row" in n for n in r.ingested.notes)


def test_cr_only_line_endings(tmp_path: Path, plain: list) -> None:  # type: ignore[type-arg]
    p = tmp_path / "mac.csv"
    p.write_bytes(PLAIN.replace("\n", "\r").encode())
    assert _summary(p) == (plain, 0)


def test_gzip_and_zip(tmp_path: Path, plain: list) -> None:  # type: ignore[type-arg]
    gz = tmp_path / "charges.csv.gz"
    gz.write_bytes(gzip.compress(PLAIN.encode()))
    assert _summary(gz) == (plain, 0)
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("march/charges.csv", PLAIN)
        zf.writestr("readme.pdf", b"%PDF-1.4")
        zf.writestr("__MACOSX/._charges.csv", b"junk")
    r = dermaudit.scan(z)
    assert r.ingested.files[0].name == "export.zip:march/charges.csv"
    assert any("readme.pdf: skipped (not a charge file type)" in n for n in r.ingested.notes)
    assert sorted(zip(r.findings["rule"], r.findings["rows"].to_list(), strict=True)) == plain


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("charges.csv", HEADER + "\n" + "0" * (80 << 20))
    assert z.stat().st_size < 200_000
    with pytest.raises(InputError, match="refused as a possible zip bomb"):
        dermaudit.scan(z)
    gz = tmp_path / "bomb.csv.gz"
    gz.write_bytes(gzip.compress(b"0" * (80 << 20)))
    r = cli("scan", str(gz))
    assert r.returncode == 2 and "zip bomb" in r.stderr and r.stderr.count("\n") == 1
    assert not list(Path("/tmp").glob("dermaudit-unpack-*"))


def test_every_sheet_of_a_workbook(tmp_path: Path, plain: list) -> None:  # type: ignore[type-arg]
    import xlsxwriter

    p = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(p)
    march = wb.add_worksheet("March")
    march.write(0, 0, "Charges for March")
    for y, line in enumerate([HEADER, BODY[0], BODY[1]], start=2):
        march.write_row(y, 0, line.split(","))
    april = wb.add_worksheet("April")
    for y, line in enumerate([HEADER, BODY[2]]):
        april.write_row(y, 0, line.split(","))
    wb.add_worksheet("Notes").write(0, 0, "prepared by the billing office")
    wb.close()
    r = dermaudit.scan(p)
    assert [f.name for f in r.ingested.files] == ["book.xlsx:March", "book.xlsx:April"]
    assert any("book.xlsx:Notes: skipped, not a charge table" in n for n in r.ingested.notes)
    assert {x for x, _ in plain} == set(r.findings["rule"])


def test_folder_with_subfolders_says_what_it_skipped(tmp_path: Path) -> None:
    d = tmp_path / "exports"
    (d / "2025" / "03").mkdir(parents=True)
    (d / "2025" / "03" / "a.csv").write_text(PLAIN)
    (d / "2025" / "notes.docx").write_bytes(b"PK")
    (d / ".hidden").mkdir()
    (d / "~$lock.xlsx").write_bytes(b"x")
    r = dermaudit.scan(d)
    notes = " ".join(r.ingested.notes)
    assert "1 file(s) skipped: not a charge file type (.docx)" in notes
    assert "hidden folder" in notes and "hidden or lock file" in notes


def test_file_name_with_brackets_is_a_file(tmp_path: Path) -> None:
    p = tmp_path / "charges [march].csv"
    p.write_text(PLAIN)
    assert dermaudit.scan(p).findings.height > 0


def test_x12_file_gets_one_clear_line(tmp_path: Path) -> None:
    p = tmp_path / "claims.txt"
    p.write_text(
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250304*1200*^*00501*000000001*0*P*:~GS*HC*S*R*20250304*1200*1*X*005010X222A1~"
    )
    r = cli("scan", str(p))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    # a truncated envelope is named as such, with the segment, and no envelope id leaks
    assert "not a well-formed 837P claim file" in r.stderr and "truncated" in r.stderr
    assert "SENDER" not in r.stderr and "--columns" not in r.stderr


def test_dates_as_people_write_them(tmp_path: Path) -> None:
    dates = [
        "27-OCT-2024",
        "10-27-2024",
        "10/27/24",
        "2024-10-27 00:00:00",
        "Oct 27, 2024",
        "October 27, 2024",
    ]
    text = (
        HEADER
        + "\n"
        + "\n".join(f"P{i},{d},DrA,Medicare,17000,,1,L57.0,90" for i, d in enumerate(dates))
        + "\n"
    )
    p = tmp_path / "dates.csv"
    p.write_text(text)
    lines = dermaudit.scan(p).lines
    assert lines is not None and set(lines["dos"].cast(pl.String)) == {"2024-10-27"}


def test_excel_datetime_cells(tmp_path: Path) -> None:
    import datetime as dt

    import xlsxwriter

    p = tmp_path / "dt.xlsx"
    wb = xlsxwriter.Workbook(p)
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["Patient", "DOS", "CPT", "Units"])
    ws.write(1, 0, "P1")
    ws.write_datetime(
        1, 1, dt.datetime(2025, 3, 4, 9, 30), wb.add_format({"num_format": "m/d/yy h:mm"})
    )
    ws.write_number(1, 2, 17000)
    ws.write_number(1, 3, 3)
    wb.close()
    r = dermaudit.scan(p)
    assert r.lines is not None and str(r.lines["dos"][0]) == "2025-03-04"
    assert "DEST-002" in set(r.findings["rule"])
