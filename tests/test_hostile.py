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
from hypothesis import HealthCheck, event, given, settings
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


# ---- compressed inputs: bounded expansion ------------------------------------------------------

BOMB_ROW = b"P1,C1,2025-03-04,DrA,Medicare,17000,,3,L57.0,90,back\n"


def _deflate_bomb(expanded: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of a CSV that expands to about ``expanded`` bytes (built from one
    compressed 8 MiB block repeated: no need to compress gigabytes), with its CRC-32 and size."""
    import zlib

    chunk = BOMB_ROW * ((8 << 20) // len(BOMB_ROW))
    head = HEADER.encode() + b"\n"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    n = max(1, expanded // len(chunk))
    crc = zlib.crc32(head)
    for _ in range(n):
        crc = zlib.crc32(chunk, crc)
    return first + block * n + c.flush(zlib.Z_FINISH), crc, len(head) + n * len(chunk)


def _gzip_bomb(path: Path, expanded: int) -> Path:
    import struct

    data, crc, size = _deflate_bomb(expanded)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(header + data + struct.pack("<II", crc, size & 0xFFFFFFFF))
    return path


def _zip_bomb(path: Path, expanded: int, declared: int | None = None) -> Path:
    """A zip with one member ``charges.csv``; ``declared`` is the size its headers claim."""
    import struct

    data, crc, size = _deflate_bomb(expanded)
    size = size if declared is None else declared
    name = b"charges.csv"
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(name), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size, len(name), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    offset = len(local) + len(name) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), offset, 0)
    path.write_bytes(local + name + data + central + name + end)
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _gzip_bomb(p / "charges.csv.gz", 1 << 30),
        lambda p: _zip_bomb(p / "charges.zip", 1 << 30),
        lambda p: _zip_bomb(p / "charges.zip", 1 << 30, declared=1000),  # a lying header
    ],
    ids=["gzip 1 GiB", "zip 1 GiB", "zip that hides its size"],
)
def test_compression_bombs_are_refused(tmp_path: Path, make: object) -> None:
    p = make(tmp_path)  # type: ignore[operator]
    assert p.stat().st_size < 4 << 20  # a few MiB that expand to 1 GiB
    before = _digest(p)
    out = tmp_path / "out.json"
    work = tmp_path / "tmp"
    work.mkdir()
    r = cli("scan", str(p), "-f", "json", "-o", str(out), env={"TMPDIR": str(work)})
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert p.name in r.stderr
    assert "zip bomb" in r.stderr or "cannot be extracted" in r.stderr, r.stderr
    assert not out.exists() and list(work.iterdir()) == []  # nothing unpacked is left
    assert _digest(p) == before


def test_a_genuine_gzip_export_is_read(tmp_path: Path) -> None:
    import gzip

    p = tmp_path / "charges.csv.gz"
    p.write_bytes(gzip.compress((HEADER + "\n").encode() + BOMB_ROW))
    r = cli("scan", str(p), "-f", "json", "--fail-on", "never")
    assert r.returncode == 0, r.stderr
    assert any(f["rule"] == "DEST-002" for f in json.loads(r.stdout)["findings"])


# ---- the command line in process: generated files --------------------------------------------


def _main(args: list[str]) -> tuple[int, str]:
    """``dermaudit ARGS`` in this process: (exit code, stderr)."""
    import contextlib
    import io
    import sys

    from dermaudit import cli as cli_module

    err, out = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["dermaudit", *args]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                cli_module.main()
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.argv = old
    return code, err.getvalue()


text_cell = st.one_of(
    st.text(max_size=20),  # any unicode, also quotes, commas, newlines, NUL
    st.sampled_from(NASTY),
    st.sampled_from(["17000", "17003", "99213-25", "03/04/2025", "2025-03-04", "L57.0", "3"]),
    st.sampled_from(["P1", "P2", "Medicare", "DrA", "back", "1", "2025-03-05", "17311"]),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.one_of(
        st.permutations(HEADER.split(",")),  # a real export's columns, in any order
        st.lists(
            st.one_of(st.sampled_from(HEADER.split(",")), st.text(min_size=1, max_size=8)),
            min_size=1,
            max_size=12,
        ),
    ),
    rows=st.lists(
        st.one_of(
            st.lists(text_cell, min_size=11, max_size=11),
            st.lists(text_cell, max_size=13),  # ragged
        ),
        max_size=6,
    ),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]),
)
def test_generated_files_end_cleanly_on_the_command_line(
    tmp_path: Path, header: list[str], rows: list[list[str]], sep: str, encoding: str
) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    p = tmp_path / "charges.csv"
    p.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    before = _digest(p)
    out = tmp_path / "out.csv"
    out.write_text("previous")
    code, err = _main(["scan", str(p), "-f", "csv", "-o", str(out), "--select", "ALL"])
    event(f"exit {code}")
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("dermaudit: error:"), err
        assert out.read_text() == "previous"
        # an error message never quotes a cell (header names it may name)
        cells = {c for r in rows for c in r if len(c) >= 6 and c.isalnum() and c not in header}
        assert not [c for c in cells if c in err], err
    else:
        assert out.read_text() != "previous"
    assert _digest(p) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["charges.csv", "out.csv"]
