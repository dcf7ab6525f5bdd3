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
        default=getattr(r, "default", True),  # data-quality entries always run
        docs=r.doc(),
    )


def catalogue() -> list[RuleInfo]:
    """The whole rule catalogue, sorted by id (``dermaudit.rules`` is the package of rule
    modules, hence the name)."""
    from . import rules as _register  # noqa: F401  (imports register every rule)
    from .rules.base import catalogue as every_id

    return [_info(r) for r in every_id().values()]


def rule(rule_id: str) -> RuleInfo:
    """One rule by id (case-insensitive), or a data-quality entry (``DQ-001``...): every id
    that can appear in output. ``UsageError`` names the closest id if unknown."""
    from . import rules as _register  # noqa: F401
    from .rules.base import catalogue as every_id

    known = every_id()
    rid = rule_id.strip().upper()
    if rid not in known:
        close = difflib.get_close_matches(rid, list(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"unknown rule {rule_id!r}{hint} (run 'dermaudit rules')")
    return _info(known[rid])


@dataclass
class ColumnRole:
    """One column of an input: the role it was given (or None), the runner-up, the evidence."""

    column: str
    role: str | None
    score: float
    confident: bool
    evidence: list[str]
    runner_up: str | None
    runner_up_score: float


@dataclass
class FileMapping:
    name: str
    format: str
    rows: int
    sha256: str
    delimiter: str | None
    encoding: str | None
    mapping: dict[str, str | list[str]]
    header_line: int | None = 1
    columns: list[ColumnRole] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    unmapped_optional: list[str] = field(default_factory=list)


@dataclass
class Inspection:
    """What ``dermaudit inspect`` shows: per file every column's role with its evidence, and
    what the data holds (when the required columns were found)."""

    files: list[FileMapping]
    rows: int
    rows_usable: int
    first_dos: date | None
    last_dos: date | None
    payer_classes: dict[str, int]
    providers: dict[str, int]
    rules_cannot_run: dict[str, list[str]]
    notes: list[str]

    @property
    def complete(self) -> bool:
        return all(not f.missing_required for f in self.files)

    def columns_toml(self) -> str:
        """A ``--columns`` map of what was found (first file), to fix and reuse nightly."""
        f = self.files[0]
        lines = [
            f"# dermaudit column map for {f.name}: canonical role = column header.",
            "# Fix a line that is wrong and pass the file with --columns (or [columns] in",
            "# dermaudit.toml). Roles: see 'dermaudit inspect'.",
            "[columns]",
        ]
        for role, src in f.mapping.items():
            val = "[" + ", ".join(_q(x) for x in src) + "]" if isinstance(src, list) else _q(src)
            lines.append(f"{role} = {val}")
        for role in f.missing_required:
            lines.append(f'# {role} = "<the column that holds it>"   (required, not found)')
        return "\n".join(lines) + "\n"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _column_roles(inf: Any) -> list[ColumnRole]:
    from .ingest.roles import MULTI_ROLES

    owner = {c: role for role, ch in inf.choices.items() for c in ch.columns}
    out = []
    for col, sc in inf.scores.items():
        role = owner.get(col)
        ranked = sorted(sc.items(), key=lambda kv: -kv[1])
        ru = next(((r, v) for r, v in ranked if r != role), (None, 0.0))
        ch = inf.choices.get(role) if role else None
        score = 1.0 if ch is not None and ch.forced else (sc.get(role, 0.0) if role else 0.0)
        out.append(
            ColumnRole(
                column=col,
                role=role,
                score=round(score, 2),
                confident=bool(ch and (ch.confident or (role in MULTI_ROLES and score >= 0.7))),
                evidence=(
                    ["from the column map"]
                    if ch and ch.forced
                    else inf.evidence[col].get(role, [])
                    if role
                    else inf.evidence[col].get(ranked[0][0], [])
                    if ranked
                    else []
                ),
                runner_up=ru[0] if ru[1] > 0 else None,
                runner_up_score=round(ru[1], 2),
            )
        )
    return out


def inspect(
    paths: str | Path | Sequence[str | Path],
    *,
    columns: str | Path | dict[str, str | list[str]] | None = None,
    payer_map: str | Path | None = None,
) -> Inspection:
    """Read the inputs and return every column's role with its evidence and what the data
    holds. A file whose required columns cannot be found is still described (its
    ``missing_required`` names them); nothing is raised for it."""
    from . import engine, ingest
    from .errors import InputError
    from .ingest import REQUIRED, _set_aside_rows
    from .ingest.columns import load_mapping_file
    from .ingest.readers import expand_paths, read_all
    from .ingest.roles import ROLES, infer
    from .refdata import load_refdata
    from .scanner import load_payer_map

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
    notes: list[str] = []
    files: list[FileMapping] = []
    for p in expand_paths([str(x) for x in paths], notes):
        for raw in read_all(p):
            frame, _aside, note = _set_aside_rows(raw)
            inf = infer(frame, overrides)
            files.append(
                FileMapping(
                    raw.name,
                    raw.format,
                    frame.height,
                    raw.sha256,
                    raw.delimiter,
                    raw.encoding,
                    inf.mapping.as_dict(),
                    header_line=raw.header_line,
                    columns=_column_roles(inf),
                    missing_required=[r for r in REQUIRED if r not in inf.mapping.single],
                    unmapped_optional=[
                        r for r in ROLES if r not in REQUIRED and r not in inf.choices
                    ],
                )
            )
            notes.extend(raw.notes)
            if note:
                notes.append(note)
    out = Inspection(files, sum(f.rows for f in files), 0, None, None, {}, {}, {}, notes)
    if not out.complete:
        return out
    try:
        ing = ingest.load(
            [str(p) for p in paths],
            overrides=overrides,
            payer_rules=p_rules + ref.payer_rules,
            payer_exact=p_exact,
        )
    except InputError as exc:
        out.notes.append(str(exc))
        return out
    lines = ing.lines

    def counts(col: str) -> dict[str, int]:
        if not lines.height:
            return {}
        df = lines.group_by(col).len().sort(["len", col], descending=[True, False])
        return {str(k): int(v) for k, v in df.iter_rows()}

    out.rows = ing.rows_total
    out.rows_usable = lines.height
    out.first_dos = lines["dos"].min() if lines.height else None  # type: ignore[assignment]
    out.last_dos = lines["dos"].max() if lines.height else None  # type: ignore[assignment]
    out.payer_classes = counts("payer_class")
    out.providers = counts("provider")
    out.rules_cannot_run = {
        r.id: [c for c in r.requires if c not in ing.present]
        for r in engine.select_rules()
        if any(c not in ing.present for c in r.requires)
    }
    out.notes = list(ing.notes)
    return out
