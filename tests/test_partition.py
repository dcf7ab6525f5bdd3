"""Larger-than-memory plan: patient-hash partitions give the in-memory findings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dermaudit import engine, partition

from .helpers import ref, scan_paths

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "charges.parquet"


@pytest.fixture(scope="module")
def sample_both_ways(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[engine.ScanResult, engine.ScanResult, Path]:
    """The sample scanned in memory and in 3 partitions (and the partitions' work dir)."""
    r = ref()
    work = tmp_path_factory.mktemp("parts")
    whole = scan_paths([str(SAMPLE)])
    parts = partition.run_partitioned(
        [str(SAMPLE)],
        r,
        engine.select_rules(),
        partitions=3,
        payer_rules=r.payer_rules,
        workdir=work,
    )
    return whole, parts, work


def test_partitioned_scan_equals_in_memory_scan(
    sample_both_ways: tuple[engine.ScanResult, engine.ScanResult, Path],
) -> None:
    whole, parts, work = sample_both_ways
    assert parts.stats["partitions"] == 3
    key = ["rule", "file", "rows", "codes", "message", "amount"]
    skipped = set(parts.rules_skipped)
    a = whole.findings.filter(~pl.col("rule").is_in(list(skipped))).select(key).sort(key)
    b = parts.findings.select(key).sort(key)
    assert a.equals(b)
    # every rule runs on partitions: provider-level and audit-wide per-code rules merge their
    # statistics (REV-001 takes the min/max/sum of charge per unit and gap per code)
    assert not skipped
    assert a.filter(pl.col("rule") == "REV-001").height > 0
    for k in ("rows", "encounters", "patients", "first_dos", "last_dos", "payer_classes"):
        assert parts.stats[k] == whole.stats[k], k
    assert not list(work.iterdir())  # temporary partitions are removed


def test_provider_rules_add_statistics_across_partitions(tmp_path: Path) -> None:
    # 25 procedure encounters with E/M-25 for one provider, spread over many patients
    rows = ["patient_id,dos,provider,payer,cpt,modifiers,units,dx"]
    for i in range(25):
        rows.append(f"P{i},2025-03-04,DrA,Medicare,99213,25,1,L57.0")
        rows.append(f"P{i},2025-03-04,DrA,Medicare,17000,,1,L57.0")
    p = tmp_path / "c.csv"
    p.write_text("\n".join(rows) + "\n")
    r = ref()
    res = partition.run_partitioned(
        [str(p)], r, engine.select_rules(["EM-002"]), partitions=4, payer_rules=r.payer_rules
    )
    f = res.findings.filter(pl.col("rule") == "EM-002")
    assert f.height == 1
    assert "25 of 25" in f["message"][0]


def test_partitioned_report_has_the_in_memory_figures(
    sample_both_ways: tuple[engine.ScanResult, engine.ScanResult, Path],
) -> None:
    """The summary behind the console, the JSON and the HTML report (provider scorecards,
    months, severities, dollars) is the same whether the scan was partitioned or not, and a
    partitioned scan writes the HTML report."""
    from dermaudit.report.html import render_html
    from dermaudit.report.summary import summarize

    whole, parts, _ = sample_both_ways
    a, b = summarize(whole), summarize(parts)
    assert a["by_provider"] and a["by_month"]
    assert a == b
    html = render_html(parts)
    for p in a["by_provider"]:
        assert p["provider"] in html
    assert 'id="providers"' in html and 'id="trends"' in html


def test_cli_writes_the_html_report_of_a_partitioned_scan(tmp_path: Path) -> None:
    from .test_cli import cli

    out = tmp_path / "report.html"
    r = cli("scan", str(SAMPLE), "--partitions", "2", "--html", str(out), "--fail-on", "never")
    assert r.returncode == 0, r.stderr
    text = out.read_text("utf-8")
    assert 'id="providers"' in text and "<svg" in text


def test_rows_per_input_file_are_counted(tmp_path: Path) -> None:
    """Rows per input come from the partitions; inputs that share a file name, or hold only a
    header, are counted too."""
    head = "patient_id,dos,provider,cpt,units\n"
    (tmp_path / "sub").mkdir()
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "sub" / "a.csv"
    a.write_text(head + "P1,2025-03-04,A,17000,1\nP2,2025-03-04,A,17000,1\n")
    b.write_text(head)
    c.write_text(head + "P3,2025-03-04,A,17000,1\n")
    r = ref()
    for paths, want in (([a, b], [2, 0]), ([a, c], [2, 1]), ([b], [0])):
        res = partition.run_partitioned(
            [str(p) for p in paths],
            r,
            engine.select_rules(["DEST"]),
            partitions=2,
            payer_rules=r.payer_rules,
            workdir=tmp_path,
        )
        assert [f.rows for f in res.ingested.files] == want
        assert res.stats["rows"] == sum(want)
