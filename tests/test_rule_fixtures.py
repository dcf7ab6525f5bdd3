"""One parametrised test over every rule fixture: the exact rows each rule flags.

Fixture files live in tests/fixtures/rules/<RULE-ID>.toml; each case gives a tiny charge
export (CSV text) and ``expect``: the list of row-number sets the rule must flag (``[]`` for a
case that must pass). Optional ``message_contains`` / ``suggestion_contains`` substrings must
appear in the findings, and ``amounts`` lists the exact dollar amounts in row order (``severity`` and ``money`` the
severities and money directions). A file-level
``ruleset = "<name>"`` layers ``tests/fixtures/rulesets/<name>/`` over the default tables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dermaudit import icd10
from dermaudit.rules.base import RULES

from .helpers import all_fixtures, flagged, scan_text

# a complete ICD-10-CM code with its dot (categories such as C44 are not suggestions)
DX_CODE = re.compile(r"\b[A-TV-Z][0-9][0-9A-Z]\.[0-9A-Z]{1,4}\b")

CASES = all_fixtures()


@pytest.mark.parametrize(
    ("rule", "case"),
    [pytest.param(r, c, id=f"{r}::{n}") for r, n, c in CASES],
)
def test_fixture(rule: str, case: dict[str, Any], tmp_path: Path) -> None:
    result = scan_text(tmp_path, case["csv"], select=[rule], layer=case.get("ruleset"))
    assert rule in result.rules_run, result.rules_skipped
    got = flagged(result, rule)
    want = sorted(sorted(r) for r in case["expect"])
    assert got == want
    f = result.findings.filter(pl.col("rule") == rule).sort(pl.col("rows").list.first())
    for needle in case.get("message_contains", []):
        assert any(needle in m for m in f["message"].to_list()), (needle, f["message"].to_list())
    for needle in case.get("suggestion_contains", []):
        assert any(needle in m for m in f["suggestion"].to_list()), (
            needle,
            f["suggestion"].to_list(),
        )
    if "amounts" in case:
        assert [round(a, 2) for a in f["amount"].to_list()] == case["amounts"]
    if "severity" in case:
        assert f["severity"].to_list() == case["severity"]
    if "money" in case:
        assert f["money"].to_list() == case["money"]
    # every finding carries the rule's declared severity or a documented escalation
    allowed = RULES[rule].allowed_severities
    assert set(f["severity"].to_list()) <= allowed, (f["severity"].to_list(), sorted(allowed))
    # a diagnosis the rule suggests (named in the suggestion, not the billed code the message
    # talks about) is a billable ICD-10-CM code on the date of service
    for sugg, message, dos in f.select("suggestion", "message", "dos").iter_rows():
        named = set(DX_CODE.findall(message or ""))
        for code in set(DX_CODE.findall(sugg or "")) - named:
            assert dos is None or icd10.billable_on(code, dos), (code, dos, sugg)
