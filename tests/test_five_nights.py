"""Five nights of the README's nightly recipe, end to end through the command line.

One practice, one growing export, redaction on (keyed pseudonyms), and the settings of
``dermaudit init --cron`` (baseline, update-baseline, state). Each night asserts exactly which
findings are new and which are fixed (as (rule, date of service) pairs: the claim ids are
pseudonyms), the exit code and the summary line:

1. first night: no baseline yet, every finding is new, the baseline and the state are created;
2. one error corrected (DEST-002 17000 x3 -> 17000 + 17003 x2), one new Mohs error (an
   additional-stage code without its first stage);
3. a claim voided (status column), the rows shuffled, a clean new day: nothing new, one fixed;
4. the file renamed, the modifier cell "59 XS" written "XS 59", a new error on the new day and
   a late charge dated before --since (the last run's latest date) with an error: two new;
5. the same rows shuffled plus a clean day: nothing new, nothing fixed.

Then: a run killed in the middle leaves the previous baseline byte for byte, and its stale
lock is cleared by the next run; two runs started together leave one consistent baseline.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_cli import cli

KEY = "ab" * 32  # the practice's redaction key (64 hex characters)
ENV = {"DERMAUDIT_REDACT_KEY": KEY, "DERMAUDIT_SALT": KEY}  # SALT: the pre-HMAC name
HEADER = "claim_id,patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge,status\n"
CONFIG = """\
[scan]
baseline = "findings/baseline.json"
update-baseline = true
state = "findings/state.json"
redact = true
fail-on = "review"
"""

NIGHT1 = [
    "C1,P1,2025-03-03,DrA,Medicare,99213,25,1,L57.0,120,Posted",  # EM-003 (E/M-25 + 17000)
    "C1,P1,2025-03-03,DrA,Medicare,17000,,1,L57.0,135,Posted",
    "C2,P2,2025-03-04,DrA,Medicare,17000,,3,L57.0,270,Posted",  # DEST-002: 17000 x3
    "C3,P3,2025-03-05,DrA,Medicare,99213,,1,L57.0,120,Posted",  # EM-001: no 25
    "C3,P3,2025-03-05,DrA,Medicare,17000,,1,L57.0,135,Posted",
    "C4,P4,2025-03-05,DrA,Medicare,11102,59 XS,1,D48.5,150,Posted",  # MOD-001, DX-002
    "C4,P4,2025-03-05,DrA,Medicare,17000,,1,L57.0,135,Posted",
]
CORRECTED = [  # night 2: C2 rebilled correctly
    "C2,P2,2025-03-04,DrA,Medicare,17000,,1,L57.0,135,Posted",
    "C2,P2,2025-03-04,DrA,Medicare,17003,,2,L57.0,90,Posted",
]
DAY6 = ["C5,P5,2025-03-06,DrB,Medicare,17312,,1,C44.311,900,Posted"]  # MOHS-001: no 17311
DAY7 = ["C6,P6,2025-03-07,DrA,Medicare,99213,,1,L82.1,120,Posted"]  # clean
DAY8 = [
    "C7,P7,2025-03-08,DrA,Medicare,17000,,2,L57.0,180,Posted",  # DEST-002: 17000 x2
    "C8,P8,2025-03-04,DrB,Aetna,99214,,1,L57.0,160,Posted",  # late charge, EM-001
    "C8,P8,2025-03-04,DrB,Aetna,17000,,1,L57.0,135,Posted",
]
DAY9 = ["C9,P9,2025-03-09,DrB,Medicare,99212,,1,L82.1,80,Posted"]  # clean


def void(lines: list[str], claim: str) -> list[str]:
    return [ln.replace(",Posted", ",Void") if ln.startswith(claim + ",") else ln for ln in lines]


def shuffled(lines: list[str], seed: int) -> list[str]:
    out = list(lines)
    random.Random(seed).shuffle(out)
    return out


def night_rows() -> list[list[str]]:
    n1 = NIGHT1
    n2 = [ln for ln in n1 if not ln.startswith("C2,")] + CORRECTED + DAY6
    n3 = shuffled(void(n2, "C3") + DAY7, seed=3)
    n4 = [ln.replace("59 XS", "XS 59") for ln in n3] + DAY8
    n5 = shuffled(n4, seed=5) + DAY9
    return [n1, n2, n3, n4, n5]


# file name, new (rule, dos), fixed (rule, dos), exit code, summary line
EXPECTED = [
    (
        "charges.csv",
        {
            ("EM-003", "2025-03-03"),
            ("DEST-002", "2025-03-04"),
            ("EM-001", "2025-03-05"),
            ("MOD-001", "2025-03-05"),
            ("DX-002", "2025-03-05"),
        },
        set(),
        1,
        "dermaudit: 5 new (1 compliance, 2 denial, 2 review), 0 fixed, 5 open (first run: "
        "no baseline yet); $208.63 over / $88.95 under / $95.75 either; 1 file, 7 lines",
    ),
    (
        "charges.csv",
        {("MOHS-001", "2025-03-06")},
        {("DEST-002", "2025-03-04")},
        1,
        None,
    ),
    ("charges.csv", set(), {("EM-001", "2025-03-05")}, 0, None),
    (
        "export_2025-03-08.csv",
        {("DEST-002", "2025-03-08"), ("EM-001", "2025-03-04")},
        set(),
        1,
        None,
    ),
    (
        "export_2025-03-09.csv",
        set(),
        set(),
        0,
        "dermaudit: 0 new (none), 0 fixed, 6 open; $0.00 over / $0.00 under / $0.00 either; "
        "1 file, 14 lines",
    ),
]


def run_night(work: Path, n: int, rows: list[str]) -> subprocess.CompletedProcess[str]:
    for old in work.glob("*.csv"):
        old.unlink()  # the practice's export of the night replaces yesterday's
    name = EXPECTED[n][0]
    (work / name).write_text(HEADER + "\n".join(rows) + "\n")
    return cli(
        "scan",
        name,
        "-f",
        "json",
        "-o",
        f"night{n + 1}.json",
        "--summary-line",
        cwd=work,
        env=ENV,
    )


def pairs(records: list[dict[str, str]], status: str | None = None) -> set[tuple[str, str]]:
    return {(r["rule"], r["dos"]) for r in records if status is None or r["status"] == status}


@pytest.fixture(scope="module")
def five_nights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("practice")
    (work / "dermaudit.toml").write_text(CONFIG)
    return work


def test_five_nights(five_nights: Path) -> None:
    work = five_nights
    raw_ids = {f"C{i}" for i in range(1, 10)} | {f"P{i}" for i in range(1, 10)}
    for n, rows in enumerate(night_rows()):
        _name, new, fixed, code, line = EXPECTED[n]
        r = run_night(work, n, rows)
        assert r.returncode == code, (n + 1, r.stderr)
        out = json.loads((work / f"night{n + 1}.json").read_text())
        assert pairs(out["findings"], "new") == new, n + 1
        assert pairs(out["fixed"]) == fixed, n + 1
        assert out["baseline"]["new"] == len(new) and out["baseline"]["fixed"] == len(fixed)
        summary = r.stdout.strip()
        assert (
            summary.startswith(f"dermaudit: {len(new)} new") and f", {len(fixed)} fixed" in summary
        )
        if line is not None:
            assert summary == line
        assert "either" in summary and "1 file" in summary
        # redaction on: no identifier of the export in the findings, the baseline or the state
        for f in ("findings/baseline.json", "findings/state.json", f"night{n + 1}.json"):
            text = (work / f).read_text()
            assert not any(f'"{i}"' in text for i in raw_ids), (n + 1, f)
        state = json.loads((work / "findings/state.json").read_text())
        assert len(state["runs"]) == n + 1 and state["last_run"]["exit_code"] == code
        if n == 0:
            assert out["baseline"]["missing"] is True
            assert "no baseline yet (first run): every finding is new" in out["input"]["notes"]
            assert state["last_run"]["since"] is None
        else:  # the default --since: the latest date of service of the last run
            assert state["last_run"]["since"] == state["runs"][-2]["last_dos"]
            assert state["last_run"]["since_from"] == "state"
    # night 4's late charge was dated before --since and still reported, with a note
    night4 = json.loads((work / "night4.json").read_text())
    assert any("1 new finding(s) dated before --since" in x for x in night4["input"]["notes"])
    base = json.loads((work / "findings/baseline.json").read_text())
    assert base["redacted"] is True and len(base["findings"]) == 6
    assert not list(work.glob("findings/.*")), "no lock or partial file is left"


def test_killed_run_leaves_the_baseline(five_nights: Path, tmp_path: Path) -> None:
    """SIGKILL while the scan runs (the lock is held: the run is past its checks and before
    its commit); the baseline and the state stay as they were; the next run clears the lock."""
    work = tmp_path
    (work / "dermaudit.toml").write_text(CONFIG)
    rows = night_rows()[0]
    assert run_night(work, 0, rows).returncode == 1
    before = (work / "findings/baseline.json").read_bytes()
    state_before = (work / "findings/state.json").read_bytes()
    # a larger export so that the scan takes a while: the sample practice, 2,617 lines
    sample = Path(__file__).resolve().parent.parent / "sample_data" / "charges.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dermaudit", "scan", str(sample), "-q"],
        cwd=work,
        env={"PATH": "/usr/bin:/bin", **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = work / "findings" / ".state.json.lock"
    for _ in range(6000):
        if lock.exists() and str(proc.pid) in lock.read_text():
            break
        assert proc.poll() is None, "the run ended before it was killed"
        time.sleep(0.01)
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (work / "findings/baseline.json").read_bytes() == before
    assert (work / "findings/state.json").read_bytes() == state_before
    assert lock.exists()  # left by the killed run
    (work / "findings" / ".baseline.json.x1y2.part").write_text('{"findings": [')  # as if cut
    r = cli("scan", "charges.csv", "-f", "json", "--log", cwd=work, env=ENV)
    assert r.returncode == 0, r.stderr
    assert f"cleared a stale lock left by a run that was stopped (pid {proc.pid}" in r.stderr
    notes = json.loads(r.stdout)["input"]["notes"]
    assert any("cleared a stale lock" in n for n in notes)
    assert any("removed a partial file" in n for n in notes)
    assert not list((work / "findings").glob(".*")), "lock and partial file are gone"


def test_two_runs_together_leave_one_consistent_baseline(tmp_path: Path) -> None:
    work = tmp_path
    (work / "dermaudit.toml").write_text(CONFIG)
    (work / "charges.csv").write_text(HEADER + "\n".join(NIGHT1) + "\n")
    cmd = [sys.executable, "-m", "dermaudit", "scan", "charges.csv", "--summary-line"]
    env = {"PATH": "/usr/bin:/bin", **ENV}
    procs = [
        subprocess.Popen(
            [*cmd, "--wait", "120"], cwd=work, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    # one ran first (first night: all new, exit 1); the other waited and found nothing new
    assert codes == [0, 1], outs
    assert sorted(o.split(",")[0] for o in outs) == [
        "dermaudit: 0 new (none)",
        "dermaudit: 5 new (1 compliance",
    ]
    base = json.loads((work / "findings/baseline.json").read_text())
    assert len(base["findings"]) == 5 and base["dermaudit_baseline"] == 1
    state = json.loads((work / "findings/state.json").read_text())
    assert [r["new"] for r in state["runs"]] == [5, 0]
    # with no wait, a second run stops at once with a clear message while one holds the lock
    from dermaudit.nightly import RunLock

    with RunLock([work / "findings/state.json"]) as held:
        held.acquire()
        r = cli("scan", "charges.csv", "-q", cwd=work, env=ENV)
    assert r.returncode == 2
    assert f"another dermaudit run (pid {os.getpid()}" in r.stderr
    assert "pass --wait SECONDS" in r.stderr
    assert json.loads((work / "findings/state.json").read_text())["runs"] == state["runs"]
