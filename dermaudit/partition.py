"""Larger-than-memory scans: split by patient hash, audit each partition, merge.

Every coding rule looks at one patient (a day, or the patient's history), so a partition that
holds all lines of its patients gives exactly the findings a single in-memory scan would. The
plan:

1. one streaming pass over the input (CSV or Parquet files, a folder or a glob) adds the source
   file and row number to every line and writes it to ``N`` temporary Parquet partitions keyed
   by ``hash(patient) % N`` (``LazyFrame.sink_parquet`` with ``PartitionBy`` and small row
   groups: bounded memory);
2. each partition is read, normalised and audited on its own; its findings are written to a
   temporary Parquet file and its memory released;
3. provider-level rules run on additive per-provider statistics that each partition returns,
   summed across partitions before the thresholds are applied (see ``Rule.stats``);
4. counts (rows, encounters, patients, date range, payer classes) and the report's line counts
   (provider scorecards, encounters per month: ``features.line_counts``) are merged,
   so the HTML report of a partitioned scan has the same figures as an in-memory one.

Step 2 is a ``Runner``: ``InProcess`` (one partition after the other) or the Dask engine's
``cluster.DaskRunner`` (one task per partition on a cluster); everything else is the same.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from . import engine
from .charges import finding_charges
from .errors import InputError
from .features import line_counts, merge_line_counts
from .ingest import FileInfo, Ingested, check_columns, load_raw, unmapped_of
from .ingest.readers import (
    CSV_EXT,
    EXCEL_EXT,
    PARQUET_EXT,
    RawFile,
    _stringify,
    clean_headers,
    expand_paths,
    sha256_of,
    text_plan,
)
from .ingest.x12_segments import sniff
from .model import empty_findings
from .refdata import RefData
from .rules.base import Rule

BILLED = "_billed_charge"  # a finding's billed charges, carried through the spill files

# Measured: an in-memory scan of 1M lines with the whole catalogue peaks near 2.7 GB, so
# partitions of about 1M lines keep the peak near that whatever the input size.
TARGET_ROWS_PER_PARTITION = 1_000_000
AUTO_ABOVE_ROWS = 1_500_000
CSV_BYTES_PER_ROW = 100  # a typical charge export line; used to decide without reading
ROW_GROUP_ROWS = 16_384
SAMPLE_ROWS = 20_000  # rows read to recognise the columns before the split


def _scan(path: Path) -> pl.LazyFrame:
    if sniff(path):
        raise InputError(f"{path.name} is an X12 file; X12 claims are audited in memory")
    ext = path.suffix.lower()
    if ext in PARQUET_EXT:
        return pl.scan_parquet(path, glob=False)
    if ext in CSV_EXT:
        if path.stat().st_size == 0:
            raise InputError(f"{path.name} is empty (0 bytes); export the charges again")
        delim, header = text_plan(path)
        lf = pl.scan_csv(
            path,
            separator=delim,
            infer_schema=False,
            truncate_ragged_lines=True,
            encoding="utf8-lossy",
            has_header=header is not None,
            skip_rows=header or 0,
            glob=False,
        )
        if header is None:
            names = lf.collect_schema().names()
            lf = lf.rename({c: f"col_{i}" for i, c in enumerate(names, start=1)})
        return lf
    raise InputError(
        f"{path.name}: partitioned scans read CSV or Parquet, not {ext or 'this file'}"
    )


def count_rows(paths: list[Path]) -> int:
    return sum(int(_scan(p).select(pl.len()).collect().item()) for p in paths)


def auto_partitions(paths: list[Path]) -> int:
    n = count_rows(paths)
    return max(1, -(-n // TARGET_ROWS_PER_PARTITION))


def auto_partitions_if_large(paths: list[str]) -> int:
    """1 (in memory) unless the input holds more than AUTO_ABOVE_ROWS lines.

    Parquet row counts come from the file metadata; CSV size is estimated from bytes."""
    files = expand_paths(paths)
    est = 0
    for p in files:
        if sniff(p):
            return 1  # X12 837P claims are read in memory (ingest.x12)
        if p.suffix.lower() in PARQUET_EXT:
            try:
                est += int(pl.scan_parquet(p, glob=False).select(pl.len()).collect().item())
            except Exception:  # unreadable: the in-memory reader reports it in one line
                return 1
        elif p.suffix.lower() in CSV_EXT:
            est += p.stat().st_size // CSV_BYTES_PER_ROW
        else:
            return 1  # Excel and other inputs are read in memory
    return 1 if est <= AUTO_ABOVE_ROWS else max(2, -(-est // TARGET_ROWS_PER_PARTITION))


def split(paths: list[Path], n: int, out: Path, overrides: dict[str, Any] | None) -> list[FileInfo]:
    # the provenance hashes are computed in a thread beside the row counts and the split
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashes = pool.map(sha256_of, paths)
        infos = _split(paths, n, out, overrides)
        for info, sha in zip(infos, hashes, strict=True):
            info.sha256 = sha
    return infos


def _split(
    paths: list[Path], n: int, out: Path, overrides: dict[str, Any] | None
) -> list[FileInfo]:
    infos: list[FileInfo] = []
    frames = []
    patient_col: str | None = None
    for p in paths:
        if p.suffix.lower() in EXCEL_EXT:
            raise InputError(f"{p.name}: Excel files cannot be partitioned; export CSV or Parquet")
        lf = _scan(p)
        head, _ = _stringify(lf.head(SAMPLE_ROWS).collect())
        probe = RawFile(p, p.name, "", "probe", clean_headers(head))
        mapping, _inf = check_columns(probe, overrides)
        if not overrides:  # every partition uses the roles found on this sample
            overrides = mapping.as_dict()
        col = mapping.single["patient_id"]
        if patient_col is None:
            patient_col = col
        infos.append(
            FileInfo(
                p.name,
                str(p),
                "",  # sha256, filled in by split()
                "parquet" if p.suffix.lower() in PARQUET_EXT else "csv",
                0,  # rows, counted from the partitions below
                None,
                None,
                mapping.as_dict(),
            )
        )
        frames.append(
            lf.with_row_index("__row", offset=1).with_columns(
                pl.lit(p.name).alias("__file"), pl.col(col).alias("__patient")
            )
        )
    lf_all = pl.concat(frames, how="diagonal_relaxed")
    part = (pl.col("__patient").cast(pl.String).str.strip_chars().hash(seed=7) % n).alias("__part")
    lf_all.with_columns(part).drop("__patient").sink_parquet(
        pl.PartitionBy(out, key="__part", include_key=False),
        mkdir=True,
        # every partition's writer buffers a row group before flushing: with ~100 partitions
        # the default size held 5.3 GB at 100M lines; 16k-row groups keep the pass near 1 GB
        row_group_size=ROW_GROUP_ROWS,
    )
    # rows per input from the partitions (their row numbers), not from a second pass over it
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        written = sorted(out.rglob("*.parquet"))
        last = (
            pl.scan_parquet(written, hive_partitioning=False)
            .group_by("__file")
            .agg(pl.col("__row").max())
            .collect()
            if written
            else pl.DataFrame()
        )
        rows = dict(last.iter_rows())
        for info in infos:
            info.rows = int(rows.get(info.name) or 0)
    else:  # two inputs share a file name: count each on its own
        for p, info in zip(paths, infos, strict=True):
            info.rows = int(_scan(p).select(pl.len()).collect().item())
    return infos


@dataclass
class PartOutput:
    """What one partition's audit returns: small enough to send back from a worker (the
    findings themselves are spilled to ``findings`` beside the partition)."""

    findings: Path
    stats: dict[str, Any]
    pstats: dict[str, list[pl.DataFrame]]
    counts: dict[str, pl.DataFrame]
    notes: list[str]
    aside: dict[str, int]
    sites: list[str]
    present: set[str]
    skipped: dict[str, str]
    rules_run: list[str]
    rows: int


def audit_partition(
    d: Path,
    ref: RefData,
    rules: list[Rule],
    *,
    overrides: dict[str, Any] | None = None,
    payer_rules: list[tuple[str, list[str]]] | None = None,
    payer_exact: dict[str, str] | None = None,
    include_dq: bool = True,
    today: date | None = None,
    only_map: bool = False,
) -> PartOutput:
    """Read, normalise and audit one patient-hash partition (a folder of Parquet files written
    by ``split``); its findings go to ``<d>.findings.parquet``. The same function runs in this
    process (``run_partitioned``) and on a Dask worker (``dermaudit.cluster``)."""
    frame = pl.read_parquet(d)
    sframe, numeric = _stringify(frame)
    raw = RawFile(d, d.name, "", "parquet", sframe, numeric_columns=numeric)
    ing = load_raw(
        [(raw, d)],
        overrides=overrides,
        payer_rules=payer_rules,
        payer_exact=payer_exact,
        today=today,
        only_map=only_map,
    )
    del frame, sframe, raw
    pstats: dict[str, list[pl.DataFrame]] = {}
    res = engine.run(ing, ref, rules, include_dq=include_dq, provider_stats=pstats)
    # spilled to disk: 100M lines give 1.5M findings, which held in memory as one frame
    # per partition (and again while merging) pushed the peak past 4 GiB
    spill = d.with_name(f"{d.name}.findings.parquet")
    billed = finding_charges(res.findings, ing.lines)
    res.findings.with_columns(
        billed if billed is not None else pl.lit(None, pl.Float64).alias("charge"),
    ).rename({"charge": BILLED}).write_parquet(spill)
    return PartOutput(
        findings=spill,
        stats=res.stats,
        pstats=pstats,
        counts=res.line_counts,
        notes=[x for x in ing.notes if not x.startswith(f"{d.name}: ")],
        aside=dict(ing.set_aside_by_file),
        sites=list(ing.sites),
        present=set(ing.present),
        skipped=dict(res.rules_skipped),
        rules_run=list(res.rules_run),
        rows=ing.rows_total,
    )


def part_dirs(tmp: Path) -> list[Path]:
    return sorted(d for d in tmp.iterdir() if d.is_dir())


class Runner(Protocol):
    """Where the partitions are audited: ``run`` calls ``audit_partition(d, ref, rules,
    **options)`` for every partition folder and yields ``(index, output)`` as each is done, in
    any order. ``partitions`` picks the partition count when the caller did not."""

    def partitions(self, auto: int) -> int: ...

    def run(
        self, parts: list[Path], ref: RefData, rules: list[Rule], options: dict[str, Any]
    ) -> Iterator[tuple[int, PartOutput]]: ...


class InProcess:
    """The local engine: one partition after the other, in this process."""

    def partitions(self, auto: int) -> int:
        return auto

    def run(
        self, parts: list[Path], ref: RefData, rules: list[Rule], options: dict[str, Any]
    ) -> Iterator[tuple[int, PartOutput]]:
        for i, d in enumerate(parts):
            yield i, audit_partition(d, ref, rules, **options)


def run_partitioned(
    paths: list[str],
    ref: RefData,
    rules: list[Rule],
    *,
    partitions: int | None = None,
    overrides: dict[str, Any] | None = None,
    payer_rules: list[tuple[str, list[str]]] | None = None,
    payer_exact: dict[str, str] | None = None,
    include_dq: bool = True,
    progress: Callable[[int, int, int], None] | None = None,
    today: date | None = None,
    workdir: Path | None = None,
    runner: Runner | None = None,
) -> engine.ScanResult:
    """The partitioned scan: split by patient hash, audit every partition with ``runner``
    (default: in this process; ``cluster.DaskRunner`` on a Dask cluster), merge."""
    runner = runner or InProcess()
    files = expand_paths(paths)
    n = partitions or runner.partitions(auto_partitions(files))
    tmp = Path(tempfile.mkdtemp(prefix="dermaudit-parts-", dir=workdir))
    options: dict[str, Any] = {
        "overrides": overrides,
        "payer_rules": payer_rules,
        "payer_exact": payer_exact,
        "include_dq": include_dq,
        "today": today,
    }
    try:
        infos = split(files, n, tmp, overrides)
        maps = [i.mapping for i in infos]
        if all(m == maps[0] for m in maps):
            # the roles found on the sample before the split are every partition's roles:
            # no partition judges its columns again (0.3 s each, and a partition's values
            # could suggest another role than the whole file's)
            options.update(overrides=maps[0], only_map=True)
        parts = part_dirs(tmp)
        outs: dict[int, PartOutput] = {}
        done_rows = 0
        for i, out in runner.run(parts, ref, rules, options):
            outs[i] = out
            done_rows += out.rows
            if progress:
                progress(len(outs), len(parts), done_rows)
        return merge([outs[i] for i in range(len(parts))], infos, ref, rules)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def merge(
    outs: list[PartOutput], infos: list[FileInfo], ref: RefData, rules: list[Rule]
) -> engine.ScanResult:
    """One result from the partitions' outputs (in partition order): findings concatenated,
    provider statistics summed before the provider rules run once, counts added."""
    findings = [o.findings for o in outs]
    stats = [o.stats for o in outs]
    counts = [o.counts for o in outs]
    pstats: dict[str, list[pl.DataFrame]] = {}
    notes: list[str] = []
    sites: set[str] = set()
    aside: dict[str, int] = {}
    present: set[str] | None = None
    skipped: dict[str, str] = {}
    run_ids: list[str] = []
    for o in outs:
        for k, v in o.pstats.items():
            pstats.setdefault(k, []).extend(v)
        notes.extend(x for x in o.notes if x not in notes)
        for k, c in o.aside.items():
            aside[k] = aside.get(k, 0) + c
        sites.update(o.sites)
        present = o.present if present is None else present & o.present
        skipped.update(o.skipped)
        run_ids = o.rules_run
    prov = engine.judge_provider_rules(ref, rules, pstats, present or set())
    merged = engine.sort_findings(
        pl.concat([*(pl.read_parquet(f) for f in findings), prov], how="diagonal_relaxed")
        if findings
        else empty_findings()
    )
    billed_all = merged[BILLED] if BILLED in merged.columns else None
    merged = merged.drop(BILLED, strict=False)
    for info in infos:
        info.set_aside = aside.get(info.name, 0)
        if info.set_aside:
            notes.append(
                f"{info.name}: set aside, not charge lines: {info.set_aside} line(s) "
                "(titles, totals, repeated headers or blank lines)"
            )
    total = sum(f.rows - f.set_aside for f in infos)
    audited = sum(s["rows_audited"] for s in stats)
    payer: dict[str, int] = {}
    for s in stats:
        for k, v in s["payer_classes"].items():
            payer[k] = payer.get(k, 0) + v
    firsts = [s["first_dos"] for s in stats if s["first_dos"]]
    lasts = [s["last_dos"] for s in stats if s["last_dos"]]
    merged_stats = {
        "rows": total,
        "rows_audited": audited,
        "rows_excluded": total - audited,
        "encounters": sum(s["encounters"] for s in stats),
        "patients": sum(s["patients"] for s in stats),  # partitions never share a patient
        "providers": sorted({p for s in stats for p in s["providers"]}),
        "first_dos": min(firsts) if firsts else None,
        "last_dos": max(lasts) if lasts else None,
        "payer_classes": dict(sorted(payer.items())),
        "charges": round(sum(s["charges"] for s in stats), 2),
        "partitions": len(outs),
    }
    empty_lines = pl.DataFrame(schema={"dos": pl.Date, "patient_id": pl.String})
    ing_all = Ingested(
        lines=empty_lines,
        dq=empty_findings(),
        files=infos,
        present=present or set(),
        notes=notes,
        audited=audited,
        sites=sorted(sites),
        unmapped_roles=unmapped_of(present or set()),
    )
    return engine.ScanResult(
        findings=merged,
        ingested=ing_all,
        ref=ref,
        rules_run=run_ids,
        rules_skipped=skipped,
        stats=merged_stats,
        line_counts=merge_line_counts(counts) if counts else line_counts(empty_lines),
        finding_charges=billed_all.rename("charge")
        if billed_all is not None and "charge" in (present or set())
        else None,
    )
