"""Readers: CSV (delimiter and encoding detected), Parquet, Excel. Files are only read."""

from __future__ import annotations

import codecs
import glob
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InputError

CSV_EXT = {".csv", ".txt", ".tsv", ".psv", ".dat"}
PARQUET_EXT = {".parquet", ".pq", ".parq"}
EXCEL_EXT = {".xlsx", ".xlsm", ".xls"}
DELIMS = [",", "\t", "|", ";"]


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


def expand_paths(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if any(ch in p for ch in "*?["):
            hits = sorted(glob.glob(p, recursive=True))
            if not hits:
                raise InputError(f"no file matches {p!r}; check the pattern and the folder")
            out.extend(Path(h) for h in hits if Path(h).is_file())
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(
                f
                for f in path.rglob("*")
                if f.is_file() and f.suffix.lower() in CSV_EXT | PARQUET_EXT | EXCEL_EXT
            )
            if not files:
                raise InputError(f"folder {p} holds no CSV, Parquet or Excel file")
            out.extend(files)
        elif path.exists():
            out.append(path)
        else:
            raise InputError(f"file {p} not found; check the path")
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _digest(path: Path, check_utf8: bool) -> tuple[str, bool]:
    """One pass over the file: its SHA-256 and whether it is valid UTF-8 (when asked). Run in
    a thread beside the Polars read (hashlib and Polars release the GIL), so the provenance
    hash and the encoding check cost little wall time."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    ok = check_utf8
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            if ok:
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
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for d in DELIMS:
        counts = [_count_outside_quotes(ln, d) for ln in lines]
        head = counts[0]
        if head == 0:
            continue
        consistent = sum(1 for c in counts if c == head) / len(counts)
        score = head * consistent
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


def _read_csv(path: Path) -> RawFile:
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path.name} is empty (0 bytes); export the charges again")
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(b"PAR1"):
        return _read_parquet(path)
    if head.startswith(b"PK\x03\x04"):
        return _read_excel(path)
    encoding = "utf-8"
    source: str | io.BytesIO = str(path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
        data = path.read_bytes().decode("utf-16").encode("utf-8")
        source = io.BytesIO(data)
        head = data[: 1 << 20]
    elif b"\x00" in head[:8192]:
        raise InputError(
            f"{path.name} is not a text file (it contains binary bytes); "
            "export the charges as CSV, Parquet or Excel"
        )
    else:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the 1 MiB boundary
                encoding = "cp1252"
    # the hash and (when the head was UTF-8) the check of the rest run beside the read
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_digest, path, encoding == "utf-8" and size > len(head))
        out = _parse_csv(path, source, head, encoding)
        sha, rest_ok = digest.result()
    if encoding == "utf-8" and size > len(head) and not rest_ok:
        out = _parse_csv(path, source, head, "cp1252")
    out.sha256 = sha
    return out


def _parse_csv(path: Path, source: str | io.BytesIO, head: bytes, encoding: str) -> RawFile:
    if encoding == "cp1252":
        data = path.read_bytes().decode("cp1252", errors="replace").encode("utf-8")
        source = io.BytesIO(data)
        head = data[: 1 << 20]
    text = head.decode("utf-8", errors="ignore")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InputError(f"{path.name} holds only blank lines; export the charges again")
    delim = _sniff_delimiter(text)
    try:
        df = pl.read_csv(
            source,
            separator=delim,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=True,
        )
    except pl.exceptions.ComputeError as exc:
        raise InputError(
            f"{path.name} cannot be parsed as CSV: {str(exc).splitlines()[0]}"
        ) from exc
    except pl.exceptions.NoDataError as exc:
        raise InputError(f"{path.name} is empty; export the charges again") from exc
    df = _clean_headers(df)
    out = RawFile(path, path.name, "", "csv", df, delimiter=delim, encoding=encoding)
    if encoding != "utf-8":
        out.notes.append(f"{path.name}: read as {encoding} (not UTF-8)")
    return out


def _clean_headers(df: pl.DataFrame) -> pl.DataFrame:
    new = []
    seen: dict[str, int] = {}
    for c in df.columns:
        name = c.replace("\ufeff", "").strip().strip('"').replace("\n", " ") or "column"
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
        elif dtype == pl.Categorical or isinstance(dtype, pl.Enum) or dtype == pl.Null:
            exprs.append(col.cast(pl.String))
        else:
            try:
                exprs.append(col.cast(pl.String))
            except Exception:  # pragma: no cover - defensive
                exprs.append(pl.lit(None, pl.String).alias(name))
    return df.select([e.alias(n) for e, n in zip(exprs, df.columns, strict=True)]), numeric


def _read_parquet(path: Path) -> RawFile:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:
        raise InputError(
            f"{path.name} cannot be read as Parquet ({type(exc).__name__}); "
            "check the file is complete"
        ) from exc
    bad = [n for n, t in df.schema.items() if isinstance(t, pl.Struct | pl.Array | pl.Object)]
    if bad:
        raise InputError(
            f"{path.name}: column(s) {', '.join(bad)} hold nested values; "
            "flatten them to text before the audit"
        )
    df, numeric = _stringify(df)
    return RawFile(path, path.name, "", "parquet", _clean_headers(df), numeric_columns=numeric)


def _read_excel(path: Path) -> RawFile:
    try:
        df = pl.read_excel(path, infer_schema_length=0)
    except Exception as exc:
        raise InputError(
            f"{path.name} cannot be read as an Excel workbook ({type(exc).__name__}); "
            "save it as .xlsx or export CSV"
        ) from exc
    df, numeric = _stringify(df)
    return RawFile(path, path.name, "", "excel", _clean_headers(df), numeric_columns=numeric)


def read_file(path: Path) -> RawFile:
    ext = path.suffix.lower()
    if ext in PARQUET_EXT:
        raw = _read_parquet(path)
    elif ext in EXCEL_EXT:
        raw = _read_excel(path)
    else:
        raw = _read_csv(path)
    if not raw.sha256:
        raw.sha256 = sha256_of(path)
    return raw
