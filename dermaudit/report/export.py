"""Machine-readable outputs. One findings frame feeds all of them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import IO, Any, cast

import polars as pl

from ..engine import ScanResult
from ..outputs import atomic_file
from ..privacy import new_salt, redact, spreadsheet_safe  # noqa: F401  (redact re-exported)
from .summary import summarize


def _for_json(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("dos").cast(pl.String)) if "dos" in df.columns else df


def findings_records(df: pl.DataFrame) -> list[dict[str, Any]]:
    return _for_json(df).to_dicts()


class _Splice:
    """Placeholders in the JSON document for findings arrays that Polars writes straight into
    the output (no Python object per finding, no second copy of the text in memory: 150k
    findings take 0.2 s instead of 8 s)."""

    def __init__(self) -> None:
        self.frames: dict[str, pl.DataFrame] = {}

    def __call__(self, df: pl.DataFrame) -> str:
        key = f"\x00findings-{len(self.frames)}\x00"
        self.frames[json.dumps(key)] = _for_json(df)
        return key

    def write(self, text: str, fh: IO[bytes]) -> None:
        for key, df in self.frames.items():
            head, text = text.split(key, 1)
            fh.write(head.encode("utf-8"))
            df.write_json(cast(io.IOBase, fh))  # the stub wants IOBase; any binary file works
        fh.write(text.encode("utf-8"))


def _iso(v: Any) -> date | None:
    return date.fromisoformat(v) if isinstance(v, str) else None


def to_json_obj(
    result: ScanResult,
    findings: pl.DataFrame | None = None,
    records: Callable[[pl.DataFrame], Any] = findings_records,
) -> dict[str, Any]:
    """The JSON document; ``records`` turns a findings frame into its JSON value."""
    f = result.findings if findings is None else findings
    ing = result.ingested
    out: dict[str, Any] = {
        "redacted": bool(getattr(result, "redacted", False)),
        "summary": summarize(result),
        "input": {
            "files": [fi.as_dict() for fi in ing.files],
            "rows": ing.rows_total,
            "notes": ing.notes,
            "unmapped_roles": summarize(result)["unmapped_roles"],
        },
        "ruleset": {
            "name": result.ref.name,
            "version": result.ref.version,
            "vintages": result.ref.vintages,
            "layers": [str(d) for d in result.ref.dirs[1:]],
            "stale_warnings": result.ref.stale_warnings(
                _iso(result.stats.get("first_dos")), _iso(result.stats.get("last_dos"))
            ),
        },
        "rules": {"run": result.rules_run, "skipped": dict(sorted(result.rules_skipped.items()))},
        "findings": records(f),
    }
    tri = result.triage
    if tri is not None:
        out["triage"] = {
            "before_since": tri.before_since,
            "payer_excluded": tri.payer_excluded,
            "waived": tri.waived.height,
            "expired_waivers": tri.expired_waivers,
            "unused_waivers": tri.unused_waivers,
        }
        out["waived"] = records(tri.waived)
        if tri.baseline is not None:
            out["baseline"] = dict(tri.baseline)
            out["fixed"] = records(tri.fixed) if tri.fixed is not None else []
    return out


def write(result: ScanResult, fmt: str, dest: Path | None, findings: pl.DataFrame) -> str | None:
    """Write findings in ``fmt`` to ``dest`` (streamed into the file); returns the text when
    ``dest`` is None (stdout)."""
    if fmt == "parquet":
        if dest is None:
            raise ValueError("parquet output needs --output FILE")
        with atomic_file(dest) as fh:
            findings.write_parquet(fh)
        return None
    if fmt not in ("json", "jsonl", "csv"):
        raise ValueError(fmt)
    if dest is None:
        buf = io.BytesIO()
        _write_text_format(result, fmt, findings, buf)
        return buf.getvalue().decode("utf-8")
    with atomic_file(dest) as fh:
        _write_text_format(result, fmt, findings, fh)
    return None


def _write_text_format(result: ScanResult, fmt: str, findings: pl.DataFrame, fh: IO[bytes]) -> None:
    if fmt == "json":
        splice = _Splice()
        obj = to_json_obj(result, findings, records=splice)
        splice.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n", fh)
    elif fmt == "jsonl":
        if findings.height:
            _for_json(findings).write_ndjson(fh)
    else:
        spreadsheet_safe(
            findings.with_columns(
                pl.col("rows").cast(pl.List(pl.String)).list.join(" ").alias("rows")
            )
        ).write_csv(fh)
