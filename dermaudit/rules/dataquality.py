"""Data-quality checks DQ-001... as catalogue entries.

Ingest runs these checks before any rule (``dermaudit/ingest``): a row that fails one becomes
a ``DQ-nnn`` finding and is kept out of the coding rules. They are not coding rules (they
cannot be selected or ignored), but they appear in every output, so ``dermaudit rule DQ-001``
explains them like a rule. ``tests/test_catalogue.py`` fails when ingest reports an id that
has no entry here.
"""

from __future__ import annotations

from ..model import Confidence, Money, Severity
from .base import Entry, entry

CMS_1500 = (
    "CMS Medicare Claims Processing Manual, Pub. 100-04, ch. 26 (Completing and Processing "
    "Form CMS-1500 Data Set), §10.4 items 24A-24G (dates of service, procedure code, units); "
    "ASC X12 837P 005010X222A1 loop 2400 (SV1 service line, DTP*472 service date)"
)
EXCLUDED = (
    "The row is left out of every coding rule, so no rule can report an error on it, and "
    "the summary counts it as excluded rather than audited."
)
FIX = "Correct the line in the practice-management system and export again."
NO_AMOUNT = "None: the row was not audited, so no dollar figure is estimated."

entry(
    Entry(
        id="DQ-001",
        severity=Severity.REVIEW,
        confidence=Confidence.P,
        money=Money.NONE,
        title="Date of service missing or not a date",
        flags="""
A row whose date-of-service cell is blank or cannot be read in any supported format (ISO,
M/D/YYYY, MM/DD/YY, YYYYMMDD, DD-MON-YYYY, Excel serial numbers).
""",
        why="""
Every claim line needs its date of service: global periods, code validity, fee-schedule year
and every same-day rule depend on it. A line without one cannot be billed or audited. """
        + EXCLUDED,
        example="A row with '13/45/2025' or a blank cell in the date column.",
        compliant="The date on which the service was performed, e.g. 2025-03-04.",
        source=CMS_1500 + ".",
        amount_method=NO_AMOUNT,
        out_of_scope=(
            "Whether the date is the true date of service (only its format is checked); "
            "implausible but readable dates are DQ-005."
        ),
    )
)

entry(
    Entry(
        id="DQ-002",
        severity=Severity.REVIEW,
        confidence=Confidence.P,
        money=Money.NONE,
        title="Procedure code blank or malformed",
        flags="""
A row whose procedure-code cell is blank or is not shaped like a CPT or HCPCS Level II code
(five characters: four digits and a digit, F, T or U; or a letter A-V and four digits).
""",
        why="""
A claim line is priced and edited by its procedure code; a malformed code is rejected by the
payer's front end. """
        + EXCLUDED,
        example="'1730' (a digit missing), 'BIOPSY' or a blank cell in the code column.",
        compliant="A complete code, e.g. 17003; modifiers in their own columns or after a dash.",
        source=CMS_1500 + "; HIPAA code sets, 45 CFR 162.1002 (CPT and HCPCS).",
        amount_method=NO_AMOUNT,
        out_of_scope=(
            "Whether a well-formed code exists or is valid on the date (GEN-001 checks the "
            "codes of the code table by date)."
        ),
    )
)

entry(
    Entry(
        id="DQ-003",
        severity=Severity.REVIEW,
        confidence=Confidence.P,
        money=Money.NONE,
        title="Patient identifier missing",
        flags="A row whose patient identifier (account number, MRN or member id) is blank.",
        why="""
Same-day, global-period and new-patient rules group lines by patient; a line without a
patient cannot be placed in any encounter. """
        + EXCLUDED,
        example="A charge row with an empty patient-account cell.",
        compliant="The patient's account number or member id on every line.",
        source=(
            "CMS Pub. 100-04, ch. 26, §10.2 items 1a (insured's ID) and 26 (patient's account "
            "number); ASC X12 837P loop 2010BA (subscriber) / 2010CA (patient)."
        ),
        amount_method=NO_AMOUNT,
        out_of_scope="Whether two identifiers belong to the same person (no matching is done).",
    )
)

entry(
    Entry(
        id="DQ-004",
        severity=Severity.REVIEW,
        confidence=Confidence.P,
        money=Money.NONE,
        title="Units not a positive whole number",
        flags="""
A row whose units cell is filled but is not a positive whole number (0, negative, fractional
such as 1.5, or text). Blank units are counted as 1 and noted on the console, not flagged.
""",
        why="""
Units multiply the payment and drive unit edits (MUE, 17003 x13); a zero, negative or
fractional unit count on a professional claim line is invalid. """
        + EXCLUDED,
        example="17003 with units '-2' or '1.5'.",
        compliant="A whole number of units, e.g. 17003 x2.",
        source=CMS_1500 + "; CMS Pub. 100-04, ch. 26, §10.4 item 24G (days or units).",
        amount_method=NO_AMOUNT,
        out_of_scope="Whether the number of units is right for the code (GEN-003, DEST-002 ...).",
    )
)

entry(
    Entry(
        id="DQ-005",
        severity=Severity.REVIEW,
        confidence=Confidence.P,
        money=Money.NONE,
        title="Date of service outside the plausible range",
        flags="""
A readable date of service before 1990-01-01 or after the day after the scan was run.
""",
        why="""
A service cannot be billed before it is performed, and Medicare claims must be filed within
one calendar year of the date of service, so such a date is a typing or export error (e.g.
2205 for 2025, or a birth date in the service-date column). """
        + EXCLUDED,
        example="A date of service of 2205-03-04 or 1905-03-04.",
        compliant="The real date of service.",
        source=(
            "Medicare timely filing: 42 CFR 424.44 and CMS Pub. 100-04, ch. 1, §70 (claims filed "
            "within 12 months of the date of service). The 1990-01-01 lower bound is "
            "dermaudit's plausibility bound, not a payer rule."
        ),
        amount_method=NO_AMOUNT,
        out_of_scope="Timely-filing limits themselves (the export has no claim submission date).",
    )
)

entry(
    Entry(
        id="DQ-006",
        severity=Severity.REVIEW,
        confidence=Confidence.S,
        money=Money.NONE,
        title="Implausibly many lines on one patient-day",
        flags="""
Every line of a (patient id, date of service) pair that holds more than 500 lines.
""",
        why="""
A dermatology encounter bills a few to a few dozen lines; hundreds of lines on one patient and
one date mean the patient id or the date column holds a stand-in value (the same on every
row, or a practice or batch number mapped as the patient). Auditing them as one encounter
would report combinations of unrelated visits as errors. """
        + EXCLUDED,
        example="20,000 lines whose patient id is 'UNKNOWN', all dated 2025-06-10.",
        compliant="Each line under its own patient's id and the date the service was performed.",
        source=CMS_1500
        + ". The 500-line bound is dermaudit's plausibility bound, not a payer rule.",
        amount_method=NO_AMOUNT,
        out_of_scope="Days with many lines that are still below the bound; whether a large "
        "day is genuine (check the export's patient and date columns with dermaudit inspect).",
    )
)

__all__ = ["CMS_1500"]
