"""X12 835 remittance advice (005010X221A1) read as remit lines, one per SVC service line.

Loops, by segment: ``CLP`` opens a claim payment (2100: CLP01 the patient control number, i.e.
the 837's CLM01; CLP02 status, 4 = denied; CLP03 billed; CLP04 paid); ``SVC`` opens a service
line (2110: SVC01 ``HC:code:mod..``, SVC02 billed, SVC03 paid, SVC05 units); ``CAS`` holds
adjustments as (group, reason, amount) triplets, at the claim or the line level; ``REF*6R`` the
line control number; ``LQ*HE`` remark codes (RARC); ``DTM*472`` / ``DTM*150`` the line's date
of service, ``DTM*232`` the claim's. A claim paid without service lines gives one claim-level
row (no code). Vectorised like the 837 reader: loops are forward-filled segment markers.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import InputError
from .x12_segments import COMP, is_id, marker, read_segments

REMIT_SCHEMA: dict[str, pl.DataType] = {
    "remit_file": pl.String(),
    "claim_id": pl.String(),
    "claim_status": pl.String(),
    "cpt": pl.String(),
    "modifiers": pl.List(pl.String),
    "units": pl.Float64(),
    "dos": pl.Date(),
    "billed": pl.Float64(),
    "paid": pl.Float64(),
    "carc": pl.List(pl.String),
    "carc_amount": pl.Float64(),
    "rarc": pl.List(pl.String),
    "line_control": pl.String(),
}


def _num(c: str) -> pl.Expr:
    return pl.col(c).str.strip_chars().cast(pl.Float64, strict=False)


def _date(c: str) -> pl.Expr:
    return pl.col(c).str.strip_chars().str.slice(0, 8).str.to_date("%Y%m%d", strict=False)


def parse_835(path: Path) -> pl.DataFrame:
    """The remit lines of one 835 file (``REMIT_SCHEMA``). Raises ``InputError`` (one line,
    segment numbers only) when the file is not a readable 835."""
    seg = read_segments(path)
    fatal = [p for p in seg.problems if p.fatal]
    if fatal:
        raise InputError(
            f"{seg.name} is not a well-formed X12 file ({fatal[0].text()}); ask the sender "
            "for a corrected remittance file"
        )
    st = seg.fields("ST", 2)
    if st.height == 0 or not (st["e1"] == "835").any():
        raise InputError(f"{seg.name} holds no 835 remittance advice (no ST*835 transaction)")
    f = seg.frame.select("seg", "id")
    f = f.with_columns(marker(is_id("CLP"), is_id("LX", "SE", "ST")).alias("clp"))
    f = f.with_columns(marker(is_id("SVC"), is_id("CLP", "LX", "SE", "ST")).alias("svc"))
    ctx = f.drop("id")

    def rows(ids: str, n: int, comps: tuple[str, ...] = ()) -> pl.DataFrame:
        return seg.fields(ids, n, comps).join(ctx, on="seg", how="left")

    clp = rows("CLP", 7).select(
        pl.col("seg").alias("clp"),
        pl.col("e1").str.strip_chars().alias("claim_id"),
        pl.col("e2").str.strip_chars().alias("claim_status"),
        _num("e3").alias("clp_billed"),
        _num("e4").alias("clp_paid"),
    )
    svc = rows("SVC", 7, ("e1",)).select(
        "clp",
        pl.col("seg").alias("svc"),
        pl.col("e1").str.split(COMP).alias("_comp"),
        _num("e2").alias("billed"),
        _num("e3").alias("paid"),
        _num("e5").fill_null(1.0).alias("units"),
    )
    svc = svc.with_columns(
        pl.col("_comp").list.get(1, null_on_oob=True).str.strip_chars().alias("cpt"),
        pl.col("_comp")
        .list.slice(2)
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias("modifiers"),
    ).drop("_comp")
    cas = rows("CAS", 19)
    trip = [
        cas.select(
            "clp",
            "svc",
            pl.col("e1").str.strip_chars().alias("grp"),
            pl.col(f"e{2 + 3 * k}").str.strip_chars().alias("reason"),
            _num(f"e{3 + 3 * k}").alias("amount"),
        )
        for k in range(6)
    ]
    adj = (
        pl.concat(trip)
        .filter(pl.col("reason").fill_null("") != "")
        .with_columns(pl.concat_str("grp", pl.lit("-"), "reason").alias("code"))
    )
    adj_line = (
        adj.filter(pl.col("svc") > 0)
        .group_by("svc")
        .agg(
            pl.col("code").unique(maintain_order=True).alias("carc"),
            pl.col("amount").sum().alias("carc_amount"),
        )
    )
    adj_claim = (
        adj.filter(pl.col("svc") == 0)
        .group_by("clp")
        .agg(
            pl.col("code").unique(maintain_order=True).alias("claim_carc"),
            pl.col("amount").sum().alias("claim_carc_amount"),
        )
    )
    lq = (
        rows("LQ", 2)
        .filter((pl.col("e1") == "HE") & (pl.col("svc") > 0))
        .group_by("svc")
        .agg(pl.col("e2").str.strip_chars().unique(maintain_order=True).alias("rarc"))
    )
    ref = (
        rows("REF", 2)
        .filter((pl.col("e1") == "6R") & (pl.col("svc") > 0))
        .group_by("svc")
        .agg(pl.col("e2").str.strip_chars().first().alias("line_control"))
    )
    dtm = rows("DTM", 2).with_columns(_date("e2").alias("d"))
    line_dos = (
        dtm.filter(pl.col("e1").is_in(["472", "150"]) & (pl.col("svc") > 0))
        .sort("seg")
        .group_by("svc")
        .agg(pl.col("d").first().alias("line_dos"))
    )
    claim_dos = (
        dtm.filter(pl.col("e1").is_in(["232", "050"]) & (pl.col("svc") == 0) & (pl.col("clp") > 0))
        .sort("seg")
        .group_by("clp")
        .agg(pl.col("d").first().alias("claim_dos"))
    )
    lines = (
        svc.join(adj_line, on="svc", how="left")
        .join(lq, on="svc", how="left")
        .join(ref, on="svc", how="left")
        .join(line_dos, on="svc", how="left")
    )
    # a claim paid without service lines: one claim-level row
    bare = clp.join(svc.select("clp").unique(), on="clp", how="anti").select(
        "clp",
        pl.col("clp_billed").alias("billed"),
        pl.col("clp_paid").alias("paid"),
    )
    out = (
        pl.concat([lines, bare], how="diagonal_relaxed")
        .join(clp.drop("clp_billed", "clp_paid"), on="clp", how="inner")
        .join(adj_claim, on="clp", how="left")
        .join(claim_dos, on="clp", how="left")
        .with_columns(
            pl.lit(seg.name).alias("remit_file"),
            pl.coalesce("line_dos", "claim_dos").alias("dos"),
            pl.when(pl.col("carc").is_null())
            .then(pl.col("claim_carc"))
            .otherwise(pl.col("carc"))
            .alias("carc"),
            pl.coalesce("carc_amount", "claim_carc_amount").alias("carc_amount"),
        )
        .sort("clp", "svc", nulls_last=True)
    )
    for c, dt in REMIT_SCHEMA.items():
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, dt).alias(c))
    return out.select([pl.col(c).cast(dt) for c, dt in REMIT_SCHEMA.items()])


def read_remits(paths: list[Path]) -> pl.DataFrame:
    """Remit lines of every 835 file in ``paths`` (files or folders)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith("."))
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"--remits {p}: no such file or folder")
    if not files:
        raise InputError("--remits: no 835 file found")
    frames = [parse_835(p) for p in files]
    return pl.concat(frames) if len(frames) > 1 else frames[0]
