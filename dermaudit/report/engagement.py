"""Who the report is for and what kind of report it is: printed on the cover of the HTML
report, at the top of the console and in every output's summary (``summary["engagement"]``).

The kind changes the wording of the cover and of the reading guide, never a figure:

* ``neutral`` (default) - "Coding and compliance audit": no claim about the purpose;
* ``nightly`` - an operational check of the charges before they go out;
* ``pre-engagement`` - a consultant's assessment of a new client's coding, to be signed;
* ``follow-up`` - the re-audit after education or process changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ReportKind(StrEnum):
    NEUTRAL = "neutral"
    NIGHTLY = "nightly"
    PRE_ENGAGEMENT = "pre-engagement"
    FOLLOW_UP = "follow-up"


KIND_TITLES: dict[ReportKind, str] = {
    ReportKind.NEUTRAL: "Coding and compliance audit",
    ReportKind.NIGHTLY: "Nightly operational check",
    ReportKind.PRE_ENGAGEMENT: "Pre-engagement coding and compliance assessment",
    ReportKind.FOLLOW_UP: "Post-engagement follow-up audit",
}
KIND_PURPOSE: dict[ReportKind, str] = {
    ReportKind.NEUTRAL: "An audit of the charge lines in the files named below.",
    ReportKind.NIGHTLY: (
        "An operational check of the charges in the files named below, run before claims go "
        "out: fix the lines flagged compliance or denial before submission."
    ),
    ReportKind.PRE_ENGAGEMENT: (
        "An assessment of the practice's coding from its exported charges, prepared before the "
        "engagement; figures are estimates to be confirmed on the charts sampled in this report."
    ),
    ReportKind.FOLLOW_UP: (
        "A re-audit after the engagement; compare its rates and dollars with the assessment "
        "that preceded it."
    ),
}


def parse_kind(value: str | None) -> ReportKind:
    """``ReportKind`` from its value; ``None`` or an empty string is the neutral kind."""
    if not value:
        return ReportKind.NEUTRAL
    try:
        return ReportKind(value.strip().lower())
    except ValueError as exc:
        known = ", ".join(k.value for k in ReportKind)
        raise ValueError(f"report kind {value!r} is not one of: {known}") from exc


@dataclass(frozen=True)
class Engagement:
    """Engagement metadata. Every field is optional; empty fields are not printed."""

    practice: str = ""
    engagement: str = ""
    prepared_by: str = ""
    period: str = ""
    kind: ReportKind = ReportKind.NEUTRAL

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    @property
    def purpose(self) -> str:
        return KIND_PURPOSE[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "practice": self.practice or None,
            "engagement": self.engagement or None,
            "prepared_by": self.prepared_by or None,
            "period": self.period or None,
            "kind": self.kind.value,
            "title": self.title,
        }

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the fields that are set, in cover order."""
        pairs = [
            ("Practice", self.practice),
            ("Engagement", self.engagement),
            ("Period", self.period),
            ("Prepared by", self.prepared_by),
        ]
        return [(k, v) for k, v in pairs if v]


def from_options(
    practice: str | None = None,
    engagement: str | None = None,
    prepared_by: str | None = None,
    period: str | None = None,
    kind: str | None = None,
) -> Engagement:
    """An ``Engagement`` from command-line or config values (None = not given)."""
    return Engagement(
        practice=(practice or "").strip(),
        engagement=(engagement or "").strip(),
        prepared_by=(prepared_by or "").strip(),
        period=(period or "").strip(),
        kind=parse_kind(kind),
    )


def of_result(result: Any) -> Engagement:
    """The engagement a scan was run for: its settings' ``practice``, ``engagement``,
    ``prepared_by``, ``period`` and ``report_kind`` (a bare engine result has none)."""
    st = getattr(result, "settings", None)
    if st is None:
        return Engagement()
    return from_options(
        getattr(st, "practice", None),
        getattr(st, "engagement", None),
        getattr(st, "prepared_by", None),
        getattr(st, "period", None),
        getattr(st, "report_kind", None),
    )
