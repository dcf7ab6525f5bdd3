"""Machine-readable outputs. One findings frame feeds all of them."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ..engine import ScanResult
from .summary import summarize


def redact(df: pl.DataFrame, salt: str) -> pl.DataFrame:
    """Replace patient and claim identifiers with salted SHA-256 prefixes."""

    def h(col: str, prefix: str) -> pl.Expr:
        return (
            pl.col(col)
            .map_elements(
                lambda v: prefix + hashlib.sha256((salt + v).encode()).hexdigest()[:12],
                return_dtype=pl.String,
            )
            .alias(col)
        )

    cols = [c for c in ("patient_id", "claim_id") if c in df.columns]
    out = df.with_columns([h(c, "P-" if c == "patient_id" else "C-") for c in cols])
    if "fingerprint" in out.columns:  # recompute from the hashed ids: no unsalted id digest
        from ..triage import add_fingerprint

        out = add_fingerprint(out.drop("fingerprint"))
    return out


def new_salt() -> str:
    return secrets.token_hex(16)


def findings_records(df: pl.DataFrame) -> list[dict[str, Any]]:
    out = df.with_columns(pl.col("dos").cast(pl.String))
    return out.to_dicts()


def _iso(v: Any) -> date | None:
    return date.fromisoformat(v) if isinstance(v, str) else None


def to_json_obj(result: ScanResult, findings: pl.DataFrame | None = None) -> dict[str, Any]:
    f = result.findings if findings is None else findings
    ing = result.ingested
    out: dict[str, Any] = {
        "summary": summarize(result),
        "input": {
            "files": [fi.as_dict() for fi in ing.files],
            "rows": ing.rows_total,
            "notes": ing.notes,
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
        "findings": findings_records(f),
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
        out["waived"] = findings_records(tri.waived)
        if tri.baseline is not None:
            out["baseline"] = dict(tri.baseline)
            out["fixed"] = findings_records(tri.fixed) if tri.fixed is not None else []
    return out


def write(result: ScanResult, fmt: str, dest: Path | None, findings: pl.DataFrame) -> str | None:
    """Write findings in ``fmt``; returns text when ``dest`` is None (stdout)."""
    if fmt == "json":
        text = (
            json.dumps(to_json_obj(result, findings), indent=2, default=str, ensure_ascii=False)
            + "\n"
        )
    elif fmt == "jsonl":
        text = "".join(
            json.dumps(r, default=str, ensure_ascii=False) + "\n"
            for r in findings_records(findings)
        )
    elif fmt == "csv":
        flat = findings.with_columns(
            pl.col("rows").cast(pl.List(pl.String)).list.join(" ").alias("rows")
        )
        buf = io.StringIO()
        flat.write_csv(buf)
        text = buf.getvalue()
    elif fmt == "parquet":
        if dest is None:
            raise ValueError("parquet output needs --output FILE")
        findings.write_parquet(dest)
        return None
    else:
        raise ValueError(fmt)
    if dest is None:
        return text
    dest.write_text(text, encoding="utf-8")
    return None
