"""837P speed: the same charges scanned as an X12 837P file and as the CSV export.

Usage::

    python bench/x12_bench.py [--lines 1000000] [--repeat 3]

Generates (or reuses) ``bench/data/lines{N}_seed42_err0.04_prov6/charges.csv``, converts it to
an 837P batch (``charges.837``: one claim per claim id, a subscriber loop per claim, the
claim's diagnoses in HI with pointers from each SV1, the rendering provider as NM1*82 with a
Luhn-valid NPI), built with Polars string expressions, then times ``dermaudit scan`` of each
(median of ``--repeat``, JSON written) and Polars' bare read of the CSV. Prints the lines per
second of both scans and their ratio, and whether the two scans found the same number of
findings. No test asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def npi(i: int) -> str:
    """A Luhn-valid NPI (prefix 80840 for the check digit, as CMS defines it)."""
    base = f"1{i:08d}"
    digits = [int(c) for c in "80840" + base]
    total = 0
    for k, d in enumerate(reversed(digits)):
        if k % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return base + str((10 - total % 10) % 10)


def to_837(csv: Path, out: Path) -> int:
    df = pl.read_csv(csv, infer_schema=False).with_row_index("i")
    provs = df["Rendering Provider"].unique().sort().to_list()
    prov_npi = pl.DataFrame(
        {"Rendering Provider": provs, "npi": [npi(k) for k in range(len(provs))]}
    )
    df = df.join(prov_npi, on="Rendering Provider", how="left").sort("i")
    dx_cols = ["Diag 1", "Diag 2", "Diag 3"]
    line_dx = (
        df.select("i", "Claim ID", pl.concat_list(dx_cols).alias("dx"))
        .explode("dx")
        .drop_nulls("dx")
        .with_columns(pl.col("dx").str.replace_all(".", "", literal=True))
    )
    claim_dx = (
        line_dx.sort("i")
        .select("Claim ID", "dx")
        .unique(maintain_order=True)
        .with_columns(pl.int_range(1, pl.len() + 1).over("Claim ID").alias("ptr"))
        .filter(pl.col("ptr") <= 12)
    )
    ptrs = (
        line_dx.join(claim_dx, on=["Claim ID", "dx"], how="inner")
        .sort("i", "ptr")
        .group_by("i", maintain_order=True)
        .agg(pl.col("ptr").cast(pl.String).head(4).str.join(":").alias("ptrs"))
    )
    hi = (
        claim_dx.with_columns(
            pl.when(pl.col("ptr") == 1)
            .then(pl.concat_str(pl.lit("ABK:"), "dx"))
            .otherwise(pl.concat_str(pl.lit("ABF:"), "dx"))
            .alias("h")
        )
        .group_by("Claim ID", maintain_order=True)
        .agg(pl.concat_str(pl.lit("HI*"), pl.col("h").str.join("*")).alias("hi"))
    )
    dos = pl.col("Date of Service").str.to_date("%m/%d/%Y", strict=False).dt.strftime("%Y%m%d")
    mods = pl.concat_str(
        pl.lit("HC:"),
        pl.col("CPT"),
        pl.when(pl.col("Mod 1").is_not_null()).then(pl.concat_str(pl.lit(":"), "Mod 1")),
        pl.when(pl.col("Mod 2").is_not_null()).then(pl.concat_str(pl.lit(":"), "Mod 2")),
        ignore_nulls=True,
    )
    lines = df.join(ptrs, on="i", how="left").sort("i")
    lines = lines.with_columns(
        pl.int_range(1, pl.len() + 1).over("Claim ID").alias("lx"),
        pl.concat_str(
            pl.lit("LX*"),
            pl.int_range(1, pl.len() + 1).over("Claim ID").cast(pl.String),
            pl.lit("~\nSV1*"),
            mods,
            pl.lit("*"),
            pl.col("Charge"),
            pl.lit("*UN*"),
            pl.col("Units"),
            pl.lit("***"),
            pl.col("ptrs").fill_null("1"),
            pl.lit("~\nDTP*472*D8*"),
            dos,
            pl.lit("~"),
        ).alias("seg"),
    )
    payer = pl.col("Payer").str.to_lowercase()
    sbr = (
        pl.when(payer.str.contains("medicare"))
        .then(pl.lit("MB"))
        .when(payer.str.contains("medicaid"))
        .then(pl.lit("MC"))
        .when(payer.str.contains("self"))
        .then(pl.lit("09"))
        .otherwise(pl.lit("CI"))
    )
    name = pl.col("Rendering Provider").str.split(", ")
    claims = (
        lines.group_by("Claim ID", maintain_order=True)
        .agg(
            pl.col("Patient ID").first(),
            pl.col("Payer").first(),
            pl.col("POS").first(),
            pl.col("npi").first(),
            pl.col("Rendering Provider").first(),
            pl.col("Charge").cast(pl.Float64).sum().alias("total"),
            pl.col("seg").str.join("\n").alias("body"),
            pl.len().alias("n"),
        )
        .join(hi, on="Claim ID", how="left")
        .with_row_index("hl", offset=2)
    )
    text = claims.select(
        pl.concat_str(
            pl.lit("HL*"),
            pl.col("hl").cast(pl.String),
            pl.lit("*1*22*0~\nSBR*P*18*******"),
            sbr,
            pl.lit("~\nNM1*IL*1*PATIENT*SYNTHETIC****MI*"),
            pl.col("Patient ID"),
            pl.lit("~\nNM1*PR*2*"),
            pl.col("Payer").str.replace_all("*", " ", literal=True),
            pl.lit("*****PI*00000~\nCLM*"),
            pl.col("Claim ID"),
            pl.lit("*"),
            pl.col("total").round(2).cast(pl.String),
            pl.lit("***"),
            pl.col("POS").fill_null("11"),
            pl.lit(":B:1*Y*A*Y*Y~\n"),
            pl.col("hi").fill_null("HI*ABK:R69"),
            pl.lit("~\nNM1*82*1*"),
            name.list.first().str.to_uppercase(),
            pl.lit("*"),
            name.list.last().str.to_uppercase(),
            pl.lit("****XX*"),
            pl.col("npi"),
            pl.lit("~\nPRV*PE*PXC*207N00000X~\n"),
            pl.col("body"),
        ).alias("t"),
        (8 + 3 * pl.col("n")).alias("k"),  # segments per claim: 8 + LX, SV1, DTP per line
    )
    head = [
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250310*1200*^*"
        "00501*000000001*0*T*:~",
        "GS*HC*SUBMITTER*RECEIVER*20250310*1200*1*X*005010X222A1~",
        "ST*837*0001*005010X222A1~",
        "BHT*0019*00*BATCH1*20250310*1200*CH~",
        "NM1*41*2*SYNTHETIC PRACTICE*****46*SUB1~",
        "PER*IC*BILLING*TE*5555550100~",
        "NM1*40*2*CLEARINGHOUSE*****46*00000~",
        "HL*1**20*1~",
        "NM1*85*2*SYNTHETIC PRACTICE*****XX*1234567893~",
        "N3*1 MAIN ST~",
        "N4*SPRINGFIELD*IL*627010000~",
        "REF*EI*123456789~",
    ]
    n_seg = len(head) - 2 + int(text["k"].sum()) + 1  # ST..SE
    with out.open("w") as fh:
        fh.write("\n".join(head) + "\n")
        for chunk in text["t"].to_list():  # written in one pass: strings built above
            fh.write(chunk + "\n")
        fh.write(f"SE*{n_seg}*0001~\nGE*1*1~\nIEA*1*000000001~\n")
    return df.height


def scan(path: Path, out: Path) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "dermaudit", "scan", str(path), "-f", "json", "-o", str(out)]
    t = time.perf_counter()
    subprocess.run([*cmd, "--fail-on", "never", "-q"], check=True, cwd=ROOT, capture_output=True)
    wall = time.perf_counter() - t
    return wall, len(json.loads(out.read_text())["findings"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    folder = HERE / "data" / f"lines{args.lines}_seed42_err0.04_prov6"
    csv = folder / "charges.csv"
    if not csv.exists():
        gen = ["--lines", str(args.lines), "--out", str(folder), "--formats", "csv", "--quiet"]
        subprocess.run([sys.executable, str(HERE / "generate.py"), *gen], check=True)
    x12 = folder / "charges.837"
    if not x12.exists():
        to_837(csv, x12)
    reads, c_runs, x_runs = [], [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        pl.read_csv(csv, infer_schema=False)
        reads.append(time.perf_counter() - t)
        c_runs.append(scan(csv, folder / "bench_csv.json"))
        x_runs.append(scan(x12, folder / "bench_837.json"))
    read = statistics.median(reads)
    c = statistics.median(w for w, _ in c_runs)
    x = statistics.median(w for w, _ in x_runs)
    print(
        f"lines {args.lines:,}; CSV {csv.stat().st_size / 2**20:.0f} MiB, 837P "
        f"{x12.stat().st_size / 2**20:.0f} MiB; Polars read of the CSV {read:.2f} s"
    )
    print(
        f"CSV scan {c:.2f} s ({args.lines / c:,.0f} lines/s, {c / read:.1f}x the read); "
        f"837P scan {x:.2f} s ({args.lines / x:,.0f} lines/s); 837P / CSV = {x / c:.2f}x"
    )
    print(f"findings: CSV {c_runs[0][1]:,}, 837P {x_runs[0][1]:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
