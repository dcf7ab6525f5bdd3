"""After the rules: what the user asked to see.

Applied in this order to the findings frame, each step counted, nothing dropped silently:

1. ``--since DATE``: findings dated before DATE are set aside (lines before DATE were still read,
   so global-period and new-patient rules see the history; see ``history_note``).
2. per-payer rule selection (``[per_payer.<class>]`` in dermaudit.toml): a rule switched off for a
   payer class does not report lines of that class.
3. suppressions (waivers): reviewed findings move to a separate ``waived`` frame until they
   expire.
4. baseline: findings already present in a previous JSON output are marked ``existing``; the
   exit code follows ``new`` findings only; findings of the baseline that are gone (within the
   dates this scan covers) are reported as ``fixed``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from .engine import _matches
from .errors import UsageError

FINGERPRINT_FIELDS = ["rule", "claim_id", "patient_id", "dos", "provider", "codes"]
GLOBAL_LOOKBACK_DAYS = 90  # longest global period (090 procedures)
NEW_PATIENT_LOOKBACK_DAYS = 3 * 365  # CPT new/established: any service in the prior 3 years
PSEUDONYM = re.compile(r"^[PC]-[0-9a-f]{16}$")  # privacy.Redactor's patient / claim ids


def add_fingerprint(df: pl.DataFrame) -> pl.DataFrame:
    """A stable id per finding: the same error in tomorrow's export keeps its fingerprint."""
    key = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("") for c in FINGERPRINT_FIELDS], separator="\x1f"
    )
    keys = df.select(key.alias("k"))["k"]
    uniq = keys.unique().to_list()
    digest = {k: hashlib.sha1(k.encode("utf-8")).hexdigest()[:16] for k in uniq}
    return df.with_columns(keys.replace_strict(digest, return_dtype=pl.String).alias("fingerprint"))


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
    index: int = 0

    def pseudonymised(self, pseudo: Callable[[str, str], str]) -> Waiver:
        """The same waiver with its patient and claim ids as pseudonyms (for a redacted run;
        ids already written as pseudonyms are kept)."""

        def p(kind: str, v: str | None) -> str | None:
            return v if v is None or PSEUDONYM.match(v) else pseudo(kind, v)

        return dataclasses.replace(
            self, claim=p("claim", self.claim), patient=p("patient", self.patient)
        )

    def describe(self) -> str:
        scope = ", ".join(
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
        return f"{self.rule} ({scope or 'all'})"


def _date(v: Any, where: str) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError as exc:
        raise UsageError(f"{where}: {v!r} is not a date (use YYYY-MM-DD)") from exc


def load_waivers(path: Path) -> list[Waiver]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"suppressions file {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"suppressions file {path} is not valid TOML: {exc}") from exc
    out: list[Waiver] = []
    for i, w in enumerate(data.get("waiver", []), start=1):
        where = f"{path.name} waiver #{i}"
        for req in ("rule", "reason", "by"):
            if not str(w.get(req, "")).strip():
                raise UsageError(f"{where}: '{req}' is required (who waived what, and why)")
        out.append(
            Waiver(
                rule=str(w["rule"]).upper(),
                reason=str(w["reason"]),
                by=str(w["by"]),
                until=_date(w.get("until"), where),
                claim=w.get("claim"),
                patient=w.get("patient"),
                dos=_date(w.get("dos"), where),
                provider=w.get("provider"),
                fingerprint=w.get("fingerprint"),
                index=i,
            )
        )
    return out


@dataclass
class Triage:
    findings: pl.DataFrame
    waived: pl.DataFrame
    before_since: int = 0
    payer_excluded: int = 0
    expired_waivers: list[str] = field(default_factory=list)
    unused_waivers: list[str] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    fixed: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def history_note(since: date, first_dos: date | None) -> str | None:
    if first_dos is None:
        return None
    have = (since - first_dos).days
    if have < GLOBAL_LOOKBACK_DAYS:
        return (
            f"--since {since}: the input starts {first_dos}, only {max(have, 0)} day(s) before; "
            f"global-period rules need {GLOBAL_LOOKBACK_DAYS} days of history and new-patient "
            f"rules 3 years, so findings that depend on older visits may be missed"
        )
    return None


def triage(
    findings: pl.DataFrame,
    *,
    since: date | None = None,
    per_payer: dict[str, dict[str, list[str]]] | None = None,
    waivers: list[Waiver] | None = None,
    baseline_path: Path | None = None,
    today: date | None = None,
    first_dos: date | None = None,
    last_dos: date | None = None,
    redacted: bool | None = None,
) -> Triage:
    today = today or date.today()
    f = add_fingerprint(findings)
    t = Triage(
        findings=f,
        waived=f.clear().with_columns(
            pl.lit(None, pl.String).alias("waiver_reason"),
            pl.lit(None, pl.String).alias("waived_by"),
            pl.lit(None, pl.Date).alias("waived_until"),
        ),
    )
    if since is not None:
        keep = pl.col("dos").is_null() | (pl.col("dos") >= since)
        t.before_since = f.filter(~keep).height
        f = f.filter(keep)
        note = history_note(since, first_dos)
        if note:
            t.notes.append(note)
    if per_payer:
        drop = pl.lit(False)
        for cls, sel in per_payer.items():
            rules = f["rule"].unique().to_list()
            off = [
                r
                for r in rules
                if (sel.get("select") and not any(_matches(r, s) for s in sel["select"]))
                or any(_matches(r, s) for s in sel.get("ignore", []))
            ]
            if off:
                drop = drop | ((pl.col("payer_class") == cls) & pl.col("rule").is_in(off))
        t.payer_excluded = f.filter(drop).height
        f = f.filter(~drop)
    if waivers:
        waived_parts = []
        for w in waivers:
            if w.until is not None and w.until < today:
                t.expired_waivers.append(f"{w.describe()} expired {w.until} (by {w.by})")
                continue
            ids = [r for r in f["rule"].unique().to_list() if _matches(r, w.rule)]
            cond = pl.col("rule").is_in(ids)
            for col, val in (
                ("claim_id", w.claim),
                ("patient_id", w.patient),
                ("dos", w.dos),
                ("provider", w.provider),
                ("fingerprint", w.fingerprint),
            ):
                if val is not None:
                    cond = cond & (pl.col(col) == val)
            hit = f.filter(cond.fill_null(False))
            if hit.height == 0:
                t.unused_waivers.append(w.describe())
                continue
            waived_parts.append(
                hit.with_columns(
                    pl.lit(w.reason).alias("waiver_reason"),
                    pl.lit(w.by).alias("waived_by"),
                    pl.lit(w.until, pl.Date).alias("waived_until"),
                )
            )
            f = f.filter(~cond.fill_null(False))
        if waived_parts:
            t.waived = pl.concat(waived_parts, how="vertical_relaxed")
    if baseline_path is not None:
        prev = load_baseline(baseline_path)
        if redacted is not None:
            check_baseline_redaction(prev, baseline_path, redacted)
        prev_fp = set(prev["fingerprint"].to_list())
        f = f.with_columns(
            pl.when(pl.col("fingerprint").is_in(list(prev_fp)))
            .then(pl.lit("existing"))
            .otherwise(pl.lit("new"))
            .alias("status")
        )
        in_range = pl.lit(True)
        if first_dos is not None and last_dos is not None:
            in_range = pl.col("dos").is_null() | pl.col("dos").is_between(first_dos, last_dos)
        fixed = prev.filter(~pl.col("fingerprint").is_in(f["fingerprint"].to_list()) & in_range)
        t.fixed = fixed
        t.baseline = {
            "file": str(baseline_path),
            "new": int(f.filter(pl.col("status") == "new").height),
            "existing": int(f.filter(pl.col("status") == "existing").height),
            "fixed": int(fixed.height),
        }
    t.findings = f
    return t


def load_baseline(path: Path) -> pl.DataFrame:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(
            f"baseline {path} not found; write one with --format json -o FILE"
        ) from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"baseline {path} is not a dermaudit JSON output ({exc.msg})") from exc
    recs = data.get("findings") if isinstance(data, dict) else None
    if recs is None:
        raise UsageError(f"baseline {path} has no 'findings'; pass a file written by --format json")
    if not recs:
        return pl.DataFrame(schema={"fingerprint": pl.String, "dos": pl.Date, "rule": pl.String})
    df = pl.DataFrame(recs, infer_schema_length=None)
    df = df.with_columns(pl.col("dos").cast(pl.String).str.to_date(strict=False))
    if "fingerprint" not in df.columns:
        df = add_fingerprint(df)
    return df


def check_baseline_redaction(prev: pl.DataFrame, path: Path, redacted: bool) -> None:
    """A redacted run compares with a redacted baseline, an unredacted one with an unredacted
    baseline: otherwise nothing matches (and a raw baseline would put raw ids into the
    'fixed' list of a redacted output)."""
    if "patient_id" not in prev.columns or prev.height == 0:
        return
    ids = prev["patient_id"].drop_nulls()
    if ids.len() == 0:
        return
    pseudo = bool(ids.str.contains(PSEUDONYM.pattern).all())
    if redacted and not pseudo:
        raise UsageError(
            f"baseline {path} holds unredacted identifiers but --redact is on; "
            "use a baseline written with --redact"
        )
    if not redacted and pseudo:
        raise UsageError(
            f"baseline {path} was written with --redact; pass --redact (same key) to compare"
        )


def lookback_start(since: date) -> date:
    return since - timedelta(days=NEW_PATIENT_LOOKBACK_DAYS)
