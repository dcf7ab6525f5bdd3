"""After the rules: what the user asked to see, and what is new since the last run.

Applied in this order to the findings frame, each step counted, nothing dropped silently:

1. fingerprints (``add_fingerprint``): a finding's identity is its rule, patient, claim, date of
   service, rendering provider and the sorted set of codes and modifiers it names. Row numbers,
   row order, the order of codes in a cell, file names and unit counts are not part of it, so
   the same problem in tomorrow's export (shuffled, renamed, redacted with the same key) keeps
   its fingerprint;
2. per-payer rule selection (``[per_payer.<class>]`` in dermaudit.toml): a rule switched off for a
   payer class does not report lines of that class;
3. waivers (``suppressions``, see ``waivers.py``): reviewed findings move to a separate
   ``waived`` frame until the waiver expires. Waivers match findings of every date, so a waiver
   of an older finding is not reported as unused because of ``--since``;
4. baseline: findings present in the previous run's baseline are ``existing``, the others
   ``new``; the exit code follows new findings only; baseline findings that are gone (dated
   within the dates this scan covers) are ``fixed``. A missing baseline means every finding is
   new (the first night);
5. ``--since DATE``: findings dated before DATE are set aside (lines before DATE were still
   read, so global-period and new-patient rules see the history; see ``history_note``). With
   a baseline, a *new* finding dated before DATE (a late charge, a corrected line) is kept:
   only what the previous run already reported is set aside.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from .engine import _matches
from .errors import UsageError
from .waivers import PSEUDONYM, Waiver, load_waivers, waiver_keys

__all__ = [
    "Baseline",
    "Triage",
    "Waiver",
    "add_fingerprint",
    "code_set",
    "load_baseline",
    "load_waivers",
    "read_baseline",
    "triage",
]

FINGERPRINT_FIELDS = ["rule", "claim_id", "patient_id", "dos", "provider", "codes"]
FINGERPRINT_VERSION = 2  # 1: the codes text as written; 2: the sorted set of codes
BASELINE_FORMAT = 1
GLOBAL_LOOKBACK_DAYS = 90  # longest global period (090 procedures)
NEW_PATIENT_LOOKBACK_DAYS = 3 * 365  # CPT new/established: any service in the prior 3 years
# columns of a baseline record (what "fixed" lists need); rows and file names are left out
BASELINE_COLUMNS = (
    "rule",
    "family",
    "severity",
    "confidence",
    "money",
    "claim_id",
    "patient_id",
    "dos",
    "provider",
    "payer_class",
    "codes",
    "message",
    "suggestion",
    "amount",
    "fingerprint",
    "waived",
)


def code_set(col: str = "codes") -> pl.Expr:
    """The codes, modifiers and diagnoses a finding's ``codes`` text names, as one sorted
    set: ``"17000 + 11104-XS-59"`` and ``"11104-59-XS + 17000"`` both give
    ``"11104 17000 59 XS"``. Unit counts (``x3``) and words (``after``, ``with``) are left
    out: a unit count corrected from 3 to 2 on a still-wrong line is the same problem."""
    tok = pl.element()
    return (
        pl.col(col)
        .cast(pl.String)
        .fill_null("")
        .str.replace_all(r"\bx\d+\b", " ")
        .str.to_uppercase()
        .str.extract_all(r"[0-9A-Z]+(?:\.[0-9A-Z]+)?")
        .list.eval(tok.filter(tok.str.contains(r"\d") | (tok.str.len_chars() == 2)))
        .list.unique()
        .list.sort()
        .list.join(" ")
    )


def add_fingerprint(df: pl.DataFrame) -> pl.DataFrame:
    """A stable id per finding (16 hex digits): the same problem in tomorrow's export keeps
    its fingerprint. Identical findings (every identity field equal) are numbered, so a
    third copy of a problem that appeared twice yesterday is new."""
    parts = []
    for c in FINGERPRINT_FIELDS:
        if c not in df.columns:
            parts.append(pl.lit(""))
        elif c == "codes":
            parts.append(code_set(c))
        else:
            parts.append(pl.col(c).cast(pl.String).fill_null(""))
    key = pl.concat_str(parts, separator="\x1f")
    keys = df.select(
        pl.when(pl.int_range(pl.len()).over(key) > 0)
        .then(
            pl.concat_str([key, pl.int_range(pl.len()).over(key).cast(pl.String)], separator="\x1e")
        )
        .otherwise(key)
        .alias("k")
    )["k"]
    uniq = keys.unique().to_list()
    digest = {k: hashlib.sha256(k.encode("utf-8")).hexdigest()[:16] for k in uniq}
    return df.with_columns(keys.replace_strict(digest, return_dtype=pl.String).alias("fingerprint"))


@dataclass
class Baseline:
    """The previous run's findings (``frame``; empty when the file does not exist yet)."""

    path: Path
    frame: pl.DataFrame
    missing: bool = False
    redacted: bool | None = None  # None: unknown (an old JSON output)


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
    # every finding of this run (all dates, waived ones flagged): the next baseline
    record: pl.DataFrame | None = None
    late: int = 0  # new findings dated before --since, kept
    since: date | None = None
    # findings each waiver matched (waivers.waiver_keys -> count), for the state file
    waiver_matches: dict[str, int] = field(default_factory=dict)


def history_note(since: date, first_dos: date | None) -> str | None:
    if first_dos is None:
        return None
    have = (since - first_dos).days
    if have < GLOBAL_LOOKBACK_DAYS:
        return (
            f"auditing from {since}: the input starts {first_dos}, only {max(have, 0)} day(s) "
            "before; "
            f"global-period rules need {GLOBAL_LOOKBACK_DAYS} days of history and new-patient "
            f"rules 3 years, so findings that depend on older visits may be missed"
        )
    return None


def _waiver_condition(w: Waiver, rules: list[str]) -> pl.Expr:
    cond = pl.col("rule").is_in([r for r in rules if _matches(r, w.rule)])
    for col, val in (
        ("claim_id", w.claim),
        ("patient_id", w.patient),
        ("dos", w.dos),
        ("provider", w.provider),
        ("fingerprint", w.fingerprint),
    ):
        if val is not None:
            cond = cond & (pl.col(col) == val)
    return cond.fill_null(False)


def _apply_waivers(
    t: Triage,
    f: pl.DataFrame,
    waivers: list[Waiver],
    today: date,
    first_dos: date | None,
    last_dos: date | None,
) -> pl.DataFrame:
    rules = f["rule"].unique().to_list()
    parts = []
    for w, key in zip(waivers, waiver_keys(waivers), strict=True):
        cond = _waiver_condition(w, rules)
        hit = f.filter(cond)
        t.waiver_matches[key] = hit.height
        if w.expired(today):
            if hit.height:  # the finding is back: say why; an expired waiver of nothing is quiet
                t.expired_waivers.append(f"{w.describe()} expired {w.until} (by {w.by})")
            continue
        if hit.height == 0:
            covered = w.dos is None or (
                first_dos is not None and last_dos is not None and first_dos <= w.dos <= last_dos
            )
            if covered:  # a waiver of a day this scan does not read is not "unused"
                t.unused_waivers.append(w.describe())
            continue
        parts.append(
            hit.with_columns(
                pl.lit(w.reason).alias("waiver_reason"),
                pl.lit(w.by).alias("waived_by"),
                pl.lit(w.until, pl.Date).alias("waived_until"),
            )
        )
        f = f.filter(~cond)
    if parts:
        t.waived = pl.concat(parts, how="vertical_relaxed")
    return f


def triage(
    findings: pl.DataFrame,
    *,
    since: date | None = None,
    per_payer: dict[str, dict[str, list[str]]] | None = None,
    waivers: list[Waiver] | None = None,
    baseline_path: Path | None = None,
    baseline: Baseline | None = None,
    today: date | None = None,
    first_dos: date | None = None,
    last_dos: date | None = None,
    redacted: bool | None = None,
) -> Triage:
    """Triage ``findings`` (see the module docstring). ``baseline`` is a loaded baseline;
    ``baseline_path`` loads one (it must exist)."""
    today = today or date.today()
    if baseline is None and baseline_path is not None:
        baseline = read_baseline(baseline_path)
    if baseline is not None and redacted is not None:
        check_baseline_redaction(baseline, redacted)
    f = add_fingerprint(findings)
    t = Triage(
        findings=f,
        waived=f.clear().with_columns(
            pl.lit(None, pl.String).alias("waiver_reason"),
            pl.lit(None, pl.String).alias("waived_by"),
            pl.lit(None, pl.Date).alias("waived_until"),
        ),
        since=since,
    )
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
    everything = f
    if waivers:
        f = _apply_waivers(t, f, waivers, today, first_dos, last_dos)
    t.record = everything.with_columns(
        pl.col("fingerprint").is_in(t.waived["fingerprint"].implode()).alias("waived")
    )
    compare = baseline is not None and not baseline.missing
    if baseline is not None:
        prev = baseline.frame
        if "waived" in prev.columns:
            prev = prev.filter(~pl.col("waived").fill_null(False))
        f = f.with_columns(
            pl.when(pl.col("fingerprint").is_in(prev["fingerprint"].implode()))
            .then(pl.lit("existing"))
            .otherwise(pl.lit("new"))
            .alias("status")
        )
        in_range = pl.lit(True)
        if first_dos is not None and last_dos is not None:
            in_range = pl.col("dos").is_null() | pl.col("dos").is_between(first_dos, last_dos)
        t.fixed = prev.filter(
            ~pl.col("fingerprint").is_in(everything["fingerprint"].implode()) & in_range
        )
    if since is not None:
        keep = pl.col("dos").is_null() | (pl.col("dos") >= since)
        if compare:
            t.late = f.filter(~keep & (pl.col("status") == "new")).height
            keep = keep | (pl.col("status") == "new")
        t.before_since = f.filter(~keep).height
        f = f.filter(keep)
        t.waived = t.waived.filter(pl.col("dos").is_null() | (pl.col("dos") >= since))
        note = history_note(since, first_dos)
        if note:
            t.notes.append(note)
        if t.late:
            t.notes.append(
                f"{t.late} new finding(s) dated before --since {since} (late charges or "
                "corrected lines) are reported: the baseline did not hold them"
            )
    if baseline is not None:
        assert t.fixed is not None
        t.baseline = {
            "file": str(baseline.path),
            "new": int(f.filter(pl.col("status") == "new").height),
            "existing": int(f.filter(pl.col("status") == "existing").height),
            "fixed": int(t.fixed.height),
            # every problem still there, of every date (the existing ones before --since too)
            "open": int(everything.height - t.record.filter(pl.col("waived")).height),
        }
        if baseline.missing:
            t.baseline["missing"] = True
            t.notes.append("no baseline yet (first run): every finding is new")
    t.findings = f
    return t


# ---- baselines -------------------------------------------------------------------------------


def _not_baseline(path: Path, why: str) -> UsageError:
    return UsageError(
        f"baseline {path} {why}; it is not a baseline written by dermaudit "
        "(move it away to start a new baseline)"
    )


def read_baseline(path: Path, *, missing_ok: bool = False) -> Baseline:
    """Read and check a baseline: a file written by ``--update-baseline`` or a JSON output
    (``--format json``). A corrupt or foreign file is a ``UsageError`` naming it; a missing
    file is an empty baseline when ``missing_ok``."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        if missing_ok:
            return Baseline(path, empty_baseline(), missing=True)
        raise UsageError(
            f"baseline {path} not found; write one with --update-baseline (or -f json -o FILE)"
        ) from exc
    except IsADirectoryError as exc:
        raise UsageError(f"baseline {path} is a folder; give the baseline file") from exc
    except UnicodeDecodeError as exc:
        raise _not_baseline(path, "is not UTF-8 text") from exc
    except OSError as exc:
        raise UsageError(f"baseline {path} cannot be read ({exc.strerror})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"baseline {path} is damaged (not JSON: {exc.msg} at line {exc.lineno}); "
            "restore it, or move it away to start a new baseline"
        ) from exc
    recs = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(recs, list):
        raise _not_baseline(path, "has no 'findings' list")
    if not recs:
        return Baseline(path, empty_baseline(), redacted=_flag(data))
    need = [c for c in FINGERPRINT_FIELDS if c != "codes"]
    if not all(isinstance(r, dict) and all(c in r for c in need) for r in recs):
        raise _not_baseline(path, f"has findings without {', '.join(need)}")
    try:
        df = pl.DataFrame(recs, infer_schema_length=None)
        df = df.with_columns(pl.col("dos").cast(pl.String).str.to_date(strict=False))
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise _not_baseline(path, "has findings of unexpected types") from exc
    if "codes" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.String).alias("codes"))
    # always recomputed from the fields: baselines of older versions keep matching
    df = add_fingerprint(df.drop("fingerprint", strict=False))
    return Baseline(path, df, redacted=_flag(data))


def _flag(data: dict[str, Any]) -> bool | None:
    v = data.get("redacted")
    return v if isinstance(v, bool) else None


def empty_baseline() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "rule": pl.String,
            "claim_id": pl.String,
            "patient_id": pl.String,
            "dos": pl.Date,
            "provider": pl.String,
            "codes": pl.String,
            "fingerprint": pl.String,
            "waived": pl.Boolean,
        }
    )


def load_baseline(path: Path) -> pl.DataFrame:
    """The findings of a baseline file (see ``read_baseline``)."""
    return read_baseline(path).frame


def baseline_document(
    t: Triage, *, redacted: bool, meta: dict[str, Any]
) -> tuple[dict[str, Any], pl.DataFrame]:
    """The next baseline: a header and the findings frame (``record``), for the writer."""
    assert t.record is not None
    rec = t.record
    cols = [c for c in BASELINE_COLUMNS if c in rec.columns]
    frame = rec.select(cols).with_columns(pl.col("dos").cast(pl.String))
    head = {
        "dermaudit_baseline": BASELINE_FORMAT,
        "fingerprint_version": FINGERPRINT_VERSION,
        "redacted": redacted,
        **meta,
    }
    return head, frame


def check_baseline_redaction(b: Baseline, redacted: bool) -> None:
    """A redacted run compares with a redacted baseline, an unredacted one with an unredacted
    baseline: otherwise nothing matches (and a raw baseline would put raw ids into the
    'fixed' list of a redacted output)."""
    if b.missing:
        return
    pseudo = b.redacted
    prev = b.frame
    if pseudo is None:
        if "patient_id" not in prev.columns or prev.height == 0:
            return
        ids = prev["patient_id"].drop_nulls()
        if ids.len() == 0:
            return
        pseudo = bool(ids.str.contains(PSEUDONYM.pattern).all())
    if redacted and not pseudo:
        raise UsageError(
            f"baseline {b.path} holds unredacted identifiers but --redact is on; "
            "use a baseline written with --redact"
        )
    if not redacted and pseudo:
        raise UsageError(
            f"baseline {b.path} was written with --redact; pass --redact (same key) to compare"
        )


def lookback_start(since: date) -> date:
    return since - timedelta(days=NEW_PATIENT_LOOKBACK_DAYS)
