"""The one place that writes a file: atomically, never over an input, owner-only by default.

Every output (findings in every format, the HTML report, samples, baselines, column maps) goes
through ``atomic_write``: the bytes go to a temporary file in the target folder, are flushed and
fsynced, and the file is renamed over the target in one step (``os.replace``). A reader (the
next cron step, a browser) sees either the previous file or the complete new one, never a
truncated one; an error or an interrupt removes the temporary file and leaves the previous
output as it was.

``guard`` refuses, before any work, an output path that resolves to one of the inputs (also
through symbolic links and hard links), so no option can overwrite the user's export.

An output that already exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a
named pipe) is written in place: there is nothing to replace atomically (and replacing
``/dev/null`` with a file would break the system). ``atomic_folder`` does for a folder of files
(a ruleset written by ``dermaudit refdata import``) what ``atomic_file`` does for one file.
Errors (permission, full disk, read-only file system, also when Polars reports them, or
hides them) are ``OutputError``: one line naming the path and the cause.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import polars as pl

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


def _errno(exc: BaseException) -> int | None:
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    m = re.search(r"os error (\d+)", str(exc))  # Polars reports I/O errors as text
    return int(m.group(1)) if m else None


def _describe(exc: BaseException) -> str:
    code = _errno(exc)
    if code == errno.ENOSPC:
        return "the disk is full"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ENOENT:
        return "the folder does not exist"
    if code == errno.EROFS:
        return "the file system is read-only"
    if code == errno.EDQUOT:
        return "the disk quota is exceeded"
    if code == errno.EFBIG:
        return "the file is too large for this file system"
    if code is not None:
        return os.strerror(code)
    return (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__


def _output_cause(exc: BaseException, fh: IO[bytes]) -> BaseException | None:
    """The I/O error behind ``exc`` raised while writing ``fh``, or None when the writer
    failed for another reason. Polars does not always say (a Parquet write to a full disk
    reports "transport error"): then one more byte is written to ``fh`` to find out."""
    if isinstance(exc, OSError):
        return exc
    if not isinstance(exc, pl.exceptions.PolarsError):
        return None
    if _errno(exc) is not None:
        return exc
    try:
        fh.write(b"\0")
        fh.flush()
    except OSError as probe:
        return probe
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _in_place(path: Path) -> Iterator[IO[bytes]]:
    try:
        with path.open("wb") as fh:
            try:
                yield fh
                fh.flush()
            except Exception as exc:
                cause = _output_cause(exc, fh)
                if cause is None:
                    raise
                raise OutputError(f"cannot write {path}: {_describe(cause)}") from exc
    except OSError as exc:  # opening, or closing with unwritten bytes
        raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc


@contextlib.contextmanager
def atomic_file(path: Path, *, private: bool = True) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` for binary writing; on success it replaces
    ``path`` atomically, on any exception (including KeyboardInterrupt) it is removed."""
    path = Path(path)
    if path.exists() and not path.is_dir() and not stat.S_ISREG(path.stat().st_mode):
        with _in_place(path) as fh:  # a device or a pipe: written in place
            yield fh
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
    ok = False
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            except Exception as exc:
                cause = _output_cause(exc, fh)
                if cause is None:
                    raise
                raise OutputError(f"cannot write {path}: {_describe(cause)}") from exc
        if not private:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        ok = True
    except OSError as exc:  # closing with unwritten bytes, or the rename
        raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


@contextlib.contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """A staging copy of the folder ``path`` (files hard-linked, or copied across devices) to
    write into; on success the staging folder takes the place of ``path`` (two renames:
    ``path`` to a backup name, the staging folder to ``path``; then the backup is removed). On
    any exception the staging folder is removed and ``path`` is untouched. Write into it with
    ``atomic_write``/``write_text`` so a linked file is replaced, never modified."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".part"))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
    old: Path | None = None
    ok = False
    try:
        try:
            if path.is_dir():
                os.chmod(stage, stat.S_IMODE(path.stat().st_mode))
                shutil.copytree(path, stage, symlinks=True, dirs_exist_ok=True, copy_function=_link)
            else:
                os.chmod(stage, 0o777 & ~_umask())
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
        yield stage
        try:
            if path.exists():
                old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".old"))
                os.rmdir(old)
                os.rename(path, old)
            os.rename(stage, path)
            ok = True
        except OSError as exc:
            if old is not None and not path.exists():
                os.rename(old, path)  # put the previous folder back
                old = None
            raise OutputError(f"cannot write {path}: {_describe(exc)}") from exc
    finally:
        if not ok:
            shutil.rmtree(stage, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@contextlib.contextmanager
def owner_only_files() -> Iterator[None]:
    """Files and folders created meanwhile (by this process, also by Polars) are readable by
    the owner only: used around the temporary partitions of a large scan."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def atomic_write(path: Path, write: Callable[[IO[bytes]], None], *, private: bool = True) -> None:
    """Write ``path`` with ``write(fh)`` through ``atomic_file``."""
    with atomic_file(path, private=private) as fh:
        write(fh)


def write_text(path: Path, text: str, *, private: bool = True) -> None:
    with atomic_file(path, private=private) as fh:
        fh.write(text.encode("utf-8"))
