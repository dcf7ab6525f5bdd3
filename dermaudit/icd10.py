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
from functools import cache
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
        codes = df["code"].to_list()
        self._leaf = dict(zip(codes, df["leaf"].to_list(), strict=True))
        self._kids = dict(zip(codes, df["children"].to_list(), strict=True))
        self._title = dict(zip(codes, df["title"].to_list(), strict=True))

    def is_valid_item(self, code: str) -> bool:
        return code in self._leaf

    def is_leaf(self, code: str) -> bool:
        return bool(self._leaf.get(code, False))

    def get_children(self, code: str) -> list[str]:
        return list(self._kids.get(code) or [])

    def get_description(self, code: str) -> str:
        return str(self._title.get(code, ""))


@cache
def facts() -> Facts:
    return Facts(table())
