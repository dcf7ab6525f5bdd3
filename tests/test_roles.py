"""Column roles from content: renamed, shuffled and unheard-of headers still map; the public
CMS carrier samples audit every row; low confidence names the candidates."""

from __future__ import annotations

import random
import string
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dermaudit
from dermaudit.errors import InputError
from dermaudit.ingest.roles import infer

from .helpers import scan_paths
from .test_cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "charges.csv"
RIF = Path(__file__).resolve().parent / "data" / "cms-bfd-carrier-rif-samples"
ROLE_OF = {
    "Claim ID": "claim_id", "Patient ID": "patient_id", "Date of Service": "dos",
    "Rendering Provider": "provider", "Credential": "credential", "Payer": "payer",
    "CPT": "cpt", "Mod 1": "modifiers", "Mod 2": "modifiers", "Units": "units",
    "Diag 1": "dx", "Diag 2": "dx", "Diag 3": "dx", "Charge": "charge", "Site": "site",
    "Lesion Size (cm)": "lesion_size_cm", "POS": "pos",
}  # fmt: skip


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return pl.read_csv(SAMPLE, infer_schema=False)


@pytest.fixture(scope="module")
def canonical_findings() -> Counter[tuple[str, tuple[int, ...]]]:
    return _keys(scan_paths([str(SAMPLE)]))


def _keys(result) -> Counter[tuple[str, tuple[int, ...]]]:  # type: ignore[no-untyped-def]
    f = result.findings
    return Counter(zip(f["rule"], map(tuple, f["rows"].to_list()), strict=True))


def _roles(df: pl.DataFrame, names: dict[str, str]) -> dict[str, str]:
    """role of each original column, as inferred on ``df`` (renamed: new -> original)."""
    inf = infer(df)
    out = {}
    for role, src in inf.mapping.as_dict().items():
        for c in [src] if isinstance(src, str) else src:
            out[names[c]] = role
    return out


def _check(df: pl.DataFrame, names: dict[str, str], tmp: Path, want: Counter) -> None:  # type: ignore[type-arg]
    got = _roles(df, names)
    assert got == ROLE_OF, {k: (got.get(k), v) for k, v in ROLE_OF.items() if got.get(k) != v}
    p = tmp / "x.csv"
    df.write_csv(p)
    assert _keys(scan_paths([str(p)])) == want


def test_headers_renamed_col_1_to_n(
    sample: pl.DataFrame, tmp_path: Path, canonical_findings: Counter
) -> None:  # type: ignore[type-arg]
    names = {f"col_{i}": c for i, c in enumerate(sample.columns, start=1)}
    _check(sample.rename({v: k for k, v in names.items()}), names, tmp_path, canonical_findings)


def test_columns_shuffled(
    sample: pl.DataFrame, tmp_path: Path, canonical_findings: Counter
) -> None:  # type: ignore[type-arg]
    cols = sample.columns[:]
    random.Random(7).shuffle(cols)
    _check(sample.select(cols), {c: c for c in cols}, tmp_path, canonical_findings)


def test_header_words_never_seen(
    sample: pl.DataFrame, tmp_path: Path, canonical_findings: Counter
) -> None:  # type: ignore[type-arg]
    words = ["Zeta", "Quill", "Marlin", "Ochre", "Vesper", "Tundra", "Cobalt", "Juniper",
             "Sable", "Fable", "Gable", "Nimbus", "Piston", "Lark", "Ember", "Rook", "Wren"]  # fmt: skip
    names = {f"{w} Field": c for w, c in zip(words, sample.columns, strict=True)}
    _check(sample.rename({v: k for k, v in names.items()}), names, tmp_path, canonical_findings)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    words=st.lists(
        st.text(string.ascii_uppercase, min_size=3, max_size=8),
        min_size=17,
        max_size=17,
        unique=True,
    ),
)
def test_random_order_and_random_headers(sample: pl.DataFrame, seed: int, words: list[str]) -> None:
    cols = sample.columns[:]
    random.Random(seed).shuffle(cols)
    names = {f"X{w}": c for w, c in zip(words, cols, strict=True)}
    got = _roles(sample.select(cols).rename({v: k for k, v in names.items()}), names)
    assert got == ROLE_OF


def test_cms_carrier_rif_samples_audit_every_row() -> None:
    for f in sorted(RIF.glob("*.txt")):
        r = scan_paths([str(f)])
        assert r.ingested.dq.height == 0, r.ingested.dq["message"].to_list()
        assert r.ingested.lines.height == r.ingested.rows_total > 0
        assert str(r.ingested.lines["dos"].min()) == "1999-10-27"  # 27-OCT-1999
        assert r.ingested.lines["mods"].list.contains("LT").all()


def test_required_role_missing_names_candidates_and_the_columns_line(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("Alpha,Bravo,Charlie\nP1,2025-03-04,abc\nP2,2025-03-05,def\n")
    with pytest.raises(
        InputError, match=r'no column for cpt .*--columns map.toml, e.g. cpt = "<your column>"'
    ):
        dermaudit.scan(p)
    r = cli("inspect", str(p))
    assert r.returncode == 0 and "missing required: cpt" in r.stdout


def test_inspect_explains_and_writes_a_reusable_map(tmp_path: Path) -> None:
    p = tmp_path / "odd.csv"
    p.write_text(
        "Ref,When,What,How many,Who,Paid by,Codes\n"
        'P1,03/04/2025,17000,3,"Roe, Jane MD",Medicare,L57.0\n'
        'P1,03/04/2025,99213,1,"Roe, Jane MD",Medicare,L57.0\n'
        'P2,03/05/2025,11104,1,"Doe, Al PA-C",Aetna PPO,D48.5\n'
    )
    out = tmp_path / "cols.toml"
    r = cli("inspect", str(p), "--write-columns", str(out))
    assert r.returncode == 0, r.stderr
    assert "CPT/HCPCS" in r.stdout and "dates" in r.stdout
    text = out.read_text()
    assert 'cpt = "What"' in text and 'dos = "When"' in text and 'units = "How many"' in text
    a = dermaudit.scan(p).findings
    b = dermaudit.scan(p, columns=out).findings
    assert a.equals(b) and a.height > 0
    creds = dermaudit.scan(p, select=["MOHS"]).lines
    assert creds is not None and creds["credential"].to_list() == ["MD", "MD", "PA"]


def test_credential_from_taxonomy_code(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        "patient_id,dos,cpt,provider,taxonomy,dx\n"
        "P1,2025-03-04,17311,1234567893,363A00000X,C44.311\n"
        "P2,2025-03-04,17311,1234567893,207ND0101X,C44.311\n"
    )
    lines = dermaudit.scan(p).lines
    assert lines is not None and lines["credential"].to_list() == ["PA", "MD/DO"]


def test_void_lines_are_set_aside_and_counted(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_text(
        "patient_id,dos,cpt,units,status\n"
        "P1,2025-03-04,17000,3,Posted\nP1,2025-03-04,17000,3,VOID\nP2,2025-03-04,99213,1,\n"
    )
    r = dermaudit.scan(p, select=["DEST"])
    assert r.lines is not None and r.lines.height == 2
    assert any("1 line(s) set aside because their status says void" in n for n in r.ingested.notes)
    assert r.findings.filter(pl.col("rule") == "DEST-002")["rows"].to_list() == [[1]]


def test_detection_reads_only_a_sample() -> None:
    from dermaudit.ingest.roles import SAMPLE_HEAD, SAMPLE_SPREAD, sample

    big = pl.DataFrame({"a": [str(i) for i in range(200_000)]})
    assert sample(big).height <= SAMPLE_HEAD + SAMPLE_SPREAD + 1
