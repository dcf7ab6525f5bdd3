"""Rich console summary, read in one screen: the verdict, the top problems with a claim and
the fix, then a compact table by family (the full rule table with ``--verbose``).

Every string that comes from the data (file names, column headers, providers, claim ids,
messages, suggestions, notes) is passed through ``rich.markup.escape`` or printed as a plain
``Text``, so a provider called ``[/]`` or ``[link=…]`` can neither break the console nor render
as markup. Wrapped lines keep their indentation at any width.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

from ..engine import ScanResult
from ..rules.base import FAMILIES
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
        "verdict": "bold",
    }
)


def make_console(stderr: bool = False, width: int | None = None) -> Console:
    """The console for the CLI; honours NO_COLOR and non-terminal output (Rich does)."""
    return Console(theme=THEME, stderr=stderr, highlight=False, width=width)


def _money(x: float | None) -> str:
    return f"${(x or 0):,.2f}"


def _indented(console: Console, text: str, style: str = "", indent: int = 4) -> None:
    """Print ``text`` with every wrapped line indented (a hanging indent)."""
    grid = Table.grid()
    grid.add_column(width=indent, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("", Text(text, style=style))
    console.print(grid)


def _markup_indented(console: Console, markup: str, indent: int = 2) -> None:
    grid = Table.grid()
    grid.add_column(width=indent, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("", markup)
    console.print(grid)


def verdict(result: ScanResult, console: Console) -> None:
    s = summarize(result)
    names = [f.name for f in result.ingested.files]
    files = names[0] if len(names) == 1 else f"{len(names)} files"
    period = f"{s['first_dos']} to {s['last_dos']}" if s["first_dos"] else "no dated lines"
    eng = s["engagement"]
    who = [eng[k] for k in ("practice", "engagement", "period") if eng[k]]
    if who or eng["kind"] != "neutral" or eng["prepared_by"]:
        by = f" · prepared by {eng['prepared_by']}" if eng["prepared_by"] else ""
        console.print(f"[bold]{escape(eng['title'])}[/]" + escape(" · ".join(["", *who]) + by))
    console.print(
        f"[bold]dermaudit[/] · [path]{escape(files)}[/] · {s['rows']:,} lines "
        f"({s['rows_excluded']:,} excluded) · {period} · {s['providers']} "
        f"provider{'' if s['providers'] == 1 else 's'}"
    )
    problems = s["findings_problems"]
    enc = s["encounters_with_findings"]
    share = s["encounters_with_findings_share"]
    pct = f" ({share:.1%})" if share is not None else ""
    console.print(
        f"[verdict]Verdict: {problems:,} problem{'' if problems == 1 else 's'} in {enc:,} of "
        f"{s['encounters']:,} encounters{pct}[/]"
    )
    money = s.get("money") or {}
    over = money.get("over", s["amount_over"])
    under = money.get("under", s["amount_under"])
    either = money.get("either", s["amount_either"])
    _markup_indented(
        console,
        f"overbilling exposure [money]{_money(over)}[/] · revenue left uncollected "
        f"[money]{_money(under)}[/] · either way [money]{_money(either)}[/]",
    )
    sev = " · ".join(
        f"[sev.{k}]{v['count']:,} {k}[/]" for k, v in s["by_severity"].items() if v["count"]
    )
    _markup_indented(console, f"by severity: {sev or 'none'}")
    rm = s.get("remits")
    if rm:
        _markup_indented(
            console,
            f"835 remits: payers denied {rm['findings_denied']:,} flagged finding"
            f"{'' if rm['findings_denied'] == 1 else 's'} ([money]{_money(rm['denied_billed'])}"
            f"[/] billed) and paid [money]{_money(rm['paid_on_overbilling_findings'])}[/] on "
            f"lines flagged as overbilling; {rm['findings_matched']:,} findings matched a "
            f"remit, {rm['claims_without_remit']:,} claim(s) have none yet",
        )
    tri = result.triage
    if tri is not None and tri.baseline is not None:
        b = tri.baseline
        _markup_indented(
            console,
            f"since the baseline: {b['new']:,} new, {b['existing']:,} existing, "
            f"{b['fixed']:,} fixed",
        )


def top_problems(result: ScanResult, console: Console, top: int) -> None:
    f = result.findings.filter(
        ~pl.col("rule").str.starts_with("DQ") & (pl.col("severity") != "info")
    )
    if not f.height or top <= 0:
        return
    n = min(top, f.height)
    console.print()
    console.print(
        f"[bold]Top {n} problems by dollars[/] (all {f.height:,} with -f json, csv or --html)"
    )
    if "counted" in f.columns:  # dollars already counted under another finding of the line
        f = f.with_columns(pl.when(pl.col("counted")).then(pl.col("amount")).alias("_rank"))
    else:
        f = f.with_columns(pl.col("amount").alias("_rank"))
    worst = f.sort(["_rank", "amount", "rule"], descending=[True, True, False], nulls_last=True)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=3, justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    for i, r in enumerate(worst.head(top).iter_rows(named=True), start=1):
        where = []
        if r["claim_id"]:
            where.append(f"claim {escape(str(r['claim_id']))}")
        if r["dos"]:
            where.append(str(r["dos"]))
        if r["provider"]:
            where.append(escape(str(r["provider"])))
        head = (
            f"[rule]{r['rule']}[/] [sev.{r['severity']}]{r['severity']}[/] "
            f"[money]{_money(r['amount'])}[/] · " + " · ".join(where)
        )
        grid.add_row(f"{i}.", head)
        grid.add_row("", Text(r["message"] or ""))
        if r["suggestion"]:
            grid.add_row("", Text(f"fix: {r['suggestion']}", style="dim"))
    console.print(grid)


def family_table(result: ScanResult, console: Console) -> None:
    s = summarize(result)
    if not s["by_rule"]:
        return
    fams: dict[str, dict[str, Any]] = {}
    for r in s["by_rule"]:
        if r["family"] == "DQ" or r["severity"] == "info":
            continue
        e = fams.setdefault(r["family"], {"n": 0, "over": 0.0, "under": 0.0, "either": 0.0})
        e["n"] += r["count"]
        for m in ("over", "under", "either"):
            e[m] += r[f"amount_{m}"]
    if not fams:
        return
    t = Table(title="Problems by family", show_edge=False, title_justify="left", padding=(0, 1))
    for c in ("family", "findings", "over", "under", "either"):
        t.add_column(c, justify="left" if c == "family" else "right", no_wrap=c != "family")
    order = sorted(fams.items(), key=lambda kv: -(kv[1]["over"] + kv[1]["under"] + kv[1]["either"]))
    for fam, e in order:
        t.add_row(
            FAMILIES.get(fam, fam),
            f"{e['n']:,}",
            _money(e["over"]),
            _money(e["under"]),
            _money(e["either"]),
        )
    console.print()
    console.print(t)


def rule_table(result: ScanResult, console: Console) -> None:
    s = summarize(result)
    if not s["by_rule"]:
        return
    rt = Table(title="Findings by rule", show_edge=False, title_justify="left")
    for c in ("rule", "title", "severity", "findings", "dollars"):
        rt.add_column(c, justify="right" if c in ("findings", "dollars") else "left")
    for r in s["by_rule"]:
        rt.add_row(
            f"[rule]{r['rule']}[/]",
            escape(r["title"]),
            f"[sev.{r['severity']}]{r['severity']}[/]",
            f"{r['count']:,}",
            _money(r["amount"]),
        )
    console.print()
    console.print(rt)


def notes(result: ScanResult, console: Console, verbose: bool) -> None:
    s = summarize(result)
    ing = result.ingested
    dq = result.findings.filter(pl.col("rule").str.starts_with("DQ"))
    if dq.height or ing.notes:
        console.print()
        console.print("[bold]Data quality[/]")
        for rule, n in dq.group_by("rule").len().sort("rule").iter_rows():
            _indented(console, f"{rule}: {n:,} row(s) excluded from the coding rules", indent=2)
        for note in ing.notes:
            _indented(console, note, indent=2)
    blocked = {r: ids for r, ids in s.get("unmapped_roles", {}).items() if ids}
    if blocked:
        console.print()
        _indented(
            console,
            "Not in the export: "
            + "; ".join(f"{r} ({len(ids)} rule(s) could not run)" for r, ids in blocked.items())
            + " — see 'dermaudit inspect'",
            indent=0,
        )
    if s["rules_skipped"]:
        console.print()
        if verbose:
            console.print("[bold]Rules skipped[/]")
            for rid, why in s["rules_skipped"].items():
                _indented(console, f"{rid}: {why}", indent=2)
        else:
            console.print(
                f"{len(s['rules_skipped'])} rule(s) skipped for missing columns "
                "(--verbose lists them)"
            )
    tables = [fi for fi in ing.files if fi.format != "x12-837p"]  # X12 roles are fixed
    for fi in tables[: None if verbose else 3]:
        mp = ", ".join(
            f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in fi.mapping.items()
        )
        _indented(console, f"Columns used in {fi.name}: {mp}", style="dim", indent=0)
    first_s, last_s = result.stats.get("first_dos"), result.stats.get("last_dos")
    for w in result.ref.stale_warnings(
        date.fromisoformat(first_s) if first_s else None,
        date.fromisoformat(last_s) if last_s else None,
    ):
        console.print(f"[yellow]reference data may be stale:[/] {escape(w)}")


def render(result: ScanResult, console: Console, top: int = 5, verbose: bool = False) -> None:
    """Verdict, top problems, family table; rule table and column mapping with ``verbose``."""
    verdict(result, console)
    top_problems(result, console, top)
    family_table(result, console)
    if verbose:
        rule_table(result, console)
    notes(result, console, verbose)
