"""The report's "References" appendix, collected from the rule declarations.

Each rule declares its sources in ``Rule.source``: citations separated by ``;`` (semicolons
inside parentheses belong to the citation). The appendix lists every distinct citation of the
rules whose findings are in the report, numbered, with the rules that cite it. Nothing here is
a second, hand-written list: fix a citation in the rule and the appendix follows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..rules.base import RULES

# data-quality findings (DQ-*) are about the claim line itself: the elements an 837P line needs
DQ_SOURCE = (
    "ASC X12N 837 Professional implementation guide (005010X222A1): date of service, procedure "
    "code, service units and patient elements of a claim line; Medicare Claims Processing "
    "Manual, Pub. 100-04, ch. 1, §80.3.1-§80.3.2 (claims with incomplete or invalid "
    "required data are returned as unprocessable)"
)


def split_top_level(text: str) -> list[str]:
    """``text`` split at the semicolons outside parentheses, each piece stripped."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth <= 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip().rstrip(".").strip() for p in parts if p.strip().rstrip(".").strip()]


def rule_sources(rule_id: str) -> list[str]:
    """The distinct citations of one rule (DQ rules: the claim-line standard)."""
    rule = RULES.get(rule_id)
    if rule is None:
        return [DQ_SOURCE] if rule_id.startswith("DQ") else []
    out: list[str] = []
    for c in split_top_level(rule.source):
        if c not in out:
            out.append(c)
    return out


@dataclass(frozen=True)
class Reference:
    number: int
    text: str
    rules: tuple[str, ...]


def collect(rule_ids: Iterable[str]) -> list[Reference]:
    """Numbered references of ``rule_ids``, in the order the rules (sorted) first cite them."""
    order: dict[str, list[str]] = {}
    for rid in sorted(set(rule_ids)):
        for c in rule_sources(rid):
            order.setdefault(c, []).append(rid)
    return [Reference(i, c, tuple(r)) for i, (c, r) in enumerate(order.items(), start=1)]
