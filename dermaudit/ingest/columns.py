"""Column auto-detection: export headers -> canonical fields.

Headers are compared after folding case and removing spaces and punctuation, so
``Date of Service``, ``date_of_service`` and ``DATE-OF-SERVICE`` all match ``dateofservice``.
Alias lists cover the column names documented for NextGen, Tebra/Kareo, athenahealth,
Elation, WebPT, CollaborateMD, the Tuva input layer, CMS CCLF and the Medicare carrier RIF;
``roles.infer`` adds the evidence of the values for headers no list has seen.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

# Single-valued canonical fields, in priority order of aliases (first match wins).
SINGLE: dict[str, list[str]] = {
    "cpt": [
        "cpt",
        "cptcode",
        "cpt4",
        "cpthcpcs",
        "billedcptcode",
        "procedure",
        "procedurecode",
        "proccode",
        "proc",
        "hcpcs",
        "hcpcscd",
        "hcpcscode",
        "clmlinehcpcscd",
        "code",
        "servicecode",
        "cptcodes",
    ],
    "dos": [
        "dos",
        "dateofservice",
        "servicedate",
        "svcdate",
        "svcdates",
        "from",
        "fromdate",
        "datefrom",
        "servicefromdate",
        "billedservicedate",
        "claimlinestartdate",
        "line1expnsdt",
        "firstservicedt",
        "clmfromdt",
        "dosfrom",
        "date",
        "procdate",
        "servicedatefrom",
    ],
    "patient_id": [
        "patientid",
        "patient",
        "patientnumber",
        "patientno",
        "patientacct",
        "acct",
        "account",
        "accountnumber",
        "accountno",
        "mrn",
        "mdrc",
        "pernbr",
        "personnbr",
        "personnumber",
        "personid",
        "memberid",
        "id",
        "patid",
        "ptid",
        "bene",
        "beneid",
        "desynpufid",
        "chartnumber",
        "chart",
    ],
    "claim_id": [
        "claimid",
        "claim",
        "claimnumber",
        "claimno",
        "clmid",
        "encounter",
        "encounterid",
        "enc",
        "encid",
        "visitid",
        "visit",
        "ticket",
        "ticketnumber",
        "invoice",
        "patientcontrolnumber",
    ],
    "provider": [
        "renderingprovider",
        "rendering",
        "ren",
        "renderingnpi",
        "renderingprovidernpi",
        "rndrngprvdrnpinum",
        "prfphysnnpi",
        "provider",
        "providername",
        "providerid",
        "billedproviderid",
        "physician",
        "doctor",
        "servicingprovider",
        "renderingphysician",
    ],
    "credential": [
        "rendercred",
        "rencred",
        "renderingcredential",
        "credential",
        "providercredential",
        "providertype",
        "prvdrspclty",
        "specialty",
        "providerspecialty",
        "degree",
    ],
    "payer": [
        "payerclass",
        "financialclass",
        "finclass",
        "insclass",
        "insuranceclass",
        "payertype",
        "claimfilingindicator",
        "sbr09",
        "payer",
        "payername",
        "insprim",
        "primaryinsurance",
        "primarypayer",
        "insurance",
        "insurancename",
        "currentpayer",
        "currentpayername",
        "plan",
        "primaryinsurancepayer",
        "carrier",
    ],
    "units": [
        "units",
        "unit",
        "quantity",
        "qty",
        "unitcount",
        "serviceunitquantity",
        "linesrvccnt",
        "clmlinesrvcunitqty",
        "serviceunits",
        "days/units",
        "daysunits",
    ],
    "charge": [
        "charge",
        "charges",
        "chargeamount",
        "chgamt",
        "totalcharge",
        "amount",
        "billedamount",
        "linecharge",
        "linesbmtdchrgamt",
        "extended",
        "fee",
        "grosscharge",
        "chargeamt",
        "billed",
    ],
    "unit_charge": ["unitcharge", "unitprice", "override", "unitfee"],
    "site": [
        "site",
        "location",
        "bodysite",
        "lesionsite",
        "anatomicsite",
        "anatomiclocation",
        "bodylocation",
        "lesionlocation",
    ],
    "lesion_size_cm": [
        "size",
        "lesionsize",
        "lesionsizecm",
        "excaiseddiameter",
        "exciseddiameter",
        "exciseddiametercm",
        "sizecm",
        "lesiondiameter",
        "diametercm",
        "diameter",
        "repairlength",
        "lengthcm",
    ],
    "lesion_count": ["lesioncount", "lesions", "numberoflesions", "nlesions", "count"],
    "pos": ["pos", "placeofservice", "placeofservicecode", "lineplaceofsrvccd", "poscode"],
    "group_id": ["billingtin", "renderingtin", "tin", "taxid", "taxnum", "billinggroup", "group"],
    "supervising_provider": [
        "supervisingprovider",
        "supervising",
        "supervisingphysician",
        "supervisingprovidername",
        "supervisingnpi",
        "supervisingprovidernpi",
    ],
    "billing_provider": [
        "billingprovider",
        "billingprovidername",
        "billingnpi",
        "billingprovidernpi",
        "orgnpinum",
        "billedprovider",
    ],
    "taxonomy": [
        "taxonomy",
        "taxonomycode",
        "providertaxonomy",
        "renderingtaxonomy",
        "prvtaxonomy",
    ],
    "line_status": [
        "linestatus",
        "chargestatus",
        "status",
        "voidstatus",
        "transactionstatus",
        "chargelinestatus",
    ],
}

# Multi-slot fields: a regex over the folded header; the optional number orders the slots.
MULTI: dict[str, list[str]] = {
    "modifiers": [
        r"(?:mod|modifier|modifiers|modcode|cptmodifier|procmod|proceduremodifier"
        r"|proceduremodifiercode|hcpcsmodifier|hcpcsmodifiercode|hcpcsmdfrcd|mdfr)(\d?)",
        r"hcpcs(\d)(?:st|nd|rd|th)?mdfrcd",
        r"hcpcs(\d)mdfrcd",
        r"modifiers?(\d)?(?:to\d)?",
        r"modifiers(\d)\d",
    ],
    "dx": [
        r"(?:dx|diag|diagnosis|diagnoses|diagnosiscode|diagnosiscodes|icd|icd10|icdcode"
        r"|icd10code|icd10cm|dxcode|diagcode|icddgnscd|linicddgnscd|lineicddgnscd"
        r"|prncpaldgnscd|admittingdx)(\d{0,2})",
    ],
}

ORDER_WORDS = {"1st": "1", "2nd": "2", "3rd": "3", "4th": "4"}


def fold(name: str) -> str:
    s = name.strip().lower()
    for w, n in ORDER_WORDS.items():
        s = s.replace(w, n)
    return re.sub(r"[^a-z0-9/]", "", s).replace("/", "")


@dataclass
class Mapping:
    """canonical field -> source column(s)."""

    single: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = dict(self.single)
        out.update({k: v for k, v in self.multi.items() if v})
        return out

    def has(self, canon: str) -> bool:
        return canon in self.single or bool(self.multi.get(canon))


def detect(
    columns: list[str],
    overrides: dict[str, str | list[str]] | None = None,
    *,
    use_aliases: bool = True,
) -> Mapping:
    """Header aliases only (``use_aliases=False``: just validate and apply ``overrides``); the
    scan uses ``roles.infer``, which also reads the values."""
    folded = {c: fold(c) for c in columns}
    used: set[str] = set()
    m = Mapping()
    overrides = overrides or {}
    for canon, src in overrides.items():
        srcs = [src] if isinstance(src, str) else list(src)
        for s in srcs:
            if s not in columns:
                raise InputError(
                    f"column mapping names {s!r} for {canon}, but the file has no such column "
                    f"(columns: {', '.join(columns[:30])})"
                )
        if canon in MULTI:
            m.multi[canon] = srcs
        elif canon in SINGLE:
            m.single[canon] = srcs[0]
        else:
            raise InputError(
                f"unknown canonical field {canon!r} in column mapping; "
                f"use one of: {', '.join([*SINGLE, *MULTI])}"
            )
        used.update(srcs)
    if not use_aliases:
        return m

    # Multi-slot fields first so that 'mod1'/'dx1' are not taken by single aliases.
    for canon, patterns in MULTI.items():
        if canon in m.multi:
            continue
        hits: list[tuple[int, str]] = []
        for c in columns:
            if c in used:
                continue
            for pat in patterns:
                mt = re.fullmatch(pat, folded[c])
                if mt:
                    num = next((g for g in mt.groups() if g), "0")
                    hits.append((int(num), c))
                    break
        if hits:
            hits.sort()
            m.multi[canon] = [c for _, c in hits]
            used.update(m.multi[canon])

    for canon, aliases in SINGLE.items():
        if canon in m.single:
            continue
        for alias in aliases:
            cand = [c for c in columns if c not in used and folded[c] == alias]
            if cand:
                m.single[canon] = cand[0]
                used.add(cand[0])
                break
    return m


def load_mapping_file(path: Path) -> dict[str, str | list[str]]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"column map {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"column map {path} is not valid TOML: {exc}") from exc
    cols = data.get("columns", data)
    out: dict[str, str | list[str]] = {}
    for k, v in cols.items():
        if isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            out[str(k)] = v
        else:
            raise InputError(f"column map {path}: {k} must be a column name or a list of names")
    return out
