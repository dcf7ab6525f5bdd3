"""ICD-10-CM code facts from the ``simple_icd_10_cm`` package, cached.

The package ships the official ICD-10-CM tabular list (April 1, 2026 edition in 1.5.0) and
parses its XML on import, which takes a few seconds. The facts the rules need (valid
category/subcategory codes, billable leaf flag, children, title) are derived from it once
and kept as a small Parquet file in the user's cache folder, keyed by the package version
and data file, so later scans load them in milliseconds. Nothing is downloaded: the cache is
built from the installed package.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from importlib import metadata
from pathlib import Path

import polars as pl

SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "leaf": pl.Boolean(),
    "children": pl.List(pl.String()),
    "title": pl.String(),
}


def _edition() -> str:
    try:  # find the package's data without importing it (the import parses the XML)
        spec = importlib.util.find_spec("simple_icd_10_cm")
        assert spec is not None and spec.origin is not None
        data = Path(spec.origin).parent / "data"
        names = sorted(p.name for p in data.glob("code-list-*.txt"))
        tag = names[-1].removeprefix("code-list-").removesuffix(".txt") if names else "unknown"
    except Exception:  # pragma: no cover - the package is a hard dependency
        tag = "unknown"
    return f"{metadata.version('simple-icd-10-cm')}-{tag}"


EDITION = _edition()


def _cache_path() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dermaudit"
    return root / f"icd10cm-{EDITION}.parquet"


def _build() -> pl.DataFrame:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as icd

    codes = [c for c in icd.get_all_codes(with_dots=True) if icd.is_category_or_subcategory(c)]
    leaf = [icd.is_leaf(c) for c in codes]
    kids = [
        [] if lf else [str(k) for k in icd.get_children(c)]
        for c, lf in zip(codes, leaf, strict=True)
    ]
    title = [str(icd.get_description(c)) for c in codes]
    return pl.DataFrame(
        {"code": codes, "leaf": leaf, "children": kids, "title": title}, schema=SCHEMA
    )


@cache
def table() -> pl.DataFrame:
    """All ICD-10-CM categories and subcategories of the shipped edition (code with the dot)."""
    path = _cache_path()
    if path.exists():
        try:
            return pl.read_parquet(path)
        except Exception:  # a damaged cache is rebuilt
            pass
    df = _build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        df.write_parquet(tmp)
        tmp.replace(path)
    except OSError:  # read-only home: keep it in memory for this run
        pass
    return df


def check(codes: pl.Series) -> pl.DataFrame:
    """For distinct dotted codes: ``valid`` (a category/subcategory), ``leaf`` (billable),
    ``children`` (next level, for a hint) and ``title``."""
    t = table()
    df = pl.DataFrame({"code": codes.cast(pl.String)}).unique(maintain_order=True)
    out = df.join(t, on="code", how="left")
    return out.with_columns(pl.col("leaf").is_not_null().alias("valid"))


class Facts:
    """The few look-ups the rules make, with the ``simple_icd_10_cm`` function names."""

    def __init__(self, df: pl.DataFrame) -> None:
        self._df = df
        codes = df["code"].to_list()
        self._leaf = dict(zip(codes, df["leaf"].to_list(), strict=True))

    @cached_property
    def _kids(self) -> dict[str, list[str]]:  # built when a hint first needs it
        return dict(zip(self._df["code"].to_list(), self._df["children"].to_list(), strict=True))

    @cached_property
    def _title(self) -> dict[str, str]:
        return dict(zip(self._df["code"].to_list(), self._df["title"].to_list(), strict=True))

    def is_valid_item(self, code: str) -> bool:
        return code in self._leaf

    def is_leaf(self, code: str) -> bool:
        return bool(self._leaf.get(code, False))

    def get_children(self, code: str) -> list[str]:
        if code not in self._leaf or self._leaf[code]:
            return []  # a billable code (or an unknown one) has no children listed
        return list(self._kids.get(code) or [])

    def get_description(self, code: str) -> str:
        return str(self._title.get(code, ""))


@cache
def facts() -> Facts:
    return Facts(table())


# ---- the code set in force on a date of service ---------------------------------------------

EDITION_FY_START = date(2025, 10, 1)  # the shipped tabular list is the FY2026 edition
ICD10_START = date(2015, 10, 1)


def fy_start(d: date) -> date:
    """First day of the ICD-10-CM fiscal year (edition) in force on ``d``: October 1."""
    return date(d.year if d.month >= 10 else d.year - 1, 10, 1)


def fy_label(start: date) -> str:
    return f"FY{start.year + 1}"


@dataclass(frozen=True)
class Change:
    change: str  # added / deleted / expanded
    effective: date
    children: tuple[str, ...]


def parse_changes(df: pl.DataFrame | None) -> dict[str, list[Change]]:
    """rulesets/icd10_changes.csv as code -> its changes (rows with a bad date are skipped)."""
    out: dict[str, list[Change]] = {}
    if df is None or df.is_empty():
        return out
    for row in df.iter_rows(named=True):
        code = str(row.get("code") or "").strip()
        try:
            eff = date.fromisoformat(str(row.get("effective") or "").strip())
        except ValueError:
            continue
        kids = tuple(str(row.get("children") or "").split())
        out.setdefault(code, []).append(Change(str(row.get("change") or "").strip(), eff, kids))
    return out


@cache
def default_changes() -> dict[str, list[Change]]:
    """The shipped change table (tests and callers without a RefData)."""
    from .refdata import load_refdata

    return parse_changes(load_refdata().tables.get("icd10_changes.csv"))


class CodeSet:
    """ICD-10-CM validity on a date of service: the shipped FY2026 edition, corrected by the
    fiscal-year change table for the codes it lists."""

    def __init__(self, changes: dict[str, list[Change]] | None = None) -> None:
        self.facts = facts()
        self.changes = default_changes() if changes is None else changes

    def status(self, code: str, fy: date) -> tuple[str, bool, Change | None]:
        """(status, certain, change) of ``code`` in the edition that starts on ``fy``.

        status: ``ok`` (billable), ``not_yet`` (added in a later edition), ``deleted``,
        ``expanded`` (became a category with subcodes on or before ``fy``), ``not_leaf`` (a
        category in FY2026), ``unknown`` (not in the FY2026 edition nor in the change table).
        ``certain`` is False when only the FY2026 edition speaks for an earlier year."""
        rows = self.changes.get(code, [])
        for c in rows:
            if c.change == "added" and fy < c.effective:
                return "not_yet", True, c
            if c.change == "deleted" and fy >= c.effective:
                return "deleted", True, c
        for c in rows:
            if c.change == "expanded":
                return ("ok", True, c) if fy < c.effective else ("expanded", True, c)
        if any(c.change == "deleted" for c in rows):
            return "ok", True, None
        current = fy >= EDITION_FY_START
        if self.facts.is_leaf(code):
            return "ok", current or bool(rows), None
        if self.facts.is_valid_item(code):
            return "not_leaf", current, None
        return "unknown", current, None

    def billable_on(self, code: str, fy: date) -> bool:
        return self.status(code, fy)[0] == "ok"

    def leaves_on(self, code: str, fy: date, limit: int = 6) -> list[str]:
        """Billable codes at or under ``code`` in the edition of ``fy`` (at most ``limit``)."""
        out: list[str] = []
        todo = [code]
        while todo and len(out) < limit:
            c = todo.pop(0)
            st = self.status(c, fy)[0]
            if st == "ok":
                out.append(c)
            elif st in ("expanded", "not_leaf"):
                todo.extend(self.facts.get_children(c))
        return out


def billable_on(code: str, dos: date) -> bool:
    """Is ``code`` a billable ICD-10-CM code on ``dos`` (FY2026 edition corrected by the
    shipped change table; codes the table does not list are judged by FY2026)?"""
    return CodeSet().billable_on(code, fy_start(dos))
