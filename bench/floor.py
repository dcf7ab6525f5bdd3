"""How far below dermaudit's time could any scan with a per-patient-day frame go?

    python bench/floor.py FILE.csv [--repeat 3]

Times, in one process and one run (medians of --repeat), on the same CSV:

1. ``read``: ``pl.read_csv(path, infer_schema=False)``, the floor of the issue's 3x target;
2. ``read + dates``: the same and the date of service parsed (each distinct text once);
3. ``read + day counts``: the same and a per-day group-by that only counts eight codes;
4. ``read + day frame``: the same and the smallest per-patient-day frame a rule catalogue
   needs: one row per (patient, date, provider) with the day's codes, modifiers and
   diagnoses as lists;
5. ``eight checks``: the same and eight simple same-day checks written as filters on that
   frame.

and prints each as a multiple of ``read``. No test runs this.
"""

from __future__ import annotations

import argparse
import statistics
import time

import polars as pl


def parse_dates(df: pl.DataFrame, col: str) -> pl.DataFrame:
    u = df.select(pl.col(col).unique()).with_columns(
        pl.coalesce(
            pl.col(col).str.to_date("%m/%d/%Y", strict=False),
            pl.col(col).str.to_date("%Y-%m-%d", strict=False),
        ).alias("dos")
    )
    return df.join(u, on=col, how="left")


def day_frame(df: pl.DataFrame) -> pl.DataFrame:
    return (
        parse_dates(df, "Date of Service")
        .group_by("Patient ID", "dos", "Rendering Provider")
        .agg(
            pl.col("CPT").alias("cpts"),
            pl.concat_list("Mod 1", "Mod 2")
            .list.drop_nulls()
            .list.explode(keep_nulls=False, empty_as_null=False)
            .alias("mods"),
            pl.concat_list("Diag 1", "Diag 2", "Diag 3")
            .list.drop_nulls()
            .list.explode(keep_nulls=False, empty_as_null=False)
            .alias("dx"),
        )
    )


def day_counts(df: pl.DataFrame) -> pl.DataFrame:
    """The cheapest per-day frame: no lists, one count per code of eight checks."""
    codes = ["17000", "17003", "17004", "11102", "17311", "17313", "11200", "17110"]
    return (
        parse_dates(df, "Date of Service")
        .group_by("Patient ID", "dos", "Rendering Provider")
        .agg([(pl.col("CPT") == c).sum().alias(c) for c in codes])
    )


def eight_checks(days: pl.DataFrame) -> list[pl.DataFrame]:
    def has(code: str) -> pl.Expr:
        return pl.col("cpts").list.contains(code)

    def n(code: str) -> pl.Expr:
        return pl.col("cpts").list.count_matches(code)

    lf = days.lazy()
    plans = [
        lf.filter(n("17000") > 1),
        lf.filter(has("17004") & (has("17000") | has("17003"))),
        lf.filter(n("11102") + n("11104") + n("11106") > 1),
        lf.filter(has("17311") & has("17313")),
        lf.filter(has("11200") & has("17110")),
        lf.filter(has("99213") & ~pl.col("mods").list.contains("25") & has("17000")),
        lf.filter(has("88305") & has("17311")),
        lf.filter(has("11900") & has("11901")),
    ]
    return pl.collect_all(plans, engine="in-memory")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    steps = {
        "read": lambda: pl.read_csv(a.file, infer_schema=False),
        "read + dates": lambda: parse_dates(
            pl.read_csv(a.file, infer_schema=False), "Date of Service"
        ),
        "read + day counts (no lists)": lambda: day_counts(pl.read_csv(a.file, infer_schema=False)),
        "read + day frame": lambda: day_frame(pl.read_csv(a.file, infer_schema=False)),
        "read + day frame + eight checks": lambda: eight_checks(
            day_frame(pl.read_csv(a.file, infer_schema=False))
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(a.repeat):
        for k, f in steps.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    base = statistics.median(times["read"])
    print("| step | median s | x read |\n|---|---:|---:|")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"| {k} | {m:.2f} | {m / base:.1f}x |")


if __name__ == "__main__":
    main()
