"""Hostile and careless input: every case ends in a clean result or a one-line error (exit 2),
never a traceback; the input file is never changed; no output is left half-written; a
redacted output holds none of the input's identifiers."""

from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dermaudit
from dermaudit.errors import DermauditError

from .test_cli import TEST_KEY, cli

HEADER = "patient_id,claim_id,dos,provider,payer,cpt,modifiers,units,dx,charge,site"
NASTY = [
    '=HYPERLINK("http://evil.example")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "[/]",
    "[link=https://evil.example]click[/link]",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\x00",
    "'; DROP TABLE charges; --",
    "{{ 7*7 }}",
    "${jndi:ldap://x}",
]


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _scan_in_process(path: Path) -> None:
    """The library either returns or raises one of its own errors (the CLI prints those as
    one line, exit 2); Polars' own parse errors are mapped to exit 2 by the CLI as well."""
    try:
        result = dermaudit.scan(path)
    except (DermauditError, pl.exceptions.PolarsError):
        return
    result.findings.height  # noqa: B018  (the frame is materialised)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2000))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "random.csv"
    p.write_bytes(data)
    before = _digest(p)
    _scan_in_process(p)
    assert _digest(p) == before


cell = st.one_of(
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(NASTY),
    st.sampled_from(["17000", "99213", "2025-03-04", "L57.0", "25", "1", "Medicare", ""]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cell, min_size=1, max_size=14), max_size=8), quote=st.booleans())
def test_random_cells_and_quoting(tmp_path: Path, rows: list[list[str]], quote: bool) -> None:
    def fmt(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if quote else v

    text = HEADER + "\n" + "\n".join(",".join(fmt(v) for v in r) for r in rows)
    p = tmp_path / "cells.csv"
    p.write_text(text, encoding="utf-8")
    before = _digest(p)
    _scan_in_process(p)
    assert _digest(p) == before


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(
        st.text(alphabet=string.ascii_letters + " _#()", min_size=1, max_size=12),
        min_size=1,
        max_size=12,
    )
)
def test_random_header_words(tmp_path: Path, words: list[str]) -> None:
    p = tmp_path / "h.csv"
    p.write_text(",".join(words) + "\n" + ",".join("1" for _ in words) + "\n")
    _scan_in_process(p)


def _write(tmp: Path, name: str, content: bytes) -> Path:
    p = tmp / name
    p.write_bytes(content)
    return p


GOOD = b"P1,C1,2025-03-04,DrA,Medicare,17000,,3,L57.0,90,back\n"
CASES = {
    "empty file": b"",
    "header only": HEADER.encode() + b"\n",
    "one data line, no newline": HEADER.encode() + b"\n" + GOOD.rstrip(b"\n"),
    "NUL bytes": HEADER.encode() + b"\n" + GOOD.replace(b"DrA", b"Dr\x00A") + b"\x00\x00\n",
    "mixed encodings": HEADER.encode()
    + b"\n"
    + GOOD
    + "P2,C2,2025-03-05,Dr Müller,Medicare,17000,,1,L57.0,90,back\n".encode("latin-1"),
    "huge field": HEADER.encode() + b"\n" + GOOD.replace(b"back", b"x" * 5_000_000),
    "10k columns": (
        ",".join(f"c{i}" for i in range(10_000))
        + "\n"
        + ",".join("1" for _ in range(10_000))
        + "\n"
    ).encode(),
    "unbalanced quotes": HEADER.encode()
    + b'\n"P1,C1,2025-03-04,DrA,Medicare,17000,,3,L57.0,90,back\n',
    "markup and script in every field": (
        HEADER + "\n" + ",".join(f'"{NASTY[i % len(NASTY)]}"' for i in range(11)) + "\n"
    ).encode(),
    "binary (png header)": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20,
    "utf-16 with BOM": (HEADER + "\n" + GOOD.decode()).encode("utf-16"),
    "CR-only line endings": (HEADER + "\r" + GOOD.decode().rstrip("\n") + "\r").encode(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_on_hostile_files(tmp_path: Path, case: str) -> None:
    p = _write(tmp_path, "charges.csv", CASES[case])
    before = _digest(p)
    out = tmp_path / "out.json"
    r = cli(
        "scan",
        str(p),
        "-f",
        "json",
        "-o",
        str(out),
        "--redact",
        env={"DERMAUDIT_REDACT_KEY": TEST_KEY},
    )
    assert r.returncode in (0, 1, 2), (case, r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (case, r.stderr)
    if r.returncode == 2:
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("dermaudit: error:"), r.stderr
        assert not out.exists()
    else:
        data = json.loads(out.read_text())
        text = out.read_text()
        for raw in ("P1", "C1"):
            assert f'"{raw}"' not in text
        assert isinstance(data["findings"], list)
    assert _digest(p) == before
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")], "temp file left"
