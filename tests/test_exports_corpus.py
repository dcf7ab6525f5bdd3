"""Every export shape of tests/exports/ scans with no configuration: its columns map to the
roles it carries, titles, page breaks and footers are set aside (no data-quality finding), and
it gives the findings of the canonical sample restricted to the same columns and lines."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from .helpers import scan_paths

HERE = Path(__file__).resolve().parent / "exports"
sys.path.insert(0, str(HERE))
import make_exports  # noqa: E402  (tests/exports/make_exports.py)

MANIFEST = json.loads((HERE / "manifest.json").read_text())
CANON_COLUMNS = {
    "claim_id": ["Claim ID"],
    "patient_id": ["Patient ID"],
    "dos": ["Date of Service"],
    "provider": ["Rendering Provider"],
    "credential": ["Credential"],
    "payer": ["Payer"],
    "cpt": ["CPT"],
    "modifiers": ["Mod 1", "Mod 2"],
    "units": ["Units"],
    "dx": ["Diag 1", "Diag 2", "Diag 3"],
    "charge": ["Charge"],
    "site": ["Site"],
    "lesion_size_cm": ["Lesion Size (cm)"],
    "pos": ["POS"],
}


def _keys(result) -> Counter[tuple[str, str, date]]:  # type: ignore[no-untyped-def]
    f = result.findings
    return Counter(zip(f["rule"], f["patient_id"], f["dos"], strict=True))


def test_the_corpus_is_what_the_generator_makes(tmp_path: Path) -> None:
    manifest = make_exports.build(tmp_path)
    assert manifest == MANIFEST and len(manifest) >= 12
    for name in manifest:
        assert (tmp_path / name).read_bytes() == (HERE / name).read_bytes(), name


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_export_maps_with_no_configuration(name: str, tmp_path: Path) -> None:
    spec = MANIFEST[name]
    got = scan_paths([str(HERE / name)])
    assert set(spec["roles"]) <= got.ingested.present, set(spec["roles"]) - got.ingested.present
    assert got.ingested.dq.height == 0  # titles, page breaks and footers are not data rows
    # the same lines and columns of the canonical sample give the same findings
    canon = pl.read_csv(make_exports.SAMPLE, infer_schema=False)
    rows = make_exports.rows_for(next(s for s in make_exports.SPECS if s["file"] == name))
    keep = {(r["claim"], r["cpt"]) for r in rows}
    canon = canon.filter(
        pl.struct("Claim ID", "CPT").map_elements(
            lambda s: (s["Claim ID"], s["CPT"]) in keep, return_dtype=pl.Boolean
        )
    )
    cols = [c for role in spec["roles"] for c in CANON_COLUMNS.get(role, [])]
    ref = tmp_path / "canonical.csv"
    canon.select(cols).write_csv(ref)
    want = scan_paths([str(ref)])
    both = set(got.rules_run) & set(want.rules_run)
    assert set(want.rules_run) <= set(got.rules_run), set(want.rules_run) - set(got.rules_run)
    g = Counter({k: v for k, v in _keys(got).items() if k[0] in both})
    w = Counter({k: v for k, v in _keys(want).items() if k[0] in both})
    assert g == w, (g - w, w - g)
    assert sum(w.values()) > 5  # the comparison is not vacuous


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_export_notes_say_what_was_set_aside(name: str) -> None:
    got = scan_paths([str(HERE / name)])
    titled = make_exports.SPECS[[s["file"] for s in make_exports.SPECS].index(name)]
    if titled.get("title") or titled.get("footer") or titled.get("page"):
        assert any("set aside" in n for n in got.ingested.notes), got.ingested.notes
