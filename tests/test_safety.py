"""Safe with patient data and with the user's files: redaction in every output, keyed
pseudonyms, spreadsheet-safe CSV, data text never rendered as markup, signals, strict
reference tables."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import dermaudit
from dermaudit.errors import InputError, UsageError
from dermaudit.privacy import Redactor, spreadsheet_safe

from .test_cli import TEST_KEY, cli

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = {"DERMAUDIT_REDACT_KEY": TEST_KEY}

# identifiers a charge file holds; each must vanish from every redacted output
PATIENTS = ["MRN-884411", "MRN-775522", "MRN-663300"]
CLAIMS = ["CLM-2025-000917", "CLM-2025-000918", "CLM-2025-000919"]
FILE_NAME = "smith_john_mrn884411_charges.csv"
SITE_TEXT = "back (pt Johnathan Quimby 5551234)"
CHARGES = f"""\
patient_id,claim_id,dos,provider,payer,cpt,modifiers,units,dx,charge,site
{PATIENTS[0]},{CLAIMS[0]},2025-03-04,DrA,Medicare,99213,,1,L57.0,120,
{PATIENTS[0]},{CLAIMS[0]},2025-03-04,DrA,Medicare,17000,,3,L57.0,270,
{PATIENTS[1]},{CLAIMS[1]},2025-03-05,DrA,Medicare,11104,,1,D48.5,150,{SITE_TEXT}
{PATIENTS[1]},{CLAIMS[1]},2025-03-05,DrA,Medicare,12001,,1,D48.5,150,{SITE_TEXT}
{PATIENTS[2]},{CLAIMS[2]},2025-13-45,DrA,Medicare,17000,,1,L57.0,90,
{PATIENTS[2]},{CLAIMS[2]},2025-03-06,DrA,Medicare,{PATIENTS[2]},,1,L57.0,90,
"""
SECRETS = [*PATIENTS, *CLAIMS, "smith_john", "884411", "Johnathan", "Quimby", "5551234"]


def _leaks(text: str) -> list[str]:
    low = text.lower()
    return [s for s in SECRETS if s.lower() in low]


@pytest.fixture()
def phi_file(tmp_path: Path) -> Path:
    p = tmp_path / FILE_NAME
    p.write_text(CHARGES)
    return p


def test_redaction_leaves_no_identifier_in_any_output(phi_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    texts: dict[str, str] = {}
    for fmt, name in (("json", "f.json"), ("jsonl", "f.jsonl"), ("csv", "f.csv")):
        r = cli(
            "scan", str(phi_file), "-f", fmt, "-o", str(out / name), "--redact", "--log",
            "--select", "ALL", env=KEY_ENV,
        )  # fmt: skip
        assert r.returncode in (0, 1), r.stderr
        texts[f"{fmt} file"] = (out / name).read_text()
        texts[f"{fmt} log"] = r.stderr
    r = cli(
        "scan", str(phi_file), "-f", "parquet", "-o", str(out / "f.parquet"), "--redact",
        "--html", str(out / "r.html"), env=KEY_ENV,
    )  # fmt: skip
    assert r.returncode in (0, 1), r.stderr
    texts["parquet"] = str(pl.read_parquet(out / "f.parquet").to_dicts())
    texts["html"] = (out / "r.html").read_text()
    r = cli("scan", str(phi_file), "--redact", "--verbose", env=KEY_ENV)
    texts["console"] = r.stdout + r.stderr
    r = cli("scan", str(phi_file), "--redact", "-o", str(out / "table.txt"), env=KEY_ENV)
    texts["table file"] = (out / "table.txt").read_text()
    r = cli("scan", str(phi_file), "--redact", "-q", env=KEY_ENV)
    texts["quiet"] = r.stdout + r.stderr
    r = cli("sample", str(phi_file), "--redact", "-o", str(out / "s.csv"), env=KEY_ENV)
    assert r.returncode == 0, r.stderr
    texts["sample"] = (out / "s.csv").read_text() + r.stdout
    for where, text in texts.items():
        assert not _leaks(text), (where, _leaks(text))
    # and the findings are still there, under pseudonyms
    data = json.loads(texts["json file"])
    assert data["redacted"] is True
    assert {f["rule"] for f in data["findings"]} >= {"DEST-002", "DQ-001", "DQ-002"}
    assert all(
        re.fullmatch(r"P-[0-9a-f]{16}", f["patient_id"])
        for f in data["findings"]
        if f["patient_id"]
    )
    assert data["input"]["files"][0]["name"] == "input-1.csv"
    assert "[site text removed]" in texts["json file"]


def test_unredacted_run_shows_the_ids(phi_file: Path) -> None:
    """The scanner above would pass vacuously if the ids never reached the outputs."""
    r = cli("scan", str(phi_file), "-f", "json", "--select", "ALL")
    assert set(_leaks(r.stdout)) >= {PATIENTS[0], CLAIMS[0], "smith_john", "Quimby"}


def test_pseudonyms_are_keyed_and_stable() -> None:
    a, b = Redactor(b"k" * 32), Redactor(b"k" * 32)
    other = Redactor(b"x" * 32)
    assert a.pseudonym("patient", "MRN-1") == b.pseudonym("patient", "MRN-1")
    assert a.pseudonym("patient", "MRN-1") != other.pseudonym("patient", "MRN-1")
    assert a.pseudonym("patient", "MRN-1") != a.pseudonym("claim", "MRN-1")
    import hashlib

    unkeyed = hashlib.sha256(b"MRN-1").hexdigest()
    assert unkeyed[:16] not in a.pseudonym("patient", "MRN-1")


def test_redacted_runs_match_each_other_and_refuse_a_mixed_baseline(
    phi_file: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base.json"
    assert cli(
        "scan", str(phi_file), "--redact", "-f", "json", "-o", str(base), env=KEY_ENV
    ).returncode in (0, 1)
    r = cli("scan", str(phi_file), "--redact", "-f", "json", "--baseline", str(base), env=KEY_ENV)
    data = json.loads(r.stdout)
    assert data["baseline"]["new"] == 0 and data["baseline"]["fixed"] == 0
    assert data["baseline"]["file"] == "(baseline)"
    r = cli("scan", str(phi_file), "-f", "json", "--baseline", str(base))
    assert r.returncode == 2 and "written with --redact" in r.stderr
    raw = tmp_path / "raw.json"
    cli("scan", str(phi_file), "-f", "json", "-o", str(raw))
    r = cli("scan", str(phi_file), "--redact", "--baseline", str(raw), env=KEY_ENV)
    assert r.returncode == 2 and "unredacted identifiers" in r.stderr


def test_init_key_writes_a_private_key_once(tmp_path: Path) -> None:
    key = tmp_path / "k" / "redact.key"
    r = cli("init", "--key", "--key-file", str(key))
    assert r.returncode == 0, r.stderr
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    r = cli("init", "--key", "--key-file", str(key))
    assert r.returncode == 2 and "exists" in r.stderr
    env = {"DERMAUDIT_REDACT_KEY_FILE": str(key)}
    charges = tmp_path / "c.csv"
    charges.write_text(CHARGES)
    assert cli("scan", str(charges), "--redact", "-q", env=env).returncode in (0, 1)
    key.write_text("short\n")
    r = cli("scan", str(charges), "--redact", "-q", env=env)
    assert r.returncode == 2 and "shorter than 32" in r.stderr


def test_csv_cells_that_start_a_formula_are_escaped(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {
            "provider": [
                '=HYPERLINK("http://x")',
                "+1+1",
                "-2+3",
                "@SUM(A1)",
                "\tx",
                "\rx",
                "Dr A",
            ],
            "amount": [-12.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    buf = io.StringIO(spreadsheet_safe(df).write_csv())
    rows = list(csv.DictReader(buf))
    for r in rows[:-1]:
        assert r["provider"].startswith("'"), r
    assert rows[-1]["provider"] == "Dr A"
    assert rows[0]["amount"] == "-12.5"  # numbers stay numbers


def test_findings_csv_is_spreadsheet_safe(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(
        "patient_id,dos,provider,payer,cpt,units,dx\n"
        "=cmd|' /C calc'!A0,2025-03-04,@evil,Medicare,17000,3,L57.0\n"
    )
    r = cli("scan", str(p), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows and all(
        (v or "x")[0] not in "=+-@\t\r"
        for row in rows
        for v in row.values()
        if v and not re.fullmatch(r"-?[\d.]+", v)
    )
    assert any(row["provider"] == "'@evil" for row in rows)


HOSTILE_NAMES = [
    "[/]",
    "[link=https://x.example]x[/link]",
    "[bold red]loud",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markup_in_data_is_shown_literally(tmp_path: Path, name: str) -> None:
    p = tmp_path / "c.csv"
    p.write_text(
        "patient_id,dos,provider,payer,cpt,units,dx,site\n"
        f'P1,2025-03-04,"{name}",Medicare,17000,3,L57.0,"{name}"\n'
    )
    for args in (["scan", str(p), "--verbose"], ["inspect", str(p)]):
        r = cli(*args)
        assert r.returncode in (0, 1), r.stderr
        assert "Traceback" not in r.stderr
        assert name in r.stdout, (args, r.stdout)
    out = tmp_path / "r.html"
    assert cli("scan", str(p), "--html", str(out)).returncode in (0, 1)
    html = out.read_text()
    assert "<script>alert(1)</script>" not in html
    if name.startswith("<"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "codes.csv",
            "code,family\n1700X,DEST\n",
            r"codes.csv line 2: code '1700X' is not a CPT/HCPCS code",
        ),
        (
            "codes.csv",
            "# note\ncode,family,valid_from\n17000,DEST,2025/01/01\n",
            r"line 3: valid_from '2025/01/01' is not a date",
        ),
        ("codes.csv", "code\n17000\n", r"missing column\(s\) family"),
        ("unit_caps.csv", "code,max_units\n17000,one\n", r"max_units 'one' is not a whole number"),
        (
            "ncci_pairs.csv",
            "column1,column2,modifier_indicator\n17000,17003,2\n",
            "modifier_indicator '2' is not one of",
        ),
        ("sites.csv", "keyword,lesion_group\nback(,A\n", "not a valid pattern"),
        ("payer_classes.toml", "[[rule]]\nclass = 'x'\n", r"needs class"),
        ("ruleset.toml", "version = \n", "not valid TOML"),
    ],
)
def test_ruleset_files_are_validated(tmp_path: Path, name: str, text: str, message: str) -> None:
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / name).write_text(text)
    with pytest.raises(InputError, match=message):
        dermaudit.scan(ROOT / "sample_data" / "charges.csv", ruleset=[layer])
    charges = tmp_path / "c.csv"
    charges.write_text(CHARGES)
    r = cli("scan", str(charges), "--ruleset", str(layer))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_empty_dates_and_bad_options_are_refused(phi_file: Path) -> None:
    with pytest.raises(UsageError):
        dermaudit.scan(phi_file, select=[""])
    r = cli("scan", str(phi_file), "--since", "  ")
    assert r.returncode == 2 and "is not a date" in r.stderr


def _big_file(tmp: Path, lines: int) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    import generate  # bench/generate.py

    out = tmp / "big"
    generate.main(
        ["--lines", str(lines), "--out", str(out), "--seed", "3", "--formats", "csv", "--quiet"]
    )
    return next(out.glob("*.csv"))


def test_sigterm_mid_scan_leaves_no_partition_and_keeps_old_outputs(tmp_path: Path) -> None:
    data = _big_file(tmp_path, 150_000)
    work = tmp_path / "tmp"
    work.mkdir()
    out = tmp_path / "findings.json"
    html = tmp_path / "report.html"
    out.write_text("old findings")
    html.write_text("old report")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dermaudit", "scan", str(data), "--partitions", "4",
         "-f", "json", "-o", str(out), "--html", str(html)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(work), "NO_COLOR": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not any(work.glob("dermaudit-parts-*/*")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"scan ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.05)
    assert any(work.glob("dermaudit-parts-*")), "no partition directory appeared"
    mode = next(work.glob("dermaudit-parts-*")).stat().st_mode & 0o777
    assert mode == 0o700
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert list(work.iterdir()) == []
    assert out.read_text() == "old findings" and html.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["big", "tmp", "findings.json", "report.html"]
    )


def test_output_files_are_private(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(CHARGES)
    old = os.umask(0o022)
    try:
        for name in ("f.json", "f.csv", "r.html"):
            dermaudit.scan(p).write(tmp_path / name)
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
