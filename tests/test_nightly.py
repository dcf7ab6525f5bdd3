"""Nightly runs and repeat audits: config precedence, waivers, baselines, --since."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import cli

DAY1 = """\
patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge
P1,2025-03-04,DrA,Medicare,99213,,1,L57.0,120
P1,2025-03-04,DrA,Medicare,17000,,3,L57.0,270
"""
DAY2_EXTRA = """\
P2,2025-03-05,DrA,Medicare,17311,,1,C44.311,700
P2,2025-03-05,DrA,Medicare,17314,,2,C44.311,700
"""


def _json(r) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_config_file_and_cli_precedence(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    (tmp_path / "dermaudit.toml").write_text(
        '[scan]\nformat = "json"\nfail-on = "compliance"\nselect = ["DEST", "EM-001"]\n'
        'ignore = ["DEST"]\n'
    )
    r = cli("scan", "c.csv", cwd=tmp_path)
    data = _json(r)
    assert {f["rule"] for f in data["findings"]} == {"EM-001"}  # file: ignore DEST
    assert r.returncode == 0  # file: fail-on compliance; EM-001 is denial
    r = cli("scan", "c.csv", "--fail-on", "denial", cwd=tmp_path)  # CLI wins
    assert r.returncode == 1
    r = cli("scan", "c.csv", "--ignore", "EM", cwd=tmp_path)  # CLI list replaces the file's
    assert {f["rule"] for f in _json(r)["findings"]} == {"DEST-002"}


def test_config_inline_columns_and_payers(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(
        "Acct,Svc,Proc,Units,Ins\nP1,2025-03-04,17000,3,Acme Health Plan\n"
    )
    (tmp_path / "dermaudit.toml").write_text(
        '[scan]\nformat = "json"\n[columns]\npatient_id = "Acct"\ndos = "Svc"\ncpt = "Proc"\n'
        'payer = "Ins"\n[payers]\n"Acme Health Plan" = "medicare_ffs"\n'
    )
    data = _json(cli("scan", "c.csv", cwd=tmp_path))
    assert data["findings"][0]["rule"] == "DEST-002"
    assert data["findings"][0]["payer_class"] == "medicare_ffs"


def test_suppressions_waive_and_expire(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    (tmp_path / "w.toml").write_text(
        '[[waiver]]\nrule = "EM-001"\npatient = "P1"\ndos = 2025-03-04\n'
        'reason = "separate problem documented"\nby = "JC"\nuntil = 2099-01-01\n'
        '[[waiver]]\nrule = "DEST-002"\npatient = "P1"\nreason = "old"\nby = "JC"\n'
        "until = 2020-01-01\n"
        '[[waiver]]\nrule = "MOHS"\nreason = "never matches"\nby = "JC"\n'
    )
    r = cli(
        "scan",
        "c.csv",
        "-f",
        "json",
        "--suppressions",
        "w.toml",
        "--select",
        "DEST-002,EM-001,MOHS-001",
        cwd=tmp_path,
    )
    data = _json(r)
    assert {f["rule"] for f in data["findings"]} == {"DEST-002"}
    assert [w["rule"] for w in data["waived"]] == ["EM-001"]
    assert data["waived"][0]["waiver_reason"] == "separate problem documented"
    assert (
        data["triage"]["expired_waivers"] and "2020-01-01" in data["triage"]["expired_waivers"][0]
    )
    assert data["triage"]["unused_waivers"] == ["MOHS (all)"]


def test_baseline_new_and_fixed(tmp_path: Path) -> None:
    (tmp_path / "d1.csv").write_text(DAY1 + DAY2_EXTRA)
    prev = tmp_path / "prev.json"
    sel = ("--select", "DEST-002,EM-001,MOHS-001")
    cli("scan", "d1.csv", "-f", "json", "-o", str(prev), *sel, cwd=tmp_path)
    # next run: the DEST-002 error was corrected, a new MOHS-001 error exists
    fixed_day1 = DAY1.replace("17000,,3", "17000,,1") + DAY2_EXTRA
    (tmp_path / "d2.csv").write_text(fixed_day1)
    r = cli("scan", "d2.csv", "-f", "json", "--baseline", str(prev), *sel, cwd=tmp_path)
    data = _json(r)
    assert data["baseline"]["fixed"] == 1
    assert [f["rule"] for f in data["fixed"]] == ["DEST-002"]
    assert {f["status"] for f in data["findings"]} == {"existing"}
    assert r.returncode == 0  # exit code follows new findings only
    (tmp_path / "d3.csv").write_text(fixed_day1 + "P3,2025-03-05,DrA,Medicare,17004,,2,L57.0,300\n")
    r = cli("scan", "d3.csv", "-f", "json", "--baseline", str(prev), *sel, cwd=tmp_path)
    data = _json(r)
    assert data["baseline"]["new"] == 1 and r.returncode == 1


def test_since_keeps_history_for_global_periods(tmp_path: Path) -> None:
    # a 090-day flap on 2025-02-10; an E/M without 24 on 2025-03-05, inside the global period
    (tmp_path / "c.csv").write_text(
        "patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge\n"
        "P1,2025-02-10,DrA,Medicare,14040,,1,C44.319,900\n"
        "P1,2025-03-05,DrA,Medicare,99213,,1,L82.1,120\n"
        "P2,2025-02-11,DrA,Medicare,17004,,2,L57.0,300\n"
    )
    r = cli(
        "scan",
        "c.csv",
        "-f",
        "json",
        "--since",
        "2025-03-01",
        "--select",
        "GLOB-001,DEST-002",
        cwd=tmp_path,
    )
    data = _json(r)
    rules = {(f["rule"], f["dos"]) for f in data["findings"]}
    assert ("GLOB-001", "2025-03-05") in rules  # history before --since was used
    assert all(d >= "2025-03-01" for _, d in rules)  # the Feb DEST-002 finding is set aside
    assert data["triage"]["before_since"] == 1
    assert any("--since 2025-03-01" in n for n in data["input"]["notes"])


def test_quiet_one_line(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    r = cli("scan", "c.csv", "-q", cwd=tmp_path)
    assert r.stdout.count("\n") == 1 and r.stdout.startswith("dermaudit: 2 rows")


def test_init_writes_starter(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    r = cli("init", "c.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "dermaudit.toml").read_text()
    assert 'cpt = "cpt"' in text and "[scan]" in text
    r = cli("scan", "c.csv", "-q", cwd=tmp_path)  # the starter file is valid
    assert r.returncode in (0, 1), r.stderr


def test_log_lines_have_timestamps_and_no_phi(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    r = cli("scan", "c.csv", "-q", "--log", cwd=tmp_path)
    logs = [ln for ln in r.stderr.splitlines() if ln]
    assert logs and all(ln[:4].isdigit() and "T" in ln[:20] for ln in logs)
    assert "P1" not in r.stderr
