"""Catalogue contract: every rule documented, sourced, and covered by fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dermaudit.model import Confidence, Severity
from dermaudit.rules.base import ENTRIES, RULES, Entry, Rule, catalogue

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


# ---- sources a reader can check (issue #12 item 9) ------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
# Names of internal documents and working remarks that must never reach a user.
INTERNAL = re.compile(
    r"derm_rules|domain (notes|reference)|\bour (own )?(choice|choices|reference|notes|excerpt"
    r"|reading|inference|words|plausibility|research)\b|placeholder|reference\.R|northstar"
    r"|\bR reference\b|exports_and_peers|/work/shared|\bthe reference\b|\bTODO\b",
    re.IGNORECASE,
)


def _rule_texts(entry: Rule | Entry) -> dict[str, str]:
    texts = {"title": entry.title, **entry.doc()}
    for sev, why in entry.escalations:
        texts[f"severity {sev}"] = why
    return texts


@pytest.mark.parametrize("rule_id", sorted(catalogue()))
def test_rule_text_names_no_internal_document(rule_id: str) -> None:
    for field, text in _rule_texts(catalogue()[rule_id]).items():
        hit = INTERNAL.search(text)
        assert hit is None, f"{rule_id} {field}: internal reference {hit.group(0)!r}"


def test_reference_tables_name_no_internal_document() -> None:
    bad = []
    for p in sorted((ROOT / "rulesets").iterdir()):
        if p.suffix not in (".csv", ".toml", ".md"):
            continue
        for n, line in enumerate(p.read_text("utf-8").splitlines(), 1):
            # a bare 'section 6' pointed into the internal notes; documents are named in full
            hit = INTERNAL.search(line) or re.search(r"\bsection [1-9](\.\d)?\b", line)
            if hit:
                bad.append(f"{p.name}:{n}: {hit.group(0)}")
    assert not bad, bad


def test_readme_catalogue_names_no_internal_document() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index("## The rule catalogue")
    end = text.index("\n## ", start + 5)
    hit = INTERNAL.search(text[start:end])
    assert hit is None, hit.group(0) if hit else ""


@pytest.mark.parametrize("rule_id", sorted(catalogue()))
def test_rule_names_a_primary_source(rule_id: str) -> None:
    """A primary source: a CMS/HHS document, an NCCI file or manual, an LCD/NCD or article id,
    CPT, ICD-10-CM, HCPCS, a statute or regulation, or an OIG report."""
    src = catalogue()[rule_id].source
    primary = re.compile(
        r"CMS|Medicare|NCCI|\bLCD|\bL\d{5}\b|\bA\d{5}\b|NCD|CPT|ICD-10-CM|HCPCS|Social Security"
        r"|CFR|HHS-OIG|OEI-|Pub\. 100-|X12"
    )
    assert primary.search(src), f"{rule_id}: no primary source in {src!r}"


# ---- every id that can appear in output (issue #17 item 6) ----------------------------------


def test_every_data_quality_id_is_in_the_catalogue() -> None:
    from dermaudit.ingest import DQ_RULES

    for rid, title in DQ_RULES.items():
        assert rid in ENTRIES, f"{rid} can appear in output but has no catalogue entry"
        assert ENTRIES[rid].title == title


@pytest.mark.parametrize("rule_id", sorted(ENTRIES))
def test_entry_docs_complete(rule_id: str) -> None:
    e = ENTRIES[rule_id]
    for section, text in e.doc().items():
        assert text.strip(), f"{rule_id}: empty section {section}"


# ---- severities (issue #12 item 8) ----------------------------------------------------------


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_u_rules_never_report_more_than_review(rule_id: str) -> None:
    r = RULES[rule_id]
    if r.confidence == Confidence.U:
        assert r.allowed_severities <= {"review", "info"}, (rule_id, r.allowed_severities)


def test_declared_escalations_are_documented() -> None:
    for r in RULES.values():
        text = r.doc()["Severity"]
        for sev, why in r.escalations:
            assert f"{sev} when {why}" in text


def test_sample_findings_use_only_allowed_severities() -> None:
    from .helpers import scan_paths

    res = scan_paths([str(ROOT / "sample_data" / "charges.csv")], select=["ALL"])
    bad = []
    for rid, sev in res.findings.select("rule", "severity").unique().iter_rows():
        allowed = catalogue()[rid].allowed_severities
        if sev not in allowed:
            bad.append((rid, sev, sorted(allowed)))
    assert not bad, bad
