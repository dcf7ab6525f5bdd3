"""The rule contract: a small declared object and a function frame -> findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from ..features import DAY_ID
from ..features import one_of as one_of  # re-exported: the rule modules import it from here
from ..model import Confidence, Money, Severity
from ..refdata import RefData

FAMILIES = {
    "GEN": "General / data validity",
    "BX": "Skin biopsy",
    "TAG": "Skin tags",
    "SHV": "Shave removal",
    "EXC": "Excision",
    "RPR": "Repairs",
    "ATT": "Adjacent tissue transfer",
    "DEST": "Destruction",
    "MOHS": "Mohs surgery",
    "INJ": "Injections",
    "EM": "E/M with procedures",
    "MOD": "Modifiers",
    "GLOB": "Global surgery",
    "COS": "Cosmetic and coverage",
    "PATH": "Pathology",
    "DX": "Diagnosis coding",
    "REV": "Revenue / pricing",
    "PTP": "NCCI pair edits",
    "DQ": "Data quality",
}

LEVELS = ("line", "day", "history", "provider")

# ---- vocabulary shared by the rule modules ---------------------------------------------------

# ICD-10-CM replaced ICD-9-CM for dates of service from this date (HHS final rule 45 CFR
# 162.1002(c)(2)-(3), as amended 2014-08-04)
ICD10_START = date(2015, 10, 1)
MEDICARE = ["medicare_ffs", "medicare_advantage"]
SURG_PATH = ("88302", "88304", "88305", "88307", "88309")  # surgical pathology levels
# icd10_groups.csv groups of malignant and in-situ neoplasms
MALIGNANT_GROUPS = (
    "MAL_MELANOMA",
    "MAL_MERKEL",
    "MAL_OTHER_SKIN",
    "MAL_OTHER",
    "INSITU_MELANOMA",
    "INSITU_CARCINOMA",
)


@dataclass
class Context:
    """What a rule may read: shared frames and reference data. Rules never re-read input."""

    ref: RefData
    lines: pl.LazyFrame  # enriched charge lines (features.enrich_lines)
    days: pl.LazyFrame  # one row per same-day key (features.build_days)
    present: set[str]
    options: dict[str, Any] = field(default_factory=dict)
    first_dos: date | None = None
    last_dos: date | None = None
    # frames several rules read (``shared``), per scan; a scoped context shares the dict and
    # keys its entries by its own frames
    memo: dict[tuple[str, int, int], tuple[Any, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def shared(self, name: str, build: Callable[[Context], pl.LazyFrame]) -> pl.LazyFrame:
        """``build(self)`` computed once per scan and context, and kept in memory: for an
        intermediate frame that several rules read (BX-003 and BX-004 read the same biopsy
        partners), which each rule's plan would otherwise compute again."""
        key = (name, id(self.lines), id(self.days))
        if key not in self.memo:
            # the entry keeps this context's frames alive, so their ids cannot be reused
            self.memo[key] = (self.lines, self.days, materialise(build(self)))
        frame: pl.LazyFrame = self.memo[key][2]
        return frame

    def fee(self, code: str) -> float:
        return self.ref.fee(code)

    def u(self, code: str) -> pl.Expr:
        """Units of one code on the day (the rule must list the code in ``codes``)."""
        return pl.col(f"u_{code}").fill_null(0)

    def fu(self, family: str) -> pl.Expr:
        """Units of a code family on the day (families from rulesets/codes.csv; the rule must
        list the family in ``unit_families``)."""
        return pl.col(f"fu_{family}").fill_null(0)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    confidence: Confidence
    money: Money
    title: str
    flags: str
    why: str
    example: str
    compliant: str
    source: str
    amount_method: str
    check: Callable[[Context], pl.LazyFrame]
    limits: str = ""
    requires: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    # code families whose per-day unit sums (``Context.fu``) the rule reads: the day frame
    # carries only the columns of the families the selected rules list
    unit_families: tuple[str, ...] = ()
    level: str = "day"
    payer_classes: tuple[str, ...] = ()  # empty = all payers
    default: bool = True  # False: runs only when selected by id, family or ALL
    # Provider-level rules in two steps, so a partitioned scan can add the statistics of every
    # partition before judging: stats(ctx) -> one row per provider (additive numbers,
    # ``_file`` and ``sup_rows``), judge(ctx, stats) -> findings. check = judge(stats(ctx)).
    stats: Callable[[Context], pl.LazyFrame] | None = None
    judge: Callable[[Context, pl.LazyFrame], pl.LazyFrame] | None = None
    # Code families (rulesets/codes.csv) without which the rule cannot fire: the engine hands
    # the rule only the days (level line/day) or patients (level history) that have a line of
    # one of them. Empty = the whole frame. See ``rule(scope=...)``.
    scope: tuple[str, ...] = ()
    # Severities other than ``severity`` the rule may report, each with the condition under
    # which it does (``rule(severities=...)``). A finding's severity is always ``severity`` or
    # one of these; tests/test_catalogue.py checks it on the sample and on every fixture.
    escalations: tuple[tuple[Severity, str], ...] = ()
    out_of_scope: str = ""

    @property
    def family(self) -> str:
        return self.id.split("-")[0]

    @property
    def kind(self) -> str:
        return "coding rule"

    @property
    def allowed_severities(self) -> frozenset[str]:
        return frozenset({str(self.severity), *(str(s) for s, _ in self.escalations)})

    def severity_text(self) -> str:
        """The declared severity and every documented escalation, for ``dermaudit rule ID``."""
        parts = [f"{self.severity} by default"]
        parts += [f"{s} when {why}" for s, why in self.escalations]
        return "; ".join(parts) + "."

    def doc(self) -> dict[str, str]:
        return {
            "What it flags": self.flags,
            "Why it matters": self.why,
            "Example": self.example,
            "Compliant billing": self.compliant,
            "Severity": self.severity_text(),
            "Out of scope": self.out_of_scope,
            "Known limits": self.limits or "None known beyond the confidence tag.",
            "Dollars at risk": self.amount_method,
            "Source": self.source,
        }


RULES: dict[str, Rule] = {}


@dataclass(frozen=True)
class Entry:
    """A catalogue entry that is not a coding rule (e.g. the data-quality checks DQ-001...,
    which ingest runs before the rules): documented like a rule so ``dermaudit rule ID``
    explains every id that can appear in output."""

    id: str
    severity: Severity
    confidence: Confidence
    money: Money
    title: str
    flags: str
    why: str
    example: str
    compliant: str
    source: str
    amount_method: str
    out_of_scope: str
    limits: str = ""
    kind: str = "data-quality check (runs before the rules; not selectable)"
    level: str = "line"
    requires: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    escalations: tuple[tuple[Severity, str], ...] = ()

    @property
    def family(self) -> str:
        return self.id.split("-")[0]

    @property
    def allowed_severities(self) -> frozenset[str]:
        return frozenset({str(self.severity)})

    def severity_text(self) -> str:
        return f"{self.severity} always."

    def doc(self) -> dict[str, str]:
        return {
            "What it flags": self.flags,
            "Why it matters": self.why,
            "Example": self.example,
            "Compliant billing": self.compliant,
            "Severity": self.severity_text(),
            "Out of scope": self.out_of_scope,
            "Known limits": self.limits or "None known.",
            "Dollars at risk": self.amount_method,
            "Source": self.source,
        }


ENTRIES: dict[str, Entry] = {}


def entry(e: Entry) -> Entry:
    """Register a non-rule catalogue entry."""
    if e.id in RULES or e.id in ENTRIES:
        raise ValueError(f"catalogue id {e.id} declared twice")
    if e.family not in FAMILIES:
        raise ValueError(f"catalogue id {e.id}: unknown family prefix")
    ENTRIES[e.id] = e
    return e


def catalogue() -> dict[str, Rule | Entry]:
    """Every id that can appear in output: the coding rules and the non-rule entries."""
    out: dict[str, Rule | Entry] = {**RULES, **ENTRIES}
    return dict(sorted(out.items()))


def rule(
    id: str,
    *,
    severity: Severity,
    confidence: Confidence,
    money: Money,
    title: str,
    flags: str,
    why: str,
    example: str,
    compliant: str,
    source: str,
    amount: str,
    limits: str = "",
    requires: Iterable[str] = (),
    codes: Iterable[str] = (),
    unit_families: Iterable[str] = (),
    level: str = "day",
    payers: Iterable[str] = (),
    default: bool = True,
    stats: Callable[[Context], pl.LazyFrame] | None = None,
    scope: Iterable[str] = (),
    severities: Mapping[Severity, str] | None = None,
    out_of_scope: str = "",
) -> Callable[[Callable[..., pl.LazyFrame]], Callable[..., pl.LazyFrame]]:
    """Declare a rule. Metadata is validated here, when the module is imported.

    ``scope``: code families (``family`` in rulesets/codes.csv) of which a day (a patient, for
    history rules) must have a line for the rule to find anything there. The engine then runs
    the rule on those days' (patients') lines only, which is what makes most rules cheap: Mohs
    days are 3-4% of the lines of a typical export (the day frame is handed over whole).
    Declare it only when every finding of the rule involves a line of these families on the
    same day (patient) and the rule reads nothing outside that day (patient);
    ``tests/test_scope.py`` runs every scoped rule with and without its scope and compares the
    findings."""
    if id in RULES:
        raise ValueError(f"rule {id} declared twice")
    if id.split("-")[0] not in FAMILIES:
        raise ValueError(f"rule {id}: unknown family prefix")
    if level not in LEVELS:
        raise ValueError(f"rule {id}: level must be one of {LEVELS}")
    if confidence == Confidence.U and severity not in (Severity.REVIEW, Severity.INFO):
        raise ValueError(f"rule {id}: confidence U rules must have severity review")
    escalations = tuple((Severity(k), v.strip()) for k, v in (severities or {}).items())
    for sev, why_text in escalations:
        if sev == severity:
            raise ValueError(f"rule {id}: severities= repeats the declared severity {sev}")
        if not why_text:
            raise ValueError(f"rule {id}: severity {sev} has no condition text")
        if confidence == Confidence.U and sev not in (Severity.REVIEW, Severity.INFO):
            raise ValueError(f"rule {id}: a confidence U rule may only report review or info")
    for name, val in (
        ("title", title),
        ("flags", flags),
        ("why", why),
        ("source", source),
        ("out_of_scope", out_of_scope),
    ):
        if not val.strip():
            raise ValueError(f"rule {id}: {name} is empty")

    if stats is not None and level != "provider":
        raise ValueError(f"rule {id}: stats= is for provider-level rules")
    if scope and level == "provider":
        raise ValueError(f"rule {id}: provider-level rules compare whole frames; no scope=")

    def deco(fn: Callable[..., pl.LazyFrame]) -> Callable[..., pl.LazyFrame]:
        check: Callable[[Context], pl.LazyFrame] = fn
        if stats is not None:
            st = stats

            def check(ctx: Context) -> pl.LazyFrame:
                return fn(ctx, st(ctx))

        RULES[id] = Rule(
            id=id,
            severity=severity,
            confidence=confidence,
            money=money,
            title=title,
            flags=flags.strip(),
            why=why.strip(),
            example=example.strip(),
            compliant=compliant.strip(),
            source=source.strip(),
            amount_method=amount.strip(),
            check=check,
            limits=limits.strip(),
            requires=tuple(requires),
            codes=tuple(codes),
            unit_families=tuple(sorted(set(unit_families))),
            level=level,
            payer_classes=tuple(payers),
            default=default,
            stats=stats,
            judge=fn if stats is not None else None,
            scope=tuple(sorted(set(scope))),
            escalations=escalations,
            out_of_scope=out_of_scope.strip(),
        )
        return fn

    return deco


# ---- helpers for rule bodies ---------------------------------------------------------


def lit(x: Any) -> pl.Expr:
    return x if isinstance(x, pl.Expr) else pl.lit(x)


def msg(*parts: Any) -> pl.Expr:
    """Concatenate literal text and expressions (``pl.format`` is avoided: upstream #25525)."""
    return pl.concat_str([lit(p).cast(pl.String) for p in parts], ignore_nulls=True)


def has(*codes: str) -> pl.Expr:
    """On the day frame: the day has any of these codes."""
    return pl.col("cpts").list.eval(pl.element().is_in(list(codes))).list.any()


def has_dx(prefixes: Iterable[str], col: str = "dx") -> pl.Expr:
    """Any diagnosis in ``col`` starts with one of the prefixes (null-safe)."""
    pre = list(prefixes)
    return (
        pl.col(col)
        .list.eval(pl.element().str.starts_with(pre[0]) if len(pre) == 1 else any_prefix(pre))
        .list.any()
        .fill_null(False)
    )


def all_dx_in(prefixes: Iterable[str], col: str = "dx") -> pl.Expr:
    """Every diagnosis starts with one of the prefixes, and there is at least one."""
    pre = list(prefixes)
    return (
        pl.col(col).list.eval(any_prefix(pre)).list.all().fill_null(False)
        & (pl.col(col).list.len() > 0)
    ).fill_null(False)


def any_prefix(prefixes: Iterable[str], e: pl.Expr | None = None) -> pl.Expr:
    """``e`` (default: the list element) starts with any of the prefixes."""
    e = pl.element() if e is None else e
    pre = list(prefixes)
    out = e.str.starts_with(pre[0])
    for p in pre[1:]:
        out = out | e.str.starts_with(p)
    return out


def rows_of(*codes: str) -> pl.Expr:
    """On the day frame: the row numbers of lines with these codes."""
    return pl.col("lines").list.eval(
        pl.element()
        .struct.field("_row")
        .filter(pl.element().struct.field("cpt").is_in(list(codes)))
    )


def rows_where(pred: pl.Expr) -> pl.Expr:
    """On the day frame: row numbers of lines matching a predicate on the line struct."""
    return pl.col("lines").list.eval(pl.element().struct.field("_row").filter(pred))


def line_field(name: str) -> pl.Expr:
    return pl.element().struct.field(name)


def line_rows() -> pl.Expr:
    """On the line frame: the line's own row as a one-element list."""
    return pl.concat_list(pl.col("_row"))


def emit(
    frame: pl.LazyFrame,
    *,
    rows: pl.Expr,
    codes: Any,
    message: Any,
    suggestion: Any,
    amount: Any = None,
    severity: Any = None,
    money: Any = None,
) -> pl.LazyFrame:
    """Select the finding columns; the engine adds rule, family, confidence."""
    cols = [
        pl.col("_file").alias("file"),
        rows.alias("rows"),
        pl.col("claim_id"),
        pl.col("patient_id"),
        pl.col("dos"),
        pl.col("provider"),
        pl.col("payer_class"),
        lit(codes).cast(pl.String).alias("codes"),
        lit(message).cast(pl.String).alias("message"),
        lit(suggestion).cast(pl.String).alias("suggestion"),
        lit(amount).cast(pl.Float64).round(2).alias("amount"),
    ]
    if severity is not None:
        cols.append(lit(severity).cast(pl.String).alias("severity"))
    if money is not None:
        cols.append(lit(money).cast(pl.String).alias("money"))
    return frame.select(cols)


def money_fmt(x: float) -> str:
    return f"${x:,.2f}"


# ---- provider-level statistics -------------------------------------------------------------

SAMPLE_ROWS = 20


def provider_stats(support: pl.LazyFrame, per: pl.LazyFrame, key: str = "provider") -> pl.LazyFrame:
    """Per-provider statistics: ``per`` (``key`` first, then numbers that
    ``merge_provider_stats`` knows how to merge) with ``_file`` and ``sup_rows`` (the first 20
    supporting rows of the key's first file) from ``support`` (``_file``, ``_row``, ``key``)."""
    first_file = pl.col("_file").first()
    sample = (
        support.sort("_file", "_row")
        .group_by(key)
        .agg(
            first_file.alias("_file"),
            pl.col("_row")
            .filter(pl.col("_file") == first_file)
            .head(SAMPLE_ROWS)
            .alias("sup_rows"),
        )
    )
    return per.join(sample, on=key, how="left").with_columns(
        pl.col("sup_rows").fill_null(pl.lit([], pl.List(pl.Int64)))
    )


def merge_provider_stats(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Merge the statistics of several partitions. The first column is the key (``provider``,
    or e.g. ``cpt`` for an audit-wide per-code rule); ``sup_rows`` keep the first 20 rows of
    the key's first file; columns named ``min_*``/``max_*`` take the minimum/maximum, list
    columns named ``set_*`` the union, and every other number is added up."""
    df = pl.concat(frames, how="diagonal_relaxed")
    key = df.columns[0]
    merged: list[pl.Expr] = []
    for c, t in df.schema.items():
        if c == key or c in ("_file", "sup_rows"):
            continue
        if c.startswith("min_"):
            merged.append(pl.col(c).min())
        elif c.startswith("max_"):
            merged.append(pl.col(c).max())
        elif c.startswith("set_"):
            merged.append(
                pl.col(c).list.explode(keep_nulls=False, empty_as_null=False).unique().sort()
            )
        elif t.is_numeric():
            merged.append(pl.col(c).sum())
    first_file = pl.col("_file").drop_nulls().first()
    return (
        df.sort(key, "_file", nulls_last=True)
        .group_by(key, maintain_order=True)
        .agg(
            first_file.alias("_file"),
            pl.col("sup_rows")
            .filter(pl.col("_file") == first_file)
            .list.explode(keep_nulls=False, empty_as_null=False)
            .sort()
            .head(SAMPLE_ROWS)
            .alias("sup_rows"),
            *merged,
        )
    )


def provider_keys() -> list[pl.Expr]:
    """The finding-key columns a provider-level finding leaves empty."""
    return [
        pl.lit(None, pl.String).alias("claim_id"),
        pl.lit(None, pl.String).alias("patient_id"),
        pl.lit(None, pl.Date).alias("dos"),
        pl.lit(None, pl.String).alias("payer_class"),
    ]


# ---- optional export columns and providers ------------------------------------------------


def opt_col(ctx: Context, name: str, dtype: pl.DataType | None = None) -> pl.Expr:
    """An optional canonical column (``taxonomy``, ``billing_provider``, ...): the column when
    the export has it (``ctx.present``), else nulls, so a rule can use it when available."""
    if name in ctx.present:
        return pl.col(name)
    return pl.lit(None, dtype or pl.String())


PHYSICIAN_RE = (
    r"(^|[^A-Z])(MD[A-Z]*|DO|MBBS|MBCHB|MBBCH|MEDICAL DOCTOR|DOCTOR OF MEDICINE"
    r"|DOCTOR OF OSTEOPATHIC MEDICINE)([^A-Z]|$)"
)
NON_PHYSICIAN_RE = (
    r"(^|[^A-Z])(NP|NPC|PA|PAC|APRN|ARNP|APN|CNP|CRNP|FNP|AGNP|ANP|DNP|CNS|RN|LPN|LVN|CRNA"
    r"|NURSE PRACTITIONER|PHYSICIAN ASSISTANT|PHYSICIAN ASSOCIATE|NURSE|NURSING)([^A-Z]|$)"
)
# NUCC health care provider taxonomy: 20x = allopathic and osteopathic physicians; 363L nurse
# practitioner, 363A physician assistant, 364S clinical nurse specialist (NPPs).
NPP_TAXONOMY = ("363L", "363A", "364S")


def credential_text(col: str = "credential") -> pl.Expr:
    """Upper-case credential text without dots ('M.D.' -> 'MD', 'N.P.' -> 'NP')."""
    return pl.col(col).str.to_uppercase().str.replace_all(".", "", literal=True)


def non_physician(ctx: Context | None = None, col: str = "credential") -> pl.Expr:
    """The rendering provider is a non-physician practitioner (NP, PA, CNS, nurse ...): the
    credential names one and no MD/DO degree ('MD, PA' - a professional association - stays a
    physician), or, when the export has it, the NUCC taxonomy is an NPP taxonomy. An unknown
    or truncated credential is never read as a non-physician."""
    c = credential_text(col)
    by_cred = (c.str.contains(NON_PHYSICIAN_RE) & ~c.str.contains(PHYSICIAN_RE)).fill_null(False)
    if ctx is None or "taxonomy" not in ctx.present:
        return by_cred
    tax = pl.col("taxonomy").str.to_uppercase().str.strip_chars()
    by_tax = pl.any_horizontal([tax.str.starts_with(t) for t in NPP_TAXONOMY]).fill_null(False)
    return by_cred | by_tax


def specialty_key(ctx: Context) -> pl.Expr:
    """The provider's specialty for same-specialty tests: the first four characters of the NUCC
    taxonomy (207N = dermatology) when the export has one, else null (unknown)."""
    return opt_col(ctx, "taxonomy").str.to_uppercase().str.strip_chars().str.slice(0, 4)


def group_key(ctx: Context) -> pl.Expr:
    """The billing group of a line: ``group_id`` (billing TIN / group) or, when present, the
    billing provider; null when the export has neither."""
    parts = [pl.col("group_id").cast(pl.String)]
    if "billing_provider" in ctx.present:
        parts.append(pl.col("billing_provider").cast(pl.String))
    return pl.coalesce(parts)


# ---- diagnosis families ---------------------------------------------------------------------


def dx_categories(col: str) -> pl.Expr:
    """The ICD-10-CM categories (first three characters) of a list of diagnoses."""
    return pl.col(col).list.eval(pl.element().str.slice(0, 3)).list.unique()


def dx_related(a: str, b: str) -> pl.Expr:
    """Two diagnosis lists share an ICD-10-CM category (e.g. C44.311 and C44.319): the visit or
    procedure treated the same condition. Null when either list is empty (unknown)."""
    shared = dx_categories(a).list.set_intersection(dx_categories(b)).list.len() > 0
    known = (pl.col(a).list.len() > 0) & (pl.col(b).list.len() > 0)
    return pl.when(known.fill_null(False)).then(shared).otherwise(None)


# ---- primary sources cited by several rules ---------------------------------------------------

NCCI_MANUAL = "NCCI Policy Manual for Medicare Services (CMS, revision effective 2025-01-01)"
CPM_12 = (
    "Medicare Claims Processing Manual, Pub. 100-04, ch. 12 (Physicians/Nonphysician Practitioners)"
)
CPT_BOOK = "CPT 2025 Professional Edition (AMA)"
PFS_FILE = (
    "CMS PFS Relative Value File: global days, status and multiple-procedure indicators from "
    "the CY2022 January release (PPRRVU22_JAN), RVUs and 2025 national non-facility amounts "
    "(CF $32.3465) from the CY2025 October release"
)
ICD10_FY2026 = "ICD-10-CM FY2026 tabular list (CMS/NCHS, April 1, 2026 update)"


# ---- partners on the same day, without pair joins -------------------------------------------

PARTNER_ROWS = 20  # partner rows listed in one finding: bounded output on pathological days
EMPTY_ROWS = pl.lit([], pl.List(pl.Int64()))
EMPTY_CODES = pl.lit([], pl.List(pl.String()))


def site_key(col: str = "site") -> pl.Expr:
    """Site text for comparison: trimmed, runs of spaces folded; blank = unknown (null)."""
    s = pl.col(col).str.strip_chars().str.replace_all(r"\s+", " ")
    return pl.when(s == "").then(None).otherwise(s)


def site_partners(left: pl.LazyFrame, right: pl.LazyFrame, k: int = PARTNER_ROWS) -> pl.LazyFrame:
    """For each ``left`` line (``_file``, ``_row``, ``day_id``, ``site``): the ``right`` lines of
    the same day (``_row``, ``cpt``, ``site``) at the same recorded site - ``same_rows`` and
    ``same_cpts`` - and those whose site, or the left line's, is missing - ``unk_rows`` and
    ``unk_cpts`` (rows sorted, at most ``k``; codes distinct and sorted; empty lists when none).

    Built from equality joins on (day, site) and per-day aggregates of the right lines, so
    memory grows with the number of lines and never with the number of line pairs: one
    pathological patient-day of 50,000 lines costs what 50,000 ordinary lines cost."""

    def agg(lf: pl.LazyFrame, keys: list[str], prefix: str) -> pl.LazyFrame:
        return (
            lf.sort("_row")
            .group_by(keys)
            .agg(
                pl.col("_row").head(k).alias(f"{prefix}_rows"),
                pl.col("cpt").unique().sort().alias(f"{prefix}_cpts"),
            )
        )

    r = right.select(DAY_ID, "_row", "cpt", site_key().alias("_s"))
    by_site = agg(r.filter(pl.col("_s").is_not_null()), [DAY_ID, "_s"], "same")
    no_site = agg(r.filter(pl.col("_s").is_null()), [DAY_ID], "unk")
    any_site = agg(r, [DAY_ID], "unk")
    lf = left.select("_file", "_row", DAY_ID, site_key().alias("_s"))
    known = lf.filter(pl.col("_s").is_not_null())
    unknown = lf.filter(pl.col("_s").is_null())
    same = known.join(by_site, on=[DAY_ID, "_s"], how="inner").select(
        "_file", "_row", "same_rows", "same_cpts"
    )
    unk = pl.concat(
        [
            known.join(no_site, on=DAY_ID, how="inner").select(
                "_file", "_row", "unk_rows", "unk_cpts"
            ),
            unknown.join(any_site, on=DAY_ID, how="inner").select(
                "_file", "_row", "unk_rows", "unk_cpts"
            ),
        ],
        how="vertical",
    )
    return (
        lf.select("_file", "_row")
        .join(same, on=["_file", "_row"], how="left")
        .join(unk, on=["_file", "_row"], how="left")
        .with_columns(
            pl.col("same_rows").fill_null(EMPTY_ROWS),
            pl.col("same_cpts").fill_null(EMPTY_CODES),
            pl.col("unk_rows").fill_null(EMPTY_ROWS),
            pl.col("unk_cpts").fill_null(EMPTY_CODES),
        )
    )


def materialise(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``lf`` computed now (in-memory engine, as the engine collects rules) and wrapped back as
    a LazyFrame: for an intermediate frame a rule reads several times, which the lazy plan
    would otherwise recompute at every read."""
    return lf.collect(engine="in-memory").lazy()
