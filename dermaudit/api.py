"""The catalogue and the input mapping as data, for the public API and the CLI."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .errors import UsageError


@dataclass(frozen=True)
class RuleInfo:
    """One rule of the catalogue: what ``dermaudit rule ID`` explains."""

    id: str
    family: str
    severity: str
    confidence: str
    money: str
    title: str
    level: str
    requires: tuple[str, ...]
    scope: tuple[str, ...]
    default: bool
    docs: dict[str, str] = field(compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "severity": self.severity,
            "confidence": self.confidence,
            "money": self.money,
            "title": self.title,
            "level": self.level,
            "requires": list(self.requires),
            "scope": list(self.scope),
            "default": self.default,
            "docs": self.docs,
        }


def _info(r: Any) -> RuleInfo:
    return RuleInfo(
        id=r.id,
        family=r.family,
        severity=str(r.severity),
        confidence=str(r.confidence),
        money=str(r.money),
        title=r.title,
        level=r.level,
        requires=tuple(r.requires),
        scope=tuple(r.scope),
        default=r.default,
        docs=r.doc(),
    )


def catalogue() -> list[RuleInfo]:
    """The whole rule catalogue, sorted by id (``dermaudit.rules`` is the package of rule
    modules, hence the name)."""
    from . import rules as _register  # noqa: F401  (imports register every rule)
    from .rules.base import RULES

    return [_info(RULES[k]) for k in sorted(RULES)]


def rule(rule_id: str) -> RuleInfo:
    """One rule by id (case-insensitive); ``UsageError`` names the closest id if unknown."""
    from . import rules as _register  # noqa: F401
    from .rules.base import RULES

    rid = rule_id.strip().upper()
    if rid not in RULES:
        close = difflib.get_close_matches(rid, list(RULES), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"unknown rule {rule_id!r}{hint} (run 'dermaudit rules')")
    return _info(RULES[rid])


@dataclass
class FileMapping:
    name: str
    format: str
    rows: int
    sha256: str
    delimiter: str | None
    encoding: str | None
    mapping: dict[str, str | list[str]]


@dataclass
class Inspection:
    """What ``dermaudit inspect`` shows: the mapping per file and what the data holds."""

    files: list[FileMapping]
    rows: int
    rows_usable: int
    first_dos: date | None
    last_dos: date | None
    payer_classes: dict[str, int]
    providers: dict[str, int]
    rules_cannot_run: dict[str, list[str]]
    notes: list[str]


def inspect(
    paths: str | Path | Sequence[str | Path],
    *,
    columns: str | Path | dict[str, str | list[str]] | None = None,
    payer_map: str | Path | None = None,
) -> Inspection:
    """Read the inputs and return the column mapping and what the data holds."""
    from . import engine, ingest
    from .ingest.columns import load_mapping_file
    from .refdata import load_refdata
    from .scan import load_payer_map

    if isinstance(paths, str | Path):
        paths = [paths]
    ref = load_refdata()
    p_rules, p_exact = load_payer_map(Path(payer_map) if payer_map else None)
    overrides = (
        dict(columns)
        if isinstance(columns, dict)
        else load_mapping_file(Path(columns))
        if columns is not None
        else None
    )
    ing = ingest.load(
        [str(p) for p in paths],
        overrides=overrides,
        payer_rules=p_rules + ref.payer_rules,
        payer_exact=p_exact,
    )
    lines = ing.lines
    first = lines["dos"].min() if lines.height else None
    last = lines["dos"].max() if lines.height else None

    def counts(col: str) -> dict[str, int]:
        if not lines.height:
            return {}
        df = lines.group_by(col).len().sort(["len", col], descending=[True, False])
        return {str(k): int(v) for k, v in df.iter_rows()}

    cannot = {
        r.id: [c for c in r.requires if c not in ing.present]
        for r in engine.select_rules()
        if any(c not in ing.present for c in r.requires)
    }
    return Inspection(
        files=[
            FileMapping(f.name, f.format, f.rows, f.sha256, f.delimiter, f.encoding, f.mapping)
            for f in ing.files
        ],
        rows=ing.rows_total,
        rows_usable=lines.height,
        first_dos=first,  # type: ignore[arg-type]
        last_dos=last,  # type: ignore[arg-type]
        payer_classes=counts("payer_class"),
        providers=counts("provider"),
        rules_cannot_run=cannot,
        notes=list(ing.notes),
    )
