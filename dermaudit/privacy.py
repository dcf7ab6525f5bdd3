"""Redaction: the one step that removes identifiers from the findings before any writer.

Patient and claim identifiers become salted SHA-256 pseudonyms (``P-…``, ``C-…``); the
fingerprint is recomputed from the pseudonyms, so no digest of a raw id is written.
"""

from __future__ import annotations

import hashlib
import os
import secrets

import polars as pl


def new_salt() -> str:
    return secrets.token_hex(16)


def salt_from_env() -> str:
    return os.environ.get("DERMAUDIT_SALT") or new_salt()


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
        from .triage import add_fingerprint

        out = add_fingerprint(out.drop("fingerprint"))
    return out
