"""Redaction that holds: the cases a first redaction missed, the key handling, and a
Hypothesis property (no generated identifier survives in any redacted output).

Each leak test also runs the scan without ``--redact`` and checks the secret is there, so the
test cannot pass because the secret never reached the outputs."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import polars as pl
import polars.testing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dermaudit.errors import UsageError
from dermaudit.privacy import _site_is_anatomy
from dermaudit.refdata import load_refdata
from dermaudit.scanner import Scan, scan

from .test_cli import TEST_KEY, cli

HEADER = "patient_id,claim_id,dos,provider,payer,cpt,units,dx,site"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    """No key from the real home folder leaks into a test."""
    return {"XDG_CONFIG_HOME": str(tmp / "xdg"), "HOME": str(tmp), **extra}


def _pair(tmp: Path, csv: str, *args: str, name: str = "c.csv") -> tuple[str, str]:
    """(unredacted, redacted) JSON of the same scan."""
    p = tmp / name
    p.write_text(csv)
    plain = cli("scan", str(p), "-f", "json", "--select", "ALL", *args, env=_env(tmp))
    red = cli(
        "scan", str(p), "-f", "json", "--select", "ALL", "--redact", *args,
        env=_env(tmp, DERMAUDIT_REDACT_KEY=TEST_KEY),
    )  # fmt: skip
    assert plain.returncode in (0, 1), plain.stderr
    assert red.returncode in (0, 1), red.stderr
    return plain.stdout, red.stdout


# ---- free text ------------------------------------------------------------------------------


def test_site_words_must_be_whole_anatomic_words() -> None:
    kws = load_refdata().sites["keyword"].to_list()
    for site in ("left cheek", "L upper back", "r medial canthus", "scalp, vertex 2", "nose tip"):
        assert _site_is_anatomy(site, kws), site
    # each word starts like a site keyword (ear, arm, lid, palm, chest, hand): still names
    for site in ("Earl Armstrong", "Lidia Palmer", "Chester Handley", "back 5551234"):
        assert not _site_is_anatomy(site, kws), site


def test_names_in_site_text_and_quoted_cells_are_removed(tmp_path: Path) -> None:
    csv = (
        f"{HEADER}\n"
        "MRN-884411,CLM-1234567,O'Brien Johnathan,DrA,Medicare,17000,3,L57.0,Earl Armstrong\n"
        "MRN-884411,CLM-1234567,2025-03-04,DrA,Medicare,17000,3,L57.0,Earl Armstrong\n"
        "MRN-884411,CLM-1234567,2025-03-04,DrA,Medicare,17250,1,L57.0,Earl Armstrong\n"
        "MRN-884412,CLM-1234568,2025-03-04,DrB,Medicare,11104,1,D48.5,Lidia Palmer\n"
        "MRN-884412,CLM-1234568,2025-03-04,DrB,Medicare,17311,1,C44.01,Lidia Palmer\n"
    )
    plain, red = _pair(tmp_path, csv)
    secrets = ["brien", "johnathan", "earl armstrong", "lidia palmer", "MRN-8844", "CLM-12345"]
    assert all(s.lower() in plain.lower() for s in secrets)
    assert not [s for s in secrets if s.lower() in red.lower()]
    assert "[site text removed]" in red and "[value removed]" in red


def test_waiver_reasons_descriptions_and_notes_are_redacted(tmp_path: Path) -> None:
    folder = tmp_path / "Smith_Johnathan_exports"
    folder.mkdir()
    (folder / "scan_of_chart.pdf").write_bytes(b"%PDF")  # skipped: named in a note
    (folder / "c.csv").write_text(
        f"{HEADER}\nMRN-884411,CLM-1234567,2025-03-04,DrA,Medicare,17000,3,L57.0,back\n"
    )
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waiver]]\nrule = "DEST-002"\nclaim = "CLM-1234567"\n'
        'reason = "MRN-884411 (Mr Johnathan Smith) had 3 separate lesions"\nby = "J. Coder"\n'
        '[[waiver]]\nrule = "EM-001"\npatient = "MRN-999999"\nreason = "x"\nby = "J. Coder"\n'
    )
    args = ("-f", "json", "--suppressions", str(waivers))
    plain = cli("scan", str(folder), *args, env=_env(tmp_path))
    red = cli(
        "scan", str(folder), *args, "--redact", env=_env(tmp_path, DERMAUDIT_REDACT_KEY=TEST_KEY)
    )
    assert plain.returncode in (0, 1) and red.returncode in (0, 1), red.stderr
    secrets = ["MRN-884411", "CLM-1234567", "MRN-999999", "Smith_Johnathan", "Johnathan Smith"]
    assert all(s in plain.stdout for s in secrets)
    assert not [s for s in secrets if s in red.stdout]
    data = json.loads(red.stdout)
    assert len(data["waived"]) == 1  # the waiver naming the raw claim still matches
    assert data["waived"][0]["claim_id"].startswith("C-")
    assert data["waived"][0]["waiver_reason"] == "(redacted: see the suppressions file)"
    assert any("P-" in u for u in data["triage"]["unused_waivers"])
    assert any("[input folder]" in n for n in data["input"]["notes"])


def test_partitioned_redacted_scan_removes_the_same(tmp_path: Path) -> None:
    csv = (
        f"{HEADER}\n"
        "MRN-884411,CLM-1234567,2025-03-04,DrA,Medicare,17000,3,L57.0,Earl Armstrong\n"
        "MRN-884411,CLM-1234567,2025-03-04,DrA,Medicare,17250,1,L57.0,Earl Armstrong\n"
        "MRN-884412,CLM-1234568,20251304,DrB,Medicare,17000,1,L57.0,back\n"
        + "".join(
            f"MRN-88441{i},CLM-123456{i},2025-03-0{i},DrB,Medicare,17000,1,L57.0,back\n"
            for i in range(2, 9)
        )
    )
    plain, red = _pair(tmp_path, csv, "--partitions", "2")
    secrets = ["MRN-8844", "CLM-12345", "earl armstrong", "20251304"]
    assert all(s in plain.lower() or s in plain for s in secrets)
    assert not [s for s in secrets if s in red.lower() or s in red]


# ---- the key --------------------------------------------------------------------------------


def test_no_key_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DERMAUDIT_REDACT_KEY", raising=False)
    monkeypatch.delenv("DERMAUDIT_REDACT_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    def no_work(*_a: object) -> None:
        raise AssertionError("the scan ran before the key was checked")

    monkeypatch.setattr(Scan, "_execute", no_work)
    with pytest.raises(UsageError, match="init --key"):
        scan(Path(__file__).parent.parent / "sample_data" / "charges.csv", redact=True)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "redact.key"
    r = cli("init", "--key", "--key-file", str(key), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    charges = tmp_path / "c.csv"
    charges.write_text(f"{HEADER}\nP1,C1,2025-03-04,DrA,Medicare,17000,3,L57.0,back\n")
    ok = cli("scan", str(charges), "--redact", "--redact-key", str(key), "-q", env=_env(tmp_path))
    assert ok.returncode in (0, 1), ok.stderr
    os.chmod(key, 0o644)
    bad = cli("scan", str(charges), "--redact", "--redact-key", str(key), env=_env(tmp_path))
    assert bad.returncode == 2 and "chmod 600" in bad.stderr and bad.stderr.count("\n") == 1


def test_key_file_from_the_config(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "redact.key"
    assert cli("init", "--key", "--key-file", str(key), env=_env(tmp_path)).returncode == 0
    assert key.parent.stat().st_mode & 0o777 == 0o700
    (tmp_path / "dermaudit.toml").write_text(
        '[scan]\nredact = true\nredact-key = "keys/redact.key"\n'
    )
    (tmp_path / "c.csv").write_text(
        f"{HEADER}\nMRN-884411,C1,2025-03-04,DrA,Medicare,17000,3,L57.0,back\n"
    )
    a = cli("scan", "c.csv", "-f", "json", cwd=tmp_path, env=_env(tmp_path))
    b = cli("scan", "c.csv", "-f", "json", cwd=tmp_path, env=_env(tmp_path))
    assert a.returncode == 1, a.stderr
    assert "MRN-884411" not in a.stdout
    ids = {f["patient_id"] for f in json.loads(a.stdout)["findings"]}
    assert ids == {f["patient_id"] for f in json.loads(b.stdout)["findings"]}  # stable


# ---- property -------------------------------------------------------------------------------

ID = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=6, max_size=10).map(
    lambda s: "ZQ" + s  # never a code, date or word that the outputs hold anyway
)
NAME = st.text(alphabet=string.ascii_lowercase, min_size=5, max_size=9).map(lambda s: "qx" + s)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    patients=st.lists(ID, min_size=1, max_size=4, unique=True),
    claims=st.lists(ID, min_size=1, max_size=4, unique=True),
    names=st.lists(NAME, min_size=1, max_size=3),
    codes=st.lists(
        st.sampled_from(["17000", "17003", "11104", "99213", "17250", "17311"]),
        min_size=2,
        max_size=8,
    ),
)
def test_no_generated_identifier_survives_redaction(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    patients: list[str],
    claims: list[str],
    names: list[str],
    codes: list[str],
) -> None:
    monkeypatch.setenv("DERMAUDIT_REDACT_KEY", TEST_KEY)
    rows = []
    for i, code in enumerate(codes):
        p, c, n = patients[i % len(patients)], claims[i % len(claims)], names[i % len(names)]
        dos = "2025-03-04" if i % 5 else f"{n} {p}"  # some dates hold text: data-quality rows
        rows.append(f"{p},{c},{dos},DrA,Medicare,{code},{1 + i % 3},L57.0,left {n} cheek")
    path = tmp_path / f"{names[0]}_{patients[0]}.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    plain = scan(path, select=["ALL"])
    result = scan(path, select=["ALL"], redact=True)
    texts = [result.text("json"), result.text("csv"), result.text("jsonl")]
    texts.append(str(result.findings.to_dicts()))
    secrets = [*patients, *claims, *names]
    shown = " ".join([plain.text("json"), str(plain.findings["patient_id"].to_list())])
    assert any(s in shown for s in patients)  # they reach the unredacted outputs
    for text in texts:
        low = text.lower()
        assert not [s for s in secrets if s.lower() in low]
    assert result.findings.height == plain.findings.height
    pl.testing.assert_series_equal(
        result.findings["rule"].sort(), plain.findings["rule"].sort(), check_names=False
    )
