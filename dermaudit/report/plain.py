"""Plain-text renderings for scripts and cron: the one-line summary."""

from __future__ import annotations

from ..engine import ScanResult
from .summary import summarize


def summary_line(result: ScanResult) -> str:
    """``dermaudit: 412 rows, 3 findings (1 denial, 2 review), $88.95 over / $0.00 under …``"""
    s = summarize(result)
    sev = ", ".join(f"{v['count']} {k}" for k, v in s["by_severity"].items() if v["count"])
    extra = ""
    tri = result.triage
    if tri is not None and tri.baseline is not None:
        extra = f"; {tri.baseline['new']} new, {tri.baseline['fixed']} fixed"
    if tri is not None and tri.waived.height:
        extra += f"; {tri.waived.height} waived"
    return (
        f"dermaudit: {s['rows']} rows, {s['findings']} findings ({sev or 'none'}), "
        f"${s['amount_over']:,.2f} over / ${s['amount_under']:,.2f} under{extra}"
    )
