"""835 remittances joined to findings (#16): `dermaudit scan batch.837 --remits era/` marks the
flagged lines the payer denied (with the adjustment reason in plain words) and counts what was
paid on lines flagged as overbilling; unmatched remits and claims are counted, not dropped."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import dermaudit
from dermaudit.errors import InputError
from dermaudit.ingest.x12_835 import parse_835

from .test_cli import cli
from .test_x12 import CLAIMS, LFH, _isa, write_837, write_csv

# (claim, [(code, modifiers, billed, paid, [(group, carc, amount)], rarc)])
REMITS = [
    ("C1001", [
        ("99213", ["25"], 120.0, 85.0, [("CO", "45", 35.0)], None),
        ("17000", [], 135.0, 70.0, [("CO", "45", 65.0)], None),
        ("17004", [], 310.0, 0.0, [("CO", "97", 310.0)], "N20"),
    ]),
    ("C1003", [("17110", [], 150.0, 0.0, [("CO", "96", 150.0)], None)]),
    ("C9999", [("99212", [], 80.0, 60.0, [("CO", "45", 20.0)], None)]),  # no such claim sent
]  # fmt: skip


def write_835(path: Path, remits: list = REMITS) -> Path:  # type: ignore[type-arg]
    seg = [
        "GS*HP*PAYER*LAKESIDE*20250410*1200*1*X*005010X221A1",
        "ST*835*0001",
        "BPR*I*215.00*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250410",
        "TRN*1*12345*1512345678",
        "N1*PR*MEDICARE PART B",
        "N1*PE*LAKESIDE DERMATOLOGY*XX*1234567893",
        "LX*1",
    ]
    for claim, lines in remits:
        billed = sum(x[2] for x in lines)
        paid = sum(x[3] for x in lines)
        status = "4" if paid == 0 else "1"
        seg += [f"CLP*{claim}*{status}*{billed:.2f}*{paid:.2f}*0*MB*PCN{claim}", "NM1*QC*1*DOE*PAT"]
        for code, mods, b, p, cas, rarc in lines:
            seg.append(f"SVC*{':'.join(['HC', code, *mods])}*{b:.2f}*{p:.2f}**1")
            seg.append("DTM*472*20250303")
            for grp, carc, amt in cas:
                seg.append(f"CAS*{grp}*{carc}*{amt:.2f}")
            if rarc:
                seg.append(f"LQ*HE*{rarc}")
    seg += [f"SE*{len(seg)}*0001", "GE*1*1", "IEA*1*000000001"]
    path.write_text(_isa().replace("*T*:~", "*T*:~") + "\n" + "~\n".join(seg) + "~\n")
    return path


def test_835_lines_field_by_field(tmp_path: Path) -> None:
    r = parse_835(write_835(tmp_path / "era.835"))
    assert r.height == 5
    row = r.filter(pl.col("cpt") == "17004").row(0, named=True)
    assert row["claim_id"] == "C1001" and row["claim_status"] == "1"
    assert (row["billed"], row["paid"], row["units"]) == (310.0, 0.0, 1.0)
    assert row["carc"] == ["CO-97"] and row["rarc"] == ["N20"] and row["carc_amount"] == 310.0
    assert str(row["dos"]) == "2025-03-03"
    assert r.filter(pl.col("cpt") == "99213")["modifiers"].to_list() == [["25"]]
    # the public managed-care sample: two claims, claim-level and line-level adjustments
    lfh = parse_835(LFH / "managed-care.835")
    assert lfh["claim_id"].to_list() == ["5554555444", "8765432112"]
    assert lfh["cpt"].to_list() == ["99211", "93555"]
    assert lfh["paid"].to_list() == [500.0, 550.0]
    assert lfh["carc"].to_list() == [["PR-1"], ["PR-1", "CO-45"]]


@pytest.mark.parametrize("source", ["837", "csv"])
def test_findings_carry_what_the_payer_did(tmp_path: Path, source: str) -> None:
    era = tmp_path / "era"
    era.mkdir()
    write_835(era / "remit1.835")
    charges = (
        write_837(tmp_path / "batch.837") if source == "837" else write_csv(tmp_path / "c.csv")
    )
    r = dermaudit.scan(charges)
    from dermaudit.ingest.x12_835 import read_remits
    from dermaudit.remits import attach

    counts = attach(r, read_remits([era]))
    f = {x["rule"]: x for x in r.findings.iter_rows(named=True)}
    dest = f["DEST-001"]  # 17004 billed with 17000: the payer bundled 17004, paid 17000
    assert dest["remit"] == "paid" and dest["remit_paid"] == 70.0
    assert dest["remit_billed"] == 445.0
    assert dest["remit_codes"] == "CO-45; CO-97; N20"
    assert dest["remit_note"] == "CARC 97: bundled: paid as part of another service"
    assert f["DEST-013"]["remit"] == "denied"  # 17110 denied as not covered
    assert f["DEST-013"]["remit_note"] == "CARC 96: service not covered"
    assert f["DX-002"]["remit"] is None  # claim C1002 has no remittance yet
    assert counts == {
        "files": 1,
        "remit_lines": 5,
        "remit_claims": 3,
        "claims_without_remit": 1,
        "remit_claims_without_charges": 1,
        "remit_lines_matched_to_findings": 4,
        "findings_matched": 3,
        "findings_denied": 1,
        "denied_billed": 150.0,
        # DEST-001 (70 paid on its lines) and EM-003 (99213 85 + 17000 70 + 17004 0)
        "paid_on_overbilling_findings": 225.0,
    }
    assert {f["DEST-001"]["money"], f["EM-003"]["money"]} <= {"over", "either"}
    assert f["EM-003"]["remit_paid"] == 155.0 and len(CLAIMS) == 3


def test_cli_remits_in_json_console_and_report(tmp_path: Path) -> None:
    era = write_835(tmp_path / "era.835")
    batch = write_837(tmp_path / "batch.837")
    out, html = tmp_path / "f.json", tmp_path / "r.html"
    r = cli("scan", str(batch), "--remits", str(era), "-f", "json", "-o", str(out),
            "--html", str(html))  # fmt: skip
    assert r.returncode == 1, r.stderr
    data = json.loads(out.read_text())
    assert data["summary"]["remits"]["findings_denied"] == 1
    rows = {x["rule"]: x for x in data["findings"]}
    assert rows["DEST-013"]["remit"] == "denied"
    page = html.read_text()
    assert "What the payers already did" in page and "CARC 96: service not covered" in page
    con = cli("scan", str(batch), "--remits", str(era))
    assert "payers denied 1 flagged finding" in con.stdout


def test_bad_remit_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "era.835"
    bad.write_text(_isa() + "\nGS*HP*A*B*20250410*1200*1*X*005010X221A1~ST*835*0001~CLP*C1~")
    r = cli("scan", str(write_837(tmp_path / "b.837")), "--remits", str(bad))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "era.835" in r.stderr and "segment" in r.stderr
    with pytest.raises(InputError, match="no 835"):
        parse_835(write_837(tmp_path / "claims.837"))
