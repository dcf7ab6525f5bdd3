"""``set_aside_reasons`` (two passes: a cheap superset, then the full test on candidates)
equals the single full ``set_aside`` expression on any frame, including whitespace-only and
NBSP cells, repeated headers in any case, footers, non-ASCII headers, and frames wide enough
that the cheap pass counts only the densest columns."""

from __future__ import annotations

import polars as pl
import polars.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from dermaudit.ingest.layout import set_aside, set_aside_reasons

HEADERS = [
    ["Patient", "DOS", "CPT", "Units", "Charge"],
    ["Pt Acct", "Svc Date", "Proc", "Mod 1", "Dx 1", "Rend Prov", "Chg Amt"],
    ["Código", "Fecha", "Ärztin", "CPT"],
    # wide enough that the cheap pass counts a subset of the columns (the densest ones)
    [
        "Claim",
        "Patient",
        "DOS",
        "Provider",
        "Payer",
        "CPT",
        "Mod 1",
        "Mod 2",
        "Units",
        "Dx 1",
        "Dx 2",
        "Dx 3",
        "Charge",
        "Site",
        "Size",
        "POS",
        "Status",
    ],
]
CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\t", "\u00a0", "  x", "17000", "L57.0", "Total", "Grand Total:",
                     "Page 2 of 9", "Records: 12", "patient", " DOS ", "cpt", "CÓDIGO", "ärztin",
                     "end of report", "25,59", "$1,234.00"]),
    st.text(max_size=6),
)  # fmt: skip


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    cols = draw(st.sampled_from(HEADERS))
    n = draw(st.integers(0, 25))
    rows = [[draw(CELLS) for _ in cols] for _ in range(n)]
    if n and draw(st.booleans()):  # a repeated header, in another case
        rows[draw(st.integers(0, n - 1))] = [c.upper() for c in cols]
    return pl.DataFrame(rows, schema={c: pl.String for c in cols}, orient="row")


@settings(max_examples=300, deadline=None)
@given(frames())
def test_two_passes_equal_the_full_expression(df: pl.DataFrame) -> None:
    cols = df.columns
    full = df.select(set_aside(df, cols).alias("w"))["w"]
    polars.testing.assert_series_equal(set_aside_reasons(df, cols), full)


def test_a_charge_export_layout() -> None:
    df = pl.DataFrame(
        {
            "Patient": ["P1", "PATIENT", None, "Grand Total", "  ", "P2"],
            "DOS": ["2025-03-04", "dos", None, None, None, "2025-03-05"],
            "CPT": ["17000", "Cpt", None, None, None, "11102"],
            "Units": ["1", "units", None, "3", None, "1"],
            "Charge": ["$90", "charge", None, "$180", None, "$120"],
        }
    )
    got = set_aside_reasons(df, df.columns).to_list()
    assert got == [None, "header", "blank", "footer", "blank", None]
