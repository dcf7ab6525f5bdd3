"""``one_of`` (equalities for a short list of text values) gives what ``is_in`` gives, nulls
included, for every list length and in a negation (where null and False differ)."""

from __future__ import annotations

import polars as pl
import polars.testing
import pytest

from dermaudit.features import one_of

CODES = [f"1{i:04d}" for i in range(20)]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 9, 20])
def test_one_of_equals_is_in(n: int) -> None:
    df = pl.DataFrame({"cpt": [*CODES, None, "", "99213", "10003 "]})
    values = CODES[1 : 1 + n]
    got = df.select(one_of("cpt", values).alias("x"), (~one_of("cpt", values)).alias("y"))
    want = df.select(
        pl.col("cpt").is_in(values).alias("x"), (~pl.col("cpt").is_in(values)).alias("y")
    )
    polars.testing.assert_frame_equal(got, want)
    # the null cell stays null (a filter drops it either way, a negation must too)
    assert got["x"][len(CODES)] is None
