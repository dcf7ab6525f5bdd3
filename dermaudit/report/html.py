"""HTML audit report: one self-contained file (inline CSS, SVG and JavaScript).

``write_html(result, dest, findings=..., redacted=...)`` writes the deliverable of a
pre-engagement assessment. Every figure comes from ``summary.summarize(result)`` - the same
dictionary the JSON export writes under ``"summary"`` - and is printed through the ``fig``
template macro, which stores the JSON path and the raw value in ``data-`` attributes so a
test can prove the page and the JSON agree. Row-level content (examples, the sample, the
findings table) comes only from ``findings``, which the CLI has already redacted when
``--redact`` is on; as a second line of defence, any raw patient or claim id that a rule
wrote into a message is replaced with its hash.

Templates live in ``templates/`` (Jinja2, autoescape on, StrictUndefined). A folder named by
``DERMAUDIT_TEMPLATES`` is searched first, so a consultant can override a partial.
Output is deterministic: no clock is read unless ``generated_at`` is passed.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..engine import ScanResult
from ..features import EM_ESTABLISHED, EM_NEW
from ..ingest import DQ_RULES
from ..model import SEVERITY_ORDER
from ..rules.base import FAMILIES, RULES
from . import charts
from .engagement import KIND_PURPOSE, parse_kind
from .references import DQ_SOURCE, collect
from .sampling import draw_sample, stratum_counts
from .summary import is_dq, rule_title, summarize

TABLE_CAP = 5000
AT_RISK_DIRECTIONS = ["over", "under", "either"]
EXAMPLES_PER_RULE = 5
TOP_PROBLEMS = 5
RULES_IN_CHART = 15
SAMPLE_PER_STRATUM = 2
SAMPLE_SEED = 0

SEVERITY_TEXT = {
    "compliance": "likely overpayment or audit exposure",
    "denial": "line likely denied or recouped",
    "revenue": "probable under-coding or missed charge",
    "review": "pattern worth a human look, not an error by itself",
    "info": "guard or context",
}
MONEY_PHRASE = {
    "over": "possible overbilling exposure",
    "under": "revenue left uncollected",
    "either": "at risk in either direction (depends on the chart)",
    "none": "no dollar estimate",
}
PAYER_LABELS = {
    "medicare_ffs": "Medicare FFS",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "commercial": "Commercial",
    "self_pay": "Self-pay",
    "unknown": "Unknown",
}

FINDING_COLS = [
    "rule",
    "severity",
    "confidence",
    "money",
    "file",
    "rows",
    "claim_id",
    "patient_id",
    "dos",
    "provider",
    "payer_class",
    "codes",
    "message",
    "suggestion",
    "amount",
    # present when --remits joined 835 remittances (dermaudit.remits.REMIT_COLUMNS)
    "remit",
    "remit_paid",
    "remit_billed",
    "remit_codes",
    "remit_note",
]


# ---- formatting (shared with the tests) --------------------------------------------------


def format_value(value: Any, fmt: str) -> str:
    """Text shown for a figure; ``fmt`` is one of usd, usd0, pct, pct0, int, num2, num3, text."""
    if value is None:
        return "–"
    if fmt == "usd":
        v = float(value)
        return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"
    if fmt == "usd0":
        v = float(value)
        return f"-${-v:,.0f}" if v < 0 else f"${v:,.0f}"
    if fmt == "pct":
        return f"{float(value) * 100:.1f}%"
    if fmt == "pct0":
        return f"{float(value) * 100:.0f}%"
    if fmt == "int":
        return f"{int(value):,}"
    if fmt == "num2":
        return f"{float(value):,.2f}"
    if fmt == "num3":
        return f"{float(value):.2f}"
    return str(value)


def raw_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _short_num(x: float) -> str:
    return f"{x:,.1f}".removesuffix(".0")


def usd_compact(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"${v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"${v / 1000:.0f}k"
    if abs(v) >= 1000:
        return f"${v / 1000:.1f}k"
    return f"${v:,.0f}"


def json_script(obj: Any) -> Markup:
    """JSON safe to place inside <script type="application/json">."""
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def make_env() -> Environment:
    """The Jinja2 environment (cached per template-override folder: compiling is slow)."""
    return _env(os.environ.get("DERMAUDIT_TEMPLATES") or "")


@functools.lru_cache(maxsize=4)
def _env(override: str) -> Environment:
    loaders: list[Any] = []
    if override:
        loaders.append(FileSystemLoader(override))
    loaders.append(PackageLoader("dermaudit.report", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = format_value
    env.filters["raw"] = raw_value
    env.filters["payer"] = lambda v: PAYER_LABELS.get(str(v), str(v))
    env.globals["SEVERITY_COLORS"] = charts.SEVERITY_COLORS
    env.globals["MONEY_COLORS"] = charts.MONEY_COLORS
    env.globals["MONEY_LABELS"] = charts.MONEY_LABELS
    return env


# ---- redaction safety net ------------------------------------------------------------------


SCRUB_MIN_LEN = 4  # shorter ids (e.g. "P1") cannot be told apart from ordinary text


def _scrub(raw: pl.DataFrame, shown: pl.DataFrame) -> pl.DataFrame:
    """Replace raw ids that rules wrote into free text with their hashed ids.

    ``raw`` and ``shown`` are the same findings before and after ``export.redact`` (row
    aligned), which gives the raw -> hashed pairs; every pair is replaced in the message
    and suggestion text in one vectorised multi-pattern pass (longest id first).
    """
    if raw.height != shown.height or raw.height == 0:
        return shown
    pairs: dict[str, str] = {}
    for col in ("patient_id", "claim_id"):
        if col not in raw.columns or col not in shown.columns:
            continue
        df = pl.DataFrame({"a": raw[col], "b": shown[col]}).drop_nulls().unique()
        for a, b in df.iter_rows():
            if a != b and len(a) >= SCRUB_MIN_LEN:
                pairs.setdefault(a, b)
    if not pairs:
        return shown
    keys = sorted(pairs, key=lambda k: (-len(k), k))
    vals = [pairs[k] for k in keys]
    cols = [c for c in ("message", "suggestion") if c in shown.columns]
    return shown.with_columns([pl.col(c).str.replace_many(keys, vals, leftmost=True) for c in cols])


# ---- sections --------------------------------------------------------------------------------


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, built column-wise (much faster than ``iter_rows`` for list columns)."""
    cols = {c: df[c].to_list() for c in df.columns}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def _finding_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    out = _records(df)
    for r in out:
        rows = r["rows"] or []
        r["rows_text"] = " ".join(str(x) for x in rows[:8]) + (" …" if len(rows) > 8 else "")
        r["dos_text"] = r["dos"].isoformat() if isinstance(r["dos"], date) else ""
        risk = r["money"] in AT_RISK_DIRECTIONS and r["amount"] is not None
        r["amount_raw"] = raw_value(r["amount"]) if risk else ""
        r["amount_text"] = format_value(r["amount"], "usd") if risk or r["amount"] is None else ""
        r["amount_info"] = (
            "" if risk or r["amount"] is None else format_value(r["amount"], "usd") + " info"
        )
    return out


def _plain_problem(entry: dict[str, Any], encounters_total: int) -> str:
    enc = entry["encounters"]
    where = (
        f"in {enc:,} of {encounters_total:,} encounters ({enc / encounters_total:.1%})"
        if enc and encounters_total
        else f"for {entry['providers']} provider(s)"
    )
    return (
        f"{entry['title']}: {entry['count']:,} finding(s) {where}, "
        f"{format_value(entry['amount_at_risk'], 'usd0')} {MONEY_PHRASE.get(entry['money'], '')}."
    )


def _rule_sections(
    s: dict[str, Any], shown: pl.DataFrame, encounters_total: int
) -> list[dict[str, Any]]:
    sections = []
    for entry in s["by_rule"]:
        rid = entry["rule"]
        rule = RULES.get(rid)
        ex = (
            shown.filter(pl.col("rule") == rid)
            .sort(
                [pl.col("amount").fill_null(-1.0), pl.col("rows").list.first()],
                descending=[True, False],
                nulls_last=True,
                maintain_order=True,
            )
            .head(EXAMPLES_PER_RULE)
        )
        doc = rule.doc() if rule else {}
        sections.append(
            {
                **entry,
                "anchor": f"rule-{rid}",
                "family_name": FAMILIES.get(entry["family"] or "", entry["family"] or ""),
                "is_dq": is_dq(rid),
                "flags": doc.get("What it flags", DQ_RULES.get(rid, "")),
                "why": doc.get(
                    "Why it matters",
                    "Rows that cannot be read are kept out of every coding rule, so their "
                    "charges are not audited at all until the export is fixed.",
                ),
                "compliant": doc.get("Compliant billing", ""),
                "limits": doc.get("Known limits", ""),
                "amount_method": doc.get("Dollars at risk", "No dollar estimate."),
                "source": doc.get("Source", DQ_SOURCE),
                "examples": _finding_rows(ex),
                "plain": _plain_problem(entry, encounters_total),
            }
        )
    return sections


def _charts(s: dict[str, Any]) -> dict[str, Markup]:
    out: dict[str, Markup] = {}
    sev_rows = [
        charts.Row(
            label=name,
            segments=[charts.Segment(v["count"], charts.SEVERITY_COLORS[name], name)],
            note=f"{v['count']:,} · {format_value(v['amount_at_risk'], 'usd0')}",
            data={"severity": name, "count": str(v["count"])},
        )
        for name, v in s["by_severity"].items()
        if name != "info"
    ]
    out["severity"] = charts.hbar_chart(
        sev_rows,
        title="Findings by severity",
        desc="Number of findings at each severity, with estimated dollars.",
        fmt=lambda x: f"{x:,.0f}",
        width=500,
        integer=True,
        chart_id="chart-severity",
    )
    coding = [r for r in s["by_rule"] if not is_dq(r["rule"])]
    top = sorted(
        (r for r in coding if r["amount_at_risk"] > 0),
        key=lambda r: (-r["amount_at_risk"], -r["count"], r["rule"]),
    )[:RULES_IN_CHART]
    rule_rows = [
        charts.Row(
            label=f"{r['rule']} {r['title']}",
            segments=[
                charts.Segment(r[f"amount_{m}"], charts.MONEY_COLORS[m], charts.MONEY_LABELS[m])
                for m in ("over", "under", "either")
            ],
            note=format_value(r["amount_at_risk"], "usd0"),
            data={"rule": r["rule"], "amount": raw_value(r["amount_at_risk"])},
        )
        for r in top
    ]
    out["rules_dollars"] = charts.hbar_chart(
        rule_rows,
        title="Estimated dollars at risk by rule",
        desc="Dollars at risk per rule, split into overbilling exposure, revenue left "
        "uncollected and either direction.",
        fmt=usd_compact,
        width=760,
        legend=[
            (charts.MONEY_COLORS[m], charts.MONEY_LABELS[m]) for m in ("over", "under", "either")
        ],
        chart_id="chart-rules-dollars",
    )
    rule_count_rows = [
        charts.Row(
            label=f"{r['rule']} {r['title']}",
            segments=[
                charts.Segment(
                    r["count"], charts.SEVERITY_COLORS.get(r["severity"], "#98a2b3"), r["severity"]
                )
            ],
            data={"rule": r["rule"], "count": str(r["count"])},
        )
        for r in sorted(
            (r for r in coding if r["severity"] != "info"), key=lambda r: (-r["count"], r["rule"])
        )[:RULES_IN_CHART]
    ]
    out["rules_count"] = charts.hbar_chart(
        rule_count_rows,
        title="Findings by rule, coloured by severity",
        desc="Number of findings per rule; colour shows the rule's severity.",
        fmt=lambda x: f"{x:,.0f}",
        width=760,
        integer=True,
        legend=[(charts.SEVERITY_COLORS[str(sv)], str(sv)) for sv in reversed(SEVERITY_ORDER)],
        chart_id="chart-rules-count",
    )
    months = s["by_month"]
    if months:
        out["months"] = charts.column_chart(
            [m["month"] for m in months],
            [
                (
                    str(sv),
                    charts.SEVERITY_COLORS[str(sv)],
                    [float(m["by_severity"][str(sv)]) for m in months],
                )
                for sv in reversed(SEVERITY_ORDER)
                if sv != "info" and any(m["by_severity"][str(sv)] for m in months)
            ],
            title="Findings by month of service",
            desc="Problem findings (info and data-quality rows excluded) per month of service "
            "stacked by severity; the line shows findings per 100 encounters that month.",
            fmt=lambda x: f"{x:,.0f}",
            integer=True,
            line=(
                "findings per 100 encounters",
                [m["findings_per_100"] for m in months],
                _short_num,
            ),
            chart_id="chart-months",
        )
    provs = s["by_provider"]
    for kind, codes, total_key in (
        ("established", EM_ESTABLISHED, "em_established"),
        ("new", EM_NEW, "em_new"),
    ):
        rows = [
            charts.Row(
                label=p["provider"],
                segments=[charts.Segment(p[total_key][c], charts.EM_COLORS[c], c) for c in codes],
                data={"provider": p["provider"]},
            )
            for p in provs
            if p[f"{total_key}_total"]
        ]
        if rows:
            out[f"em_{kind}"] = charts.hbar_chart(
                rows,
                title=f"E/M level distribution per provider, {kind} patients",
                desc=f"Share of each office E/M level ({codes[0]}-{codes[-1]}) among the "
                f"provider's {kind}-patient visits.",
                fmt=lambda x: f"{x:,.0f}",
                percent=True,
                width=520,
                legend=[(charts.EM_COLORS[c], c) for c in codes],
                chart_id=f"chart-em-{kind}",
            )
    return out


def _filter_options(shown: pl.DataFrame) -> dict[str, list[str]]:
    def uniq(col: str) -> list[str]:
        return sorted(str(v) for v in shown[col].drop_nulls().unique().to_list())

    sev_rank = {str(s): i for i, s in enumerate(reversed(SEVERITY_ORDER))}
    return {
        "rule": uniq("rule"),
        "severity": sorted(uniq("severity"), key=lambda v: sev_rank.get(v, 99)),
        "provider": uniq("provider"),
        "payer_class": uniq("payer_class"),
    }


PRINT_EXAMPLES = 3  # costliest examples per rule on paper (CSS hides the rest in print)


REMIT_ROWS = 50


def _remit_rows(shown: pl.DataFrame) -> list[dict[str, Any]]:
    """Findings an 835 matched: denials first, then the largest payments (at most REMIT_ROWS)."""
    if "remit" not in shown.columns:
        return []
    return (
        shown.filter(pl.col("remit").is_not_null())
        .sort([pl.col("remit") != "denied", pl.col("remit_paid")], descending=[False, True])
        .head(REMIT_ROWS)
        .select(
            "rule",
            "claim_id",
            "codes",
            "remit",
            "remit_billed",
            "remit_paid",
            "remit_codes",
            "remit_note",
        )
        .to_dicts()
    )


def _findings_file(result: ScanResult) -> str | None:
    """The findings file this run wrote next to the report, if any (named on paper)."""
    st = getattr(result, "settings", None)
    out, fmt = getattr(st, "output", None), getattr(st, "format", "table")
    if out is None or str(out) == "-" or fmt == "table":
        return None
    return Path(out).name


def build_context(
    result: ScanResult,
    findings: pl.DataFrame | None = None,
    redacted: bool = False,
    *,
    generated_at: datetime | str | None = None,
    table_cap: int = TABLE_CAP,
    sample_per_stratum: int = SAMPLE_PER_STRATUM,
    sample_seed: int = SAMPLE_SEED,
    title: str | None = None,
) -> dict[str, Any]:
    s = summarize(result)
    raw = result.findings
    shown = raw if findings is None else findings
    shown = shown.select([c for c in FINDING_COLS if c in shown.columns])
    if redacted:
        shown = _scrub(raw.select([c for c in FINDING_COLS if c in raw.columns]), shown)
    ing = result.ingested
    enc_total = int(s["encounters"] or 0)

    at_risk = pl.when(pl.col("money").is_in(AT_RISK_DIRECTIONS)).then(pl.col("amount"))
    ordered = shown.sort(
        [
            at_risk.fill_null(-1.0),
            pl.col("amount").fill_null(-1.0),
            "rule",
            "file",
            pl.col("rows").list.first(),
        ],
        descending=[True, True, False, False, False],
        nulls_last=True,
        maintain_order=True,
    )
    table = ordered.head(table_cap)
    sample = draw_sample(shown, per_stratum=sample_per_stratum, seed=sample_seed)
    strata = stratum_counts(shown, sample)

    rules_doc = [
        {
            "id": rid,
            "title": RULES[rid].title,
            "severity": str(RULES[rid].severity),
            "confidence": str(RULES[rid].confidence),
            "money": str(RULES[rid].money),
            "amount_method": RULES[rid].amount_method,
            "requires": list(RULES[rid].requires),
        }
        for rid in sorted(result.rules_run)
        if rid in RULES
    ]
    dq_rows = (
        raw.filter(pl.col("rule").str.starts_with("DQ"))
        .group_by("rule")
        .agg(
            pl.len().alias("count"),
            pl.col("rows").list.first().sort().head(12).alias("rows"),
            pl.col("file").drop_nulls().unique().sort().alias("files"),
        )
        .sort("rule")
    )
    dq = [
        {
            "rule": r["rule"],
            "title": rule_title(r["rule"]),
            "count": r["count"],
            "rows": " ".join(str(x) for x in r["rows"]) + (" …" if r["count"] > 12 else ""),
            "files": ", ".join(r["files"]),
        }
        for r in dq_rows.iter_rows(named=True)
    ]
    first_s, last_s = result.stats.get("first_dos"), result.stats.get("last_dos")
    stale = (
        result.ref.stale_warnings(date.fromisoformat(first_s), date.fromisoformat(last_s))
        if first_s and last_s
        else []
    )
    tri = getattr(result, "triage", None)
    triage_notes: list[str] = []
    if tri is not None:
        if getattr(tri, "before_since", 0):
            triage_notes.append(
                f"{tri.before_since:,} finding(s) dated before --since were set aside."
            )
        if getattr(tri, "payer_excluded", 0):
            triage_notes.append(
                f"{tri.payer_excluded:,} finding(s) were switched off by per-payer settings."
            )
        waived = getattr(tri, "waived", None)
        if waived is not None and waived.height:
            triage_notes.append(
                f"{waived.height:,} reviewed finding(s) were waived by the suppressions file "
                "and are not counted here."
            )
        base = getattr(tri, "baseline", None)
        if base:
            triage_notes.append(
                f"Baseline comparison: {base.get('new', 0):,} new, {base.get('existing', 0):,} "
                f"already known, {base.get('fixed', 0):,} fixed since the baseline."
            )

    first, last = s["first_dos"] or "", s["last_dos"] or ""
    eng = s["engagement"]
    head = f"{eng['title']} · {eng['practice']}" if eng["practice"] else eng["title"]
    page_title = title or (f"{head} · {first} to {last}" if first else head)
    gen = (
        generated_at.isoformat(timespec="minutes")
        if isinstance(generated_at, datetime)
        else (generated_at or "")
    )
    coding_rules = [r for r in s["by_rule"] if not is_dq(r["rule"])]
    top = [
        {**r, "plain": _plain_problem(r, enc_total), "anchor": f"rule-{r['rule']}"}
        for r in coding_rules
        if r["amount_at_risk"] > 0
    ][:TOP_PROBLEMS]
    benches = s["benchmarks"]
    data_block = {
        "summary": s,
        "report": {
            "table_rows": table.height,
            "table_cap": table_cap,
            "findings_total": shown.height,
            "redacted": redacted,
            "sample_per_stratum": sample_per_stratum,
            "sample_seed": sample_seed,
            "sample_encounters": sample.height,
        },
    }
    return {
        "title": page_title,
        "engagement_purpose": KIND_PURPOSE[parse_kind(eng["kind"])],
        "print_examples": PRINT_EXAMPLES,
        "remit_rows": _remit_rows(shown),
        "output_name": _findings_file(result),
        "references": collect(shown["rule"].unique().to_list() if shown.height else []),
        "generated_at": gen,
        "redacted": redacted,
        "s": s,
        "files": [fi.as_dict() for fi in ing.files],
        "notes": list(ing.notes),
        "ruleset": {
            "name": result.ref.name,
            "version": result.ref.version,
            "vintages": result.ref.vintages,
            "layers": [str(d) for d in result.ref.dirs[1:]],
        },
        "severities": [str(sv) for sv in reversed(SEVERITY_ORDER)],
        "severity_text": SEVERITY_TEXT,
        "money_phrase": MONEY_PHRASE,
        "top": top,
        "rules": _rule_sections(s, shown, enc_total),
        "charts": _charts(s),
        "benches": benches,
        "mpop": s["benchmarks_mpop2021"],
        "mpop_stages": s["mohs_stage_benchmarks_mpop2021"],
        "em_est_codes": EM_ESTABLISHED,
        "em_new_codes": EM_NEW,
        "providers": s["by_provider"],
        "any_mohs": any(p["mohs_cases_hn"] or p["mohs_cases_tal"] for p in s["by_provider"]),
        "sample": _sample_rows(sample),
        "strata": list(strata.iter_rows(named=True)),
        "sample_per_stratum": sample_per_stratum,
        "sample_seed": sample_seed,
        "table": _finding_rows(table),
        "table_total": shown.height,
        "table_cap": table_cap,
        "options": _filter_options(shown),
        "rules_doc": rules_doc,
        "dq": dq,
        "stale": stale,
        "triage_notes": triage_notes,
        "data_json": json_script(data_block),
    }


def _sample_rows(sample: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            **r,
            "dos_text": r["dos"].isoformat() if r["dos"] else "",
            "rules_text": " ".join(r["rules"]),
            "rows_text": " ".join(str(x) for x in r["rows"][:10])
            + (" …" if len(r["rows"]) > 10 else ""),
            "drawn_text": " ".join(r["drawn_for"]),
        }
        for r in _records(sample)
    ]


def render_html(
    result: ScanResult,
    findings: pl.DataFrame | None = None,
    redacted: bool = False,
    **kwargs: Any,
) -> str:
    ctx = build_context(result, findings, redacted, **kwargs)
    return make_env().get_template("report.html.j2").render(**ctx)


def write_html(
    result: ScanResult,
    dest: Path,
    findings: pl.DataFrame | None = None,
    redacted: bool = False,
    *,
    generated_at: datetime | str | None = None,
    table_cap: int = TABLE_CAP,
    sample_per_stratum: int = SAMPLE_PER_STRATUM,
    sample_seed: int = SAMPLE_SEED,
) -> None:
    """Write the report to ``dest`` (UTF-8). ``generated_at`` is printed only when given."""
    text = render_html(
        result,
        findings,
        redacted,
        generated_at=generated_at,
        table_cap=table_cap,
        sample_per_stratum=sample_per_stratum,
        sample_seed=sample_seed,
    )
    dest = Path(dest)
    if dest.parent and not dest.parent.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
