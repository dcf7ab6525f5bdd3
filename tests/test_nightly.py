"""Nightly runs and repeat audits: config precedence, waivers, baselines, --since."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from dermaudit.waivers import load_waivers

from .test_cli import cli

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "charges.csv"

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
    assert any("auditing from 2025-03-01" in n for n in data["input"]["notes"])


def test_quiet_one_line(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    r = cli("scan", "c.csv", "-q", cwd=tmp_path)
    assert r.stdout == (
        "dermaudit: 2 findings (1 compliance, 1 denial); $119.68 over / $88.95 under / "
        "$0.00 either; 1 file, 2 lines\n"
    )


def test_summary_line_counts_either_dollars(tmp_path: Path) -> None:
    """The sample practice has findings whose money direction is "either": the line shows
    them (the -q line used to leave them out), and the figures equal the JSON summary."""
    out = tmp_path / "f.json"
    r = cli("scan", str(SAMPLE), "-f", "json", "-o", str(out), "--summary-line")
    assert r.returncode == 1, r.stderr
    s = json.loads(out.read_text())["summary"]
    assert s["amount_either"] > 0
    assert r.stdout == (
        f"dermaudit: {s['findings']} findings (27 compliance, 17 denial, 5 revenue, 33 review); "
        f"${s['amount_over']:,.2f} over / ${s['amount_under']:,.2f} under / "
        f"${s['amount_either']:,.2f} either; 1 file, {s['rows']:,} lines\n"
    )
    r = cli("scan", str(SAMPLE), "-f", "json", "--summary-line")  # JSON on stdout: line on stderr
    assert json.loads(r.stdout)["summary"]["findings"] == s["findings"]
    assert r.stderr.startswith("dermaudit: 82 findings")


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


# ---- fingerprints ----------------------------------------------------------------------------


def test_code_set_sorts_codes_and_modifiers_and_drops_units_and_words() -> None:
    from dermaudit.triage import code_set

    texts = [
        "11104-XS-59",
        "11104-59-XS",
        "99213 + 17000 11102",
        "99213 + 11102 17000",
        "17313 x1 + 17314 x3 -> 17311 x1 + 17312 x3",
        "11311-GZ+GA",
        "11643 after 17000 11643",
        "G2212 with 99214",
        "office E/M-25 with 000/010 procedures",
        "C44.31 L82",
        None,
    ]
    got = pl.DataFrame({"codes": texts}).select(code_set())["codes"].to_list()
    assert got == [
        "11104 59 XS",
        "11104 59 XS",
        "11102 17000 99213",
        "11102 17000 99213",
        "17311 17312 17313 17314",
        "11311 GA GZ",
        "11643 17000",
        "99214 G2212",
        "000 010 25",
        "C44.31 L82",
        "",
    ]


def _findings(**over: object) -> pl.DataFrame:
    from datetime import date

    row = {
        "rule": "MOD-001",
        "file": "a.csv",
        "rows": [3],
        "claim_id": "C1",
        "patient_id": "P1",
        "dos": date(2025, 3, 4),
        "provider": "DrA",
        "codes": "11104-XS-59",
        "message": "m",
    }
    return pl.DataFrame([{**row, **over}])


def test_fingerprint_is_the_identity_not_the_row() -> None:
    from dermaudit.triage import add_fingerprint

    def fp(**over: object) -> str:
        return str(add_fingerprint(_findings(**over))["fingerprint"][0])

    base = fp()
    # row number, file name, code order and message do not change the identity ...
    assert fp(rows=[97], file="renamed.csv", codes="11104-59-XS", message="other") == base
    # ... rule, claim, patient, date, provider and the set of codes do
    for change in (
        {"rule": "MOD-002"},
        {"claim_id": "C2"},
        {"patient_id": "P2"},
        {"dos": None},
        {"provider": "DrB"},
        {"codes": "11104-XS"},
    ):
        assert fp(**change) != base, change
    # identical findings are numbered: a third copy of a problem that was there twice is new
    three = add_fingerprint(pl.concat([_findings(rows=[i]) for i in range(3)]))
    assert three["fingerprint"].n_unique() == 3 and base in three["fingerprint"].to_list()


def _export_variants(tmp_path: Path) -> tuple[Path, Path]:
    """The sample export with its modifiers in one cell and its diagnoses in one cell; and the
    same rows shuffled, renamed, with the modifiers (and the secondary diagnoses) reversed."""
    df = pl.read_csv(SAMPLE, infer_schema=False)
    a = df.with_columns(
        pl.concat_str([pl.col("Mod 1").fill_null(""), pl.col("Mod 2").fill_null("")], separator=" ")
        .str.strip_chars()
        .alias("Mod 1"),
        pl.concat_str([pl.col(f"Diag {i}").fill_null("") for i in (1, 2, 3)], separator=",")
        .str.replace_all(",+", ",")
        .str.strip_chars(",")
        .alias("Diag 1"),
    ).drop("Mod 2", "Diag 2", "Diag 3")
    dx = pl.col("Diag 1").str.split(",")
    b = a.with_columns(
        pl.col("Mod 1").str.split(" ").list.reverse().list.join(" "),
        pl.concat_str(
            [dx.list.first(), dx.list.slice(1).list.reverse().list.join(",")], separator=","
        )
        .str.strip_chars(",")
        .alias("Diag 1"),
    ).sample(fraction=1.0, shuffle=True, seed=11)
    pa, pb = tmp_path / "charges.csv", tmp_path / "export_renamed.csv"
    a.write_csv(pa)
    b.write_csv(pb)
    return pa, pb


@pytest.mark.parametrize("redact", [False, True])
def test_shuffled_renamed_reordered_export_has_nothing_new_or_fixed(
    tmp_path: Path, redact: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dermaudit.config import Settings
    from dermaudit.scanner import Scan

    for var in ("DERMAUDIT_REDACT_KEY", "DERMAUDIT_SALT"):
        monkeypatch.setenv(var, "cd" * 32)
    pa, pb = _export_variants(tmp_path)
    base = tmp_path / "base.json"
    st = Settings(select=["ALL"], baseline=base, update_baseline=True, redact=redact)
    first = Scan([pa], st).run()
    assert first.findings.height > 200 and base.exists()
    second = Scan([pb], dataclasses.replace(st, update_baseline=False)).run()
    assert second.triage.baseline["new"] == 0 and second.triage.baseline["fixed"] == 0
    assert second.triage.baseline["existing"] == first.findings.height
    # not vacuous: the codes text of some findings changed order between the two exports
    before = set(first.findings["codes"].drop_nulls().to_list())
    after = set(second.findings["codes"].drop_nulls().to_list())
    assert after - before, "the reordered cells changed no finding's codes text"
    assert set(second.findings["file"].to_list()) != set(first.findings["file"].to_list()) or redact


# ---- baselines and the state file ------------------------------------------------------------


def test_missing_baseline_means_all_new(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    r = cli("scan", "c.csv", "-f", "json", "--baseline", "none.json", cwd=tmp_path)
    data = _json(r)
    assert r.returncode == 1
    assert {f["status"] for f in data["findings"]} == {"new"}
    assert data["baseline"]["missing"] is True and data["baseline"]["new"] == 2
    assert "no baseline yet (first run): every finding is new" in data["input"]["notes"]
    assert not (tmp_path / "none.json").exists()  # written only with --update-baseline


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"findings": [', "is damaged (not JSON"),
        ("[1, 2]", "has no 'findings' list; it is not a baseline written by dermaudit"),
        ('{"findings": [{"rule": "X"}]}', "has findings without rule, claim_id"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        (None, "is a folder"),
    ],
)
def test_damaged_or_foreign_baseline_stops_before_the_scan(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    base = tmp_path / "base.json"
    if content is None:
        base.mkdir()
    elif isinstance(content, bytes):
        base.write_bytes(content)
    else:
        base.write_text(content)
    r = cli("scan", "c.csv", "--baseline", "base.json", "--update-baseline", "--log", cwd=tmp_path)
    assert r.returncode == 2
    err = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert err == [f"dermaudit: error: baseline base.json {message}" + err[0].split(message)[1]]
    assert "read 1 file" not in r.stderr  # no scan work was done
    assert content is None or base.read_bytes() == (
        content if isinstance(content, bytes) else content.encode()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "state file s.json is damaged (not JSON"),
        ('{"runs": []}', "state file s.json is not a dermaudit state file"),
        ('{"dermaudit_state": 1, "runs": 3}', "state file s.json is damaged (no list of runs)"),
    ],
)
def test_damaged_state_file_stops_before_the_scan(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    (tmp_path / "s.json").write_text(content)
    r = cli("scan", "c.csv", "--state", "s.json", "--log", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "read 1 file" not in r.stderr


def test_update_baseline_needs_a_path_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    r = cli("scan", "c.csv", "--update-baseline", cwd=tmp_path)
    assert r.returncode == 2 and "--update-baseline needs the baseline path" in r.stderr
    r = cli(
        "scan",
        "c.csv",
        "--baseline",
        "b.json",
        "--update-baseline",
        "-o",
        "b.json",
        "-f",
        "json",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "baseline and --output are the same file" in r.stderr
    r = cli("scan", "c.csv", "--baseline", "c.csv", "--update-baseline", cwd=tmp_path)
    assert r.returncode == 2 and "is one of the input files" in r.stderr


def test_state_gives_the_default_since_and_late_findings_are_kept(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1 + DAY2_EXTRA)
    opts = ("--baseline", "b.json", "--update-baseline", "--state", "s.json", "-f", "json")
    sel = ("--select", "DEST-002,EM-001,MOHS-001")
    first = _json(cli("scan", "c.csv", *opts, *sel, cwd=tmp_path))
    assert len(first["findings"]) == 3 and first["triage"]["before_since"] == 0
    # next night: nothing changed, plus a late charge dated 2025-03-04 with an error
    late = "P9,2025-03-04,DrB,Medicare,17000,,2,L57.0,180\n"
    (tmp_path / "c.csv").write_text(DAY1 + DAY2_EXTRA + late)
    r = cli("scan", "c.csv", *opts, *sel, "--log", cwd=tmp_path)
    data = _json(r)
    assert "--since 2025-03-05: the latest date of service of the last run" in r.stderr
    # the 2025-03-04 findings already reported are set aside; the late one is new and shown
    assert [(f["rule"], f["patient_id"], f["status"]) for f in data["findings"]] == [
        ("DEST-002", "P9", "new"),
        ("MOHS-001", "P2", "existing"),
    ]
    assert data["triage"]["before_since"] == 2 and data["baseline"]["open"] == 4
    assert r.returncode == 1
    state = json.loads((tmp_path / "s.json").read_text())
    assert [x["since"] for x in state["runs"]] == [None, "2025-03-05"]
    assert "P1" not in (tmp_path / "s.json").read_text()  # counts and dates only


# ---- the text report ---------------------------------------------------------------------


def test_text_report_for_mail(tmp_path: Path) -> None:
    hostile = DAY1.replace("DrA", "Dr\x1b[31mA") + DAY2_EXTRA
    (tmp_path / "c.csv").write_text(hostile)
    opts = ("-f", "text", "--baseline", "b.json", "--update-baseline", "--fail-on", "denial")
    r = cli("scan", "c.csv", *opts, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    text = r.stdout
    assert "\x1b" not in text and all(len(ln) <= 72 for ln in text.splitlines())
    assert "First run: no baseline yet, so every finding is new." in text
    assert "NEW PROBLEMS: 5 (1 compliance, 2 denial, 2 review)" in text
    assert "3 problems at or above 'denial': this run exits 1." in text
    assert "1. COMPLIANCE DEST-002: patient P1, DOS 2025-03-04\n" in text
    assert "Fix: bill 17000 x1 + 17003 x2 instead" in text
    assert "DOS 2025-03-04" in text and "Dr [31mA" in text
    r = cli("scan", "c.csv", *opts, "-o", "mail.txt", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ""
    mail = (tmp_path / "mail.txt").read_text()
    assert "Nothing new: no new problems since the last run." in mail
    assert "Since the last run: 0 new, 0 fixed, 5 open in all" in mail


def test_text_report_names_the_claim_and_the_fixed(tmp_path: Path) -> None:
    rows = DAY1.splitlines()
    (tmp_path / "c.csv").write_text(
        "claim_id," + rows[0] + "\n" + "\n".join("K7," + x for x in rows[1:]) + "\n"
    )
    cli("scan", "c.csv", "--baseline", "b.json", "--update-baseline", cwd=tmp_path)
    fixed = "\n".join("K7," + x for x in rows[1:]).replace("17000,,3", "17000,,1")
    (tmp_path / "c.csv").write_text("claim_id," + rows[0] + "\n" + fixed + "\n")
    r = cli("scan", "c.csv", "-f", "text", "--baseline", "b.json", cwd=tmp_path)
    assert "FIXED SINCE THE LAST RUN: 1\n- DEST-002: claim K7, DOS 2025-03-04" in r.stdout
    assert "Nothing new" in r.stdout and r.returncode == 0


# ---- one run at a time ---------------------------------------------------------------------


def test_run_lock_is_exclusive_and_clears_a_stale_lock(tmp_path: Path) -> None:
    from dermaudit.nightly import LockBusy, RunLock, lock_path

    target = tmp_path / "out" / "state.json"
    notes: list[str] = []
    with RunLock([target]) as a:
        a.acquire()
        other = RunLock([target, tmp_path / "b.json"])
        with pytest.raises(LockBusy, match=r"another dermaudit run \(pid \d+, started "):
            other.acquire(wait=0)
        assert other.held == []  # all or none
    assert not lock_path(target).exists()  # removed on release
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_path(target).write_text(json.dumps({"pid": dead.pid, "started": "2026-01-01T02:30:00Z"}))
    with RunLock([target], log=notes.append) as b:
        b.acquire()
    assert notes == [
        f"cleared a stale lock left by a run that was stopped (pid {dead.pid}, "
        "started 2026-01-01T02:30:00Z)"
    ]


def test_second_run_waits_for_the_first(tmp_path: Path) -> None:
    from dermaudit.nightly import RunLock

    (tmp_path / "c.csv").write_text(DAY1)
    lock = RunLock([tmp_path / "s.json"])
    lock.acquire()
    timer = threading.Timer(1.0, lock.release)
    timer.start()
    try:
        r = cli("scan", "c.csv", "--state", "s.json", "--wait", "60", "-q", "--log", cwd=tmp_path)
    finally:
        timer.join()
    assert r.returncode == 1, r.stderr
    assert f"waiting up to 60s: another dermaudit run (pid {os.getpid()}" in r.stderr
    assert json.loads((tmp_path / "s.json").read_text())["last_run"]["exit_code"] == 1


# ---- waivers --------------------------------------------------------------------------------


def test_waivers_match_by_fingerprint_and_old_ones_stay_quiet(tmp_path: Path) -> None:
    from datetime import date

    from dermaudit.triage import add_fingerprint, triage
    from dermaudit.waivers import Waiver

    (tmp_path / "c.csv").write_text(DAY1)
    from dermaudit.scanner import scan

    raw = scan(tmp_path / "c.csv", select=["DEST-002", "EM-001"]).findings
    fp = add_fingerprint(raw.drop("fingerprint", "status", strict=False))
    dest = fp.filter(pl.col("rule") == "DEST-002")["fingerprint"][0]
    w = [
        Waiver("DEST", "reviewed", "JC", None, fingerprint=dest, index=1),
        Waiver("EM-001", "old day", "JC", None, dos=date(2024, 1, 2), index=2),  # not covered
        Waiver("EM-001", "gone", "JC", date(2025, 1, 1), claim="X", index=3),  # expired, no match
        Waiver("EM-001", "back", "JC", date(2025, 1, 1), patient="P1", index=4),  # expired
        Waiver("EM-001", "typo", "JC", None, dos=date(2025, 3, 4), provider="DrZ", index=5),
    ]
    t = triage(
        raw.drop("fingerprint", "status", strict=False),
        waivers=w,
        today=date(2026, 1, 1),
        first_dos=date(2025, 3, 4),
        last_dos=date(2025, 3, 4),
    )
    assert t.waived["rule"].to_list() == ["DEST-002"]
    assert t.findings["rule"].to_list() == ["EM-001"]
    assert t.expired_waivers == ["EM-001 (patient=P1) expired 2025-01-01 (by JC)"]
    assert t.unused_waivers == ["EM-001 (dos=2025-03-04, provider=DrZ)"]
    assert list(t.waiver_matches.values()) == [1, 0, 0, 1, 0]


WAIVERS = """\
# Reviewed findings of the practice.

# the E/M was separate: documented
[[waiver]]
rule = "EM-001"
patient = "P1"
reason = "separate problem documented"
by = "JC"
until = 2099-01-01

# old: expired
[[waiver]]
rule = "DEST-002"
reason = "old"
by = "JC"
until = 2020-01-01

[[waiver]]
rule = "MOHS"
reason = "never matches"
by = "JC"
"""


def test_waivers_list_and_prune(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(DAY1)
    (tmp_path / "w.toml").write_text(WAIVERS)
    (tmp_path / "dermaudit.toml").write_text(
        '[scan]\nsuppressions = "w.toml"\nstate = "s.json"\nselect = ["DEST-002", "EM-001", "MOHS-001"]\n'
    )
    assert cli("scan", "c.csv", "-q", cwd=tmp_path).returncode == 1
    r = cli("waivers", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # the lines wrap at 72 columns
    assert out.startswith("w.toml: 3 waivers (1 active, 1 expired, 1 unused) ")
    assert "#1 active EM-001 (patient=P1): until 2099-01-01; 1 finding(s) in the run of " in out
    assert "#2 expired DEST-002 (all): expired 2020-01-01 (" in out
    assert "#3 unused MOHS (all): matched no finding in the run of " in out
    assert "by JC: never matches" in out
    assert r.stdout.splitlines()[-1] == (
        "2 stale waivers: remove with 'dermaudit waivers prune --unused'"
    )
    r = cli("waivers", "prune", "--dry-run", cwd=tmp_path)
    assert r.stdout.startswith("w.toml: would remove 1 waiver(s)")
    assert (tmp_path / "w.toml").read_text() == WAIVERS
    r = cli("waivers", "prune", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("w.toml: removed 1 waiver(s)")
    text = (tmp_path / "w.toml").read_text()
    assert "DEST-002" not in text and "# old: expired" not in text
    assert text.startswith("# Reviewed findings of the practice.\n\n# the E/M was separate")
    r = cli("waivers", "prune", "--unused", cwd=tmp_path)
    assert r.stdout.startswith("w.toml: removed 1 waiver(s)")
    assert [w.rule for w in load_waivers(tmp_path / "w.toml")] == ["EM-001"]
    # a waiver edited since the last run: its matches are unknown (not "unused")
    now = (tmp_path / "w.toml").read_text()
    (tmp_path / "w.toml").write_text(now.replace("separate problem", "separate issue"))
    r = cli("waivers", "list", cwd=tmp_path)
    assert r.stdout.splitlines()[1:] == [
        "  #1 active  EM-001 (patient=P1): until 2099-01-01",
        "      by JC: separate issue documented",
    ]


def test_prune_refuses_a_file_it_cannot_edit_safely(tmp_path: Path) -> None:
    from datetime import date

    from dermaudit.errors import UsageError
    from dermaudit.waivers import prune

    w = tmp_path / "w.toml"
    w.write_text('waiver = [{rule = "EM-001", reason = "r", by = "b", until = 2020-01-01}]\n')
    with pytest.raises(UsageError, match="cannot edit this file safely"):
        prune(w, date(2026, 1, 1), None)
    assert "EM-001" in w.read_text()


# ---- the cron recipe ---------------------------------------------------------------------


def test_scripts_wrapper_is_the_one_init_writes() -> None:
    from dermaudit.nightly import EXAMPLE_PATHS, wrapper_script

    shipped = Path(__file__).resolve().parent.parent / "scripts" / "dermaudit-nightly.sh"
    assert shipped.read_text() == wrapper_script(**EXAMPLE_PATHS)
    assert shipped.stat().st_mode & 0o111


def test_init_cron_and_the_wrapper_under_an_empty_environment(tmp_path: Path) -> None:
    """The README recipe as cron runs it: `env -i` (no PATH, no HOME), absolute paths."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "charges.csv").write_text(DAY1)
    r = cli("init", "exports/charges.csv", "--cron", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    script = tmp_path / "dermaudit-nightly.sh"
    assert f"30 2 * * * {script}" in r.stdout and f"ExecStart={script}" in r.stdout
    assert script.stat().st_mode & 0o777 == 0o700
    text = script.read_text()
    exe = Path(sys.executable).parent / "dermaudit"
    assert f'DERMAUDIT="{exe}"' in text
    assert f'INPUT="{tmp_path / "exports" / "charges.csv"}"' in text
    config = (tmp_path / "dermaudit.toml").read_text()
    for line in (
        'baseline = "findings/baseline.json"',
        "update-baseline = true",
        'state = "findings/state.json"',
        'fail-on = "denial"',
    ):
        assert line in config
    assert "\nlog = " not in config and "# log = false" in config  # quiet by default
    script.write_text(text.replace("KEEP_REPORTS=30", "KEEP_REPORTS=1"))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "dermaudit.log").write_text("x" * 1_000_001)  # rotated first

    def night() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["env", "-i", str(script)], capture_output=True, text=True, timeout=300, cwd="/"
        )

    one = night()
    assert one.returncode == 1, one.stdout + one.stderr
    assert one.stdout.startswith("dermaudit: 2 new (1 compliance, 1 denial), 0 fixed, 2 open")
    assert "NEW PROBLEMS: 2" in one.stdout
    assert (tmp_path / "logs" / "dermaudit.log.1").stat().st_size == 1_000_001
    time.sleep(1.1)  # the report names carry the second
    two = night()
    assert two.returncode == 0, two.stdout + two.stderr
    assert "Nothing new: no new problems since the last run." in two.stdout
    assert len(list((tmp_path / "reports").glob("dermaudit-*.txt"))) == 1  # KEEP_REPORTS=1
    assert len(list((tmp_path / "reports").glob("dermaudit-*.html"))) == 1
    log = (tmp_path / "logs" / "dermaudit.log").read_text()
    assert " exit 1: dermaudit: 2 new" in log and " exit 0: dermaudit: 0 new" in log
    (tmp_path / "exports" / "charges.csv").unlink()
    three = night()
    assert three.returncode == 2
    assert three.stdout.startswith("dermaudit: the nightly scan failed (exit 2)")
    assert "dermaudit: error:" in three.stdout
