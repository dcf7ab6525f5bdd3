"""The Dask engine against the local partitioned scan, on one generated export.

Usage::

    python bench/dask_bench.py [--lines 10000000] [--workers 2] [--partitions 10] [--repeat 1]

Generates (or reuses) ``bench/data/lines{N}_seed42_err0.04_prov6/charges.csv`` and, in this
order, times: Polars' bare ``read_csv`` of it; ``dermaudit scan --partitions P`` (local engine)
under ``/usr/bin/time -v`` (wall, peak RSS of the largest process); and the same scan with
``engine="dask"`` on a LocalCluster of ``--workers`` single-threaded worker processes started
by this script, recording the wall time and each worker's peak RSS (``getrusage`` inside the
worker). Checks that both engines give the same findings. Prints a Markdown table and writes
``bench/dask_results.json``. No test asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def data_file(lines: int) -> Path:
    folder = HERE / "data" / f"lines{lines}_seed42_err0.04_prov6"
    csv = folder / "charges.csv"
    if not csv.exists():
        args = ["--lines", str(lines), "--out", str(folder), "--formats", "csv", "--quiet"]
        subprocess.run([sys.executable, str(HERE / "generate.py"), *args], check=True)
    return csv


def bare_read(csv: Path) -> float:
    t = time.perf_counter()
    pl.read_csv(csv, infer_schema=False)
    return time.perf_counter() - t


def local(csv: Path, partitions: int, out: Path) -> dict[str, Any]:
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "dermaudit", "scan", str(csv)]
    cmd += ["--partitions", str(partitions), "-f", "parquet", "-o", str(out)]
    cmd += ["--fail-on", "never", "-q"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    wall = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    peak = int(m.group(1)) if m else 0
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(peak / 1024)}


def dask(csv: Path, partitions: int, workers: int) -> tuple[dict[str, Any], pl.DataFrame]:
    import distributed

    import dermaudit

    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        t = time.perf_counter()
        r = dermaudit.scan(
            csv, engine="dask", scheduler=cluster.scheduler_address, partitions=partitions
        )
        wall = time.perf_counter() - t
        peaks = client.run(_peak_kib)
    return (
        {
            "wall_s": round(wall, 2),
            "worker_peak_rss_mib": sorted(round(v / 1024) for v in peaks.values()),
            "client_peak_rss_mib": round(_peak_kib() / 1024),
        },
        r.findings,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=10)
    ap.add_argument("--out", type=Path, default=HERE / "dask_results.json")
    args = ap.parse_args()
    csv = data_file(args.lines)
    read_s = bare_read(csv)
    loc_out = HERE / "data" / "dask_bench_local.parquet"
    loc = local(csv, args.partitions, loc_out)
    dk, dk_findings = dask(csv, args.partitions, args.workers)
    key = ["rule", "file", "patient_id", "dos", "provider", "codes", "message"]
    a = pl.read_parquet(loc_out).select(key).sort(key, nulls_last=True)
    b = dk_findings.select(key).sort(key, nulls_last=True)
    same = a.equals(b)
    res = {
        "lines": args.lines,
        "csv_mib": round(csv.stat().st_size / 2**20),
        "cores": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
        "read_s": round(read_s, 2),
        "local_partitioned": {**loc, "ratio_to_read": round(loc["wall_s"] / read_s, 1)},
        "dask": {**dk, "ratio_to_read": round(dk["wall_s"] / read_s, 1)},
        "partitions": args.partitions,
        "workers": args.workers,
        "same_findings": same,
        "findings": b.height,
    }
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print("| lines | read s | local s (x read; peak MiB) | dask s (x read; worker MiB) | same |")
    print("|---|---|---|---|---|")
    lr, dr = res["local_partitioned"]["ratio_to_read"], res["dask"]["ratio_to_read"]
    print(
        f"| {args.lines:,} | {read_s:.2f} | {loc['wall_s']} ({lr}x; {loc['peak_rss_mib']}) "
        f"| {dk['wall_s']} ({dr}x; {dk['worker_peak_rss_mib']}) | {same} |"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
