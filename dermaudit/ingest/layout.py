"""Where the header is, and which lines are not charge lines.

Practice-management reports are often "printed" to CSV or Excel: a title block and report
parameters above the header ("Charge Detail Report", "Run date: …", "Practice: …"), blank lines,
the header repeated at every page break, and footers ("Total", "Grand Total", "Page 3 of 9",
"Records: 1,204"). ``find_header`` looks at the first lines and picks the header row;
``set_aside`` marks, vectorised over the whole frame, the lines that are not charge lines.
Those lines are counted and named in one note per file — they are not data-quality findings —
and row numbers keep counting them, so row N is always the Nth line below the header.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import polars as pl

HEAD_LINES = 60  # lines examined to find the header

# words that header cells are made of (folded, see ``fold``); any hit makes a row header-like
HEADER_WORDS = (
    "patient pt acct account mrn person per chart member bene id claim clm enc encounter "
    "visit ticket invoice date dos svc service from to proc procedure cpt cpt4 hcpcs code "
    "billed mod modifier modifiers dx diag diagnosis icd units unit qty quantity charge "
    "charges chg amt amount fee provider prov rendering rend physician doctor npi payer payor "
    "insurance ins plan financial class fin carrier pos place site location size lesion "
    "status credential supervising billing taxonomy specialty line num number nbr no "
    "description desc total balance paid allowed adjustment posted post cred"
).split()

FOOTER = re.compile(
    r"^\s*(?:grand\s+total|sub-?\s*totals?|totals?\b|page\s+\d+(?:\s+of\s+\d+)?|"
    r"(?:total\s+)?(?:records?|rows?|lines?|count|charges?|claims?|encounters?)\s*[:=#]|"
    r"end\s+of\s+report|report\s+(?:total|run|date|parameters?)|run\s+(?:date|time|by)|"
    r"printed\s+(?:on|by)|generated\s+(?:on|by)|date\s+range|practice\s*:|provider\s*:|"
    r"location\s*:|parameters?\s*:|filters?\s*:|\*\*\*)",
    re.IGNORECASE,
)
DATAISH = re.compile(
    r"^\s*(?:\$?-?[\d,]+(?:\.\d+)?|\(\$?[\d,.]+\)|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"|\d{1,2}-[A-Za-z]{3}-\d{2,4}|[A-Z]\d{2}\.?[0-9A-Z]{0,4}|\d{4}[0-9FTU])\s*$"
)


def fold(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def _cell_is_label(c: str) -> bool:
    c = c.strip()
    return bool(c) and len(c) <= 60 and bool(re.search(r"[A-Za-z]", c)) and not DATAISH.match(c)


def _has_header_word(c: str) -> bool:
    return any(w in HEADER_WORDS for w in fold(c).split())


@dataclass
class HeaderGuess:
    index: int | None  # 0-based line (row) of the header; None: no header row
    width: int  # cells in the header (or in the data, without a header)
    reason: str


def find_header(rows: list[list[str]]) -> HeaderGuess:
    """Pick the header among the first lines (each a list of cells; [] for a blank line).

    The header is the first line that is as wide as the data below it (at least 60% of the
    most common width), made of labels (text, not numbers, dates or codes), mostly distinct,
    with at least one word headers are made of; a file whose first wide line already looks
    like data has no header."""
    rows = rows[:HEAD_LINES]
    filled = [sum(1 for c in r if c.strip()) for r in rows]
    wide = [n for n in filled if n >= 2]
    if not wide:
        return HeaderGuess(0 if rows else None, max(filled, default=1), "one column")
    modal = Counter(wide).most_common(1)[0][0]
    for i, r in enumerate(rows):
        cells = [c for c in r if c.strip()]
        if len(cells) < max(2, round(0.6 * modal)):
            continue
        labels = sum(_cell_is_label(c) for c in cells) / len(cells)
        distinct = len({c.strip().lower() for c in cells}) / len(cells)
        words = sum(_has_header_word(c) for c in cells)
        if labels >= 0.8 and distinct >= 0.8 and words >= 1:
            return HeaderGuess(i, len(r), "header words")
        dataish = sum(bool(DATAISH.match(c)) for c in cells) / len(cells)
        if dataish >= 0.3:  # the first wide line is data: there is no header row
            return HeaderGuess(None, len(r), "first wide line is data")
        if labels >= 0.9 and distinct >= 0.9:
            return HeaderGuess(i, len(r), "first line of labels")
    return HeaderGuess(0, len(rows[0]) if rows else 1, "first line")


# ---- lines that are not charge lines -------------------------------------------------------

REASONS = {  # (one, several)
    "blank": ("blank line", "blank lines"),
    "header": ("repeated header (page break)", "repeated headers (page breaks)"),
    "footer": ("total, page or report-parameter line", "total, page or report-parameter lines"),
    "label": ("line with one filled cell (a title or label)", "lines with one filled cell"),
}


def set_aside(df: pl.DataFrame, columns: list[str]) -> pl.Expr:
    """An expression giving, per row, why the row is not a charge line (null = keep)."""
    cols = [c for c in columns if c in df.columns]
    if not cols:
        return pl.lit(None, pl.String)
    cell = [pl.col(c).cast(pl.String).str.strip_chars() for c in cols]
    nonempty = pl.sum_horizontal([(c.is_not_null() & (c != "")).cast(pl.Int32) for c in cell])
    same_as_header = pl.sum_horizontal(
        [
            (c.str.to_lowercase() == name.strip().lower()).fill_null(False).cast(pl.Int32)
            for c, name in zip(cell, cols, strict=True)
        ]
    )
    first = pl.coalesce([pl.when(c != "").then(c) for c in cell])
    footer_like = first.str.contains("(?i)" + FOOTER.pattern).fill_null(False)
    few = nonempty <= max(3, int(0.4 * len(cols)))
    return (
        pl.when(nonempty == 0)
        .then(pl.lit("blank"))
        .when((same_as_header >= 2) & (same_as_header * 2 >= nonempty))
        .then(pl.lit("header"))
        .when(footer_like & few)
        .then(pl.lit("footer"))
        .when((nonempty == 1) & (len(cols) >= 4))
        .then(pl.lit("label"))
        .otherwise(None)
    )


def set_aside_reasons(df: pl.DataFrame, columns: list[str]) -> pl.Series:
    """``set_aside`` evaluated for every row of ``df``, in two passes: a cheap test finds the
    rows that could be set aside (a superset: few cells that start with a non-blank
    character, or at least two cells containing their column's name), and the full
    expression runs on those rows only. Charge lines fail the cheap test, so a 1M-line
    export pays for string stripping and the footer pattern on a handful of rows."""
    cols = [c for c in columns if c in df.columns]
    if not cols or df.height == 0:
        return df.select(set_aside(df, cols).alias("w"))["w"]
    thresh = max(3, int(0.4 * len(cols)))
    text = [pl.col(c).cast(pl.String) for c in cols]
    # a cell that starts with a non-blank character is non-empty after stripping, so this
    # count never exceeds the full test's count of non-empty cells; counted on the columns
    # with the fewest nulls only (thresh + 3 of them), it is lower still, so the rows it lets
    # through are still a superset: a charge line fills more than thresh of those columns
    dense = sorted(range(len(cols)), key=lambda i: df[cols[i]].null_count())[: thresh + 3]
    surely = pl.sum_horizontal(
        [text[i].str.contains(r"^\S").fill_null(False).cast(pl.Int32) for i in dense]
    )
    if all(c.isascii() for c in cols):
        # the name anywhere in the cell, ASCII case ignored (a byte-level pattern)
        header_like = (
            pl.sum_horizontal(
                [
                    t.str.contains("(?i-u)" + re.escape(c.strip())).fill_null(False).cast(pl.Int32)
                    for t, c in zip(text, cols, strict=True)
                ]
            )
            >= 2
        )
    else:  # Unicode case folding: let the full test judge every row
        header_like = pl.lit(True)
    idx = df.select(((surely <= thresh) | header_like).alias("m"))["m"].arg_true()
    out = pl.repeat(None, df.height, dtype=pl.String, eager=True).alias("w")
    if idx.len():
        sub = df[idx]
        out = out.scatter(idx, sub.select(set_aside(sub, cols).alias("w"))["w"])
    return out


def describe(counts: dict[str, int], above: int, name: str) -> str | None:
    parts = [f"{n} {REASONS[k][n != 1]}" for k, n in sorted(counts.items()) if n]
    if above:
        parts.insert(
            0,
            f"{above} line{'s' if above != 1 else ''} above the header (title, "
            "report parameters or blank)",
        )
    if not parts:
        return None
    return f"{name}: set aside, not charge lines: " + "; ".join(parts)
