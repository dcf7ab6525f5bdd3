"""Rich console summary (the only module besides the CLI that prints)."""

from __future__ import annotations

from datetime import date

import polars as pl
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.theme import Theme

from ..engine import ScanResult
from .summary import summarize

THEME = Theme(
    {
        "sev.compliance": "bold red",
        "sev.denial": "red",
        "sev.revenue": "yellow",
        "sev.review": "cyan",
        "sev.info": "dim",
        "money": "green",
        "rule": "bold",
        "path": "magenta",
    }
)


def make_console(stderr: bool = False) -> Console:
    return Console(theme=THEME, stderr=stderr, highlight=False)


def _money(x: float | None) -> str:
    return f"${(x or 0):,.2f}"


def render(result: ScanResult, console: Console, top: int = 10) -> None:
    s = summarize(result)
    ing = result.ingested
    files = ", ".join(f.name for f in ing.files)
    head = (
        f"[path]{files}[/]: {s['rows']:,} rows ({s['rows_audited']:,} audited, "
        f"{s['rows_excluded']:,} excluded), {s['encounters']:,} patient-days, "
        f"{s['patients']:,} patients, {s['providers']} providers, "
        f"{s['first_dos']} to {s['last_dos']}\n"
        f"Ruleset {result.ref.name} {result.ref.version}; {s['rules_run']} rules run, "
        f"{len(s['rules_skipped'])} skipped"
    )
    console.print(Panel(head, title="dermaudit scan", expand=False))

    for fi in ing.files:
        mp = ", ".join(
            f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in fi.mapping.items()
        )
        console.print(f"[dim]Columns used in {fi.name}: {mp}[/]")

    sev = Table(title="Findings by severity", show_edge=False)
    sev.add_column("severity")
    sev.add_column("findings", justify="right")
    sev.add_column("dollars", justify="right")
    for name, v in s["by_severity"].items():
        if v["count"]:
            sev.add_row(f"[sev.{name}]{name}[/]", f"{v['count']:,}", _money(v["amount"]))
    console.print(sev)
    console.print(
        f"Estimated dollars at risk: overbilling exposure [money]{_money(s['amount_over'])}[/], "
        f"revenue left uncollected [money]{_money(s['amount_under'])}[/], "
        f"either direction [money]{_money(s['amount_either'])}[/]"
    )

    if s["by_rule"]:
        rt = Table(title="Findings by rule", show_edge=False)
        for c in ("rule", "title", "severity", "findings", "dollars"):
            rt.add_column(c, justify="right" if c in ("findings", "dollars") else "left")
        for r in s["by_rule"]:
            rt.add_row(
                f"[rule]{r['rule']}[/]",
                r["title"],
                f"[sev.{r['severity']}]{r['severity']}[/]",
                f"{r['count']:,}",
                _money(r["amount"]),
            )
        console.print(rt)

    f = result.findings.filter(
        ~pl.col("rule").str.starts_with("DQ") & (pl.col("severity") != "info")
    )
    if f.height:
        n = min(top, f.height)
        console.print(f"[bold]Top {n} findings by dollars[/] (all {f.height:,} in -f json/csv)")
        worst = f.sort(["amount", "rule"], descending=[True, False], nulls_last=True).head(top)
        for i, r in enumerate(worst.iter_rows(named=True), start=1):
            rows = r["rows"] or []
            shown = " ".join(str(x) for x in rows[:8]) + (" ..." if len(rows) > 8 else "")
            where = f"{r['file']} rows {shown}" if shown else str(r["file"] or "")
            when = f" · {r['dos']}" if r["dos"] else ""
            console.print(
                f"{i:>2}. [rule]{r['rule']}[/] [sev.{r['severity']}]{r['severity']}[/] "
                f"[money]{_money(r['amount'])}[/] · {where}{when} · {r['provider'] or ''}"
            )
            console.print(f"    {r['message']}", highlight=False)
            if r["suggestion"]:
                console.print(f"    [dim]→ {r['suggestion']}[/]", highlight=False)

    dq = result.findings.filter(pl.col("rule").str.starts_with("DQ"))
    if dq.height or ing.notes:
        console.print("[bold]Data quality[/]")
        for rule, n in dq.group_by("rule").len().sort("rule").iter_rows():
            console.print(f"  {rule}: {n:,} row(s) excluded from the coding rules")
        for note in ing.notes:
            console.print(f"  {note}")
    if s["rules_skipped"]:
        console.print("[bold]Rules skipped[/]")
        for rid, why in s["rules_skipped"].items():
            console.print(f"  {rid}: {why}")
    first_s, last_s = result.stats.get("first_dos"), result.stats.get("last_dos")
    for w in result.ref.stale_warnings(
        date.fromisoformat(first_s) if first_s else None,
        date.fromisoformat(last_s) if last_s else None,
    ):
        console.print(f"[yellow]reference data may be stale:[/] {w}")
