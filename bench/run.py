"""Benchmark: dermaudit scan time, memory and recall of seeded errors on synthetic exports.

Usage::

    python bench/run.py [--sizes 100000,1000000] [--formats csv,parquet] [--repeat 3]
        [--seed 42] [--error-rate 0.04] [--providers 6] [--data-dir bench/data]
        [--out bench/results.json] [--regenerate] [--select EM-001,MOHS-001] [--no-phases]

For every size the data are generated with ``bench/generate.py`` (or reused from
``--data-dir`` when a previous run left the same size, seed, error rate, providers and
generator version there). For every format it then measures, in the same run:

* rows in the file;
* the time Polars alone takes to read the file (``pl.read_csv(path, infer_schema=False)`` /
  ``pl.read_parquet(path)``), median of ``--repeat`` runs, in this process;
* the wall time of the full scan ``dermaudit scan FILE --format json -o OUT --fail-on never
  --quiet`` as a subprocess (median of ``--repeat``), its peak resident memory (``/usr/bin/time
  -v`` when present, else ``getrusage(RUSAGE_CHILDREN)``) and the ratio scan / Polars read;
* recall of the seeded errors: the share of ``seeded_errors.csv`` records for which the JSON
  findings hold a finding of the same rule whose rows intersect the labelled rows, overall and
  per rule; and how many findings touch no labelled row at all (findings on clean rows: either
  a false positive or a generator bug, worth a look either way; info-severity findings such
  as REV-002 payment notes are not counted there).

With ``--select`` only those rules run (``dermaudit scan --select``) and recall counts their
seeded errors only. Unless ``--no-phases``, the same scan also runs ``--repeat`` times in this
process (``dermaudit.scan``) to split its time into phases (read, set-aside lines, column roles,
normalisation, line features, day frame, rule plans, rules, counts, triage) from
``ScanResult.timings``, each printed as a multiple of the Polars read; a file large enough to
be partitioned has no phase split.

Prints Markdown tables and writes ``--out`` (JSON). No test asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (bench/generate.py, imported from its folder)


def dermaudit_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("dermaudit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("dermaudit")
    return [found] if found else [sys.executable, "-m", "dermaudit.cli"]


def run_measured(cmd: list[str]) -> tuple[float, float | None, subprocess.CompletedProcess[str]]:
    """Wall seconds and peak RSS (MiB) of one subprocess."""
    gnu_time = Path("/usr/bin/time")
    full = [str(gnu_time), "-v", *cmd] if gnu_time.exists() else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    rss: float | None = None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if m:
        rss = int(m.group(1)) / 1024
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rss = after / 1024 if after > before else None  # a max over all children so far
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return wall, rss, proc


def dataset(size: int, a: argparse.Namespace) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Generate (or reuse) one dataset; returns folder, manifest and generation timing."""
    d = a.data_dir / f"lines{size}_seed{a.seed}_err{a.error_rate}_prov{a.providers}"
    man_path = d / "manifest.json"
    want = {"lines": size, "seed": a.seed, "error_rate": a.error_rate, "providers": a.providers}
    if man_path.exists() and not a.regenerate:
        man = json.loads(man_path.read_text("utf-8"))
        args = man.get("args", {})
        same = all(args.get(k) == v for k, v in want.items())
        files_ok = all((d / f"charges.{f}").exists() for f in ("csv", "parquet"))
        if same and files_ok and man.get("generator_version") == generate.GENERATOR_VERSION:
            return d, man, {"reused": True}
    cmd = [
        sys.executable,
        str(HERE / "generate.py"),
        "--lines",
        str(size),
        "--out",
        str(d),
        "--seed",
        str(a.seed),
        "--error-rate",
        str(a.error_rate),
        "--providers",
        str(a.providers),
        "--formats",
        "csv,parquet",
        "--quiet",
    ]
    wall, rss, _ = run_measured(cmd)
    man = json.loads(man_path.read_text("utf-8"))
    return (
        d,
        man,
        {"reused": False, "seconds": round(wall, 2), "peak_rss_mb": round(rss, 1) if rss else None},
    )


def polars_read(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    df = pl.read_csv(path, infer_schema=False) if path.suffix == ".csv" else pl.read_parquet(path)
    wall = time.perf_counter() - t0
    n = df.height
    del df
    gc.collect()
    return wall, n


def load_findings(path: Path) -> pl.DataFrame:
    data = json.loads(path.read_text("utf-8"))
    fs = data.get("findings", [])
    return pl.DataFrame(
        {
            "rule": [f["rule"] for f in fs],
            "severity": [f.get("severity") for f in fs],
            "rows": [f.get("rows") or [] for f in fs],
        },
        schema={"rule": pl.String, "severity": pl.String, "rows": pl.List(pl.Int64)},
    ).with_row_index("fid")


def load_labels(path: Path) -> pl.DataFrame:
    lab = pl.read_csv(path, schema_overrides={"rows": pl.String})
    return lab.with_row_index("lid").with_columns(
        pl.col("rows").str.split(" ").cast(pl.List(pl.Int64))
    )


def recall(findings: pl.DataFrame, labels: pl.DataFrame) -> dict[str, Any]:
    """Recall per rule; findings that touch no labelled row (possible false positives)."""
    fr = findings.select("fid", "rule", "rows").explode("rows").rename({"rows": "row"})
    lr = labels.select("lid", "rule", "rows").explode("rows").rename({"rows": "row"})
    hit = lr.join(fr, on=["rule", "row"], how="inner")
    found = hit.select("lid").unique()
    lab = labels.with_columns(pl.col("lid").is_in(found["lid"].implode()).alias("found"))
    per = lab.group_by("rule").agg(
        pl.len().alias("seeded"), pl.col("found").sum().cast(pl.Int64).alias("found")
    )
    labelled_rows = lr.select("row").unique()
    touching = fr.join(labelled_rows, on="row", how="semi").select("fid").unique()
    # info findings (e.g. REV-002 payment notes) are not errors; leave them out of the count
    clean = findings.join(touching, on="fid", how="anti").filter(pl.col("severity") != "info")
    counts = findings.group_by("rule").len().rename({"len": "findings"})
    clean_counts = clean.group_by("rule").len().rename({"len": "clean_row_findings"})
    table = (
        per.join(counts, on="rule", how="full", coalesce=True)
        .join(clean_counts, on="rule", how="full", coalesce=True)
        .with_columns(pl.col("seeded", "found", "findings", "clean_row_findings").fill_null(0))
        .sort("rule")
    )
    rules = {
        r["rule"]: {
            "seeded": int(r["seeded"]),
            "found": int(r["found"]),
            "recall": round(r["found"] / r["seeded"], 4) if r["seeded"] else None,
            "findings": int(r["findings"]),
            "clean_row_findings": int(r["clean_row_findings"]),
        }
        for r in table.iter_rows(named=True)
    }
    missed = lab.filter(~pl.col("found")).group_by("rule").agg(pl.col("rows").first())
    total = labels.height
    return {
        "seeded": total,
        "found": int(lab["found"].sum()),
        "recall": round(float(lab["found"].mean()), 4) if total else None,
        "findings": findings.height,
        "clean_row_findings": clean.height,
        "per_rule": rules,
        "missed_example_rows": {r: rows for r, rows in missed.iter_rows()},
    }


PHASES = (
    "read",
    "set_aside",
    "roles",
    "normalise",
    "enrich",
    "days",
    "plans",
    "rules",
    "counts",
    "triage",
    "scan",
)


def phase_times(path: Path, select: list[str] | None, repeat: int) -> dict[str, float]:
    """Median seconds of each phase of ``dermaudit.scan`` in this process ({} when the file
    is partitioned, whose phases are per partition)."""
    import dermaudit

    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        result = dermaudit.scan(path, select=select)
        runs.append(dict(result.timings))
        del result
        gc.collect()
    if not all("read" in r for r in runs):
        return {}
    return {k: round(statistics.median(r.get(k, 0.0) for r in runs), 3) for k in PHASES}


def selected_labels(labels: pl.DataFrame, select: list[str] | None) -> pl.DataFrame:
    if not select:
        return labels
    from dermaudit import engine

    ids = [r.id for r in engine.select_rules(select)]
    return labels.filter(pl.col("rule").is_in(ids))


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--formats", default="csv,parquet")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--error-rate", type=float, default=0.04)
    ap.add_argument("--providers", type=int, default=6)
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--regenerate", action="store_true", help="ignore cached data")
    ap.add_argument("--select", default="", help="rule ids or families, comma-separated")
    ap.add_argument("--no-phases", action="store_true", help="skip the in-process phase split")
    a = ap.parse_args(argv)
    select = [x.strip() for x in a.select.split(",") if x.strip()] or None
    sel_args = [arg for x in select or [] for arg in ("--select", x)]
    sizes = [int(s.replace("_", "")) for s in a.sizes.split(",") if s.strip()]
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    a.data_dir.mkdir(parents=True, exist_ok=True)
    cmd = dermaudit_cmd()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    runs: list[dict[str, Any]] = []
    recalls: dict[str, Any] = {}
    for size in sizes:
        d, _, gen = dataset(size, a)
        print(
            f"# {size:,} lines: {d} ({'cached' if gen.get('reused') else 'generated'})",
            file=sys.stderr,
        )
        labels = selected_labels(load_labels(d / "seeded_errors.csv"), select)
        for fmt_ in formats:
            path = d / f"charges.{fmt_}"
            reads, rows = [], 0
            for _ in range(a.repeat):
                w, rows = polars_read(path)
                reads.append(w)
            out = d / f"findings_{fmt_}.json"
            scans, rss = [], []
            for _ in range(a.repeat):
                w, r, _ = run_measured(
                    [
                        *cmd,
                        "scan",
                        str(path),
                        "--format",
                        "json",
                        "-o",
                        str(out),
                        "--fail-on",
                        "never",
                        "--quiet",
                        *sel_args,
                    ]
                )
                scans.append(w)
                if r:
                    rss.append(r)
            rec = recall(load_findings(out), labels)
            read_s, scan_s = statistics.median(reads), statistics.median(scans)
            phases = {} if a.no_phases else phase_times(path, select, a.repeat)
            run = {
                "lines": size,
                "format": fmt_,
                "rows": rows,
                "file_mb": round(path.stat().st_size / 2**20, 1),
                "polars_read_s": round(read_s, 3),
                "dermaudit_scan_s": round(scan_s, 3),
                "ratio": round(scan_s / read_s, 1) if read_s else None,
                "peak_rss_mb": round(max(rss), 1) if rss else None,
                "findings": rec["findings"],
                "seeded": rec["seeded"],
                "recall": rec["recall"],
                "clean_row_findings": rec["clean_row_findings"],
                "scan_runs_s": [round(x, 3) for x in scans],
                "read_runs_s": [round(x, 3) for x in reads],
                "generation": gen,
                "phases_s": phases,
                "phases_x_read": {k: round(v / read_s, 2) for k, v in phases.items()},
            }
            runs.append(run)
            recalls[f"{size}/{fmt_}"] = rec
            print(
                f"  {fmt_}: scan {scan_s:.2f}s, read {read_s:.2f}s, recall {rec['recall']}",
                file=sys.stderr,
            )
    # ---- report
    print(
        "| lines | format | rows | file MB | Polars read s | dermaudit scan s | ratio "
        "| peak RSS MB | findings | seeded | recall | non-info findings on clean rows |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['lines']:,} | {r['format']} | {r['rows']:,} | {fmt(r['file_mb'], 1)} | "
            f"{fmt(r['polars_read_s'])} | {fmt(r['dermaudit_scan_s'])} | {fmt(r['ratio'], 1)} | "
            f"{fmt(r['peak_rss_mb'], 0)} | {r['findings']:,} | {r['seeded']:,} | "
            f"{fmt(100 * r['recall'] if r['recall'] is not None else None, 1)}% | "
            f"{r['clean_row_findings']:,} |"
        )
    for r in runs:
        if not r["phases_s"]:
            continue
        print(
            f"\n### Phases, {r['lines']:,} lines ({r['format']}), in process, median of "
            f"{a.repeat}\n"
        )
        print("| phase | seconds | x Polars read |")
        print("|---|---:|---:|")
        for k, v in r["phases_s"].items():
            print(f"| {k} | {v:.3f} | {r['phases_x_read'][k]:.2f} |")
    for size in sizes:
        key = f"{size}/{formats[0]}"
        rec = recalls[key]
        print(f"\n### Recall per rule, {size:,} lines ({formats[0]})\n")
        print("| rule | seeded | found | recall | findings | non-info findings on clean rows |")
        print("|---|---:|---:|---:|---:|---:|")
        for rule, v in rec["per_rule"].items():
            rc = "-" if v["recall"] is None else f"{100 * v['recall']:.0f}%"
            print(
                f"| {rule} | {v['seeded']} | {v['found']} | {rc} | {v['findings']} | "
                f"{v['clean_row_findings']} |"
            )
        others = [f"{size}/{f}" for f in formats[1:]]
        for k in others:
            if recalls[k]["per_rule"] != rec["per_rule"]:
                print(f"\nNote: {k} findings differ from {key} (formats should agree).")
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "polars": pl.__version__,
            "loadavg_at_start": list(load) if load else None,
        },
        "generator_version": generate.GENERATOR_VERSION,
        "settings": {
            "sizes": sizes,
            "formats": formats,
            "repeat": a.repeat,
            "seed": a.seed,
            "error_rate": a.error_rate,
            "providers": a.providers,
            "select": select,
        },
        "runs": runs,
        "recall": recalls,
    }
    a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
