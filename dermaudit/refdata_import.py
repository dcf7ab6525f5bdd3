"""Import the real CMS public files into a dermaudit reference-table layer.

The shipped tables under ``rulesets/`` are small excerpts. A user who has downloaded the
quarterly CMS files can turn them into a ``--ruleset DIR`` layer that covers every code:

* NCCI PTP practitioner edits (``ccipra-v###r#-f1.txt`` .. ``f4``; tab-delimited text with a
  6-line preamble whose column header is split over several lines; also .xlsx/.csv)
  -> ``ncci_pairs_cms.csv``
* MUE practitioner table (``MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv``/.xlsx: a quoted
  multi-line copyright cell, then the header ``"HCPCS/\\nCPT Code"``, ``Practitioner Services
  MUE Values``, ``MUE Adjudication Indicator``, ``MUE Rationale``) -> ``unit_caps_cms.csv``
* NCCI add-on code edits (``AOC_V2025Q4_01-MCR.xlsx``/.txt/.csv: one row per add-on/primary
  pair, AOC edit type 1/2/3, dates as Julian ``YYYYDDD``; the .txt may be fixed-width)
  -> ``addon_primaries_cms.csv``
* PFS relative value file (``PPRRVU25_JAN.csv``/.xlsx: title lines, then a two-row header
  such as ``GLOB``/``DAYS``) -> ``codes_cms.csv``, merged with the default code table.

The outputs are extension files (``<stem>_cms.csv``), so :func:`dermaudit.refdata.load_refdata`
layers them over the defaults; ``ruleset.toml`` in the same folder records vintages, the
date span each table covers and the sha256 of every source file. Input files are only read.
CPT descriptors (AMA-copyrighted) are never copied: only code numbers, CMS indicators and CMS
edit text are written.

Public API: :func:`import_files`, :func:`detect_kind`, :func:`describe_layer`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import polars as pl

from .errors import InputError
from .refdata import TABLES, default_ruleset_dir, load_refdata

Kind = Literal["ptp", "mue", "aoc", "pfs"]
KINDS: tuple[Kind, ...] = ("ptp", "mue", "aoc", "pfs")

GENERATOR = "dermaudit refdata import"
#: label written for codes that are in the PPRRVU file but not in the default code table
#: (the CMS DESCRIPTION is a CPT descriptor and is never copied)
NEW_CODE_LABEL = "imported"
#: family slug for codes the default code table does not know
NEW_CODE_FAMILY = "unlisted"

#: kind -> (output extension file, table it extends)
OUTPUTS: dict[Kind, tuple[str, str]] = {
    "ptp": ("ncci_pairs_cms.csv", "ncci_pairs.csv"),
    "mue": ("unit_caps_cms.csv", "unit_caps.csv"),
    "aoc": ("addon_primaries_cms.csv", "addon_primaries.csv"),
    "pfs": ("codes_cms.csv", "codes.csv"),
}
KIND_TITLE: dict[str, str] = {
    "ptp": "NCCI PTP practitioner edits",
    "mue": "NCCI MUE practitioner table",
    "aoc": "NCCI add-on code (AOC) edits",
    "pfs": "PFS relative value file (PPRRVU)",
}
EXPECTED_NAMES = (
    "NCCI PTP ccipra-v###r#-f#.txt, MUE MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv, "
    "AOC_V####Q#_##-MCR.xlsx/.txt or PPRRVU##_MMM.csv"
)

_CODE_RE = re.compile(r"^[0-9A-Z]{5}$")
_EXCEL_EXT = (".xlsx", ".xlsm", ".xls")
_TEXT_EXT = (".txt", ".csv", ".tsv")

# file-name patterns of the CMS releases (used to pick members of a zip or a folder, and to
# tell a file's kind when its content alone is not decisive)
_NAME_KIND: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (re.compile(r"^ccipra-v\d+r\d+", re.I), "ptp"),
    (re.compile(r"^mcr_mue_practitioner", re.I), "mue"),
    (re.compile(r"^aoc_v\d{4}q\d", re.I), "aoc"),
    (re.compile(r"^pprrvu", re.I), "pfs"),
)
_NAME_REJECT: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^ccioph", re.I),
        "is the NCCI PTP file for outpatient hospitals; import the practitioner file "
        "(ccipra-v###r#-f#.txt)",
    ),
    (
        re.compile(r"^mcr_mue_(outpatient|dme|hospital)", re.I),
        "is not the practitioner MUE table; import MCR_MUE_PractitionerServices_Eff_*.csv",
    ),
)
# preferred extension per kind when a zip or folder holds the same table in several formats
_EXT_PREF: dict[Kind, tuple[str, ...]] = {
    "ptp": (".txt", ".csv", ".xlsx"),
    "mue": (".csv", ".xlsx"),
    "aoc": (".xlsx", ".csv", ".txt"),
    "pfs": (".csv", ".xlsx"),
}


# ---------------------------------------------------------------------------------------------
# result types
# ---------------------------------------------------------------------------------------------
@dataclass
class InputFile:
    """One CMS file that was read."""

    name: str
    origin: str
    kind: Kind
    sha256: str
    release: str
    rows_read: int
    rows_skipped: int


@dataclass
class ImportedTable:
    """One ``*_cms.csv`` table of an import layer (from ``ruleset.toml`` [imports])."""

    file: str
    table: str
    kind: str
    vintage: str
    release: str
    period: tuple[date | None, date | None]
    covers: tuple[date | None, date | None]
    imported: date | None
    rows: int
    sources: list[str]
    sha256: str = ""
    present: bool = True
    edited: bool = False


@dataclass
class ImportReport:
    """What :func:`import_files` read and wrote."""

    out_dir: Path
    imported: date
    inputs: list[InputFile]
    tables: list[ImportedTable]
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"imported into {self.out_dir} ({self.imported.isoformat()}):"]
        for t in self.tables:
            srcs = ", ".join(s.split(" ")[0] for s in t.sources)
            out.append(f"  {t.file}: {t.rows:,} rows - {t.vintage} [{srcs}]")
        out += [f"  warning: {w}" for w in self.warnings]
        out.append(f"use it with: dermaudit scan FILE --ruleset {self.out_dir}")
        return out


@dataclass
class LayerInfo:
    """A ruleset folder as :func:`describe_layer` sees it."""

    path: Path
    name: str
    generator: str | None
    tables: list[ImportedTable]
    files: dict[str, int]  # every reference CSV in the folder -> data rows
    vintages: dict[str, str]

    @property
    def is_import(self) -> bool:
        return self.generator == GENERATOR

    def warnings(
        self, today: date | None = None, first: date | None = None, last: date | None = None
    ) -> list[str]:
        """Stale-data warnings: a release whose quarter/year is over, audit dates of service
        outside the span a table covers, a table missing or edited since the import."""
        today = today or date.today()
        out: list[str] = []
        for t in self.tables:
            if not t.present:
                out.append(f"{t.file}: listed in ruleset.toml but missing; re-run the import")
                continue
            if t.edited:
                out.append(f"{t.file}: changed since it was imported (sha256 differs)")
            _, p_end = t.period
            if p_end and today > p_end:
                out.append(
                    f"{t.file}: {KIND_TITLE.get(t.kind, t.kind)} {t.release} is for "
                    f"{_fmt_span(t.period)}; a newer release applies today - download it from "
                    "CMS and re-import"
                )
            start, end = t.covers
            if first and start and first < start:
                out.append(f"{t.file}: data starts {start}, audit starts {first}")
            if last and end and last > end:
                out.append(f"{t.file}: data ends {end}, audit runs to {last}")
        return out

    def lines(self) -> list[str]:
        kind = "CMS import layer" if self.is_import else "ruleset layer"
        out = [f"{self.path} ({kind} {self.name})"]
        for t in self.tables:
            when = t.imported.isoformat() if t.imported else "?"
            out.append(
                f"  {t.file}: {t.rows:,} rows, {t.vintage}; covers {_fmt_span(t.covers)}; "
                f"imported {when}"
            )
        listed = {t.file for t in self.tables}
        for f, n in sorted(self.files.items()):
            if f not in listed:
                out.append(f"  {f}: {n:,} rows")
        return out


# ---------------------------------------------------------------------------------------------
# sources: files, zip members, folders
# ---------------------------------------------------------------------------------------------
@dataclass
class _Source:
    name: str
    origin: str
    data: bytes = field(repr=False)
    _text: str | None = field(default=None, repr=False)
    _frame: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def is_excel(self) -> bool:
        return self.name.lower().endswith(_EXCEL_EXT)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _decode(self.data)
        return self._text

    def frame(self) -> pl.DataFrame:
        """The first sheet of a workbook, every cell as text, no header."""
        if self._frame is None:
            try:
                df = pl.read_excel(io.BytesIO(self.data), has_header=False, infer_schema_length=0)
            except Exception as exc:  # fastexcel raises several types
                raise InputError(
                    f"{self.origin}: cannot read the workbook ({_first_line(exc)}); "
                    "save it as .xlsx or use the CMS .csv/.txt"
                ) from exc
            self._frame = df.with_columns(pl.all().cast(pl.String))
        return self._frame

    def rows(self, limit: int | None = None) -> list[list[str]]:
        """Table rows as lists of stripped strings (``limit`` rows at most)."""
        if self.is_excel:
            df = self.frame() if limit is None else self.frame().head(limit)
            return [["" if v is None else str(v).strip() for v in r] for r in df.iter_rows()]
        text = self.text
        if limit is not None:
            head = text[:400_000]
            if len(head) < len(text):
                head = head[: head.rfind("\n") + 1]
            text = head
        reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(text))
        out: list[list[str]] = []
        for r in reader:
            out.append([c.strip() for c in r])
            if limit is not None and len(out) >= limit:
                break
        return out


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    sample = text[:200_000]
    counts = {d: sample.count(d) for d in ("\t", ",", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_line(exc: BaseException) -> str:
    s = str(exc).strip()
    return s.splitlines()[0] if s else type(exc).__name__


def _name_kind(name: str) -> Kind | None:
    base = Path(name).name
    for rx, why in _NAME_REJECT:
        if rx.search(base):
            raise InputError(f"{base} {why}")
    for rx, kind in _NAME_KIND:
        if rx.search(base):
            return kind
    return None


def _collect_sources(paths: Sequence[str | Path]) -> list[_Source]:
    out: list[_Source] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError(f"{p}: no such file")
        if p.is_dir():
            members = [(f.name, str(f), f) for f in sorted(p.iterdir()) if f.is_file()]
            picked = _pick_members([(n, o) for n, o, _ in members])
            if not picked:
                raise InputError(
                    f"{p}: no CMS file found in the folder (expected {EXPECTED_NAMES})"
                )
            by_origin = {o: f for _, o, f in members}
            out += [_Source(n, o, by_origin[o].read_bytes()) for n, o in picked]
        elif p.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(p) as zf:
                    names = [
                        (Path(i.filename).name, f"{p}!{i.filename}")
                        for i in zf.infolist()
                        if not i.is_dir()
                    ]
                    picked = _pick_members(names)
                    if not picked:
                        raise InputError(
                            f"{p}: no CMS file found in the zip (expected {EXPECTED_NAMES})"
                        )
                    out += [_Source(n, o, zf.read(o.split("!", 1)[1])) for n, o in picked]
            except zipfile.BadZipFile as exc:
                raise InputError(f"{p}: not a readable zip file ({exc})") from exc
        else:
            out.append(_Source(p.name, str(p), p.read_bytes()))
    if not out:
        raise InputError("no input files given; pass the downloaded CMS files")
    return out


def _pick_members(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Members of a zip/folder that are CMS tables, one format per table."""
    best: dict[tuple[Kind, str], tuple[int, str, str]] = {}
    for name, origin in names:
        low = name.lower()
        ext = Path(low).suffix
        if ext not in _TEXT_EXT + _EXCEL_EXT or low.startswith(("~$", ".")):
            continue
        kind = None
        for rx, k in _NAME_KIND:
            if rx.search(name):
                kind = k
        if kind is None:
            continue
        pref = _EXT_PREF[kind]
        rank = pref.index(ext) if ext in pref else len(pref)
        key = (kind, Path(low).stem)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, name, origin)
    return sorted((n, o) for _, n, o in best.values())


# ---------------------------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------------------------
def _norm_cell(c: str) -> str:
    return " ".join(c.split()).lower()


def _alnum(c: str) -> str:
    return re.sub(r"[^a-z0-9]", "", c.lower())


_AOC_FIXED = re.compile(r"^([123])([0-9A-Z]{5})([0-9 ]{7})([0-9A-Z]{5})([0-9 ]{7})([0-9 ]{7})")


def _content_kind(src: _Source) -> Kind | None:
    if not src.is_excel:
        head = src.text[:4000]
        if head.startswith("HDR") or "\nHDR" in head[:800]:
            raise InputError(
                f"{src.name}: the fixed-width PPRRVU .txt is not supported; "
                "import the PPRRVU*.csv from the same CMS zip"
            )
        lines = head.splitlines()[:60]
        if sum(1 for ln in lines if _AOC_FIXED.match(ln)) >= 1 and not any(
            "\t" in ln or "," in ln for ln in lines if _AOC_FIXED.match(ln)
        ):
            return "aoc"
    for row in src.rows(limit=80):
        cells = [_norm_cell(c) for c in row]
        filled = [c for c in cells if c]
        if len(filled) < 2:
            continue
        if "column 1" in cells and "column 2" in cells:
            return "ptp"
        if any("mue" in c for c in cells) and any("hcpcs" in c or "cpt code" in c for c in cells):
            return "mue"
        if any(_alnum(c).startswith("addon") for c in cells) and any("primary" in c for c in cells):
            return "aoc"
        if len(cells) >= 3 and cells[0] == "hcpcs" and cells[1] == "mod":
            return "pfs"
        if _is_ptp_data(row):
            return "ptp"
    return None


def detect_kind(path: str | Path) -> Kind:
    """Which CMS table a file holds: ``ptp``, ``mue``, ``aoc`` or ``pfs``.

    Raises :class:`InputError` (one line) for a file that is none of them."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    return _detect(_Source(p.name, str(p), p.read_bytes()))


def _detect(src: _Source) -> Kind:
    by_name = _name_kind(src.name)
    by_content = _content_kind(src)
    kind = by_content or by_name
    if kind is None:
        raise InputError(
            f"{src.origin}: not a recognised CMS file (expected {EXPECTED_NAMES}, "
            "with their CMS header lines)"
        )
    return kind


# ---------------------------------------------------------------------------------------------
# small value parsers
# ---------------------------------------------------------------------------------------------
def _norm_code(v: str | None) -> str:
    s = (v or "").strip().strip('"').upper()
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    if s.isdigit() and len(s) < 5:
        s = s.zfill(5)
    return s


def _is_ptp_data(row: Sequence[str]) -> bool:
    return (
        len(row) >= 6
        and bool(_CODE_RE.match(_norm_code(row[0])))
        and bool(_CODE_RE.match(_norm_code(row[1])))
        and bool(re.fullmatch(r"\d{8}", (row[3] or "").strip().removesuffix(".0")))
    )


_NO_DATE = {"", "*", "0", "0000000", "00000000", "9999999", "99999999"}


def _cms_date(v: str | None) -> date | None:
    """CMS date forms -> date: YYYYMMDD, Julian YYYYDDD, ISO (optionally with a time),
    M/D/YYYY; blank, ``*`` and all-0/all-9 placeholders mean none. ValueError otherwise."""
    s = (v or "").strip().strip('"').removesuffix(".0")
    if s in _NO_DATE:
        return None
    if re.fullmatch(r"\d{8}", s):
        return date(int(s[:4]), int(s[4:6]), int(s[6:]))
    if re.fullmatch(r"\d{7}", s):
        day = int(s[4:])
        if not 1 <= day <= 366:
            raise ValueError(f"bad Julian date {s}")
        d = date(int(s[:4]), 1, 1) + timedelta(days=day - 1)
        if d.year != int(s[:4]):
            raise ValueError(f"bad Julian date {s}")
        return d
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", s)
    if m:
        return date(int(m[3]), int(m[1]), int(m[2]))
    raise ValueError(f"bad date {s!r}")


def _quarter_span(year: int, q: int) -> tuple[date, date]:
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, end - timedelta(days=1)


def _quarter_of(d: date) -> tuple[date, date]:
    return _quarter_span(d.year, (d.month - 1) // 3 + 1)


def _fmt_span(span: tuple[date | None, date | None]) -> str:
    a, b = span
    return f"{a.isoformat() if a else '...'} to {b.isoformat() if b else '...'}"


def _dec(v: str | None) -> Decimal | None:
    s = (v or "").strip().replace(",", "")
    if not s:
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


# ---------------------------------------------------------------------------------------------
# parsed tables
# ---------------------------------------------------------------------------------------------
@dataclass
class _Parsed:
    kind: Kind
    src: _Source
    release: str  # e.g. v313r0, 2025-10-01, V2025Q4_01, PPRRVU25_JAN
    period: tuple[date | None, date | None]
    frame: pl.DataFrame
    rows_read: int
    rows_skipped: int
    info: dict[str, str] = field(default_factory=dict)


# ---- NCCI PTP -------------------------------------------------------------------------------
def _ptp_release(name: str) -> tuple[str, tuple[date | None, date | None]]:
    m = re.search(r"v(\d{2})(\d)r(\d+)", name, re.I)
    if not m:
        raise InputError(
            f"{name}: cannot tell the NCCI version; keep the CMS file name "
            "(ccipra-v###r#-f#.txt), the version is only in the name"
        )
    major, minor = int(m[1]), int(m[2])
    release = f"v{m[1]}{m[2]}r{m[3]}"
    # NCCI version XY.Z is released for calendar year 1994 + XY, quarter Z + 1 (31.0 = 2025 Q1)
    if 0 <= minor <= 3:
        return release, _quarter_span(1994 + major, minor + 1)
    return release, (None, None)


def _parse_ptp(src: _Source) -> _Parsed:
    release, period = _ptp_release(src.name)
    cols = ["c1", "c2", "prior", "eff", "del", "mod", "rat"]
    if src.is_excel:
        raw = src.frame()
        head = src.rows(limit=80)
        start = next((i for i, r in enumerate(head) if _is_ptp_data(r)), None)
        if start is None:
            raise InputError(f"{src.origin}: no NCCI PTP edit rows found below the header")
        raw = raw.slice(start)
    else:
        text = src.text
        sep = "\t" if "\t" in text[:200_000] else ","
        pos, start = 0, None
        for _ in range(200):
            nl = text.find("\n", pos)
            line = text[pos : nl if nl >= 0 else len(text)].rstrip("\r")
            fields = next(csv.reader([line], delimiter=sep)) if line else []
            if _is_ptp_data(fields):
                start = pos
                break
            if nl < 0:
                break
            pos = nl + 1
        if start is None:
            raise InputError(f"{src.origin}: no NCCI PTP edit rows found below the header")
        try:
            raw = pl.read_csv(
                io.BytesIO(text[start:].encode("utf-8")),
                separator=sep,
                has_header=False,
                infer_schema=False,
                quote_char='"' if sep == "," else None,
                truncate_ragged_lines=True,
            )
        except Exception as exc:
            raise InputError(
                f"{src.origin}: cannot read the PTP rows ({_first_line(exc)})"
            ) from exc
    if raw.width < 6:
        raise InputError(f"{src.origin}: PTP rows have {raw.width} columns, expected 7")
    raw = raw.select(raw.columns[:7])
    for i in range(raw.width, 7):
        raw = raw.with_columns(pl.lit(None, pl.String).alias(f"pad{i}"))
    raw = raw.rename(dict(zip(raw.columns, cols, strict=True)))
    raw = raw.filter(~pl.all_horizontal(pl.all().is_null()))

    def code(c: str) -> pl.Expr:
        e = pl.col(c).str.strip_chars().str.strip_chars('"').str.to_uppercase()
        e = e.str.replace(r"^(\d+)\.0$", "$1")
        return pl.when(e.str.contains(r"^\d{1,4}$")).then(e.str.zfill(5)).otherwise(e)

    def num(c: str) -> pl.Expr:
        return pl.col(c).str.strip_chars().str.replace(r"\.0$", "")

    df = raw.select(
        code("c1").alias("column1"),
        code("c2").alias("column2"),
        num("mod").alias("modifier_indicator"),
        num("eff").str.to_date("%Y%m%d", strict=False).alias("eff"),
        num("del").alias("del_raw"),
        num("del").str.to_date("%Y%m%d", strict=False).alias("del"),
        pl.col("rat").str.strip_chars().fill_null("").alias("rationale"),
    )
    ok = (
        pl.col("column1").str.contains(r"^[0-9A-Z]{5}$")
        & pl.col("column2").str.contains(r"^[0-9A-Z]{5}$")
        & pl.col("modifier_indicator").is_in(["0", "1", "9"])
        & pl.col("eff").is_not_null()
        & (
            pl.col("del").is_not_null()
            | pl.col("del_raw").is_null()
            | pl.col("del_raw").is_in(["", "*"])
        )
    ).fill_null(False)
    good = df.filter(ok).drop("del_raw")
    return _Parsed("ptp", src, release, period, good, df.height, df.height - good.height)


# ---- MUE ------------------------------------------------------------------------------------
def _find_header(rows: list[list[str]], test: Any, limit: int = 200) -> int | None:
    for i, r in enumerate(rows[:limit]):
        cells = [_norm_cell(c) for c in r]
        if sum(1 for c in cells if c) >= 2 and test(cells):
            return i
    return None


def _col(cells: list[str], *preds: Any) -> int | None:
    for pred in preds:
        for j, c in enumerate(cells):
            if c and pred(c):
                return j
    return None


def _parse_mue(src: _Source) -> _Parsed:
    rows = src.rows()
    h = _find_header(
        rows, lambda c: any("mue" in x for x in c) and any("hcpcs" in x or "cpt" in x for x in c)
    )
    if h is None:
        raise InputError(f"{src.origin}: no 'HCPCS/CPT Code ... MUE Values' header row found")
    cells = [_norm_cell(c) for c in rows[h]]
    ci = _col(cells, lambda c: "hcpcs" in c or "cpt" in c)
    vi = _col(cells, lambda c: "mue value" in c, lambda c: "value" in c)
    mi = _col(cells, lambda c: "adjudication" in c, lambda c: c == "mai")
    ri = _col(cells, lambda c: "rationale" in c)
    if ci is None or vi is None:
        raise InputError(f"{src.origin}: MUE header lacks the code or value column")
    vhead = cells[vi]
    if "outpatient" in vhead or "hospital" in vhead or "dme" in vhead:
        raise InputError(f"{src.origin}: holds '{rows[h][vi]}'; import the practitioner MUE table")
    m = re.search(r"eff_(\d{1,2})-(\d{1,2})-(\d{4})", src.name, re.I)
    if not m:
        raise InputError(
            f"{src.name}: cannot tell the MUE vintage; keep the CMS file name "
            "(MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv), the date is only in the name"
        )
    try:
        eff = date(int(m[3]), int(m[1]), int(m[2]))
    except ValueError as exc:
        raise InputError(f"{src.name}: bad effective date in the file name ({exc})") from exc
    out: list[dict[str, str]] = []
    read = skipped = 0
    for r in rows[h + 1 :]:
        if not any(c.strip() for c in r):
            continue
        read += 1
        code = _norm_code(r[ci] if ci < len(r) else "")
        val = (r[vi] if vi < len(r) else "").strip().removesuffix(".0")
        mai_m = re.match(r"\s*([123])\b", r[mi]) if mi is not None and mi < len(r) else None
        if not _CODE_RE.match(code) or not val.isdigit() or (mi is not None and not mai_m):
            skipped += 1
            continue
        mai = mai_m[1] if mai_m else ""
        out.append(
            {
                "code": code,
                "max_units": str(int(val)),
                "per": "line" if mai == "1" else "day",
                "mai": mai,
                "rationale": (r[ri] if ri is not None and ri < len(r) else "").strip(),
            }
        )
    frame = pl.DataFrame(
        out, schema=dict.fromkeys(("code", "max_units", "per", "mai", "rationale"), pl.String)
    )
    info = {"mai": "yes" if mi is not None else "no"}
    return _Parsed(
        "mue", src, eff.isoformat(), (eff, _quarter_of(eff)[1]), frame, read, skipped, info
    )


# ---- AOC ------------------------------------------------------------------------------------
def _aoc_release(name: str) -> tuple[str, tuple[date | None, date | None]]:
    m = re.search(r"aoc_v(\d{4})q([1-4])(?:_(\d+))?", name, re.I)
    if not m:
        raise InputError(
            f"{name}: cannot tell the AOC release; keep the CMS file name (AOC_V####Q#_##-MCR.*)"
        )
    release = f"V{m[1]}Q{m[2]}" + (f"_{m[3]}" if m[3] else "")
    return release, _quarter_span(int(m[1]), int(m[2]))


_AOC_COLS = ("addon", "primary", "aoc_type", "addon_del", "primary_del", "edit_eff", "edit_del")


def _parse_aoc(src: _Source) -> _Parsed:
    release, period = _aoc_release(src.name)
    records: list[tuple[str, ...]] = []
    read = 0
    rows = src.rows()

    def is_header(c: list[str]) -> bool:
        return any(_alnum(x).startswith("addon") for x in c) and any("primary" in x for x in c)

    h = _find_header(rows, is_header)
    if h is not None:
        cells = [_alnum(c) for c in rows[h]]

        def pick(pred: Any) -> int | None:
            return next((j for j, c in enumerate(cells) if c and pred(c)), None)

        ti = pick(lambda c: "type" in c)
        ai = pick(lambda c: c.startswith("addon") and "del" not in c and "eff" not in c)
        adi = pick(lambda c: "del" in c and "edit" not in c and "primary" not in c)
        pi = pick(lambda c: c.startswith("primary") and "del" not in c and "eff" not in c)
        pdi = pick(lambda c: c.startswith("primary") and "del" in c)
        eei = pick(lambda c: "edit" in c and "eff" in c)
        edi = pick(lambda c: "edit" in c and "del" in c)
        if ai is None or pi is None:
            raise InputError(f"{src.origin}: AOC header lacks the add-on or primary code column")

        def get(r: list[str], j: int | None) -> str:
            return r[j].strip() if j is not None and j < len(r) else ""

        for r in rows[h + 1 :]:
            if not any(c.strip() for c in r):
                continue
            read += 1
            records.append(
                (
                    get(r, ai),
                    get(r, pi),
                    get(r, ti),
                    get(r, adi),
                    get(r, pdi),
                    get(r, eei),
                    get(r, edi),
                )
            )
    elif not src.is_excel:
        # fixed-width record layout: type(1) add-on(5) add-on deletion(7) primary(5)
        # primary deletion(7) edit effective(7) edit deletion(7) notes
        for line in src.text.splitlines():
            if not line.strip():
                continue
            read += 1
            ln = line.rstrip("\r").ljust(39)
            if not _AOC_FIXED.match(ln):
                continue
            records.append((ln[1:6], ln[13:18], ln[0], ln[6:13], ln[18:25], ln[25:32], ln[32:39]))
    else:
        raise InputError(f"{src.origin}: no 'Add-On Code ... Primary Code' header row found")

    out: list[dict[str, str | None]] = []
    skipped = 0
    for addon, primary, typ, adel, pdel, eff, edel in records:
        a, p = _norm_code(addon), _norm_code(primary)
        t = typ.strip().removesuffix(".0")
        try:
            dates = [_cms_date(x) for x in (adel, pdel, eff, edel)]
        except ValueError:
            skipped += 1
            continue
        if not _CODE_RE.match(a) or t not in {"1", "2", "3"} or not (p == "" or _CODE_RE.match(p)):
            skipped += 1
            continue
        out.append(
            {
                "addon": a,
                "primary": "" if p == "CCCCC" else p,
                "aoc_type": t,
                **{
                    k: d.isoformat() if d else None
                    for k, d in zip(_AOC_COLS[3:], dates, strict=True)
                },
            }
        )
    if not out:
        raise InputError(f"{src.origin}: no add-on code rows could be read")
    frame = pl.DataFrame(out, schema=dict.fromkeys(_AOC_COLS, pl.String))
    return _Parsed("aoc", src, release, period, frame, read, skipped)


# ---- PPRRVU ---------------------------------------------------------------------------------
def _pfs_release(name: str, title: str) -> tuple[str, int]:
    m = re.search(r"pprrvu(\d{4}|\d{2})(?:_?([a-z]{3}|[a-d])(?![a-z]))?", name, re.I)
    year: int | None = None
    if m:
        year = int(m[1]) + (2000 if len(m[1]) == 2 else 0)
    t = re.search(r"\b(20\d{2}) National Physician Fee Schedule", title, re.I)
    if t and year is None:
        year = int(t[1])
    if year is None:
        raise InputError(
            f"{name}: cannot tell the fee-schedule year; keep the CMS file name (PPRRVU25_JAN.csv)"
        )
    return Path(name).stem, year


_PFS_NEED = {
    "code": ("HCPCS",),
    "mod": ("MOD",),
    "status": ("STATUS CODE", "CODE STATUS", "STATUS"),
    "work": ("WORK RVU",),
    "pe": ("NON-FAC PE RVU", "NON-FACILITY PE RVU", "NONFAC PE RVU"),
    "mp": ("MP RVU", "MALPRACTICE RVU"),
    "glob": ("GLOB DAYS", "GLOBAL DAYS", "GLOBAL"),
    "mult": ("MULT PROC", "MULT SURG"),
    "cf": ("CONV FACTOR", "CONVERSION FACTOR"),
}


def _parse_pfs(src: _Source) -> _Parsed:
    rows = src.rows()
    h = next(
        (
            i
            for i, r in enumerate(rows[:200])
            if len(r) >= 3 and _norm_cell(r[0]) == "hcpcs" and _norm_cell(r[1]) == "mod"
        ),
        None,
    )
    if h is None:
        raise InputError(f"{src.origin}: no 'HCPCS, MOD, DESCRIPTION, ...' header row found")
    # the name row may carry group labels on the rows above it ('GLOB' over 'DAYS')
    parts: list[list[str]] = [rows[h]]
    i = h - 1
    while i >= 0:
        r = rows[i]
        if sum(1 for c in r if c.strip()) < 2 or _CODE_RE.match(_norm_code(r[0] if r else "")):
            break
        parts.insert(0, r)
        i -= 1
    title = " ".join(" ".join(r) for r in rows[: i + 1])
    width = max(len(r) for r in parts)
    header = []
    for col_i in range(width):
        name = " ".join(r[col_i] for r in parts if col_i < len(r) and r[col_i].strip())
        name = re.sub(r"-\s+", "-", " ".join(name.upper().split()))
        header.append(name)
    idx: dict[str, int] = {}
    for key, names in _PFS_NEED.items():
        j: int | None = next((header.index(n) for n in names if n in header), None)
        if j is None and key == "status":
            j = next((k for k, c in enumerate(header) if "STATUS" in c), None)
        if j is None and key == "pe":  # the non-facility PE RVU comes first in the file
            j = next((k for k, c in enumerate(header) if c.endswith("PE RVU")), None)
        if j is None:
            raise InputError(f"{src.origin}: PPRRVU header lacks the column {names[0]!r}")
        idx[key] = j
    release, year = _pfs_release(src.name, title)

    def get(r: list[str], key: str) -> str:
        j = idx[key]
        return r[j].strip() if j < len(r) else ""

    out: list[dict[str, str]] = []
    read = skipped = 0
    cfs: Counter[str] = Counter()
    seen: set[str] = set()
    for r in rows[h + 1 :]:
        if not any(c.strip() for c in r):
            continue
        read += 1
        code = _norm_code(get(r, "code"))
        if not _CODE_RE.match(code):
            skipped += 1
            continue
        if get(r, "mod"):  # 26/TC/53 rows: the global (no-modifier) row is the code's own
            continue
        if code in seen:
            continue
        seen.add(code)
        work, pe, mp, cf = (_dec(get(r, k)) for k in ("work", "pe", "mp", "cf"))
        total = sum((x for x in (work, pe, mp) if x is not None), Decimal(0))
        fee = ""
        if cf is not None and total > 0:
            fee = str((total * cf).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            cfs[str(cf.normalize())] += 1
        glob = get(r, "glob").upper().removesuffix(".0")
        if glob.isdigit():
            glob = glob.zfill(3)
        out.append(
            {
                "code": code,
                "global_days": glob,
                "mult_proc": get(r, "mult").removesuffix(".0"),
                "status": get(r, "status").upper(),
                "work_rvu_2025": f"{work:.2f}" if work is not None else "",
                "fee_2025": fee,
            }
        )
    if not out:
        raise InputError(f"{src.origin}: no fee-schedule rows could be read")
    cols = ("code", "global_days", "mult_proc", "status", "work_rvu_2025", "fee_2025")
    frame = pl.DataFrame(out, schema=dict.fromkeys(cols, pl.String))
    info = {"year": str(year), "cf": cfs.most_common(1)[0][0] if cfs else ""}
    span = (date(year, 1, 1), date(year, 12, 31))
    return _Parsed("pfs", src, release, span, frame, read, skipped, info)


_PARSERS = {"ptp": _parse_ptp, "mue": _parse_mue, "aoc": _parse_aoc, "pfs": _parse_pfs}


# ---------------------------------------------------------------------------------------------
# building the output tables
# ---------------------------------------------------------------------------------------------
@dataclass
class _Built:
    kind: Kind
    frame: pl.DataFrame
    vintage: str
    release: str
    period: tuple[date | None, date | None]
    covers: tuple[date | None, date | None]
    header: list[str]
    parsed: list[_Parsed]
    warnings: list[str] = field(default_factory=list)


def _one_release(kind: Kind, parsed: list[_Parsed]) -> str:
    rel = sorted({p.release for p in parsed})
    if len(rel) > 1:
        names = ", ".join(p.src.name for p in parsed)
        raise InputError(
            f"several {KIND_TITLE[kind]} releases given ({', '.join(rel)}: {names}); "
            "import one release at a time"
        )
    return rel[0]


def _src_list(parsed: list[_Parsed]) -> list[str]:
    return [f"{p.src.name} sha256={p.src.sha256}" for p in parsed]


def _common_header(
    file: str, table: str, title: str, parsed: list[_Parsed], today: date
) -> list[str]:
    lines = [
        f"{file} - {title}, imported by `{GENERATOR}` on {today.isoformat()}.",
        f"Layered over {table}: a row here replaces the default row with the same key; "
        "the other rows are added.",
        "Source files (CMS public data; CPT codes (c) AMA - no CPT descriptor text is copied):",
    ]
    lines += [f"  {p.src.name} sha256={p.src.sha256} ({p.rows_read:,} rows read)" for p in parsed]
    return lines


def _build_ptp(parsed: list[_Parsed], today: date, since: date | None) -> _Built:
    release = _one_release("ptp", parsed)
    period = parsed[0].period
    df = pl.concat([p.frame for p in parsed])
    n_rows = df.height
    df = df.sort(["column1", "column2", "eff", pl.col("del").is_null()]).unique(
        subset=["column1", "column2"], keep="last", maintain_order=True
    )
    collapsed = n_rows - df.height
    dropped = 0
    if since is not None:
        before = df.height
        df = df.filter(pl.col("del").is_null() | (pl.col("del") >= since))
        dropped = before - df.height
    first_eff = df["eff"].min() if df.height else None
    covers = (first_eff if isinstance(first_eff, date) else None, period[1])
    source = f"CMS NCCI PTP practitioner {release}"
    out = df.select(
        "column1",
        "column2",
        "modifier_indicator",
        pl.col("eff").dt.to_string("%Y-%m-%d").alias("effective"),
        pl.col("del").dt.to_string("%Y-%m-%d").alias("deletion"),
        "rationale",
        pl.lit("P").alias("confidence"),
        pl.lit(source).alias("source"),
    ).sort(["column1", "column2"])
    q = _quarter_label(period)
    vintage = f"CMS NCCI PTP practitioner {release}{q}"
    file, table = OUTPUTS["ptp"]
    header = _common_header(
        file, table, "CMS NCCI procedure-to-procedure (PTP) edits, practitioner", parsed, today
    )
    header += [
        f"Vintage: {vintage}. {out.height:,} pairs.",
        "One row per (column1, column2): where the CMS file has several rows for a pair, the row "
        f"with the latest effective date is kept ({collapsed:,} older rows dropped).",
    ]
    if since is not None:
        header.append(f"Pairs deleted before {since.isoformat()} were left out ({dropped:,}).")
    header += [
        "effective/deletion: ISO dates from the file; deletion blank = '*' in the file (edit "
        "still active). modifier_indicator 0/1/9 as in the file; rationale is the CMS text.",
        "confidence: P (CMS data file). Do not edit: re-run the import for a new quarter.",
    ]
    bad = sum(p.rows_skipped for p in parsed)
    warns = [f"{bad:,} PTP rows could not be read and were skipped"] if bad else []
    return _Built("ptp", out, vintage, release, period, covers, header, parsed, warns)


def _quarter_label(period: tuple[date | None, date | None]) -> str:
    start = period[0]
    if start is None:
        return ""
    return f" ({start.year} Q{(start.month - 1) // 3 + 1}, from {start.isoformat()})"


def _build_mue(parsed: list[_Parsed], today: date) -> _Built:
    release = _one_release("mue", parsed)
    period = parsed[0].period
    df = pl.concat([p.frame for p in parsed]).unique(
        subset=["code"], keep="last", maintain_order=True
    )
    source = f"CMS MUE practitioner eff {release}"
    out = df.select(
        "code",
        "max_units",
        "per",
        "mai",
        pl.lit("P").alias("confidence"),
        pl.lit(source).alias("source"),
        "rationale",
    ).sort("code")
    vintage = f"CMS MUE practitioner table, effective {release}"
    file, table = OUTPUTS["mue"]
    header = _common_header(
        file, table, "CMS NCCI medically unlikely edits (MUE), practitioner services", parsed, today
    )
    header += [
        f"Vintage: {vintage} (the date comes from the CMS file name). {out.height:,} codes.",
        "max_units: Practitioner Services MUE Value. mai: MUE Adjudication Indicator (1 = claim "
        "line, 2 = date of service by policy, 3 = date of service, clinical).",
        "per: line for MAI 1, day for MAI 2/3. rationale: the CMS MUE Rationale text.",
        "confidence: P (CMS data file). Do not edit: re-run the import for a new quarter.",
    ]
    warns = []
    if any(p.info.get("mai") == "no" for p in parsed):
        warns.append("the MUE file has no MUE Adjudication Indicator column; per=day assumed")
    bad = sum(p.rows_skipped for p in parsed)
    if bad:
        warns.append(f"{bad:,} MUE rows could not be read and were skipped")
    return _Built(
        "mue", out, vintage, release, period, (period[0], period[1]), header, parsed, warns
    )


def _build_aoc(
    parsed: list[_Parsed], today: date, since: date | None, base_addons: dict[str, str]
) -> _Built:
    release = _one_release("aoc", parsed)
    period = parsed[0].period
    df = pl.concat([p.frame for p in parsed])
    deleted = pl.col("edit_del").is_not_null() | pl.col("primary_del").is_not_null()
    n_deleted = df.filter(deleted).height
    if since is not None:
        s = since.isoformat()
        df = df.filter(
            (pl.col("edit_del").is_null() | (pl.col("edit_del") >= s))
            & (pl.col("primary_del").is_null() | (pl.col("primary_del") >= s))
        )
    rows: list[dict[str, str]] = []
    type2: list[str] = []
    for (addon,), g in df.group_by(["addon"], maintain_order=True):
        types = Counter(g["aoc_type"].to_list())
        # an add-on listed with several types: the strictest (1, then 3, then 2)
        t = "1" if "1" in types else ("3" if "3" in types else "2")
        prims = {p for p in g["primary"].to_list() if p}
        src = f"CMS NCCI AOC {release} type {t}"
        if t == "3" and str(addon) in base_addons:
            extra = set(base_addons[str(addon)].split()) - prims
            if extra:
                src += "; plus the default list (type 3: MACs may accept more primaries)"
            prims |= extra
        if not prims:
            type2.append(str(addon))
            continue
        rows.append(
            {
                "addon": str(addon),
                "primaries": " ".join(sorted(prims)),
                "confidence": "P",
                "source": src,
                "aoc_type": t,
            }
        )
    cols = ("addon", "primaries", "confidence", "source", "aoc_type")
    out = pl.DataFrame(rows, schema=dict.fromkeys(cols, pl.String)).sort("addon")
    effs = [d for d in df["edit_eff"].to_list() if d]
    covers = (date.fromisoformat(min(effs)) if effs else period[0], period[1])
    vintage = f"CMS NCCI AOC {release}{_quarter_label(period)}"
    file, table = OUTPUTS["aoc"]
    header = _common_header(file, table, "CMS NCCI add-on code (AOC) edits", parsed, today)
    header += [
        f"Vintage: {vintage}. {out.height:,} add-on codes.",
        "primaries: space-separated primary codes from the AOC file (any one satisfies). "
        "aoc_type: 1 = CMS lists every primary; 3 = CMS lists some (MACs may accept more; "
        "the default list is merged in); 2 = contractor-defined (CCCCC).",
        f"Type 2 add-ons without listed primaries are not written ({len(type2):,}): each MAC "
        "defines their primaries; the default rows for them, if any, still apply.",
        "Pairings later deleted (edit or primary code deleted) are "
        + (
            f"left out when deleted before {since.isoformat()}."
            if since
            else f"kept ({n_deleted:,} rows): a deleted primary can no longer be billed anyway."
        ),
        "confidence: P (CMS data file). Do not edit: re-run the import for a new quarter.",
    ]
    warns = []
    bad = sum(p.rows_skipped for p in parsed)
    if bad:
        warns.append(f"{bad:,} AOC rows could not be read and were skipped")
    return _Built("aoc", out, vintage, release, period, covers, header, parsed, warns)


def _build_pfs(
    parsed: list[_Parsed], today: date, base_codes: pl.DataFrame, aoc_addons: set[str]
) -> _Built:
    release = _one_release("pfs", parsed)
    period = parsed[0].period
    year = parsed[0].info["year"]
    cf = parsed[0].info.get("cf", "")
    imp = pl.concat([p.frame for p in parsed]).unique(
        subset=["code"], keep="first", maintain_order=True
    )
    base_cols = list(base_codes.columns)
    base = {r["code"]: r for r in base_codes.iter_rows(named=True)}
    rows: list[dict[str, Any]] = []
    new = 0
    for r in imp.iter_rows(named=True):
        code = r["code"]
        old = base.get(code)
        glob = r["global_days"] or ""
        if glob == "ZZZ" or code in aoc_addons:
            kind = "addon"
        elif old and old.get("kind") == "addon" and glob not in {"000", "010", "090"}:
            kind = "addon"  # e.g. G2211 (XXX in the RVU file, an add-on in CMS instructions)
        else:
            kind = "primary"
        if old:
            row = dict(old)
            if not (old.get("valid_from") or old.get("valid_to")):
                row["confidence"] = "P"
        else:
            new += 1
            row = dict.fromkeys(base_cols)
            row.update(code=code, label=NEW_CODE_LABEL, family=NEW_CODE_FAMILY, confidence="P")
        row.update(
            kind=kind,
            global_days=r["global_days"] or None,
            mult_proc=r["mult_proc"] or None,
            status=r["status"] or None,
            work_rvu_2025=r["work_rvu_2025"] or None,
            fee_2025=r["fee_2025"] or None,
        )
        rows.append(row)
    out = pl.DataFrame(rows, schema=dict.fromkeys(base_cols, pl.String)).sort("code")
    vintage = (
        f"CMS PFS RVU {release} (CY{year}): global days, status, mult-proc, work RVU and fee "
        f"(work + non-facility PE + MP) x CF {cf or '?'}; columns work_rvu_2025/fee_2025 hold "
        f"CY{year} values"
    )
    file, table = OUTPUTS["pfs"]
    header = _common_header(
        file, table, "code table from the CMS PFS relative value file (PPRRVU)", parsed, today
    )
    header += [
        f"Vintage: {release}, CY{year}, conversion factor {cf or '?'}. {out.height:,} codes "
        f"({new:,} not in the default code table).",
        f"NOTE: the columns keep the loader's names work_rvu_2025 / fee_2025 but hold CY{year} "
        f"values. fee = (WORK RVU + NON-FAC PE RVU + MP RVU) x CONV FACTOR, national, rounded "
        "to cents; blank when the code has no RVUs.",
        "Only rows without a modifier (the global row) are used; 26/TC/53 rows are skipped.",
        "Imported: global_days, mult_proc, status, work_rvu_2025, fee_2025, kind (addon when "
        "GLOB DAYS is ZZZ or the AOC file lists the code as an add-on; codes the defaults mark "
        "as add-on stay add-on unless the global period is 000/010/090).",
        "Kept from the default code table: label, family, site_group, size bands, validity "
        "dates, note. Codes new to dermaudit get label "
        f"'{NEW_CODE_LABEL}' and family '{NEW_CODE_FAMILY}' (CPT descriptors are never copied).",
        "confidence: P where the row's regulatory fields now all come from this file, else "
        "the default row's tag (its validity dates come from other sources).",
    ]
    warns = []
    if year != "2025":
        warns.append(
            f"{release} is CY{year}: codes_cms.csv stores its values in the columns "
            f"work_rvu_2025/fee_2025 (the names the loader expects)"
        )
    bad = sum(p.rows_skipped for p in parsed)
    if bad:
        warns.append(f"{bad:,} PPRRVU rows could not be read and were skipped")
    return _Built("pfs", out, vintage, release, period, period, header, parsed, warns)


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def _csv_text(header: list[str], df: pl.DataFrame) -> str:
    body = df.write_csv(null_value="", line_terminator="\n", quote_style="necessary")
    return "".join(f"# {ln}\n" for ln in header) + body


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=True)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(str(v))


def _ruleset_toml(meta: dict[str, Any], today: date) -> str:
    lines = [
        f"# ruleset.toml - reference-data layer written by `{GENERATOR}` (last run "
        f"{today.isoformat()}).",
        "# It holds CMS public files converted to dermaudit tables (*_cms.csv extension files);",
        "# use it with `dermaudit scan FILE --ruleset DIR`.",
        "# [vintages]: what each imported table describes. [covers]: the date span (ISO) each",
        "# table describes; dermaudit warns when audited dates of service fall outside it.",
        "# [imports.<file>]: source files with sha256, rows written, the release period.",
        f"# Do not edit by hand: `{GENERATOR} FILE... --into DIR` rewrites this file",
        "# (entries of tables not re-imported are kept).",
        "",
        f"generator = {_toml_str(GENERATOR)}",
        f"name = {_toml_str(str(meta.get('name', 'cms-import')))}",
        f"version = {_toml_str(today.isoformat())}",
        "",
        "[vintages]",
    ]
    lines += [f"{k} = {_toml_str(v)}" for k, v in sorted(meta["vintages"].items())]
    lines += ["", "[covers]"]
    lines += [f"{_toml_str(k)} = {_toml_value(v)}" for k, v in sorted(meta["covers"].items())]
    for key, entry in sorted(meta["imports"].items()):
        lines += ["", f"[imports.{key}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _write_atomic(path: Path, text: str) -> None:
    from .outputs import write_text

    write_text(path, text, private=False)  # public CMS data


# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------
def import_files(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    today: date | None = None,
    since: date | None = None,
    base: Sequence[Path] | None = None,
) -> ImportReport:
    """Read downloaded CMS files and write them into the ruleset layer ``out_dir``.

    ``paths``: CMS files, zips of them, or folders (zip/folder members are picked by their CMS
    file names). Each file's kind is detected from its header (or name); one release per kind.
    ``today``: import date written to the headers (inject for reproducible output).
    ``since``: leave out PTP pairs and AOC pairings deleted before this date (smaller files).
    ``base``: extra layers the merge starts from (default: the shipped tables only).

    Writes ``ncci_pairs_cms.csv``, ``unit_caps_cms.csv``, ``addon_primaries_cms.csv``,
    ``codes_cms.csv`` (those whose kind was given) and ``ruleset.toml``. Raises
    :class:`InputError` (one line) for unrecognised or inconsistent inputs."""
    today = today or date.today()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder; pass a folder for --into")
    if out.resolve() == default_ruleset_dir().resolve():
        raise InputError(f"{out}: is the shipped default ruleset; import into a folder of your own")
    prev: dict[str, Any] = {}
    rs = out / "ruleset.toml"
    if rs.exists():
        try:
            prev = tomllib.loads(rs.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{rs}: cannot be read ({_first_line(exc)})") from exc
        if prev.get("generator") != GENERATOR:
            raise InputError(
                f"{out}: holds a ruleset.toml not written by `{GENERATOR}`; import into a "
                "separate folder and stack both with --ruleset"
            )

    sources = _collect_sources(paths)
    outputs = {(out / f).resolve() for f, _ in OUTPUTS.values()} | {rs.resolve()}
    for s in sources:
        local = Path(s.origin.split("!", 1)[0]).resolve()
        if local in outputs:
            raise InputError(f"{s.origin}: is one of the files the import writes; move it first")

    by_kind: dict[Kind, list[_Parsed]] = {}
    inputs: list[InputFile] = []
    # name order, so the output does not depend on the order the files were given in
    for s in sorted(sources, key=lambda x: (x.name, x.origin)):
        kind = _detect(s)
        p = _PARSERS[kind](s)
        by_kind.setdefault(kind, []).append(p)
        inputs.append(
            InputFile(s.name, s.origin, kind, s.sha256, p.release, p.rows_read, p.rows_skipped)
        )

    ref = None
    if "aoc" in by_kind or "pfs" in by_kind:
        ref = load_refdata(list(base or []))
    built: list[_Built] = []
    aoc_addons: set[str] = set()
    if "ptp" in by_kind:
        built.append(_build_ptp(by_kind["ptp"], today, since))
    if "mue" in by_kind:
        built.append(_build_mue(by_kind["mue"], today))
    if "aoc" in by_kind:
        assert ref is not None
        base_add = {a: " ".join(p) for a, p in ref.addon_primaries.items()}
        b = _build_aoc(by_kind["aoc"], today, since, base_add)
        aoc_addons = set(pl.concat([p.frame for p in by_kind["aoc"]])["addon"].to_list())
        built.append(b)
    if "pfs" in by_kind:
        assert ref is not None
        built.append(_build_pfs(by_kind["pfs"], today, ref.tables["codes.csv"], aoc_addons))

    from .outputs import atomic_folder

    # written into a staging copy of the folder that takes its place at the end: an interrupted
    # import leaves the previous layer as it was, never new tables beside an old ruleset.toml
    with atomic_folder(out) as stage:
        meta: dict[str, Any] = {
            "name": prev.get("name", "cms-import"),
            "vintages": dict(prev.get("vintages", {})),
            "covers": dict(prev.get("covers", {})),
            "imports": dict(prev.get("imports", {})),
        }
        tables: list[ImportedTable] = []
        warnings: list[str] = []
        for b in built:
            file, table = OUTPUTS[b.kind]
            key = Path(file).stem
            text = _csv_text(b.header, b.frame)
            _write_atomic(stage / file, text)
            sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
            srcs = _src_list(b.parsed)
            meta["vintages"][key] = b.vintage
            meta["covers"][table] = [_iso(b.covers[0]), _iso(b.covers[1])]
            meta["imports"][key] = {
                "kind": b.kind,
                "table": table,
                "file": file,
                "vintage": b.vintage,
                "release": b.release,
                "period": [_iso(b.period[0]), _iso(b.period[1])],
                "covers": [_iso(b.covers[0]), _iso(b.covers[1])],
                "imported": today.isoformat(),
                "rows": b.frame.height,
                "sha256": sha,
                "sources": srcs,
            }
            tables.append(
                ImportedTable(
                    file,
                    table,
                    b.kind,
                    b.vintage,
                    b.release,
                    b.period,
                    b.covers,
                    today,
                    b.frame.height,
                    srcs,
                    sha,
                )
            )
            warnings += [f"{file}: {w}" for w in b.warnings]
        _write_atomic(stage / rs.name, _ruleset_toml(meta, today))
    return ImportReport(out, today, inputs, tables, warnings)


def _opt_date(s: Any) -> date | None:
    try:
        return date.fromisoformat(str(s)) if s else None
    except ValueError:
        return None


def _span(v: Any) -> tuple[date | None, date | None]:
    if isinstance(v, list) and v:
        return _opt_date(v[0]), _opt_date(v[1] if len(v) > 1 else None)
    return None, None


def _data_rows(path: Path) -> int:
    n = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#") and line.strip():
                n += 1
    return max(n - 1, 0)  # header row


def describe_layer(path: str | Path) -> LayerInfo:
    """What a ruleset folder holds: imported CMS tables (vintage, span covered, rows, source
    files, whether edited since import) and any other reference CSVs. Use
    :meth:`LayerInfo.lines` to print it and :meth:`LayerInfo.warnings` for stale data."""
    d = Path(path)
    if not d.is_dir():
        raise InputError(f"ruleset directory {d} does not exist; pass an existing folder")
    meta: dict[str, Any] = {}
    rs = d / "ruleset.toml"
    if rs.exists():
        try:
            meta = tomllib.loads(rs.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{rs}: cannot be read ({_first_line(exc)})") from exc
    stems = tuple(n.removesuffix(".csv") for n in TABLES)
    files = {
        f.name: _data_rows(f)
        for f in sorted(d.glob("*.csv"))
        if f.name in TABLES or f.name.startswith(tuple(f"{s}_" for s in stems))
    }
    tables: list[ImportedTable] = []
    for _key, e in sorted(meta.get("imports", {}).items()):
        if not isinstance(e, dict):
            continue
        f = d / str(e.get("file", ""))
        present = f.is_file()
        edited = False
        if present and e.get("sha256"):
            edited = hashlib.sha256(f.read_bytes()).hexdigest() != e["sha256"]
        tables.append(
            ImportedTable(
                file=str(e.get("file", "")),
                table=str(e.get("table", "")),
                kind=str(e.get("kind", "")),
                vintage=str(e.get("vintage", "")),
                release=str(e.get("release", "")),
                period=_span(e.get("period")),
                covers=_span(e.get("covers")),
                imported=_opt_date(e.get("imported")),
                rows=int(e.get("rows", 0)),
                sources=[str(s) for s in e.get("sources", [])],
                sha256=str(e.get("sha256", "")),
                present=present,
                edited=edited,
            )
        )
    return LayerInfo(
        path=d,
        name=str(meta.get("name", d.name)),
        generator=meta.get("generator"),
        tables=tables,
        files=files,
        vintages={str(k): str(v) for k, v in meta.get("vintages", {}).items()},
    )


def import_layers(dirs: Iterable[Path]) -> list[LayerInfo]:
    """:func:`describe_layer` for those of ``dirs`` written by the importer."""
    out = []
    for d in dirs:
        if (d / "ruleset.toml").exists():
            info = describe_layer(d)
            if info.is_import:
                out.append(info)
    return out
