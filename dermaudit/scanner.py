"""One scan orchestration used by everything: inputs → ingest → execute → triage → result.

``Scan(paths, settings).run()`` is what ``dermaudit scan`` and ``dermaudit.scan()`` both do:

1. check the output paths against the inputs (nothing is ever written over an input);
2. load the reference data, the column and payer maps and the rule selection;
3. execute: in memory, or in patient-hash partitions when the input is large
   (``partition.run_partitioned``), on this machine or as Dask tasks (``cluster.DaskRunner``,
   ``engine = "dask"``); every path runs the same engine;
4. join the 835 remittances of ``remits`` to the findings (``remits.attach``, in memory);
5. triage (``--since``, per-payer selection, waivers, baseline);
6. redact, when asked, in one step before any writer sees the findings.

The returned ``ScanResult`` writes every output itself (``write``, ``to_html``), always through
``outputs.atomic_file``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from . import engine
from .config import Settings
from .errors import UsageError
from .ingest import Ingested
from .model import Severity
from .privacy import Redactor

REASON_KEPT = "(redacted: see the suppressions file)"

# progress(stage, done, total): stage is "read", "rules" or "partitions"
Progress = Callable[[str, int, int], None]
Log = Callable[[str], None]

FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}


@dataclass(frozen=True)
class Summary:
    """The headline figures of a scan (``data`` holds every figure the report prints)."""

    files: int
    rows: int
    rows_audited: int
    rows_excluded: int
    encounters: int
    patients: int
    providers: int
    first_dos: date | None
    last_dos: date | None
    findings: int
    by_severity: dict[str, int]
    amount_over: float
    amount_under: float
    amount_either: float
    data: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, s: dict[str, Any]) -> Summary:
        def d(v: Any) -> date | None:
            return date.fromisoformat(v) if isinstance(v, str) else None

        return cls(
            files=int(s["files"]),
            rows=int(s["rows"]),
            rows_audited=int(s["rows_audited"]),
            rows_excluded=int(s["rows_excluded"]),
            encounters=int(s["encounters"]),
            patients=int(s["patients"]),
            providers=int(s["providers"]),
            first_dos=d(s["first_dos"]),
            last_dos=d(s["last_dos"]),
            findings=int(s["findings"]),
            by_severity={k: int(v["count"]) for k, v in s["by_severity"].items()},
            amount_over=float(s["amount_over"]),
            amount_under=float(s["amount_under"]),
            amount_either=float(s["amount_either"]),
            data=s,
        )


@dataclass
class ScanResult(engine.ScanResult):
    """What a scan found. ``findings`` is the frame every output is written from (redacted
    when the scan was asked to redact); ``lines`` the canonical charge lines audited (``None``
    for a partitioned scan, which does not keep them)."""

    settings: Settings = field(default_factory=Settings, repr=False)
    redacted: bool = False
    inputs: list[Path] = field(default_factory=list)

    @property
    def lines(self) -> pl.DataFrame | None:
        return None if self.ingested.audited is not None else self.ingested.lines

    @property
    def summary(self) -> Summary:
        from .report.summary import summarize

        return Summary.from_dict(summarize(self))

    @property
    def new_findings(self) -> pl.DataFrame:
        """Findings not in the baseline (all findings when no baseline was given)."""
        if self.triage is not None and self.triage.baseline is not None:
            return self.findings.filter(pl.col("status") == "new")
        return self.findings

    def exit_code(self, fail_on: str | None = None) -> int:
        """1 when a (new, if a baseline was given) finding is at or above ``fail_on``."""
        level = fail_on or self.settings.fail_on
        if level == "never":
            return 0
        return 1 if engine.at_or_above(self.new_findings, Severity(level)).height else 0

    def write(self, path: str | Path, format: str | None = None) -> None:
        """Write the findings (json, jsonl, csv, parquet; or html) to ``path`` atomically.
        The format defaults to the file's suffix."""
        from .outputs import guard
        from .report import export

        dest = Path(path)
        fmt = format or FORMAT_BY_SUFFIX.get(dest.suffix.lower())
        if fmt is None:
            raise UsageError(f"cannot tell the format of {dest}; pass format='json' or similar")
        guard([("output", dest)], self.inputs)
        if fmt == "html":
            self.to_html(dest)
            return
        if fmt == "text":
            from .outputs import write_text

            write_text(dest, self.text("text"))
            return
        export.write(self, fmt, dest, self.findings)

    def text(self, format: str) -> str:
        """The findings as text (json, jsonl, csv; or text: the plain report for mail), as
        written to stdout."""
        from .report import export

        if format == "text":
            from .report.plain import text_report

            return text_report(self, top=self.settings.top, fail_on=self.settings.fail_on)
        out = export.write(self, format, None, self.findings)
        assert out is not None
        return out

    def to_html(self, path: str | Path, **options: Any) -> None:
        """Write the self-contained HTML audit report to ``path`` atomically."""
        from .outputs import guard, write_text
        from .report.html import render_html

        dest = Path(path)
        guard([("html", dest)], self.inputs)
        text = render_html(self, self.findings, self.redacted, **options)
        write_text(dest, text)

    def compare(self, baseline: str | Path) -> dict[str, int]:
        """Counts of new, existing and fixed findings against a previous JSON output."""
        from .triage import triage

        t = triage(
            self.findings.drop("fingerprint", "status", strict=False),
            baseline_path=Path(baseline),
            first_dos=_iso(self.stats.get("first_dos")),
            last_dos=_iso(self.stats.get("last_dos")),
        )
        assert t.baseline is not None
        return {k: int(t.baseline[k]) for k in ("new", "existing", "fixed")}


def datetime_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def load_payer_map(path: Path | None) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """A ``--payer-map`` file: ``[payers]`` exact names and ``[[rule]]`` keyword rules (checked
    strictly: an unknown section or key is an error, see ``userfiles``)."""
    from .userfiles import check_payer_map, load_toml

    if path is None:
        return [], {}
    text, data = load_toml(Path(path), "payer map")
    check_payer_map(Path(path), text, data)
    exact = {str(k): str(v) for k, v in data.get("payers", {}).items()}
    rules = [(str(r["class"]), [str(m).lower() for m in r["match"]]) for r in data.get("rule", [])]
    return rules, exact


class Scan:
    """One scan: the inputs and the settings, run once by ``run()``."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        settings: Settings | None = None,
        *,
        progress: Progress | None = None,
        log: Log | None = None,
        today: date | None = None,
    ) -> None:
        if not paths:
            raise UsageError("no input given; pass a charge file, a folder or a glob")
        self.paths = [str(p) for p in paths]
        self.settings = settings or Settings()
        self.progress = progress or (lambda _s, _d, _t: None)
        self.log = log or (lambda _m: None)
        self.today = today
        self.since: date | None = self.settings.since
        self._locked = False
        self._state: Any = None  # nightly.State, read under the lock
        self._baseline: Any = None  # triage.Baseline, read before the scan
        self._started = ""
        self._notes: list[str] = []  # from the run lock, for the report's notes

    def run(self) -> ScanResult:
        """Scan. A nightly scan (``state`` or ``update_baseline`` set) run outside
        ``locked()`` takes the lock itself and commits the baseline and state at the end."""
        if self.nightly and not self._locked:
            with self.locked():
                result = self._run()
                self.commit(result)
                return result
        return self._run()

    def _run(self) -> ScanResult:
        from .ingest.readers import expand_paths
        from .outputs import guard, owner_only_files

        s = self.settings
        self._started = datetime_now()
        # before any work: no key, no redacted scan; no output over any file the scan reads
        redactor = Redactor.from_environment(s.redact_key) if s.redact else None
        inputs = expand_paths(self.paths)
        written = [("--output", s.output), ("--html", s.html), ("state", s.state)]
        if s.update_baseline:
            written.append(("baseline", s.baseline))
        guard(written, [*inputs, *self.side_files()])
        if s.path:
            self.log(f"config {s.path}")
        self._prepare()
        t0 = time.perf_counter()
        with owner_only_files():  # temporary partitions hold patient data: 0600 in a 0700 folder
            raw = self._execute()
        t1 = time.perf_counter()
        if s.remits:
            self._join_remits(raw)
        result = self._triage(raw, redactor)
        result.inputs = inputs
        result.timings["triage"] = time.perf_counter() - t1
        result.timings["scan"] = time.perf_counter() - t0
        return result

    def side_files(self) -> list[Path]:
        """Every other file the scan reads (config, maps, waivers, ruleset tables): an output
        must not replace any of them either. The baseline is not one: ``-o latest.json
        --baseline latest.json`` reads the old file before the new one replaces it."""
        s = self.settings
        files = [p for p in (s.path, s.columns, s.payer_map, s.suppressions) if p is not None]
        for d in [*s.ruleset, *s.remits]:
            if Path(d).is_dir():
                files.extend(f for f in Path(d).rglob("*") if f.is_file())
            elif Path(d).is_file():
                files.append(Path(d))
        return files

    # ---- nightly runs: lock, state, baseline (see nightly.py) -------------------------------

    @property
    def nightly(self) -> bool:
        return self.settings.state is not None or self.settings.update_baseline

    def targets(self) -> list[Path]:
        """Every file this scan writes (what the run lock covers)."""
        s = self.settings
        out = [s.state, s.html, s.baseline if s.update_baseline else None]
        if s.output is not None and str(s.output) != "-":
            out.append(s.output)
        return [Path(p) for p in out if p is not None]

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run lock over the state, the baseline and the outputs (nightly scans only;
        other scans do not lock). Waits up to ``settings.wait`` seconds for another run."""
        from .nightly import RunLock, remove_partials

        if not self.nightly:
            yield
            return

        def note(message: str) -> None:  # a stale lock or partial file: also a report note
            self.log(message)
            if not message.startswith("waiting"):
                self._notes.append(message)

        with RunLock(self.targets(), log=note) as lock:
            lock.acquire(self.settings.wait)
            remove_partials(self.targets(), note)
            self._locked = True
            try:
                yield
            finally:
                self._locked = False

    def _prepare(self) -> None:
        """Before any scan work: read and check the state file and the baseline (a damaged
        or foreign one stops the run here, naming the file) and choose ``--since``."""
        from .nightly import default_since, read_state
        from .triage import read_baseline

        s = self.settings
        if s.update_baseline and s.baseline is None:
            raise UsageError('--update-baseline needs the baseline path (baseline = "...")')
        self._state = read_state(s.state) if s.state is not None else None
        self._baseline = read_baseline(s.baseline, missing_ok=True) if s.baseline else None
        self.since = s.since
        if self.since is None and self._state is not None:
            self.since = default_since(self._state)
            if self.since is not None:
                self.log(f"--since {self.since}: the latest date of service of the last run")

    def commit(self, result: ScanResult) -> None:
        """After the outputs: write the baseline (``update_baseline``), then the state file,
        each atomically. Call it with the lock held (``locked()``)."""
        from .nightly import write_baseline, write_state
        from .triage import baseline_document

        s = self.settings
        tri = result.triage
        if s.update_baseline and s.baseline is not None and tri is not None:
            head, frame = baseline_document(
                tri,
                redacted=result.redacted,
                meta={
                    "written": datetime_now(),
                    "first_dos": result.stats.get("first_dos"),
                    "last_dos": result.stats.get("last_dos"),
                },
            )
            write_baseline(s.baseline, head, frame)
            self.log(f"wrote the baseline ({frame.height} findings) to {s.baseline}")
        if self._state is not None:
            write_state(self._state, self.run_record(result))
            self.log(f"recorded the run in {self._state.path}")

    def run_record(self, result: ScanResult) -> dict[str, Any]:
        """What the state file keeps about this run: dates and counts, no identifiers."""
        from . import __version__

        s = self.settings
        tri = result.triage
        base = tri.baseline if tri is not None and tri.baseline is not None else None
        b = self._baseline
        rec: dict[str, Any] = {
            "started": self._started,
            "finished": datetime_now(),
            "run_date": (self.today or date.today()).isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "since_from": None if self.since is None else ("option" if s.since else "state"),
            "first_dos": result.stats.get("first_dos"),
            "last_dos": result.stats.get("last_dos"),
            "files": len(result.ingested.files),
            "lines": int(result.stats.get("rows") or 0),
            "findings": result.findings.height,
            "new": base["new"] if base else None,
            "existing": base["existing"] if base else None,
            "fixed": base["fixed"] if base else None,
            "waived": tri.waived.height if tri is not None else 0,
            "exit_code": result.exit_code(),
            "baseline": None
            if b is None
            else ("written" if s.update_baseline else "read")
            + (" (first run)" if b.missing else ""),
            "redacted": result.redacted,
            "dermaudit_version": __version__,
        }
        if s.suppressions is not None and tri is not None:
            rec["waivers"] = {"matched": tri.waiver_matches}
        return rec

    # ---- steps ------------------------------------------------------------------------------

    def _execute(self) -> engine.ScanResult:
        from . import ingest, partition
        from .ingest.columns import load_mapping_file
        from .refdata import load_refdata

        s = self.settings
        overrides: dict[str, str | list[str]] = dict(s.column_table)
        if s.columns:
            overrides.update(load_mapping_file(s.columns))
        rules = engine.select_rules(s.select, s.ignore)
        ref = load_refdata(s.ruleset or None)
        p_rules, p_exact = load_payer_map(s.payer_map)
        p_exact = {**s.payer_table, **p_exact}
        include_dq = not any(i.upper().startswith("DQ") for i in s.ignore)
        part_opts: dict[str, Any] = {
            "overrides": overrides or None,
            "payer_rules": p_rules + ref.payer_rules,
            "payer_exact": p_exact,
            "include_dq": include_dq,
            "progress": self._partition_done,
            "today": self.today,
            "workdir": s.workdir,
        }
        if s.engine == "dask":
            from .cluster import DaskRunner, client_for

            with client_for(s.scheduler, s.workers or None, s.memory_limit) as client:
                where = (
                    s.scheduler or f"a LocalCluster of {len(client.scheduler_info()['workers'])}"
                )
                self.log(f"engine dask: {where} worker(s)")
                link = getattr(client, "dashboard_link", None) if s.scheduler else None
                if link:
                    self.log(f"Dask dashboard: {link}")
                return self._partitioned(
                    ref, rules, s.partitions or None, DaskRunner(client), part_opts
                )
        n_parts = (
            s.partitions if s.partitions > 0 else partition.auto_partitions_if_large(self.paths)
        )
        if n_parts > 1:
            self.log(f"larger-than-memory plan: {n_parts} patient-hash partitions")
            return self._partitioned(ref, rules, n_parts, partition.InProcess(), part_opts)
        self.progress("read", 0, 2)
        ing = ingest.load(
            self.paths,
            overrides=overrides or None,
            payer_rules=p_rules + ref.payer_rules,
            payer_exact=p_exact,
            today=self.today,
        )
        self.log(
            f"read {len(ing.files)} file(s), {ing.rows_total} rows ({ing.rows_excluded} excluded)"
        )
        self.progress("rules", 1, 2)
        result = engine.run(ing, ref, rules, include_dq=include_dq)
        result.timings = {**ing.timings, **result.timings}  # phase -> seconds (bench/run.py)
        self.log(
            f"{len(result.rules_run)} rules run, {len(result.rules_skipped)} skipped, "
            f"{result.findings.height} findings in {result.timings.get('total', 0):.2f}s"
        )
        self.progress("rules", 2, 2)
        return result

    def _partitioned(
        self,
        ref: Any,
        rules: list[Any],
        n_parts: int | None,
        runner: Any,
        opts: dict[str, Any],
    ) -> engine.ScanResult:
        from . import partition

        result = partition.run_partitioned(
            self.paths, ref, rules, partitions=n_parts, runner=runner, **opts
        )
        parts = result.stats["partitions"]
        self.log(f"{result.findings.height} findings from {parts} partitions")
        return result

    def _partition_done(self, done: int, total: int, rows: int) -> None:
        self.progress("partitions", done, total)
        self.log(f"partition {done}/{total} done ({rows} rows)")

    def _join_remits(self, raw: engine.ScanResult) -> None:
        """The 835 remittances of ``--remits`` joined to the findings (``remits.attach``)."""
        from .ingest.x12_835 import read_remits
        from .remits import attach

        remits = read_remits(list(self.settings.remits))
        if raw.ingested.audited is not None:
            raw.ingested.notes.append(
                "--remits: remittances are joined on in-memory scans only (this scan was "
                "partitioned); rerun with --partitions 1"
            )
            return
        raw.stats["remits"] = attach(raw, remits)
        self.log(
            f"remits: {remits.height} remit line(s), "
            f"{raw.stats['remits']['findings_matched']} finding(s) matched"
        )

    def _triage(self, raw: engine.ScanResult, redactor: Redactor | None) -> ScanResult:
        """Redaction (when asked) first, so waivers and the baseline are matched in the same
        pseudonym space as a redacted baseline; then ``triage``."""
        from .triage import load_waivers, triage
        from .userfiles import check_waivers_file

        s = self.settings
        waivers = None
        if s.suppressions:
            check_waivers_file(s.suppressions)
            waivers = load_waivers(s.suppressions)
        findings = raw.findings
        if redactor is not None:
            self._teach(redactor, raw)
            findings = redactor.frame(findings)
            if waivers:
                waivers = [
                    # a reason is the practice's free text: it may name the patient
                    dataclasses.replace(w.pseudonymised(redactor.pseudonym), reason=REASON_KEPT)
                    for w in waivers
                ]
        tri = triage(
            findings,
            since=self.since,
            per_payer=s.per_payer,
            waivers=waivers,
            baseline=self._baseline,
            first_dos=_iso(raw.stats.get("first_dos")),
            last_dos=_iso(raw.stats.get("last_dos")),
            today=self.today,
            redacted=s.redact,
        )
        ingested = raw.ingested
        ingested.notes.extend([*self._notes, *tri.notes])
        if redactor is not None:
            ingested = redact_ingested(ingested, redactor)
            if tri.baseline is not None:
                tri.baseline["file"] = "(baseline)"
            tri.notes = [redactor.text(n) for n in tri.notes]
        fields = {f.name: getattr(raw, f.name) for f in dataclasses.fields(engine.ScanResult)}
        fields.update(findings=tri.findings, triage=tri, ingested=ingested)
        result = ScanResult(**fields, settings=s, redacted=redactor is not None)
        self.log(f"{result.findings.height} findings after triage ({tri.waived.height} waived)")
        return result

    def _teach(self, r: Redactor, raw: engine.ScanResult) -> None:
        """What this scan's free text must not show besides ids: file names, input folders,
        non-anatomic site text."""
        r.learn_files(f.name for f in raw.ingested.files)
        r.learn_folders(self.paths)
        r.learn_sites(raw.ingested.sites, raw.ref.sites["keyword"].to_list())


def redact_ingested(ing: Ingested, r: Redactor) -> Ingested:
    """The input description every output prints, without file names or paths."""
    files = [
        dataclasses.replace(
            f, name=r.file_names.get(f.name, f.name), path=r.file_names.get(f.name, "")
        )
        for f in ing.files
    ]
    return dataclasses.replace(ing, files=files, notes=[r.text(n) for n in ing.notes])


def scan(
    paths: str | Path | Sequence[str | Path],
    *,
    config: str | Path | None = None,
    columns: str | Path | dict[str, str | list[str]] | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    since: date | str | None = None,
    ruleset: Sequence[str | Path] | None = None,
    payer_map: str | Path | None = None,
    payers: dict[str, str] | None = None,
    baseline: str | Path | None = None,
    suppressions: str | Path | None = None,
    redact: bool | None = None,
    redact_key: str | Path | None = None,
    partitions: int | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
) -> ScanResult:
    """Audit charge files and return what was found.

    ``paths``: files (CSV, TSV, Parquet, Excel), folders or globs. ``config``: a
    ``dermaudit.toml`` whose ``[scan]`` values fill in the arguments not given here (it is not
    looked up implicitly). ``columns``: a TOML column map or a dict (canonical name = header).
    ``select`` / ``ignore``: rule ids or family prefixes. ``since``: audit lines on or after
    this date, older lines are history. ``engine="dask"`` audits the partitions on a Dask
    cluster (``scheduler`` address, or a LocalCluster of ``workers``). Other arguments are the
    ``dermaudit scan`` options of the same name. Raises ``InputError``, ``UsageError``,
    ``ConfigError`` or ``OutputError``.

    >>> import dermaudit
    >>> result = dermaudit.scan("sample_data/charges.csv")  # doctest: +SKIP
    >>> result.findings.group_by("rule").len()  # doctest: +SKIP
    """
    explicit: dict[str, Any] = {
        "select": list(select) if select is not None else None,
        "ignore": list(ignore) if ignore is not None else None,
        "since": date.fromisoformat(since) if isinstance(since, str) else since,
        "ruleset": [Path(p) for p in ruleset] if ruleset is not None else None,
        "payer_map": Path(payer_map) if payer_map is not None else None,
        "baseline": Path(baseline) if baseline is not None else None,
        "suppressions": Path(suppressions) if suppressions is not None else None,
        "redact": redact,
        "redact_key": Path(redact_key) if redact_key is not None else None,
        "partitions": partitions,
        "engine": engine,
        "scheduler": scheduler,
        "workers": workers,
    }
    if columns is not None and not isinstance(columns, dict):
        explicit["columns"] = Path(columns)
    settings = Settings.resolve(explicit, Path(config) if config is not None else None)
    if isinstance(columns, dict):
        settings.column_table = {**settings.column_table, **columns}
    if payers:
        settings.payer_table = {**settings.payer_table, **payers}
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    return Scan(items, settings, progress=progress, log=log).run()
