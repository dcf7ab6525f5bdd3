"""Vectorised normalisation of one raw (all-text) frame into canonical charge lines."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import polars as pl

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


EMPTY_LIST = pl.lit([], pl.List(pl.String))
CODE_RE = r"^(?:\d{4}[0-9FTU]|[A-V]\d{4})$"

DATE_FORMATS: list[tuple[str, str]] = [
    (r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"),
    (r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%m/%d/%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{2}$", "%m/%d/%y"),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%m-%d-%Y"),
    (r"^\d{8}$", "%Y%m%d"),
    (r"^\d{1,2}-[A-Za-z]{3}-\d{4}$", "%d-%b-%Y"),
    (r"^\d{1,2}-[A-Za-z]{3}-\d{2}$", "%d-%b-%y"),
    (r"^\d{1,2} [A-Za-z]{3} \d{4}$", "%d %b %Y"),
    (r"^[A-Za-z]{3} \d{1,2},? \d{4}$", "%b %d %Y"),
    (r"^[A-Za-z]{4,9} \d{1,2},? \d{4}$", "%B %d %Y"),
    (r"^\d{1,2}-\d{1,2}-\d{2}$", "%m-%d-%y"),
    (r"^\d{1,2}\.\d{1,2}\.\d{4}$", "%m.%d.%Y"),
]
EXCEL_EPOCH = date(1899, 12, 30)


def text(col: str) -> pl.Expr:
    """A trimmed text column with blanks turned into nulls."""
    return pl.col(col).str.strip_chars().replace("", None)


def parse_date(col: str) -> pl.Expr:
    # a time after the date ("2025-03-04 00:00:00", "2025-03-04T08:15Z", "3/4/2025 8:15 AM")
    # is dropped; the month name in "27-OCT-1999" or "Mar 4, 2025" is not a time
    s = (
        text(col)
        .str.replace(
            r"^(.+?)[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AP]M)?(?:Z|[+-]\d{2}:?\d{2})?$",
            "${1}",
        )
        .str.replace(",", "", literal=True)
        .str.replace_all(r"\s+", " ")
    )
    parsed = [
        pl.when(s.str.contains(rx)).then(s.str.strptime(pl.Date, fmt, strict=False))
        for rx, fmt in DATE_FORMATS
    ]
    serial = (
        pl.when(s.str.contains(r"^\d{5}(?:\.0+)?$"))
        .then(
            pl.lit(EXCEL_EPOCH)
            + pl.duration(days=s.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False))
        )
        .cast(pl.Date)
    )
    return pl.coalesce([*parsed, serial])


def code_and_glued_mods(col: str, numeric: bool) -> tuple[pl.Expr, pl.Expr]:
    raw = text(col).str.to_uppercase().str.replace(r"^(?:HC|HCPCS|CPT)\s*[:\s]\s*", "")
    if numeric:
        raw = raw.str.replace(r"\.0+$", "")
        raw = pl.when(raw.str.contains(r"^\d{1,4}$")).then(raw.str.zfill(5)).otherwise(raw)
    code = raw.str.extract(r"^([0-9A-Z]{5})(?:$|[^0-9A-Z])", 1)
    rest = raw.str.slice(5)
    glued = (
        pl.when(code.is_not_null() & rest.str.contains(r"^[\s\-/:,;.]+[0-9A-Z]{2}"))
        .then(rest.str.extract_all(r"[0-9A-Z]{2}"))
        .otherwise(EMPTY_LIST)
    )
    return code, glued


SEP = "\x1f"
DX_POINTER = r"^[\d\s,:]+$"  # a diagnosis cell holding pointers ("1", "1,2", "1:3")


def joined(cols: list[str]) -> pl.Expr:
    """Several raw text columns as one key (unit separator between cells)."""
    if not cols:
        return pl.lit(None, pl.String)
    return pl.concat_str([pl.col(c).fill_null("") for c in cols], separator=SEP)


def modifiers(key: str) -> pl.Expr:
    """Two-character modifiers found in the joined modifier cells."""
    return (
        pl.col(key)
        .str.to_uppercase()
        .str.extract_all(r"\b[0-9A-Z]{2}\b")
        .fill_null(EMPTY_LIST)
        .list.unique(maintain_order=True)
    )


DX_TOKEN = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"


def diagnoses(key: str) -> pl.Expr:
    """ICD-10-CM codes found in the joined diagnosis cells, normalised to the dotted form."""
    flat = (
        pl.col(key)
        .str.to_uppercase()
        .str.extract_all(DX_TOKEN)
        .fill_null(EMPTY_LIST)
        .list.eval(
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
    )
    return flat.list.unique(maintain_order=True)


# ICD-9-CM diagnosis codes: three digits with up to two decimals (702.0, 173.31) or a
# supplementary V code (V10.82). Numeric ICD-9 codes are not read as ICD-10-CM by
# ``diagnoses``; they are kept here so DX-004 can report them on ICD-10-era claims (1-2 digit
# numbers are diagnosis pointers and are not kept).
ICD9_TOKEN = r"(?:^|[^0-9A-Z.])(\d{3}(?:\.\d{1,2})?|V\d{2}(?:\.\d{1,2})?)(?:$|[^0-9A-Z])"


def icd9_codes(key: str) -> pl.Expr:
    """ICD-9-CM-shaped codes found in the joined diagnosis cells (V codes included)."""
    return (
        pl.col(key)
        .str.to_uppercase()
        .str.extract_all(ICD9_TOKEN)
        .fill_null(EMPTY_LIST)
        .list.eval(pl.element().str.strip_chars("\x1f ,;|:/()[]-").str.replace(r"^[^0-9V]+", ""))
        .list.unique(maintain_order=True)
    )


def derive(df: FrameT, key: str, exprs: dict[str, pl.Expr]) -> FrameT:
    """Compute ``exprs`` (functions of column ``key``) once per distinct value, then join back.

    Charge exports repeat the same few thousand dates, codes, payers and diagnosis cells across
    millions of lines, so normalising the distinct values is one to two orders of magnitude
    cheaper than normalising every row.
    """
    u = df.select(pl.col(key)).unique().with_columns(**exprs)
    return df.join(u, on=key, how="left", nulls_equal=True, maintain_order="left")


def number(col: str) -> pl.Expr:
    s = text(col)
    neg = s.str.contains(r"^\(.*\)$")
    v = s.str.replace_all(r"[$,\s()]", "").cast(pl.Float64, strict=False)
    return pl.when(neg).then(-v).otherwise(v)


def size_cm(col: str) -> pl.Expr:
    s = text(col).str.to_lowercase()
    v = s.str.extract(r"(\d+(?:\.\d+)?)", 1).cast(pl.Float64, strict=False)
    return pl.when(s.str.contains("mm")).then(v / 10.0).otherwise(v)


def payer_class(
    payer: pl.Expr, rules: list[tuple[str, list[str]]], exact: dict[str, str]
) -> pl.Expr:
    t = payer.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    expr: pl.Expr = pl.lit("unknown")
    for cls, kws in reversed(rules):
        eq = [k[1:] for k in kws if k.startswith("=")]
        sub = [k for k in kws if not k.startswith("=")]
        cond = pl.lit(False)
        if eq:
            cond = cond | t.is_in(eq)
        if sub:
            cond = cond | t.str.contains_any(sub, ascii_case_insensitive=True)
        expr = pl.when(cond.fill_null(False)).then(pl.lit(cls)).otherwise(expr)
    if exact:
        low = {k.lower().strip(): v for k, v in exact.items()}
        mapped = t.replace_strict(low, default=None, return_dtype=pl.String)
        expr = pl.coalesce([mapped, expr])
    return pl.when(t.is_null()).then(pl.lit("unknown")).otherwise(expr)
