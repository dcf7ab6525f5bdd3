"""Safe with patient data and with the user's files: redaction in every output, keyed
pseudonyms, spreadsheet-safe CSV, data text never rendered as markup, signals, strict
reference tables."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
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


# ---- every writer: never over an input, never half a file, errors as OutputError ------------

SAMPLE = ROOT / "sample_data" / "charges.csv"


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``dermaudit ARGS`` in this process (exit code, stdout, stderr)."""
    from dermaudit import cli as cli_module

    old = sys.argv
    sys.argv = ["dermaudit", *args]
    try:
        with pytest.raises(SystemExit) as exc:
            cli_module.main()
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_every_writer_refuses_an_input_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dermaudit.scanner import Scan

    charges = tmp_path / "c.csv"
    charges.write_text(CHARGES)
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\nrule = "EM-001"\nreason = "x"\nby = "me"\n')
    (tmp_path / "link.html").symlink_to(charges)
    os.link(charges, tmp_path / "hard.json")
    before = {p: p.read_bytes() for p in (charges, waivers)}

    def no_work(*_a: object) -> None:
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(Scan, "_execute", no_work)
    cases = [
        ("sample", str(charges), "-o", str(charges)),
        ("scan", str(charges), "--html", str(tmp_path / "link.html")),
        ("scan", str(charges), "-f", "json", "-o", str(tmp_path / "hard.json")),
        ("scan", str(charges), "-f", "csv", "-o", str(waivers), "--suppressions", str(waivers)),
        ("init", str(charges), "--path", str(charges), "--force"),
    ]
    for args in cases:
        code, _, err = run_main(capsys, *args)
        assert code == 2 and err.count("\n") == 1, (args, err)
        assert "never writes over an input" in err or "one of the input" in err, (args, err)
    for p, data in before.items():
        assert p.read_bytes() == data


def test_device_and_pipe_outputs_are_written_in_place(tmp_path: Path) -> None:
    """Replacing /dev/null (or a named pipe) with a file would be wrong; they are written to."""
    import threading

    result = dermaudit.scan(SAMPLE)
    result.write(Path("/dev/null"), "json")
    assert Path("/dev/null").is_char_device()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result.write(fifo, "json")
    reader.join(timeout=60)
    assert fifo.is_fifo()
    assert json.loads(got[0])["summary"]["findings"] == result.findings.height


@pytest.mark.parametrize(
    "args",
    [
        ("-f", "json", "-o", "/dev/full"),
        ("-f", "jsonl", "-o", "/dev/full"),
        ("-f", "csv", "-o", "/dev/full"),
        ("-f", "parquet", "-o", "/dev/full"),
        ("-o", "/dev/full"),  # the console table
        ("--html", "/dev/full"),
    ],
)
def test_full_disk_is_one_output_error(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full on this system")
    code, _, err = run_main(capsys, "scan", str(SAMPLE), "--fail-on", "never", *args)
    assert code == 2, err
    assert err == "dermaudit: error: cannot write /dev/full: the disk is full\n"
    assert Path("/dev/full").is_char_device()


def test_full_disk_on_a_file_keeps_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from dermaudit import outputs
    from dermaudit.errors import OutputError

    result = dermaudit.scan(SAMPLE)
    out = tmp_path / "findings.json"
    out.write_text("yesterday")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(OutputError, match=r"cannot write .*findings.json: the disk is full"):
        result.write(out)
    assert out.read_text() == "yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["findings.json"]


def test_permission_denied_is_one_output_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real permission error: a read-only folder (root ignores the mode bits, so as root the
    folder is also made immutable; failing that, /sys refuses new files to everyone)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    immutable = False
    if os.getuid() == 0:
        immutable = (
            subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode == 0
        )
    target = locked / "f.json" if os.getuid() != 0 or immutable else Path("/sys/f.json")
    try:
        code, _, err = run_main(capsys, "scan", str(SAMPLE), "-f", "json", "-o", str(target))
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        os.chmod(locked, 0o755)
    assert code == 2, err
    assert err == f"dermaudit: error: cannot write {target}: permission denied\n"
    assert list(locked.iterdir()) == []


def test_refdata_import_replaces_the_folder_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dermaudit import refdata_import

    from .test_refdata_import import PTP_F1, PTP_F2, ptp_text

    src = tmp_path / "ccipra-v313r0-f1.txt"
    src.write_bytes(ptp_text(PTP_F1))
    layer = tmp_path / "cms"
    refdata_import.import_files([src], layer)
    (layer / "codes_practice.csv").write_text("code,family\n")  # the user's own file
    before = {p.name: p.read_bytes() for p in layer.iterdir()}
    src.write_bytes(ptp_text(PTP_F2))

    def interrupted(*_a: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(refdata_import, "_ruleset_toml", interrupted)
    with pytest.raises(KeyboardInterrupt):  # tables written, ruleset.toml not yet
        refdata_import.import_files([src], layer)
    assert {p.name: p.read_bytes() for p in layer.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccipra-v313r0-f1.txt", "cms"]
    monkeypatch.undo()
    refdata_import.import_files([src], layer)
    after = {p.name: p.read_bytes() for p in layer.iterdir()}
    assert after["codes_practice.csv"] == before["codes_practice.csv"]
    assert after["ncci_pairs_cms.csv"] != before["ncci_pairs_cms.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccipra-v313r0-f1.txt", "cms"]


def test_refdata_import_refuses_an_empty_since(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "refdata", "import", "x.txt", "--into", "y", "--since", "")
    assert code == 2 and "--since '' is not a date" in err


# ---- strict side files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "waivers.toml",
            '[[waiver]]\nrule = "DEST-002"\nclaim_id = "C1"\nreason = "x"\nby = "me"\n',
            r"line 1 \(waiver #1\): unknown key 'claim_id'; did you mean 'claim'",
        ),
        (
            "waivers.toml",
            '[[waivers]]\nrule = "DEST-002"\nreason = "x"\nby = "me"\n',
            r"unknown entry 'waivers'; did you mean 'waiver'",
        ),
        (
            "waivers.toml",
            '[[waiver]]\nrule = "DEST-002"\nclaim = 10442\nreason = "x"\nby = "me"\n',
            r"claim must be text in quotes",
        ),
        ("payers.toml", '[payer]\n"Acme" = "commercial"\n', r"did you mean 'payers'"),
        (
            "payers.toml",
            '[[rule]]\nclass = "commercial"\nmatches = ["acme"]\n',
            r"unknown key 'matches'; did you mean 'match'",
        ),
        ("payers.toml", '[payers]\n"Acme" = "comercial"\n', r"did you mean 'commercial'"),
    ],
)
def test_typos_in_waivers_and_payer_maps_are_errors(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    from dermaudit.errors import ConfigError

    f = tmp_path / name
    f.write_text(text)
    opt = {"suppressions": f} if name.startswith("waivers") else {"payer_map": f}
    with pytest.raises(ConfigError, match=message):
        dermaudit.scan(SAMPLE, **opt)  # type: ignore[arg-type]


def test_ruleset_layer_that_would_blank_default_values_is_refused(tmp_path: Path) -> None:
    layer = tmp_path / "practice"
    layer.mkdir()
    (layer / "codes_practice.csv").write_text("code,family,kind\n17000,destruction,primary\n")
    with pytest.raises(InputError, match=r"replaces default rows \(e.g. 17000\).*fee_2025"):
        dermaudit.scan(SAMPLE, ruleset=[layer])
    (layer / "codes_practice.csv").write_text("code,family,fee2025\n0001A,vaccine_admin,20\n")
    with pytest.raises(InputError, match=r"unknown column 'fee2025'; did you mean 'fee_2025'"):
        dermaudit.scan(SAMPLE, ruleset=[layer])
    # new codes (here a vaccine-administration code ending in A) may leave columns out
    (layer / "codes_practice.csv").write_text("code,family\n0001A,vaccine_admin\n")
    assert dermaudit.scan(SAMPLE, ruleset=[layer]).findings.height


def test_sample_csv_is_spreadsheet_safe(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(
        "patient_id,dos,provider,payer,cpt,units,dx\n"
        'P1,2025-03-04,=HYPERLINK("http://x"),Medicare,17000,3,L57.0\n'
    )
    out = tmp_path / "s.csv"
    r = cli("sample", str(p), "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and all(row["provider"] == '\'=HYPERLINK("http://x")' for row in rows)
    for row in rows:
        for v in row.values():
            assert not v or v[0] not in "=+-@\t\r", row


def test_refdata_listing_shows_markup_literally(tmp_path: Path) -> None:
    layer = tmp_path / "[bold red]layer"
    layer.mkdir()
    (layer / "ruleset.toml").write_text('[vintages]\nx = "[link=https://x.example]v[/link] [/]"\n')
    r = cli("refdata", "--ruleset", str(layer))
    assert r.returncode == 0, r.stderr
    assert "[bold red]layer" in r.stdout and "[link=https://x.example]v[/link] [/]" in r.stdout


def test_dermaudit_scan_stays_the_function_after_the_submodule_is_imported() -> None:
    code = (
        "from dermaudit.scanner import ScanResult\n"
        "import dermaudit\n"
        f"r = dermaudit.scan({str(SAMPLE)!r})\n"
        "assert isinstance(r, ScanResult)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
