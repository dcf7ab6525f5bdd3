"""Write the synthetic export corpus of tests/exports/ from the synthetic sample practice.

Each export carries the first encounters of ``sample_data/charges.csv`` (no real patient) in
the shape of one practice-management system's charge or transaction report: its column
names where the vendor documents them (see README.md here for what each shape rests on), its
date, money, modifier and diagnosis styles, and the title rows, page breaks and footers
printed reports have. ``python tests/exports/make_exports.py`` rewrites the files; the test
``tests/test_exports_corpus.py`` checks the committed files are what this script makes.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent.parent / "sample_data" / "charges.csv"
LINES = 900  # the first whole encounters up to about this many lines

Row = dict[str, Any]


def luhn_npi(base9: str) -> str:
    digits = [int(d) for d in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return base9 + str((10 - total % 10) % 10)


def canonical_rows() -> list[Row]:
    with SAMPLE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: list[Row] = []
    for r in rows:
        if len(out) >= LINES and r["Claim ID"] != out[-1]["claim"]:
            break
        m, d, y = (int(x) for x in r["Date of Service"].split("/"))
        out.append(
            {
                "claim": r["Claim ID"],
                "patient": r["Patient ID"],
                "dos": date(y, m, d),
                "provider": r["Rendering Provider"],
                "cred": r["Credential"],
                "payer": r["Payer"],
                "cpt": r["CPT"],
                "mods": [x for x in (r["Mod 1"], r["Mod 2"]) if x],
                "units": int(r["Units"]),
                "dx": [x for x in (r["Diag 1"], r["Diag 2"], r["Diag 3"]) if x],
                "charge": float(r["Charge"]),
                "site": r["Site"],
                "size": r["Lesion Size (cm)"],
                "pos": r["POS"],
            }
        )
    return out


PROVIDER_NPI = {}


def npi(provider: str) -> str:
    if provider not in PROVIDER_NPI:
        PROVIDER_NPI[provider] = luhn_npi(f"1{len(PROVIDER_NPI) + 1:02d}4567{len(provider):02d}")
    return PROVIDER_NPI[provider]


def first_last(provider: str, cred: str = "") -> str:
    last, first = (x.strip() for x in provider.split(",", 1))
    return f"{first} {last}" + (f", {cred}" if cred else "")


def nth(xs: list[str], i: int) -> str:
    return xs[i] if i < len(xs) else ""


def money(x: float) -> str:
    return f"${x:,.2f}"


def nodot(dx: str) -> str:
    return dx.replace(".", "")


# ---- one function per export shape: rows -> (header, body rows) --------------------------
Shape = Callable[[list[Row]], tuple[list[str], list[list[str]]]]


def nextgen(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["Per Nbr", "Svc Dates", "Svc Item", "CPT4", "Modifiers 1 - 4", "Quantity", "Chg Amt",
         "Rendering", "Financial Class", "Dx Codes", "Post Date"]  # fmt: skip
    body = [
        [r["patient"], r["dos"].strftime("%m/%d/%Y"), f"SIM-{r['cpt']}", r["cpt"],
         " ".join(r["mods"]), str(r["units"]), f"{r['charge']:.2f}", r["provider"], r["payer"],
         " ".join(nodot(d) for d in r["dx"]), r["dos"].strftime("%m/%d/%Y")]
        for r in rows
    ]  # fmt: skip
    return h, body


def ecw(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["Patient Acct No", "Claim No", "Service Date", "Rendering Provider", "Insurance Name",
         "CPT Code", "Modifier1", "Modifier2", "Units", "Billed Charge", "ICD1", "ICD2", "ICD3",
         "POS"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], r["dos"].strftime("%m/%d/%Y"), r["provider"], r["payer"],
         r["cpt"], nth(r["mods"], 0), nth(r["mods"], 1), str(r["units"]), money(r["charge"]),
         nth(r["dx"], 0), nth(r["dx"], 1), nth(r["dx"], 2), r["pos"]]
        for r in rows
    ]  # fmt: skip
    return h, body


def athena(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["CLAIMID", "PATIENTID", "BILLEDSERVICEDATE", "RENDERINGPROVIDER", "SUPERVISINGPROVIDER",
         "PRIMARYINSURANCEPAYER", "PROCEDURECODE", "MODIFIERS", "UNITS", "CHARGEAMOUNT",
         "DIAGNOSISCODES"]  # fmt: skip
    body = [
        [r["claim"], r["patient"], r["dos"].isoformat(), first_last(r["provider"], r["cred"]),
         "", r["payer"], r["cpt"], ",".join(r["mods"]), str(r["units"]), money(r["charge"]),
         "; ".join(r["dx"])]
        for r in rows
    ]  # fmt: skip
    return h, body


def tebra(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["Patient ID", "Encounter ID", "From", "To", "Procedure", "Mod 1", "Mod 2", "Mod 3",
         "Mod 4", "Units", "Unit Charge", "Total Charge", "Diag 1", "Diag 2", "Diag 3", "Diag 4",
         "Rendering Provider", "Primary Insurance"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], f"{r['dos']:%-m/%-d/%Y}", f"{r['dos']:%-m/%-d/%Y}", r["cpt"],
         nth(r["mods"], 0), nth(r["mods"], 1), "", "", f"{r['units']:.2f}",
         f"{r['charge'] / r['units']:.2f}", f"{r['charge']:.2f}", nth(r["dx"], 0),
         nth(r["dx"], 1), nth(r["dx"], 2), "", first_last(r["provider"], r["cred"]), r["payer"]]
        for r in rows
    ]  # fmt: skip
    return h, body


def modmed(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["MRN", "Visit ID", "DOS", "Provider", "Payer", "CPT", "Modifiers", "Qty",
         "ICD-10 Codes", "Fee", "Body Location", "Lesion Size"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], r["dos"], f"{r['provider']} {r['cred']}", r["payer"], r["cpt"],
         ", ".join(r["mods"]), r["units"], ", ".join(r["dx"]), r["charge"], r["site"],
         f"{r['size']} cm" if r["size"] else ""]
        for r in rows
    ]  # fmt: skip
    return h, body


def nextech(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["Patient #", "Bill ID", "Service Date", "Provider", "Insurance Co", "Service Code",
         "Mod 1", "Mod 2", "Quantity", "Amount", "Diag Code 1", "Diag Code 2", "Diag Code 3",
         "Place of Service"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], r["dos"], r["provider"], r["payer"], r["cpt"],
         nth(r["mods"], 0), nth(r["mods"], 1), r["units"], r["charge"], nth(r["dx"], 0),
         nth(r["dx"], 1), nth(r["dx"], 2), r["pos"]]
        for r in rows
    ]  # fmt: skip
    return h, body


def advancedmd(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["Chart #", "Visit #", "DOS", "Provider", "Carrier", "Proc Code", "Mod", "Units",
         "Amount", "Dx Code 1", "Dx Code 2", "Dx Code 3"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], f"{r['dos']:%m/%d/%y}", r["provider"], r["payer"], r["cpt"],
         ",".join(r["mods"]), str(r["units"]), f"{r['charge']:,.2f}", nth(r["dx"], 0),
         nth(r["dx"], 1), nth(r["dx"], 2)]
        for r in rows
    ]  # fmt: skip
    return h, body


def drchrono(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["patient", "appointment", "service_date", "doctor", "primary_insurer_name",
         "billing_code", "quantity", "price", "icd10_codes"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], r["dos"].isoformat(), r["provider"], r["payer"],
         r["cpt"] + "".join(f"-{m}" for m in r["mods"]), str(r["units"]),
         f"{r['charge']:.2f}", ",".join(r["dx"])]
        for r in rows
    ]  # fmt: skip
    return h, body


def epic(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["PAT_MRN_ID", "TX_ID", "ACCOUNT_ID", "SERVICE_DATE", "PROC_CODE", "MODIFIER_ONE",
         "MODIFIER_TWO", "PROCEDURE_QUANTITY", "AMOUNT", "DX_ONE", "DX_TWO", "DX_THREE",
         "SERV_PROVIDER_NAME", "PAYOR_NAME", "POS_TYPE_C"]  # fmt: skip
    body = [
        [r["patient"], str(i + 1), r["claim"], f"{r['dos']:%Y-%m-%d} 00:00:00", r["cpt"],
         nth(r["mods"], 0), nth(r["mods"], 1), str(r["units"]), f"{r['charge']:.2f}",
         nth(r["dx"], 0), nth(r["dx"], 1), nth(r["dx"], 2), r["provider"].upper(),
         r["payer"].upper(), r["pos"]]
        for i, r in enumerate(rows)
    ]  # fmt: skip
    return h, body


def collaboratemd(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["Charge ID", "Patient Account", "Fromdate", "Rendering Provider", "Current Payer: Name",
         "CPT Code", "Modifiers", "Units", "Charge Amount", "Diagnosis 1", "Diagnosis 2",
         "Diagnosis 3"]  # fmt: skip
    body = [
        [f"CH{i + 1:06d}", r["patient"], f"{r['dos']:%m/%d/%Y}", r["provider"], r["payer"],
         r["cpt"], " ".join(r["mods"]), str(r["units"]), money(r["charge"]), nth(r["dx"], 0),
         nth(r["dx"], 1), nth(r["dx"], 2)]
        for i, r in enumerate(rows)
    ]  # fmt: skip
    return h, body


def rif(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["BENE_ID", "CLM_ID", "LINE_NUM", "LINE_1ST_EXPNS_DT", "HCPCS_CD", "HCPCS_1ST_MDFR_CD",
         "HCPCS_2ND_MDFR_CD", "LINE_SRVC_CNT", "PRF_PHYSN_NPI", "LINE_ICD_DGNS_CD",
         "ICD_DGNS_CD1", "ICD_DGNS_CD2", "LINE_SBMTD_CHRG_AMT", "LINE_PLACE_OF_SRVC_CD"]  # fmt: skip
    body = [
        [r["patient"], r["claim"], "1", r["dos"].strftime("%d-%b-%Y").upper(), r["cpt"],
         nth(r["mods"], 0), nth(r["mods"], 1), str(r["units"]), npi(r["provider"]),
         nodot(nth(r["dx"], 0)), nodot(nth(r["dx"], 1)), nodot(nth(r["dx"], 2)),
         f"{r['charge']:.2f}", r["pos"]]
        for r in rows
    ]  # fmt: skip
    return h, body


def cclf(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    h = ["CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "CLM_LINE_FROM_DT", "CLM_LINE_HCPCS_CD",
         "HCPCS_1_MDFR_CD", "HCPCS_2_MDFR_CD", "HCPCS_3_MDFR_CD", "CLM_LINE_SRVC_UNIT_QTY",
         "RNDRG_PRVDR_NPI_NUM", "CLM_DGNS_1_CD", "CLM_DGNS_2_CD", "CLM_DGNS_3_CD",
         "CLM_LINE_ALOWD_CHRG_AMT"]  # fmt: skip
    body = [
        [r["claim"], r["patient"], r["dos"].isoformat(), r["cpt"], nth(r["mods"], 0),
         nth(r["mods"], 1), "", f"{r['units']:.4f}", npi(r["provider"]), nodot(nth(r["dx"], 0)),
         nodot(nth(r["dx"], 1)), nodot(nth(r["dx"], 2)), f"{r['charge']:.2f}"]
        for r in rows
    ]  # fmt: skip
    return h, body


# name, shape, format, title lines, page size (repeated header every N lines), footer,
# the canonical roles the export carries (the rest is absent: those rules cannot run),
# and the payer filter (the carrier files are Medicare-only)
SPECS: list[dict[str, Any]] = [
    {"file": "nextgen_service_item_summary.txt", "shape": nextgen, "delim": "\t",
     "title": ["Service Item Summary", "Run Date: 12/01/2025 06:02 AM", "Practice: Lakeside Dermatology", ""],
     "footer": ["Total Charges:\t\t\t\t\t\t{total}"],
     "roles": ["patient_id", "dos", "cpt", "modifiers", "units", "charge", "provider", "payer", "dx"]},
    {"file": "ecw_financial_analysis_cpt.csv", "shape": ecw, "delim": ",",
     "title": ["Financial Analysis at the CPT Level", "Facility: All", ""],
     "footer": ["Grand Total,,,,,,,,,{total}"],
     "roles": ["patient_id", "claim_id", "dos", "provider", "payer", "cpt", "modifiers", "units", "charge", "dx", "pos"]},
    {"file": "athena_report_builder.csv", "shape": athena, "delim": ",", "title": [],
     "footer": ["", "Total Rows: {rows}"],
     "roles": ["claim_id", "patient_id", "dos", "provider", "credential", "payer", "cpt", "modifiers", "units", "charge", "dx"]},
    {"file": "tebra_kareo_encounters.csv", "shape": tebra, "delim": ",", "title": [], "footer": [],
     "roles": ["patient_id", "claim_id", "dos", "cpt", "modifiers", "units", "charge", "dx", "provider", "credential", "payer"]},
    {"file": "modmed_ema_charges.xlsx", "shape": modmed, "xlsx": "by_month",
     "title": ["Charges Report", "Date range: 03/01/2025 - 05/31/2025"],
     "roles": ["patient_id", "claim_id", "dos", "provider", "credential", "payer", "cpt", "modifiers", "units", "dx", "charge", "site", "lesion_size_cm"]},
    {"file": "nextech_charge_detail.xlsx", "shape": nextech, "xlsx": "one", "title": ["Charge Detail"],
     "roles": ["patient_id", "claim_id", "dos", "provider", "payer", "cpt", "modifiers", "units", "charge", "dx", "pos"]},
    {"file": "advancedmd_charge_detail.csv", "shape": advancedmd, "delim": ",",
     "title": ["AdvancedMD - Charge Detail Report", ""], "page": 250, "footer": ["Grand Total,,,,,,,,{total}"],
     "roles": ["patient_id", "claim_id", "dos", "provider", "payer", "cpt", "modifiers", "units", "charge", "dx"]},
    {"file": "drchrono_billing_export.csv", "shape": drchrono, "delim": ",", "title": [], "footer": [],
     "roles": ["patient_id", "claim_id", "dos", "provider", "payer", "cpt", "modifiers", "units", "charge", "dx"]},
    {"file": "epic_resolute_charge_extract.psv", "shape": epic, "delim": "|", "title": [], "footer": [],
     "roles": ["patient_id", "claim_id", "dos", "cpt", "modifiers", "units", "charge", "dx", "provider", "payer", "pos"]},
    {"file": "collaboratemd_report.csv", "shape": collaboratemd, "delim": ",", "title": [], "footer": [],
     "roles": ["patient_id", "dos", "provider", "payer", "cpt", "modifiers", "units", "charge", "dx"]},
    {"file": "cms_carrier_rif.txt", "shape": rif, "delim": "|", "title": [], "footer": [], "medicare": True,
     "roles": ["patient_id", "claim_id", "dos", "cpt", "modifiers", "units", "provider", "dx", "charge", "pos"]},
    {"file": "cms_cclf5_partb.csv", "shape": cclf, "delim": ",", "title": [], "footer": [], "medicare": True,
     "roles": ["claim_id", "patient_id", "dos", "cpt", "modifiers", "units", "provider", "dx", "charge"]},
]  # fmt: skip


def rows_for(spec: dict[str, Any]) -> list[Row]:
    rows = canonical_rows()
    if spec.get("medicare"):
        rows = [
            r for r in rows if r["payer"] in ("Medicare", "Medicare Part B", "Railroad Medicare")
        ]
    return rows


def _text(spec: dict[str, Any], header: list[str], body: list[list[str]]) -> bytes:
    d = spec["delim"]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=d, lineterminator="\n")
    for t in spec.get("title", []):
        buf.write(t + "\n")
    w.writerow(header)
    page = spec.get("page")
    for i, r in enumerate(body):
        if page and i and i % page == 0:
            buf.write("\n")
            buf.write(f"Page {i // page} of {len(body) // page + 1}\n")
            w.writerow(header)
        w.writerow(r)
    total = None
    if spec.get("footer"):
        charges = ("Chg Amt", "Billed Charge", "CHARGEAMOUNT", "Amount", "Charge Amount")
        col = next(i for i, c in enumerate(header) if c in charges)
        total = sum(float(r[col].replace("$", "").replace(",", "")) for r in body)
    for f in spec.get("footer", []):
        buf.write(
            f.format(total=f"{total:,.2f}" if total is not None else "", rows=len(body)) + "\n"
        )
    return buf.getvalue().encode("utf-8")


def _xlsx(spec: dict[str, Any], path: Path, rows: list[Row]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {"constant_memory": False})
    wb.set_properties({"created": datetime(2025, 12, 1)})
    datef = wb.add_format({"num_format": "mm/dd/yyyy"})
    groups: dict[str, list[Row]] = {}
    if spec["xlsx"] == "by_month":
        for r in rows:
            groups.setdefault(r["dos"].strftime("%B %Y"), []).append(r)
    else:
        groups["Charges"] = rows
    for sheet, grp in groups.items():
        ws = wb.add_worksheet(sheet)
        header, body = spec["shape"](grp)
        y = 0
        for t in spec.get("title", []):
            ws.write(y, 0, t)
            y += 1
        y += 1  # a blank row before the header
        ws.write_row(y, 0, header)
        for r in body:
            y += 1
            for x, v in enumerate(r):
                if isinstance(v, date):
                    ws.write_datetime(y, x, datetime(v.year, v.month, v.day), datef)
                elif isinstance(v, int | float):
                    ws.write_number(y, x, v)
                else:
                    ws.write_string(y, x, str(v))
        ws.write(y + 2, 0, "Total")
    notes = wb.add_worksheet("Report Notes")
    notes.write(0, 0, "Generated by the practice-management system; amounts in USD.")
    wb.close()


def build(out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    for spec in SPECS:
        rows = rows_for(spec)
        path = out / spec["file"]
        if "xlsx" in spec:
            _xlsx(spec, path, rows)
        else:
            header, body = spec["shape"](rows)
            path.write_bytes(_text(spec, header, body))
        manifest[spec["file"]] = {
            "roles": sorted(spec["roles"]),
            "medicare_only": bool(spec.get("medicare")),
            "lines": len(rows),
        }
    return manifest


def main() -> int:
    manifest = build(HERE)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(manifest)} exports to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
