"""Engagement metadata (#17): --practice, --engagement, --prepared-by, --period and
--report-kind (or the same keys in dermaudit.toml) reach the HTML cover, the console's first
line, the text report and every summary; text from the user is never markup."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "charges.csv"
ENG = [
    "--practice",
    "Lakeside <b>Derm</b> [red]x[/]",
    "--engagement",
    "FY2025 assessment",
    "--prepared-by",
    "J. Rivera, CPC",
    "--period",
    "Jan-May 2025",
    "--report-kind",
    "pre-engagement",
]


def test_options_reach_every_output(tmp_path: Path) -> None:
    html, js, txt = tmp_path / "r.html", tmp_path / "f.json", tmp_path / "r.txt"
    r = cli("scan", str(SAMPLE), *ENG, "--html", str(html), "-f", "json", "-o", str(js))
    assert r.returncode == 1, r.stderr
    eng = json.loads(js.read_text())["summary"]["engagement"]
    assert eng == {
        "practice": "Lakeside <b>Derm</b> [red]x[/]",
        "engagement": "FY2025 assessment",
        "prepared_by": "J. Rivera, CPC",
        "period": "Jan-May 2025",
        "kind": "pre-engagement",
        "title": "Pre-engagement coding and compliance assessment",
    }
    page = html.read_text()
    assert '<p class="eyebrow">Pre-engagement coding and compliance assessment</p>' in page
    assert "<h1>Lakeside &lt;b&gt;Derm&lt;/b&gt; [red]x[/]</h1>" in page
    assert "<dd>J. Rivera, CPC</dd>" in page and "<dd>FY2025 assessment</dd>" in page
    assert "Jan-May 2025: dates of service" in page
    assert "<b>Derm</b>" not in page
    con = cli("scan", str(SAMPLE), *ENG)
    first = con.stdout.splitlines()[0]
    assert first == (
        "Pre-engagement coding and compliance assessment · Lakeside <b>Derm</b> [red]x[/] · "
        "FY2025 assessment · Jan-May 2025 · prepared by J. Rivera, CPC"
    )
    cli("scan", str(SAMPLE), *ENG, "-f", "text", "-o", str(txt))
    assert txt.read_text().startswith("Pre-engagement coding and compliance assessment · Lakeside")


def test_neutral_by_default_and_config_keys(tmp_path: Path) -> None:
    js = tmp_path / "f.json"
    cli("scan", str(SAMPLE), "-f", "json", "-o", str(js), cwd=tmp_path)
    eng = json.loads(js.read_text())["summary"]["engagement"]
    assert eng["kind"] == "neutral" and eng["practice"] is None
    assert eng["title"] == "Coding and compliance audit"
    (tmp_path / "dermaudit.toml").write_text(
        '[scan]\npractice = "Hill Skin"\nreport-kind = "nightly"\nprepared-by = "ops"\n'
    )
    cli("scan", str(SAMPLE), "-f", "json", "-o", str(js), cwd=tmp_path)
    eng = json.loads(js.read_text())["summary"]["engagement"]
    assert (eng["practice"], eng["kind"], eng["prepared_by"]) == ("Hill Skin", "nightly", "ops")
    # the command line wins over the config file
    cli("scan", str(SAMPLE), "-f", "json", "-o", str(js), "--practice", "Other", cwd=tmp_path)
    assert json.loads(js.read_text())["summary"]["engagement"]["practice"] == "Other"


def test_bad_kind_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dermaudit.toml").write_text('[scan]\nreport-kind = "weekly"\n')
    r = cli("scan", str(SAMPLE), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "report_kind must be one of 'neutral', 'nightly', 'pre-engagement', 'follow-up'" in (
        r.stderr
    )
    r = cli("scan", str(SAMPLE), "--report-kind", "weekly")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "weekly" in r.stderr


def test_references_appendix_lists_every_cited_source(tmp_path: Path) -> None:
    import re

    import dermaudit
    from dermaudit.report.html import render_html
    from dermaudit.report.references import collect, split_top_level
    from dermaudit.rules.base import RULES

    result = dermaudit.scan(SAMPLE)
    rules = sorted(set(result.findings["rule"].to_list()))
    refs = collect(rules)
    cited = {rid for ref in refs for rid in ref.rules}
    assert cited == set(rules)  # every rule with findings cites at least one source
    texts = [ref.text for ref in refs]
    assert len(texts) == len(set(texts))  # each citation listed once
    # a rule's declared citations are all in the appendix, each pointing back to the rule
    for rid in rules:
        if rid in RULES:
            for c in split_top_level(RULES[rid].source):
                ref = next(r for r in refs if r.text == c.rstrip(".").strip())
                assert rid in ref.rules
    page = render_html(result)
    assert 'id="references"' in page and '<a href="#references">References</a>' in page
    items = re.findall(r'<li id="ref-(\d+)">', page)
    assert [int(i) for i in items] == list(range(1, len(refs) + 1))
    # data-quality rows cite the claim-line standard, not the tool
    p = tmp_path / "c.csv"
    p.write_text("patient_id,dos,provider,cpt,units\nP1,2025-03-04,DrA,17000,1\nP2,,DrA,17000,1\n")
    dq = dermaudit.scan(p)
    assert "DQ-001" in dq.findings["rule"].to_list()
    page = render_html(dq)
    assert page.count("ASC X12N 837 Professional implementation guide") >= 2  # section + appendix
    assert "dermaudit ingest data-quality pass" not in page
