"""CLI behaviour: exit codes, output formats, selection, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CSV = """\
patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge
P1,2025-03-04,DrA,Medicare,99213,,1,L57.0,120
P1,2025-03-04,DrA,Medicare,17000,,3,L57.0,270
"""


TEST_KEY = "0123456789abcdef0123456789abcdef-test-key-only"


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dermaudit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "COLUMNS": "200", **(env or {})},
    )


@pytest.fixture()
def charges(tmp_path: Path) -> Path:
    p = tmp_path / "charges.csv"
    p.write_text(CSV)
    return p


def test_json_output_shape_and_exit_code(charges: Path) -> None:
    r = cli("scan", str(charges), "--format", "json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= {"summary", "input", "ruleset", "findings"}
    assert data["input"]["files"][0]["sha256"]
    assert data["input"]["files"][0]["mapping"]["cpt"] == "cpt"
    assert data["ruleset"]["vintages"]
    rules = {f["rule"] for f in data["findings"]}
    assert {"DEST-002", "EM-001"} <= rules
    f = next(f for f in data["findings"] if f["rule"] == "DEST-002")
    assert f["rows"] == [2]
    assert set(f) >= {
        "rule",
        "family",
        "severity",
        "confidence",
        "money",
        "rows",
        "claim_id",
        "patient_id",
        "dos",
        "provider",
        "codes",
        "message",
        "suggestion",
        "amount",
    }


def test_fail_on_threshold(charges: Path) -> None:
    # DEST-002 is compliance, EM-001 denial: nothing at 'compliance' once DEST is ignored
    assert (
        cli("scan", str(charges), "--fail-on", "compliance", "--ignore", "DEST", "-q").returncode
        == 0
    )
    assert cli("scan", str(charges), "--fail-on", "compliance", "-q").returncode == 1
    assert cli("scan", str(charges), "--fail-on", "never", "-q").returncode == 0


def test_select_limits_rules(charges: Path) -> None:
    r = cli("scan", str(charges), "--format", "json", "--select", "EM-001")
    data = json.loads(r.stdout)
    assert {f["rule"] for f in data["findings"]} == {"EM-001"}


def test_unknown_rule_is_a_usage_error(charges: Path) -> None:
    r = cli("scan", str(charges), "--select", "DEST-02")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "did you mean" in r.stderr


def test_missing_file(tmp_path: Path) -> None:
    r = cli("scan", str(tmp_path / "nope.csv"))
    assert r.returncode == 2
    assert "not found" in r.stderr and "Traceback" not in r.stderr


def test_two_scans_byte_identical(charges: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    cli("scan", str(charges), "--format", "json", "-o", str(a))
    cli("scan", str(charges), "--format", "json", "-o", str(b))
    assert a.read_bytes() == b.read_bytes()


def test_csv_jsonl_parquet_outputs(charges: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    assert cli("scan", str(charges), "-f", "parquet", "-o", str(out)).returncode == 1
    assert out.stat().st_size > 0
    r = cli("scan", str(charges), "-f", "jsonl")
    assert all(json.loads(line)["rule"] for line in r.stdout.splitlines())
    r = cli("scan", str(charges), "-f", "csv")
    assert r.stdout.splitlines()[0].startswith("rule,family,severity")


def test_table_output_mentions_mapping_and_rules(charges: Path) -> None:
    r = cli("scan", str(charges))
    assert r.returncode == 1
    assert "Columns used" in r.stdout and "DEST-002" in r.stdout
    assert "\x1b[" not in r.stdout  # NO_COLOR honoured


def test_rules_and_rule_commands() -> None:
    r = cli("rules", "--format", "json")
    rules = {x["id"]: x for x in json.loads(r.stdout)}
    assert "DEST-002" in rules and "MOHS-001" in rules
    assert rules["MOHS-001"]["scope"] == ["mohs"] and rules["EM-001"]["scope"] == []
    r = cli("rule", "mohs-001")
    assert r.returncode == 0
    assert "Why it matters" in r.stdout and "Source" in r.stdout
    assert "Runs on the days with a line of: mohs." in r.stdout


def test_inspect(charges: Path) -> None:
    r = cli("inspect", str(charges))
    assert r.returncode == 0, r.stderr
    assert "cpt" in r.stdout and "2025-03-04" in r.stdout and "medicare_ffs" in r.stdout


def test_redact_hides_patient_ids(charges: Path) -> None:
    r = cli("scan", str(charges), "-f", "json", "--redact", env={"DERMAUDIT_REDACT_KEY": TEST_KEY})
    assert '"P1"' not in r.stdout
    assert '"P-' in r.stdout


def test_redact_without_a_key_is_refused(charges: Path, tmp_path: Path) -> None:
    r = cli("scan", str(charges), "--redact", env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and r.stdout == ""
    assert "needs the practice's redaction key: run 'dermaudit init --key'" in r.stderr


def test_sample_is_reproducible(charges: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli("sample", str(charges), "-o", str(a), "--seed", "5").returncode == 0
    assert cli("sample", str(charges), "-o", str(b), "--seed", "5").returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_text().splitlines()[0].startswith("patient,dos,provider")
