"""X12 tokenizer: interchanges, separators and a frame of segments (vectorised).

An X12 file is one or more interchanges. Each starts with a fixed-width ``ISA`` header that
declares the separators: the element separator is the character after ``ISA``, the component
separator is ISA16 and the segment terminator is the character after ISA16. Line breaks after
terminators are cosmetic. The file is split into segments with Polars string kernels (no
Python loop over segments); segment numbers count from 1 at the first ``ISA`` of the file,
as X12 validators count them.

Nothing read from the file is ever put into a message: problems name segment numbers,
segment identifiers that passed the identifier check, and element positions only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InputError

# widths of ISA01..ISA16 (the ISA segment is fixed-width: 105 characters + terminator)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_LEN = 3 + len(ISA_WIDTHS) + sum(ISA_WIDTHS)  # 105
ENVELOPE = ("ISA", "IEA", "GS", "GE", "ST", "SE")
SEG_ID_RE = r"^[A-Z][A-Z0-9]{1,2}$"
COMP = "\x1f"  # composites are rewritten to this separator, whatever the file declares
_SNIFF = re.compile(
    rb"^(?:ISA([^A-Za-z0-9\s])\d\d\1"  # ISA*00*
    rb"|GS([^A-Za-z0-9\s])[A-Z]{2}\2"  # GS*HC*
    rb"|ST([^A-Za-z0-9\s])\d{3}\3)",  # ST*837*
    re.S,
)


@dataclass(frozen=True)
class Separators:
    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(frozen=True)
class Problem:
    """A structural problem. ``seg`` is the 1-based segment number (0: the file as a whole).
    ``fatal`` problems stop a scan; the others become notes. Messages never hold file values."""

    seg: int
    message: str
    fatal: bool = True

    def text(self) -> str:
        return f"segment {self.seg}: {self.message}" if self.seg else self.message


@dataclass
class Segments:
    """The segments of one file: ``frame`` has ``seg`` (UInt32), ``chunk`` (which separator
    set), ``id`` and ``text`` (the whole segment)."""

    name: str
    frame: pl.DataFrame
    seps: list[Separators]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fields(
        self, ids: str | Iterable[str], n: int, composites: Iterable[str] = ()
    ) -> pl.DataFrame:
        """Rows of the segments with these ids, elements split into ``e1``..``en``.

        Columns named in ``composites`` (e.g. ``"e1"``) have their component separator
        rewritten to ``COMP`` so that callers split them the same way for every file."""
        ids = [ids] if isinstance(ids, str) else list(ids)
        out = []
        for ci, seps in enumerate(self.seps):
            sub = self.frame.filter((pl.col("chunk") == ci) & pl.col("id").is_in(ids))
            parts = (
                sub.with_columns(pl.col("text").str.split_exact(seps.element, n).alias("_e"))
                .unnest("_e")
                .drop("field_0", "text")
                .rename({f"field_{i}": f"e{i}" for i in range(1, n + 1)})
            )
            if seps.component != COMP:
                parts = parts.with_columns(
                    pl.col(c).str.replace_all(seps.component, COMP, literal=True)
                    for c in composites
                )
            out.append(parts)
        return pl.concat(out, how="vertical") if len(out) > 1 else out[0]


def sniff(path: Path) -> bool:
    """True when the file's first non-blank bytes are an X12 envelope segment."""
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return bool(_SNIFF.match(head.removeprefix(b"\xef\xbb\xbf").lstrip()))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parse_isa(text: str, pos: int, where: str) -> Separators:
    isa = text[pos : pos + ISA_LEN + 1]
    elem = isa[3:4]
    if len(isa) <= ISA_LEN or not elem or elem.isalnum() or elem.isspace():
        raise InputError(
            f"{where}: the ISA interchange header is cut short or has no element separator; "
            "it cannot be read (ask the sender for the complete file)"
        )
    parts = isa[:ISA_LEN].split(elem)
    for i, width in enumerate(ISA_WIDTHS, start=1):
        got = len(parts[i]) if i < len(parts) else 0
        if got != width or len(parts) != len(ISA_WIDTHS) + 1:
            raise InputError(
                f"{where}: the ISA interchange header is malformed: element ISA{i:02d} has "
                f"{got} characters where X12 requires exactly {width}; the separators it "
                "declares cannot be trusted, so the file was not read (ask the sender for a "
                "corrected file)"
            )
    seg_term, comp = isa[ISA_LEN], isa[ISA_LEN - 1]
    rep = parts[11] if parts[12] >= "00402" and not parts[11].isalnum() else None
    chars = [elem, comp, seg_term]
    if len(set(chars)) < 3 or comp.isalnum() or (seg_term.isalnum()):
        raise InputError(
            f"{where}: the ISA interchange header declares separators that clash (element, "
            "component and segment separators must be three different non-alphanumeric "
            "characters); the file was not read"
        )
    return Separators(elem, comp, rep, seg_term)


def _interchanges(text: str, name: str) -> list[tuple[int, Separators]]:
    start = len(text) - len(text.lstrip())
    if not text.startswith("ISA", start):
        first = text[start : start + 2]
        what = "a GS group header" if first == "GS" else "a segment other than ISA"
        if first == "ST":
            what = "an ST transaction header"
        raise InputError(
            f"{name}: this X12 file starts with {what}, not with the ISA interchange header "
            "that declares its separators; ask the clearinghouse for the complete file"
        )
    out: list[tuple[int, Separators]] = []
    pos = start
    while True:
        seps = _parse_isa(text, pos, f"{name} (interchange {len(out) + 1})")
        out.append((pos, seps))
        nxt = re.compile(re.escape(seps.segment) + r"[\s\x1a]*ISA[^A-Za-z0-9\s]")
        m = nxt.search(text, pos + ISA_LEN)
        if not m:
            return out
        pos = m.end() - 4


def _split(text: str, seps: Separators, first_seg: int, chunk: int) -> pl.DataFrame:
    s = (
        pl.Series("text", [text], pl.String)
        .str.split(seps.segment)
        .explode()
        .str.strip_chars(" \t\r\n\x1a\x00")
    )
    df = pl.DataFrame({"text": s}).filter(pl.col("text") != "")
    return df.select(
        pl.int_range(first_seg, first_seg + pl.len(), dtype=pl.UInt32).alias("seg"),
        pl.lit(chunk, pl.UInt16).alias("chunk"),
        pl.col("text").str.splitn(seps.element, 2).struct.field("field_0").alias("id"),
        pl.col("text"),
    )


def _actual_component(df: pl.DataFrame, seps: Separators) -> str | None:
    """The component separator the composites really use, when it differs from ISA16
    (some senders declare ':' and write 'HC>99213>25')."""
    probe = (
        df.filter(pl.col("id").is_in(["SV1", "SVC", "HI", "SV2"]))
        .head(500)
        .select(pl.col("text").str.split_exact(seps.element, 1).struct.field("field_1"))
        .to_series()
        .drop_nulls()
    )
    if probe.is_empty() or probe.str.contains(seps.component, literal=True).any():
        return None
    others = probe.str.extract(r"^[A-Z]{2,3}([^A-Za-z0-9\s])", 1).drop_nulls()
    if others.is_empty():
        return None
    top = others.value_counts(sort=True).row(0)
    char, count = str(top[0]), int(top[1])
    if char in (seps.element, seps.segment, seps.repetition) or count < len(others) * 0.9:
        return None
    return char


def read_segments(path: Path) -> Segments:
    """Tokenize one X12 file. Raises ``InputError`` when no interchange header can be read."""
    name = path.name
    text = _decode(path.read_bytes()).removeprefix("\ufeff")
    if not text.strip():
        raise InputError(f"{name} is empty; ask the sender for the file again")
    inter = _interchanges(text, name)
    # consecutive interchanges with the same separators are split in one pass
    runs: list[tuple[int, int, Separators]] = []
    for i, (pos, seps) in enumerate(inter):
        end = inter[i + 1][0] if i + 1 < len(inter) else len(text)
        if runs and runs[-1][2] == seps:
            runs[-1] = (runs[-1][0], end, seps)
        else:
            runs.append((pos, end, seps))
    frames: list[pl.DataFrame] = []
    all_seps: list[Separators] = []
    notes: list[str] = []
    nxt = 1
    for ci, (a, b, seps) in enumerate(runs):
        df = _split(text[a:b], seps, nxt, ci)
        real = _actual_component(df, seps)
        if real is not None:
            notes.append(
                f"{name}: the ISA header declares {seps.component!r} as the component "
                f"separator but the composites use {real!r}; read with {real!r}"
            )
            seps = Separators(seps.element, real, seps.repetition, seps.segment)
        frames.append(df)
        all_seps.append(seps)
        nxt += df.height
    del text
    frame = pl.concat(frames) if len(frames) > 1 else frames[0]
    out = Segments(name, frame, all_seps, notes=notes)
    out.problems.extend(check_envelope(frame))
    return out


def marker(start: pl.Expr, resets: pl.Expr) -> pl.Expr:
    """The segment number of the last ``start`` row, 0 after a ``resets`` row (forward fill)."""
    return (
        pl.when(start)
        .then(pl.col("seg"))
        .when(resets)
        .then(pl.lit(0, pl.UInt32))
        .otherwise(None)
        .forward_fill()
        .fill_null(0)
    )


def is_id(*ids: str) -> pl.Expr:
    return pl.col("id").is_in(ids)


def check_envelope(frame: pl.DataFrame) -> list[Problem]:
    """Identifier syntax, envelope nesting and trailers (fatal); counts and control numbers
    (notes: the data are still readable)."""
    problems: list[Problem] = []
    bad = frame.filter(~pl.col("id").str.contains(SEG_ID_RE)).select("seg")
    for (seg,) in bad.head(20).iter_rows():
        problems.append(
            Problem(seg, "the segment identifier is not valid X12 (2-3 capital letters/digits)")
        )
    if bad.height > 20:
        problems.append(Problem(0, f"{bad.height - 20} more segments have invalid identifiers"))
    env = frame.filter(is_id(*ENVELOPE)).select("seg", "chunk", "id", "text")
    allowed_next = {
        "ISA": {"GS"},
        "GS": {"ST"},
        "ST": {"SE"},
        "SE": {"ST", "GE"},
        "GE": {"GS", "IEA"},
        "IEA": {"ISA"},
    }
    closes = {"ISA": "IEA", "GS": "GE", "ST": "SE"}
    rows = list(env.select("seg", "id").iter_rows())
    prev: tuple[int, str] | None = None
    for seg, sid in rows:
        if prev is None and sid != "ISA":
            problems.append(Problem(seg, f"{sid} appears before any ISA interchange header"))
        elif prev is not None and sid not in allowed_next[prev[1]]:
            if prev[1] in closes and sid != closes[prev[1]] and sid in ("ISA", "GS", "ST"):
                problems.append(
                    Problem(prev[0], f"{prev[1]} is not closed by its {closes[prev[1]]} trailer")
                )
            else:
                problems.append(Problem(seg, f"{sid} is out of place in the envelope"))
        prev = (seg, sid)
    if prev is not None and prev[1] != "IEA":
        opened = next((s, i) for s, i in reversed(rows) if i in ("ISA", "GS", "ST"))
        problems.append(
            Problem(
                opened[0],
                f"the file ends inside the {opened[1]} that starts here (no "
                f"{closes[opened[1]]} trailer): it looks truncated",
            )
        )
    # data segments outside a transaction set
    inside = frame.select(
        "seg",
        "id",
        marker(is_id("ST"), is_id("SE", "GE", "IEA", "GS", "ISA")).alias("st"),
    ).filter(~is_id(*ENVELOPE) & (pl.col("st") == 0))
    for seg, sid in inside.head(5).select("seg", "id").iter_rows():
        shown = sid if re.fullmatch(SEG_ID_RE, sid or "") else "a segment"
        problems.append(Problem(seg, f"{shown} is outside a transaction set (no ST before it)"))
    problems.extend(_counts(frame, env))
    return problems


def _counts(frame: pl.DataFrame, env: pl.DataFrame) -> list[Problem]:
    """SE01/GE01/IEA01 counts and control-number pairs (notes)."""
    out: list[Problem] = []
    st = marker(is_id("ST"), is_id("GE", "IEA")).alias("st")
    per_st = (
        frame.select("seg", "id", st)
        .filter(pl.col("st") > 0)
        .group_by("st")
        .agg(pl.len().alias("n"), pl.col("seg").filter(pl.col("id") == "SE").first().alias("se"))
    )
    trailers = env.filter(is_id("SE", "GE", "IEA")).with_columns(
        pl.col("text")
        .str.extract(r"^[A-Z]{2,3}.([0-9]+)", 1)
        .cast(pl.Int64, strict=False)
        .alias("count")
    )
    se = trailers.filter(pl.col("id") == "SE").join(per_st, left_on="seg", right_on="se")
    wrong = se.filter(pl.col("count") != pl.col("n"))
    if wrong.height:
        seg = int(wrong["st"][0])
        out.append(
            Problem(
                seg,
                f"{wrong.height} transaction set(s) declare a segment count (SE01) that differs "
                "from the segments they hold; every segment was read",
                fatal=False,
            )
        )
    return out
