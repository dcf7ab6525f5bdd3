"""The public Python API: dermaudit.scan / ScanResult / rules / rule / inspect / errors, and
the README's "Use from Python" example, run as written."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

import dermaudit
from dermaudit.errors import ConfigError, InputError, OutputError, UsageError

from .test_cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "charges.csv"
CSV = """\
patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge
P1,2025-03-04,DrA,Medicare,99213,,1,L57.0,120
P1,2025-03-04,DrA,Medicare,17000,,3,L57.0,270
"""


@pytest.fixture()
def charges(tmp_path: Path) -> Path:
    p = tmp_path / "charges.csv"
    p.write_text(CSV)
    return p


def test_scan_returns_findings_equal_to_the_cli_json(charges: Path) -> None:
    result = dermaudit.scan(charges)
    assert isinstance(result, dermaudit.ScanResult)
    cli_json = json.loads(cli("scan", str(charges), "-f", "json").stdout)
    api = [(r["rule"], r["rows"], r["amount"]) for r in result.findings.to_dicts()]
    assert api == [(r["rule"], r["rows"], r["amount"]) for r in cli_json["findings"]]
    s = result.summary
    assert isinstance(s, dermaudit.Summary)
    assert (s.rows, s.findings) == (2, len(cli_json["findings"]))
    assert s.amount_over == cli_json["summary"]["amount_over"]
    assert s.first_dos is not None and s.first_dos.isoformat() == "2025-03-04"
    assert result.lines is not None and result.lines.height == 2
    assert result.exit_code("compliance") == 1 and result.exit_code("never") == 0


def test_select_ignore_since_and_columns_dict(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("Acct,Svc,Proc,Units\nP1,2025-03-04,17000,3\nP1,2025-01-04,17000,2\n")
    cols = {"patient_id": "Acct", "dos": "Svc", "cpt": "Proc", "units": "Units"}
    r = dermaudit.scan(p, columns=cols, select=["DEST"])
    assert sorted(r.findings["rows"].to_list()) == [[1], [2]]
    assert set(r.findings["rule"]) == {"DEST-002"}
    r = dermaudit.scan(p, columns=cols, select=["DEST"], since="2025-03-01")
    assert r.findings["rows"].to_list() == [[1]]
    assert (
        dermaudit.scan(p, columns=cols, select=["DEST"], ignore=["DEST-002"]).findings.height == 0
    )


def test_config_file_fills_unset_arguments(charges: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[scan]\nselect = ["EM-001"]\n')
    assert set(dermaudit.scan(charges, config=cfg).findings["rule"]) == {"EM-001"}
    # an argument given to scan() wins over the file
    assert set(dermaudit.scan(charges, config=cfg, select=["DEST"]).findings["rule"]) == {
        "DEST-002"
    }


def test_api_does_not_read_a_config_from_the_working_directory(
    charges: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dermaudit.toml").write_text('[scan]\nselect = ["EM-001"]\n')
    monkeypatch.chdir(tmp_path)
    assert {"DEST-002", "EM-001"} <= set(dermaudit.scan(charges).findings["rule"])


def test_write_every_format_by_suffix(charges: Path, tmp_path: Path) -> None:
    result = dermaudit.scan(charges)
    for name in ("f.json", "f.jsonl", "f.csv", "f.parquet", "r.html", "mail.txt"):
        result.write(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600  # may hold identifiers
    assert json.loads((tmp_path / "f.json").read_text())["findings"]
    assert pl.read_parquet(tmp_path / "f.parquet").height == result.findings.height
    assert "<html" in (tmp_path / "r.html").read_text()
    with pytest.raises(UsageError, match="cannot tell the format"):
        result.write(tmp_path / "f.docx")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_write_never_overwrites_an_input(charges: Path, tmp_path: Path) -> None:
    before = charges.read_bytes()
    result = dermaudit.scan(charges)
    with pytest.raises(UsageError, match="one of the input files"):
        result.write(charges, "csv")
    link = tmp_path / "link.json"
    link.symlink_to(charges)
    with pytest.raises(UsageError, match="one of the input files"):
        result.write(link)
    hard = tmp_path / "hard.html"
    os.link(charges, hard)
    with pytest.raises(UsageError, match="one of the input files"):
        result.to_html(hard)
    assert charges.read_bytes() == before


def test_failed_write_keeps_the_previous_output(charges: Path, tmp_path: Path) -> None:
    from dermaudit.outputs import atomic_file

    out = tmp_path / "findings.json"
    out.write_text("previous")
    with pytest.raises(RuntimeError), atomic_file(out) as fh:
        fh.write(b"half of the new fi")
        raise RuntimeError("disk trouble")
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["charges.csv", "findings.json"]


def test_unwritable_output_is_an_output_error(charges: Path, tmp_path: Path) -> None:
    result = dermaudit.scan(charges)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"cannot write .*not_a_folder/f.json"):
        result.write(blocker / "f.json")
    full = Path("/dev/full")
    if full.exists():  # Linux: every write fails with ENOSPC
        from dermaudit.outputs import _describe

        with pytest.raises(OSError) as info, full.open("wb") as fh:
            fh.write(b"x")
            fh.flush()
        assert _describe(info.value) == "the disk is full"


def test_compare_against_a_baseline(charges: Path, tmp_path: Path) -> None:
    first = dermaudit.scan(charges)
    first.write(tmp_path / "base.json")
    assert first.compare(tmp_path / "base.json") == {
        "new": 0,
        "existing": first.findings.height,
        "fixed": 0,
    }
    fewer = dermaudit.scan(charges, select=["DEST"])
    assert fewer.compare(tmp_path / "base.json")["fixed"] == first.findings.height - 1


def test_rules_and_rule_as_data() -> None:
    cat = dermaudit.catalogue()
    assert len(cat) == len({r.id for r in cat}) and all(
        isinstance(r, dermaudit.RuleInfo) for r in cat
    )
    r = dermaudit.rule("mohs-001")
    assert r.id == "MOHS-001" and r.family == "MOHS"
    assert {"What it flags", "Why it matters", "Source"} <= set(r.docs)
    with pytest.raises(UsageError, match="did you mean MOHS-001"):
        dermaudit.rule("MOSH-001")


def test_inspect_returns_the_mapping(charges: Path) -> None:
    ins = dermaudit.inspect(charges)
    assert isinstance(ins, dermaudit.Inspection)
    assert ins.files[0].mapping["cpt"] == "cpt" and ins.rows == 2
    assert ins.providers == {"DrA": 2}


def test_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        dermaudit.scan(tmp_path / "missing.csv")
    p = tmp_path / "c.csv"
    p.write_text(CSV)
    with pytest.raises(UsageError, match="unknown rule or family"):
        dermaudit.scan(p, select=["NOPE-1"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[scan]\nredact = "no"\n')
    with pytest.raises(ConfigError, match=r"line 2 \[scan\]: redact must be true or false"):
        dermaudit.scan(p, config=bad)
    assert issubclass(ConfigError, dermaudit.DermauditError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scna]\nredact = true\n", r"line 1: unknown section \[scna\]; did you mean 'scan'"),
        (
            '[scan]\nfail_onn = "denial"\n',
            r"line 2 \[scan\]: unknown key 'fail_onn'; did you mean 'fail-on'",
        ),
        ('[scan]\ntop = "ten"\n', "top must be a whole number"),
        ('[scan]\nsince = ""\n', "since must be a date"),
        ('[scan]\nformat = "xml"\n', "format must be one of"),
        ("[scan]\nselect = [1]\n", "select must be a list"),
        ('[payers]\n"Acme" = "medicare"\n', "payer class 'medicare' unknown"),
        ('[per_payer.commercial]\nignor = ["MOD-005"]\n', "unknown key 'ignor'"),
        ("[columns]\ncpt = 3\n", "cpt must be a column name"),
        ("[scan\n", "not valid TOML"),
    ],
)
def test_strict_config(tmp_path: Path, text: str, message: str) -> None:
    from dermaudit.config import load_config

    p = tmp_path / "dermaudit.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(p)


def test_config_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    from dermaudit.config import load_config

    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "dermaudit.toml"
    p.write_text('[scan]\noutput = "out/f.json"\nruleset = "extra"\nsince = 2025-01-01\n')
    s = load_config(p)
    assert s.output == (tmp_path / "sub" / "out" / "f.json").resolve()
    assert s.ruleset == [(tmp_path / "sub" / "extra").resolve()]
    assert str(s.since) == "2025-01-01"


def test_starter_config_documents_every_option_and_is_valid(tmp_path: Path) -> None:
    from dermaudit.config import Settings, load_config, starter

    text = starter("c.csv", {"cpt": "CPT"}, fail_on="denial")
    for name in Settings.option_names():
        assert re.search(rf"^#? ?{name.replace('_', '-')} = .+  # \S", text, re.M), name
    p = tmp_path / "dermaudit.toml"
    p.write_text(text)
    assert load_config(p).fail_on == "denial"
    # every commented example is valid once uncommented
    scan_part, rest = text.split("[columns]", 1)
    p.write_text(re.sub(r"^# ([a-z-]+ = )", r"\1", scan_part, flags=re.M) + "[columns]" + rest)
    assert load_config(p).top == 5


def test_cli_usage_errors_are_one_line(charges: Path) -> None:
    for args, needle in (
        (["scan", str(charges), "--fail", "x"], "No such option: --fail"),
        (["scan"], "Missing argument"),
        (["scan", str(charges), "-f", "xml"], "'xml' is not one of"),
        (["scan", str(charges), "--since", ""], "is not a date"),
        (["scan", str(charges), "-o", str(charges), "-f", "csv"], "one of the input files"),
    ):
        r = cli(*args)
        assert r.returncode == 2, args
        assert r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr
        assert r.stderr.startswith("dermaudit: error:") and "Traceback" not in r.stderr


def test_cli_help_shows_defaults() -> None:
    out = cli("scan", "--help").stdout
    for default in ("[default: table]", "[default: review]", "[default: 5]", "[default: 0]"):
        assert default in out


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Use from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README has no python example under 'Use from Python'"
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)
    assert (tmp_path / "report.html").stat().st_size > 0
    assert pl.read_csv(tmp_path / "findings.csv").height == scope["result"].findings.height  # type: ignore[attr-defined]
    by_provider = scope["by_provider"]
    assert isinstance(by_provider, pl.DataFrame) and by_provider.height == 3
    assert scope["chart"].to_dict()["mark"]["type"] == "bar"  # type: ignore[attr-defined]


def test_every_id_in_output_is_explained() -> None:
    """`dermaudit rule ID` and the catalogue know the data-quality ids the findings can hold."""
    from dermaudit.ingest import DQ_RULES

    ids = {r.id for r in dermaudit.catalogue()}
    assert set(DQ_RULES) <= ids and "PTP-001" in ids
    info = dermaudit.rule("dq-006")
    assert info.id == "DQ-006" and info.severity == "review" and info.docs["Source"]
    r = cli("rule", "DQ-001")
    assert r.returncode == 0 and "DQ-001" in r.stdout
