"""835 remittances joined to findings: what the payer already did with each flagged line.

``attach(result, remits)`` adds to every finding:

* ``remit`` - ``denied`` (every matched line paid nothing), ``paid`` (some payment), or null
  when no remit line matched;
* ``remit_paid`` / ``remit_billed`` - the matched lines' paid and billed amounts;
* ``remit_codes`` - the adjustment reasons (``CO-97``: group and CARC) and remark codes
  (RARC) of the matched lines, and ``remit_note`` a short plain meaning of the first code
  dermaudit knows (our own words; the code lists are X12's).

Matching: a finding's rows give its charge lines (file, row) and so their claim id and code;
a remit line matches on (claim id = CLP01, code). CLP01 is the patient control number the
practice sent in the 837's CLM01, so CSV exports match when their claim id column holds that
number. Remit lines and findings that match nothing are counted, not dropped.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .engine import ScanResult

# plain meanings of the claim adjustment reason codes that matter for dermatology coding
# (dermaudit's own wording; the official descriptions are published by X12)
CARC_NOTES = {
    "4": "modifier missing or not valid with this procedure",
    "16": "claim information missing or wrong; correct and resubmit",
    "18": "duplicate of a claim or service already processed",
    "45": "charge above the fee schedule or contract (contractual write-off)",
    "50": "payer found the service not medically necessary",
    "59": "paid under multiple or concurrent procedure rules",
    "96": "service not covered",
    "97": "bundled: paid as part of another service",
    "119": "benefit maximum reached",
    "151": "number or frequency of services not supported",
    "204": "not covered by the patient's current plan",
    "234": "procedure not paid separately",
    "236": "procedure not payable with another procedure on the same day (pair edit)",
    "1": "deductible (patient owes)",
    "2": "coinsurance (patient owes)",
    "3": "copay (patient owes)",
}
REMIT_COLUMNS = ("remit", "remit_paid", "remit_billed", "remit_codes", "remit_note")
_NOTE_ORDER = ["4", "97", "236", "234", "151", "18", "50", "96", "204", "16", "59", "119", "45"]


def _note(codes: pl.Expr) -> pl.Expr:
    """The plain meaning of the most telling code among ``codes`` (list of ``GRP-CARC``)."""
    reasons = codes.list.eval(pl.element().str.split("-").list.last())
    expr: pl.Expr = pl.lit(None, pl.String)
    for code in reversed(_NOTE_ORDER):
        expr = (
            pl.when(reasons.list.contains(code))
            .then(pl.lit(f"CARC {code}: {CARC_NOTES[code]}"))
            .otherwise(expr)
        )
    return expr


def attach(result: ScanResult, remits: pl.DataFrame) -> dict[str, Any]:
    """Add the ``REMIT_COLUMNS`` to ``result.findings`` (in place) and return the counts for
    the summary. Needs the charge lines (an in-memory scan)."""
    lines = result.ingested.lines
    f = result.findings
    keyed = remits.filter(pl.col("claim_id").is_not_null()).with_columns(
        pl.concat_list(
            pl.col("carc").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("rarc").fill_null(pl.lit([], pl.List(pl.String))),
        ).alias("_codes")
    )
    by_key = keyed.group_by("claim_id", "cpt").agg(
        pl.col("paid").sum().alias("_paid"),
        pl.col("billed").sum().alias("_billed"),
        pl.col("_codes").explode().drop_nulls().unique(maintain_order=True).alias("_codes"),
        pl.col("carc").explode().drop_nulls().unique(maintain_order=True).alias("_carc"),
    )
    cells = (
        f.select(pl.int_range(pl.len()).alias("_fid"), "file", "rows")
        .explode("rows")
        .drop_nulls("rows")
        .join(
            lines.select(
                pl.col("_file").alias("file"), pl.col("_row").alias("rows"), "claim_id", "cpt"
            ),
            on=["file", "rows"],
            how="inner",
        )
        .unique(["_fid", "claim_id", "cpt"])
        .join(by_key, on=["claim_id", "cpt"], how="inner")
    )
    per = cells.group_by("_fid").agg(
        pl.col("_paid").sum().alias("remit_paid"),
        pl.col("_billed").sum().alias("remit_billed"),
        pl.col("_codes").explode().drop_nulls().unique(maintain_order=True).alias("_codes"),
        pl.col("_carc").explode().drop_nulls().unique(maintain_order=True).alias("_carc"),
    )
    joined = (
        f.with_columns(pl.int_range(pl.len()).alias("_fid"))
        .join(per, on="_fid", how="left")
        .sort("_fid")
        .with_columns(
            pl.when(pl.col("remit_billed").is_null())
            .then(pl.lit(None, pl.String))
            .when(pl.col("remit_paid").fill_null(0.0) <= 0)
            .then(pl.lit("denied"))
            .otherwise(pl.lit("paid"))
            .alias("remit"),
            pl.col("_codes").list.sort().list.join("; ").alias("remit_codes"),
            _note(pl.col("_carc")).alias("remit_note"),
        )
        .drop("_fid", "_codes", "_carc")
    )
    result.findings = joined.select(*f.columns, *REMIT_COLUMNS)
    matched_keys = cells.select("claim_id", "cpt").unique()
    claims_in_lines = lines.select("claim_id").drop_nulls().unique()
    remit_claims = keyed.select("claim_id").unique()
    at_risk = pl.col("money").is_in(["over", "either"])
    g = result.findings
    return {
        "files": int(remits["remit_file"].n_unique()) if remits.height else 0,
        "remit_lines": int(remits.height),
        "remit_claims": int(remit_claims.height),
        "claims_without_remit": int(
            claims_in_lines.join(remit_claims, on="claim_id", how="anti").height
        ),
        "remit_claims_without_charges": int(
            remit_claims.join(claims_in_lines, on="claim_id", how="anti").height
        ),
        "remit_lines_matched_to_findings": int(
            keyed.join(matched_keys, on=["claim_id", "cpt"], how="semi").height
        ),
        "findings_matched": int(g["remit"].is_not_null().sum()),
        "findings_denied": int((g["remit"] == "denied").sum()),
        "denied_billed": round(
            float(g.filter(pl.col("remit") == "denied")["remit_billed"].sum()), 2
        ),
        "paid_on_overbilling_findings": round(
            float(g.filter((pl.col("remit") == "paid") & at_risk)["remit_paid"].sum()), 2
        ),
    }
