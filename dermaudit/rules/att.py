"""Adjacent tissue transfer / rearrangement (flaps) 14000-14302, 090 global.

An adjacent tissue transfer code includes excision of the lesion at its site (benign or
malignant) and closure of the primary and secondary defects. Flaps after Mohs (17311-17315)
are separately reportable (ATT-003, an INFO guard built into ATT-001). 14302 without 14301
(ATT-004) is the general add-on rule GEN-002.

Same-site pairing and the Mohs guard are described in repair.py.
"""

from __future__ import annotations

import polars as pl

from ..model import Confidence, Money, Severity
from .base import CPT_BOOK, NCCI_MANUAL, Context, rule
from .repair import (
    att_repair_hits,
    bundled,
    emit_bundled,
    is_att,
    is_excision,
)

ATT_SOURCES = (
    f"{CPT_BOOK}, adjacent tissue transfer guidelines (14000-14302 include excision of the "
    f"lesion and closure of the primary and secondary defects); {NCCI_MANUAL} ch. III "
    "(Repair and Tissue Transfer); secondary: CPT Assistant Jul 2008 as quoted by AAPC blog "
    "21905"
)


@rule(
    "ATT-001",
    scope=("att",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Lesion excision billed with an adjacent tissue transfer at the same site",
    level="day",
    severities={
        Severity.DENIAL: "the sites cannot be compared (no site on a line) and neither line "
        "carries XS/59, or the sites differ and the pair comes from an imported CMS PTP file "
        "with indicator 1 (the column-2 code is denied without a modifier)",
        Severity.REVIEW: "the sites differ, no modifier is present and the pair comes from the "
        "shipped excerpt (column order and indicator unverified)",
    },
    out_of_scope="Flaps on a Mohs day at the Mohs site (separately reportable, ATT-003); grafts "
    "(15xxx); whether the flap was medically necessary; the flap's size in sq cm.",
    flags="""
A lesion excision (11400-11646) on the same day, patient and rendering provider as an adjacent
tissue transfer (14000-14061, 14301) at the same site. When the export has no site (or a line's
site is blank) and neither line carries XS/59, the pair is a denial risk and the message says
the site could not be compared; at different recorded sites without XS/59 the NCCI pair still
denies the column-2 code: a missing-modifier finding, money under (review while the pair comes
from the shipped pair excerpt, whose indicators are unverified; denial once an imported CMS
PTP file gives indicator 1). Not flagged: different sites with a modifier; flaps on a Mohs day
at the Mohs site or of unknown site (ATT-003: the flap closes the Mohs defect - an excision of
the Mohs lesion is MOHS-005);
self-pay lines.
""",
    why="""
The adjacent tissue transfer code includes excision of the lesion at that site, benign or
malignant (CPT Assistant Jul 2008). Billing the excision as well pays for it twice; NCCI
bundles 11400-11646 into 14000-14302 unless a modifier shows a different lesion.
""",
    example="11642 (left cheek) + 14040 (left cheek) on one day.",
    compliant=(
        "14040 alone; an excision of a separate lesion elsewhere is billed with XS and "
        "its own site."
    ),
    source=(
        ATT_SOURCES
        + "; CMS NCCI practitioner PTP edits 14000-14302 / 11400-11646 (load the quarterly "
        "file; the shipped pair table is an excerpt)."
    ),
    amount=(
        "2025 national non-facility fee x units of the excision (charge if not in the table). "
        "For a missing modifier at different sites: the fee x units of the line in column 2 "
        "of the pair (the one the edit denies)."
    ),
    limits="""
Same site means equal site text. Without a site the finding is a denial risk, not an
accusation: the excision may have been of another lesion, in which case the claim needs
XS/59. Add-on 14302 is judged with its 14301.
""",
)
def att_001(ctx: Context) -> pl.LazyFrame:
    hits = bundled(
        ctx, is_excision(), is_att(primary_only=True), guard_risk=None, guard_source=True
    )
    return emit_bundled(
        hits,
        "excision",
        "adjacent tissue transfer",
        "the tissue transfer includes excision of the lesion at its site",
        "the excision is part of",
        "was at the flap site",
    )


@rule(
    "ATT-002",
    scope=("att",),
    severity=Severity.COMPLIANCE,
    confidence=Confidence.S,
    money=Money.OVER,
    title="Repair billed with an adjacent tissue transfer for the same defect",
    level="day",
    severities={
        Severity.DENIAL: "the sites cannot be compared (no site on a line) and neither line "
        "carries XS/59, or the sites differ and the pair comes from an imported CMS PTP file "
        "with indicator 1 (the column-2 code is denied without a modifier)",
        Severity.REVIEW: "the sites differ, no modifier is present and the pair comes from the "
        "shipped excerpt (column order and indicator unverified)",
    },
    out_of_scope="Grafts (15xxx) and their donor-site closure; the flap's size in sq cm; repairs "
    "of a second Mohs defect on a Mohs day when the sites cannot be compared.",
    flags="""
A simple, intermediate or complex repair (12001-13153) on the same day, patient and rendering
provider as an adjacent tissue transfer (14000-14302) at the same site - also on Mohs days,
since a flap and a layered closure of the same defect are not both payable. When sites cannot
be compared and neither line carries XS/59, the pair is a denial risk (message says so), except
on Mohs days, where a repair of one Mohs defect and a flap for another is the usual pattern
(RPR-005/ATT-003). At different recorded sites without XS/59 the NCCI pair still denies the
column-2 code: a missing-modifier finding, money under (review while the pair comes from our
unverified excerpt; denial once an imported CMS PTP file gives indicator 1), again except for
Mohs-day repairs at a Mohs site. Self-pay lines are skipped.
""",
    why="""
The adjacent tissue transfer code includes closure of the primary and secondary defects. A
repair line for the same defect pays the closure twice; NCCI bundles 12001-13153 into
14000-14302 unless a modifier shows a separate wound.
""",
    example="13132 (forehead) + 14040 (forehead) after Mohs of one forehead tumour.",
    compliant=(
        "17311 + 14040 alone; a repair of a second, separate Mohs defect is 13132-XS with"
        " its own site."
    ),
    source=(
        ATT_SOURCES
        + "; CMS NCCI practitioner PTP edits 14000-14302 / 12001-13153 (load the quarterly "
        "file; the shipped pair table is an excerpt)."
    ),
    amount=(
        "2025 national non-facility fee x units of the repair line (charge if not in the table). "
        "For a missing modifier at different sites: the fee x units of the line in column 2 "
        "of the pair (the one the edit denies)."
    ),
    limits="""
Same site means equal site text. A repair of the secondary (donor) defect is part of the flap
and is flagged when its site text equals the flap's; a donor site recorded with a different
word is not seen. Without a site the finding is a denial risk: the repair may have closed
another wound, in which case the claim needs XS/59.
""",
)
def att_002(ctx: Context) -> pl.LazyFrame:
    hits = att_repair_hits(ctx)
    return emit_bundled(
        hits,
        "repair",
        "adjacent tissue transfer",
        "the tissue transfer includes closure of the defect",
        "closure is part of",
        "closed the flap's defect",
    )
