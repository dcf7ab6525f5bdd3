"""Column roles from the values, with the header as one signal.

For every column a sample of its values is scored against every canonical role (share of
known CPT/HCPCS codes, valid ICD-10-CM codes, parseable dates, Luhn-valid NPIs, modifier
vocabulary, money, small whole numbers, payer words, names with credentials, place-of-service
codes, anatomic site words, id-like cardinality) and the header is scored by its words
(``Pt``, ``Acct``, ``Enc``, ``Nbr``, ``DOS``, ``Proc``, ``Dx``, ``Mod``, ``Prov``, ``Rend``,
``Chg``, ``Amt``, ``Ins``, ``Fin Class``, ``CPT4`` …; an exact alias of ``columns.py`` counts
fully). Roles are then assigned jointly — one column per role, numbered roles (diagnoses,
modifiers) in order — each with a confidence and the evidence behind it, which
``dermaudit inspect`` prints. An explicit column map always wins.

Only a sample is read (the first rows and rows spread over the rest), so detection costs the
same on a 10M-line file as on a 10k-line one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import polars as pl

from .columns import MULTI, SINGLE, Mapping, fold
from .normalize import CODE_RE, parse_date

SAMPLE_HEAD = 2_000
SAMPLE_SPREAD = 2_000
MAX_CONTENT_COLUMNS = 400  # wider files: the rest are judged by their header only
HIGH = 0.7  # confidence at or above which a choice is "high"
MIN_SCORE = {"required": 0.5, "optional": 0.55}

REQUIRED_ROLES = ("patient_id", "dos", "cpt")
ROLES = (
    "patient_id",
    "claim_id",
    "dos",
    "cpt",
    "modifiers",
    "units",
    "dx",
    "provider",
    "supervising_provider",
    "billing_provider",
    "credential",
    "taxonomy",
    "pos",
    "payer",
    "charge",
    "unit_charge",
    "site",
    "lesion_size_cm",
    "lesion_count",
    "group_id",
    "line_status",
)
MULTI_ROLES = ("modifiers", "dx")

# header words (after folding and abbreviation expansion) per role, and words that rule it out
ABBREV = {
    "pt": "patient", "pat": "patient", "acct": "account", "enc": "encounter", "nbr": "number",
    "num": "number", "no": "number", "dos": "dateofservice", "proc": "procedure",
    "dx": "diagnosis", "diag": "diagnosis", "dgns": "diagnosis", "mod": "modifier",
    "mdfr": "modifier", "prov": "provider", "prvdr": "provider", "rend": "rendering",
    "ren": "rendering", "rndrng": "rendering", "chg": "charge", "chrg": "charge",
    "amt": "amount", "ins": "insurance", "fin": "financial", "svc": "service",
    "srvc": "service", "cpt4": "cpt", "qty": "quantity", "dt": "date", "clm": "claim",
    "phys": "physician", "physn": "physician", "dr": "doctor", "cred": "credential",
    "sup": "supervising", "supv": "supervising", "loc": "location", "stat": "status",
    "tx": "taxonomy", "mrn": "mrn", "bene": "patient", "mbr": "member",
}  # fmt: skip
ROLE_WORDS: dict[str, tuple[set[str], set[str]]] = {
    "patient_id": ({"patient", "account", "mrn", "person", "chart", "member", "guarantor", "per"},
                   {"name", "dob", "birth", "balance", "paid", "payment", "responsibility",
                    "address", "phone", "sex", "gender", "age"}),
    "claim_id": ({"claim", "encounter", "visit", "ticket", "invoice", "voucher", "control"},
                 {"status", "date", "type", "frequency", "amount", "total"}),
    "dos": ({"dateofservice", "service", "date", "from", "expns", "begin", "start"},
            {"post", "posted", "posting", "entry", "birth", "dob", "created", "paid", "to",
             "through", "thru", "end", "run", "last", "deposit", "billed", "check"}),
    "cpt": ({"cpt", "hcpcs", "procedure", "code", "service"},
            {"modifier", "diagnosis", "icd", "pos", "place", "description", "desc", "status",
             "zip", "taxonomy", "payer", "insurance", "item", "sim", "date", "units",
             "type", "category", "pointer"}),
    "modifiers": ({"modifier", "modifiers"}, {"description"}),
    "dx": ({"diagnosis", "icd"}, {"pointer", "ptr", "description", "desc", "admitting"}),
    "units": ({"units", "unit", "quantity", "days", "cnt", "count"},
              {"charge", "price", "fee", "cost", "amount", "lesion"}),
    "provider": ({"provider", "rendering", "physician", "doctor", "performing", "servicing",
                  "clinician", "npi", "prf"},
                 {"supervising", "billing", "referring", "ordering", "credential", "type",
                  "specialty", "taxonomy", "tin", "group", "scheduling"}),
    "supervising_provider": ({"supervising"}, {"credential", "taxonomy"}),
    "billing_provider": ({"billing", "billed"}, {"credential", "taxonomy", "amount", "date"}),
    "credential": ({"credential", "degree", "licensure"}, set()),
    "taxonomy": ({"taxonomy"}, set()),
    "pos": ({"pos", "place"}, {"description", "name"}),
    "payer": ({"payer", "payor", "insurance", "plan", "carrier", "financial", "class",
               "primary"},
              {"member", "policy", "group", "paid", "payment", "balance", "responsibility",
               "secondary", "tertiary", "phone"}),
    "charge": ({"charge", "charges", "amount", "billed", "fee", "gross", "extended", "total",
                "sbmtd"},
               {"paid", "allowed", "adjustment", "adj", "balance", "payment", "unit", "per",
                "alowd", "pmt", "coinsurance", "deductible"}),
    "unit_charge": ({"unit", "price"}, {"units", "total", "count"}),
    "site": ({"site", "location", "body", "anatomic", "laterality"},
             {"service", "facility", "department", "practice", "pos"}),
    "lesion_size_cm": ({"size", "diameter", "length", "cm", "mm"}, {"page"}),
    "lesion_count": ({"lesions", "lesion", "count"}, set()),
    "group_id": ({"tin", "tax", "group", "ein"}, {"name"}),
    "line_status": ({"status", "void", "reversal"}, {"claim", "patient", "marital"}),
}  # fmt: skip

CREDENTIALS = {
    "MD": "MD", "M.D.": "MD", "DO": "DO", "D.O.": "DO", "PA-C": "PA", "PA": "PA",
    "NP": "NP", "FNP": "NP", "FNP-C": "NP", "FNP-BC": "NP", "ANP": "NP", "CNP": "NP",
    "DNP": "NP", "APRN": "APRN", "ARNP": "APRN", "CNS": "CNS", "CRNA": "CRNA", "RN": "RN",
    "LPN": "LPN", "MA": "MA", "CMA": "MA", "DPM": "DPM", "MBBS": "MD",
}  # fmt: skip
CRED_RE = r"(?i)[,\s]+(" + "|".join(re.escape(k) for k in CREDENTIALS) + r")\.?\s*$"
POS_CODES = {f"{i:02d}" for i in range(1, 100)} - {"00"}
COMMON_POS = set("02 10 11 12 19 21 22 23 24 31 32 49 50 71 72".split())
STATUS_WORDS = {
    "void", "voided", "deleted", "delete", "reversed", "reversal", "posted", "billed", "active",
    "open", "closed", "paid", "denied", "hold", "pending", "rejected", "submitted", "new",
    "corrected", "replaced", "cancelled", "canceled", "ready", "unbilled", "transferred",
}  # fmt: skip
TAXONOMY_RE = r"^\d{3}[0-9A-Z]{6}X$"
NPI_RE = r"^\d{10}$"
ID_RE = r"^[A-Za-z0-9][A-Za-z0-9\-_./#]{1,39}$"
MONEY_RE = r"^\(?-?\$?\s?-?[\d,]*\d(?:\.\d{1,2})?\)?$"
NAME_RE = r"^[A-Za-z'\-. ]+,\s*[A-Za-z'\-. ]+$|^[A-Z][a-z'\-]+(?:\s+[A-Z]\.?)?\s+[A-Z][A-Za-z'\-]+"


@cache
def _vocab() -> dict[str, Any]:
    """Reference vocabularies from the default ruleset (codes, modifiers, payers, sites)."""
    from ..refdata import load_refdata

    ref = load_refdata()
    payer_words = sorted(
        {k.lstrip("=").removeprefix("sbr09:") for _, kws in ref.payer_rules for k in kws}
        | {"medicare", "medicaid", "self pay", "selfpay", "commercial", "bcbs", "aetna",
           "cigna", "humana", "united", "uhc", "tricare", "champva", "blue cross", "blue shield",
           "anthem", "workers comp", "private", "hmo", "ppo"}
    )  # fmt: skip
    mods = set(ref.modifiers["modifier"].to_list()) | {
        "25", "57", "59", "24", "58", "78", "79", "76", "77", "91", "51", "50", "52", "53",
        "26", "TC", "KX", "GC", "GT", "95", "Q5", "Q6", "AS", "SA", "SB", "XE", "XS", "XP",
        "XU", "LT", "RT", "GA", "GX", "GY", "GZ", "FS", "CR", "CS", "JW", "JZ", "JG", "KS",
        "CG", "PO", "PN", "ET", "GV", "GW", "AI", "SG", "EA", "EB", "EC",
    }  # fmt: skip
    return {
        "codes": set(ref.codes["code"].to_list()),
        "mods": mods,
        "payer_words": [w for w in payer_words if len(w) >= 3],
        "site_words": ref.sites["keyword"].to_list(),
    }


@cache
def _icd_codes() -> frozenset[str]:
    from ..icd10 import table

    return frozenset(table()["code"].to_list())


@dataclass
class Choice:
    """One role's column (or columns), its confidence and the evidence."""

    role: str
    columns: list[str]
    score: float
    evidence: list[str] = field(default_factory=list)
    runner_up: str | None = None
    runner_up_score: float = 0.0
    forced: bool = False  # from a column map

    @property
    def confident(self) -> bool:
        return self.forced or (self.score >= HIGH and self.score - self.runner_up_score >= 0.1)


@dataclass
class Inference:
    mapping: Mapping
    choices: dict[str, Choice]
    scores: dict[str, dict[str, float]]  # column -> role -> score
    evidence: dict[str, dict[str, list[str]]]  # column -> role -> evidence lines

    def unmapped(self) -> list[str]:
        return [r for r in ROLES if r not in self.choices]


# ---- the sample and its value features ---------------------------------------------------


def sample(df: pl.DataFrame) -> pl.DataFrame:
    if df.height <= SAMPLE_HEAD + SAMPLE_SPREAD:
        return df
    step = max(1, (df.height - SAMPLE_HEAD) // SAMPLE_SPREAD)
    return pl.concat([df.head(SAMPLE_HEAD), df.slice(SAMPLE_HEAD).gather_every(step)])


def _luhn_npi(v: pl.Expr) -> pl.Expr:
    """NPI check digit (Luhn over '80840' + the first nine digits)."""
    digits = [v.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(10)]
    total = pl.lit(24)  # the 80840 prefix contributes 24 (CMS NPI check-digit method)
    for i in range(9):
        d = digits[8 - i]
        if i % 2 == 0:
            d = d * 2
            d = pl.when(d > 9).then(d - 9).otherwise(d)
        total = total + d
    check = (10 - (total % 10)) % 10
    return v.str.contains(NPI_RE) & (check == digits[9])


def _features(smp: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Per column: the shares of its non-empty sample values that look like each kind of value.

    The columns' distinct values are stacked into one frame and every test runs once on it (a
    test per column would pay each pattern's set-up once per column). A share is the count of
    matching lines (a distinct value counts for its lines) over the column's non-empty lines:
    the same integer ratio as a mean over the lines."""
    cols = smp.columns
    stacked = []
    for i, c in enumerate(cols):
        v = smp[c].cast(pl.String).str.strip_chars()
        v = v.filter(v.is_not_null() & (v != ""))
        stacked.append(
            v.alias("v").value_counts(name="w").select(pl.lit(i, pl.UInt32).alias("c"), "v", "w")
        )
    df = pl.concat(stacked).with_columns(pl.col("w").cast(pl.Int64))
    df = df.with_columns(n=pl.col("w").sum().over("c"), _date=parse_date("v"))
    voc = _vocab()
    w = pl.col("w")

    def share(e: pl.Expr) -> pl.Expr:  # matching lines / non-empty lines
        return (e.fill_null(False).cast(pl.Int64) * w).sum() / pl.col("n").first()

    up = pl.col("v").str.to_uppercase()
    code = up.str.replace(r"^(?:HC|CPT)\s*[:\s]\s*", "").str.extract(
        r"^([0-9A-Z]{5})(?:$|[^0-9A-Z])", 1
    )
    mod_tokens = up.str.extract_all(r"[0-9A-Z]+")
    # cells may hold several codes ("L57.0 Z41.1", "L570,C44311"): every token must be a code
    dx_tokens = up.str.extract_all(r"[^\s,;|/]+")
    dx_dot = dx_tokens.list.eval(
        pl.element()
        .str.replace(".", "", literal=True)
        .pipe(
            lambda e: (
                pl.when(e.str.len_chars() > 3)
                .then(pl.concat_str([e.str.slice(0, 3), pl.lit("."), e.str.slice(3)]))
                .otherwise(e)
            )
        )
    )
    serial = pl.col("v").str.contains(r"^\d{5}(?:\.0+)?$")  # an Excel day number, or a code
    num = pl.col("v").str.replace_all(r"[$,()\s]", "").cast(pl.Float64, strict=False)
    npi_shape = pl.col("v").str.contains(NPI_RE)
    low = pl.col("v").str.to_lowercase()
    sites = voc["site_words"]
    tests: dict[str, pl.Expr] = {
        "cpt_shape": code.str.contains(CODE_RE),
        "cpt_known": code.is_in(list(voc["codes"])),
        "date": pl.col("_date").is_not_null() & ~serial,
        "serial": serial,
        "mod": mod_tokens.list.eval(pl.element().is_in(list(voc["mods"]))).list.all(),
        "mod_len": mod_tokens.list.len() <= 4,
        "dx_shape": dx_tokens.list.eval(
            pl.element().str.contains(r"^[A-Z]\d[0-9A-Z]\.?[0-9A-Z]{0,4}$")
        ).list.all(),
        "icd9": dx_tokens.list.eval(
            pl.element().str.contains(
                r"^(?:\d{3}(?:\.\d{1,2})?|V\d{2}(?:\.\d{1,2})?|E\d{3}(?:\.\d)?)$"
            )
        ).list.all(),
        "money": pl.col("v").str.contains(MONEY_RE),
        "cents": pl.col("v").str.contains(r"\.\d{2}$|^\$|^\("),
        "small_int": pl.col("v").str.contains(r"^\d{1,2}(?:\.0+)?$"),
        "size": pl.col("v").str.contains(r"^\d+(?:\.\d+)?\s*(?:cm|mm)?$"),
        "pos": pl.col("v").is_in(list(POS_CODES)),
        "pos_common": pl.col("v").is_in(list(COMMON_POS)),
        # the check digit only where the value has an NPI's shape
        "npi": pl.when(npi_shape).then(_luhn_npi(pl.col("v"))),
        "npi_shape": npi_shape,
        "taxonomy": pl.col("v").str.contains(TAXONOMY_RE),
        "name": pl.col("v").str.contains(NAME_RE),
        "name_cred": pl.col("v").str.contains(CRED_RE),
        "credential": up.str.replace_all(r"\.$", "").is_in(list(CREDENTIALS)),
        "payer": low.str.contains_any(voc["payer_words"]),
        "status": low.str.strip_chars().is_in(list(STATUS_WORDS)),
        "idlike": pl.col("v").str.contains(ID_RE),
        "alpha": pl.col("v").str.contains(r"[A-Za-z]"),
        "tin": pl.col("v").str.contains(r"^\d{9}$|^\d{2}-\d{7}$"),
        "site": low.str.contains(r"\b(?:" + "|".join(sites) + r")") if sites else pl.lit(False),
    }
    # the tests run on the stacked values once; the shares are sums per column
    marks = df.select(
        "c",
        "w",
        "n",
        *[e.fill_null(False).alias(k) for k, e in tests.items()],
        pl.col("_date").dt.year().alias("year"),
        num.alias("num"),
        dx_dot.alias("dx_code"),
    )
    rows = (
        marks.group_by("c")
        .agg(
            *[share(pl.col(k)).alias(k) for k in tests],
            pl.col("year").repeat_by("w").explode().median().alias("year"),
            pl.col("num").repeat_by("w").explode().median().alias("median"),
            pl.col("num").max().alias("max"),
            pl.len().alias("distinct"),
            pl.col("dx_code"),
            pl.col("w").alias("dx_w"),
        )
        .rows_by_key("c", named=True, unique=True)
    )
    known: frozenset[str] | None = None
    out: dict[str, dict[str, float]] = {}
    for i, c in enumerate(cols):
        n = int(stacked[i]["w"].sum()) if stacked[i].height else 0
        f: dict[str, float] = {"filled": n / max(smp.height, 1), "n": float(n)}
        out[c] = f
        if n == 0:
            continue
        row = dict(rows[i])
        dx_cells = [list(x or []) for x in (row.pop("dx_code") or [])]
        dx_w = list(row.pop("dx_w") or [])
        if row["dx_shape"] and row["dx_shape"] > 0.3 and dx_cells:
            known = known or _icd_codes()
            cells = zip(dx_cells, dx_w, strict=True)
            row["dx"] = sum(k for x, k in cells if x and all(y in known for y in x)) / n
        else:
            row["dx"] = 0.0
        f.update({k: float(x) if x is not None else 0.0 for k, x in row.items()})
        f["cardinality"] = f["distinct"] / n
    return out


def pct(x: float) -> str:
    return f"{x:.0%}"


def _content(role: str, f: dict[str, float]) -> tuple[float, str | None]:
    """Content score of a role for a column and the evidence sentence (None: no evidence)."""
    if f["n"] == 0:
        return 0.0, None
    n = int(f["n"])
    if role == "cpt":
        s = 0.5 * f["cpt_shape"] + 0.5 * min(1.0, f["cpt_known"] * 2.5)
        if f["date"] > 0.5 or f["npi_shape"] > 0.5 or (f["money"] > 0.5 and f["cents"] > 0.5):
            s *= 0.3
        return s, f"{pct(f['cpt_shape'])} CPT/HCPCS-shaped, {pct(f['cpt_known'])} known codes"
    if role == "dx":  # ICD-10-CM-shaped but invalid codes are still diagnoses (DX rules flag)
        s = max(
            f["dx"],
            0.7 * f["dx_shape"] * (1.0 - min(1.0, 2 * f["cpt_known"])),
            0.5 * f["icd9"] * (1.0 - f["cents"]),
        )
        return s, f"{pct(f['dx'])} valid ICD-10-CM codes, {pct(f['dx_shape'])} ICD-shaped"
    if role == "dos":
        s = f["date"] if 1990 <= f["year"] <= 2100 else 0.2 * f["date"]
        s = max(s, 0.6 * f["serial"] * (1.0 - min(1.0, 2 * f["cpt_known"])))
        return s, f"{pct(f['date'])} dates (median year {int(f['year']) if f['year'] else '-'})"
    if role == "modifiers":
        s = f["mod"] * f["mod_len"]
        if f["cpt_known"] > 0.3 or f["pos_common"] > 0.8 or f["credential"] > 0.5:
            s *= 0.3
        return s, f"{pct(f['mod'])} modifier codes"
    if role == "units":
        s = f["small_int"] * (1.0 if f["median"] <= 5 else 0.6)
        return s, f"{pct(f['small_int'])} small whole numbers (median {f['median']:g})"
    if role == "lesion_count":
        return 0.4 * f["small_int"], None
    if role == "charge":
        s = f["money"] * (0.6 + 0.4 * f["cents"]) if f["median"] >= 5 else 0.4 * f["money"]
        if f["npi_shape"] > 0.5 or f["date"] > 0.5 or f["cpt_known"] > 0.3:
            s *= 0.2
        return s, f"{pct(f['money'])} money amounts (median {f['median']:,.2f})"
    if role == "unit_charge":
        return 0.5 * f["money"] * f["cents"], None
    if role == "lesion_size_cm":
        s = f["size"] if 0 < f["median"] <= 30 and f["small_int"] < 0.9 else 0.3 * f["size"]
        return s, f"{pct(f['size'])} sizes (median {f['median']:g})"
    if role == "pos":
        s = f["pos_common"] if f["pos"] > 0.95 else 0.0
        return s, f"{pct(f['pos_common'])} place-of-service codes"
    if role == "credential":
        return f["credential"], f"{pct(f['credential'])} credentials (MD, DO, PA, NP ...)"
    if role == "taxonomy":
        return f["taxonomy"], f"{pct(f['taxonomy'])} provider taxonomy codes"
    if role in ("provider", "supervising_provider", "billing_provider"):
        s = max(f["name"], f["npi"])
        if f["cardinality"] > 0.5 and f["n"] > 20:
            s *= 0.4
        if role != "provider":
            s *= 0.75  # names fit all three; without a header the rendering provider wins
        kind = "Luhn-valid NPIs" if f["npi"] >= f["name"] else "person names"
        return s, f"{pct(max(f['name'], f['npi']))} {kind}, {int(f['distinct'])} distinct"
    if role == "payer":
        s = f["payer"] * (1.0 if f["cardinality"] < 0.5 or n < 20 else 0.5)
        return s, f"{pct(f['payer'])} payer words"
    if role == "site":
        s = f["site"] * (0.9 if f["alpha"] > 0.9 else 0.3)
        return s, f"{pct(f['site'])} anatomic site words"
    if role == "line_status":
        return f["status"], f"{pct(f['status'])} status words"
    if role == "group_id":
        return 0.6 * f["tin"] * (1.0 if f["cardinality"] < 0.2 else 0.3), None
    if role in ("patient_id", "claim_id"):
        other = max(
            f["date"],
            f["money"] * f["cents"],
            f["cpt_known"],
            f["dx"],
            f["name"],
            f["payer"],
            f["credential"],
            f["small_int"],
            f["pos_common"],
            f["status"],
        )
        s = f["idlike"] * (1.0 - other) * (0.35 + 0.35 * min(1.0, f["cardinality"] * 4))
        return s, f"{pct(f['idlike'])} id-like, {int(f['distinct'])} distinct in {n}"
    return 0.0, None


def _header(role: str, col: str) -> tuple[float, str | None]:
    folded = fold(col)
    if role in SINGLE and folded in SINGLE[role]:
        return 1.0, f"header '{col}' is a known {role} name"
    if role in MULTI and any(re.fullmatch(p, folded) for p in MULTI[role]):
        return 1.0, f"header '{col}' is a known {role} name"
    toks = [ABBREV.get(t, t) for t in re.findall(r"[a-z]+|\d+", col.lower())]
    words, banned = ROLE_WORDS[role]
    if any(t in banned for t in toks):
        return 0.0, None
    hits = [t for t in toks if t in words]
    if not hits:
        return 0.0, None
    return min(
        1.0, 0.55 + 0.2 * len(hits)
    ), f"header word{'s' if len(hits) > 1 else ''} " + ", ".join(f"'{h}'" for h in hits)


# ---- joint assignment --------------------------------------------------------------------


def _id_relations(df: pl.DataFrame, cols: list[str]) -> dict[str, str]:
    """Among id-like columns: a column that determines another with fewer distinct values is
    the claim (encounter) and the other the patient (each claim belongs to one patient)."""
    out: dict[str, str] = {}
    if len(cols) < 2:
        return out
    nu = {c: df[c].drop_nulls().n_unique() for c in cols}
    for a in cols:
        for b in cols:
            if a == b or nu[b] >= nu[a] or nu[b] < 2:
                continue
            pairs = df.select(a, b).drop_nulls().n_unique()
            if pairs == nu[a]:
                out.setdefault(a, "claim_id")
                out.setdefault(b, "patient_id")
    return out


def infer(
    df: pl.DataFrame,
    overrides: dict[str, str | list[str]] | None = None,
    *,
    only_map: bool = False,
) -> Inference:
    """Assign roles to the columns of ``df`` (all text). ``overrides`` (a column map) wins.

    ``only_map``: the map is the whole answer (a partition of a file whose roles were found
    on its sample before the split): no other column is judged, so every partition has the
    same roles."""
    from .columns import detect

    cols = [c for c in df.columns if not c.startswith("__")]
    forced = detect(cols, overrides or {}, use_aliases=False)  # validates the map
    if only_map:
        chosen = {
            role: Choice(role, [src] if isinstance(src, str) else list(src), 1.0, [], forced=True)
            for role, src in forced.as_dict().items()
        }
        return Inference(forced, chosen, {}, {})
    smp = sample(df.select(cols))
    feats = _features(smp.select(cols[:MAX_CONTENT_COLUMNS]))
    feats.update({c: {"filled": 0.0, "n": 0.0} for c in cols[MAX_CONTENT_COLUMNS:]})
    rel = _id_relations(
        smp,
        [
            c
            for c in cols
            if feats[c].get("idlike", 0) > 0.9
            and feats[c].get("date", 0) < 0.5
            and feats[c].get("cpt_known", 0) < 0.3
        ],
    )
    scores: dict[str, dict[str, float]] = {}
    evidence: dict[str, dict[str, list[str]]] = {}
    for c in cols:
        f = feats[c]
        scores[c], evidence[c] = {}, {}
        for role in ROLES:
            cs, cev = _content(role, f)
            hs, hev = _header(role, c)
            if role in ("patient_id", "claim_id") and rel.get(c) and cs > 0:
                cs = min(1.0, cs + (0.35 if rel[c] == role else -0.25))
                cev = (
                    (cev or "")
                    + (
                        "; each value has one "
                        + ("patient" if rel[c] == "claim_id" else "claim's patient")
                    )
                    if rel[c] == role
                    else cev
                )
            if f["n"] == 0:  # a blank column: only the header can tell
                s = 0.75 * hs
            elif hs >= 1.0:  # a known header: enough unless the values must confirm it
                s = (
                    max(0.85, 0.5 + 0.5 * cs)
                    if cs >= 0.2
                    else (0.45 + 0.3 * cs if role in _CONTENT_DECIDES else 0.8)
                )
            elif hs > 0:
                s = 0.55 * cs + 0.45 * hs
            else:
                s = 0.92 * cs
            scores[c][role] = round(s, 3)
            evidence[c][role] = [e for e in (cev if cs >= 0.2 else None, hev) if e]
    # a header that names a role clearly (an alias, or two of the role's words) makes every
    # role its words rule out less likely: "Chg Amt" holding 120, 270 is not a patient id
    for c in cols:
        heads = {r: _header(r, c)[0] for r in ROLES}
        if max(heads.values()) >= 0.85:
            for r in ROLES:
                if heads[r] == 0:
                    scores[c][r] = round(scores[c][r] * 0.5, 3)
    choices: dict[str, Choice] = {}
    used: set[str] = set()
    for role, srcs in forced.as_dict().items():
        cols_f = [srcs] if isinstance(srcs, str) else list(srcs)
        choices[role] = Choice(role, cols_f, 1.0, ["from the column map"], forced=True)
        used.update(cols_f)
    for role in MULTI_ROLES:
        if role in choices:
            continue
        picked = [
            c
            for c in cols
            if c not in used
            and scores[c][role] >= 0.6
            and max(scores[c].values()) - scores[c][role] < 0.15
        ]
        if picked:
            picked.sort(key=lambda c: (_slot(c, role), cols.index(c)))
            sc = min(scores[c][role] for c in picked)
            ev = [f"{c}: {'; '.join(evidence[c][role])}" for c in picked]
            choices[role] = Choice(role, picked, sc, ev)
            used.update(picked)
    pairs = sorted(
        ((scores[c][r], c, r) for c in cols for r in ROLES if r not in MULTI_ROLES),
        key=lambda t: (-t[0], cols.index(t[1]), ROLES.index(t[2])),
    )
    for s, c, r in pairs:
        if r in choices or c in used:
            continue
        need = MIN_SCORE["required" if r in REQUIRED_ROLES else "optional"]
        if s < need:
            continue
        others = sorted(((scores[o][r], o) for o in cols if o != c and o not in used), reverse=True)
        ru = others[0] if others else (0.0, None)
        choices[r] = Choice(r, [c], s, evidence[c][r], ru[1], ru[0])
        used.add(c)
    mapping = Mapping()
    for role, ch in choices.items():
        if role in MULTI_ROLES:
            mapping.multi[role] = ch.columns
        else:
            mapping.single[role] = ch.columns[0]
    return Inference(mapping, choices, scores, evidence)


# roles whose values are unmistakable: a known header with other values is not enough
_CONTENT_DECIDES = {"cpt", "dos", "dx", "modifiers", "units", "charge", "pos"}


def _slot(col: str, role: str) -> int:
    m = re.search(r"(\d+)\D*$", col)
    return int(m.group(1)) if m else 0


def candidates(inf: Inference, role: str, n: int = 3) -> list[tuple[str, float]]:
    ranked = sorted(((s[role], c) for c, s in inf.scores.items()), reverse=True)
    return [(c, sc) for sc, c in ranked[:n] if sc > 0]
