"""Interrupts: SIGINT and SIGTERM stop a scan cleanly (exit 130 / 143), remove the temporary
partitions (which hold patient data), and leave every previous output byte-identical.

``Interrupted`` (raised by the SIGTERM handler) is a ``BaseException``, so the ``finally`` of
``partition.run_partitioned`` and of ``outputs.atomic_file`` run on the way out; the in-process
tests below prove that directly, the subprocess tests prove it for the real command."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import dermaudit
from dermaudit import engine
from dermaudit.errors import Interrupted

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "charges.csv"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    import generate  # bench/generate.py

    out = tmp_path_factory.mktemp("big")
    generate.main(
        ["--lines", "150000", "--out", str(out), "--seed", "5", "--formats", "csv", "--quiet"]
    )
    return out / "charges.csv"


def _modes(folder: Path) -> list[tuple[str, bool, int]]:
    """(name, is a folder, permission bits) of ``folder`` and everything in it."""
    out = []
    for p in [folder, *folder.rglob("*")]:
        try:
            st = p.stat()
        except FileNotFoundError:  # removed meanwhile
            continue
        out.append((p.name, stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode)))
    return out


def _private(modes: list[tuple[str, bool, int]]) -> bool:
    return all(m == (0o700 if is_dir else 0o600) for _, is_dir, m in modes)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_partitioned_scan(
    big_csv: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    folder = tmp_path / "out"
    folder.mkdir()
    out, html = folder / "findings.csv", folder / "report.html"
    out.write_bytes(b"old findings\x00\xff")
    html.write_bytes(b"<p>old report</p>")
    before = {p: p.read_bytes() for p in (out, html, big_csv)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dermaudit", "scan", str(big_csv), "--partitions", "3",
         "-f", "csv", "-o", str(out), "--html", str(html)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(work), "NO_COLOR": "1", "HOME": str(tmp_path / "home")},
    )  # fmt: skip
    seen: list[tuple[str, bool, int]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        seen = [m for d in work.glob("dermaudit-parts-*") for m in _modes(d)]
        if any(name.endswith(".parquet") for name, _, _ in seen):
            break
        if proc.poll() is not None:
            pytest.fail(f"scan ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.05)
    assert any(n.endswith(".parquet") for n, _, _ in seen), "no partition file appeared"
    assert _private(seen), seen  # least exposure: folders 0700, files 0600
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == code, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert list(work.iterdir()) == [], "temporary partitions left behind"
    for p, data in before.items():
        assert p.read_bytes() == data, p
    assert sorted(x.name for x in folder.iterdir()) == ["findings.csv", "report.html"]


def test_interrupted_inside_a_partition_removes_the_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: SIGTERM arrives (as ``Interrupted``) while a partition is audited."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: dict[str, Any] = {}

    def interrupted(*_a: Any, **_k: Any) -> Any:
        parts = list(tmp_path.glob("dermaudit-parts-*"))
        seen["parts"] = parts
        seen["modes"] = [m for d in parts for m in _modes(d)]
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(engine, "run", interrupted)
    with pytest.raises(Interrupted):
        dermaudit.scan(SAMPLE, partitions=2)
    assert len(seen["parts"]) == 1, "the partitions were never written"
    assert any(n.endswith(".parquet") for n, _, _ in seen["modes"]), seen["modes"]
    assert _private(seen["modes"]), seen["modes"]
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_keeps_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = dermaudit.scan(SAMPLE)
    out = tmp_path / "findings.parquet"
    out.write_bytes(b"previous run")

    def half_written(self: pl.DataFrame, fh: Any, *a: Any, **k: Any) -> None:
        fh.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_written)
    with pytest.raises(KeyboardInterrupt):
        result.write(out)
    assert out.read_bytes() == b"previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["findings.parquet"]
