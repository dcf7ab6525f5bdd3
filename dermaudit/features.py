"""Shared features, built once per scan and reused by every rule.

* ``enrich_lines``: each charge line joined to the code table (family, global days, fee,
  status, code site group and size band) plus modifier flags and the site group read from
  the ``site`` text. Null-safe: every flag is filled with ``False`` explicitly, because a
  null "lacks modifier 25" would make a filter drop the row silently.
  ``day_id`` is a dense integer id of the same-day key (patient, date, provider); rules
  join and group on it instead of the three key columns.
* ``build_days``: one row per same-day key (patient, date of service, rendering provider,
  and ``day_id``) with the day's codes, units, modifiers, diagnoses and row numbers,
  per-family unit sums, and per-code unit sums for the codes the selected rules ask for.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from .ingest.normalize import derive
from .refdata import RefData

DAY_KEY = ["patient_id", "dos", "provider"]
DAY_ID = "day_id"  # dense integer id of DAY_KEY, on the enriched lines and the day frame


def day_key_first() -> list[pl.Expr]:
    """In an aggregation by ``day_id``: the same-day key columns (constant in the group)."""
    return [pl.col(c).first() for c in DAY_KEY]


DISTINCT_MODS = ["59", "XE", "XS", "XP", "XU"]
EM_NEW = ["99202", "99203", "99204", "99205"]
EM_ESTABLISHED = ["99211", "99212", "99213", "99214", "99215"]
EM_OFFICE = EM_NEW + EM_ESTABLISHED
MOHS_CODES = ["17311", "17312", "17313", "17314", "17315"]
PROCEDURE_GLOBALS = ["000", "010", "090", "ZZZ"]  # as MOD-004 counts procedure lines


def one_of(col: str, values: Iterable[str]) -> pl.Expr:
    """``pl.col(col).is_in(values)`` for the code, family, payer-class and global columns.

    A short list of text values is tested as equalities: on 1M lines Polars' ``is_in`` of a
    text column costs 14-20 ms whatever the list's length, an equality about 1.3 ms. The
    result is the same, null for a null cell included."""
    vals = list(values)
    if 0 < len(vals) <= 8 and all(isinstance(v, str) for v in vals):
        return pl.any_horizontal([pl.col(col) == v for v in vals])
    return pl.col(col).is_in(vals)


def mod_flag(mod: str | list[str]) -> pl.Expr:
    mods = [mod] if isinstance(mod, str) else mod
    return pl.col("mods").list.eval(pl.element().is_in(mods)).list.any().fill_null(False)


def site_group_expr(ref: RefData, kind: str) -> pl.Expr:
    """Map free-text ``site`` to a group via rulesets/sites.csv keywords (first match wins)."""
    sites = ref.sites
    if sites.is_empty() or kind not in sites.columns:
        return pl.lit(None, pl.String)
    rows = sites.filter(pl.col(kind).is_not_null() & (pl.col(kind) != ""))
    expr: pl.Expr = pl.lit(None, pl.String)
    site = pl.col("site")
    for kw, grp in reversed(list(zip(rows["keyword"], rows[kind], strict=True))):
        expr = (
            pl.when(site.str.contains(rf"\b{kw}", literal=False)).then(pl.lit(grp)).otherwise(expr)
        )
    return pl.when(site.is_null()).then(None).otherwise(expr)


def enrich_lines(lines: pl.DataFrame, ref: RefData) -> pl.DataFrame:
    codes = ref.codes.select(
        pl.col("code").alias("cpt"),
        pl.col("family").fill_null("other"),
        pl.col("kind"),
        pl.col("global_days"),
        pl.col("status"),
        pl.col("fee_2025").alias("fee"),
        pl.col("site_group").alias("code_site_group"),
        pl.col("size_min_cm"),
        pl.col("size_max_cm"),
        pl.col("valid_from"),
        pl.col("valid_to"),
    )
    out = lines.join(codes, on="cpt", how="left").with_columns(
        pl.col("family").fill_null("unlisted"),
        pl.col("cpt").is_in(EM_OFFICE).alias("is_em"),
        mod_flag("25").alias("m25"),
        mod_flag("57").alias("m57"),
        mod_flag("24").alias("m24"),
        mod_flag(["58", "78", "79"]).alias("m_global"),
        mod_flag("59").alias("m59"),
        mod_flag(["XE", "XS", "XP", "XU"]).alias("mx"),
        mod_flag(DISTINCT_MODS).alias("m_distinct"),
        mod_flag(["GA", "GX", "GY", "GZ"]).alias("m_abn"),
    )
    out = derive(
        out,
        "site",
        {
            "site_group": site_group_expr(ref, "lesion_group"),
            "site_mohs": site_group_expr(ref, "mohs_group"),
            "site_simple": site_group_expr(ref, "simple_group"),
            "site_intermediate": site_group_expr(ref, "intermediate_group"),
            "site_complex": site_group_expr(ref, "complex_group"),
        },
    )
    out = out.sort("_file", "_row")
    return out.with_columns(day_ids(out))


def day_ids(lines: pl.DataFrame) -> pl.Series:
    """Dense integer id of the same-day key, numbered in the order of each day's first line
    (``lines`` sorted by file and row).

    Joins and group-bys on one integer column cost a fraction of those on the three key
    columns (which are never null here: rows without a patient or date are excluded by
    ingest, a blank provider is "(unknown)"). Numbering the days in file order lets
    ``build_days`` give the day frame in file order as its group-by keeps them, instead of
    sorting the wide frame (lists of every line's fields) by file and first row."""
    if lines.height == 0:
        return pl.Series(DAY_ID, [], dtype=pl.UInt32)
    # the line numbers of each day (ascending within the group), days in the order of their
    # first line, then each line gets its day's number: one hash group-by, no sort of the keys
    groups = (
        lines.select(DAY_KEY)
        .with_row_index("i")
        .group_by(DAY_KEY)
        .agg(pl.col("i"))
        .select("i", pl.col("i").list.first().alias("first"))
        .sort("first")
        .with_row_index("d", offset=1)
        .select("d", "i")
        .explode("i")
    )
    ids = np.empty(lines.height, dtype=np.uint32)
    ids[groups["i"].to_numpy()] = groups["d"].to_numpy()
    return pl.Series(DAY_ID, ids)


def build_days(
    lines: pl.DataFrame, day_codes: Iterable[str], unit_families: Iterable[str] = ()
) -> pl.DataFrame:
    """The day frame; ``day_codes`` and ``unit_families``: the codes and code families whose
    per-day unit sums (``u_<code>``, ``fu_<family>``) the selected rules read."""
    families = sorted(set(unit_families))
    wanted = sorted(set(day_codes))
    aggs: list[pl.Expr] = [
        *day_key_first(),
        pl.col("_file").first(),
        pl.col("claim_id").first(),
        pl.col("payer_class").first(),
        pl.col("_row").alias("rows"),
        pl.struct(
            "_row",
            "cpt",
            "units",
            "mods",
            "site",
            "family",
            "global_days",
            "is_em",
            "m25",
            "m_distinct",
            "charge",
            "fee",
            "dx",
        ).alias("lines"),
        pl.col("cpt").alias("cpts"),
        pl.col("dx")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True)
        .alias("dx"),
        pl.col("is_em").any().alias("has_em"),
        (pl.col("is_em") & ~pl.col("m25")).any().alias("em_lacks25"),
        (pl.col("is_em") & pl.col("m25")).any().alias("has_em25"),
        one_of("global_days", ["000", "010"]).any().alias("has_minor"),
        (pl.col("global_days") == "090").any().alias("has_major"),
        pl.len().alias("n_lines"),
    ]
    # day ids ascend in order of first appearance (day_ids): kept order = sorted by id, and
    # no sort of the list columns
    days = lines.group_by(DAY_ID, maintain_order=True).agg(aggs)
    if not days[DAY_ID].is_sorted():  # lines not in file order: the unit sums need id order
        days = days.sort(DAY_ID)
    days = days.hstack(
        [
            *unit_sums(lines, days.height, "family", families, "fu_"),
            *unit_sums(lines, days.height, "cpt", wanted, "u_"),
        ]
    )  # day ids are numbered in file order (``day_ids``): this is file, first-row order
    return days.select(*DAY_KEY, DAY_ID, pl.exclude(*DAY_KEY, DAY_ID))


def unit_sums(
    lines: pl.DataFrame, n_days: int, col: str, values: list[str], prefix: str
) -> list[pl.Series]:
    """Per day (in ``day_id`` order, ids 1..n_days): the units of the lines whose ``col`` is each
    of ``values``, as Int64 columns ``<prefix><value>`` (0 when none).

    The units are summed per (value, day) cell that has a line, then scattered into one
    zero column per value: no filtered sum per value inside the day group-by (two thirds of
    the day frame's cost with 35 families and 45 codes), and no dense days x values table."""
    if not values:
        return []
    cell = pl.col(col).replace_strict(values, range(len(values)), return_dtype=pl.Int64) * n_days
    cells = (
        lines.lazy()
        .filter(pl.col(col).is_in(values))
        .select(
            (cell + pl.col(DAY_ID).cast(pl.Int64) - 1).alias("cell"),
            pl.col("units").fill_null(0).cast(pl.Int64),
        )
        .group_by("cell")
        .agg(pl.col("units").sum())
        .sort("cell")
        .collect(engine="in-memory")
    )
    key, units = cells["cell"].to_numpy(), cells["units"].to_numpy()
    v_idx, d_idx = np.divmod(key, n_days)
    bounds = np.searchsorted(v_idx, np.arange(len(values) + 1))
    out = []
    for i, v in enumerate(values):  # one column per value, not a loop over rows
        column = np.zeros(n_days, dtype=np.int64)
        lo, hi = bounds[i], bounds[i + 1]
        column[d_idx[lo:hi]] = units[lo:hi]
        out.append(pl.Series(f"{prefix}{v}", column))
    return out


def line_counts(lines: pl.DataFrame, days: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """The additive counts the report needs from the enriched lines: per provider (encounters,
    procedure days, E/M services by code, procedure lines with 59/X, Mohs units) and per month
    (encounters). A partitioned scan adds up those of its partitions (``merge_line_counts``): a
    partition holds whole patients, so no day is counted twice. ``days``: the day frame of
    these lines (``build_days``), which holds the per-day flags; else they are computed."""
    if lines.height == 0:
        return {
            "provider": pl.DataFrame(schema={"provider": pl.String}),
            "month": pl.DataFrame(schema={"month": pl.String, "encounters": pl.UInt32}),
        }
    minor = one_of("global_days", ["000", "010"]).fill_null(False)
    procedure = one_of("global_days", PROCEDURE_GLOBALS).fill_null(False)
    lf = lines.lazy()
    if days is None:
        per = lf.group_by(DAY_ID).agg(
            pl.col("provider").first(),
            pl.col("dos").first(),
            minor.any().alias("proc_day"),
            (pl.col("is_em") & pl.col("m25")).any().alias("em25_day"),
        )
    else:
        per = days.lazy().select(
            DAY_ID,
            "provider",
            "dos",
            pl.col("has_minor").alias("proc_day"),
            pl.col("has_em25").alias("em25_day"),
        )
    days_ = per.with_columns(pl.col("dos").dt.strftime("%Y-%m").alias("month"))
    per_day = days_.group_by("provider").agg(
        pl.len().alias("encounters"),
        pl.col("proc_day").sum().alias("procedure_days"),
        (pl.col("proc_day") & pl.col("em25_day")).sum().alias("procedure_days_em25"),
    )
    em = lf.filter(pl.col("is_em")).join(days_.select(DAY_ID, "proc_day"), on=DAY_ID, how="left")
    per_em = em.group_by("provider").agg(
        pl.col("units").sum().alias("em_services"),
        pl.col("units").filter(pl.col("proc_day")).sum().alias("em_services_same_day_procedure"),
        *[pl.col("units").filter(pl.col("cpt") == c).sum().alias(f"n_{c}") for c in EM_OFFICE],
    )
    per_line = lf.group_by("provider").agg(
        pl.len().alias("lines"),
        procedure.sum().alias("procedure_lines"),
        (procedure & pl.col("m59")).sum().alias("procedure_lines_59"),
        (procedure & pl.col("mx")).sum().alias("procedure_lines_x"),
        (procedure & (pl.col("m59") | pl.col("mx"))).sum().alias("procedure_lines_59x"),
        *[pl.col("units").filter(pl.col("cpt") == c).sum().alias(f"u_{c}") for c in MOHS_CODES],
    )
    per_month = days_.group_by("month").agg(pl.len().alias("encounters"))
    d, e, ln, mo = pl.collect_all([per_day, per_em, per_line, per_month], engine="in-memory")
    table = d.join(e, on="provider", how="left").join(ln, on="provider", how="left")
    return {"provider": table, "month": mo}


def merge_line_counts(parts: list[dict[str, pl.DataFrame]]) -> dict[str, pl.DataFrame]:
    """Add up the ``line_counts`` of several partitions."""
    out: dict[str, pl.DataFrame] = {}
    for key in ("provider", "month"):
        df = pl.concat([p[key] for p in parts], how="diagonal_relaxed")
        nums = [c for c, t in df.schema.items() if c != key and t.is_numeric()]
        out[key] = df.group_by(key).agg(pl.col(c).sum() for c in nums)
    return out
