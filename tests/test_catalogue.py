"""Catalogue contract: every rule documented, sourced, and covered by fixtures."""

from __future__ import annotations

import re

import pytest

from dermaudit.model import Confidence, Severity
from dermaudit.rules.base import RULES

from .helpers import FIXTURES, all_fixtures, load_fixture


def test_every_fixture_names_an_existing_rule() -> None:
    for p in FIXTURES.glob("*.toml"):
        data = load_fixture(p)
        assert data["rule"] in RULES, f"{p.name} names unknown rule {data['rule']}"
        assert p.stem == data["rule"], f"{p.name} should be named {data['rule']}.toml"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_has_fail_and_pass_fixtures(rule_id: str) -> None:
    cases = [c for r, _, c in all_fixtures() if r == rule_id]
    assert any(c["expect"] for c in cases), f"{rule_id}: no case that is flagged"
    assert any(not c["expect"] for c in cases), f"{rule_id}: no near-miss case that passes"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_docs_complete(rule_id: str) -> None:
    r = RULES[rule_id]
    assert re.fullmatch(r"[A-Z]+-\d{3}", r.id)
    for section, text in r.doc().items():
        assert text.strip(), f"{rule_id}: empty section {section}"
    assert len(r.source) > 20, f"{rule_id}: source too thin"
    if r.confidence == Confidence.U:
        assert r.severity in (Severity.REVIEW, Severity.INFO)
