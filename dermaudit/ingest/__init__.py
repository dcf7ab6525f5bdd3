"""Ingest: read files once, map columns, normalise to the canonical charge-line frame.

Canonical columns (one row per billed line):

========================  ==========================================================
``_file``, ``_row``       source file name and 1-based data-row number (header = row 0)
``claim_id``              encounter/claim; synthesised as patient|dos|provider if absent
``patient_id``            patient account / MRN (required)
``dos``                   date of service (required)
``provider``              rendering provider ("(unknown)" when the export lacks it)
``payer``, ``payer_class``  free-text payer and its class (medicare_ffs, ...)
``cpt``                   CPT/HCPCS code, text (required)
``mods``                  list of modifiers (from columns or glued to the code)
``units``                 whole units (blank = 1)
``dx``                    list of ICD-10-CM codes, with the dot
``charge``                line charge in dollars (unit charge x units when only that is given)
``site``, ``lesion_size_cm``, ``lesion_count``, ``pos``, ``group_id``
``credential``            MD, DO, PA, NP, APRN, ... from a credential column, the suffix of the
                          provider name ("ROE, JANE PA-C") or the NUCC taxonomy code
``supervising_provider``, ``billing_provider``, ``taxonomy``, ``line_status``
========================  ==========================================================

Columns are recognised by ``roles.infer`` from their values and headers; lines that are not
charge lines (titles, footers, repeated headers, blank lines) are set aside by ``layout``; lines
whose status says void, deleted or reversed are set aside too. Both are counted in a note.

A data-quality pass runs first: rows with an unparseable date, a blank or malformed code,
no patient, or impossible units become ``DQ-nnn`` findings and are kept out of the coding
rules. Nothing is silently dropped: ``Ingested.rows_total`` = audited + excluded.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError
from ..model import FINDINGS_SCHEMA
from . import x12
from .columns import Mapping
from .layout import describe as describe_set_aside
from .layout import set_aside_reasons
from .normalize import (
    CODE_RE,
    DX_POINTER,
    SEP,
    code_and_glued_mods,
    derive,
    diagnoses,
    icd9_codes,
    joined,
    modifiers,
    number,
    parse_date,
    payer_class,
    size_cm,
    text,
)
from .readers import RawFile, expand_paths, read_all
from .roles import CRED_RE, CREDENTIALS, Inference, candidates, infer

REQUIRED = ("patient_id", "dos", "cpt")
OPTIONAL_CANON = (
    "claim_id",
    "provider",
    "payer",
    "units",
    "charge",
    "site",
    "lesion_size_cm",
    "lesion_count",
    "pos",
    "credential",
    "group_id",
    "modifiers",
    "dx",
    "supervising_provider",
    "billing_provider",
    "taxonomy",
    "line_status",
)
VOID_STATUS = r"(?i)^\s*(?:void|voided|deleted?|reversed|reversal|cancell?ed|replaced)\b"

DQ_RULES: dict[str, str] = {
    "DQ-001": "Date of service missing or not a date",
    "DQ-002": "Procedure code blank or malformed",
    "DQ-003": "Patient identifier missing",
    "DQ-004": "Units not a positive whole number",
    "DQ-005": "Date of service outside the plausible range",
    "DQ-006": "Implausibly many lines on one patient-day",
}
# A dermatology encounter bills a few to a few dozen lines. A patient-day with more is a
# placeholder patient id or date (every row "UNKNOWN" on one date); the same-day rules compare
# the lines of a day with each other, so such a day would also cost memory out of proportion
# (measured: 500 lines 0.36 GB, 2,000 lines 3.9 GB, 5,000 lines 24 GB for the whole scan).
MAX_DAY_LINES = 500

SITE_MAX_CHARS = 120  # an anatomic site is a few words; longer free text is cut here

AGGREGATE_MARKERS = {"totsrvcs", "totbenes", "totbenedaysrvcs", "avgsbmtdchrg"}


@dataclass
class FileInfo:
    name: str
    path: str
    sha256: str
    format: str
    rows: int
    delimiter: str | None
    encoding: str | None
    mapping: dict[str, str | list[str]]
    header_line: int | None = 1  # 1-based line (sheet row) of the header; None: no header
    set_aside: int = 0  # lines below the header that are not charge lines (see notes)
    confidence: dict[str, float] = field(default_factory=dict)  # role -> score of its column

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Ingested:
    lines: pl.DataFrame
    dq: pl.DataFrame
    files: list[FileInfo]
    present: set[str]
    notes: list[str] = field(default_factory=list)
    audited: int | None = None  # set by a partitioned scan, whose lines are not kept
    sites: list[str] = field(default_factory=list)  # distinct free-text sites (for redaction)
    unmapped_roles: list[str] = field(default_factory=list)  # optional roles no column has
    inferences: list[tuple[str, Inference]] = field(default_factory=list, repr=False)
    set_aside_by_file: dict[str, int] = field(default_factory=dict)
    # wall seconds of each ingest phase (read, set_aside, roles, normalise), summed over files
    timings: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def rows_total(self) -> int:
        """Charge lines read: every line below the header, less those set aside."""
        return sum(f.rows - f.set_aside for f in self.files)

    @property
    def rows_excluded(self) -> int:
        return self.rows_total - (self.lines.height if self.audited is None else self.audited)


def _normalise(
    raw: RawFile,
    mapping: Mapping,
    payer_rules: list[tuple[str, list[str]]],
    payer_exact: dict[str, str],
    today: date,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    df = raw.frame
    s = mapping.single
    notes: list[str] = []
    if s["cpt"] in raw.numeric_columns:
        notes.append(
            f"{raw.name}: procedure codes were stored as numbers; codes shorter than 5 digits "
            "were zero-padded"
        )

    def raw_text(canon: str) -> pl.Expr:
        return text(s[canon]) if canon in s else pl.lit(None, pl.String)

    def raw_in(canon: str) -> pl.Expr:
        """The cell as read: trimmed later, once per distinct value (``derive`` below)."""
        return pl.col(s[canon]) if canon in s else pl.lit(None, pl.String)

    if "__row" in df.columns:  # a partition of a larger dataset keeps its source rows
        src_file = pl.col("__file").cast(pl.String)
        src_row = pl.col("__row").cast(pl.Int64)
    else:
        src_file = pl.lit(raw.name)
        src_row = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    phase1 = df.select(
        src_file.alias("_file"),
        src_row.alias("_row"),
        raw_text("claim_id").alias("_claim_raw"),
        text(s["patient_id"]).alias("patient_id"),
        raw_in("dos").alias("_dos_in"),
        raw_text("provider").fill_null("(unknown)").alias("provider"),
        raw_in("payer").alias("_payer_in"),
        raw_in("cpt").alias("_cpt_in"),
        joined(mapping.multi.get("modifiers", [])).alias("_mods_key"),
        raw_in("units").alias("_units_in"),
        joined(mapping.multi.get("dx", [])).alias("_dx_key"),
        raw_in("charge").alias("_charge_in"),
        raw_in("unit_charge").alias("_unit_charge_in"),
        raw_text("site").str.to_lowercase().str.slice(0, SITE_MAX_CHARS).alias("site"),
        raw_in("lesion_size_cm").alias("_size_in"),
        raw_in("lesion_count").alias("_count_in"),
        raw_text("pos").alias("pos"),
        raw_text("credential").str.to_uppercase().alias("_cred_raw"),
        raw_text("group_id").alias("group_id"),
        raw_text("supervising_provider").alias("supervising_provider"),
        raw_text("billing_provider").alias("billing_provider"),
        raw_text("taxonomy").str.to_uppercase().alias("taxonomy"),
        raw_text("line_status").alias("line_status"),
    )
    void = pl.col("line_status").str.contains(VOID_STATUS).fill_null(False)
    n_void = phase1.select(void.sum()).item() if "line_status" in s else 0
    if n_void:
        phase1 = phase1.filter(~void)
        notes.append(
            f"{raw.name}: {n_void} line(s) set aside because their status says void, deleted "
            "or reversed (not audited)"
        )
    phase1 = derive(
        phase1.with_columns(
            pl.concat_str(
                [pl.col(c).fill_null("") for c in ("_cred_raw", "provider", "taxonomy")],
                separator="\x1f",
            ).alias("_cred_key")
        ),
        "_cred_key",
        {"credential": credential_expr()},
    )
    numeric_cpt = s["cpt"] in raw.numeric_columns
    code, glued = code_and_glued_mods("_cpt_in", numeric_cpt)
    # each of these columns is trimmed and parsed once per distinct cell, the trimmed text
    # kept for the data-quality messages
    b = derive(phase1, "_dos_in", {"_dos_raw": text("_dos_in"), "dos": parse_date("_dos_in")})
    b = derive(b, "_cpt_in", {"_cpt_raw": text("_cpt_in"), "cpt": code, "_glued": glued})
    b = derive(b, "_mods_key", {"_mods_cols": modifiers("_mods_key")})
    b = derive(
        b,
        "_dx_key",
        {
            "dx": diagnoses("_dx_key"),
            "dx_icd9": icd9_codes("_dx_key"),
            # a cell holding a diagnosis pointer (numbers) rather than a code
            "_dx_ptr": pl.col("_dx_key")
            .str.split(SEP)
            .list.eval(pl.element().str.strip_chars().str.contains(DX_POINTER))
            .list.any()
            .fill_null(False),
        },
    )

    def derive_if(
        df: pl.DataFrame, canon: str, key: str, exprs: dict[str, pl.Expr]
    ) -> pl.DataFrame:
        """Per distinct value when the export has the column; else on its nulls, no join."""
        if canon in s:
            return derive(df, key, exprs)
        return df.with_columns(**exprs)

    b = derive_if(
        b,
        "payer",
        "_payer_in",
        {
            "payer": text("_payer_in"),
            "payer_class": payer_class(text("_payer_in"), payer_rules, payer_exact),
        },
    )
    units_num = text("_units_in").str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False)
    b = derive_if(
        b, "units", "_units_in", {"_units_raw": text("_units_in"), "_units_num": units_num}
    )
    b = derive_if(b, "charge", "_charge_in", {"_charge": number("_charge_in")})
    b = derive_if(b, "unit_charge", "_unit_charge_in", {"_unit_charge": number("_unit_charge_in")})
    charge = pl.col("_charge")
    if "charge" not in s and "unit_charge" in s:
        charge = pl.col("_unit_charge") * pl.col("_units_num").fill_null(1.0)
    base = b.with_columns(
        pl.when(pl.col("_glued").list.len() > 0)
        .then(pl.concat_list("_mods_cols", "_glued").list.unique(maintain_order=True))
        .otherwise(pl.col("_mods_cols"))
        .alias("mods"),
        charge.alias("charge"),
    )
    base = derive_if(base, "lesion_size_cm", "_size_in", {"lesion_size_cm": size_cm("_size_in")})
    count = number("_count_in").cast(pl.Int64, strict=False)
    base = derive_if(base, "lesion_count", "_count_in", {"lesion_count": count})
    lo, hi = date(1990, 1, 1), today + timedelta(days=1)
    u = pl.col("_units_num")
    problems = base.with_columns(
        pl.when(pl.col("dos").is_null())
        .then(
            pl.concat_str(
                pl.lit("date of service "),
                pl.when(pl.col("_dos_raw").is_null())
                .then(pl.lit("is blank"))
                .otherwise(
                    pl.concat_str(pl.lit("'"), pl.col("_dos_raw"), pl.lit("' is not a date"))
                ),
            )
        )
        .alias("DQ-001"),
        pl.when(pl.col("cpt").is_null() | ~pl.col("cpt").str.contains(CODE_RE).fill_null(False))
        .then(
            pl.when(pl.col("_cpt_raw").is_null())
            .then(pl.lit("procedure code is blank"))
            .otherwise(
                pl.concat_str(
                    pl.lit("procedure code '"),
                    pl.col("_cpt_raw").str.slice(0, 20),
                    pl.lit("' is not a CPT/HCPCS code"),
                )
            )
        )
        .alias("DQ-002"),
        pl.when(pl.col("patient_id").is_null())
        .then(pl.lit("patient identifier is blank"))
        .alias("DQ-003"),
        pl.when(
            pl.col("_units_raw").is_not_null()
            & (u.is_null() | (u <= 0) | (u != u.round(0))).fill_null(True)
        )
        .then(
            pl.concat_str(
                pl.lit("units '"), pl.col("_units_raw"), pl.lit("' are not a positive whole number")
            )
        )
        .alias("DQ-004"),
        pl.when((pl.col("dos") < lo) | (pl.col("dos") > hi))
        .then(
            pl.concat_str(
                pl.lit("date of service "),
                pl.col("dos").cast(pl.String),
                pl.lit(f" is before {lo} or after {hi}"),
            )
        )
        .alias("DQ-005"),
    )
    day_n = pl.len().over("patient_id", "dos")
    keyed = pl.col("patient_id").is_not_null() & pl.col("dos").is_not_null()
    crowded = (
        problems.lazy()
        .filter(keyed)
        .group_by("patient_id", "dos")
        .len()
        .filter(pl.col("len") > MAX_DAY_LINES)
        .select(pl.len())
        .collect()
        .item()
    )
    if not crowded:  # the usual case: no per-row window needed
        day_n = pl.lit(0, pl.UInt32)
    problems = problems.with_columns(
        pl.when(keyed)
        .then(
            pl.when(day_n > MAX_DAY_LINES).then(
                pl.concat_str(
                    pl.lit("this patient-day holds "),
                    day_n.cast(pl.String),
                    pl.lit(
                        f" lines (more than {MAX_DAY_LINES}): a stand-in patient id or date "
                        "of service?"
                    ),
                )
            )
        )
        .alias("DQ-006")
    )
    dq_cols = list(DQ_RULES)
    bad_mask = pl.any_horizontal([pl.col(c).is_not_null() for c in dq_cols])
    bad = problems.filter(bad_mask)
    dq = (
        bad.unpivot(
            index=[
                "_file",
                "_row",
                "_claim_raw",
                "patient_id",
                "dos",
                "provider",
                "payer_class",
                "_cpt_raw",
            ],
            on=dq_cols,
            variable_name="rule",
            value_name="message",
        )
        .filter(pl.col("message").is_not_null())
        .select(
            pl.col("rule"),
            pl.lit("DQ").alias("family"),
            pl.lit("review").alias("severity"),
            pl.lit("P").alias("confidence"),
            pl.lit("none").alias("money"),
            pl.col("_file").alias("file"),
            pl.concat_list(pl.col("_row")).alias("rows"),
            pl.col("_claim_raw").alias("claim_id"),
            pl.col("patient_id"),
            pl.col("dos"),
            pl.col("provider"),
            pl.col("payer_class"),
            pl.col("_cpt_raw").alias("codes"),
            pl.concat_str(pl.lit("Row excluded from the coding rules: "), pl.col("message")).alias(
                "message"
            ),
            pl.lit("Correct the line in the practice-management system and export again.").alias(
                "suggestion"
            ),
            pl.lit(None, pl.Float64).alias("amount"),
        )
        .cast(FINDINGS_SCHEMA)  # type: ignore[arg-type]
    )
    blank_units = base.filter(pl.col("_units_raw").is_null()).height if "units" in s else 0
    if "units" in s and blank_units:
        notes.append(f"{raw.name}: {blank_units} line(s) had blank units and were counted as 1")
    if "units" not in s:
        notes.append(f"{raw.name}: no units column; every line counted as 1 unit")
    # a claim id synthesised as patient|dos|provider where the export has none
    claim: pl.Expr = pl.coalesce(
        pl.col("_claim_raw"),
        pl.concat_str(
            pl.col("patient_id"), pl.col("dos").cast(pl.String), pl.col("provider"), separator="|"
        ),
    )
    if "claim_id" in s and problems["_claim_raw"].null_count() == 0:
        claim = pl.col("_claim_raw")  # every line has one: no string built per line
    clean = (
        problems.filter(~bad_mask)
        .with_columns(
            pl.col("_units_num").fill_null(1.0).cast(pl.Int64).alias("units"),
            claim.alias("claim_id"),
        )
        .select(
            "_file",
            "_row",
            "claim_id",
            "patient_id",
            "dos",
            "provider",
            "payer",
            "payer_class",
            "cpt",
            "mods",
            "units",
            "dx",
            "dx_icd9",
            "charge",
            "site",
            "lesion_size_cm",
            "lesion_count",
            "pos",
            "credential",
            "group_id",
            "supervising_provider",
            "billing_provider",
            "taxonomy",
            "line_status",
        )
    )
    if "dx" in mapping.multi:
        ptr = int(b["_dx_ptr"].sum())
        if ptr:
            notes.append(
                f"{raw.name}: {ptr} line(s) hold diagnosis pointers (numbers) rather than codes; "
                "pointers cannot be resolved from a line export and were ignored"
            )
    return clean, dq, notes


INTERNAL_COLUMNS = ("__file", "__row", "__part")


@cache
def _taxonomy_table() -> list[tuple[str, str]]:
    from ..refdata import default_ruleset_dir

    df = pl.read_csv(
        default_ruleset_dir() / "taxonomy_credentials.csv", comment_prefix="#", infer_schema=False
    )
    rows = list(zip(df["prefix"].to_list(), df["credential"].to_list(), strict=True))
    return sorted(rows, key=lambda r: -len(r[0]))


def credential_expr() -> pl.Expr:
    """The provider's credential: the credential column, else the credential written after the
    provider's name ("ROE, JANE PA-C"), else the credential of the NUCC taxonomy code."""
    parts = pl.col("_cred_key").str.split("\x1f")
    given, name, tax = parts.list.get(0), parts.list.get(1), parts.list.get(2)
    suffix = name.str.extract(CRED_RE, 1).str.to_uppercase().str.replace(r"\.$", "")
    from_name = suffix.replace_strict(CREDENTIALS, default=suffix, return_dtype=pl.String)
    from_tax: pl.Expr = pl.lit(None, pl.String)
    for prefix, cred in reversed(_taxonomy_table()):
        from_tax = pl.when(tax.str.starts_with(prefix)).then(pl.lit(cred)).otherwise(from_tax)
    return pl.coalesce([pl.when(given == "").then(None).otherwise(given), from_name, from_tax])


def _required_error(raw: RawFile, inf: Inference, missing: list[str]) -> InputError:
    cols = [c for c in raw.frame.columns if c not in INTERNAL_COLUMNS]
    if len(cols) == 1 and any(d in cols[0] for d in ",;\t|"):
        return InputError(
            f"{raw.name}: could not split the header into columns (found one column "
            f"'{cols[0][:60]}'); check the delimiter"
        )
    if not any(candidates(inf, r) for r in missing):
        return InputError(
            f"{raw.name}: no column for {', '.join(missing)} "
            f"(columns: {', '.join(cols[:25])}); name it in a --columns map.toml, "
            f'e.g. {missing[0]} = "<your column>"'
        )
    parts = []
    for role in missing:
        cand = candidates(inf, role)
        got = ", ".join(f"'{c}' ({sc:.0%})" for c, sc in cand) if cand else "no candidate"
        parts.append(f"{role}: {got}")
    first = missing[0]
    best = candidates(inf, first, 1)
    example = best[0][0] if best else "<your column>"
    return InputError(
        f"{raw.name}: cannot tell which column holds {', '.join(missing)} "
        f'({"; ".join(parts)}); name it in a --columns map.toml, e.g. {first} = "{example}"'
    )


def check_columns(
    raw: RawFile, overrides: dict[str, str | list[str]] | None, *, only_map: bool = False
) -> tuple[Mapping, Inference]:
    """The column roles of ``raw`` (values and headers; a column map wins; with ``only_map``
    the map is all of it, see ``roles.infer``)."""
    cols = [c for c in raw.frame.columns if c not in INTERNAL_COLUMNS]
    folded = {"".join(ch for ch in c.lower() if ch.isalnum()) for c in cols}
    if AGGREGATE_MARKERS & folded:
        raise InputError(
            f"{raw.name} is an aggregate file (per provider x code totals such as Tot_Srvcs), "
            "not a charge-line export; line-level rules cannot run on it"
        )
    inf = infer(raw.frame, overrides, only_map=only_map and bool(overrides))
    missing = [c for c in REQUIRED if c not in inf.mapping.single]
    if missing:
        raise _required_error(raw, inf, missing)
    return inf.mapping, inf


def present_fields(mapping: Mapping) -> set[str]:
    have = {c for c in (*REQUIRED, *OPTIONAL_CANON) if mapping.has(c)}
    if "unit_charge" in mapping.single:
        have.add("charge")
    return have


def _set_aside_rows(raw: RawFile) -> tuple[pl.DataFrame, dict[str, int], str | None]:
    """Number the rows (row N = the Nth line below the header) and drop the lines that are
    not charge lines; returns the frame, how many were dropped per source file and the note."""
    df = raw.frame
    if "__row" in df.columns and "__file" not in df.columns:  # X12: rows are segment numbers
        df = df.with_columns(pl.lit(raw.name).alias("__file"))
    if "__row" not in df.columns:
        df = df.with_columns(
            pl.lit(raw.name).alias("__file"),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("__row"),
        )
    cols = [c for c in df.columns if c not in INTERNAL_COLUMNS]
    why = set_aside_reasons(df, cols)
    n = int(why.is_not_null().sum())
    counts: dict[str, int] = {}
    per_file: dict[str, int] = {}
    if n:
        for k, v in why.drop_nulls().value_counts().iter_rows():
            counts[str(k)] = int(v)
        files = df["__file"].cast(pl.String).filter(why.is_not_null()).value_counts()
        per_file = {str(k): int(v) for k, v in files.iter_rows()}
    note = describe_set_aside(counts, raw.above_header, raw.name)
    return (df.filter(why.is_null()) if n else df), per_file, note


def load_raw(
    raws: list[tuple[RawFile, Path]],
    *,
    overrides: dict[str, str | list[str]] | None = None,
    payer_rules: list[tuple[str, list[str]]] | None = None,
    payer_exact: dict[str, str] | None = None,
    today: date | None = None,
    only_map: bool = False,
) -> Ingested:
    """Normalise frames already read (a file each, or a partition of a large dataset).

    A sheet of a workbook (or a member of an archive) whose columns are not charge columns is
    skipped with a note when another table of the same input is; otherwise its problem is the
    error. ``only_map``: ``overrides`` is the complete column map (see ``roles.infer``)."""
    today = today or date.today()
    timings: dict[str, float] = {}
    cleans: list[pl.DataFrame] = []
    dqs: list[pl.DataFrame] = []
    infos: list[FileInfo] = []
    notes: list[str] = []
    inferences: list[tuple[str, Inference]] = []
    present: set[str] | None = None
    containers = {p for _, p in raws}
    multi = {p for p in containers if sum(1 for _, q in raws if q == p) > 1}
    skipped: list[tuple[Path, str]] = []
    set_aside_by_file: dict[str, int] = {}
    for raw, path in raws:
        notes.extend(raw.notes)
        try:
            if raw.frame.height == 0:
                raise InputError(
                    f"{raw.name} has a header but no data rows; export the charges again"
                )
            t0 = time.perf_counter()
            frame, aside_by_file, aside_note = _set_aside_rows(raw)
            t1 = time.perf_counter()
            _add(timings, "set_aside", t1 - t0)
            n_aside = sum(aside_by_file.values())
            if frame.height == 0:
                raise InputError(f"{raw.name} holds no charge lines below its header")
            raw = dataclasses.replace(raw, frame=frame)
            mapping, inf = check_columns(
                raw, raw.mapping or overrides, only_map=only_map and not raw.mapping
            )
            _add(timings, "roles", time.perf_counter() - t1)
        except InputError as exc:
            if path in multi:
                skipped.append((path, str(exc)))
                notes.append(f"{raw.name}: skipped, not a charge table ({exc})")
                continue
            raise
        if aside_note:
            notes.append(aside_note)
        for k, v in aside_by_file.items():
            set_aside_by_file[k] = set_aside_by_file.get(k, 0) + v
        t0 = time.perf_counter()
        clean, dq, file_notes = _normalise(
            raw, mapping, payer_rules or [], payer_exact or {}, today
        )
        _add(timings, "normalise", time.perf_counter() - t0)
        notes.extend(file_notes)
        cleans.append(clean)
        dqs.append(dq)
        inferences.append((raw.name, inf))
        # rows are line numbers below the header; in X12 claims they are segment numbers
        last_row = 0 if raw.mapping else int(frame.select(pl.col("__row").max()).item() or 0)
        infos.append(
            FileInfo(
                raw.name,
                str(path),
                raw.sha256,
                raw.format,
                max(last_row, frame.height + n_aside),
                raw.delimiter,
                raw.encoding,
                mapping.as_dict(),
                header_line=raw.header_line,
                set_aside=n_aside,
                confidence={r: round(c.score, 2) for r, c in inf.choices.items()},
            )
        )
        have = present_fields(mapping)
        if clean.select(pl.col("credential").is_not_null().any()).item():
            have.add("credential")  # from the provider names or the taxonomy codes
        if clean.select(pl.col("mods").list.len().gt(0).any()).item():
            have.add("modifiers")  # glued to the code ("99213-25")
        present = have if present is None else present & have
    if not cleans:
        first = skipped[0][1] if skipped else "no table"
        raise InputError(f"no charge table found: {first}")
    lines = pl.concat(cleans, how="vertical_relaxed") if len(cleans) > 1 else cleans[0]
    dq = pl.concat(dqs) if len(dqs) > 1 else dqs[0]
    sites = lines["site"].drop_nulls().unique().sort().to_list()
    have_all = present or set()
    unmapped = unmapped_of(have_all)
    return Ingested(
        lines=lines,
        dq=dq,
        files=infos,
        present=have_all,
        notes=notes,
        sites=sites,
        unmapped_roles=unmapped,
        inferences=inferences,
        set_aside_by_file=set_aside_by_file,
        timings=timings,
    )


def _add(timings: dict[str, float], phase: str, seconds: float) -> None:
    timings[phase] = timings.get(phase, 0.0) + seconds


def unmapped_of(present: set[str]) -> list[str]:
    """The optional roles no column of the export supplies."""
    return [r for r in OPTIONAL_CANON if r not in present and r != "line_status"]


def load(
    paths: list[str],
    *,
    overrides: dict[str, str | list[str]] | None = None,
    payer_rules: list[tuple[str, list[str]]] | None = None,
    payer_exact: dict[str, str] | None = None,
    today: date | None = None,
) -> Ingested:
    """Read every file once and normalise it to canonical charge lines."""
    notes: list[str] = []
    files = expand_paths(paths, notes)
    t0 = time.perf_counter()
    x12_files = [p for p in files if x12.sniff(p)]  # 837P claims, recognised by content
    claims = x12.read_837_files(x12_files) if x12_files else {}
    raws = [
        (raw, p)
        for p in files
        for raw in ([claims[p]] if p in claims else [] if p in x12_files else read_all(p))
    ]  # an X12 file not in claims was wholly superseded; read_837_files noted it
    read = time.perf_counter() - t0
    out = load_raw(
        raws, overrides=overrides, payer_rules=payer_rules, payer_exact=payer_exact, today=today
    )
    out.notes[:0] = notes
    out.timings = {"read": read, **out.timings}
    return out


__all__ = ["DQ_RULES", "FileInfo", "Ingested", "load", "load_raw"]
