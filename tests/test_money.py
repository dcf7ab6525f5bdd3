"""Money that adds up: overlapping findings are counted once, by a documented precedence.

The findings below are built by hand on the lines of a small export, in the shapes the issue
names: a biopsy finding and a modifier finding on one line, an excision finding and a
global-period finding on the same lines, two destruction findings with conflicting advice, a
chain of three findings, and findings that must never take part (provider-level pattern,
no dollars, money direction none).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dermaudit.model import FINDINGS_SCHEMA
from dermaudit.report import money
from dermaudit.report.summary import summarize

from .helpers import scan_text

CSV = """
claim_id,patient_id,dos,provider,payer,cpt,modifiers,units,dx,charge
C1,P1,2025-03-04,DrA,Medicare,11104,59,1,D48.5,300
C1,P1,2025-03-04,DrA,Medicare,11105,,1,D48.5,150
C2,P2,2025-03-05,DrA,Medicare,11402,,1,D23.5,400
C2,P2,2025-03-05,DrA,Medicare,12032,,1,D23.5,500
C3,P3,2025-03-06,DrB,Medicare,17000,,1,L57.0,120
C3,P3,2025-03-06,DrB,Medicare,17003,,20,L57.0,400
C4,P4,2025-03-07,DrB,Medicare,11102,,1,D48.5,200
C4,P4,2025-03-07,DrB,Medicare,11103,,1,D48.5,80
C4,P4,2025-03-07,DrB,Medicare,11103,,1,D48.5,80
"""


def finding(
    rule: str,
    sev: str,
    conf: str,
    money_: str,
    rows: list[int],
    amount: float | None,
    patient: str | None = "P1",
    provider: str | None = "DrA",
) -> dict[str, Any]:
    return {
        "rule": rule,
        "family": rule.split("-")[0],
        "severity": sev,
        "confidence": conf,
        "money": money_,
        "file": "charges.csv",
        "rows": rows,
        "claim_id": None,
        "patient_id": patient,
        "dos": date(2025, 3, 4) if patient else None,
        "provider": provider,
        "payer_class": "medicare_ffs",
        "codes": "",
        "message": f"{rule} message",
        "suggestion": f"{rule} advice",
        "amount": amount,
    }


FINDINGS = [
    # a biopsy finding and a modifier finding on the same line (row 1): the compliance
    # finding wins over the review one
    finding("BX-003", "review", "S", "over", [1, 2], 119.36),
    finding("MOD-003", "compliance", "S", "over", [1], 119.36),
    # an excision finding and a global finding on the same lines: same severity and
    # confidence, the larger amount wins
    finding("EXC-007", "review", "U", "under", [3, 4], 306.97, "P2"),
    finding("GLOB-002", "review", "U", "either", [4], 250.00, "P2"),
    # two destruction findings with conflicting advice: P beats S
    finding("DEST-002", "compliance", "P", "over", [6], 6.47, "P3", "DrB"),
    finding("DEST-003", "compliance", "S", "under", [5, 6], 11.31, "P3", "DrB"),
    # a chain: A (row 7-8) overlaps B (8-9), B overlaps C (9); A and C share nothing
    finding("BX-001", "compliance", "S", "over", [7, 8], 100.0, "P4", "DrB"),
    finding("PATH-001", "review", "U", "over", [8, 9], 60.0, "P4", "DrB"),
    finding("GEN-005", "denial", "S", "either", [9], 40.0, "P4", "DrB"),
    # never take part: a provider-level pattern listing example rows, a finding without
    # dollars, a finding whose amount is information only
    finding("EM-002", "review", "S", "over", [1, 3, 5], 500.0, None, "DrA"),
    finding("MOD-001", "denial", "S", "either", [1], 0.0),
    finding("REV-002", "info", "S", "none", [3], 75.0, "P2"),
]
EXPECTED_COVERED = {
    "BX-003": "MOD-003",
    "GLOB-002": "EXC-007",
    "PATH-001": "BX-001",
}


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FINDINGS_SCHEMA)


def covered_map(ann: pl.DataFrame) -> dict[str, str]:
    c = ann.filter(pl.col("covered_by").is_not_null())
    return dict(zip(c["rule"].to_list(), c["covered_by"].to_list(), strict=True))


def test_overlapping_findings_are_counted_once() -> None:
    ann = money.annotate(frame(FINDINGS))
    assert ann.columns == [*FINDINGS_SCHEMA, "counted", "covered_by"]
    assert ann["amount"].to_list() == [f["amount"] for f in FINDINGS]  # amounts kept intact
    assert covered_map(ann) == EXPECTED_COVERED
    counted = set(ann.filter(pl.col("counted"))["rule"].to_list())
    assert counted == {"MOD-003", "EXC-007", "DEST-002", "DEST-003", "BX-001", "GEN-005", "EM-002"}
    # over: MOD-003 119.36 + DEST-002 6.47 + BX-001 100 + EM-002 500 (provider pattern)
    # under: EXC-007 306.97 + DEST-003 11.31 (it shares row 6 with DEST-002, but its dollars
    # run the other way: the further difference to 17004, not the same dollars); either: GEN-005 40
    # (GLOB-002 covered, MOD-001 has no dollars); REV-002 is information, never at risk
    assert money.totals(ann) == {"over": 725.83, "under": 318.28, "either": 40.0}


def test_the_annotation_does_not_depend_on_row_order() -> None:
    a = money.annotate(frame(FINDINGS))
    b = money.annotate(frame(FINDINGS[::-1]))
    assert covered_map(b) == covered_map(a)
    assert money.totals(b) == money.totals(a)


def test_no_overlap_counts_everything_and_empty_frames_work() -> None:
    alone = [f for f in FINDINGS if f["rule"] in ("MOD-003", "EXC-007", "REV-002")]
    ann = money.annotate(frame(alone))
    assert ann["counted"].to_list() == [True, True, False]
    assert ann["covered_by"].null_count() == 3
    empty = money.annotate(frame([]))
    assert empty.height == 0 and {"counted", "covered_by"} <= set(empty.columns)
    assert money.totals(empty) == {"over": 0.0, "under": 0.0, "either": 0.0}


def test_summary_totals_add_up_and_use_the_counted_dollars(tmp_path: Path) -> None:
    base = scan_text(tmp_path, CSV, select=["GEN-005"])
    r = dataclasses.replace(base, findings=frame(FINDINGS), summary_cache=None)
    s = summarize(r)
    assert (s["amount_over"], s["amount_under"], s["amount_either"]) == (725.83, 318.28, 40.0)
    gross_over = 119.36 + 119.36 + 6.47 + 100 + 60 + 500
    assert s["amount_gross_over"] == pytest.approx(gross_over)
    assert s["amount_covered"] == pytest.approx(119.36 + 250 + 60)
    assert s["findings_covered"] == 3
    for m in ("over", "under", "either"):
        assert s[f"amount_{m}"] == pytest.approx(sum(x[f"amount_{m}"] for x in s["by_rule"]))
        assert s[f"amount_{m}"] == pytest.approx(
            sum(p[f"amount_{m}"] for p in s["by_provider"]) + s["practice_level"][f"amount_{m}"]
        )
    rule = {x["rule"]: x for x in s["by_rule"]}
    assert rule["BX-003"]["amount_at_risk"] == 0 and rule["BX-003"]["amount_covered"] == 119.36
    assert rule["MOD-003"]["amount_at_risk"] == 119.36
    assert rule["REV-002"]["amount_info"] == 75.0 and rule["REV-002"]["amount_at_risk"] == 0
    # the billed-charge view counts the lines of the counted line findings once:
    # MOD-003 row 1 (300) + DEST-002 row 6 (400) + BX-001 rows 7-8 (280); EM-002 is a
    # provider pattern whose example rows are not dollars at risk; under: EXC-007 rows 3-4 (900) + DEST-003 rows
    # 5-6 (520); either: GEN-005 row 9 (80)
    bc = s["billed_charges"]
    assert bc["available"] is True
    assert (bc["over"], bc["under"], bc["either"]) == (980.0, 1420.0, 80.0)


def test_billed_charges_are_absent_without_lines(tmp_path: Path) -> None:
    base = scan_text(tmp_path, CSV, select=["GEN-005"])
    bare = dataclasses.replace(
        base,
        findings=frame(FINDINGS),
        ingested=dataclasses.replace(base.ingested, lines=base.ingested.lines.clear()),
        summary_cache=None,
    )
    bc = summarize(bare)["billed_charges"]
    assert bc["available"] is False and bc["over"] is None
    assert "partitioned" in bc["reason"]
