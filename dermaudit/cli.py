"""Command-line interface (thin): parse options, call ingest/engine, pick a renderer."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from . import __version__
from .errors import DermauditError, InputError, UsageError

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


class Level(StrEnum):
    info = "info"
    review = "review"
    revenue = "revenue"
    denial = "denial"
    compliance = "compliance"
    never = "never"


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _payer_map(path: Path | None) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    if path is None:
        return [], {}
    from .model import PAYER_CLASSES

    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"payer map {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"payer map {path} is not valid TOML: {exc}") from exc
    exact = {str(k): str(v) for k, v in data.get("payers", {}).items()}
    rules = [(str(r["class"]), [str(m).lower() for m in r["match"]]) for r in data.get("rule", [])]
    for cls in [*exact.values(), *(c for c, _ in rules)]:
        if cls not in PAYER_CLASSES:
            raise UsageError(
                f"payer map {path}: unknown payer class {cls!r}; "
                f"use one of {', '.join(PAYER_CLASSES)}"
            )
    return rules, exact


def _progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty() and os.environ.get("CI") is None


def load_and_run(
    paths: list[str],
    columns: Path | None,
    payer_map: Path | None,
    select: list[str],
    ignore: list[str],
    ruleset: list[Path] | None,
    quiet: bool = True,
    column_table: dict[str, str | list[str]] | None = None,
    payer_table: dict[str, str] | None = None,
    logger: Any = None,
    partitions: int = 0,
) -> Any:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from . import engine, ingest
    from .ingest.columns import load_mapping_file
    from .refdata import load_refdata

    log = logger or (lambda _m: None)
    overrides = dict(column_table or {})
    if columns:
        overrides.update(load_mapping_file(columns))
    rules_sel = engine.select_rules(select, ignore)
    ref = load_refdata(ruleset)
    p_rules, p_exact = _payer_map(payer_map)
    p_exact = {**(payer_table or {}), **p_exact}
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        transient=True,
        disable=not _progress_enabled(quiet),
        console=Console(stderr=True),
    )
    from . import partition

    n_parts = partitions if partitions > 0 else partition.auto_partitions_if_large(paths)
    if n_parts > 1:
        from rich.progress import BarColumn, MofNCompleteColumn

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            disable=not _progress_enabled(quiet),
            console=Console(stderr=True),
        )
        with bar:
            task = bar.add_task("partitions", total=n_parts)

            def tick(done: int, total: int, rows: int) -> None:
                bar.update(
                    task, completed=done, total=total, description=f"{rows:,} rows, partitions"
                )
                log(f"partition {done}/{total} done ({rows} rows)")

            log(f"larger-than-memory plan: {n_parts} patient-hash partitions")
            result = partition.run_partitioned(
                paths,
                ref,
                rules_sel,
                partitions=n_parts,
                overrides=overrides or None,
                payer_rules=p_rules + ref.payer_rules,
                payer_exact=p_exact,
                include_dq=not any(i.upper().startswith("DQ") for i in ignore),
                progress=tick,
            )
        log(f"{result.findings.height} findings from {n_parts} partitions")
        return result
    with progress:
        t = progress.add_task(f"reading {len(paths)} input(s)", total=3)
        ing = ingest.load(
            paths,
            overrides=overrides or None,
            payer_rules=p_rules + ref.payer_rules,
            payer_exact=p_exact,
        )
        log(f"read {len(ing.files)} file(s), {ing.rows_total} rows ({ing.rows_excluded} excluded)")
        progress.update(t, advance=1, description=f"{ing.rows_total:,} rows read; running rules")
        result = engine.run(
            ing, ref, rules_sel, include_dq=not any(i.upper().startswith("DQ") for i in ignore)
        )
        log(
            f"{len(result.rules_run)} rules run, {len(result.rules_skipped)} skipped, "
            f"{result.findings.height} findings in {result.timings.get('total', 0):.2f}s"
        )
        progress.update(t, advance=2, description="done")
    return result


def _iso(value: Any) -> Any:
    from datetime import date as _date

    return _date.fromisoformat(value) if isinstance(value, str) else None


def _log_fn(enabled: bool) -> Any:
    """Timestamped progress lines on stderr. Only counts and file names: never patient data."""
    from datetime import UTC, datetime

    def log(message: str) -> None:
        if enabled:
            ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{ts} dermaudit: {message}", file=sys.stderr)

    return log


@app.command()
def scan(
    paths: Annotated[
        list[str], typer.Argument(help="Charge files (CSV, Parquet, Excel), folders or globs.")
    ],
    format: Annotated[
        Fmt | None, typer.Option("--format", "-f", help="Output format [default: table].")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to FILE ('-' = stdout).")
    ] = None,
    columns: Annotated[
        Path | None, typer.Option(help="TOML column map overriding detection.")
    ] = None,
    payer_map: Annotated[
        Path | None, typer.Option(help="TOML payer-name -> payer-class map.")
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option(help="Rule ids or family prefixes to run.")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Rule ids or family prefixes to skip.")
    ] = None,
    fail_on: Annotated[
        Level | None,
        typer.Option(help="Exit 1 when a finding is at or above this severity [default: review]."),
    ] = None,
    ruleset: Annotated[
        list[Path] | None, typer.Option(help="Extra ruleset folder(s) layered over the defaults.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the HTML audit report here.")
    ] = None,
    redact: Annotated[
        bool | None,
        typer.Option(
            "--redact/--no-redact", help="Replace patient and claim ids with salted hashes."
        ),
    ] = None,
    quiet: Annotated[
        bool | None, typer.Option("--quiet/--no-quiet", "-q", help="Only a one-line summary.")
    ] = None,
    top: Annotated[
        int | None, typer.Option(help="Top findings shown in the console [default: 10].")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Previous JSON output: report only new findings.")
    ] = None,
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
        bool | None, typer.Option("--log/--no-log", help="Timestamped progress lines on stderr.")
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="Patient-hash partitions for data larger than memory "
            "(0 = automatic above 1.5M lines, 1 = in memory)."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Config file [default: ./dermaudit.toml if present].")
    ] = None,
) -> None:
    """Audit charge files and report findings.

    Examples:

      dermaudit scan charges.csv

      dermaudit scan charges.csv --format json -o findings.json --fail-on denial

      dermaudit scan today.csv --baseline yesterday.json --suppressions waivers.toml -q
    """
    from datetime import date as _date

    from rich.console import Console

    from .config import find_config, load_config
    from .engine import at_or_above
    from .model import Severity
    from .report import console as rconsole
    from .report import export
    from .triage import load_waivers, triage

    cfg = load_config(find_config(config))
    fmt = Fmt(cfg.get("format", format.value if format else None, "table"))
    output = cfg.get("output", output)
    columns_opt = cfg.get("columns", columns)
    payer_map = cfg.get("payer_map", payer_map)
    select_l = _split(cfg.get("select", select, []))
    ignore_l = _split(cfg.get("ignore", ignore, []))
    fail_level = Level(cfg.get("fail_on", fail_on.value if fail_on else None, "review"))
    ruleset_l = [Path(p) for p in cfg.get("ruleset", ruleset, [])]
    html = cfg.get("html", html)
    redact_b = bool(cfg.get("redact", redact, False))
    quiet_b = bool(cfg.get("quiet", quiet, False))
    top_n = int(cfg.get("top", top, 10))
    baseline_p = cfg.get("baseline", baseline)
    suppress_p = cfg.get("suppressions", suppressions)
    since_s = cfg.get("since", since)
    logger = _log_fn(bool(cfg.get("log", log, False)))
    try:
        since_d = _date.fromisoformat(str(since_s)) if since_s else None
    except ValueError as exc:
        raise UsageError(f"--since {since_s!r} is not a date; use YYYY-MM-DD") from exc
    if cfg.path:
        logger(f"config {cfg.path}")
    waivers = load_waivers(Path(suppress_p)) if suppress_p else None

    result = load_and_run(
        paths,
        Path(columns_opt) if columns_opt else None,
        Path(payer_map) if payer_map else None,
        select_l,
        ignore_l,
        ruleset_l,
        quiet=quiet_b,
        column_table=cfg.columns,
        payer_table=cfg.payers,
        logger=logger,
        partitions=int(cfg.get("partitions", partitions, 0)),
    )
    tri = triage(
        result.findings,
        since=since_d,
        per_payer=cfg.per_payer,
        waivers=waivers,
        baseline_path=Path(baseline_p) if baseline_p else None,
        first_dos=_iso(result.stats.get("first_dos")),
        last_dos=_iso(result.stats.get("last_dos")),
    )
    result.findings = tri.findings
    result.triage = tri
    result.ingested.notes.extend(tri.notes)
    findings = tri.findings
    if redact_b:
        salt = os.environ.get("DERMAUDIT_SALT") or export.new_salt()
        findings = export.redact(findings, salt)
        tri.waived = export.redact(tri.waived, salt)
        if tri.fixed is not None and tri.fixed.height:
            tri.fixed = export.redact(tri.fixed, salt)
    logger(f"{findings.height} findings after triage ({tri.waived.height} waived)")
    to_stdout = output in (None, "-")
    machine_on_stdout = fmt != Fmt.table and to_stdout
    if fmt == Fmt.parquet and to_stdout:
        raise UsageError("--format parquet needs --output FILE (binary output)")
    if fmt != Fmt.table:
        text = export.write(result, fmt.value, None if to_stdout else Path(str(output)), findings)
        if text is not None:
            sys.stdout.write(text)
        else:
            logger(f"wrote {fmt.value} to {output}")
    elif not to_stdout:
        with open(str(output), "w", encoding="utf-8") as fh:
            con = Console(file=fh, theme=rconsole.THEME, width=160)
            rconsole.render(result, con, top=top_n)
    if html is not None:
        from .report import html as rhtml

        rhtml.write_html(result, Path(html), findings=findings, redacted=redact_b)
        logger(f"wrote HTML report to {html}")
    gate = findings
    if tri.baseline is not None:
        gate = findings.filter(pl.col("status") == "new")
    if quiet_b:
        from .report.summary import summarize

        s = summarize(result)
        sev = ", ".join(f"{v['count']} {k}" for k, v in s["by_severity"].items() if v["count"])
        extra = ""
        if tri.baseline is not None:
            extra = f"; {tri.baseline['new']} new, {tri.baseline['fixed']} fixed"
        if tri.waived.height:
            extra += f"; {tri.waived.height} waived"
        line = (
            f"dermaudit: {s['rows']} rows, {s['findings']} findings ({sev or 'none'}), "
            f"${s['amount_over']:,.2f} over / ${s['amount_under']:,.2f} under{extra}"
        )
        print(line, file=sys.stderr if machine_on_stdout else sys.stdout)
    elif fmt == Fmt.table and to_stdout:
        rconsole.render(result, rconsole.make_console(), top=top_n)
    if fail_level != Level.never and at_or_above(gate, Severity(fail_level.value)).height:
        raise typer.Exit(1)


@app.command()
def init(
    sample: Annotated[
        str, typer.Argument(help="A sample charge export to detect the columns from.")
    ],
    path: Annotated[Path, typer.Option("--path", help="Where to write the config.")] = Path(
        "dermaudit.toml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter dermaudit.toml using the columns detected in SAMPLE."""
    from .config import starter
    from .ingest.columns import detect
    from .ingest.readers import expand_paths, read_file

    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    files = expand_paths([sample])
    raw = read_file(files[0])
    mapping = detect(raw.frame.columns).as_dict()
    path.write_text(starter(files[0].name, mapping), encoding="utf-8")
    print(f"wrote {path} ({len(mapping)} columns mapped from {files[0].name})")


@app.command()
def sample(
    paths: Annotated[list[str], typer.Argument(help="Charge files to audit and sample from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write.")] = Path(
        "chart_review_sample.csv"
    ),
    per_stratum: Annotated[int, typer.Option(help="Encounters drawn per rule x provider.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed: the same seed draws the same sample.")] = 0,
    select: Annotated[list[str] | None, typer.Option(help="Rules or families to sample.")] = None,
    columns: Annotated[Path | None, typer.Option(help="TOML column map.")] = None,
    payer_map: Annotated[Path | None, typer.Option(help="TOML payer map.")] = None,
    ruleset: Annotated[list[Path] | None, typer.Option(help="Extra ruleset folder(s).")] = None,
    redact: Annotated[bool, typer.Option(help="Hash patient and claim ids.")] = False,
) -> None:
    """Draw a reproducible chart-review sample of encounters, stratified by rule and provider.

    Examples:

      dermaudit sample charges.csv -o pull_these_charts.csv --per-stratum 3 --seed 7
    """
    from .report import export
    from .report.sampling import draw_sample, flatten_for_csv

    result = load_and_run(paths, columns, payer_map, _split(select), [], ruleset, quiet=True)
    findings = result.findings
    if redact:
        findings = export.redact(findings, os.environ.get("DERMAUDIT_SALT") or export.new_salt())
    drawn = draw_sample(findings, per_stratum=per_stratum, seed=seed)
    flatten_for_csv(drawn).write_csv(output)
    print(f"wrote {drawn.height} encounter(s) to {output} (seed {seed}, {per_stratum} per stratum)")


@app.command()
def inspect(
    paths: Annotated[list[str], typer.Argument(help="Charge files to inspect.")],
    columns: Annotated[
        Path | None, typer.Option(help="TOML column map overriding detection.")
    ] = None,
    payer_map: Annotated[
        Path | None, typer.Option(help="TOML payer-name -> payer-class map.")
    ] = None,
) -> None:
    """Show the detected columns, rows, dates, payers, providers and rules that cannot run."""
    from .engine import select_rules
    from .ingest import load
    from .ingest.columns import load_mapping_file
    from .refdata import load_refdata
    from .report.console import make_console

    ref = load_refdata()
    p_rules, p_exact = _payer_map(payer_map)
    ing = load(
        paths,
        overrides=load_mapping_file(columns) if columns else None,
        payer_rules=p_rules + ref.payer_rules,
        payer_exact=p_exact,
    )
    con = make_console()
    for fi in ing.files:
        con.print(f"[bold]{fi.name}[/] ({fi.format}, {fi.rows:,} rows, sha256 {fi.sha256[:16]}...)")
        if fi.delimiter:
            con.print(f"  delimiter {fi.delimiter!r}, encoding {fi.encoding}")
        for k, v in fi.mapping.items():
            con.print(f"  {k:<15} <- {', '.join(v) if isinstance(v, list) else v}")
    lines = ing.lines
    con.print(f"Rows: {ing.rows_total:,} ({lines.height:,} usable, {ing.rows_excluded:,} excluded)")
    if lines.height:
        first, last = lines["dos"].min(), lines["dos"].max()
        con.print(f"Dates of service: {first!s} to {last!s}")
        pcs = lines.group_by("payer_class").len().sort("len", descending=True)
        con.print("Payer classes: " + ", ".join(f"{a} {b:,}" for a, b in pcs.iter_rows()))
        prov = lines.group_by("provider").len().sort("len", descending=True)
        con.print("Providers: " + ", ".join(f"{a} ({b:,})" for a, b in prov.iter_rows()))
    cannot = [
        f"{r.id} (needs {', '.join(c for c in r.requires if c not in ing.present)})"
        for r in select_rules()
        if any(c not in ing.present for c in r.requires)
    ]
    con.print("Rules that cannot run: " + (", ".join(cannot) if cannot else "none"))
    for n in ing.notes:
        con.print(f"[yellow]note:[/] {n}")


@app.command("rules")
def rules_cmd(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """List the rule catalogue."""
    from rich.table import Table

    from .report.console import make_console
    from .rules.base import RULES

    rows = [RULES[k] for k in sorted(RULES)]
    if format == "json":
        out = [
            {
                "id": r.id,
                "family": r.family,
                "severity": str(r.severity),
                "confidence": str(r.confidence),
                "money": str(r.money),
                "title": r.title,
                "level": r.level,
                "requires": list(r.requires),
                "scope": list(r.scope),
                "docs": r.doc(),
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    t = Table(title=f"{len(rows)} rules", show_edge=False)
    for c in ("id", "severity", "conf", "money", "needs", "title"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            r.id, str(r.severity), str(r.confidence), str(r.money), ",".join(r.requires), r.title
        )
    make_console().print(t)


@app.command("rule")
def rule_cmd(rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. DEST-002.")]) -> None:
    """Explain one rule: what it flags, why it matters, example, compliant billing, source."""
    import difflib

    from rich.markdown import Markdown

    from .report.console import make_console
    from .rules.base import RULES

    rid = rule_id.upper()
    if rid not in RULES:
        close = difflib.get_close_matches(rid, list(RULES), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"unknown rule {rule_id!r}{hint} (run 'dermaudit rules')")
    r = RULES[rid]
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
    for k, v in r.doc().items():
        md += [f"## {k}", "", v, ""]
    make_console().print(Markdown("\n".join(md)))


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
    from rich.table import Table

    from .refdata import load_refdata
    from .report.console import make_console

    ref = load_refdata(ruleset)
    con = make_console()
    con.print(f"[bold]{ref.name}[/] {ref.version} from {', '.join(str(d) for d in ref.dirs)}")
    t = Table(show_edge=False)
    for c in ("table", "rows", "source"):
        t.add_column(c, overflow="fold")
    for name, df in ref.tables.items():
        prov = ref.provenance.get(name, [])
        t.add_row(name, f"{df.height:,}", " ".join(prov[:2]) if prov else "-")
    con.print(t)
    for k, v in ref.vintages.items():
        con.print(f"  {k}: {v}")
    from .refdata_import import import_layers

    for info in import_layers(ref.dirs[1:]):
        for line in info.lines():
            con.print(f"  {line}")
        for w in info.warnings():
            con.print(f"[yellow]warning:[/] {w}")


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
    from datetime import date as _date

    from .refdata_import import import_files

    try:
        since_d = _date.fromisoformat(since) if since else None
    except ValueError as exc:
        raise UsageError(f"--since {since!r} is not a date; use YYYY-MM-DD") from exc
    rep = import_files(files, into, since=since_d)
    for line in rep.lines():
        print(line)


def main() -> None:
    argv = sys.argv[1:]
    debug = "--debug" in argv or os.environ.get("DERMAUDIT_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    if "--version" in argv:
        print(f"dermaudit {__version__}")
        sys.exit(0)
    try:
        app(args=argv, prog_name="dermaudit")
    except (DermauditError, InputError) as exc:
        if debug:
            raise
        print(f"dermaudit: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except pl.exceptions.PolarsError as exc:
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"dermaudit: error: could not process the input ({first}); rerun with --debug",
            file=sys.stderr,
        )
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        print(
            f"dermaudit: internal error ({type(exc).__name__}: {str(exc)[:200]}); "
            "rerun with --debug and report it",
            file=sys.stderr,
        )
        sys.exit(2)
    sys.exit(0)


if __name__ == "__main__":
    main()
