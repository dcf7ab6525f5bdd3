"""The one place that writes a file: atomically, never over an input, owner-only by default.

Every output (findings in every format, the HTML report, samples, baselines, column maps) goes
through ``atomic_write``: the bytes go to a temporary file in the target folder, are flushed and
fsynced, and the file is renamed over the target in one step (``os.replace``). A reader (the
next cron step, a browser) sees either the previous file or the complete new one, never a
truncated one; an error or an interrupt removes the temporary file and leaves the previous
output as it was.

``guard`` refuses, before any work, an output path that resolves to one of the inputs (also
through symbolic links and hard links), so no option can overwrite the user's export.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError, UsageError

PRIVATE_MODE = 0o600  # outputs that may hold patient identifiers: readable by the owner only


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def guard(outputs: Iterable[tuple[str, Path | None]], inputs: Iterable[Path]) -> None:
    """Raise ``UsageError`` when an output path is one of the inputs (or a folder of them),
    or when two outputs are the same file. ``outputs`` are (option name, path) pairs."""
    ins = [Path(p) for p in inputs]
    seen: list[tuple[str, Path]] = []
    for name, out in outputs:
        if out is None or str(out) == "-":
            continue
        out = Path(out)
        for inp in ins:
            if _same_file(out, inp):
                raise UsageError(
                    f"{name} {out} is one of the input files; choose another output path "
                    "(dermaudit never writes over an input)"
                )
        if out.exists() and out.is_dir():
            raise UsageError(f"{name} {out} is a folder; give a file path")
        for other_name, other in seen:
            if _same_file(out, other):
                raise UsageError(f"{name} and {other_name} are the same file ({out})")
        seen.append((name, out))


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "the folder does not exist"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or type(exc).__name__


@contextlib.contextmanager
def atomic_file(path: Path, *, private: bool = True) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` for binary writing; on success it replaces
    ``path`` atomically, on any exception (including KeyboardInterrupt) it is removed."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
    ok = False
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        ok = True
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write(path: Path, write: Callable[[IO[bytes]], None], *, private: bool = True) -> None:
    """Write ``path`` with ``write(fh)`` through ``atomic_file``."""
    with atomic_file(path, private=private) as fh:
        write(fh)


def write_text(path: Path, text: str, *, private: bool = True) -> None:
    with atomic_file(path, private=private) as fh:
        fh.write(text.encode("utf-8"))
