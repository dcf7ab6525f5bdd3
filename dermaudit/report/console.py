"""Rich console summary (the only module besides the CLI that prints).

Reads in one screen, top to bottom:

1. the verdict: files, lines, dates of service, findings, dollars over / under / either (the
   de-duplicated figures of ``summary.summarize``, the same as the JSON and the HTML report);
2. the top problems: one per rule, costliest first, each with an example claim and the fix;
3. a compact table by code family;

then the columns used, data-quality notes and skipped rules. ``verbose=True`` adds the full
rule table and the costliest individual findings. Long lines wrap under their own text
(a two-column grid), never back to the left margin.

Every string that comes from the data (provider names, claim ids, file names, messages,
suggestions, column names) is printed as a ``rich.text.Text``, which Rich never parses for
markup (the markup strings here are constants), so text such as ``[/]`` or ``[link=...]``
in an export is printed as it is, never read as markup or a link. Colour
follows Rich's rules: none when ``NO_COLOR`` is set or the output is not a terminal.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

from ..engine import ScanResult
from ..rules.base import FAMILIES
from .engagement import Engagement
from .summary import annotated, is_dq, summarize

THEME = Theme(
    {
        "sev.compliance": "bold red",
        "sev.denial": "red",
        "sev.revenue": "yellow",
        "sev.review": "cyan",
        "sev.info": "dim",
        "money": "green",
        "money.over": "bold red",
        "money.under": "bold blue",
        "money.either": "bold yellow",
        "rule": "bold",
        "path": "magenta",
        "head": "bold",
    }
)
TOP = 5
MONEY_WORD = {"over": "over", "under": "under", "either": "either way", "none": ""}


def make_console(stderr: bool = False) -> Console:
    return Console(theme=THEME, stderr=stderr, highlight=False)


def _money(x: float | None) -> str:
    v = x or 0.0
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


def _rows_text(rows: list[int] | None, limit: int = 6) -> str:
    rows = rows or []
    shown = ", ".join(str(x) for x in rows[:limit])
    return shown + (", ..." if len(rows) > limit else "")


def _grid(indent: int = 0) -> Table:
    """Two columns: a fixed gutter and a body that wraps under itself."""
    t = Table.grid(padding=(0, 1))
    t.add_column(width=max(indent, 1), justify="right", no_wrap=True)
    t.add_column(ratio=1, overflow="fold")
    return t


def _labelled() -> Table:
    """Label column and a text column that wraps under itself (a definition list)."""
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True, style="head")
    t.add_column(ratio=1, overflow="fold")
    return t


def _dollars(x: float | None) -> str:
    v = x or 0.0
    return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"


def verdict(s: dict[str, Any], engagement: Engagement) -> Group:
    head = Text.assemble((f"dermaudit {s['dermaudit_version']}", "head"), " · ", engagement.title)
    t = _labelled()
    for k, v in engagement.lines():
        t.add_row(k, Text(v))
    files = ", ".join(str(n) for n in s["file_names"])
    t.add_row(
        "Input",
        Text.assemble(
            (files, "path"),
            f": {s['rows']:,} lines ({s['rows_audited']:,} audited, "
            f"{s['rows_excluded']:,} excluded)",
        ),
    )
    period = f"{s['first_dos']} to {s['last_dos']}" if s["first_dos"] else "no dated lines"
    plural = "s" if s["providers"] != 1 else ""
    t.add_row(
        "Period",
        Text(
            f"{period} · {s['encounters']:,} encounters · {s['patients']:,} patients · "
            f"{s['providers']} provider{plural}"
        ),
    )
    verdict_text = Text(f"{s['findings_problems']:,} findings need attention")
    share = s["encounters_with_findings_share"]
    if share:
        verdict_text.append(
            f" in {s['encounters_with_findings']:,} of {s['encounters']:,} encounters "
            f"({float(share):.1%})"
        )
    parts = [(k, v["count"]) for k, v in s["by_severity"].items() if v["count"] and k != "info"]
    if parts:
        verdict_text.append(": ")
        for i, (k, n) in enumerate(parts):
            verdict_text.append(f"{n:,} {k}", style=f"sev.{k}")
            verdict_text.append(", " if i < len(parts) - 1 else "")
    t.add_row("Verdict", verdict_text)
    bc = s["billed_charges"]
    money_text = Text()
    labels = {"over": "overbilling", "under": "uncollected", "either": "either way"}
    for i, (m, label) in enumerate(labels.items()):
        money_text.append(_money(s[f"amount_{m}"]), style=f"money.{m}")
        money_text.append(f" {label}" + (" · " if i < 2 else ""))
    t.add_row("Dollars", money_text)
    note = "Medicare national amounts (CMS PFS 2025); each line counted once"
    if s["findings_covered"]:
        note += f" ({s['findings_covered']} finding(s) covered by another on the same line)"
    if bc["available"]:
        note += (
            f"; billed charges on those lines {_dollars(bc['over'])} / "
            f"{_dollars(bc['under'])} / {_dollars(bc['either'])}"
        )
    t.add_row("", Text(note, style="dim"))
    return Group(head, t)


def _example(shown: pl.DataFrame, rule: str) -> dict[str, Any] | None:
    f = shown.filter(pl.col("rule") == rule)
    if f.height == 0:
        return None
    best = f.sort(
        [pl.col("counted").fill_null(False), pl.col("amount").fill_null(-1.0)],
        descending=[True, True],
        maintain_order=True,
    ).head(1)
    return best.to_dicts()[0]


def top_problems(s: dict[str, Any], shown: pl.DataFrame, top: int) -> Table | None:
    rules = [r for r in s["by_rule"] if not is_dq(r["rule"]) and r["severity"] != "info"]
    rules.sort(key=lambda r: (-r["amount_at_risk"], -r["count"], r["rule"]))
    rules = rules[:top]
    if not rules:
        return None
    t = _grid(3)
    for i, r in enumerate(rules, start=1):
        m = r["money"]
        head = Text.assemble(
            (r["rule"], "rule"),
            " ",
            (_money(r["amount_at_risk"]), f"money.{m}" if m in MONEY_WORD else "money"),
            f" {MONEY_WORD.get(m, '')} · ",
            (r["severity"], f"sev.{r['severity']}"),
            f" · {r['count']:,} finding{'s' if r['count'] != 1 else ''} · ",
            r["title"],
        )
        body: list[Text] = [head]
        ex = _example(shown, r["rule"])
        if ex is not None:
            where = [f"claim {ex['claim_id']}"] if ex.get("claim_id") else []
            where += [str(ex[k]) for k in ("dos", "provider") if ex.get(k)]
            rows = _rows_text(ex.get("rows"), 4)
            if rows:
                where.append(
                    ("rows " if len(s["file_names"]) == 1 else f"{ex.get('file')} rows ") + rows
                )
            if where:
                body.append(Text("e.g. " + ", ".join(where), style="dim"))
            if ex.get("suggestion"):
                body.append(Text.assemble(("Fix: ", "bold"), str(ex["suggestion"])))
            elif ex.get("message"):
                body.append(Text(str(ex["message"])))
        t.add_row(f"{i}.", Group(*body))
    return t


def family_table(s: dict[str, Any]) -> Table:
    fams: dict[str, dict[str, Any]] = {}
    for r in s["by_rule"]:
        fam = r["family"] or r["rule"].split("-")[0]
        e = fams.setdefault(
            fam, {"findings": 0, "over": 0.0, "under": 0.0, "either": 0.0, "rules": 0}
        )
        if r["severity"] != "info":
            e["findings"] += r["count"]
        for m in ("over", "under", "either"):
            e[m] += r[f"amount_{m}"]
        e["rules"] += 1
    t = Table(show_edge=False, box=None, padding=(0, 1))
    t.add_column("Family", overflow="fold", ratio=1)
    t.add_column("Rules", justify="right", no_wrap=True)
    t.add_column("Findings", justify="right", no_wrap=True)
    t.add_column("Over", justify="right", no_wrap=True)
    t.add_column("Under", justify="right", no_wrap=True)
    t.add_column("Either", justify="right", no_wrap=True)
    order = sorted(
        fams.items(), key=lambda kv: (-(kv[1]["over"] + kv[1]["under"] + kv[1]["either"]), kv[0])
    )
    for fam, e in order:
        t.add_row(
            Text(FAMILIES.get(fam, fam)),
            str(e["rules"]),
            f"{e['findings']:,}",
            _dollars(e["over"]),
            _dollars(e["under"]),
            _dollars(e["either"]),
        )
    return t


def rule_table(s: dict[str, Any]) -> Table:
    rt = Table(show_edge=False, box=None, padding=(0, 1))
    rt.add_column("Rule", no_wrap=True)
    rt.add_column("Problem", overflow="fold", ratio=1)
    rt.add_column("Severity", no_wrap=True)
    rt.add_column("Findings", justify="right", no_wrap=True)
    rt.add_column("At risk", justify="right", no_wrap=True)
    for r in s["by_rule"]:
        rt.add_row(
            Text(r["rule"], style="rule"),
            Text(r["title"]),
            Text(r["severity"], style=f"sev.{r['severity']}"),
            f"{r['count']:,}",
            _money(r["amount_at_risk"]),
        )
    return rt


def costliest_findings(shown: pl.DataFrame, top: int) -> Table | None:
    f = shown.filter(~pl.col("rule").str.starts_with("DQ") & (pl.col("severity") != "info"))
    if f.height == 0:
        return None
    worst = f.sort(["amount", "rule"], descending=[True, False], nulls_last=True).head(top)
    t = _grid(3)
    for i, r in enumerate(worst.iter_rows(named=True), start=1):
        where = f"{r['file'] or ''} rows {_rows_text(r['rows'], 8)}"
        when = f" · {r['dos']}" if r["dos"] else ""
        covered = f" · covered by {r['covered_by']}" if r.get("covered_by") else ""
        t.add_row(
            f"{i}.",
            Group(
                Text.assemble(
                    (r["rule"], "rule"),
                    " ",
                    (r["severity"], f"sev.{r['severity']}"),
                    " ",
                    (_money(r["amount"]), "money"),
                    f" · {where}{when} · {r['provider'] or ''}{covered}",
                ),
                Text(str(r["message"] or "")),
                Text("-> " + str(r["suggestion"]), style="dim") if r["suggestion"] else Text(""),
            ),
        )
    return t


def render(
    result: ScanResult,
    console: Console,
    top: int = TOP,
    *,
    engagement: Engagement | None = None,
    verbose: bool = False,
    findings: pl.DataFrame | None = None,
) -> None:
    """Print the summary of ``result``. ``findings`` is the frame whose identifiers may be
    shown (the redacted one when ``--redact`` is on); figures always come from
    ``summarize(result)``."""
    eng = engagement or Engagement()
    s = summarize(result, eng)
    shown = annotated(result.findings if findings is None else findings)
    console.print(verdict(s, eng))

    problems = top_problems(s, shown, top)
    console.print()
    if problems is None:
        console.print("[head]No problem found.[/]")
    else:
        console.print("[head]Top problems[/] (costliest first; all findings: -f csv -o FILE)")
        console.print(problems)

    if s["by_rule"]:
        console.print()
        console.print("[head]By code family[/] (dollars counted once per line)")
        console.print(family_table(s))

    if verbose:
        console.print()
        console.print("[head]Findings by rule[/]")
        console.print(rule_table(s))
        worst = costliest_findings(shown, max(top, 10))
        if worst is not None:
            console.print()
            console.print("[head]Costliest findings[/]")
            console.print(worst)

    ing = result.ingested
    console.print()
    cols = _labelled()
    for fi in ing.files:
        mp = ", ".join(
            f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in fi.mapping.items()
        )
        cols.add_row("Columns", Text(f"used in {fi.name}: {mp}", style="dim"))
    console.print(cols)
    dq = result.findings.filter(pl.col("rule").str.starts_with("DQ"))
    if dq.height or ing.notes:
        console.print("[head]Data quality[/]")
        t = _grid(1)
        for rule, n in dq.group_by("rule").len().sort("rule").iter_rows():
            t.add_row("-", Text(f"{rule}: {n:,} row(s) excluded from the coding rules"))
        for note in ing.notes:
            t.add_row("-", Text(str(note)))
        console.print(t)
    if s["rules_skipped"]:
        console.print(
            f"[head]Rules skipped[/]: {len(s['rules_skipped'])} (the export lacks a column "
            "they need; --verbose lists them)"
        )
        if verbose:
            t = _grid(1)
            for rid, why in s["rules_skipped"].items():
                t.add_row("-", Text(f"{rid}: {why}"))
            console.print(t)
    first_s, last_s = result.stats.get("first_dos"), result.stats.get("last_dos")
    for w in result.ref.stale_warnings(
        date.fromisoformat(first_s) if first_s else None,
        date.fromisoformat(last_s) if last_s else None,
    ):
        console.print(Text.assemble(("reference data may be stale: ", "yellow"), str(w)))
    if not verbose:
        console.print(
            Text("Full rule table: --verbose · HTML report: --html report.html", style="dim")
        )
