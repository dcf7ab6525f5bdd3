"""Waivers: reviewed findings a practice has decided not to be told about again.

A waivers file (``suppressions = "waivers.toml"``) holds ``[[waiver]]`` tables::

    [[waiver]]
    rule = "EM-001"                    # a rule id or a family prefix (required)
    fingerprint = "3f2a9c0d41be7e55"   # the finding's stable id, from any JSON output
    claim = "E10442"                   # or scope it by claim, patient, dos, provider
    reason = "separate problem documented; payer paid 99213-25 after appeal"   # required
    by = "J. Coder, CPC"               # required
    until = 2026-03-31                 # optional: after this day the finding comes back

A waiver matches the findings of its rule that agree with every scope field it gives. The
``fingerprint`` is the finding's identity (``triage.add_fingerprint``): rule, patient, claim,
date of service, provider and the set of codes and modifiers, so it survives row order, file
names and redaction.

Ageing: a waiver whose ``until`` has passed stops waiving (its finding comes back as new). An
expired waiver, or one dated on a day the scan does not cover, that matches nothing is not
reported on every run; ``dermaudit waivers list`` shows such stale waivers and
``dermaudit waivers prune`` removes them from the file (written atomically, comments kept).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .errors import UsageError

PSEUDONYM = re.compile(r"^[PC]-[0-9a-f]{16}$")  # privacy.Redactor's patient / claim ids
KEYS = ("rule", "reason", "by", "until", "claim", "patient", "dos", "provider", "fingerprint")


@dataclass
class Waiver:
    rule: str
    reason: str
    by: str
    until: date | None
    claim: str | None = None
    patient: str | None = None
    dos: date | None = None
    provider: str | None = None
    fingerprint: str | None = None
    index: int = 0  # 1-based position in the file

    def pseudonymised(self, pseudo: Callable[[str, str], str]) -> Waiver:
        """The same waiver with its patient and claim ids as pseudonyms (for a redacted run;
        ids already written as pseudonyms are kept)."""

        def p(kind: str, v: str | None) -> str | None:
            return v if v is None or PSEUDONYM.match(v) else pseudo(kind, v)

        return dataclasses.replace(
            self, claim=p("claim", self.claim), patient=p("patient", self.patient)
        )

    def expired(self, today: date) -> bool:
        """``until`` is the last day the waiver applies."""
        return self.until is not None and self.until < today

    def scope(self) -> str:
        return ", ".join(
            f"{k}={v}"
            for k, v in (
                ("claim", self.claim),
                ("patient", self.patient),
                ("dos", self.dos),
                ("provider", self.provider),
                ("fingerprint", self.fingerprint),
            )
            if v
        )

    def describe(self) -> str:
        return f"{self.rule} ({self.scope() or 'all'})"


def _date(v: Any, where: str) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError as exc:
        raise UsageError(f"{where}: {v!r} is not a date (use YYYY-MM-DD)") from exc


def _text(v: Any, key: str, where: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise UsageError(f"{where}: {key} must be text")
    return str(v)


def read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"suppressions file {path} not found") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"suppressions file {path} is not UTF-8 text") from exc
    except OSError as exc:
        raise UsageError(f"suppressions file {path} cannot be read ({exc.strerror})") from exc


def parse_waivers(text: str, path: Path) -> list[Waiver]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"suppressions file {path} is not valid TOML: {exc}") from exc
    tables = data.get("waiver", [])
    if not isinstance(tables, list):
        raise UsageError(f"suppressions file {path}: write each waiver as a [[waiver]] table")
    out: list[Waiver] = []
    for i, w in enumerate(tables, start=1):
        where = f"{path.name} waiver #{i}"
        unknown = sorted(set(w) - set(KEYS))
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(KEYS)}")
        for req in ("rule", "reason", "by"):
            if not str(w.get(req, "")).strip():
                raise UsageError(f"{where}: '{req}' is required (who waived what, and why)")
        out.append(
            Waiver(
                rule=str(w["rule"]).upper().strip(),
                reason=str(w["reason"]),
                by=str(w["by"]),
                until=_date(w.get("until"), where),
                claim=_text(w.get("claim"), "claim", where),
                patient=_text(w.get("patient"), "patient", where),
                dos=_date(w.get("dos"), where),
                provider=_text(w.get("provider"), "provider", where),
                fingerprint=_text(w.get("fingerprint"), "fingerprint", where),
                index=i,
            )
        )
    return out


def load_waivers(path: Path) -> list[Waiver]:
    return parse_waivers(read_text(path), path)


def waiver_keys(waivers: list[Waiver]) -> list[str]:
    """A key per waiver for the state file's match counts: a digest of its rule, date,
    provider, fingerprint, expiry, reason and author (not of its patient or claim id), numbered
    among equal ones. Pruning or adding other waivers leaves a waiver's key as it was."""
    seen: dict[str, int] = {}
    out = []
    for w in waivers:
        text = "\x1f".join(
            str(v or "")
            for v in (w.rule, w.dos, w.provider, w.fingerprint, w.until, w.reason, w.by)
        )
        base = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        seen[base] = seen.get(base, 0) + 1
        out.append(f"{base}-{seen[base]}")
    return out


# ---- list and prune ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WaiverStatus:
    waiver: Waiver
    status: str  # "active", "expired", "unused" (matched nothing in the last run)
    detail: str
    matched: int | None  # findings matched in the last run (None: unknown)

    @property
    def stale(self) -> bool:
        return self.status != "active"


def statuses(
    waivers: list[Waiver], today: date, last_run: dict[str, Any] | None
) -> list[WaiverStatus]:
    """Each waiver's status today, with the findings it matched in the last recorded run
    (unknown for a waiver added or edited since)."""
    rec = (last_run or {}).get("waivers") or {}
    got = rec.get("matched") if isinstance(rec, dict) else None
    matched: dict[str, Any] = got if isinstance(got, dict) else {}
    run_day = (last_run or {}).get("run_date")
    out = []
    for w, key in zip(waivers, waiver_keys(waivers), strict=True):
        m = matched.get(key)
        m = m if isinstance(m, int) else None
        if w.expired(today):
            assert w.until is not None
            days = (today - w.until).days
            out.append(WaiverStatus(w, "expired", f"expired {w.until} ({days} day(s) ago)", m))
        elif m == 0:
            out.append(WaiverStatus(w, "unused", f"matched no finding in the run of {run_day}", m))
        else:
            until = f"until {w.until}" if w.until else "no expiry"
            seen = f"; {m} finding(s) in the run of {run_day}" if m is not None else ""
            out.append(WaiverStatus(w, "active", until + seen, m))
    return out


HEADER = re.compile(r"^\s*\[\[\s*waiver\s*\]\]\s*(#.*)?$")
TABLE = re.compile(r"^\s*\[")


def remove_waivers(text: str, path: Path, drop: set[int]) -> str:
    """``text`` without the ``[[waiver]]`` tables numbered in ``drop`` (1-based). A table runs
    from its header (with the comment lines just above it) to the next table header; other
    text and comments are kept. The result is parsed again and must hold exactly the kept
    waivers, otherwise nothing is changed."""
    lines = text.splitlines(keepends=True)
    heads = [i for i, ln in enumerate(lines) if HEADER.match(ln)]
    before = parse_waivers(text, path)
    if len(heads) != len(before):
        raise UsageError(
            f"{path}: cannot edit this file safely (waivers written inline, not as [[waiver]] "
            "tables); remove them by hand"
        )
    starts = []
    for h in heads:  # comment lines directly above a header belong to it
        s = h
        while s > 0 and lines[s - 1].lstrip().startswith("#"):
            s -= 1
        starts.append(s)
    ends = []
    for h in heads:
        e = h + 1
        while e < len(lines) and not TABLE.match(lines[e]):
            e += 1
        if e < len(lines):  # comment lines just above the next table belong to that table
            while e - 1 > h and lines[e - 1].lstrip().startswith("#"):
                e -= 1
        ends.append(e)
    keep = [True] * len(lines)
    for n, (s, e) in enumerate(zip(starts, ends, strict=True), start=1):
        if n in drop:
            for i in range(s, e):
                keep[i] = False
    out = "".join(ln for ln, k in zip(lines, keep, strict=True) if k)
    out = re.sub(r"\n{3,}", "\n\n", out)
    after = parse_waivers(out, path)
    want = [w for w in before if w.index not in drop]
    same = [dataclasses.replace(w, index=0) for w in after] == [
        dataclasses.replace(w, index=0) for w in want
    ]
    if not same:
        raise UsageError(f"{path}: cannot edit this file safely; remove the waivers by hand")
    return out


def review(
    path: Path, today: date, last_run: dict[str, Any] | None
) -> tuple[str, list[WaiverStatus]]:
    """The waivers file's text and each waiver's status (see ``statuses``)."""
    text = read_text(path)
    return text, statuses(parse_waivers(text, path), today, last_run)


def prune(
    path: Path,
    today: date,
    last_run: dict[str, Any] | None,
    *,
    unused: bool = False,
    dry_run: bool = False,
) -> list[WaiverStatus]:
    """Remove expired waivers (and, with ``unused``, those that matched no finding in the last
    recorded run) from the file, atomically; returns the removed ones."""
    from .outputs import write_text

    text, st = review(path, today, last_run)
    drop = [x for x in st if x.status == "expired" or (unused and x.status == "unused")]
    if drop and not dry_run:
        out = remove_waivers(text, path, {x.waiver.index for x in drop})
        private = not (path.stat().st_mode & 0o077)
        write_text(path, out, private=private)
    return drop
