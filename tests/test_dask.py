"""``--engine dask`` (#14): the same findings on a Dask LocalCluster as in memory and as the local
partitioned scan, on the sample and on a generated 1M-line export; a worker killed mid-scan
changes nothing; an unreachable scheduler is one line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import dermaudit
from dermaudit.report.summary import summarize

from .test_cli import cli

distributed = pytest.importorskip("distributed", reason="--engine dask needs dask[distributed]")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "charges.csv"
KEY = ["rule", "file", "patient_id", "dos", "provider", "codes", "message"]


def _findings(result: Any) -> pl.DataFrame:
    f = result.findings
    return f.with_columns(pl.col("rows").list.first().alias("_first")).sort(
        [*KEY, "_first"], nulls_last=True
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen1m")
    args = ["--lines", "1000000", "--out", str(out), "--formats", "parquet", "--quiet"]
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), *args], check=True)
    return out / "charges.parquet"


def test_sample_same_findings_and_summary(cluster: Any) -> None:
    whole = dermaudit.scan(SAMPLE)
    parts = dermaudit.scan(SAMPLE, partitions=4)
    dask = dermaudit.scan(SAMPLE, engine="dask", scheduler=cluster.scheduler_address, partitions=4)
    assert dask.findings.height == whole.findings.height > 0
    assert _findings(dask).equals(_findings(whole))
    assert _findings(dask).equals(_findings(parts))
    assert summarize(dask) == summarize(whole)


def test_one_million_lines_same_findings(cluster: Any, big: Path) -> None:
    whole = dermaudit.scan(big)
    dask = dermaudit.scan(big, engine="dask", scheduler=cluster.scheduler_address, partitions=4)
    assert whole.findings.height > 10_000
    assert _findings(dask).equals(_findings(whole))


def test_a_worker_killed_mid_scan_changes_nothing(big: Path) -> None:
    expected = _findings(dermaudit.scan(big, partitions=6))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as c,
        distributed.Client(c) as client,
    ):
        before = client.run(os.getpid)
        out: dict[str, Any] = {}

        def run() -> None:
            out["r"] = dermaudit.scan(
                big, engine="dask", scheduler=c.scheduler_address, partitions=6
            )

        t = threading.Thread(target=run)
        t.start()
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline and t.is_alive():
            busy = {
                w: keys
                for w, keys in client.processing().items()
                if any(str(k).startswith("dermaudit-partition") for k in keys)
            }
            victim = next(iter(busy), None)
            time.sleep(0.05)
        assert victim is not None, "no partition task was seen running"
        os.kill(before[victim], signal.SIGKILL)  # the worker dies with its task in hand
        killed_while_running = t.is_alive()
        t.join(timeout=600)
        assert not t.is_alive()
        after = client.run(os.getpid)
    assert killed_while_running
    assert before[victim] not in after.values()  # the nanny started a new worker process
    assert _findings(out["r"]).equals(expected)


def test_cli_engine_dask_writes_the_same_json(tmp_path: Path) -> None:
    a, b = tmp_path / "local.json", tmp_path / "dask.json"
    r = cli("scan", str(SAMPLE), "-f", "json", "-o", str(a), "--fail-on", "never")
    assert r.returncode == 0, r.stderr
    r = cli(
        "scan", str(SAMPLE), "-f", "json", "-o", str(b), "--fail-on", "never",
        "--engine", "dask", "--workers", "2", "--partitions", "3",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    fa, fb = json.loads(a.read_text())["findings"], json.loads(b.read_text())["findings"]

    def key(f: dict[str, Any]) -> str:
        return json.dumps(f, sort_keys=True)

    assert sorted(map(key, fa)) == sorted(map(key, fb)) and len(fa) == 82


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    r = cli("scan", str(SAMPLE), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1, r.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in r.stderr
