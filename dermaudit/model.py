"""Shared vocabulary: severities, confidence, money direction, and the findings schema."""

from __future__ import annotations

from enum import StrEnum

import polars as pl


class Severity(StrEnum):
    INFO = "info"
    REVIEW = "review"
    REVENUE = "revenue"
    DENIAL = "denial"
    COMPLIANCE = "compliance"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER: list[Severity] = [
    Severity.INFO,
    Severity.REVIEW,
    Severity.REVENUE,
    Severity.DENIAL,
    Severity.COMPLIANCE,
]


class Confidence(StrEnum):
    P = "P"  # verified in a primary source (CMS/OIG/NCD/LCD)
    S = "S"  # verified in a secondary source only
    U = "U"  # not verified: the rule only asks for a review


class Money(StrEnum):
    OVER = "over"
    UNDER = "under"
    EITHER = "either"
    NONE = "none"


# Canonical charge-line columns after ingest (see dermaudit/ingest/__init__.py).
LINE_KEYS = ("patient_id", "dos", "provider")

# The findings frame: one schema feeds every output.
FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "family": pl.String(),
    "severity": pl.String(),
    "confidence": pl.String(),
    "money": pl.String(),
    "file": pl.String(),
    "rows": pl.List(pl.Int64()),
    "claim_id": pl.String(),
    "patient_id": pl.String(),
    "dos": pl.Date(),
    "provider": pl.String(),
    "payer_class": pl.String(),
    "codes": pl.String(),
    "message": pl.String(),
    "suggestion": pl.String(),
    "amount": pl.Float64(),
}

PAYER_CLASSES = (
    "medicare_ffs",
    "medicare_advantage",
    "medicaid",
    "commercial",
    "self_pay",
    "unknown",
)


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS_SCHEMA)
