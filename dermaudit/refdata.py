"""Reference data: the plain CSV/TOML tables under ``rulesets/``, layered.

The default tables ship inside the package (``dermaudit/rulesets`` in a wheel, the
repository's ``rulesets/`` in an editable install). ``--ruleset DIR`` layers a practice's
or payer's own tables over them: a layer's rows replace default rows with the same key and
add new ones. Every CSV may start with ``#`` provenance lines, which ``dermaudit refdata``
prints.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from .errors import InputError

# file name -> key columns used when layering. Extension files named ``<stem>_<topic>.csv``
# (e.g. ``icd10_groups_mohs.csv``) are read after the main file of each layer.
TABLES: dict[str, tuple[str, ...]] = {
    "codes.csv": ("code",),
    "addon_primaries.csv": ("addon",),
    "icd10_groups.csv": ("group", "prefix"),
    "modifiers.csv": ("modifier",),
    "unit_caps.csv": ("code",),
    "ncci_pairs.csv": ("column1", "column2"),
    "cosmetic_codes.csv": ("code",),
    "sites.csv": ("keyword",),
    "icd10_changes.csv": ("code", "change"),
}


def default_ruleset_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "rulesets"
    if (packaged / "codes.csv").exists():
        return packaged
    return here.parent / "rulesets"


def read_provenance(path: Path) -> list[str]:
    lines: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            lines.append(line.lstrip("#").strip())
    return lines


CODE = r"^(?:\d{4}[0-9AFMTU]|[A-V]\d{4})$"  # CPT (also 0001A, 0002M, 0001U) / HCPCS Level II
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"

# what each table must hold: required columns, and per-column checks (blank cells pass)
SCHEMAS: dict[str, dict[str, Any]] = {
    "codes.csv": {
        "required": ("code", "family"),
        "code": ("code",),
        "date": ("valid_from", "valid_to"),
        "number": ("fee_2025", "work_rvu_2025", "size_min_cm", "size_max_cm"),
        "choice": {"global_days": ("000", "010", "090", "XXX", "YYY", "ZZZ", "MMM")},
    },
    "addon_primaries.csv": {"required": ("addon", "primaries"), "code": ("addon",)},
    "icd10_groups.csv": {"required": ("group", "prefix")},
    "modifiers.csv": {"required": ("modifier", "kind"), "date": ("valid_from",)},
    "unit_caps.csv": {
        "required": ("code", "max_units"),
        "code": ("code",),
        "integer": ("max_units",),
        "choice": {"per": ("day", "line")},
    },
    "ncci_pairs.csv": {
        "required": ("column1", "column2"),
        "code": ("column1", "column2"),
        "date": ("effective", "deletion"),
        "choice": {"modifier_indicator": ("0", "1", "9", "U")},
    },
    "cosmetic_codes.csv": {"required": ("code",), "code": ("code",)},
    "sites.csv": {"required": ("keyword",)},
}


def _table_of(path: Path) -> str | None:
    for name in TABLES:
        stem = name.removesuffix(".csv")
        if path.name == name or (path.name.startswith(stem + "_") and path.suffix == ".csv"):
            return name
    return None


def validate_table(path: Path, df: pl.DataFrame, table: str) -> None:
    """Raise ``InputError`` naming the file, line and column of the first bad cell."""
    schema = SCHEMAS.get(table, {})
    missing = [c for c in schema.get("required", ()) if c not in df.columns]
    if missing:
        raise InputError(
            f"reference table {path}: missing column(s) {', '.join(missing)} "
            f"(a {table} table needs {', '.join(schema['required'])})"
        )
    header_line = sum(1 for _ in read_provenance(path)) + 1
    checks: list[tuple[str, pl.Expr, str]] = []
    for c in schema.get("code", ()):
        checks.append((c, pl.col(c).str.strip_chars().str.contains(CODE), "a CPT/HCPCS code"))
    for c in schema.get("date", ()):
        checks.append(
            (
                c,
                pl.col(c).str.strip_chars().str.contains(ISO_DATE)
                & pl.col(c).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).is_not_null(),
                "a date (YYYY-MM-DD)",
            )
        )
    for c in schema.get("number", ()):
        checks.append(
            (
                c,
                pl.col(c).str.strip_chars().cast(pl.Float64, strict=False).is_not_null(),
                "a number",
            )
        )
    for c in schema.get("integer", ()):
        checks.append((c, pl.col(c).str.strip_chars().str.contains(r"^\d+$"), "a whole number"))
    for c, allowed in schema.get("choice", {}).items():
        checks.append(
            (c, pl.col(c).str.strip_chars().is_in(list(allowed)), "one of " + ", ".join(allowed))
        )
    for c in schema.get("required", ()):
        checks.append((c, pl.col(c).str.strip_chars().str.len_chars() > 0, "filled in"))
    for col, ok, what in checks:
        if col not in df.columns:
            continue
        blank = pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")
        cond = ok.fill_null(False) if col in schema.get("required", ()) else (blank | ok)
        bad = df.with_row_index("_i").filter(~cond.fill_null(False))
        if bad.height:
            i, value = bad["_i"][0], bad[col][0]
            raise InputError(
                f"reference table {path} line {header_line + 1 + int(i)}: {col} "
                f"{value!r} is not {what}"
            )
    if table == "sites.csv":
        import re

        for i, kw in enumerate(df["keyword"].to_list()):
            try:
                re.compile(kw or "")
            except re.error as exc:
                raise InputError(
                    f"reference table {path} line {header_line + 1 + i}: keyword {kw!r} is "
                    f"not a valid pattern ({exc})"
                ) from exc


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        df = pl.read_csv(path, comment_prefix="#", infer_schema=False)
    except Exception as exc:  # polars raises several types for bad CSV
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise InputError(f"reference table {path} cannot be read as CSV ({first})") from exc
    table = _table_of(path)
    if table:
        validate_table(path, df, table)
    return df


def _layer(frames: list[pl.DataFrame], keys: tuple[str, ...]) -> pl.DataFrame:
    if len(frames) == 1:
        return frames[0]
    out = pl.concat(frames, how="diagonal_relaxed")
    return out.unique(subset=list(keys), keep="last", maintain_order=True)


def _to_date(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)


@dataclass
class RefData:
    """All reference tables, already layered."""

    dirs: list[Path]
    tables: dict[str, pl.DataFrame]
    payer_rules: list[tuple[str, list[str]]]
    benchmarks: dict[str, Any]
    meta: dict[str, Any]
    provenance: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)

    # ---- code table -------------------------------------------------------------
    @cached_property
    def codes(self) -> pl.DataFrame:
        df = self.tables["codes.csv"]
        num = ["fee_2025", "work_rvu_2025", "size_min_cm", "size_max_cm"]
        return df.with_columns(
            [pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in num if c in df]
            + [_to_date(c) for c in ("valid_from", "valid_to") if c in df]
        )

    @cached_property
    def fees(self) -> dict[str, float]:
        df = self.codes.filter(pl.col("fee_2025").is_not_null())
        return dict(zip(df["code"].to_list(), df["fee_2025"].to_list(), strict=True))

    def fee(self, code: str) -> float:
        return self.fees.get(code, 0.0)

    @cached_property
    def code_attr(self) -> dict[str, dict[str, Any]]:
        return {r["code"]: r for r in self.codes.iter_rows(named=True)}

    def codes_where(self, **conds: str | tuple[str, ...]) -> list[str]:
        """Codes whose columns equal (or are in) the given values."""
        df = self.codes
        for col, val in conds.items():
            vals = (val,) if isinstance(val, str) else val
            df = df.filter(pl.col(col).is_in(list(vals)))
        return sorted(df["code"].to_list())

    def family(self, *families: str) -> list[str]:
        return self.codes_where(family=tuple(families))

    def label(self, code: str) -> str:
        row = self.code_attr.get(code)
        return str(row["label"]) if row and row.get("label") else code

    # ---- other tables -----------------------------------------------------------
    @cached_property
    def addon_primaries(self) -> dict[str, list[str]]:
        df = self.tables["addon_primaries.csv"]
        return {a: (p or "").split() for a, p in zip(df["addon"], df["primaries"], strict=True)}

    @cached_property
    def icd_groups(self) -> dict[str, list[str]]:
        df = self.tables["icd10_groups.csv"]
        out: dict[str, list[str]] = {}
        for g, p in zip(df["group"], df["prefix"], strict=True):
            out.setdefault(g, []).append(p.strip())
        return out

    def dx_prefixes(self, *groups: str) -> list[str]:
        out: list[str] = []
        for g in groups:
            if g not in self.icd_groups:
                raise KeyError(f"unknown ICD-10 group {g!r} in rulesets/icd10_groups.csv")
            out.extend(self.icd_groups[g])
        return out

    @cached_property
    def unit_caps(self) -> pl.DataFrame:
        df = self.tables["unit_caps.csv"]
        return df.with_columns(pl.col("max_units").cast(pl.Int64, strict=False))

    @cached_property
    def ncci_pairs(self) -> pl.DataFrame:
        df = self.tables["ncci_pairs.csv"]
        for c in ("effective", "deletion"):
            if c not in df.columns:
                df = df.with_columns(pl.lit(None, pl.String).alias(c))
        return df.with_columns(
            pl.col("effective").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
            pl.col("deletion").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        )

    @cached_property
    def cosmetic(self) -> pl.DataFrame:
        return self.tables["cosmetic_codes.csv"]

    @cached_property
    def modifiers(self) -> pl.DataFrame:
        return self.tables["modifiers.csv"]

    def modifiers_of(self, kind: str) -> list[str]:
        df = self.modifiers.filter(pl.col("kind") == kind)
        return sorted(df["modifier"].to_list())

    @cached_property
    def sites(self) -> pl.DataFrame:
        return self.tables.get("sites.csv", pl.DataFrame(schema={"keyword": pl.String}))

    def bench(self, key: str) -> float:
        entry = self.benchmarks.get(key)
        if isinstance(entry, dict):
            return float(entry["value"])
        if entry is None:
            raise KeyError(f"benchmark {key!r} missing from rulesets/benchmarks.toml")
        return float(entry)

    def bench_source(self, key: str) -> str:
        entry = self.benchmarks.get(key)
        return str(entry.get("source", "")) if isinstance(entry, dict) else ""

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "dermaudit-default"))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "0"))

    @property
    def vintages(self) -> dict[str, str]:
        v = dict(self.meta.get("vintages", {}))
        for d in self.dirs[1:]:
            extra = d / "ruleset.toml"
            if extra.exists():
                v.update(tomllib.loads(extra.read_text("utf-8")).get("vintages", {}))
        return {str(k): str(val) for k, val in v.items()}

    def stale_warnings(self, first: date | None, last: date | None) -> list[str]:
        """Warn (not fail) when the data vintages do not cover the audited dates."""
        out: list[str] = []
        covers = self.meta.get("covers", {})
        for table, span in covers.items():
            start = date.fromisoformat(span[0]) if span and span[0] else None
            end = date.fromisoformat(span[1]) if span and len(span) > 1 and span[1] else None
            if first and start and first < start:
                out.append(f"{table}: data starts {start}, audit starts {first}")
            if last and end and last > end:
                out.append(f"{table}: data ends {end}, audit runs to {last}")
        return out


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from exc


def _check_layer_columns(
    table: str, keys: tuple[str, ...], frames: list[pl.DataFrame], paths: list[str]
) -> None:
    """A layer row replaces the whole default row with the same key: a layer file that lacks
    a column of the default table would blank that column for the codes it overrides (a fee
    becoming $0 without a word). Refused, naming the file, a key it overrides and the columns;
    a column name close to a known one is reported as a typo."""
    base = frames[0]
    known = set(base.columns)
    for df, path in zip(frames[1:], paths[1:], strict=True):
        for c in df.columns:
            if c not in known:
                close = difflib.get_close_matches(c, sorted(known), n=1, cutoff=0.8)
                if close:
                    raise InputError(
                        f"reference table {path}: unknown column {c!r}; did you mean {close[0]!r}?"
                    )
        missing = [c for c in base.columns if c not in df.columns]
        if not missing or not all(k in df.columns for k in keys):
            continue
        hit = df.select(keys).join(base.select(keys), on=list(keys), how="semi")
        if hit.height:
            key = ", ".join(str(v) for v in hit.row(0))
            raise InputError(
                f"reference table {path} replaces default rows (e.g. {key}) but has no column(s) "
                f"{', '.join(missing)}: those values would become blank; copy the whole default "
                "row (all columns) into the layer"
            )


def _check_covers(path: Path, data: dict[str, Any]) -> None:
    covers = data.get("covers", {})
    if not isinstance(covers, dict):
        raise InputError(f"{path}: [covers] must be a table of [start, end] dates")
    for table, span in covers.items():
        ok = isinstance(span, list) and 1 <= len(span) <= 2
        for v in span if ok else []:
            try:
                if v not in ("", None):
                    date.fromisoformat(str(v))
            except ValueError:
                ok = False
        if not ok:
            raise InputError(
                f'{path}: covers.{table} = {span!r} is not ["YYYY-MM-DD", "YYYY-MM-DD"] '
                "(blank for an open end)"
            )


def load_refdata(layers: list[Path] | None = None) -> RefData:
    dirs = [default_ruleset_dir(), *(layers or [])]
    for d in dirs:
        if not d.is_dir():
            raise InputError(f"ruleset directory {d} does not exist; pass an existing folder")
    tables: dict[str, pl.DataFrame] = {}
    provenance: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}
    for name, keys in TABLES.items():
        frames = []
        stem = name.removesuffix(".csv")
        for d in dirs:
            # codes.csv first, then any extension file codes_<topic>.csv in name order
            for p in [d / name, *sorted(d.glob(f"{stem}_*.csv"))]:
                if p.exists():
                    frames.append(_read_csv(p))
                    provenance.setdefault(name, read_provenance(p))
                    sources.setdefault(name, []).append(str(p))
        if frames:
            tables[name] = _layer(frames, keys)
        if frames and len(frames) > 1:
            _check_layer_columns(name, keys, frames, sources[name])
    for required in ("codes.csv", "icd10_groups.csv"):
        if required not in tables:
            raise InputError(f"reference table {required} not found in {dirs[0]}")
    for name in TABLES:
        if name not in tables:
            tables[name] = pl.DataFrame(schema=dict.fromkeys(TABLES[name], pl.String))

    payer_rules: list[tuple[str, list[str]]] = []
    benchmarks: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for d in dirs:
        pc = d / "payer_classes.toml"
        if pc.exists():
            rules = _toml(pc).get("rule", [])
            try:
                layer_rules = [
                    (str(r["class"]), [str(m).lower() for m in r["match"]]) for r in rules
                ]
            except (KeyError, TypeError) as exc:
                raise InputError(
                    f'{pc}: every [[rule]] needs class = "..." and match = ["..."]'
                ) from exc
            from .model import PAYER_CLASSES

            for cls, _ in layer_rules:
                if cls not in PAYER_CLASSES:
                    raise InputError(
                        f"{pc}: class {cls!r} is not a payer class; every [[rule]] needs class = "
                        f"one of {', '.join(PAYER_CLASSES)}"
                    )
            payer_rules = layer_rules + payer_rules  # later layers are tried first
        for bm in [d / "benchmarks.toml", *sorted(d.glob("benchmarks_*.toml"))]:
            if bm.exists():
                benchmarks.update(_toml(bm))
        rs = d / "ruleset.toml"
        if rs.exists():
            data = _toml(rs)
            _check_covers(rs, data)
            if not meta:
                meta = data
            else:  # a layer's [covers] replaces the default span of the same table
                meta = {**meta, "covers": {**meta.get("covers", {}), **data.get("covers", {})}}
    return RefData(
        dirs=dirs,
        tables=tables,
        payer_rules=payer_rules,
        benchmarks=benchmarks,
        meta=meta,
        provenance=provenance,
        sources=sources,
    )
