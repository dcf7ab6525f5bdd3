"""One pathological patient-day: memory of a scan whose one (patient, date, provider) key holds
tens of thousands of lines (a bad export: one placeholder patient id and date on every row).

Usage::

    python bench/huge_day.py [--lines 50000] [--repeat 3] [--out bench/huge_day.json]

Every rule that compares the lines of one day (biopsy with removal, repair with excision,
modifiers at one site, Mohs with pathology, paring, debridement ...) sees all of them at once.
A rule that joined every line of a day with every other would need memory growing with the
square of the day's size (a 10,000-line day took 1.3 GB and a 30,000-line day more than 9 GB
before the pair joins were replaced); the rules now use equality joins on (day, site) or
(day, diagnosis), per-day aggregates and ``join_asof`` look-backs; later same-day rules brought
superlinear growth back (measured below), which the guard now bounds.

Since the DQ-006 guard (ingest.MAX_DAY_LINES = 500), a day above 500 lines is set aside as a
data-quality finding before any rule, so this script measures the guard for ``--lines`` above
500 and the same-day rules below it. Measured before the guard (whole scan, peak RSS): 500
lines 0.36 GB, 2,000 lines 3.9 GB, 5,000 lines 24 GB; after it, 20,000 lines 0.32 GB.

The script writes the day as CSV (``huge_day_csv``),
runs ``dermaudit scan FILE -f json -o OUT --fail-on never --quiet --select ALL`` as a
subprocess and reports its peak resident memory, and the same for a 500-line day of the same
mix (the interpreter, libraries and code tables: the baseline). "Extra" memory is the
difference. Wall time is printed for information only (no test asserts a time).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

# (code, modifiers, diagnosis choices) - a dermatology day's mix, every family a day rule reads
MIX: list[tuple[str, list[str], list[str]]] = [
    ("99213", ["", "25", "57", "24"], ["L57.0", "L40.0", "C44.311", "L82.1"]),
    ("99214", ["", "25"], ["L57.0", "C44.519", "L40.0"]),
    ("99204", ["", "25"], ["L82.1", "D22.5"]),
    ("99211", [""], ["L91.0"]),
    ("G2211", [""], ["L40.0"]),
    ("99417", [""], ["L40.0"]),
    ("11102", ["", "59", "XS", "XE"], ["D48.5", "C44.311", "L82.1"]),
    ("11103", ["", "59"], ["D48.5"]),
    ("11104", ["", "XS"], ["D48.5", "C44.519"]),
    ("11106", [""], ["D48.5"]),
    ("11300", ["", "XS"], ["L82.1", "D22.5"]),
    ("11301", ["", "GY"], ["L82.0", "L82.1"]),
    ("11403", [""], ["L72.0", "D22.5"]),
    ("11602", ["", "58", "79"], ["C44.519"]),
    ("11642", ["", "XS"], ["C44.311"]),
    ("12001", ["", "XS"], ["S01.81XA", "C44.519"]),
    ("12032", [""], ["C44.519"]),
    ("13132", [""], ["C44.311"]),
    ("14040", ["", "XS"], ["C44.311"]),
    ("17000", ["", "59"], ["L57.0"]),
    ("17003", [""], ["L57.0"]),
    ("17110", ["", "XS"], ["B07.0", "L82.1", "L91.8"]),
    ("17261", [""], ["C44.519"]),
    ("17250", ["", "XS"], ["L92.9"]),
    ("17311", ["", "59"], ["C44.311"]),
    ("17312", [""], ["C44.311"]),
    ("17313", [""], ["C44.519"]),
    ("88305", ["", "59"], ["C44.311", "D48.5"]),
    ("88331", ["", "59"], ["C44.311"]),
    ("88314", [""], ["C44.311"]),
    ("11055", ["", "XS"], ["B07.0", "L84"]),
    ("11200", [""], ["L91.8"]),
    ("11900", [""], ["L91.0"]),
    ("96372", [""], ["L91.0", "L20.9"]),
    ("J3301", [""], ["L91.0"]),
    ("10060", [""], ["L72.0", "L02.413"]),
    ("11042", [""], ["L97.412", "C44.719"]),
    ("97597", [""], ["L97.412"]),
]
SITES = [
    "left cheek", "right cheek", "nose", "left nasal ala", "forehead", "scalp", "neck",
    "upper back", "lower back", "chest", "abdomen", "left arm", "right arm", "left forearm",
    "right forearm", "left hand", "right hand", "left thigh", "right thigh", "left shin",
    "right shin", "left foot", "right sole", "left heel", "left ear", "right ear", "lip",
    "left shoulder", "right shoulder", "", "",
]  # fmt: skip


def huge_day_csv(n: int, seed: int = 7, patient: str = "P1", dos: str = "2025-06-10") -> str:
    """``n`` charge lines of one patient, date and provider, plus a few earlier visits (global
    periods, prior biopsies, new-patient history) - a CSV text."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(MIX), size=n)
    out = ["patient_id,dos,provider,payer,cpt,modifiers,units,dx,site,charge,credential"]
    history = [
        ("2025-05-20", "11102", "", "D48.5", "nose"),
        ("2025-06-02", "11602", "", "C44.519", "upper back"),
        ("2025-04-01", "14040", "", "C44.311", "left cheek"),
        ("2024-03-01", "99213", "", "L57.0", ""),
    ]
    for d, code, mod, dx, site in history:
        out.append(f"{patient},{d},DrA,Medicare,{code},{mod},1,{dx},{site},100,MD")
    for i in range(n):
        code, mods, dxs = MIX[pick[i]]
        mod = mods[int(rng.integers(0, len(mods)))]
        dx = dxs[int(rng.integers(0, len(dxs)))]
        site = SITES[int(rng.integers(0, len(SITES)))]
        units = 1 if code not in ("17003", "J3301") else int(rng.integers(1, 5))
        out.append(f"{patient},{dos},DrA,Medicare,{code},{mod},{units},{dx},{site},100,MD")
    return "\n".join(out) + "\n"


def dermaudit_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("dermaudit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("dermaudit")
    return [found] if found else [sys.executable, "-m", "dermaudit.cli"]


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """(peak resident memory in MB, wall seconds) of one subprocess run."""
    timer = shutil.which("time") or "/usr/bin/time"
    t0 = time.perf_counter()
    if Path(timer).exists():
        p = subprocess.run([timer, "-v", *cmd], capture_output=True, text=True)
        secs = time.perf_counter() - t0
        for line in p.stderr.splitlines():
            if "Maximum resident set size" in line:
                return int(line.split(":")[1]) / 1024, secs
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024, secs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "huge_day.json")
    args = ap.parse_args(argv)
    result: dict[str, Any] = {"lines": args.lines, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for label, n in (("baseline_500", 500), ("huge", args.lines)):
            src = Path(tmp) / f"day_{n}.csv"
            src.write_text(huge_day_csv(n), encoding="utf-8")
            cmd = [
                *dermaudit_cmd(), "scan", str(src), "-f", "json", "-o", str(Path(tmp) / "f.json"),
                "--fail-on", "never", "--quiet", "--select", "ALL",
            ]  # fmt: skip
            runs = [peak_rss_mb(cmd) for _ in range(args.repeat)]
            rss = statistics.median(r[0] for r in runs)
            secs = statistics.median(r[1] for r in runs)
            result["runs"][label] = {
                "lines": n,
                "peak_rss_mb": round(rss, 1),
                "secs": round(secs, 2),
            }
            print(f"{label:>12}: {n:>7,} lines  peak RSS {rss:8.1f} MB  ({secs:.1f} s)")
    extra = result["runs"]["huge"]["peak_rss_mb"] - result["runs"]["baseline_500"]["peak_rss_mb"]
    result["extra_mb"] = round(extra, 1)
    print(f"extra memory for the {args.lines:,}-line patient-day: {extra:.1f} MB")
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
