"""Figures shared by every output, computed once from the findings frame and the lines.

``summarize(result)`` is the single source of the numbers that the console, the JSON export
and the HTML report print, so a figure in one output always equals the same figure in the
others. It never holds a patient or claim identifier: only counts, dollars, rates, provider
names, rule ids and months.

Counting conventions: *problem findings* are findings that are neither data-quality rows
(``DQ-*``) nor ``info`` (guards and context such as an expected multiple-procedure
reduction); headline counts, rates per 100 encounters and the monthly trend count those.
*Dollars at risk* are amounts whose money direction is over, under or either; an amount on a
finding with direction ``none`` is information only (``amount`` keeps every amount,
``amount_at_risk`` only the three directions).

Dollars are de-duplicated (``money.annotate``): when findings overlap on a charge line, only
the finding of highest precedence is counted, so every dollar figure here (headline, per
rule, provider, month, payer class, severity) sums the *counted* findings and the figures add
up. ``amount_gross_*`` keeps the plain sum of every finding's amount and ``amount_covered``
the difference, for transparency. ``billed_charges`` is the second view of the same counted
findings: the practice's own charges on their lines (absent for a partitioned scan, which
keeps no lines, and for exports without a charge column).

Provider scorecards are computed from the canonical charge lines
(``features.line_counts``, computed by the engine; on a partitioned scan the sums over the
partitions), vectorised in Polars:

* encounters: distinct (patient, date of service, rendering provider) days;
* E/M levels: office E/M services (units) by code (established 99211-99215, new 99202-99205);
* E/M-25 on procedure days: days with a 000/010-global procedure (rulesets/codes.csv) that
  also carry an office E/M with modifier 25, over all such days;
* same-day E/M rate: office E/M services on a day with a 000/010-global procedure, over all
  office E/M services (the measure behind the OIG 2025 figure);
* modifier 59 / X{EPSU}: share of procedure lines (global 000/010/090/ZZZ in
  rulesets/codes.csv, as MOD-004 counts them) carrying the modifier;
* Mohs stages per case: (17311 + 17312 units) / 17311 units, and the same for 17313/17314.
"""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..engine import COLLECT_ENGINE, ScanResult
from ..features import DAY_KEY, EM_ESTABLISHED, EM_NEW, MOHS_CODES
from ..ingest import DQ_RULES
from ..model import SEVERITY_ORDER
from ..refdata import RefData
from ..rules.base import RULES
from . import money
from .engagement import Engagement, of_result

MONEY_DIRECTIONS = ("over", "under", "either")
MONEY_DIRECTIONS_AT_RISK = MONEY_DIRECTIONS
DAYS_PER_YEAR = 365
SHORT_SPAN_DAYS = 90
MPOP_FILE = "benchmarks_mohs_mpop2021.toml"

# Benchmarks shown beside the scorecards (rulesets/benchmarks.toml keys).
SCORECARD_BENCHMARKS = (
    "oig_2025_same_day_em_share",
    "em25_typical_share_biopsy_destruction",
    "em25_with_procedure_review_threshold",
    "mod59_share_review_threshold",
    "mohs_stages_per_case_mean",
    "mohs_stages_per_case_median",
    "mohs_stages_per_case_outlier",
    "em_specialty_high_share_established",
    "em_specialty_high_share_new",
    "em25_min_procedure_encounters",
    "em_level_min_visits",
    "mod59_min_procedure_lines",
)

EM_LEVEL_BENCHMARK_NOTE = (
    "No national E/M level distribution for dermatology that dermaudit could verify in a "
    "public source is loaded: office E/M codes were redefined from January 1, 2021 (CMS CY2021 "
    "Physician Fee Schedule final rule, 85 FR 84472), so figures for earlier years are not "
    "comparable. Compare providers with each other and with the practice's own history."
)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def _ratio(num: float, den: float, nd: int = 4) -> float | None:
    return round(num / den, nd) if den else None


def rule_title(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    if rule is not None:
        return rule.title
    return DQ_RULES.get(rule_id, "Data-quality problem")


def is_dq(rule_id: str) -> bool:
    return rule_id.startswith("DQ")


_ANNOTATED: list[tuple[pl.DataFrame, pl.DataFrame]] = []


def annotated(findings: pl.DataFrame) -> pl.DataFrame:
    """``money.annotate(findings)``, computed once per findings frame (the console, the JSON,
    the HTML and the summary all ask for it)."""
    for key, value in _ANNOTATED:
        if key is findings:
            return value
    value = money.annotate(findings)
    _ANNOTATED.insert(0, (findings, value))
    del _ANNOTATED[4:]
    return value


# the counted (de-duplicated) amount of a finding: its amount if counted, else 0
COUNTED = pl.when(pl.col("counted").fill_null(False)).then(pl.col("amount")).otherwise(0.0)


# Findings that count as problems: not data-quality rows, not info.
PROBLEM = ~pl.col("rule").str.starts_with("DQ") & (pl.col("severity") != "info")
AT_RISK = pl.col("money").is_in(list(MONEY_DIRECTIONS_AT_RISK))


# ---- benchmarks ----------------------------------------------------------------------


def benchmark(ref: RefData, key: str) -> dict[str, Any] | None:
    """One benchmark entry as a plain dict (value, unit, source, confidence, note), or None."""
    entry = ref.benchmarks.get(key)
    if entry is None:
        return None
    if isinstance(entry, dict):
        if "value" not in entry:
            return None
        try:
            value = float(entry["value"])
        except (TypeError, ValueError):
            return None
        return {
            "key": key,
            "value": value,
            "unit": str(entry.get("unit", "")),
            "source": str(entry.get("source", "")),
            "confidence": str(entry.get("confidence", "")),
            "note": str(entry.get("note", "")),
        }
    try:
        return {
            "key": key,
            "value": float(entry),
            "unit": "",
            "source": "",
            "confidence": "",
            "note": "",
        }
    except (TypeError, ValueError):
        return None


MPOP_STATS = ("median", "p75", "p90", "p95", "p99", "mean")


def _mpop_family(key: str, unit: str) -> str | None:
    k, u = key.lower(), unit.lower()
    if k.endswith(("_hnhfg", "_hn")) or "17312" in u or "17311" in u:
        return "hn"
    if k.endswith("_tal") or "17314" in u or "17313" in u:
        return "tal"
    return None


def mpop_benchmarks(ref: RefData) -> list[dict[str, Any]]:
    """Mohs benchmarks derived from CMS MPOP 2021 (``benchmarks_mohs_mpop2021.toml``), if any.

    Section names are read from the file(s) in the ruleset layers; values come from
    ``ref.benchmarks`` so that a later layer's override wins. Each entry holds the add-on /
    primary service-ratio distribution (``ratio``) and the same in stages per case
    (``stages`` = 1 + ratio, the Krishnan 2017 / MOHS-007 metric). Absent file: empty list.
    """
    keys: list[str] = []
    for d in ref.dirs:
        p = Path(d) / MPOP_FILE
        if not p.exists():
            continue
        try:
            data = tomllib.loads(p.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        keys.extend(k for k, v in data.items() if isinstance(v, dict) and k not in keys)
    out = []
    for k in keys:
        b = benchmark(ref, k)
        raw = ref.benchmarks.get(k)
        if b is None or not isinstance(raw, dict):
            continue
        ratio: dict[str, float] = {}
        for stat in MPOP_STATS:
            try:
                ratio[stat] = float(raw[stat])
            except (KeyError, TypeError, ValueError):
                continue
        is_ratio = "ratio" in k.lower() or "/" in b["unit"]
        n = raw.get("n_providers")
        min_primary = raw.get("min_primary_services")
        out.append(
            {
                **b,
                "family": _mpop_family(k, b["unit"]),
                "n_providers": int(n) if isinstance(n, int | float) else None,
                "min_primary_services": (
                    int(min_primary) if isinstance(min_primary, int | float) else None
                ),
                "ratio": ratio if is_ratio else {},
                "stages": {
                    s: round(1 + v, 4) if is_ratio else round(v, 4) for s, v in ratio.items()
                },
                "stages_value": round(1 + b["value"], 4) if is_ratio else b["value"],
            }
        )
    return out


def mpop_stage_benchmarks(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The MPOP entries by Mohs site family: ``{"hn": entry, "tal": entry}``."""
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        fam = e.get("family")
        if fam and fam not in out and e["stages"]:
            out[fam] = e
    return out


def mpop_band(value: float | None, stages: dict[str, float]) -> str | None:
    """Where a stages-per-case value sits in the MPOP 2021 per-provider distribution."""
    if value is None or not stages:
        return None
    cuts = [(s, stages[s]) for s in ("median", "p75", "p90", "p95", "p99") if s in stages]
    if not cuts:
        return None
    prev = "below " + cuts[0][0]
    for i, (name, cut) in enumerate(cuts):
        if value <= cut:
            return prev if i == 0 else f"{cuts[i - 1][0]}–{name}"
    return f"above {cuts[-1][0]}"


# ---- provider scorecards -------------------------------------------------------------


def provider_scorecards(result: ScanResult) -> list[dict[str, Any]]:
    counts = result.line_counts["provider"]
    if counts.height == 0:
        return []
    f = annotated(result.findings).filter(~pl.col("rule").str.starts_with("DQ"))
    per_f = (
        f.lazy()
        .group_by("provider")
        .agg(
            (pl.col("severity") != "info").sum().alias("findings"),
            *[
                COUNTED.filter(pl.col("money") == m).sum().alias(f"amount_{m}")
                for m in MONEY_DIRECTIONS
            ],
            *[(pl.col("severity") == str(s)).sum().alias(f"sev_{s}") for s in SEVERITY_ORDER],
        )
    )
    table = counts.join(per_f.collect(engine=COLLECT_ENGINE), on="provider", how="left").sort(
        "provider"
    )
    out: list[dict[str, Any]] = []
    for r in table.iter_rows(named=True):

        def n(col: str, row: dict[str, Any] = r) -> int:
            return int(row.get(col) or 0)

        enc = n("encounters")
        est = {c: n(f"n_{c}") for c in EM_ESTABLISHED}
        new = {c: n(f"n_{c}") for c in EM_NEW}
        est_total, new_total = sum(est.values()), sum(new.values())
        u = {c: n(f"u_{c}") for c in MOHS_CODES}
        findings = n("findings")
        out.append(
            {
                "provider": r["provider"],
                "encounters": enc,
                "lines": n("lines"),
                "findings": findings,
                "findings_per_100": _ratio(findings * 100, enc, 2),
                "by_severity": {str(s): n(f"sev_{s}") for s in reversed(SEVERITY_ORDER)},
                "amount_over": _r(r.get("amount_over") or 0.0),
                "amount_under": _r(r.get("amount_under") or 0.0),
                "amount_either": _r(r.get("amount_either") or 0.0),
                "em_services": n("em_services"),
                "em_established": est,
                "em_established_total": est_total,
                "em_established_share": {c: _ratio(v, est_total) for c, v in est.items()},
                "em_new": new,
                "em_new_total": new_total,
                "em_new_share": {c: _ratio(v, new_total) for c, v in new.items()},
                "em_high_share_established": _ratio(est["99214"] + est["99215"], est_total),
                "em_high_share_new": _ratio(new["99204"] + new["99205"], new_total),
                "procedure_days": n("procedure_days"),
                "procedure_days_em25": n("procedure_days_em25"),
                "em25_procedure_day_share": _ratio(n("procedure_days_em25"), n("procedure_days")),
                "em_services_same_day_procedure": n("em_services_same_day_procedure"),
                "same_day_em_share": _ratio(n("em_services_same_day_procedure"), n("em_services")),
                "procedure_lines": n("procedure_lines"),
                "mod59_lines": n("procedure_lines_59"),
                "modx_lines": n("procedure_lines_x"),
                "mod59x_lines": n("procedure_lines_59x"),
                "mod59_share": _ratio(n("procedure_lines_59"), n("procedure_lines")),
                "modx_share": _ratio(n("procedure_lines_x"), n("procedure_lines")),
                "mod59x_share": _ratio(n("procedure_lines_59x"), n("procedure_lines")),
                "mohs_units": u,
                "mohs_cases_hn": u["17311"],
                "mohs_stages_per_case_hn": _ratio(u["17311"] + u["17312"], u["17311"], 3),
                "mohs_cases_tal": u["17313"],
                "mohs_stages_per_case_tal": _ratio(u["17313"] + u["17314"], u["17313"], 3),
            }
        )
    return out


# ---- time, payer, annualisation ------------------------------------------------------


def by_month(result: ScanResult) -> list[dict[str, Any]]:
    first_s, last_s = result.stats.get("first_dos"), result.stats.get("last_dos")
    if not first_s or not last_s:
        return []
    month = pl.col("dos").dt.strftime("%Y-%m").alias("month")
    encf = result.line_counts["month"]
    f = annotated(result.findings).filter(
        ~pl.col("rule").str.starts_with("DQ") & pl.col("dos").is_not_null()
    )
    fin = (
        f.lazy()
        .group_by(month)
        .agg(
            (pl.col("severity") != "info").sum().alias("findings"),
            *[(pl.col("severity") == str(s)).sum().alias(f"sev_{s}") for s in SEVERITY_ORDER],
            *[
                COUNTED.filter(pl.col("money") == m).sum().alias(f"amount_{m}")
                for m in MONEY_DIRECTIONS
            ],
        )
    )
    finf = fin.collect(engine=COLLECT_ENGINE)
    # every calendar month from the first to the last, so the axis has no gaps
    first, last = date.fromisoformat(first_s), date.fromisoformat(last_s)
    months = pl.date_range(first.replace(day=1), last.replace(day=1), "1mo", eager=True)
    frame = (
        pl.DataFrame({"month": months.dt.strftime("%Y-%m")})
        .join(encf, on="month", how="left")
        .join(finf, on="month", how="left")
        .sort("month")
    )
    out = []
    for r in frame.iter_rows(named=True):
        e = int(r["encounters"] or 0)
        k = int(r["findings"] or 0)
        out.append(
            {
                "month": r["month"],
                "encounters": e,
                "findings": k,
                "findings_per_100": _ratio(k * 100, e, 2),
                "by_severity": {str(s): int(r[f"sev_{s}"] or 0) for s in reversed(SEVERITY_ORDER)},
                **{f"amount_{m}": _r(r[f"amount_{m}"] or 0.0) for m in MONEY_DIRECTIONS},
            }
        )
    return out


def by_payer_class(result: ScanResult) -> list[dict[str, Any]]:
    f = annotated(result.findings).filter(~pl.col("rule").str.starts_with("DQ"))
    df = (
        f.group_by(pl.col("payer_class").fill_null("unknown"))
        .agg(
            (pl.col("severity") != "info").sum().alias("findings"),
            *[
                COUNTED.filter(pl.col("money") == m).sum().alias(f"amount_{m}")
                for m in MONEY_DIRECTIONS
            ],
        )
        .sort("payer_class")
    )
    lines = result.stats.get("payer_classes", {})
    return [
        {
            "payer_class": r["payer_class"],
            "lines": int(lines.get(r["payer_class"], 0)),
            "findings": int(r["findings"]),
            **{f"amount_{m}": _r(r[f"amount_{m}"] or 0.0) for m in MONEY_DIRECTIONS},
        }
        for r in df.iter_rows(named=True)
    ]


def annualise(
    first_dos: str | None, last_dos: str | None, amounts: dict[str, float]
) -> dict[str, Any]:
    """Scale dollars found in the audited span to 12 months (x 365 / days spanned)."""
    if not first_dos or not last_dos:
        return {
            "days": 0,
            "factor": None,
            "short_span": True,
            "method": "no dates of service",
            **{k: None for k in amounts},
        }
    days = (date.fromisoformat(last_dos) - date.fromisoformat(first_dos)).days + 1
    factor = DAYS_PER_YEAR / days
    method = (
        f"dollars found x 365 / {days} day(s) spanned by the dates of service "
        f"({first_dos} to {last_dos}, inclusive) = x {factor:.3f}. Assumes the export holds "
        "every charge of that period and that the period is typical (no seasonality, no "
        "change in providers or coding habits)."
    )
    if days < SHORT_SPAN_DAYS:
        method += (
            f" The span is under {SHORT_SPAN_DAYS} days, so the annual figure is a rough "
            "extrapolation."
        )
    return {
        "days": days,
        "factor": round(factor, 6),
        "short_span": days < SHORT_SPAN_DAYS,
        "method": method,
        **{k: _r(v * factor) for k, v in amounts.items()},
    }


# ---- the summary -----------------------------------------------------------------------


def unmapped_roles(result: ScanResult) -> dict[str, list[str]]:
    """Optional roles no column of the export holds, each with the selected rules that could
    not run for want of it (an empty list: no selected rule needs it)."""
    selected = set(result.rules_run) | set(result.rules_skipped)
    out: dict[str, list[str]] = {}
    for role in result.ingested.unmapped_roles:
        out[role] = sorted(rid for rid in selected if rid in RULES and role in RULES[rid].requires)
    return out


def summarize(result: ScanResult, engagement: Engagement | None = None) -> dict[str, Any]:
    """The summary of ``result``; computed once per findings frame, reference data, stats and
    input (the console, the JSON and the HTML report all ask for it). ``engagement`` adds
    ``summary["engagement"]`` (who the report is for, which kind of report it is)."""
    inputs = (result.findings, result.ref, result.stats, result.ingested)
    cached = result.summary_cache
    if cached is None or any(a is not b for a, b in zip(cached[0], inputs, strict=True)):
        result.summary_cache = cached = (inputs, _summarize(result))
    out = copy.deepcopy(cached[1])
    out["engagement"] = (engagement or of_result(result)).as_dict()
    return out


def _sum(df: pl.DataFrame, expr: pl.Expr) -> float:
    return round(float(df.select(expr.sum()).item() or 0.0), 2)


def billed_charges(result: ScanResult, ann: pl.DataFrame) -> dict[str, Any]:
    """The billed-charge view of the counted findings: the practice's charges on their lines,
    by money direction (counted findings of one direction never share a line, so no line is
    counted twice in a direction)."""
    charges = money.finding_charges(ann, result.ingested.lines)
    if charges is None and result.finding_charges is not None:
        charges = result.finding_charges
    if charges is None or "charge" not in result.ingested.present:
        reason = (
            "the export has no charge column"
            if "charge" not in result.ingested.present
            else "a partitioned scan keeps no charge lines"
        )
        return {"available": False, "reason": reason, **{m: None for m in MONEY_DIRECTIONS}}
    f = ann.with_columns(charges.alias("_charge")).filter(pl.col("counted").fill_null(False))
    return {
        "available": True,
        "reason": None,
        **{m: _sum(f.filter(pl.col("money") == m), pl.col("_charge")) for m in MONEY_DIRECTIONS},
    }


def _summarize(result: ScanResult) -> dict[str, Any]:
    f = annotated(result.findings)
    s = result.stats
    total_encounters = int(s.get("encounters") or 0)
    by_sev = {}
    for sv in reversed(SEVERITY_ORDER):
        fs = f.filter(pl.col("severity") == str(sv))
        by_sev[str(sv)] = {
            "count": int(fs.height),
            "amount": _sum(fs, pl.col("amount")),
            "amount_at_risk": _sum(fs.filter(AT_RISK), COUNTED),
        }
    has_enc = pl.col("patient_id").is_not_null() & pl.col("dos").is_not_null()
    covered = pl.col("covered_by").is_not_null()
    by_rule_df = (
        f.group_by("rule")
        .agg(
            pl.len().alias("count"),
            pl.col("amount").sum().round(2).alias("amount"),
            pl.col("severity").first(),
            pl.col("money").first(),
            pl.col("family").first(),
            pl.col("confidence").first(),
            pl.struct(DAY_KEY).filter(has_enc).n_unique().alias("encounters"),
            pl.col("provider")
            .filter(pl.col("provider").is_not_null())
            .n_unique()
            .alias("providers"),
            *[
                COUNTED.filter(pl.col("money") == m).sum().round(2).alias(f"amount_{m}")
                for m in MONEY_DIRECTIONS
            ],
            COUNTED.filter(AT_RISK).sum().round(2).alias("amount_at_risk"),
            pl.col("amount").filter(covered).sum().round(2).alias("amount_covered"),
            covered.sum().alias("findings_covered"),
            pl.col("amount").filter(pl.col("money") == "none").sum().round(2).alias("amount_info"),
        )
        .sort(["amount_at_risk", "amount", "count", "rule"], descending=[True, True, True, False])
    )
    by_rule = []
    for r in by_rule_df.iter_rows(named=True):
        rule = RULES.get(r["rule"])
        by_rule.append(
            {
                "rule": r["rule"],
                "title": rule_title(r["rule"]),
                "family": r["family"],
                "severity": r["severity"],
                "confidence": r["confidence"],
                "money": r["money"],
                "level": rule.level if rule else "line",
                "count": int(r["count"]),
                "encounters": int(r["encounters"]),
                "encounter_share": _ratio(int(r["encounters"]), total_encounters),
                "providers": int(r["providers"]),
                "amount": float(r["amount"] or 0.0),
                "amount_at_risk": float(r["amount_at_risk"] or 0.0),
                "amount_covered": float(r["amount_covered"] or 0.0),
                "findings_covered": int(r["findings_covered"] or 0),
                "amount_info": float(r["amount_info"] or 0.0),
                **{f"amount_{m}": float(r[f"amount_{m}"] or 0.0) for m in MONEY_DIRECTIONS},
            }
        )
    counted = money.totals(f)
    gross = {m: _sum(f.filter(pl.col("money") == m), pl.col("amount")) for m in MONEY_DIRECTIONS}
    coding = f.filter(~pl.col("rule").str.starts_with("DQ"))
    problems = f.filter(PROBLEM)
    practice = coding.filter(pl.col("provider").is_null())
    practice_level = {
        "findings": int(practice.filter(pl.col("severity") != "info").height),
        **{
            f"amount_{m}": _sum(practice.filter(pl.col("money") == m), COUNTED)
            for m in MONEY_DIRECTIONS
        },
    }
    enc_with = int(problems.filter(has_enc).select(pl.struct(DAY_KEY).n_unique()).item())
    ref = result.ref
    benches = {k: b for k in SCORECARD_BENCHMARKS if (b := benchmark(ref, k)) is not None}
    mpop = mpop_benchmarks(ref)
    mpop_fam = mpop_stage_benchmarks(mpop)
    providers = provider_scorecards(result)
    for p in providers:
        for fam in ("hn", "tal"):
            e = mpop_fam.get(fam)
            p[f"mohs_mpop2021_band_{fam}"] = (
                mpop_band(p[f"mohs_stages_per_case_{fam}"], e["stages"]) if e else None
            )
    return {
        "dermaudit_version": __version__,
        "files": len(result.ingested.files),
        "file_names": [fi.name for fi in result.ingested.files],
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
        "findings_coding": int(coding.height),
        "findings_problems": int(problems.height),
        "findings_info": int(coding.height - problems.height),
        "findings_dq": int(f.height - coding.height),
        "findings_covered": int(f.filter(covered).height),
        "encounters_with_findings": enc_with,
        "encounters_with_findings_share": _ratio(enc_with, total_encounters),
        "by_severity": by_sev,
        "by_rule": by_rule,
        "amount_over": counted["over"],
        "amount_under": counted["under"],
        "amount_either": counted["either"],
        "amount_gross_over": gross["over"],
        "amount_gross_under": gross["under"],
        "amount_gross_either": gross["either"],
        "amount_covered": round(sum(gross.values()) - sum(counted.values()), 2),
        "billed_charges": billed_charges(result, f),
        "annualised": annualise(
            s["first_dos"],
            s["last_dos"],
            {f"amount_{m}": counted[m] for m in MONEY_DIRECTIONS},
        ),
        "by_provider": providers,
        "practice_level": practice_level,
        "findings_undated": int(problems.filter(pl.col("dos").is_null()).height),
        "by_month": by_month(result),
        "by_payer_class": by_payer_class(result),
        "benchmarks": benches,
        "benchmarks_mpop2021": mpop,
        "mohs_stage_benchmarks_mpop2021": mpop_fam,
        "remits": s.get("remits"),
        "em_level_benchmark_note": (
            None
            if "em_specialty_high_share_established" in benches
            or "em_specialty_high_share_new" in benches
            else EM_LEVEL_BENCHMARK_NOTE
        ),
        "rules_run": len(result.rules_run),
        "rules_skipped": dict(sorted(result.rules_skipped.items())),
        "unmapped_roles": unmapped_roles(result),
    }
