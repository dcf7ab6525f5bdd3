"""How far below dermaudit's time could any scan with a per-patient-day frame go?

    python bench/floor.py FILE.csv [--repeat 3]

Times, in one process and one run (medians of --repeat), on the same CSV:

1. ``read``: ``pl.read_csv(path, infer_schema=False)``, the floor of the issue's 3x target;
2. ``read + dates``: the same and the date of service parsed (each distinct text once);
3. ``read + day counts``: the same and a per-day group-by that only counts eight codes;
4. ``read + day frame``: the same and the smallest per-patient-day frame a rule catalogue
   needs: one row per (patient, date, provider) with the day's codes, modifiers and
   diagnoses as lists (grouped on the three text keys: dermaudit's own day frame, grouped on
   an integer day id, costs less, so this row is no floor for it);
5. ``eight checks``: the same and eight simple same-day checks written as filters on that
   frame;

then the steps every dermaudit scan must take before any rule, on the same file:

6. ``dermaudit read``: the reader, which also computes the file's SHA-256 (the report names
   the audited file by it) and checks that the bytes are UTF-8 (else it reads cp1252);
7. ``+ set-aside test``: the same and the test that finds blank lines, repeated headers,
   totals and footers (counted and named in the report, never audited as charges);
8. ``+ column roles``: the same and role detection on the sample;
9. ``safety steps + day counts``: those three steps and the day counts of 3 (on the read
   text): the least a scan with dermaudit's safety steps can cost before it normalises a
   cell for a rule;
10. those three steps, the columns the four rules of the design card read (code, modifiers,
   diagnoses, payer class; each distinct value normalised once) and the day counts: the
   least a four-rule scan with the safety steps can cost before it runs a rule, builds a
   finding or writes a file.

Each is printed as a multiple of ``read``, which is also the denominator of ``bench/run.py``.
No test runs this.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import polars as pl

from dermaudit.ingest import layout, readers, roles
from dermaudit.ingest.normalize import derive


def safety(path: str) -> pl.DataFrame:
    """dermaudit's reader (with SHA-256 and the UTF-8 check), set-aside test and roles."""
    frame = readers.read_all(Path(path))[0].frame
    layout.set_aside_reasons(frame, frame.columns)
    roles.infer(frame)
    return frame


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
    """The cheapest per-day frame: no lists, one count per code of eight checks (the flags
    are computed first, so the group-by only sums integer columns)."""
    codes = ["17000", "17003", "17004", "11102", "17311", "17313", "11200", "17110"]
    return (
        parse_dates(df, "Date of Service")
        .with_columns([(pl.col("CPT") == c).cast(pl.UInt32).alias(c) for c in codes])
        .group_by("Patient ID", "dos", "Rendering Provider")
        .agg(pl.col(codes).sum())
    )


def card_columns(df: pl.DataFrame) -> pl.DataFrame:
    """The columns the four rules of the design card read, each normalised once per distinct
    value (dermaudit's ``derive``): the code, the two modifiers and three diagnoses as lists,
    and the payer's class (a keyword test)."""
    mods = pl.concat_str([pl.col("Mod 1"), pl.col("Mod 2")], separator=",", ignore_nulls=True)
    dx = pl.concat_str(
        [pl.col("Diag 1"), pl.col("Diag 2"), pl.col("Diag 3")], separator=",", ignore_nulls=True
    )
    df = df.with_columns(mods.alias("_m"), dx.alias("_d"))
    df = derive(df, "CPT", {"cpt": pl.col("CPT").str.strip_chars().str.to_uppercase()})
    df = derive(df, "_m", {"mods": pl.col("_m").str.split(",")})
    df = derive(df, "_d", {"dx": pl.col("_d").str.split(",")})
    medicare = pl.col("Payer").str.to_lowercase().str.contains("medicare")
    return derive(df, "Payer", {"payer_class": pl.when(medicare).then(pl.lit("medicare"))})


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
        "dermaudit read (+ SHA-256, UTF-8 check)": lambda: readers.read_all(Path(a.file)),
        "+ set-aside test": lambda: layout.set_aside_reasons(
            f := readers.read_all(Path(a.file))[0].frame, f.columns
        ),
        "+ column roles": lambda: safety(a.file),
        "safety steps + day counts (no lists)": lambda: day_counts(safety(a.file)),
        "safety steps + card columns + day counts": lambda: day_counts(
            card_columns(safety(a.file))
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
