"""HTML audit report: structure, self-containment, redaction, and figures equal to the JSON.

Every figure in the page is printed through the ``fig`` macro, which records its JSON path
(``data-fig``), raw value (``data-v``) and format (``data-fmt``). The tests resolve each path
in the JSON export's ``summary`` and check that the value is the same and that the visible
text is that value formatted, so the page cannot drift from ``--format json``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dermaudit.engine import ScanResult
from dermaudit.report import export
from dermaudit.report.html import format_value, render_html, write_html
from dermaudit.report.sampling import draw_sample, stratum_counts
from dermaudit.report.summary import mpop_band, summarize

from .helpers import scan_paths, scan_text
from .report_data import claim_ids, patient_ids, synthetic_charges

SALT = "test-salt-0123"
SECTIONS = ["summary", "risk", "rules", "providers", "trends", "sample", "findings", "method"]
ID_FIELDS = ("rule", "provider", "month", "payer_class", "key")


# ---- parsing helpers ---------------------------------------------------------------------


class Page(HTMLParser):
    """Collects tags with attributes, figure spans with their text, and script blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.figs: list[dict[str, str]] = []
        self.scripts: dict[str, str] = {}
        self.title = ""
        self._fig: dict[str, str] | None = None
        self._script: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "span" and "data-fig" in a:
            self._fig = {**a, "text": ""}
        elif tag == "script":
            self._script = a.get("id", f"script-{len(self.scripts)}")
            self.scripts[self._script] = ""
        elif tag == "title" and not self.title:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._fig is not None:
            self.figs.append(self._fig)
            self._fig = None
        elif tag == "script":
            self._script = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._fig is not None:
            self._fig["text"] += data
        if self._script is not None:
            self.scripts[self._script] += data
        if self._in_title:
            self.title += data

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a}

    def rows(self, table_id: str) -> list[dict[str, str]]:
        """``tr`` attributes of the rows of one table (relies on tables not nesting)."""
        out, inside = [], False
        for tag, a in self.tags:
            if tag == "table":
                inside = a.get("id") == table_id
            elif inside and tag == "tr" and "data-rule" in a:
                out.append(a)
        return out


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


def resolve(obj: Any, path: list[str]) -> Any:
    cur = obj
    for seg in path:
        if isinstance(cur, list):
            hits = [x for x in cur if any(x.get(f) == seg for f in ID_FIELDS)]
            assert len(hits) == 1, f"{path}: {len(hits)} items match {seg!r}"
            cur = hits[0]
        else:
            assert seg in cur, f"{path}: no key {seg!r}"
            cur = cur[seg]
    return cur


def json_export(result: ScanResult, findings: pl.DataFrame) -> dict[str, Any]:
    text = export.write(result, "json", None, findings)
    assert text is not None
    data: dict[str, Any] = json.loads(text)
    return data


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module")
def csv_text() -> str:
    return synthetic_charges(n_encounters=260, seed=11)


@pytest.fixture(scope="module")
def result(data_dir: Path, csv_text: str) -> ScanResult:
    p = data_dir / "charges.csv"
    p.write_text(csv_text, encoding="utf-8")
    return scan_paths([str(p)])


@pytest.fixture(scope="module")
def page_html(result: ScanResult) -> str:
    return render_html(result, result.findings, False)


@pytest.fixture(scope="module")
def page(page_html: str) -> Page:
    return parse(page_html)


@pytest.fixture(scope="module")
def redacted(result: ScanResult) -> tuple[pl.DataFrame, str]:
    findings = export.redact(result.findings, SALT)
    return findings, render_html(result, findings, True)


# ---- structure -----------------------------------------------------------------------------


def test_every_section_is_present(page: Page, page_html: str, result: ScanResult) -> None:
    ids = page.ids()
    for sec in SECTIONS:
        assert sec in ids, f"section #{sec} missing"
    for chart in (
        "chart-severity",
        "chart-rules-dollars",
        "chart-rules-count",
        "chart-months",
        "chart-em-established",
    ):
        assert chart in ids, f"chart {chart} missing"
    for table in (
        "rule-table",
        "provider-table",
        "pattern-table",
        "em-table",
        "month-table",
        "sample-table",
        "findings-table",
        "amount-methods",
        "vintages",
        "benchmarks-table",
        "dq-table",
    ):
        assert table in ids, f"table {table} missing"
    s = summarize(result)
    for r in s["by_rule"]:
        assert f"rule-{r['rule']}" in ids, f"no section for rule {r['rule']}"
    for heading in (
        "Executive summary",
        "Where the risk sits",
        "Findings by rule",
        "Provider scorecards",
        "Findings over time",
        "Chart-review sample",
        "All findings",
        "Data quality and method",
        "costliest problems",
        "How dollars were estimated",
        "Rows excluded",
        "Limits",
    ):
        assert heading in page_html, heading
    # the E/M level benchmark is declared absent, not invented
    assert (
        "No national E/M level distribution for dermatology that dermaudit could verify"
        in page_html
    )
    assert page.scripts["report-data"].strip().startswith("{")
    # rule docs: why it matters and source of every rule that fired
    for r in s["by_rule"]:
        if not r["rule"].startswith("DQ"):
            from dermaudit.rules.base import RULES

            assert RULES[r["rule"]].why.split("\n")[0][:40] in page_html.replace("&#39;", "'")


def test_provider_scorecards_cover_every_provider(page: Page, result: ScanResult) -> None:
    providers = set(result.stats["providers"])
    rows = {a["data-provider"] for t, a in page.tags if t == "tr" and "data-provider" in a}
    assert providers <= rows


def test_no_external_resource_is_loaded(page: Page, page_html: str) -> None:
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset"):
            v = attrs.get(name, "").strip().lower()
            assert not re.match(r"^(https?:)?//", v), f"<{tag} {name}={v!r}> loads a resource"
        assert tag not in ("link", "iframe", "img", "object", "embed", "base"), tag
        if tag == "script":
            assert "src" not in attrs
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page_html, re.I)
    assert "@import" not in page_html
    # the page forbids every network load itself
    csp = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_output_is_deterministic_and_clock_is_injectable(
    result: ScanResult, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_html(result, a)
    write_html(result, b)
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.html"
    write_html(result, c, generated_at=datetime(2026, 11, 27, 9, 30))
    assert "2026-11-27T09:30" in c.read_text("utf-8")
    assert "2026-11-27T09:30" not in a.read_text("utf-8")


# ---- figures equal the JSON ---------------------------------------------------------------


def test_every_figure_equals_the_json(result: ScanResult, page: Page) -> None:
    summary = json_export(result, result.findings)["summary"]
    assert page.figs, "no figures found"
    for f in page.figs:
        path = json.loads(f["data-fig"])
        want = resolve(summary, path)
        raw = f["data-v"]
        if want is None:
            assert raw == "", path
        elif isinstance(want, str):
            assert raw == want, path
        else:
            assert float(raw) == pytest.approx(float(want), abs=1e-9), path
        assert f["text"].strip() == format_value(want, f["data-fmt"]), (path, f["text"])


def test_key_figures_are_all_shown(result: ScanResult, page: Page) -> None:
    summary = json_export(result, result.findings)["summary"]
    shown = {tuple(json.loads(f["data-fig"])) for f in page.figs}
    need: set[tuple[str, ...]] = {
        ("rows",),
        ("rows_audited",),
        ("rows_excluded",),
        ("encounters",),
        ("providers",),
        ("patients",),
        ("first_dos",),
        ("last_dos",),
        ("files",),
        ("findings",),
        ("amount_over",),
        ("amount_under",),
        ("amount_either",),
        ("annualised", "amount_over"),
        ("annualised", "amount_under"),
        ("annualised", "amount_either"),
    }
    for sev in summary["by_severity"]:
        need |= {("by_severity", sev, "count"), ("by_severity", sev, "amount_at_risk")}
    for r in summary["by_rule"]:
        need |= {
            ("by_rule", r["rule"], k)
            for k in ("count", "amount_at_risk", "encounters", "encounter_share")
        }
        if r["amount"] != r["amount_at_risk"]:
            need.add(("by_rule", r["rule"], "amount"))
    for p in summary["by_provider"]:
        need |= {
            ("by_provider", p["provider"], k)
            for k in (
                "encounters",
                "findings",
                "findings_per_100",
                "amount_over",
                "amount_under",
                "amount_either",
                "em25_procedure_day_share",
                "same_day_em_share",
                "mod59_share",
                "modx_share",
                "em_high_share_established",
                "em_high_share_new",
            )
        }
        need |= {("by_provider", p["provider"], "em_established", c) for c in p["em_established"]}
        need |= {("by_provider", p["provider"], "em_new", c) for c in p["em_new"]}
    for m in summary["by_month"]:
        need |= {("by_month", m["month"], "findings"), ("by_month", m["month"], "encounters")}
    missing = sorted(need - shown)
    assert not missing, f"figures not shown in the page: {missing[:10]}"


def test_embedded_data_block_equals_json_summary(result: ScanResult, page: Page) -> None:
    summary = json_export(result, result.findings)["summary"]
    block = json.loads(page.scripts["report-data"])
    assert block["summary"] == summary


def test_findings_table_rows_match_rule_counts(result: ScanResult, page: Page) -> None:
    summary = summarize(result)
    rows = page.rows("findings-table")
    assert len(rows) == summary["findings"]
    for r in summary["by_rule"]:
        assert sum(1 for a in rows if a["data-rule"] == r["rule"]) == r["count"], r["rule"]
    amounts = [float(a["data-amount"]) if a["data-amount"] else -1.0 for a in rows]
    assert amounts == sorted(amounts, reverse=True), "table is not sorted by amount"


def test_totals_are_consistent(result: ScanResult) -> None:
    s = summarize(result)
    for m in ("over", "under", "either"):
        assert s[f"amount_{m}"] == pytest.approx(
            sum(r[f"amount_{m}"] for r in s["by_rule"]), abs=0.05
        )
        assert s[f"amount_{m}"] == pytest.approx(
            sum(p[f"amount_{m}"] for p in s["by_provider"]) + s["practice_level"][f"amount_{m}"],
            abs=0.05,
        )
    assert sum(v["count"] for v in s["by_severity"].values()) == s["findings"]
    assert (
        sum(p["findings"] for p in s["by_provider"]) + s["practice_level"]["findings"]
        == s["findings_problems"]
    )
    assert sum(p["encounters"] for p in s["by_provider"]) == s["encounters"]
    assert (
        sum(m["findings"] for m in s["by_month"]) + s["findings_undated"] == s["findings_problems"]
    )
    assert s["findings_problems"] + s["findings_info"] + s["findings_dq"] == s["findings"]
    for r in s["by_rule"]:
        assert r["amount_at_risk"] == pytest.approx(
            r["amount_over"] + r["amount_under"] + r["amount_either"], abs=0.02
        )
    assert s["annualised"]["days"] >= 1
    factor = s["annualised"]["factor"]
    assert s["annualised"]["amount_over"] == pytest.approx(s["amount_over"] * factor, abs=0.02)


def test_provider_metrics_by_hand(tmp_path: Path) -> None:
    csv = """
patient_id,dos,provider,payer,cpt,modifiers,units,dx
P1,2025-03-04,DrA,Medicare,99213,25,1,L57.0
P1,2025-03-04,DrA,Medicare,17000,,1,L57.0
P2,2025-03-05,DrA,Medicare,11102,,1,D48.5
P3,2025-03-06,DrA,Medicare,99214,,1,L40.0
P4,2025-03-07,DrA,Medicare,17311,,1,C44.311
P4,2025-03-07,DrA,Medicare,17312,,2,C44.311
P5,2025-03-08,DrA,Medicare,11402,,1,D23.5
P5,2025-03-08,DrA,Medicare,12032,XS,1,D23.5
P6,2025-03-09,DrA,Medicare,99204,,1,L70.0
"""
    r = scan_text(tmp_path, csv)
    p = next(x for x in summarize(r)["by_provider"] if x["provider"] == "DrA")
    assert p["encounters"] == 6
    assert p["procedure_days"] == 4  # 17000, 11102, 17311, 11402 days (000/010 globals)
    assert p["procedure_days_em25"] == 1
    assert p["em25_procedure_day_share"] == 0.25
    assert p["em_services"] == 3 and p["em_services_same_day_procedure"] == 1
    assert p["em_established"]["99213"] == 1 and p["em_established"]["99214"] == 1
    assert p["em_new"]["99204"] == 1 and p["em_high_share_new"] == 1.0
    assert p["em_high_share_established"] == 0.5
    assert p["mohs_stages_per_case_hn"] == 3.0 and p["mohs_cases_hn"] == 1
    assert p["modx_lines"] == 1 and p["mod59_lines"] == 0
    assert p["procedure_lines"] == 6  # 17000 11102 17311 +17312 (ZZZ) 11402 12032


# ---- redaction ----------------------------------------------------------------------------------


def test_redaction_leaks_no_patient_or_claim_id(
    redacted: tuple[pl.DataFrame, str], csv_text: str
) -> None:
    _, html = redacted
    leaked = sorted(i for i in patient_ids(csv_text) | claim_ids(csv_text) if i in html)
    assert not leaked, f"raw identifiers in the redacted page: {leaked[:5]}"
    page = parse(html)
    assert "P-" in html  # the hashed ids are what the reviewer sees
    assert "MRN" not in page.title and "ENC" not in page.title
    assert "redacted" in html


def test_redaction_scrubs_ids_that_rules_wrote_into_messages(result: ScanResult) -> None:
    raw = result.findings.with_columns(
        pl.concat_str(
            pl.lit("seen before as "), pl.col("patient_id"), pl.lit(" on "), pl.col("claim_id")
        ).alias("message")
    )
    leaky = dataclasses.replace(result, findings=raw)
    html = render_html(leaky, export.redact(raw, SALT), True)
    ids = {
        v
        for v in raw["patient_id"].drop_nulls().to_list() + raw["claim_id"].drop_nulls().to_list()
        if len(v) > 4
    }
    assert not [i for i in ids if i in html]


def test_unredacted_page_warns_about_phi(page_html: str) -> None:
    assert "contains patient identifiers" in page_html


def test_title_has_no_phi(page: Page, csv_text: str) -> None:
    assert not any(i in page.title for i in patient_ids(csv_text) | claim_ids(csv_text))
    assert page.title.startswith("Coding and compliance audit")  # the neutral report kind


# ---- caps, escaping, empty input, missing benchmarks -------------------------------------


def test_large_scans_cap_the_inline_table(result: ScanResult) -> None:
    html = render_html(result, result.findings, False, table_cap=10)
    page = parse(html)
    assert len(page.rows("findings-table")) == 10
    assert "table-cap-note" in page.ids()
    assert "--format csv" in html
    block = json.loads(page.scripts["report-data"])
    assert block["report"]["table_rows"] == 10
    assert block["report"]["findings_total"] == result.findings.height
    # the ten kept are those with the most dollars at risk
    kept = sorted(float(a["data-amount"] or -1) for a in page.rows("findings-table"))
    risk = result.findings.filter(pl.col("money").is_in(["over", "under", "either"]))
    top = sorted(risk["amount"].fill_null(-1).to_list(), reverse=True)[:10]
    assert kept == sorted(top)


def test_text_is_escaped(tmp_path: Path) -> None:
    csv = """
patient_id,dos,provider,payer,cpt,modifiers,units,dx
P1,2025-03-04,<script>alert(1)</script>,Medicare,99213,,1,L57.0
P1,2025-03-04,<script>alert(1)</script>,Medicare,17000,,1,L57.0
"""
    html = render_html(scan_text(tmp_path, csv))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_clean_file_without_findings_renders(tmp_path: Path) -> None:
    csv = """
patient_id,dos,provider,payer,cpt,modifiers,units,dx
P1,2025-03-04,DrA,Aetna,99213,,1,L40.0
P2,2025-04-04,DrA,Aetna,99214,,1,L40.0
"""
    r = scan_text(tmp_path, csv)
    assert r.findings.height == 0
    page = parse(render_html(r))
    assert set(SECTIONS) <= page.ids()


def test_without_mpop_benchmarks_the_report_degrades(result: ScanResult, tmp_path: Path) -> None:
    ref = result.ref
    bare = dataclasses.replace(
        ref,
        dirs=[tmp_path],
        benchmarks={k: v for k, v in ref.benchmarks.items() if "mpop" not in k},
    )
    r = dataclasses.replace(result, ref=bare)
    s = summarize(r)
    assert s["benchmarks_mpop2021"] == [] and s["mohs_stage_benchmarks_mpop2021"] == {}
    html = render_html(r)
    assert "is not loaded" in html
    assert "Krishnan" in html


def test_mpop_band() -> None:
    cuts = {"median": 1.5, "p75": 1.7, "p90": 1.9, "p95": 2.1, "p99": 2.4}
    assert mpop_band(1.2, cuts) == "below median"
    assert mpop_band(1.8, cuts) == "p75–p90"
    assert mpop_band(3.0, cuts) == "above p99"
    assert mpop_band(None, cuts) is None


# ---- chart-review sample --------------------------------------------------------------------


def test_sample_is_stratified_reproducible_and_redaction_proof(result: ScanResult) -> None:
    f = result.findings
    a = draw_sample(f, per_stratum=2, seed=5)
    b = draw_sample(f, per_stratum=2, seed=5)
    assert a.equals(b)
    assert a.columns[:6] == ["patient", "dos", "provider", "claim", "rules", "rows"]
    strata = stratum_counts(f, a)
    assert (strata["drawn"] <= 2).all()
    assert (strata["drawn"] == strata["encounters"].clip(upper_bound=2)).all()
    assert a.select("patient", "dos", "provider").is_unique().all()
    red = draw_sample(export.redact(f, SALT), per_stratum=2, seed=5)
    assert red.drop("patient", "claim", "file").equals(a.drop("patient", "claim", "file"))
    other = draw_sample(f, per_stratum=1, seed=6)
    assert other.height <= a.height
    assert (
        not draw_sample(f, per_stratum=2, seed=5, rules=["EM-001"])["rules"]
        .list.contains("EM-001")
        .not_()
        .any()
    )


def test_sample_skips_provider_level_dq_and_info(result: ScanResult) -> None:
    s = draw_sample(result.findings, per_stratum=3, seed=0)
    assert s["patient"].null_count() == 0
    assert not s["rules"].list.eval(pl.element().str.starts_with("DQ")).list.any().any()
    info_rules = set(result.findings.filter(pl.col("severity") == "info")["rule"].to_list())
    drawn = set(s.explode("drawn_for")["drawn_for"].to_list())
    assert not (
        drawn
        & info_rules - set(result.findings.filter(pl.col("severity") != "info")["rule"].to_list())
    )


# ---- CLI ----------------------------------------------------------------------------------


def test_cli_writes_the_report(data_dir: Path) -> None:
    out = data_dir / "cli" / "report.html"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "dermaudit",
            "scan",
            str(data_dir / "charges.csv"),
            "--html",
            str(out),
            "--redact",
            "--fail-on",
            "never",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "DERMAUDIT_REDACT_KEY": SALT * 3},
    )
    assert r.returncode == 0, r.stderr
    html = out.read_text("utf-8")
    assert set(SECTIONS) <= parse(html).ids()
    assert "MRN-7" not in html and "ENC-9" not in html
