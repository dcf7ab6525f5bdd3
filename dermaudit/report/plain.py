"""Plain-text renderings for scripts, cron and mail: the one-line summary and the text report.

Both are plain ASCII of our own plus the data's text with control characters removed (no ANSI
colour, no terminal escape from a cell value), and both count what is *new* when the scan
compared with a baseline. ``text_report`` keeps every line within 72 columns, the width mail
readers wrap at.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import polars as pl

from ..engine import ScanResult
from ..model import SEVERITY_ORDER, Severity
from .summary import COUNTED, annotated, summarize

WIDTH = 72
MONEY = ("over", "under", "either")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(v: Any) -> str:
    return CONTROL.sub(" ", "" if v is None else str(v)).strip()


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _baseline(result: ScanResult) -> dict[str, Any] | None:
    tri = result.triage
    return tri.baseline if tri is not None and tri.baseline is not None else None


def reported(result: ScanResult) -> pl.DataFrame:
    """The findings a nightly reader is told about: the new ones when a baseline was used,
    with the money columns of the summary (each line's dollars counted once)."""
    f = annotated(result.findings)
    if _baseline(result) is not None and "status" in f.columns:
        return f.filter(pl.col("status") == "new")
    return f


def _by_severity(f: pl.DataFrame) -> str:
    counts = dict(f.group_by("severity").len().iter_rows()) if f.height else {}
    parts = [f"{counts[str(s)]} {s}" for s in reversed(SEVERITY_ORDER) if counts.get(str(s))]
    return ", ".join(parts) or "none"


def _dollars(f: pl.DataFrame) -> dict[str, float]:
    return {
        m: round(float(f.filter(pl.col("money") == m).select(COUNTED.sum()).item() or 0.0), 2)
        for m in MONEY
    }


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary_line(result: ScanResult) -> str:
    """One line for cron logs and mail subjects, e.g. ``dermaudit: 3 new (1 denial, 2
    review), 1 fixed, 40 open; $88.95 over / $0.00 under / $12.00 either; 1 file,
    2,617 lines``: the new findings and their dollars (without a baseline: all findings);
    ``open`` counts every unwaived finding still there, of every date."""
    s = summarize(result)
    f = reported(result)
    base = _baseline(result)
    if base is not None:
        head = f"{f.height:,} new ({_by_severity(f)}), {base['fixed']:,} fixed, "
        head += f"{base.get('open', base['existing']):,} open"
        if base.get("missing"):
            head += " (first run: no baseline yet)"
    else:
        head = f"{_plural(f.height, 'finding')} ({_by_severity(f)})"
    d = _dollars(f)
    parts = [
        head,
        " / ".join(f"{_money(d[m])} {m}" for m in MONEY),
        f"{_plural(int(s['files']), 'file')}, {_plural(int(s['rows']), 'line')}",
    ]
    tri = result.triage
    if tri is not None and tri.waived.height:
        parts.append(f"{tri.waived.height:,} waived")
    if tri is not None and tri.expired_waivers:
        parts.append(_plural(len(tri.expired_waivers), "expired waiver"))
    return "dermaudit: " + "; ".join(parts)


def _wrap(text: str, indent: str = "   ", sub: str | None = None) -> list[str]:
    return textwrap.wrap(
        _clean(text),
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent if sub is None else sub,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _where(r: dict[str, Any]) -> str:
    claim = r.get("claim_id")
    if claim and "|" not in claim:  # ingest keys a line without a claim id patient|dos|provider
        ident = f"claim {_clean(claim)}"
    elif r.get("patient_id"):
        ident = f"patient {_clean(r['patient_id'])}"
    else:
        ident = "no claim id"
    dos = f"DOS {r['dos']}" if r.get("dos") else "no date"
    return f"{ident}, {dos}"


def _ranked(f: pl.DataFrame) -> pl.DataFrame:
    rank = {str(s): s.rank for s in SEVERITY_ORDER}
    return f.with_columns(
        pl.col("severity").replace_strict(rank, default=0, return_dtype=pl.Int64).alias("_rank")
    ).sort(
        ["_rank", "amount", "rule", "claim_id", "dos"],
        descending=[True, True, False, False, False],
        nulls_last=True,
    )


def text_report(result: ScanResult, top: int = 10, fail_on: str = "review") -> str:
    """The plain-text report for mail: what is new (top ``top`` problems with claim id and
    fix), what was fixed, and a clear "Nothing new" when all is well."""
    s = summarize(result)
    base = _baseline(result)
    f = reported(result)
    tri = result.triage
    out: list[str] = []
    eng = s["engagement"]
    who = [eng[k] for k in ("practice", "engagement", "period") if eng[k]]
    if eng["prepared_by"]:
        who.append(f"prepared by {eng['prepared_by']}")
    if who or eng["kind"] != "neutral":
        out += _wrap(" · ".join([eng["title"], *who]), "")
    span = f" (DOS {s['first_dos']} to {s['last_dos']})" if s.get("first_dos") else ""
    out += _wrap(
        f"dermaudit audit: {_plural(int(s['files']), 'file')}, "
        f"{_plural(int(s['rows']), 'line')}{span}",
        "",
    )
    if base is not None:
        line = f"Since the last run: {base['new']:,} new, {base['fixed']:,} fixed, "
        line += f"{base.get('open', base['existing']):,} open in all"
        if base.get("missing"):
            line = "First run: no baseline yet, so every finding is new."
        out += _wrap(line, "")
    if tri is not None and tri.waived.height:
        out += _wrap(f"Waived (reviewed): {tri.waived.height:,}", "")
    out.append("")
    problems = f.filter(pl.col("severity") != str(Severity.INFO)) if f.height else f
    info = f.height - problems.height
    at_or_above = [
        str(x) for x in SEVERITY_ORDER if fail_on != "never" and x.rank >= _rank(fail_on)
    ]
    urgent = problems.filter(pl.col("severity").is_in(at_or_above)).height if problems.height else 0
    word = "new" if base is not None else ""
    if not problems.height:
        if base is not None:
            out.append("Nothing new: no new problems since the last run.")
        else:
            out.append("No problems found.")
        if info:
            out += _wrap(
                f"({_plural(info, 'new information note' if base else 'information note')}"
                " in the JSON or HTML report.)",
                "",
            )
    else:
        title = f"{word.upper()} PROBLEMS".strip() if word else "PROBLEMS"
        out.append(f"{title}: {problems.height:,} ({_by_severity(problems)})")
        d = _dollars(problems)
        out.append("Dollars: " + " / ".join(f"{_money(d[m])} {m}" for m in MONEY))
        if urgent:
            out += _wrap(
                f"{_plural(urgent, 'problem')} at or above '{fail_on}': this run exits 1.", ""
            )
        shown = _ranked(problems).head(max(top, 0))
        for i, r in enumerate(shown.iter_rows(named=True), start=1):
            out.append("")
            out += _wrap(f"{i}. {str(r['severity']).upper()} {r['rule']}: {_where(r)}", "")
            detail = _clean(r.get("provider")) or "no provider"
            if r.get("codes"):
                detail += f"; {_clean(r['codes'])}"
            if r.get("amount") is not None and r.get("money") in MONEY:
                detail += f"; {_money(float(r['amount']))} {r['money']}"
            out += _wrap(detail)
            out += _wrap(str(r.get("message") or ""))
            if r.get("suggestion"):
                out += _wrap(f"Fix: {r['suggestion']}")
        rest = problems.height - shown.height
        if rest > 0:
            out.append("")
            out += _wrap(
                f"...and {_plural(rest, 'more problem')}: see the JSON or HTML report.", ""
            )
        if info:
            out += _wrap(f"(Also {_plural(info, 'information note')}.)", "")
    fixed = tri.fixed if tri is not None and tri.fixed is not None else None
    if fixed is not None and fixed.height:
        out.append("")
        out.append(f"FIXED SINCE THE LAST RUN: {fixed.height:,}")
        for r in _ranked(fixed).head(max(top, 0)).iter_rows(named=True):
            out += _wrap(f"- {r['rule']}: {_where(r)}", "")
        if fixed.height > top:
            out += _wrap(f"  ...and {fixed.height - top:,} more", "")
    notes = list(result.ingested.notes)
    if tri is not None and tri.expired_waivers:
        notes.append(
            f"{_plural(len(tri.expired_waivers), 'waiver')} expired and the findings are back; "
            "see 'dermaudit waivers list'"
        )
    if tri is not None and tri.unused_waivers:
        notes.append(
            f"{_plural(len(tri.unused_waivers), 'waiver')} matched nothing; "
            "see 'dermaudit waivers list'"
        )
    if notes:
        out.append("")
        out.append("NOTES")
        for n in notes:
            out += _wrap(n, "- ", "  ")
    return "\n".join(line.rstrip() for line in out) + "\n"


def _rank(level: str) -> int:
    try:
        return Severity(level).rank
    except ValueError:
        return len(SEVERITY_ORDER)


def waiver_lines(path: Any, statuses: list[Any], header: bool = True) -> list[str]:
    """``dermaudit waivers list``: one block per waiver (``waivers.WaiverStatus``)."""
    out: list[str] = []
    if header:
        counts: dict[str, int] = {}
        for x in statuses:
            counts[x.status] = counts.get(x.status, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        out.append(f"{_clean(path)}: {_plural(len(statuses), 'waiver')} ({parts or 'none'})")
    for x in statuses:
        w = x.waiver
        out += _wrap(f"#{w.index} {x.status:<7} {w.describe()}: {x.detail}", "  ", "      ")
        out += _wrap(f"by {w.by}: {w.reason}", "      ")
    stale = [x for x in statuses if x.stale]
    if header and stale:
        expired = sum(1 for x in stale if x.status == "expired")
        unused = len(stale) - expired
        hint = "dermaudit waivers prune" + (" --unused" if unused else "")
        out += _wrap(f"{_plural(len(stale), 'stale waiver')}: remove with '{hint}'", "")
    return out
