"""Nightly runs: one run at a time, the state file, the baseline written after a good run.

A nightly scan (``state = "..."`` or ``update-baseline = true``) runs under a ``RunLock`` over
every file it writes (the state file, the baseline, ``--output``, ``--html``):

1. the lock is taken before any scan work: a second run on the same files waits up to
   ``--wait`` seconds, then stops with a message naming the running process. The lock is an
   ``fcntl.flock`` on a ``.<name>.lock`` file beside each target, which the kernel releases
   when its process ends however it ends; a lock file left by a killed run is found (its pid
   is no longer running), reported and replaced, and the ``.part`` temporary files that run
   left beside its targets are removed;
2. the state file and the baseline are read and checked before the scan (a damaged or
   foreign file is an error naming it, exit 2); without ``--since``, the scan audits from the
   latest date of service the last recorded run saw (``default_since``);
3. after the outputs are written, ``commit`` writes the baseline (``--update-baseline``) and
   then the state file, each atomically (``outputs.atomic_file``). A run that fails or is
   killed before that leaves the previous baseline and state as they were.

The state file holds counts and dates only (no identifiers): the last runs' dates, the dates
of service they covered, their finding counts and exit codes, and how many findings each
waiver matched (for ``dermaudit waivers list``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, cast

import polars as pl

from .errors import DermauditError, UsageError

STATE_FORMAT = 1
KEEP_RUNS = 60  # runs kept in the state file's history
POLL_SECONDS = 0.2
Log = Callable[[str], None]


class LockBusy(DermauditError):
    """Another run holds the lock (exit code 2, like every environment error)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _holder(fh: IO[str]) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        fh.seek(0)
        data = json.loads(fh.read() or "{}")
        if isinstance(data, dict):
            return data
    return {}


@dataclass
class RunLock:
    """Exclusive ``flock`` locks on ``.<name>.lock`` beside each target, taken in path order
    (so two runs never deadlock), all or none."""

    targets: list[Path]
    log: Log = field(default=lambda _m: None)
    held: list[tuple[Path, IO[str]]] = field(default_factory=list)

    def acquire(self, wait: float = 0) -> None:
        deadline = time.monotonic() + max(wait, 0)
        paths = sorted({lock_path(Path(t).absolute()) for t in self.targets})
        announced = False
        while True:
            busy = self._try(paths)
            if busy is None:
                return
            self.release()
            if time.monotonic() >= deadline:
                hint = f"waited {wait:g}s" if wait > 0 else "pass --wait SECONDS to wait for it"
                raise LockBusy(f"{busy}; this run stopped before doing anything ({hint})")
            if not announced:
                self.log(f"waiting up to {wait:g}s: {busy}")
                announced = True
            time.sleep(POLL_SECONDS)

    def _try(self, paths: list[Path]) -> str | None:
        """Lock every path; on the first one held elsewhere, say who holds it."""
        for p in paths:
            busy = self._lock_one(p)
            if busy is not None:
                return busy
        return None

    def _lock_one(self, p: Path) -> str | None:
        while True:
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                fh = open(p, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
            except OSError as exc:
                raise UsageError(f"cannot create the lock file {p} ({exc.strerror})") from exc
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    fh.close()
                    raise UsageError(f"cannot lock {p} ({exc.strerror})") from exc
                who = _holder(fh)
                fh.close()
                target = p.parent / p.name[1:].removesuffix(".lock")
                since = f", started {who['started']}" if who.get("started") else ""
                return f"another dermaudit run (pid {who.get('pid', '?')}{since}) is using {target}"
            try:
                same = os.fstat(fh.fileno()).st_ino == os.stat(p).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            fh.close()  # the previous holder removed the file after we opened it: again
        old = _holder(fh)
        pid = old.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and not _pid_alive(pid):
            self.log(
                f"cleared a stale lock left by a run that was stopped (pid {pid}, "
                f"started {old.get('started', '?')})"
            )
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "started": _now()}))
        fh.flush()
        self.held.append((p, fh))
        return None

    def release(self) -> None:
        for p, fh in reversed(self.held):
            with contextlib.suppress(OSError):
                os.unlink(p)  # waiters notice the new inode and retry
            fh.close()
        self.held = []

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def remove_partials(targets: list[Path], log: Log) -> None:
    """Remove the temporary files (``.<name>.*.part``, see ``outputs.atomic_file``) that a
    killed run left beside ``targets``; called with the lock held, so none is being written."""
    for t in targets:
        pattern = str(t.parent / f".{glob.escape(t.name)}.*.part")
        for p in glob.glob(pattern):
            with contextlib.suppress(OSError):
                os.unlink(p)
                log(f"removed a partial file left by a stopped run ({Path(p).name})")


# ---- the state file ------------------------------------------------------------------------


@dataclass
class State:
    path: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    exists: bool = False

    @property
    def last_run(self) -> dict[str, Any] | None:
        return self.runs[-1] if self.runs else None


def read_state(path: Path) -> State:
    """The state file (an empty state when it does not exist yet)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return State(path)
    except IsADirectoryError as exc:
        raise UsageError(f"state file {path} is a folder; give a file path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"state file {path} cannot be read ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"state file {path} is damaged (not JSON: {exc.msg}); move it away to start over "
            "(the next run then audits every date)"
        ) from exc
    if not isinstance(data, dict) or data.get("dermaudit_state") != STATE_FORMAT:
        raise UsageError(
            f"state file {path} is not a dermaudit state file; point 'state' at another path"
        )
    runs = data.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise UsageError(f"state file {path} is damaged (no list of runs); move it away")
    return State(path, runs, exists=True)


def default_since(state: State) -> date | None:
    """The latest date of service the last recorded run saw (inclusive: lines entered later
    for that day are audited too; with a baseline, what was already reported stays quiet)."""
    last = state.last_run
    value = last.get("last_dos") if last else None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def write_state(state: State, run: dict[str, Any]) -> None:
    from .outputs import write_text

    runs = [*state.runs, run][-KEEP_RUNS:]
    doc = {"dermaudit_state": STATE_FORMAT, "last_run": run, "runs": runs}
    write_text(state.path, json.dumps(doc, indent=1, default=str) + "\n")
    state.runs = runs


def write_baseline(path: Path, head: dict[str, Any], frame: pl.DataFrame) -> None:
    """The baseline document: ``head`` then ``"findings": [...]``, streamed by Polars."""
    from .outputs import atomic_file

    text = json.dumps({**head, "findings": None}, indent=1, default=str)
    before, after = text.rsplit("null", 1)
    with atomic_file(path) as fh:
        fh.write(before.encode("utf-8"))
        if frame.height:
            frame.write_json(cast(io.IOBase, fh))  # any binary file works
        else:
            fh.write(b"[]")
        fh.write(after.encode("utf-8") + b"\n")


# ---- the wrapper script for cron and systemd (dermaudit init --cron; scripts/) --------------

WRAPPER = r"""#!/bin/sh
# dermaudit-nightly.sh: the nightly dermaudit scan, for cron or a systemd timer.
#
# Written by `dermaudit init --cron` (the same script is scripts/dermaudit-nightly.sh in the
# source). Cron runs a job with an almost empty environment, so every path below is absolute.
#
#   crontab -e:  MAILTO=billing@practice.example
#                30 2 * * * @WORKDIR@/dermaudit-nightly.sh
#
# Every run:
# - scans INPUT with WORKDIR/dermaudit.toml (baseline, state file, waivers, fail-on);
# - writes reports/dermaudit-<date>-<time>.txt (the mail text) and .html, each atomically;
# - prints the one-line summary and the text report, which cron mails ("Nothing new" when
#   all is well), or the error and the last log lines when the scan failed;
# - appends dermaudit's log lines to logs/dermaudit.log, rotated at 1 MB (KEEP_LOGS kept);
# - keeps the newest KEEP_REPORTS reports of each kind and deletes the older ones;
# - exits with dermaudit's code: 0 nothing new at or above fail-on, 1 new problems, 2 error.
set -u

DERMAUDIT="@DERMAUDIT@"   # the dermaudit of your venv
WORKDIR="@WORKDIR@"       # holds dermaudit.toml; reports/ and logs/ are made here
INPUT="@INPUT@"           # one growing export, or a folder of daily exports
KEEP_REPORTS=30
KEEP_LOGS=5
WAIT=900                  # seconds to wait if the previous night's run is still going

PATH=/usr/bin:/bin
export PATH
umask 077                 # reports name claims: readable by this user only
cd "$WORKDIR" || exit 2
mkdir -p reports logs || exit 2
log=logs/dermaudit.log

if [ -f "$log" ] && [ "$(wc -c <"$log")" -gt 1000000 ]; then
    i=$KEEP_LOGS
    while [ "$i" -gt 1 ]; do
        j=$((i - 1))
        if [ -f "$log.$j" ]; then mv -f "$log.$j" "$log.$i"; fi
        i=$j
    done
    mv -f "$log" "$log.1"
fi

report="reports/dermaudit-$(date +%Y-%m-%d-%H%M%S)"
summary=$("$DERMAUDIT" scan "$INPUT" --config "$WORKDIR/dermaudit.toml" \
    --format text --output "$report.txt" --html "$report.html" \
    --summary-line --log --wait "$WAIT" 2>>"$log")
code=$?
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) exit $code: $summary" >>"$log"

if [ -f "$report.txt" ]; then
    printf '%s\n\n' "$summary"
    cat "$report.txt"
else
    echo "dermaudit: the nightly scan failed (exit $code); the last lines of $WORKDIR/$log:"
    tail -n 5 "$log"
fi

for ext in txt html; do
    n=0
    for f in $(ls -1r reports/dermaudit-*."$ext" 2>/dev/null); do
        n=$((n + 1))
        if [ "$n" -gt "$KEEP_REPORTS" ]; then rm -f "$f"; fi
    done
done
# temporary files of a run that was killed (dermaudit writes every file atomically)
find reports -name '.dermaudit-*.part' -mmin +1440 -exec rm -f {} + 2>/dev/null

exit $code
"""

SYSTEMD = """\
# /etc/systemd/system/dermaudit-nightly.service
[Unit]
Description=dermaudit nightly coding audit

[Service]
Type=oneshot
User={user}
ExecStart={script}
# exit 1 (new problems) marks the unit failed: 'systemctl --failed' shows it, and
# OnFailure= can start a unit that mails; 'journalctl -u dermaudit-nightly' shows the report

# /etc/systemd/system/dermaudit-nightly.timer
[Unit]
Description=Run dermaudit every night

[Timer]
OnCalendar=*-*-* 02:30:00
Persistent=true

[Install]
WantedBy=timers.target
"""

# the paths the shipped scripts/dermaudit-nightly.sh shows, for users to edit
EXAMPLE_PATHS = {
    "dermaudit": "/path/to/venv/bin/dermaudit",
    "workdir": "/srv/derm",
    "input": "/srv/derm/exports/charges.csv",
}


def wrapper_script(dermaudit: str, workdir: str, input: str) -> str:
    for name, v in (("dermaudit", dermaudit), ("workdir", workdir), ("input", input)):
        if any(c in v for c in '"$`\\\n'):
            raise UsageError(f"the {name} path {v!r} has a character the script cannot quote")
    return (
        WRAPPER.replace("@DERMAUDIT@", dermaudit)
        .replace("@WORKDIR@", workdir)
        .replace("@INPUT@", input)
    )


def systemd_units(script: str, user: str) -> str:
    return SYSTEMD.format(script=script, user=user)


def dermaudit_executable() -> str:
    """The absolute path of this dermaudit (the venv's ``bin/dermaudit``)."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "dermaudit"
    if beside.is_file():
        return str(beside.absolute())
    found = shutil.which("dermaudit")
    return str(Path(found).absolute()) if found else str(beside.absolute())


# the nightly settings `dermaudit init --cron` writes into dermaudit.toml
CRON_SETTINGS: dict[str, Any] = {
    "baseline": "findings/baseline.json",
    "update_baseline": True,
    "state": "findings/state.json",
    "report_kind": "nightly",
}


def write_wrapper(config: Path, input: str, *, force: bool = False) -> str:
    """Write ``dermaudit-nightly.sh`` beside ``config`` with absolute paths (this dermaudit,
    the config's folder, ``input``); returns the instructions to print."""
    import getpass

    from .outputs import write_text

    workdir = Path(config).absolute().parent
    script = workdir / "dermaudit-nightly.sh"
    if script.exists() and not force:
        raise UsageError(f"{script} exists; pass --force to overwrite it")
    text = wrapper_script(dermaudit_executable(), str(workdir), str(Path(input).absolute()))
    write_text(script, text)
    script.chmod(0o700)
    user = getpass.getuser()
    return "\n".join(
        [
            f"wrote {script} (runs the scan, keeps 30 reports, rotates its log)",
            "",
            "Try it once by hand, as the user cron will run it as:",
            f"  env -i {script}; echo exit $?",
            "",
            "Cron (crontab -e): mails the report every night, 'Nothing new' when all is well",
            "  MAILTO=billing@practice.example",
            f"  30 2 * * * {script}",
            "",
            "Or a systemd timer (as root: write the two files, then",
            "  systemctl daemon-reload && systemctl enable --now dermaudit-nightly.timer):",
            "",
            systemd_units(str(script), user),
        ]
    )
