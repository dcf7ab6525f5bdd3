"""Figures shared by every output, computed once from the findings frame."""

from __future__ import annotations

from typing import Any

import polars as pl

from .. import __version__
from ..engine import ScanResult
from ..model import SEVERITY_ORDER
from ..rules.base import RULES


def summarize(result: ScanResult) -> dict[str, Any]:
    f = result.findings
    by_sev = {
        str(s): {
            "count": int(f.filter(pl.col("severity") == str(s)).height),
            "amount": round(float(f.filter(pl.col("severity") == str(s))["amount"].sum() or 0), 2),
        }
        for s in reversed(SEVERITY_ORDER)
    }
    by_rule_df = (
        f.group_by("rule")
        .agg(
            pl.len().alias("count"),
            pl.col("amount").sum().round(2).alias("amount"),
            pl.col("severity").first(),
            pl.col("money").first(),
            pl.struct("patient_id", "dos", "provider").n_unique().alias("encounters"),
        )
        .sort(["amount", "count", "rule"], descending=[True, True, False])
    )
    by_rule = []
    for r in by_rule_df.iter_rows(named=True):
        rule = RULES.get(r["rule"])
        by_rule.append(
            {
                "rule": r["rule"],
                "title": rule.title if rule else "Data-quality problem",
                "severity": r["severity"],
                "money": r["money"],
                "count": r["count"],
                "encounters": r["encounters"],
                "amount": float(r["amount"] or 0.0),
            }
        )
    over = float(f.filter(pl.col("money") == "over")["amount"].sum() or 0)
    under = float(f.filter(pl.col("money") == "under")["amount"].sum() or 0)
    either = float(f.filter(pl.col("money") == "either")["amount"].sum() or 0)
    s = result.stats
    return {
        "dermaudit_version": __version__,
        "rows": s["rows"],
        "rows_audited": s["rows_audited"],
        "rows_excluded": s["rows_excluded"],
        "encounters": s["encounters"],
        "patients": s["patients"],
        "providers": len(s["providers"]),
        "first_dos": s["first_dos"],
        "last_dos": s["last_dos"],
        "charges": s["charges"],
        "payer_classes": s["payer_classes"],
        "findings": int(f.height),
        "by_severity": by_sev,
        "by_rule": by_rule,
        "amount_over": round(over, 2),
        "amount_under": round(under, 2),
        "amount_either": round(either, 2),
        "rules_run": len(result.rules_run),
        "rules_skipped": dict(sorted(result.rules_skipped.items())),
    }
