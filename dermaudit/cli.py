"""Command-line interface (thin): parse options, call ingest/engine, pick a renderer."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from . import __version__
from .errors import DermauditError, Interrupted, UsageError

app = typer.Typer(
    name="dermaudit",
    help="Audit dermatology charge exports for coding and compliance errors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


class Fmt(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    text = "text"


class EngineChoice(StrEnum):
    local = "local"
    dask = "dask"


class Kind(StrEnum):
    neutral = "neutral"
    nightly = "nightly"
    pre_engagement = "pre-engagement"
    follow_up = "follow-up"


class Level(StrEnum):
    info = "info"
    review = "review"
    revenue = "revenue"
    denial = "denial"
    compliance = "compliance"
    never = "never"


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty() and os.environ.get("CI") is None


def _log_fn(enabled: bool) -> Any:
    """Timestamped progress lines on stderr. Only counts and file names: never patient data."""
    from datetime import UTC, datetime

    def log(message: str) -> None:
        if enabled:
            ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{ts} dermaudit: {message}", file=sys.stderr)

    return log


def _given(ctx: typer.Context, name: str) -> bool:
    """The user set this option on the command line (so it wins over dermaudit.toml)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A Rich progress bar on stderr (only on a terminal) fed by the library's callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        disable=not enabled,
        console=Console(stderr=True),
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield update


def _date_opt(value: str | None, name: str) -> Any:
    from datetime import date as _date

    if value is None:
        return None
    try:
        return _date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from exc


@app.command()
def scan(
    ctx: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help="Charge files (CSV, Parquet, Excel), folders or globs.")
    ],
    format: Annotated[Fmt, typer.Option("--format", "-f", help="Output format.")] = Fmt.table,
    output: Annotated[
        str, typer.Option("--output", "-o", help="Write to FILE ('-' = stdout).")
    ] = "-",
    columns: Annotated[
        Path | None, typer.Option(help="TOML column map overriding detection.")
    ] = None,
    payer_map: Annotated[
        Path | None, typer.Option(help="TOML payer-name -> payer-class map.")
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option(help="Rule ids or family prefixes to run (ALL: every rule).")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Rule ids or family prefixes to skip.")
    ] = None,
    fail_on: Annotated[
        Level, typer.Option(help="Exit 1 when a finding is at or above this severity.")
    ] = Level.review,
    ruleset: Annotated[
        list[Path] | None, typer.Option(help="Extra ruleset folder(s) layered over the defaults.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the HTML audit report here.")
    ] = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact/--no-redact",
            help="Replace patient and claim ids with pseudonyms in every output.",
        ),
    ] = False,
    redact_key: Annotated[
        Path | None,
        typer.Option(
            help="Key file for --redact.",
            show_default="$DERMAUDIT_REDACT_KEY, else ~/.config/dermaudit/redact.key",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet/--no-quiet", "-q", help="Only a one-line summary.")
    ] = False,
    top: Annotated[int, typer.Option(min=0, help="Top problems shown in the console.")] = 5,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose/--no-verbose", "-v", help="Console: full rule table, skipped rules, columns."
        ),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="Previous run's findings: mark findings new or existing (missing: all new)."
        ),
    ] = None,
    update_baseline: Annotated[
        bool,
        typer.Option(
            "--update-baseline/--no-update-baseline",
            help="After a successful scan, write this run's findings to --baseline (atomically).",
        ),
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(help="Nightly state file: the last run (default --since), one run at a time."),
    ] = None,
    wait: Annotated[
        int,
        typer.Option(min=0, help="Seconds to wait for another run on the same files (0: stop)."),
    ] = 0,
    summary_line: Annotated[
        bool,
        typer.Option(
            "--summary-line/--no-summary-line",
            help="Also print one line: new findings by severity, dollars, files and lines.",
        ),
    ] = False,
    suppressions: Annotated[
        Path | None, typer.Option(help="TOML file of waived (reviewed) findings.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Audit lines on or after this date (YYYY-MM-DD); older lines are history."
        ),
    ] = None,
    log: Annotated[
        bool, typer.Option("--log/--no-log", help="Timestamped progress lines on stderr.")
    ] = False,
    partitions: Annotated[
        int,
        typer.Option(
            min=0,
            help="Patient-hash partitions for data larger than memory "
            "(0 = automatic above 1.5M lines, 1 = in memory).",
        ),
    ] = 0,
    remits: Annotated[
        list[Path] | None,
        typer.Option(
            help="X12 835 remittance file or folder: what the payer paid or denied on each "
            "flagged line."
        ),
    ] = None,
    engine: Annotated[
        EngineChoice,
        typer.Option(help="Audit the partitions here (local) or on a Dask cluster (dask)."),
    ] = EngineChoice.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786) for --engine dask.",
            show_default="a LocalCluster on this machine",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=0, help="LocalCluster workers for --engine dask (0 = one per core).")
    ] = 0,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            help="Memory per LocalCluster worker for --engine dask (e.g. 4GiB).",
            show_default="RAM / workers",
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the temporary partitions (a remote Dask cluster: one every "
            "worker mounts).",
            show_default="the system temp folder",
        ),
    ] = None,
    practice: Annotated[
        str | None, typer.Option(help="Practice name for the report cover and summaries.")
    ] = None,
    engagement: Annotated[
        str | None, typer.Option(help="Engagement name for the report cover and summaries.")
    ] = None,
    prepared_by: Annotated[
        str | None, typer.Option(help="Who prepared the report (cover and summaries).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Period covered, as the client knows it (e.g. 'FY2025').")
    ] = None,
    report_kind: Annotated[
        Kind,
        typer.Option(help="Kind of report: its title and reading guide, never its figures."),
    ] = Kind.neutral,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file.", show_default="./dermaudit.toml if present"),
    ] = None,
) -> None:
    """Audit charge files and report findings.

    Examples:

      dermaudit scan charges.csv

      dermaudit scan charges.csv --format json -o findings.json --fail-on denial

      dermaudit scan today.csv --baseline yesterday.json --suppressions waivers.toml -q

      dermaudit scan exports/ --baseline base.json --update-baseline --state state.json \\
        --format text -o report.txt --summary-line
    """
    from .config import Settings
    from .scanner import Scan

    values = {
        "format": format.value,
        "output": Path(output),
        "columns": columns,
        "payer_map": payer_map,
        "select": _split(select),
        "ignore": _split(ignore),
        "fail_on": fail_on.value,
        "ruleset": ruleset,
        "html": html,
        "redact": redact,
        "redact_key": redact_key,
        "quiet": quiet,
        "top": top,
        "verbose": verbose,
        "baseline": baseline,
        "update_baseline": update_baseline,
        "state": state,
        "wait": wait,
        "summary_line": summary_line,
        "suppressions": suppressions,
        "since": _date_opt(since, "--since"),
        "log": log,
        "partitions": partitions,
        "remits": remits,
        "engine": engine.value,
        "scheduler": scheduler,
        "workers": workers,
        "memory_limit": memory_limit,
        "workdir": workdir,
        "practice": practice,
        "engagement": engagement,
        "prepared_by": prepared_by,
        "period": period,
        "report_kind": report_kind.value,
    }
    explicit = {k: v for k, v in values.items() if _given(ctx, k)}
    st = Settings.resolve(explicit, config, discover=True)
    logger = _log_fn(st.log)
    if st.format == "parquet" and (st.output is None or str(st.output) == "-"):
        raise UsageError("--format parquet needs --output FILE (binary output)")
    job = Scan(paths, st, log=logger)
    with job.locked():  # nightly scans: one run at a time over the state and the outputs
        with _progress(_progress_enabled(st.quiet)) as progress:
            job.progress = progress
            result = job.run()
        _write_outputs(result, st, logger)
        job.commit(result)  # the baseline and the state file, after the outputs
    code = result.exit_code()
    if code:
        raise typer.Exit(code)


def _write_outputs(result: Any, st: Any, logger: Any) -> None:
    from .report import console as rconsole
    from .report.plain import summary_line

    to_stdout = st.output is None or str(st.output) == "-"
    text_on_stdout = st.format != "table" and to_stdout
    if st.format != "table":
        if to_stdout:
            sys.stdout.write(result.text(st.format))
        else:
            result.write(st.output, st.format)
            logger(f"wrote {st.format} to {st.output}")
    elif not to_stdout:
        from rich.console import Console

        from .outputs import write_text

        buf = io.StringIO()
        con = Console(file=buf, theme=rconsole.THEME, width=100, no_color=True)
        rconsole.render(result, con, top=st.top, verbose=st.verbose)
        write_text(st.output, buf.getvalue())
    if st.html is not None:
        result.to_html(st.html)
        logger(f"wrote HTML report to {st.html}")
    if st.quiet or st.summary_line:
        print(summary_line(result), file=sys.stderr if text_on_stdout else sys.stdout)
    if not st.quiet and st.format == "table" and to_stdout:
        rconsole.render(result, rconsole.make_console(), top=st.top, verbose=st.verbose)


@app.command()
def init(
    sample: Annotated[
        str | None, typer.Argument(help="A sample charge export to detect the columns from.")
    ] = None,
    path: Annotated[Path, typer.Option("--path", help="Where to write the config.")] = Path(
        "dermaudit.toml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
    key: Annotated[
        bool,
        typer.Option(
            "--key",
            help="Also make the practice's redaction key for --redact (never overwritten).",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(help="Where to write the key.", show_default="~/.config/dermaudit/redact.key"),
    ] = None,
    cron: Annotated[
        bool,
        typer.Option(
            "--cron",
            help="Set up a nightly run: baseline and state in the config, dermaudit-nightly.sh "
            "beside it, and print the cron line and systemd units.",
        ),
    ] = False,
) -> None:
    """Write a commented starter dermaudit.toml using the columns detected in SAMPLE, and/or
    the redaction key (--key).

    Examples:

      dermaudit init charges.csv

      dermaudit init --key

      dermaudit init exports/charges.csv --cron
    """
    from .config import starter
    from .ingest.columns import detect
    from .ingest.readers import expand_paths, read_file
    from .outputs import guard, write_text
    from .privacy import make_key_file

    if sample is None and not key:
        raise UsageError("give a sample charge export (dermaudit init charges.csv) or --key")
    if key:
        made = make_key_file(key_file)
        print(
            f"wrote the redaction key {made} (mode 0600); keep it safe and back it up: "
            "redacted runs match each other only with the same key"
        )
    if sample is None:
        return
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    files = expand_paths([sample])
    guard([("--path", path)], files)
    raw = read_file(files[0])
    mapping = detect(raw.frame.columns).as_dict()
    values: dict[str, Any] = {"fail_on": "denial"}
    if cron:
        from .nightly import CRON_SETTINGS

        values.update(CRON_SETTINGS)
    write_text(path, starter(files[0].name, mapping, **values), private=False)
    print(f"wrote {path} ({len(mapping)} columns mapped from {files[0].name})")
    if cron:
        from .nightly import write_wrapper

        print(write_wrapper(path, sample, force=force))


@app.command()
def sample(
    paths: Annotated[list[str], typer.Argument(help="Charge files to audit and sample from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write.")] = Path(
        "chart_review_sample.csv"
    ),
    design: Annotated[
        str,
        typer.Option(
            help="findings: flagged encounters per rule x provider (charts to pull); "
            "probe: N per provider from all encounters; simple, provider, dollar: a "
            "statistically valid random sample (stratified by provider or dollar band)."
        ),
    ] = "findings",
    per_stratum: Annotated[int, typer.Option(help="findings: encounters per stratum.")] = 2,
    per_provider: Annotated[int, typer.Option(help="probe: encounters per provider.")] = 10,
    confidence: Annotated[float, typer.Option(help="Sample size: confidence level.")] = 0.90,
    precision: Annotated[
        float, typer.Option(help="Sample size: interval half-width as a share of the estimate.")
    ] = 0.25,
    error_rate: Annotated[
        float | None,
        typer.Option(help="Expected error rate [default: the scan's share of flagged encounters]."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed draws the same sample.")] = 0,
    select: Annotated[list[str] | None, typer.Option(help="Rules or families to sample.")] = None,
    columns: Annotated[Path | None, typer.Option(help="TOML column map.")] = None,
    payer_map: Annotated[Path | None, typer.Option(help="TOML payer map.")] = None,
    ruleset: Annotated[list[Path] | None, typer.Option(help="Extra ruleset folder(s).")] = None,
    redact: Annotated[
        bool, typer.Option(help="Replace patient and claim ids with keyed pseudonyms.")
    ] = False,
    redact_key: Annotated[Path | None, typer.Option(help="Key file for --redact.")] = None,
) -> None:
    """Draw a reproducible sample of encounters as a chart-review worksheet.

    Examples:

      dermaudit sample charges.csv -o pull_these_charts.csv --per-stratum 3 --seed 7

      dermaudit sample charges.csv --design probe --per-provider 10 -o probe.csv

      dermaudit sample charges.csv --design provider --confidence 0.90 --precision 0.25

    After review, fill 'audited_amount' and run 'dermaudit extrapolate FILE'.
    """
    from .config import Settings
    from .ingest.readers import expand_paths
    from .outputs import atomic_write, guard
    from .privacy import spreadsheet_safe
    from .report import svs
    from .report.sampling import draw_sample, flatten_for_csv
    from .scanner import Scan

    st = Settings(
        columns=columns,
        payer_map=payer_map,
        select=_split(select) or [],
        ruleset=ruleset or [],
        redact=redact,
        redact_key=redact_key,
        partitions=1,
    )
    job = Scan(paths, st)
    guard([("--output", output)], [*expand_paths(paths), *job.side_files()])  # before any work
    result = job.run()
    if design == "findings":
        drawn = draw_sample(result.findings, per_stratum=per_stratum, seed=seed)
        flat = flatten_for_csv(drawn)
        what = f"{drawn.height} encounter(s) (seed {seed}, {per_stratum} per stratum)"
    else:
        if result.lines is None:
            raise UsageError(
                "this sample needs every encounter in memory; rerun with --partitions 1"
            )
        flat, what = svs.sheet(
            result.lines,
            result.findings,
            result.ref,
            design=design,
            per_provider=per_provider,
            seed=seed,
            confidence=confidence,
            precision=precision,
            error_rate=error_rate,
        )
        what += f"; seed {seed}"
    atomic_write(output, lambda fh: spreadsheet_safe(flat).write_csv(fh))
    print(f"wrote {what} to {output}")
    if design != "findings":
        print(f"fill 'audited_amount' after chart review, then run: dermaudit extrapolate {output}")


@app.command()
def extrapolate(
    sample_file: Annotated[Path, typer.Argument(help="The reviewed sample CSV.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Project a reviewed sample to every encounter: error rate and overpayment with limits.

    Examples:

      dermaudit extrapolate probe.csv

      dermaudit extrapolate probe.csv -f json
    """
    from .report.extrapolate import from_csv

    est = from_csv(sample_file)
    if fmt == "json":
        sys.stdout.write(json.dumps(est.as_dict(), indent=2) + "\n")
    else:
        print("\n".join(est.lines()))


@app.command()
def inspect(
    paths: Annotated[list[str], typer.Argument(help="Charge files to inspect.")],
    columns: Annotated[
        Path | None, typer.Option(help="TOML column map overriding detection.")
    ] = None,
    payer_map: Annotated[
        Path | None, typer.Option(help="TOML payer-name -> payer-class map.")
    ] = None,
    write_columns: Annotated[
        Path | None,
        typer.Option(help="Write the column map found (TOML) to fix one line and reuse it."),
    ] = None,
) -> None:
    """Show every column's role with the runner-up and the evidence, then the rows, dates,
    payers and providers, and the rules that cannot run. Exit 0 even when a required column
    is missing (it is named).

    Examples:

      dermaudit inspect charges.csv

      dermaudit inspect charges.csv --write-columns columns.toml
    """
    from rich.markup import escape
    from rich.table import Table

    from .api import inspect as inspect_api
    from .ingest.x12 import inspect_files
    from .outputs import guard, write_text
    from .report.console import make_console

    if inspect_files(paths):  # X12 claim files: envelope, claim versions and validation
        return
    ins = inspect_api(paths, columns=columns, payer_map=payer_map)
    con = make_console()
    for fi in ins.files:
        head = f"header on line {fi.header_line}" if fi.header_line else "no header row"
        con.print(
            f"[bold]{escape(fi.name)}[/] ({fi.format}, {fi.rows:,} lines, {head}, "
            f"sha256 {fi.sha256[:16]}...)"
        )
        if fi.delimiter:
            con.print(f"  delimiter {fi.delimiter!r}, encoding {fi.encoding}")
        t = Table(show_edge=False, pad_edge=False)
        for head_name in ("column", "role", "conf.", "runner-up", "evidence"):
            t.add_column(head_name, overflow="fold")
        for col in fi.columns:
            role = col.role or "[dim]-[/]"
            conf = f"{col.score:.0%}" + ("" if col.confident or not col.role else " low")
            ru = f"{col.runner_up} {col.runner_up_score:.0%}" if col.runner_up else ""
            t.add_row(escape(col.column), role, conf, ru, escape("; ".join(col.evidence)))
        con.print(t)
        if fi.missing_required:
            con.print(
                f"[red]missing required:[/] {', '.join(fi.missing_required)} — name them in "
                "--columns (see --write-columns)"
            )
        if fi.unmapped_optional:
            con.print(f"not found (optional): {', '.join(fi.unmapped_optional)}")
    if ins.complete:
        excluded = ins.rows - ins.rows_usable
        con.print(f"Rows: {ins.rows:,} ({ins.rows_usable:,} usable, {excluded:,} excluded)")
        if ins.rows_usable:
            con.print(f"Dates of service: {ins.first_dos!s} to {ins.last_dos!s}")
            con.print(
                "Payer classes: " + ", ".join(f"{a} {b:,}" for a, b in ins.payer_classes.items())
            )
            con.print(
                "Providers: " + escape(", ".join(f"{a} ({b:,})" for a, b in ins.providers.items()))
            )
        cannot = [f"{rid} (needs {', '.join(c)})" for rid, c in ins.rules_cannot_run.items()]
        con.print("Rules that cannot run: " + (", ".join(cannot) if cannot else "none"))
    for n in ins.notes:
        con.print(f"[yellow]note:[/] {escape(n)}")
    if write_columns is not None:
        from .ingest.readers import expand_paths

        guard([("--write-columns", write_columns)], expand_paths(paths))
        write_text(write_columns, ins.columns_toml(), private=False)
        con.print(f"wrote {escape(str(write_columns))}")


@app.command("rules")
def rules_cmd(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """List the rule catalogue."""
    from rich.table import Table

    from .api import catalogue
    from .report.console import make_console

    rows = catalogue()
    if format == "json":
        sys.stdout.write(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
        return
    t = Table(title=f"{len(rows)} rules", show_edge=False)
    for c in ("id", "severity", "conf", "money", "needs", "title"):
        t.add_column(c)
    for r in rows:
        t.add_row(r.id, r.severity, r.confidence, r.money, ",".join(r.requires), r.title)
    make_console().print(t)


@app.command("rule")
def rule_cmd(rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. DEST-002.")]) -> None:
    """Explain one rule: what it flags, why it matters, example, compliant billing, source."""
    from rich.markdown import Markdown

    from .api import rule
    from .report.console import make_console

    r = rule(rule_id)
    md = [
        f"# {r.id} — {r.title}",
        "",
        f"Severity **{r.severity}** · confidence **{r.confidence}** · money **{r.money}** · "
        f"level {r.level}" + (f" · needs {', '.join(r.requires)}" if r.requires else ""),
        "",
    ]
    if r.scope:
        unit = "patients" if r.level == "history" else "days"
        md += [f"Runs on the {unit} with a line of: {', '.join(r.scope)}.", ""]
    for k, v in r.docs.items():
        md += [f"## {k}", "", v, ""]
    make_console().print(Markdown("\n".join(md)))


waivers_app = typer.Typer(
    help="Waivers (reviewed findings): list them with their status, prune stale ones.",
    no_args_is_help=True,
)
app.add_typer(waivers_app, name="waivers")


def _waiver_files(file: Path | None, config: Path | None) -> tuple[Path, Any]:
    """The waivers file (--file, else ``suppressions`` in the config) and the last run
    recorded in the config's state file (or None)."""
    from .config import Settings
    from .nightly import read_state

    st = Settings.resolve({}, config, discover=True)
    path = file or st.suppressions
    if path is None:
        raise UsageError("no waivers file: pass --file FILE or set suppressions in dermaudit.toml")
    last = read_state(st.state).last_run if st.state is not None else None
    with contextlib.suppress(ValueError):  # relative to the working folder when inside it
        path = Path(path).absolute().relative_to(Path.cwd())
    return path, last


@waivers_app.command("list")
def waivers_list(
    file: Annotated[
        Path | None, typer.Option("--file", help="Waivers file.", show_default="suppressions")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file.", show_default="./dermaudit.toml if present"),
    ] = None,
) -> None:
    """Show every waiver: active, expired, or matching nothing in the last recorded run."""
    from datetime import date as _date

    from .report.plain import waiver_lines
    from .waivers import review

    path, last = _waiver_files(file, config)
    _, statuses = review(path, _date.today(), last)
    for line in waiver_lines(path, statuses):
        print(line)


@waivers_app.command("prune")
def waivers_prune(
    file: Annotated[
        Path | None, typer.Option("--file", help="Waivers file.", show_default="suppressions")
    ] = None,
    unused: Annotated[
        bool, typer.Option(help="Also remove waivers that matched nothing in the last run.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Only show what would be removed.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file.", show_default="./dermaudit.toml if present"),
    ] = None,
) -> None:
    """Remove expired waivers from the file (atomically; other text and comments are kept)."""
    from datetime import date as _date

    from .report.plain import waiver_lines
    from .waivers import prune

    path, last = _waiver_files(file, config)
    removed = prune(path, _date.today(), last, unused=unused, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    print(f"{path}: {verb} {len(removed)} waiver(s)")
    for line in waiver_lines(path, removed, header=False):
        print(line)


refdata_app = typer.Typer(
    help="Reference data: list what is loaded, import CMS files.", no_args_is_help=False
)
app.add_typer(refdata_app, name="refdata")


@refdata_app.callback(invoke_without_command=True)
def refdata_list(
    ctx: typer.Context,
    ruleset: Annotated[list[Path] | None, typer.Option(help="Extra ruleset folder(s).")] = None,
) -> None:
    """List the reference tables, their rows, provenance and vintage."""
    if ctx.invoked_subcommand:
        return
    from rich.markup import escape
    from rich.table import Table

    from .refdata import load_refdata
    from .report.console import make_console

    ref = load_refdata(ruleset)
    con = make_console()
    con.print(
        f"[bold]{escape(ref.name)}[/] {escape(ref.version)} from "
        + escape(", ".join(str(d) for d in ref.dirs))
    )
    t = Table(show_edge=False)
    for c in ("table", "rows", "source"):
        t.add_column(c, overflow="fold")
    for name, df in ref.tables.items():
        prov = ref.provenance.get(name, [])
        t.add_row(escape(name), f"{df.height:,}", escape(" ".join(prov[:2])) if prov else "-")
    con.print(t)
    for k, v in ref.vintages.items():
        con.print(f"  {escape(k)}: {escape(v)}")
    from .refdata_import import import_layers

    for info in import_layers(ref.dirs[1:]):
        for line in info.lines():
            con.print(f"  {escape(line)}")
        for w in info.warnings():
            con.print(f"[yellow]warning:[/] {escape(w)}")


@refdata_app.command("import")
def refdata_import(
    files: Annotated[list[Path], typer.Argument(help="Downloaded CMS files, zips or folders.")],
    into: Annotated[
        Path, typer.Option("--into", help="Ruleset folder to write (use it with --ruleset).")
    ],
    since: Annotated[
        str | None, typer.Option(help="Drop edits deleted before this date (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Import NCCI PTP, MUE, add-on code and PFS RVU files into a ruleset folder.

    Examples:

      dermaudit refdata import ccipra-v313r0-f*.txt --into cms2025q4

      dermaudit refdata import MCR_MUE_PractitionerServices_Eff_10-01-2025.csv --into cms2025q4

      dermaudit scan charges.csv --ruleset cms2025q4
    """
    from .refdata_import import import_files

    rep = import_files(files, into, since=_date_opt(since, "--since"))
    for line in rep.lines():
        print(line)


_REAL_STDERR: list[int] = []  # the stderr descriptor, kept aside once a signal arrives


def _mute_native_stderr() -> None:
    """On Ctrl-C or SIGTERM, point the stderr descriptor at /dev/null before unwinding: the
    Polars streaming engine's worker threads print Rust panic messages
    ("__POLARS_ABORT_KEYBOARD_INTERRUPT") when a query is aborted, before or after the one
    line the CLI prints. That line goes to the descriptor kept aside (``_say``)."""
    if _REAL_STDERR:
        return
    try:
        sys.stderr.flush()
        _REAL_STDERR.append(os.dup(2))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no stderr descriptor: nothing to protect
        pass


def _say(line: str) -> None:
    """One line to the user's stderr, also after ``_mute_native_stderr``."""
    if _REAL_STDERR:
        os.write(_REAL_STDERR[0], (line + "\n").encode("utf-8", "replace"))
    else:
        print(line, file=sys.stderr)


def _interrupted(signum: int, frame: Any) -> None:
    _mute_native_stderr()
    raise KeyboardInterrupt


def _terminated(signum: int, frame: Any) -> None:
    _mute_native_stderr()
    raise Interrupted(signum)


def main() -> None:
    """Run the CLI: exit 0 (clean), 1 (findings at or above --fail-on), 2 (usage, input,
    config or output error: one line on stderr), 130 (Ctrl-C), 143 (SIGTERM). Temporary
    files are removed on every path out."""
    import signal

    try:  # Typer >= 0.20 vendors Click as typer._click; older Typer uses Click itself
        from typer import _click as click
    except ImportError:  # pragma: no cover
        import click  # type: ignore[no-redef,import-not-found,unused-ignore]

    argv = sys.argv[1:]
    debug = "--debug" in argv or os.environ.get("DERMAUDIT_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    if "--version" in argv:
        print(f"dermaudit {__version__}")
        sys.exit(0)
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, _interrupted)
    code = 0
    try:
        rv = app(args=argv, prog_name="dermaudit", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
        if code == 130:  # Typer turns Ctrl-C (KeyboardInterrupt) into exit code 130
            _say("dermaudit: interrupted; no output was left half-written")
    except click.exceptions.NoArgsIsHelpError:
        code = 0  # the help was printed
    except click.exceptions.UsageError as exc:
        if debug:
            raise
        cmd = exc.ctx.command_path if exc.ctx else "dermaudit"
        msg = " ".join(exc.format_message().split())
        print(f"dermaudit: error: {msg} (see '{cmd} --help')", file=sys.stderr)
        code = 2
    except click.exceptions.ClickException as exc:
        if debug:
            raise
        print(f"dermaudit: error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        code = 2
    except typer.Abort:  # Click's answer to Ctrl-C
        _say("dermaudit: interrupted; no output was left half-written")
        code = 130
    except DermauditError as exc:
        if debug:
            raise
        print(f"dermaudit: error: {exc}", file=sys.stderr)
        code = 2
    except pl.exceptions.PolarsError as exc:
        if debug:
            raise
        # the message of a Polars error may quote cell values (patient data): not printed
        print(
            f"dermaudit: error: could not process the input ({type(exc).__name__}); "
            "rerun with --debug to see the details",
            file=sys.stderr,
        )
        code = 2
    except BrokenPipeError:
        code = 0
    except KeyboardInterrupt:
        _say("dermaudit: interrupted; no output was left half-written")
        code = 130
    except Interrupted:
        _say("dermaudit: terminated; no output was left half-written")
        code = 143
    except Exception as exc:
        if debug:
            raise
        print(
            f"dermaudit: internal error ({type(exc).__name__}); rerun with --debug and report it",
            file=sys.stderr,
        )
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
