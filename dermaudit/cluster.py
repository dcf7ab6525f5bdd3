"""The partitioned scan on a Dask cluster (``dermaudit scan DATA --engine dask``).

``partition.run_partitioned(..., runner=DaskRunner(client))``: the local partitioned scan's
plan (``dermaudit.partition``), with step 2 on workers:

1. the client streams the inputs once into ``N`` patient-hash partitions (Parquet folders)
   under the work folder, which every worker must be able to read (a LocalCluster shares the
   client's disk; a remote cluster needs ``--workdir`` on a shared filesystem);
2. each partition is one task: ``partition.audit_partition`` - the same ingest, features and
   rules as every other path - runs on a worker, writes the partition's findings next to it and
   returns its counts and per-provider statistics;
3. the client sums the statistics, runs the provider-level rules once and merges the counts
   (``partition.merge``), exactly as the local partitioned scan does.

No rule knows which engine runs it. A worker that dies mid-scan loses its tasks; the scheduler
runs them again on another worker (tasks are pure: a partition's audit rewrites the same
file), so the findings are the same. What crosses the network: the reference data once per
worker, a partition's folder name out, and its counts and provider statistics back (the
findings stay on the shared disk until the client reads them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import partition
from .errors import InputError, UsageError
from .refdata import RefData
from .rules.base import Rule

CONNECT_TIMEOUT_S = 10


def _require_dask() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(
            "--engine dask needs Dask: pip install 'dermaudit[dask]' (dask[distributed])"
        ) from exc
    return distributed


@contextmanager
def client_for(
    scheduler: str | None,
    workers: int | None = None,
    memory_limit: str | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler`` (``tcp://host:8786``), or to a
    LocalCluster of ``workers`` processes (default: the machine's cores) with
    ``memory_limit`` per worker (``"2GiB"``; default: RAM shared between the workers)."""
    distributed = _require_dask()
    import dask

    with dask.config.set({"distributed.worker.daemon": False, "logging.distributed": "error"}):
        if scheduler:
            try:
                client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"cannot reach the Dask scheduler at {scheduler} "
                    f"({type(exc).__name__}); check the address and that it is running"
                ) from None
            try:
                yield client
            finally:
                client.close()
            return
        n = workers or max(1, os.cpu_count() or 1)
        try:
            cluster = distributed.LocalCluster(
                host="127.0.0.1",  # this machine only: nothing listens on the network
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit or "auto",
                dashboard_address=None,
                silence_logs=50,
            )
        except (RuntimeError, OSError, ValueError) as exc:
            cause = exc.__cause__ or exc
            raise InputError(
                f"could not start a local Dask cluster of {n} worker(s) "
                f"({type(cause).__name__}: {str(cause)[:120]}); from Python, call "
                "dermaudit.scan inside 'if __name__ == \"__main__\":'"
            ) from None
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


def _check_shared(client: Any, folder: Path) -> None:
    """Every worker must see the partition folder the client wrote."""
    seen = client.run(os.path.isdir, str(folder))
    blind = [w for w, ok in seen.items() if not ok]
    if blind:
        raise InputError(
            f"{len(blind)} of {len(seen)} Dask worker(s) cannot see {folder}; pass --workdir "
            "on a filesystem every worker mounts"
        )


class DaskRunner:
    """A ``partition.Runner`` that audits each partition as one task on a Dask cluster: the
    reference data and rules are scattered to every worker once, and the partition folder
    must be visible to every worker (checked before the first task)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def partitions(self, auto: int) -> int:
        workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        return max(auto, 2 * workers)  # at least two tasks per worker

    def run(
        self,
        parts: list[Path],
        ref: RefData,
        rules: list[Rule],
        options: dict[str, Any],
    ) -> Iterator[tuple[int, partition.PartOutput]]:
        distributed = _require_dask()
        if parts:
            _check_shared(self.client, parts[0].parent)
        ref_f = self.client.scatter(ref, broadcast=True)
        rules_f = self.client.scatter(rules, broadcast=True)
        futures = [
            self.client.submit(
                partition.audit_partition,
                d,
                ref_f,
                rules_f,
                **options,
                key=f"dermaudit-partition-{i:05d}-{d.parent.name}",
                pure=False,
                retries=2,
            )
            for i, d in enumerate(parts)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in distributed.as_completed(futures):
            yield index[fut.key], fut.result()
