"""Readers: every container a practice sends, read once, never modified.

* CSV / TSV / pipe / semicolon text (delimiter sniffed; UTF-8, UTF-16 or Windows-1252; LF,
  CRLF or CR-only line endings), with the header found wherever it is (``layout``);
* Parquet;
* Excel workbooks: every sheet (a sheet whose columns are not charge columns is skipped by
  ingest with a note);
* ``.gz`` (one compressed file) and ``.zip`` (the CSV, Excel and Parquet files inside), each
  expanded into a private temporary folder with a bound on the expanded size, so a zip bomb is
  refused with one line instead of filling the disk;
* folders (with subfolders) and globs; a path that exists is a file even when its name holds
  ``[`` or ``]``.

Files that cannot be charge exports (an X12 claim file, an aggregate CMS file, binary data)
get one clear line. Everything skipped inside a folder or an archive is named in a note.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import polars as pl

from ..errors import InputError
from .layout import find_header

CSV_EXT = {".csv", ".txt", ".tsv", ".psv", ".dat", ".tab"}
X12_EXT = {".837", ".x12", ".edi"}  # X12 837P claims (also recognised by content)
PARQUET_EXT = {".parquet", ".pq", ".parq"}
EXCEL_EXT = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
ARCHIVE_EXT = {".zip", ".gz"}
DELIMS = [",", "\t", "|", ";"]
HEAD_BYTES = 1 << 20
MAX_RATIO = 200  # expanded / compressed size above which an archive is refused
MIN_BOUND = 64 << 20  # small archives may always expand to this much
MAX_EXPANDED = int(os.environ.get("DERMAUDIT_MAX_EXPANDED_BYTES", 16 << 30))


@dataclass
class RawFile:
    path: Path
    name: str
    sha256: str
    format: str
    frame: pl.DataFrame  # every column as String
    delimiter: str | None = None
    encoding: str | None = None
    numeric_columns: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    header_line: int | None = 1  # 1-based line (sheet row) of the header; None = no header
    mapping: dict[str, str | list[str]] | None = None  # fixed column roles (X12 837P claims)
    above_header: int = 0  # lines above the header (title block, report parameters, blanks)


# ---- paths -------------------------------------------------------------------------------


def _readable(p: Path) -> bool:
    return p.suffix.lower() in CSV_EXT | PARQUET_EXT | EXCEL_EXT | ARCHIVE_EXT | X12_EXT


def _walk(folder: Path, notes: list[str]) -> list[Path]:
    """Every readable file under ``folder``; what is skipped (and why) goes to ``notes``."""
    out: list[Path] = []
    skipped: Counter[str] = Counter()

    def err(exc: OSError) -> None:
        notes.append(f"{exc.filename}: folder skipped ({exc.strerror or 'cannot be read'})")

    for root, dirs, files in os.walk(folder, onerror=err):
        dirs.sort()
        hidden = [d for d in dirs if d.startswith(".")]
        for d in hidden:
            dirs.remove(d)
            skipped["hidden folder"] += 1
        for f in sorted(files):
            p = Path(root) / f
            if f.startswith(".") or f.startswith("~$"):
                skipped["hidden or lock file"] += 1
            elif _readable(p):
                out.append(p)
            else:
                skipped[f"not a charge file type ({p.suffix or 'no extension'})"] += 1
    for why, n in sorted(skipped.items()):
        notes.append(f"{folder}: {n} file(s) skipped: {why}")
    return out


def expand_paths(paths: list[str], notes: list[str] | None = None) -> list[Path]:
    """Files named, found in folders (recursively) or matched by globs, in a stable order."""
    notes = [] if notes is None else notes
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_file():  # a real file, even if its name holds glob characters
            out.append(path)
        elif path.is_dir():
            files = _walk(path, notes)
            if not files:
                raise InputError(f"folder {p} holds no CSV, Parquet, Excel or archive file")
            out.extend(files)
        elif any(ch in p for ch in "*?["):
            hits = sorted(glob.glob(p, recursive=True))
            if not hits:
                raise InputError(f"no file matches {p!r}; check the pattern and the folder")
            out.extend(Path(h) for h in hits if Path(h).is_file())
        elif path.exists():
            raise InputError(f"{p} is not a regular file; pass a charge file or a folder")
        else:
            raise InputError(f"file {p} not found; check the path")
    return out


# ---- hashing and encodings ---------------------------------------------------------------


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _digest(path: Path, check_utf8: bool) -> tuple[str, bool]:
    """One pass over the file: its SHA-256 and whether it is valid UTF-8 (when asked). Run in
    a thread beside the Polars read (hashlib and Polars release the GIL)."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    ok = check_utf8
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            # an ASCII chunk with no character left open by the previous one is valid UTF-8:
            # the test runs at memory speed, the decoder only on chunks with other bytes
            if ok and not (chunk.isascii() and not dec.getstate()[0]):
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    ok = False
    if ok:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            ok = False
    return h.hexdigest(), ok


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits most lines into the same number of cells (title lines
    above the header have none, so lines without any delimiter do not vote)."""
    lines = [ln for ln in text.splitlines()[:40] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", 0.0
    for d in DELIMS:
        counts = [_count_outside_quotes(ln, d) for ln in lines]
        nonzero = [c for c in counts if c > 0]
        if not nonzero:
            continue
        mode, freq = Counter(nonzero).most_common(1)[0]
        score = mode * freq / len(lines)
        if score > best_score:
            best, best_score = d, score
    return best


def _count_outside_quotes(line: str, delim: str) -> int:
    n, inq = 0, False
    for ch in line:
        if ch == '"':
            inq = not inq
        elif ch == delim and not inq:
            n += 1
    return n


def _head_rows(text: str, delim: str) -> list[list[str]]:
    lines = text.splitlines()[:80]
    try:
        return list(csv.reader(lines, delimiter=delim))
    except csv.Error:
        return [ln.split(delim) for ln in lines]


# ---- CSV ---------------------------------------------------------------------------------


def _kind(head: bytes) -> str:
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if body[:3] == b"ISA" and len(body) > 3 and not body[3:4].isalnum():
        return "x12"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "text"


def _read_text(path: Path, display: str | None = None) -> RawFile:
    name = display or path.name
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name} is empty (0 bytes); export the charges again")
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    encoding = "utf-8"
    source: str | io.BytesIO = str(path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
        data = path.read_bytes().decode("utf-16").encode("utf-8")
        source, head = io.BytesIO(data), data[:HEAD_BYTES]
    elif b"\x00" in head[:8192]:
        raise InputError(
            f"{name} is not a text file (it contains binary bytes); "
            "export the charges as CSV, Parquet or Excel"
        )
    else:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the 1 MiB boundary
                encoding = "cp1252"
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_digest, path, encoding == "utf-8" and size > len(head))
        out = _parse_text(path, name, source, head, encoding)
        sha, rest_ok = digest.result()
    if encoding == "utf-8" and size > len(head) and not rest_ok:
        out = _parse_text(path, name, source, head, "cp1252")
    out.sha256 = sha
    return out


def _parse_text(
    path: Path, name: str, source: str | io.BytesIO, head: bytes, encoding: str
) -> RawFile:
    if encoding == "cp1252":
        data = path.read_bytes().decode("cp1252", errors="replace").encode("utf-8")
        source, head = io.BytesIO(data), data[:HEAD_BYTES]
    notes: list[str] = []
    if b"\r" in head and b"\n" not in head:  # classic Mac (CR-only) line endings
        raw = source.getvalue() if isinstance(source, io.BytesIO) else path.read_bytes()
        data = raw.replace(b"\r", b"\n")
        source, head = io.BytesIO(data), data[:HEAD_BYTES]
        notes.append(f"{name}: CR-only line endings were read as line breaks")
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise InputError(f"{name} holds only blank lines; export the charges again")
    delim = _sniff_delimiter(text)
    guess = find_header(_head_rows(text, delim))
    try:
        df = pl.read_csv(
            source,
            separator=delim,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=True,
            has_header=guess.index is not None,
            skip_rows=guess.index or 0,
            glob=False,  # a file name may hold [ ] * ?
        )
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        first = re.sub(r"`.*", "", first).strip()  # Polars quotes the line: patient data
        raise InputError(
            f"{name} cannot be parsed as CSV ({first or type(exc).__name__}; "
            "look for an unclosed quote)"
        ) from exc
    except pl.exceptions.NoDataError as exc:
        raise InputError(f"{name} is empty; export the charges again") from exc
    if guess.index is None:
        df = df.rename({c: f"col_{i}" for i, c in enumerate(df.columns, start=1)})
        notes.append(f"{name}: no header row; columns were recognised from their content")
    df = clean_headers(df)
    out = RawFile(
        path,
        name,
        "",
        "csv",
        df,
        delimiter=delim,
        encoding=encoding,
        notes=notes,
        header_line=None if guess.index is None else guess.index + 1,
        above_header=guess.index or 0,
    )
    if encoding != "utf-8":
        out.notes.append(f"{name}: read as {encoding} (not UTF-8)")
    return out


def clean_headers(df: pl.DataFrame) -> pl.DataFrame:
    new = []
    seen: dict[str, int] = {}
    for i, c in enumerate(df.columns, start=1):
        name = " ".join(c.replace("\ufeff", "").strip().strip('"').split()) or f"col_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        new.append(name)
    return df.rename(dict(zip(df.columns, new, strict=True)))


def _stringify(df: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
    numeric: set[str] = set()
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            exprs.append(col)
        elif dtype == pl.Date:
            exprs.append(col.dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.date().dt.strftime("%Y-%m-%d"))
        elif dtype.is_integer() or dtype.is_float():
            numeric.add(name)
            exprs.append(col.cast(pl.String))
        elif isinstance(dtype, pl.List):
            exprs.append(col.cast(pl.List(pl.String)).list.join(","))
        else:
            exprs.append(col.cast(pl.String))
    return df.select([e.alias(n) for e, n in zip(exprs, df.columns, strict=True)]), numeric


def text_plan(path: Path) -> tuple[str, int | None]:
    """For a streaming reader: the delimiter and the 0-based line of the header (None: no
    header), found from the first MiB exactly as ``read_all`` finds them."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    delim = _sniff_delimiter(text)
    return delim, find_header(_head_rows(text, delim)).index


# ---- Parquet and Excel -------------------------------------------------------------------


def _read_parquet(path: Path, display: str | None = None) -> RawFile:
    name = display or path.name
    try:
        df = pl.read_parquet(path, glob=False)
    except Exception as exc:
        raise InputError(
            f"{name} cannot be read as Parquet ({type(exc).__name__}); check the file is complete"
        ) from exc
    bad = [n for n, t in df.schema.items() if isinstance(t, pl.Struct | pl.Array | pl.Object)]
    if bad:
        raise InputError(
            f"{name}: column(s) {', '.join(bad)} hold nested values; "
            "flatten them to text before the audit"
        )
    df, numeric = _stringify(df)
    return RawFile(path, name, "", "parquet", clean_headers(df), numeric_columns=numeric)


def _read_excel(path: Path, display: str | None = None) -> list[RawFile]:
    """Every sheet of a workbook, each with its header found like a CSV's."""
    name = display or path.name
    try:
        sheets = pl.read_excel(path, sheet_id=0, has_header=False, infer_schema_length=0)
    except Exception as exc:
        raise InputError(
            f"{name} cannot be read as an Excel workbook ({type(exc).__name__}); "
            "save it as .xlsx or export CSV"
        ) from exc
    out: list[RawFile] = []
    notes: list[str] = []
    for sheet, grid in sheets.items():
        label = f"{name}:{sheet}" if len(sheets) > 1 else name
        grid, numeric = _stringify(grid)
        if grid.height == 0:
            notes.append(f"{name}: sheet {sheet!r} skipped (empty)")
            continue
        head = [[("" if v is None else str(v)) for v in row] for row in grid.head(80).rows()]
        guess = find_header(head)
        if guess.index is None:
            cols = [f"col_{i}" for i in range(1, grid.width + 1)]
            body = grid
        else:
            cols = [v or f"col_{i}" for i, v in enumerate(head[guess.index], start=1)]
            body = grid.slice(guess.index + 1)
        body = clean_headers(body.rename(dict(zip(body.columns, cols, strict=True))))
        out.append(
            RawFile(
                path,
                label,
                "",
                "excel",
                body,
                numeric_columns=set(),
                header_line=None if guess.index is None else guess.index + 1,
                above_header=guess.index or 0,
            )
        )
        del numeric
    if out:
        out[0].notes.extend(notes)
    elif notes:
        raise InputError(f"{name}: every sheet is empty")
    return out


# ---- archives ----------------------------------------------------------------------------


@contextmanager
def _private_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="dermaudit-unpack-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _bound(compressed: int) -> int:
    return min(MAX_EXPANDED, max(MIN_BOUND, MAX_RATIO * compressed))


def _copy_bounded(src: IO[bytes] | io.BufferedIOBase, dst: Path, limit: int, name: str) -> None:
    n = 0
    with dst.open("wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            n += len(chunk)
            if n > limit:
                raise InputError(
                    f"{name} expands to more than {limit / 2**20:,.0f} MiB "
                    f"({MAX_RATIO} times its size or more): refused as a possible zip bomb; "
                    "unpack it yourself if it is a genuine export"
                )
            out.write(chunk)


def _read_gzip(path: Path, display: str | None = None) -> list[RawFile]:
    name = display or path.name
    inner = name.removesuffix(".gz").removesuffix(".GZ")
    with _private_dir() as d:
        dst = d / Path(inner).name
        try:
            with gzip.open(path, "rb") as src:
                _copy_bounded(src, dst, _bound(path.stat().st_size), name)
        except (OSError, EOFError) as exc:
            raise InputError(f"{name} is not a complete gzip file ({exc})") from exc
        raws = _read_any(dst, inner, nested=True)
    sha = sha256_of(path)
    for r in raws:
        r.sha256, r.path = sha, path
    return raws


def _read_zip(path: Path, display: str | None = None) -> list[RawFile]:
    name = display or path.name
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{name} is not a readable zip file ({exc})") from exc
    out: list[RawFile] = []
    notes: list[str] = []
    limit = _bound(path.stat().st_size)
    total = 0
    with zf, _private_dir() as d:
        members = [m for m in zf.infolist() if not m.is_dir()]
        for i, m in enumerate(sorted(members, key=lambda m: m.filename)):
            mname = f"{name}:{m.filename}"
            mp = Path(m.filename)
            if mp.name.startswith((".", "~$")) or "__MACOSX" in mp.parts:
                notes.append(f"{mname}: skipped (hidden or system file)")
                continue
            ext = mp.suffix.lower()
            if ext in ARCHIVE_EXT:
                notes.append(f"{mname}: skipped (archives inside archives are not opened)")
                continue
            if ext not in CSV_EXT | PARQUET_EXT | EXCEL_EXT:
                notes.append(f"{mname}: skipped (not a charge file type)")
                continue
            total += m.file_size
            if total > limit:
                raise InputError(
                    f"{name} expands to more than {limit / 2**20:,.0f} MiB "
                    f"({MAX_RATIO} times its size or more): refused as a possible zip bomb"
                )
            dst = d / f"{i}{ext}"
            try:
                with zf.open(m) as src:
                    _copy_bounded(src, dst, limit, mname)
            except (zipfile.BadZipFile, RuntimeError, OSError) as exc:
                raise InputError(f"{mname} cannot be extracted ({exc})") from exc
            for r in _read_any(dst, mname, nested=True):
                r.sha256 = sha256_of(dst)
                r.path = path
                out.append(r)
    if not out:
        raise InputError(f"{name} holds no CSV, Excel or Parquet file")
    out[0].notes.extend(notes)
    return out


# ---- dispatch ----------------------------------------------------------------------------


def _read_any(path: Path, display: str, nested: bool = False) -> list[RawFile]:
    ext = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(16)
    kind = _kind(head)
    if kind == "x12":
        raise InputError(
            f"{display} is an X12 claim file (837/835), not a charge export; export the "
            "charges as CSV, Excel or Parquet"
        )
    if kind == "parquet" or (ext in PARQUET_EXT and kind != "text"):
        return [_read_parquet(path, display)]
    if kind == "gzip" or ext == ".gz":
        if nested:
            raise InputError(f"{display}: archives inside archives are not opened")
        return _read_gzip(path, display)
    if kind == "zip" and ext not in EXCEL_EXT:
        try:
            is_book = "[Content_Types].xml" in zipfile.ZipFile(path).namelist()
        except zipfile.BadZipFile:
            is_book = False
        if not is_book:
            if nested:
                raise InputError(f"{display}: archives inside archives are not opened")
            return _read_zip(path, display)
        return _read_excel(path, display)
    if ext in EXCEL_EXT or kind in ("zip", "xls"):
        return _read_excel(path, display)
    return [_read_text(path, display)]


def read_all(path: Path) -> list[RawFile]:
    """Every table in ``path`` (one for CSV/Parquet, one per sheet or archive member)."""
    raws = _read_any(path, path.name)
    for r in raws:
        if not r.sha256:
            r.sha256 = sha256_of(path)
    return raws


def read_file(path: Path) -> RawFile:
    """The first table of ``path`` (a CSV or Parquet file holds one)."""
    return read_all(path)[0]
