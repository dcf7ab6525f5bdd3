"""X12 837P professional claims -> the canonical charge lines every rule reads.

``read_claims`` turns the 837P files of a scan into one all-text frame per file, with the
canonical column names and a fixed column mapping, and the ordinary normalisation
(``ingest.load_raw``) does the rest, so dates, codes, payer classes and data-quality findings
behave exactly as for a CSV export. One row per service line (2400 ``LX``):

==================  =========================================================================
``__row``           the segment number of the line's ``LX`` (the finding's ``rows``)
``claim_id``        2300 ``CLM01`` (patient control number)
``patient_id``      subscriber member id (2010BA ``NM109``); a dependent patient (2000C) gets
                    the member id plus a short hash of the patient's name and birth date
``dos``             2400 ``DTP*472``, else 2300 ``DTP*472``; an ``RD8`` range gives its first day
``cpt``, ``mod1-4`` ``SV101`` composite (``HC:code:mod1:mod2:mod3:mod4``)
``units``/``charge`` ``SV104`` / ``SV102``
``dx1..``           ``SV107`` pointers resolved to the 2300 ``HI`` codes (``ABK``/``ABF``;
                    ICD-9 ``BK``/``BF`` codes are written with their ICD-9 dot, ``413.4``)
``provider``        rendering ``NM1*82`` of the line (2420A), else the claim (2310B), else the
                    billing provider (2010AA); ``credential`` from its ``PRV`` taxonomy
``payer``           2010BB ``NM1*PR`` name and ``(sbr09:XX)``: the SBR09 claim filing indicator
                    picks the payer class (``rulesets/payer_classes.toml``)
``pos``             ``SV105``, else ``CLM05-1``
``group_id``        billing provider tax id (2010AA ``REF*EI``), else its NPI
==================  =========================================================================

Claim versions: within a scan, claims are keyed by billing provider and ``CLM01``. A
replacement (``CLM05-3`` = 7, or 6) supersedes every earlier version; a void (8) removes the
claim; copies of one version sent to other payers (coordination of benefits, ``SBR01`` S/T)
count once, as the copy to the payer of highest responsibility. Nothing is dropped silently:
the notes say how many versions were set aside and why.

Structural problems that make the read unreliable (missing or repeated required loops,
segments out of order, invalid identifiers, a truncated envelope) stop the scan with one line
naming the segment number; ``dermaudit inspect`` lists them all. No message holds a value
from the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from ..errors import InputError
from .readers import RawFile, sha256_of
from .x12_837 import FREQ_NAMES, N_DX, RESP_RANK, Claims837, parse_837
from .x12_segments import Problem, sniff

__all__ = [
    "Envelope",
    "inspect_837",
    "inspect_files",
    "parse_837",
    "read_837_files",
    "read_claims",
    "sniff",
]

# the fixed column mapping (canonical role -> column); roles the ingest mapper does not know
# in this version are left out by ``_mapping``
MAPPING: dict[str, str | list[str]] = {
    "claim_id": "claim_id",
    "patient_id": "patient_id",
    "dos": "dos",
    "provider": "provider",
    "credential": "credential",
    "payer": "payer",
    "cpt": "cpt",
    "units": "units",
    "charge": "charge",
    "pos": "pos",
    "group_id": "group_id",
    "billing_provider": "billing_provider",
    "supervising_provider": "supervising_provider",
    "taxonomy": "taxonomy",
    "modifiers": ["mod1", "mod2", "mod3", "mod4"],
    "dx": [f"dx{i}" for i in range(1, N_DX + 1)],
}


# ---------------------------------------------------------------------------------------------
# several files: claim versions, then one RawFile per file


def _versions(files: list[Claims837]) -> tuple[pl.DataFrame, list[str]]:
    """Which claim versions to audit: (file index, clm) pairs, and notes.

    A claim is keyed by billing provider, ``CLM01`` and its first date of service (some
    practice systems put the patient's account number in ``CLM01``, so the id alone may be
    shared by several visits). Versions are ordered by the transaction's creation date and
    time (BHT04/BHT05), then file and position. A replacement or void starts a new
    generation; only the latest generation counts, and a void in it removes the claim. Of
    the latest generation, the copies to the payer of highest responsibility (SBR01) are
    audited; copies to later payers (coordination of benefits) are counted once. Two copies
    for the same payer responsibility were both billed, so both are audited (a note says so).
    """
    frames = [
        f.claims.with_columns(pl.lit(i, pl.UInt32).alias("file_idx"))
        for i, f in enumerate(files)
        if f.claims.height
    ]
    if not frames:
        return pl.DataFrame(schema={"file_idx": pl.UInt32, "clm": pl.UInt32}), []
    c = pl.concat(frames, how="vertical_relaxed")
    key = [
        pl.coalesce("billing_npi", "billing_tin", "billing_provider").fill_null(""),
        pl.col("claim_id"),
        pl.col("first_dos").fill_null(""),
    ]
    c = c.with_columns(pl.concat_str(key, separator="|").alias("_key")).sort(
        pl.col("bht_date").fill_null(""), pl.col("bht_time").fill_null(""), "file_idx", "clm"
    )
    c = c.with_columns(
        pl.col("freq").is_in(["6", "7", "8"]).cast(pl.Int32).cum_sum().over("_key").alias("gen"),
        pl.col("resp")
        .fill_null("U")
        .replace_strict(RESP_RANK, default=len(RESP_RANK))
        .alias("rank"),
    )
    c = c.with_columns((pl.col("gen") == pl.col("gen").max().over("_key")).alias("latest"))
    c = c.with_columns(
        (pl.col("latest") & (pl.col("freq") == "8")).any().over("_key").alias("voided")
    )
    live = c.filter(pl.col("latest") & ~pl.col("voided"))
    live = live.with_columns((pl.col("rank") == pl.col("rank").min().over("_key")).alias("top"))
    kept = live.filter(pl.col("top"))
    replaced = c.filter(~pl.col("latest")).height
    voided_claims = c.filter(pl.col("voided")).select("_key").n_unique()
    voided_versions = c.filter(pl.col("voided")).height
    cob = live.filter(~pl.col("top")).height
    dup = kept.height - kept.select("_key").n_unique()
    notes = []
    if replaced:
        notes.append(
            f"837P: {replaced} claim version(s) were superseded by a later replacement "
            "(CLM05-3 = 7 or 6) and were not audited; the latest version was"
        )
    if voided_claims:
        notes.append(
            f"837P: {voided_claims} claim(s) were voided (CLM05-3 = 8); their {voided_versions} "
            "version(s) were not audited"
        )
    if cob:
        notes.append(
            f"837P: {cob} copy(ies) of a claim sent to a secondary or later payer (coordination "
            "of benefits) were counted once, as the claim to the payer of highest responsibility"
        )
    if dup:
        notes.append(
            f"837P: {dup} claim(s) repeat a claim id, date of service and payer responsibility "
            "already in the batch without a replacement code; every copy was audited (possible "
            "duplicate billing)"
        )
    return kept.select("file_idx", "clm"), notes


def read_837_files(paths: list[Path]) -> dict[Path, RawFile]:
    """Read 837P files together (claim versions are resolved across them). A file with a
    fatal structural problem raises ``InputError`` naming the first problem; a file whose
    claims are all superseded by other files is left out, with a note."""
    parsed = [parse_837(p) for p in paths]
    for f in parsed:
        if f.fatal:
            raise InputError(_fatal_message(f))
    kept, notes = _versions(parsed)
    out: dict[Path, RawFile] = {}
    for i, f in enumerate(parsed):
        ks = kept.filter(pl.col("file_idx") == i).select("clm")
        lines = f.lines.join(ks, on="clm", how="semi").drop("clm")
        dropped = f.lines.height - lines.height
        if lines.height == 0:
            notes.append(
                f"{f.path.name}: not audited: every claim in it is voided, superseded or "
                "a copy of a claim in another file"
            )
            continue
        raw = RawFile(f.path, f.path.name, sha256_of(f.path), "x12-837p", lines.sort("__row"))
        raw.notes.extend(f.notes)
        raw.notes.extend(f"{f.path.name}: {p.text()}" for p in f.problems if not p.fatal)
        if dropped:
            raw.notes.append(
                f"{f.path.name}: {dropped} service line(s) of superseded, voided or copied "
                "claim versions were not audited"
            )
        raw.mapping = _mapping()
        out[f.path] = raw
    if not out:
        raise InputError(
            "no 837P service line is left to audit: every claim is voided or superseded"
        )
    next(iter(out.values())).notes.extend(notes)
    return out


def _mapping() -> dict[str, str | list[str]]:
    from .columns import MULTI, SINGLE

    return {k: v for k, v in MAPPING.items() if k in SINGLE or k in MULTI}


def _fatal_message(f: Claims837) -> str:
    first = f.fatal[0]
    more = len(f.fatal) - 1
    tail = f"; {more} more problem(s)" if more else ""
    where = f"segment {first.seg}: " if first.seg else ""
    if first.seg == 0 and first.message.startswith(f.path.name):
        return first.message + tail
    return (
        f"{f.path.name} is not a well-formed 837P claim file ({where}{first.message}{tail}); "
        f"run 'dermaudit inspect {f.path.name}' for the list and ask the sender for a "
        "corrected file"
    )


def read_claims(
    files: list[Path], read_other: Callable[[Path], RawFile]
) -> list[tuple[RawFile, Path]]:
    """Every input in order: X12 files (recognised by content) read together as 837P claims,
    the others by ``read_other``. This is the one hook ``ingest.load`` calls."""
    x12 = [p for p in files if sniff(p)]
    claims = read_837_files(x12) if x12 else {}
    return [
        (claims[p], p) if p in claims else (read_other(p), p)
        for p in files
        if p in claims or p not in x12
    ]


# ---------------------------------------------------------------------------------------------
# inspect


@dataclass
class Envelope:
    """What ``dermaudit inspect`` prints for an X12 file: counts and codes, never PHI."""

    name: str
    interchanges: int = 0
    groups: int = 0
    transactions: dict[str, int] = field(default_factory=dict)
    sender: list[str] = field(default_factory=list)
    receiver: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    usage: list[str] = field(default_factory=list)
    claims: int = 0
    claims_audited: int = 0
    lines: int = 0
    first_dos: date | None = None
    last_dos: date | None = None
    frequencies: dict[str, int] = field(default_factory=dict)
    payers: dict[str, int] = field(default_factory=dict)
    filing_codes: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    validation: list[Problem] = field(default_factory=list)
    validation_note: str = ""
    notes: list[str] = field(default_factory=list)

    def lines_out(self) -> list[str]:
        usage = {"P": "production", "T": "test", "I": "information"}
        out = [
            f"{self.name}: X12 "
            + ", ".join(f"{k} x{v}" for k, v in self.transactions.items())
            + f" ({self.interchanges} interchange(s), {self.groups} group(s); "
            + f"version {', '.join(self.versions) or '?'}; "
            + f"{', '.join(usage.get(u, u) for u in self.usage) or '?'} data)",
            f"  sender {', '.join(self.sender) or '-'}, receiver {', '.join(self.receiver) or '-'}",
            f"  claims {self.claims:,} ({self.claims_audited:,} audited after replacements, "
            f"voids and payer copies), service lines {self.lines:,}",
        ]
        if self.first_dos:
            out.append(f"  dates of service {self.first_dos} to {self.last_dos}")
        if self.frequencies:
            out.append(
                "  claim frequency (CLM05-3): "
                + ", ".join(f"{FREQ_NAMES.get(k, k)} {v:,}" for k, v in self.frequencies.items())
            )
        if self.payers:
            out.append("  payers: " + ", ".join(f"{k} ({v:,})" for k, v in self.payers.items()))
        if self.filing_codes:
            out.append(
                "  claim filing indicators (SBR09): "
                + ", ".join(f"{k} {v:,}" for k, v in self.filing_codes.items())
            )
        fatal = [p for p in self.problems if p.fatal]
        out.append(
            f"  structure: {len(fatal)} problem(s) that stop a scan"
            + (":" if fatal else " (the file can be scanned)")
        )
        out.extend(f"    {p.text()}" for p in fatal[:50])
        out.extend(f"  note: {p.text()}" for p in self.problems if not p.fatal)
        out.extend(f"  note: {n}" for n in self.notes)
        if self.validation_note:
            out.append(f"  X12 validation (pyx12): {self.validation_note}")
            out.extend(f"    {p.text()}" for p in self.validation[:100])
            if len(self.validation) > 100:
                out.append(f"    ... {len(self.validation) - 100} more")
        return out


def inspect_837(path: Path, validate: bool = True, max_segments: int = 50_000) -> Envelope:
    """Envelope summary and problems of one X12 file; never raises for a malformed file."""
    env = Envelope(path.name)
    try:
        f = parse_837(path)
    except InputError as exc:
        env.problems.append(Problem(0, str(exc)))
        return env
    e = f.envelope
    env.interchanges, env.groups = e["interchanges"], e["groups"]
    env.transactions, env.versions, env.usage = e["transactions"], e["versions"], e["usage"]
    env.sender, env.receiver = e["sender"], e["receiver"]
    env.problems, env.notes = f.problems, f.notes
    if f.claims.height:
        env.claims = f.claims.height
        kept, vnotes = _versions([f])
        env.claims_audited = kept.height
        env.notes = [*env.notes, *vnotes]
        env.lines = f.lines.height
        dos = f.lines.select(pl.col("dos").str.strptime(pl.Date, "%Y%m%d", strict=False))
        env.first_dos, env.last_dos = dos["dos"].min(), dos["dos"].max()  # type: ignore[assignment]
        env.frequencies = dict(f.claims.group_by("freq").len().sort("freq").iter_rows())
        env.payers = dict(
            f.claims.group_by(pl.col("payer_name").fill_null("(none)"))
            .len()
            .sort("len", descending=True)
            .head(15)
            .iter_rows()
        )
        env.filing_codes = dict(
            f.claims.group_by(pl.col("filing").fill_null("(none)"))
            .len()
            .sort("len", descending=True)
            .iter_rows()
        )
    if validate:
        from .x12_validate import validate as run_pyx12

        v = run_pyx12(path, max_segments=max_segments)
        env.validation, env.validation_note = v.problems, v.summary()
    return env


def inspect_files(paths: list[str], out: Callable[[str], None] = print) -> bool:
    """``dermaudit inspect`` for X12 inputs: when every input is an X12 file, print each
    one's envelope summary and return True; otherwise print nothing and return False."""
    from .readers import expand_paths

    files = expand_paths(paths)
    if not files or not all(sniff(f) for f in files):
        return False
    for f in files:
        for line in inspect_837(f).lines_out():
            out(line)
    return True
