"""X12 837P reader: one file -> service lines (every claim version) and claim versions.

Vectorised: each segment kind is split into elements once (``Segments.fields``), the loop
each segment sits in comes from forward-filled segment numbers (``_context``), and loops are
tied together by joins; no Python loop runs over segments or lines. ``x12.py`` decides which
claim versions to audit and hands the lines to the ordinary normalisation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .x12_segments import COMP, Problem, Segments, is_id, marker, read_segments

# NM101 entity identifier codes used by the 837P (005010X222A1) loops
NM1_ENTITIES = set(
    [
        "40",
        "41",
        "85",
        "87",
        "PE",
        "IL",
        "PR",
        "QC",
        "DN",
        "P3",
        "82",
        "77",
        "DQ",
        "PW",
        "45",
        "DK",
        "QB",
    ]
)
DX_QUALS = {"ABK": "icd10", "ABF": "icd10", "BK": "icd9", "BF": "icd9"}
FREQ_NAMES = {"1": "original", "6": "corrected", "7": "replacement", "8": "void"}
# payer responsibility sequence (SBR01): P primary, S secondary, T tertiary, A..H fourth..
# eleventh, U unknown
RESP_RANK = {c: i for i, c in enumerate("PSTABCDEFGHU")}
# NUCC Health Care Provider Taxonomy code set: grouping of the first characters of a
# taxonomy code -> the credential the rules read (physician groups 20x, PA 363A, NP 363L,
# clinical nurse specialist 364S, registered nurse 163W)
TAXONOMY_CREDENTIAL = (
    ("207", "MD/DO"),
    ("208", "MD/DO"),
    ("204", "MD/DO"),
    ("363A", "PA"),
    ("363L", "NP"),
    ("364S", "CNS"),
    ("163W", "RN"),
)
N_DX = 4  # SV107 holds up to four pointers
OUT_COLUMNS = (
    "__file",
    "__row",
    "claim_id",
    "patient_id",
    "dos",
    "provider",
    "credential",
    "payer",
    "cpt",
    "mod1",
    "mod2",
    "mod3",
    "mod4",
    "units",
    *(f"dx{i}" for i in range(1, N_DX + 1)),
    "charge",
    "pos",
    "group_id",
    "billing_provider",
    "supervising_provider",
    "taxonomy",
    "line_control",
)


@dataclass
class Claims837:
    """One 837P file read: service lines (all claim versions), one row per claim version,
    envelope facts, problems and notes."""

    path: Path
    lines: pl.DataFrame
    claims: pl.DataFrame
    envelope: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]


# ---------------------------------------------------------------------------------------------
# context: which loop each segment belongs to


def _context(seg: Segments) -> pl.DataFrame:
    """Segment ids with the loop they sit in: ``st``, ``hl``, ``clm``, ``lx`` (segment numbers
    of the current ST, HL, CLM, LX; 0 = none), ``cob`` (inside a 2320/2330 other-subscriber
    loop) and ``nm1`` (the NM1 that opened the current name loop)."""
    f = seg.frame.select("seg", "chunk", "id")
    f = f.with_columns(marker(is_id("ST"), is_id("SE")).alias("st"))
    f = f.with_columns(marker(is_id("HL"), is_id("ST", "SE")).alias("hl"))
    f = f.with_columns(marker(is_id("CLM"), is_id("HL", "ST", "SE")).alias("clm"))
    f = f.with_columns(marker(is_id("LX"), is_id("CLM", "HL", "ST", "SE")).alias("lx"))
    f = f.with_columns(
        marker(
            (pl.col("id") == "SBR") & (pl.col("clm") > 0), is_id("LX", "CLM", "HL", "ST", "SE")
        ).alias("cob"),
        marker(is_id("NM1"), is_id("HL", "CLM", "LX", "SBR", "ST", "SE")).alias("nm1"),
    )
    return f.drop("chunk", "id")


def _typed(
    seg: Segments, ctx: pl.DataFrame, ids: str, n: int, comps: tuple[str, ...] = ()
) -> pl.DataFrame:
    return seg.fields(ids, n, comps).join(ctx, on="seg", how="left")


def _level(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``where``: hl (2000/2010 loops), claim (2300/2310), cob (2320/2330), line (2400+)."""
    return df.with_columns(
        pl.when(pl.col("clm") == 0)
        .then(pl.lit("hl"))
        .when(pl.col("lx") > 0)
        .then(pl.lit("line"))
        .when(pl.col("cob") > 0)
        .then(pl.lit("cob"))
        .otherwise(pl.lit("claim"))
        .alias("where")
    )


def _name(last: str, first: str, middle: str) -> pl.Expr:
    """'LAST, FIRST M' for a person, the organisation name otherwise."""
    return (
        pl.when(pl.col(first).fill_null("") != "")
        .then(
            pl.concat_str(
                pl.col(last),
                pl.lit(", "),
                pl.col(first),
                pl.when(pl.col(middle).fill_null("") != "")
                .then(pl.concat_str(pl.lit(" "), pl.col(middle)))
                .otherwise(pl.lit("")),
            )
        )
        .otherwise(pl.col(last))
    )


def _first(df: pl.DataFrame, key: str, cols: dict[str, pl.Expr]) -> pl.DataFrame:
    """The first row per ``key`` (in segment order) with the given columns."""
    return (
        df.sort("seg")
        .group_by(key, maintain_order=True)
        .agg(*(e.first().alias(n) for n, e in cols.items()))
    )


# ---------------------------------------------------------------------------------------------
# hierarchy


def _hierarchy(
    hl: pl.DataFrame, problems: list[Problem], notes: list[str], name: str
) -> pl.DataFrame:
    """HL table with ``parent_seg`` resolved by HL02 (the nearest preceding HL with that id in
    the same transaction), falling back on the nearest preceding HL of the expected level."""
    hl = hl.select(
        "seg",
        "st",
        pl.col("e1").alias("hl_id"),
        pl.col("e2").alias("parent"),
        pl.col("e3").alias("level"),
    ).sort("seg")
    for seg, lvl in hl.filter(~pl.col("level").is_in(["20", "22", "23"])).head(5).iter_rows():
        del lvl
        problems.append(
            Problem(
                seg, "HL03 is not a billing-provider (20), subscriber (22) or patient (23) level"
            )
        )
    for (seg,) in hl.filter(pl.col("hl_id").fill_null("") == "").select("seg").head(5).iter_rows():
        problems.append(Problem(seg, "HL01 (hierarchical id) is missing"))
    expected = pl.col("level").replace_strict({"22": "20", "23": "22"}, default=None)
    hl = hl.with_columns(expected.alias("want"))
    right = hl.select(
        pl.col("seg").alias("pseg"),
        "st",
        pl.col("hl_id").alias("parent"),
        pl.col("level").alias("plevel"),
    )
    by_id = hl.join_asof(
        right.sort("pseg"),
        left_on="seg",
        right_on="pseg",
        by=["st", "parent"],
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    ok = pl.col("pseg").is_not_null() & (pl.col("plevel") == pl.col("want"))
    need = by_id.filter(pl.col("want").is_not_null() & ~ok).select("seg", "st", "want")
    fallback = need.sort("seg").join_asof(
        hl.select(pl.col("seg").alias("fseg"), "st", pl.col("level").alias("want")).sort("fseg"),
        left_on="seg",
        right_on="fseg",
        by=["st", "want"],
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    if need.height:
        notes.append(
            f"{name}: {need.height} HL segment(s) name a parent (HL02) that is not there or not "
            "of the expected level; attached to the nearest preceding loop of that level"
        )
    for (seg,) in fallback.filter(pl.col("fseg").is_null()).select("seg").head(5).iter_rows():
        problems.append(Problem(seg, "this HL has no parent loop of the expected level"))
    out = by_id.join(fallback.select("seg", "fseg"), on="seg", how="left").with_columns(
        pl.when(ok).then(pl.col("pseg")).otherwise(pl.col("fseg")).alias("parent_seg")
    )
    return out.select("seg", "level", "parent_seg")


# ---------------------------------------------------------------------------------------------
# the reader


def parse_837(path: Path) -> Claims837:
    """Read one 837P file (all claim versions); problems are collected, not raised, except
    when no interchange header can be read (``InputError``)."""
    seg = read_segments(path)
    problems, notes = list(seg.problems), list(seg.notes)
    ctx = _context(seg)
    env = _envelope(seg, ctx, problems, notes)
    empty = pl.DataFrame(schema=dict.fromkeys(OUT_COLUMNS, pl.String))
    no_claims = pl.DataFrame()
    if any(p.fatal for p in problems) or not env["is_837p"]:
        return Claims837(path, empty, no_claims, env, problems, notes)
    lines, claims = _lines(seg, ctx, env, problems, notes)
    return Claims837(path, lines, claims, env, problems, notes)


def _envelope(
    seg: Segments, ctx: pl.DataFrame, problems: list[Problem], notes: list[str]
) -> dict[str, Any]:
    name = seg.name
    isa = seg.fields("ISA", 16)
    gs = seg.fields("GS", 8)
    st = seg.fields("ST", 3)
    bht = _typed(seg, ctx, "BHT", 6)
    kinds = st.select(
        "seg",
        pl.col("e1").alias("set"),
        pl.coalesce(pl.col("e3"), pl.lit(None, pl.String)).alias("version"),
    ).join_asof(
        gs.select(pl.col("seg").alias("gseg"), pl.col("e8").alias("gs_version")),
        left_on="seg",
        right_on="gseg",
        strategy="backward",
    )
    kinds = kinds.with_columns(pl.coalesce("version", "gs_version").alias("version"))
    is_p = (pl.col("set") == "837") & pl.col("version").fill_null("").str.contains("X222")
    n_p = kinds.filter(is_p).height
    other = kinds.filter(~is_p)
    labels = {
        "835": "835 remittance advice (payments, not claims: give it with --remits)",
        "999": "999 acknowledgement (holds no claims)",
        "997": "997 acknowledgement (holds no claims)",
        "277": "277 claim status (holds no claims)",
    }
    for kind, version in other.select("set", "version").unique().sort("set").iter_rows():
        what = labels.get(kind or "", f"{kind} transaction")
        if kind == "837":
            v = version or ""
            what = (
                "837I institutional claim (dermaudit reads professional 837P)"
                if "X223" in v
                else "837D dental claim (dermaudit reads professional 837P)"
                if "X224" in v
                else "837 of an unknown implementation guide (dermaudit reads 005010X222 837P)"
            )
        n = other.filter(pl.col("set") == kind).height
        if n_p:
            notes.append(f"{name}: {n} transaction set(s) skipped: {what}")
        else:
            problems.append(
                Problem(0, f"{name} holds no 837P professional claims: it is an {what}")
            )
    if other.height and n_p:
        problems.append(Problem(0, "transaction sets other than 837P were skipped", fatal=False))

    def trimmed(df: pl.DataFrame, col: str) -> list[str]:
        if col not in df.columns:
            return []
        return sorted(df[col].str.strip_chars().drop_nulls().unique().to_list())

    return {
        "interchanges": isa.height,
        "groups": gs.height,
        "transactions": {
            str(k): int(v) for k, v in kinds.group_by("set").len().sort("set").iter_rows()
        },
        "sender": trimmed(isa, "e6"),
        "receiver": trimmed(isa, "e8"),
        "gs_sender": trimmed(gs, "e2"),
        "gs_receiver": trimmed(gs, "e3"),
        "versions": sorted(kinds["version"].drop_nulls().unique().to_list()),
        "usage": trimmed(isa, "e15"),
        "is_837p": n_p > 0,
        "st_837p": kinds.filter(is_p).select("seg"),
        "bht": bht.select("st", pl.col("e4").alias("bht_date"), pl.col("e5").alias("bht_time")),
    }


def _lines(
    seg: Segments,
    ctx: pl.DataFrame,
    env: dict[str, Any],
    problems: list[Problem],
    notes: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    name = seg.name
    keep_st = env["st_837p"]["seg"]
    ctx = ctx.filter(pl.col("st").is_in(keep_st.implode()))

    def T(ids: str, n: int, comps: tuple[str, ...] = ()) -> pl.DataFrame:
        return _level(_typed(seg, ctx, ids, n, comps).filter(pl.col("st") > 0))

    hl = T("HL", 4)
    nm1 = T("NM1", 9)
    sbr = T("SBR", 9)
    prv = T("PRV", 3)
    ref = T("REF", 2)
    dmg = T("DMG", 2)
    clm = T("CLM", 5, ("e5",))
    hi = T("HI", 12, tuple(f"e{i}" for i in range(1, 13)))
    lx = T("LX", 1)
    sv1 = T("SV1", 7, ("e1", "e7"))
    dtp = T("DTP", 3).filter(pl.col("e1") == "472")
    _check_required(seg, ctx, hl, nm1, sbr, clm, hi, lx, sv1, dtp, problems)
    if any(p.fatal for p in problems):
        return pl.DataFrame(schema=dict.fromkeys(OUT_COLUMNS, pl.String)), pl.DataFrame()

    tree = _hierarchy(hl, problems, notes, name)
    if any(p.fatal for p in problems):
        return pl.DataFrame(schema=dict.fromkeys(OUT_COLUMNS, pl.String)), pl.DataFrame()

    # 2000A / 2010AA billing provider
    hl_nm1 = nm1.filter(pl.col("where") == "hl")
    bill = _first(
        hl_nm1.filter(pl.col("e1") == "85"),
        "hl",
        {
            "billing_provider": _name("e3", "e4", "e5"),
            "billing_npi": pl.when(pl.col("e8") == "XX").then(pl.col("e9")),
        },
    )
    tin = _first(
        ref.filter((pl.col("where") == "hl") & (pl.col("e1") == "EI")).join(
            hl_nm1.filter(pl.col("e1") == "85").select(pl.col("seg").alias("nm1")), on="nm1"
        ),
        "hl",
        {"billing_tin": pl.col("e2")},
    )
    bill_tax = _first(
        prv.filter((pl.col("where") == "hl") & (pl.col("e1") == "BI")),
        "hl",
        {"billing_taxonomy": pl.col("e3")},
    )
    # 2000B / 2010BA / 2010BB subscriber and payer
    sub = _first(
        hl_nm1.filter(pl.col("e1") == "IL"),
        "hl",
        {"member_id": pl.col("e9"), "sub_last": pl.col("e3"), "sub_first": pl.col("e4")},
    )
    payer = _first(hl_nm1.filter(pl.col("e1") == "PR"), "hl", {"payer_name": pl.col("e3")})
    sbr_hl = _first(
        sbr.filter(pl.col("where") == "hl"),
        "hl",
        {"resp": pl.col("e1"), "relation": pl.col("e2"), "filing": pl.col("e9")},
    )
    # 2000C / 2010CA patient (a dependent)
    pat = _first(
        hl_nm1.filter(pl.col("e1") == "QC"),
        "hl",
        {"pat_last": pl.col("e3"), "pat_first": pl.col("e4"), "pat_seg": pl.col("seg")},
    )
    pat_dob = _first(
        dmg.filter(pl.col("where") == "hl").join(
            hl_nm1.filter(pl.col("e1") == "QC").select(pl.col("seg").alias("nm1")), on="nm1"
        ),
        "hl",
        {"pat_dob": pl.col("e2")},
    )

    # 2300 claims
    claims = clm.select(
        pl.col("seg").alias("clm"),
        "hl",
        "st",
        pl.col("e1").alias("claim_id"),
        pl.col("e2").alias("claim_charge"),
        pl.col("e5").str.split_exact(COMP, 2).struct.field("field_0").alias("claim_pos"),
        pl.col("e5").str.split_exact(COMP, 2).struct.field("field_2").alias("freq"),
    )
    lvl = tree.select(pl.col("seg").alias("hl"), "level", "parent_seg")
    claims = claims.join(lvl, on="hl", how="left")
    bad = claims.filter(~pl.col("level").is_in(["22", "23"]).fill_null(False))
    for (s,) in bad.select("clm").head(5).iter_rows():
        problems.append(Problem(s, "CLM is not inside a subscriber (22) or patient (23) loop"))
    bad_freq = claims.filter(~pl.col("freq").is_in(list(FREQ_NAMES)).fill_null(True))
    for (s,) in bad_freq.select("clm").head(5).iter_rows():
        problems.append(Problem(s, "CLM05-3 (claim frequency) is missing or not 1, 6, 7 or 8"))
    if any(p.fatal for p in problems):
        return pl.DataFrame(schema=dict.fromkeys(OUT_COLUMNS, pl.String)), pl.DataFrame()
    claims = claims.with_columns(
        pl.when(pl.col("level") == "23")
        .then(pl.col("parent_seg"))
        .otherwise(pl.col("hl"))
        .alias("sub_hl"),
        pl.when(pl.col("level") == "23").then(pl.col("hl")).alias("pat_hl"),
    ).join(
        tree.select(pl.col("seg").alias("sub_hl"), pl.col("parent_seg").alias("bill_hl")),
        on="sub_hl",
        how="left",
    )
    claims = (
        claims.join(bill.rename({"hl": "bill_hl"}), on="bill_hl", how="left")
        .join(tin.rename({"hl": "bill_hl"}), on="bill_hl", how="left")
        .join(bill_tax.rename({"hl": "bill_hl"}), on="bill_hl", how="left")
        .join(sub.rename({"hl": "sub_hl"}), on="sub_hl", how="left")
        .join(payer.rename({"hl": "sub_hl"}), on="sub_hl", how="left")
        .join(sbr_hl.rename({"hl": "sub_hl"}), on="sub_hl", how="left")
        .join(pat.rename({"hl": "pat_hl"}), on="pat_hl", how="left")
        .join(pat_dob.rename({"hl": "pat_hl"}), on="pat_hl", how="left")
    )
    claims = claims.join(env["bht"], on="st", how="left").with_columns(_patient_id())

    # claim-level (2300/2310) facts
    c_dtp = _first(dtp.filter(pl.col("where") == "claim"), "clm", {"claim_dos": pl.col("e3")})
    c_dtp_fmt = _first(
        dtp.filter(pl.col("where") == "claim"), "clm", {"claim_dos_fmt": pl.col("e2")}
    )
    c_nm1 = nm1.filter(pl.col("where") == "claim")
    c_rend = _first(
        c_nm1.filter(pl.col("e1") == "82"),
        "clm",
        {"claim_rendering": _name("e3", "e4", "e5"), "claim_rend_seg": pl.col("seg")},
    )
    c_sup = _first(
        c_nm1.filter(pl.col("e1") == "DQ"), "clm", {"claim_sup": _name("e3", "e4", "e5")}
    )
    rend_tax = prv.filter(pl.col("e1") == "PE").join(
        nm1.filter(pl.col("e1") == "82").select(pl.col("seg").alias("nm1")), on="nm1"
    )
    c_tax = _first(rend_tax.filter(pl.col("where") == "claim"), "clm", {"claim_tax": pl.col("e3")})
    dx = _diagnoses(hi.filter(pl.col("where") == "claim"), notes, name)
    claims = (
        claims.join(c_dtp, on="clm", how="left")
        .join(c_dtp_fmt, on="clm", how="left")
        .join(c_rend.drop("claim_rend_seg"), on="clm", how="left")
        .join(c_sup, on="clm", how="left")
        .join(c_tax, on="clm", how="left")
        .join(dx, on="clm", how="left")
    )

    # 2400 lines
    line = lx.select(pl.col("seg").alias("lx"), "clm", pl.col("e1").alias("lx_no"))
    l_sv1 = _first(
        sv1.filter(pl.col("where") == "line"),
        "lx",
        {
            "sv101": pl.col("e1"),
            "charge": pl.col("e2"),
            "unit_basis": pl.col("e3"),
            "units": pl.col("e4"),
            "line_pos": pl.col("e5"),
            "ptr": pl.col("e7"),
        },
    )
    l_dtp = _first(
        dtp.filter(pl.col("where") == "line"),
        "lx",
        {"line_dos": pl.col("e3"), "line_dos_fmt": pl.col("e2")},
    )
    l_ref = _first(
        ref.filter((pl.col("where") == "line") & (pl.col("e1") == "6R")),
        "lx",
        {"line_control": pl.col("e2")},
    )
    l_nm1 = nm1.filter(pl.col("where") == "line")
    l_rend = _first(
        l_nm1.filter(pl.col("e1") == "82"), "lx", {"line_rendering": _name("e3", "e4", "e5")}
    )
    l_sup = _first(l_nm1.filter(pl.col("e1") == "DQ"), "lx", {"line_sup": _name("e3", "e4", "e5")})
    l_tax = _first(rend_tax.filter(pl.col("where") == "line"), "lx", {"line_tax": pl.col("e3")})
    line = (
        line.join(l_sv1, on="lx", how="left")
        .join(l_dtp, on="lx", how="left")
        .join(l_ref, on="lx", how="left")
        .join(l_rend, on="lx", how="left")
        .join(l_sup, on="lx", how="left")
        .join(l_tax, on="lx", how="left")
        .join(claims, on="clm", how="left")
    )
    out = _canonical(line, name, notes)
    first = out.group_by("clm").agg(pl.col("dos").min().alias("first_dos"))
    claims = claims.join(first, on="clm", how="left")
    return out, claims.select(
        "first_dos",
        "clm",
        "st",
        "claim_id",
        "freq",
        "resp",
        "billing_npi",
        "billing_tin",
        "billing_provider",
        "payer_name",
        "filing",
        "bht_date",
        "bht_time",
        "claim_charge",
        pl.col("member_id").is_not_null().alias("has_member"),
    )


def _sha8_of_distinct(keys: pl.Series) -> pl.Series:
    """The first 8 hex digits of each key's SHA-256, hashed once per distinct key (a claim
    file repeats a patient's key on every claim) and mapped back."""
    distinct = keys.unique()
    table = pl.DataFrame(
        {
            "k": distinct,
            "d": [hashlib.sha256(v.encode()).hexdigest()[:8] for v in distinct.to_list()],
        }
    )
    return keys.to_frame("k").join(table, on="k", how="left", maintain_order="left")["d"]


def _patient_id() -> pl.Expr:
    """The subscriber's member id; for a dependent patient, ``member-xxxxxxxx`` where the
    suffix is a SHA-256 prefix of the dependent's name and birth date (stable across runs;
    the name itself never leaves this function)."""
    key = pl.concat_str(
        pl.col("member_id").fill_null(""),
        pl.col("pat_last").fill_null("").str.to_uppercase(),
        pl.col("pat_first").fill_null("").str.to_uppercase(),
        pl.col("pat_dob").fill_null(""),
        separator="|",
    )
    digest = key.map_batches(_sha8_of_distinct, return_dtype=pl.String)
    return (
        pl.when(pl.col("pat_seg").is_not_null() & pl.col("member_id").is_not_null())
        .then(pl.concat_str(pl.col("member_id"), pl.lit("-"), digest))
        .otherwise(pl.col("member_id"))
        .alias("patient_id")
    )


def _icd9_dot(code: pl.Expr) -> pl.Expr:
    """ICD-9-CM codes are written without the dot in X12: 4134 -> 413.4, V1082 -> V10.82,
    E8889 -> E888.9."""
    head = pl.when(code.str.starts_with("E")).then(4).otherwise(3)
    return (
        pl.when(code.str.len_chars() > head)
        .then(pl.concat_str(code.str.slice(0, head), pl.lit("."), code.str.slice(head)))
        .otherwise(code)
    )


def _diagnoses(hi: pl.DataFrame, notes: list[str], name: str) -> pl.DataFrame:
    """Per claim: ``dx_list`` (diagnosis codes in HI order, at most 12) and ``dx_sets``."""
    cols = [f"e{i}" for i in range(1, 13)]
    long = (
        hi.select("seg", "clm", *cols)
        .unpivot(index=["seg", "clm"], on=cols, variable_name="pos", value_name="v")
        .with_columns(pl.col("pos").str.slice(1).cast(pl.Int32))
        .filter(pl.col("v").fill_null("") != "")
        .sort("seg", "pos")
        .with_columns(
            pl.col("v").str.split_exact(COMP, 1).struct.field("field_0").alias("q"),
            pl.col("v").str.split_exact(COMP, 1).struct.field("field_1").alias("code"),
        )
    )
    # tolerate 'HI*BK*8901*BF*87200': a bare qualifier and its code in two elements
    bare = pl.col("q").is_in(list(DX_QUALS)) & pl.col("code").is_null()
    nxt = pl.col("v").shift(-1).over("seg")
    nxt_plain = ~nxt.str.contains(COMP, literal=True).fill_null(True) & ~nxt.is_in(list(DX_QUALS))
    long = long.with_columns(
        pl.when(bare & nxt_plain).then(nxt).otherwise(pl.col("code")).alias("code"),
        (bare & nxt_plain).shift(1).over("seg").fill_null(False).alias("consumed"),
    )
    split_pairs = long.filter(bare & pl.col("code").is_not_null()).height
    if split_pairs:
        notes.append(
            f"{name}: {split_pairs} diagnosis qualifier(s) in HI were written in a separate "
            "element from their code; read as pairs"
        )
    dx = long.filter(
        ~pl.col("consumed") & pl.col("q").is_in(list(DX_QUALS)) & pl.col("code").is_not_null()
    ).with_columns(
        pl.col("code").str.to_uppercase().str.replace_all(r"[.\s]", ""),
        pl.col("q").replace_strict(DX_QUALS).alias("codeset"),
    )
    dx = dx.with_columns(
        pl.when(pl.col("codeset") == "icd9")
        .then(_icd9_dot(pl.col("code")))
        .otherwise(pl.col("code"))
        .alias("code")
    )
    return dx.group_by("clm", maintain_order=True).agg(
        pl.col("code").head(12).alias("dx_list"),
        pl.col("codeset").unique().alias("dx_sets"),
    )


def _first_date(value: str, fmt: str) -> pl.Expr:
    v = pl.col(value).str.strip_chars()
    return pl.when(pl.col(fmt) == "RD8").then(v.str.slice(0, 8)).otherwise(v)


def _credential(tax: pl.Expr) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.String)
    for prefix, cred in reversed(TAXONOMY_CREDENTIAL):
        expr = pl.when(tax.str.starts_with(prefix)).then(pl.lit(cred)).otherwise(expr)
    return expr


def _canonical(line: pl.DataFrame, name: str, notes: list[str]) -> pl.DataFrame:
    comp = pl.col("sv101").str.split_exact(COMP, 6)
    ptr = (
        pl.col("ptr")
        .str.split(COMP)
        .list.eval(pl.element().str.strip_chars().cast(pl.Int64, strict=False) - 1)
    )
    line = line.with_columns(
        pl.col("dx_list").fill_null(pl.lit([], pl.List(pl.String))),
        ptr.alias("_ptr"),
    ).with_columns(
        pl.when(pl.col("_ptr").list.len() > 0)
        .then(pl.col("dx_list").list.gather(pl.col("_ptr").list.drop_nulls(), null_on_oob=True))
        .otherwise(pl.col("dx_list").list.head(N_DX))
        .alias("_dx")
    )
    dangling = line.filter(
        pl.col("_dx").list.drop_nulls().list.len() < pl.col("_dx").list.len()
    ).height
    if dangling:
        notes.append(
            f"{name}: {dangling} line(s) point (SV107) to a diagnosis the claim does not list; "
            "those pointers were ignored"
        )
    no_ptr = line.filter(pl.col("_ptr").fill_null([]).list.len() == 0).height
    if no_ptr:
        notes.append(
            f"{name}: {no_ptr} line(s) have no diagnosis pointer (SV107); the claim's first "
            f"{N_DX} diagnoses were used"
        )
    ranges = line.filter(
        (pl.coalesce("line_dos_fmt", "claim_dos_fmt") == "RD8")
        & (
            pl.coalesce("line_dos", "claim_dos").str.slice(0, 8)
            != pl.coalesce("line_dos", "claim_dos").str.slice(9, 8)
        )
    ).height
    if ranges:
        notes.append(
            f"{name}: {ranges} line(s) carry a date range (DTP*472 RD8) over several days; the "
            "first day is used as the date of service"
        )
    minutes = line.filter(pl.col("unit_basis") == "MJ").height
    if minutes:
        notes.append(
            f"{name}: {minutes} line(s) count minutes (SV103 MJ), not units; read as units"
        )
    tax = pl.coalesce("line_tax", "claim_tax", "billing_taxonomy")
    payer = (
        pl.when(pl.col("filing").fill_null("") != "")
        .then(
            pl.concat_str(
                pl.col("payer_name").fill_null(""),
                pl.lit(" (sbr09:"),
                pl.col("filing"),
                pl.lit(")"),
            ).str.strip_chars()
        )
        .otherwise(pl.col("payer_name"))
    )
    dx_cols = [
        pl.col("_dx").list.drop_nulls().list.get(i, null_on_oob=True).alias(f"dx{i + 1}")
        for i in range(N_DX)
    ]
    out = line.select(
        pl.lit(name).alias("__file"),
        pl.col("lx").alias("__row"),
        "claim_id",
        "patient_id",
        pl.coalesce(
            _first_date("line_dos", "line_dos_fmt"), _first_date("claim_dos", "claim_dos_fmt")
        ).alias("dos"),
        pl.coalesce("line_rendering", "claim_rendering", "billing_provider").alias("provider"),
        _credential(tax).alias("credential"),
        payer.alias("payer"),
        comp.struct.field("field_1").alias("cpt"),
        *(comp.struct.field(f"field_{i + 2}").alias(f"mod{i + 1}") for i in range(4)),
        "units",
        *dx_cols,
        "charge",
        pl.coalesce(
            pl.when(pl.col("line_pos").fill_null("") != "").then(pl.col("line_pos")),
            pl.col("claim_pos"),
        ).alias("pos"),
        pl.coalesce("billing_tin", "billing_npi").alias("group_id"),
        "billing_provider",
        pl.coalesce("line_sup", "claim_sup").alias("supervising_provider"),
        tax.alias("taxonomy"),
        "line_control",
        # version keys (dropped before normalisation)
        "clm",
    )
    return out


# ---------------------------------------------------------------------------------------------
# required loops and segments (fatal when missing: the read would be wrong)


def _check_required(
    seg: Segments,
    ctx: pl.DataFrame,
    hl: pl.DataFrame,
    nm1: pl.DataFrame,
    sbr: pl.DataFrame,
    clm: pl.DataFrame,
    hi: pl.DataFrame,
    lx: pl.DataFrame,
    sv1: pl.DataFrame,
    dtp: pl.DataFrame,
    problems: list[Problem],
) -> None:
    def add(df: pl.DataFrame, col: str, message: str) -> None:
        for (s,) in df.select(col).unique().sort(col).head(5).iter_rows():
            problems.append(Problem(int(s), message))

    def blank(c: str) -> pl.Expr:
        return pl.col(c).fill_null("").str.strip_chars() == ""

    # NM1 entity codes and required elements
    add(
        nm1.filter(~pl.col("e1").is_in(list(NM1_ENTITIES))),
        "seg",
        "NM101 is not an entity code used in an 837P",
    )
    add(nm1.filter(blank("e1") | blank("e2")), "seg", "NM1 lacks its required NM101/NM102")
    # required loops per HL level, counted among the HL's own segments (before any CLM)
    hl_nm1 = nm1.filter(pl.col("where") == "hl")
    levels = hl.select(pl.col("seg").alias("hl"), pl.col("e3").alias("level"))

    def count(df: pl.DataFrame, cond: pl.Expr, alias: str) -> pl.DataFrame:
        return df.filter(cond).group_by("hl").len().rename({"len": alias})

    c = (
        levels.join(count(hl_nm1, pl.col("e1") == "85", "n85"), on="hl", how="left")
        .join(count(hl_nm1, pl.col("e1") == "IL", "nIL"), on="hl", how="left")
        .join(count(hl_nm1, pl.col("e1") == "PR", "nPR"), on="hl", how="left")
        .join(count(hl_nm1, pl.col("e1") == "QC", "nQC"), on="hl", how="left")
        .join(count(sbr, pl.col("where") == "hl", "nSBR"), on="hl", how="left")
        .fill_null(0)
    )
    for lvl, col, what in (
        ("20", "n85", "billing provider name (2010AA NM1*85)"),
        ("22", "nSBR", "subscriber information (2000B SBR)"),
        ("22", "nIL", "subscriber name (2010BA NM1*IL)"),
        ("22", "nPR", "payer name (2010BB NM1*PR)"),
        ("23", "nQC", "patient name (2010CA NM1*QC)"),
    ):
        add(
            c.filter((pl.col("level") == lvl) & (pl.col(col) == 0)),
            "hl",
            f"this HL loop has no {what}, which the 837P requires",
        )
        add(
            c.filter((pl.col("level") == lvl) & (pl.col(col) > 1)),
            "hl",
            f"this HL loop repeats the {what}; X12 allows it once",
        )
    # claims: required elements, a diagnosis, at least one service line
    add(
        clm.filter(blank("e1") | blank("e2") | blank("e5")),
        "seg",
        "CLM lacks a required element (CLM01 claim id, CLM02 charge or CLM05 place/frequency)",
    )
    has_dx = hi.filter(pl.col("where") == "claim").select("clm").unique()
    add(
        clm.join(has_dx, left_on="seg", right_on="clm", how="anti"),
        "seg",
        "this claim has no diagnosis (HI), which the 837P requires",
    )
    add(
        clm.join(lx.select("clm").unique(), left_on="seg", right_on="clm", how="anti"),
        "seg",
        "this claim has no service line (LX)",
    )
    # service lines
    add(sv1.filter(pl.col("lx") == 0), "seg", "SV1 is not inside a service line (no LX before it)")
    add(
        lx.join(
            sv1.filter(pl.col("lx") > 0).select("lx").unique(),
            left_on="seg",
            right_on="lx",
            how="anti",
        ),
        "seg",
        "this service line (LX) has no SV1",
    )
    add(
        sv1.filter(pl.col("lx") > 0).group_by("lx").len().filter(pl.col("len") > 1),
        "lx",
        "this service line (LX) holds more than one SV1",
    )
    add(
        sv1.filter(blank("e1") | blank("e2") | blank("e4")),
        "seg",
        "SV1 lacks a required element (SV101 procedure, SV102 charge or SV104 units)",
    )
    add(
        dtp.filter(~pl.col("e2").is_in(["D8", "RD8"]).fill_null(False)),
        "seg",
        "DTP*472 uses a date format other than D8 or RD8",
    )
    shape = (
        pl.when(pl.col("e2") == "D8")
        .then(pl.col("e3").str.contains(r"^\d{8}$"))
        .otherwise(pl.col("e3").str.contains(r"^\d{8}-\d{8}$"))
    )
    add(
        dtp.filter(pl.col("e2").is_in(["D8", "RD8"]) & ~shape.fill_null(False)),
        "seg",
        "DTP*472 holds a date that does not match its format (CCYYMMDD or a CCYYMMDD range)",
    )
    # addresses: every N4 (city/state) follows its N3 (street) in the 837P
    ids = ctx.join(seg.frame.select("seg", "id"), on="seg").sort("seg")
    ids = ids.with_columns(
        pl.col("id").shift(1).alias("prev"), pl.col("id").shift(-1).alias("next")
    )
    add(
        ids.filter((pl.col("id") == "N4") & (pl.col("prev") != "N3")),
        "seg",
        "N4 is not preceded by its N3 address line (a segment is missing or out of order)",
    )
    add(
        ids.filter((pl.col("id") == "N3") & (pl.col("next") != "N4")),
        "seg",
        "N3 is not followed by its N4 city/state line (a segment is missing or out of order)",
    )
