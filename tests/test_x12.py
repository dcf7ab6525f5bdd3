"""X12 837P claims are read as charge lines: the same findings as the same charges in a CSV,
claim versions (replacements, voids, coordination-of-benefits copies) counted once, malformed
files refused with one line naming the segment, and ``inspect`` describing the envelope."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import dermaudit
from dermaudit.errors import InputError

DATA = Path(__file__).parent / "data" / "x12"
LFH = DATA / "linuxforhealth"
IMS = DATA / "imsweb"

# (claim, patient id, last name, date, [(code, modifiers, units, charge, dx pointers)], dx codes)
CLAIMS = [
    ("C1001", "MBI0000001", "DOE", "20250303",
     [("99213", ["25"], 1, 120.0, "1"), ("17000", [], 1, 135.0, "2"), ("17004", [], 1, 310.0, "2")],
     ["L570", "L570"]),
    ("C1002", "MBI0000002", "ROE", "20250304",
     [("11102", [], 1, 160.0, "1"), ("11103", [], 3, 90.0, "1")],
     ["D485"]),
    ("C1003", "MBI0000003", "POE", "20250305",
     [("17110", [], 1, 150.0, "1")],
     ["B070"]),
]  # fmt: skip


def _isa() -> str:
    return (
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250310*1200*^*"
        "00501*000000001*0*T*:~"
    )


def write_837(path: Path, claims: list = CLAIMS, freq: str = "1") -> Path:  # type: ignore[type-arg]
    seg: list[str] = [
        "GS*HC*SUBMITTER*RECEIVER*20250310*1200*1*X*005010X222A1",
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*BATCH1*20250310*1200*CH",
        "NM1*41*2*LAKESIDE DERMATOLOGY*****46*SUB1",
        "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*MEDICARE*****46*00000",
        "HL*1**20*1",
        "PRV*BI*PXC*207N00000X",
        "NM1*85*2*LAKESIDE DERMATOLOGY*****XX*1234567893",
        "N3*1 MAIN ST",
        "N4*SPRINGFIELD*IL*627010000",
        "REF*EI*123456789",
    ]
    hl = 1
    for claim, member, last, dos, lines, dx in claims:
        hl += 1
        seg += [
            f"HL*{hl}*1*22*0",
            "SBR*P*18*******MB",
            f"NM1*IL*1*{last}*PAT****MI*{member}",
            "N3*2 ELM ST",
            "N4*SPRINGFIELD*IL*62701",
            "DMG*D8*19500101*F",
            "NM1*PR*2*MEDICARE PART B*****PI*00000",
        ]
        total = sum(u * c for _, _, u, c, _ in lines)
        seg.append(f"CLM*{claim}*{total:.2f}***11:B:{freq}*Y*A*Y*Y")
        seg.append(
            "HI*" + "*".join(("ABK" if i == 0 else "ABF") + ":" + d for i, d in enumerate(dx))
        )
        seg += ["NM1*82*1*WHITFIELD*PRIYA****XX*1245319599", "PRV*PE*PXC*207N00000X"]
        for n, (code, mods, units, charge, ptr) in enumerate(lines, start=1):
            comp = ":".join(["HC", code, *mods])
            seg += [
                f"LX*{n}",
                f"SV1*{comp}*{units * charge:.2f}*UN*{units}***{ptr}",
                f"DTP*472*D8*{dos}",
            ]
    n_st = len(seg) - 1 + 1  # ST..SE inclusive, GS excluded
    seg += [f"SE*{n_st}*0001", "GE*1*1", "IEA*1*000000001"]
    path.write_text(_isa() + "\n" + "~\n".join(seg) + "~\n")
    return path


def write_csv(path: Path) -> Path:
    rows = []
    for claim, member, _, dos, lines, dx in CLAIMS:
        for code, mods, units, charge, ptr in lines:
            rows.append(
                {
                    "Claim ID": claim,
                    "Patient ID": member,
                    "Date of Service": f"{dos[4:6]}/{dos[6:]}/{dos[:4]}",
                    "CPT": code,
                    "Mod 1": mods[0] if mods else "",
                    "Units": str(units),
                    "Charge": f"{units * charge:.2f}",
                    "Diag 1": dx[int(ptr) - 1][:3] + "." + dx[int(ptr) - 1][3:],
                    "Rendering Provider": "1245319599",
                    "Payer": "Medicare",
                    "POS": "11",
                }
            )
    pl.DataFrame(rows).write_csv(path)
    return path


def _key(result: dermaudit.ScanResult) -> list[tuple[str, str, str]]:
    f = result.findings.sort("rule", "codes")
    return list(zip(f["rule"], f["codes"], f["severity"], strict=True))


def test_837p_gives_the_findings_of_the_same_charges_as_csv(tmp_path: Path) -> None:
    x = dermaudit.scan(write_837(tmp_path / "batch.837"))
    c = dermaudit.scan(write_csv(tmp_path / "charges.csv"))
    assert x.lines.height == c.lines.height == 6
    assert _key(x) == _key(c)
    assert _key(x) == [
        ("DEST-001", "17004 x1 + 17000 x1", "compliance"),  # 17004 is reported alone
        ("DEST-013", "17110", "review"),
        ("DX-002", "11102 11103 + D48.5", "review"),
        ("EM-003", "99213-25 + 17000 17004", "review"),
    ]
    # rows of an 837P finding are segment numbers of the line's LX
    assert x.ingested.files[0].format == "x12-837p"
    assert x.lines["_row"].min() > 10


def test_a_replacement_supersedes_and_a_void_removes(tmp_path: Path) -> None:
    folder = tmp_path / "claims"
    folder.mkdir()
    write_837(folder / "a.837")
    first = dermaudit.scan(folder)
    fixed = [CLAIMS[0], CLAIMS[1], ("C1003", "MBI0000003", "POE", "20250305",
             [("17110", [], 1, 150.0, "1"), ("17110", [], 1, 150.0, "1")], ["B070"])]  # fmt: skip
    write_837(folder / "b.837", [fixed[2]], freq="7")
    replaced = dermaudit.scan(folder)
    assert replaced.lines.height == first.lines.height + 1
    assert any("superseded" in n for n in replaced.ingested.notes)
    write_837(folder / "c.837", [CLAIMS[2]], freq="8")  # void C1003
    voided = dermaudit.scan(folder)
    assert voided.lines.height == first.lines.height - 1
    assert any("voided" in n for n in voided.ingested.notes)


def test_coordination_of_benefits_copies_count_once(tmp_path: Path) -> None:
    res = dermaudit.scan([str(p) for p in sorted(LFH.glob("demo.cob.example3.*.837"))])
    assert res.lines.height == 3  # one claim of three lines, sent three times
    assert any("coordination of benefits" in n or "superseded" in n for n in res.ingested.notes)


def test_public_samples_read() -> None:
    res = dermaudit.scan(LFH / "demo.example1.837")
    assert sorted(res.lines["cpt"].to_list()) == ["86663", "87070", "99213", "99214"]
    ims = dermaudit.scan(IMS / "x12_multiple_isa.txt")  # two interchanges in one file
    assert ims.ingested.rows_total == 4
    assert ims.lines.height == 2  # two lines have a malformed procedure code: DQ-002
    assert ims.findings.filter(pl.col("rule") == "DQ-002").height == 2


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("imsweb/x12_bad_valid_code.txt", "segment 9"),
        ("imsweb/x12_segments_out_of_order.txt", "segment 12"),
        ("imsweb/x223-test.txt", "837I institutional"),
        ("imsweb/x12_999_accepted.txt", "999 acknowledgement"),
        ("linuxforhealth/managed-care.835", "835 remittance"),
    ],
)
def test_files_that_are_not_readable_claims_are_refused_in_one_line(name: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        dermaudit.scan(DATA / name)
    p = subprocess.run(
        [sys.executable, "-m", "dermaudit", "scan", str(DATA / name)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1
    assert "Traceback" not in p.stderr


def test_inspect_describes_the_envelope_without_patient_data(tmp_path: Path) -> None:
    f = write_837(tmp_path / "batch.837")
    p = subprocess.run(
        [sys.executable, "-m", "dermaudit", "inspect", str(f)], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    assert "claims 3 (3 audited" in p.stdout
    assert "service lines 6" in p.stdout
    for phi in ("DOE", "ROE", "MBI0000001", "19500101", "ELM ST"):
        assert phi not in p.stdout
