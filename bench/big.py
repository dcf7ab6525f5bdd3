"""Larger than memory: a partitioned Parquet dataset of N x 10M lines, scanned to completion.

Usage::

    python bench/big.py [--copies 10] [--source bench/data/lines10000000_seed42_err0.04_prov6]
        [--out-dir bench/data/big] [--out bench/big_results.json]

Builds (or reuses) a folder of ``--copies`` Parquet files, each a copy of the source export
(``bench/generate.py --lines 10000000``) whose patient and claim numbers carry the copy
number as a prefix, so that every copy holds different patients (10 copies = 100M lines,
about 0.8 GB of Parquet). Each copy keeps the source's seeded-error labels, with its own
file name. The copies are written one at a time with ``sink_parquet`` from a lazy scan, so
building them needs little memory.

Then runs ``dermaudit scan FOLDER --format jsonl -o OUT --fail-on never --quiet`` once under
``/usr/bin/time -v`` and records wall time, peak resident memory, the number of partitions
and findings, and the recall of the seeded errors matched on (file, rule, row). Prints a
Markdown line and writes ``--out``. No test asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import dermaudit_cmd  # noqa: E402


def build(source: Path, out_dir: Path, copies: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(copies):
        p = out_dir / f"part-{k:03d}.parquet"
        paths.append(p)
        if p.exists():
            continue
        tmp = p.with_suffix(".tmp")
        prefix = f"{k + 1}"
        (
            pl.scan_parquet(source / "charges.parquet")
            .with_columns(
                (pl.lit(prefix) + pl.col("Patient ID")).alias("Patient ID"),
                (pl.lit(prefix) + pl.col("Claim ID")).alias("Claim ID"),
            )
            .sink_parquet(tmp)
        )
        tmp.rename(p)
        print(f"wrote {p}", file=sys.stderr)
    return paths


def labels(source: Path, paths: list[Path]) -> pl.DataFrame:
    lab = pl.read_csv(source / "seeded_errors.csv", schema_overrides={"rows": pl.String})
    lab = lab.with_columns(pl.col("rows").str.split(" ").cast(pl.List(pl.Int64)))
    return pl.concat(lab.with_columns(pl.lit(p.name).alias("file")) for p in paths).with_row_index(
        "lid"
    )


def recall(findings_path: Path, lab: pl.DataFrame) -> dict[str, Any]:
    fr = (
        pl.scan_ndjson(findings_path, infer_schema_length=1000)
        .select("rule", "file", "rows")
        .with_columns(pl.col("file").str.split("/").list.last())
        .explode("rows")
        .rename({"rows": "row"})
        .unique()
        .collect()
    )
    lr = lab.explode("rows").rename({"rows": "row"})
    hit = lr.join(fr, on=["rule", "file", "row"], how="semi").select("lid").unique()
    missed = lab.join(hit, on="lid", how="anti").group_by("rule").len().sort("len", descending=True)
    return {
        "seeded": lab.height,
        "found": hit.height,
        "recall": round(hit.height / lab.height, 4),
        "missed_by_rule": dict(missed.iter_rows()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--source", type=Path, default=HERE / "data/lines10000000_seed42_err0.04_prov6")
    ap.add_argument("--out-dir", type=Path, default=HERE / "data/big")
    ap.add_argument("--out", type=Path, default=HERE / "big_results.json")
    a = ap.parse_args(argv)
    paths = build(a.source, a.out_dir, a.copies)
    rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths)
    findings = a.out_dir.parent / f"big_findings_{a.copies}.jsonl"
    cmd = [*dermaudit_cmd(), "scan", str(a.out_dir), "-f", "jsonl", "-o", str(findings)]
    cmd += ["--fail-on", "never", "--quiet"]
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        print(p.stderr[-3000:], file=sys.stderr)
        return 1
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss_gb = int(m.group(1)) / 2**20 if m else None
    rec = recall(findings, labels(a.source, paths))
    result = {
        "copies": a.copies,
        "rows": rows,
        "parquet_mb": round(sum(x.stat().st_size for x in paths) / 2**20, 1),
        "scan_s": round(wall, 1),
        "peak_rss_gb": round(rss_gb, 2) if rss_gb else None,
        "loadavg_at_end": list(os.getloadavg()),
        **rec,
    }
    a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"| {rows:,} | Parquet folder, {a.copies} files | {wall:.0f} s | "
        f"{result['peak_rss_gb']} GB | {100 * rec['recall']:.1f}% ({rec['seeded']:,}) |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
