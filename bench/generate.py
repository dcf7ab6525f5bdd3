"""Synthetic dermatology charge exports with labelled, seeded coding errors.

Usage::

    python bench/generate.py --lines N --out DIR [--seed S] [--formats csv,parquet]
        [--error-rate 0.04] [--providers K] [--start 2025-01-01 --months 12]

Writes ``DIR/charges.csv`` and/or ``DIR/charges.parquet`` (the same rows), the labels
``DIR/seeded_errors.csv`` (``rule,file,rows``; rows are space-separated 1-based data-row
numbers, the first record after the header being row 1) and ``DIR/manifest.json``.

How it works (everything is vectorised with numpy; there is no Python loop per row or per
encounter, only over a few dozen visit components and rule ids):

1. Providers get roles (Mohs surgeon MD/DO, general dermatologist MD/DO, PA/NP). Patients get
   a payer, a primary provider, and a sequence of planned visits that starts up to six months
   before the export window (so some patients are established before it).
2. Each visit gets a plan: E/M only, a procedure visit (a primary component such as biopsy or
   AK destruction, optional extra components, optional E/M with modifier 25), Mohs (with
   optional repair or flap), or a self-pay cosmetic visit. The plan fixes the visit's global
   period, and visit dates are spaced in business days so that no visit falls inside an earlier
   visit's 10/90-day global period. Child visits are then added: a day-before decision-for-
   surgery E/M with 57, post-op 99024 visits and unrelated E/M visits with 24 inside a global.
3. Lines are built per component with codes consistent with site, size, diagnosis and payer
   (site group and size band, benign vs malignant families, repair class and length, Mohs site
   family and ICD-10-CM site axis, symptom diagnoses on Medicare benign removals, ...). The
   clean data are meant to be correct by the rule catalogue (``dermaudit rules``).
4. Whole patients are dropped at random until the file has at most ``--lines`` lines (the
   seeded errors then add or remove a few).
5. Errors are injected into ``--error-rate`` of the encounters: each rule in ``RULES`` picks
   encounters where its error can be made unambiguous (e.g. an E/M-25 on a minor-procedure
   day loses its 25 for EM-001) and edits, adds or removes lines. Every error is recorded with
   the rows a correct implementation of that rule must flag.

Determinism: ``numpy.random.Generator`` (PCG64) streams seeded from ``--seed``; the same seed,
arguments, generator version, numpy and polars versions give byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

GENERATOR_VERSION = "1.0.0"

# --------------------------------------------------------------------------------------------
# Reference vocabulary (hard-coded so the files do not change when rulesets/ is edited)
# --------------------------------------------------------------------------------------------

# 2025 Medicare national non-facility amounts (rulesets/codes.csv, fee_2025). The practice's
# charge master is about 2x these, rounded up to a multiple of $5 (see PRICE below).
# fmt: off
FEE_2025: dict[str, float] = {
    "11102": 95.75, "11103": 47.87, "11104": 119.36, "11105": 57.58, "11106": 148.47,
    "11107": 67.93, "11200": 90.25, "11201": 17.79, "11300": 95.42, "11301": 116.12,
    "11302": 131.65, "11303": 146.21, "11305": 100.27, "11306": 116.77, "11307": 131.97,
    "11308": 139.09, "11310": 110.30, "11311": 131.65, "11312": 149.76, "11313": 174.35,
    "11400": 124.21, "11401": 151.06, "11402": 166.91, "11403": 193.11, "11404": 218.99,
    "11406": 311.82, "11420": 122.92, "11421": 154.62, "11422": 174.35, "11423": 200.87,
    "11424": 232.89, "11426": 321.85, "11440": 138.12, "11441": 168.20, "11442": 187.93,
    "11443": 222.54, "11444": 277.21, "11446": 376.51, "11600": 191.17, "11601": 221.57,
    "11602": 237.75, "11603": 271.06, "11604": 302.44, "11606": 436.03, "11620": 191.81,
    "11621": 222.87, "11622": 245.51, "11623": 287.56, "11624": 327.35, "11626": 394.95,
    "11640": 196.99, "11641": 229.98, "11642": 260.39, "11643": 306.97, "11644": 378.13,
    "11646": 491.02, "12001": 91.22, "12002": 110.95, "12004": 129.06, "12005": 171.76,
    "12006": 199.58, "12007": 222.54, "12011": 109.01, "12013": 113.54, "12014": 137.80,
    "12015": 167.88, "12016": 214.46, "12017": 148.79, "12018": 168.53, "12031": 252.95,
    "12032": 294.03, "12034": 323.14, "12035": 377.81, "12036": 422.77, "12037": 474.20,
    "12041": 254.24, "12042": 299.53, "12044": 370.37, "12045": 400.45, "12046": 486.17,
    "12047": 533.07, "12051": 272.68, "12052": 304.70, "12053": 350.31, "12054": 368.75,
    "12055": 485.52, "12056": 562.18, "12057": 586.44, "13100": 328.32, "13101": 381.37,
    "13120": 341.90, "13121": 409.51, "13131": 374.57, "13132": 453.50, "13151": 408.21,
    "13152": 478.40, "14000": 624.29, "14020": 688.98, "14040": 744.62, "14060": 751.73,
    "17000": 66.31, "17003": 6.47, "17004": 161.73, "17110": 109.98, "17111": 129.06,
    "17260": 97.04, "17261": 144.27, "17262": 173.05, "17263": 187.61, "17264": 201.52,
    "17266": 229.01, "17270": 146.21, "17271": 162.06, "17272": 183.08, "17273": 203.46,
    "17274": 238.39, "17276": 276.24, "17280": 137.15, "17281": 174.99, "17282": 199.90,
    "17283": 236.78, "17284": 269.12, "17286": 347.72, "17311": 661.16, "17312": 399.48,
    "17313": 621.38, "17314": 382.34, "17315": 78.28, "11900": 55.64, "11901": 67.93,
    "15788": 374.57, "11950": 80.54, "11951": 106.74, "99202": 69.87, "99203": 109.01,
    "99204": 163.35, "99205": 215.75, "99211": 22.64, "99212": 54.99, "99213": 88.95,
    "99214": 125.18, "99215": 175.64, "G2211": 15.53, "G2212": 31.05,
}
# fmt: on
# Codes with no national fee in the table: the practice's own prices.
OTHER_PRICE: dict[str, float] = {
    "88305": 165.0,
    "88314": 120.0,
    "J3301": 12.0,
    "99024": 0.0,
    "11100": 185.0,
    "99201": 95.0,
    "11055": 75.0,
    "17250": 95.0,
}
CODES: list[str] = sorted(set(FEE_2025) | set(OTHER_PRICE))
CI: dict[str, int] = {c: i for i, c in enumerate(CODES)}
PRICE_CENTS = np.array(
    [
        round(math.ceil(2.0 * FEE_2025[c] / 5.0) * 5.0 * 100)
        if c in FEE_2025
        else round(OTHER_PRICE[c] * 100)
        for c in CODES
    ],
    dtype=np.int64,
)


def ci(*codes: str) -> np.ndarray:
    return np.array([CI[c] for c in codes], dtype=np.int16)


MODS = ["", "25", "57", "24", "59", "XS", "GA", "GZ"]
MI = {m: i for i, m in enumerate(MODS)}

# Sites: text, lesion group (0 A trunk/arms/legs, 1 B scalp/neck/hands/feet/genitalia,
# 2 C face/ears/eyelids/nose/lips), Mohs family (0 17311 head/neck/hands/feet, 1 17313
# trunk/arms/legs), simple-repair group, intermediate group, complex group, ICD-10-CM site
# axis. Groups follow rulesets/sites.csv (tests/test_generator.py checks them against it).
AX_LIP, AX_EAR_R, AX_EAR_L, AX_NOSE, AX_FACE, AX_SCALP, AX_TRUNK = range(7)
AX_UL_R, AX_UL_L, AX_LL_R, AX_LL_L = range(7, 11)
# simple: 0 R_SIMPLE_BODY 1 R_SIMPLE_FACE; intermediate: 0 R_INT_TRUNK 1 R_INT_NECK_HANDS_FEET
# 2 R_INT_FACE; complex: 0 R_CX_TRUNK 1 R_CX_SCALP_LIMBS 2 R_CX_FOREHEAD_ETC
# 3 R_CX_EYELID_NOSE_EAR_LIP
SITES: list[tuple[str, int, int, int, int, int, int]] = [
    ("nose", 2, 0, 1, 2, 3, AX_NOSE),
    ("left cheek", 2, 0, 1, 2, 2, AX_FACE),
    ("right cheek", 2, 0, 1, 2, 2, AX_FACE),
    ("forehead", 2, 0, 1, 2, 2, AX_FACE),
    ("left temple", 2, 0, 1, 2, 2, AX_FACE),
    ("right temple", 2, 0, 1, 2, 2, AX_FACE),
    ("chin", 2, 0, 1, 2, 2, AX_FACE),
    ("upper lip", 2, 0, 1, 2, 3, AX_LIP),
    ("left ear", 2, 0, 1, 2, 3, AX_EAR_L),
    ("right ear", 2, 0, 1, 2, 3, AX_EAR_R),
    ("scalp", 1, 0, 0, 0, 1, AX_SCALP),
    ("neck", 1, 0, 0, 1, 2, AX_SCALP),
    ("left hand", 1, 0, 0, 1, 2, AX_UL_L),
    ("right hand", 1, 0, 0, 1, 2, AX_UL_R),
    ("left foot", 1, 0, 0, 1, 2, AX_LL_L),
    ("right foot", 1, 0, 0, 1, 2, AX_LL_R),
    ("upper back", 0, 1, 0, 0, 0, AX_TRUNK),
    ("lower back", 0, 1, 0, 0, 0, AX_TRUNK),
    ("chest", 0, 1, 0, 0, 0, AX_TRUNK),
    ("abdomen", 0, 1, 0, 0, 0, AX_TRUNK),
    ("left shoulder", 0, 1, 0, 0, 0, AX_UL_L),
    ("right shoulder", 0, 1, 0, 0, 0, AX_UL_R),
    ("left upper arm", 0, 1, 0, 0, 1, AX_UL_L),
    ("right upper arm", 0, 1, 0, 0, 1, AX_UL_R),
    ("left forearm", 0, 1, 0, 0, 1, AX_UL_L),
    ("right forearm", 0, 1, 0, 0, 1, AX_UL_R),
    ("left thigh", 0, 1, 0, 0, 1, AX_LL_L),
    ("right thigh", 0, 1, 0, 0, 1, AX_LL_R),
    ("left lower leg", 0, 1, 0, 0, 1, AX_LL_L),
    ("right lower leg", 0, 1, 0, 0, 1, AX_LL_R),
    # not used for single lesions (region or special sites)
    ("face", 2, 0, 1, 2, 2, AX_FACE),
    ("lip vermilion", 2, 0, 1, 2, 3, AX_LIP),
    ("left eyelid margin", 2, 0, 1, 2, 3, AX_FACE),
    ("right external ear", 2, 0, 1, 2, 3, AX_EAR_R),
    # regions (destruction sessions, tags): never equal to a single-lesion site's text
    ("bilateral forearms", 0, 1, 0, 0, 1, AX_UL_R),
    ("dorsal hands", 1, 0, 0, 1, 2, AX_UL_R),
    ("scalp vertex", 1, 0, 0, 0, 1, AX_SCALP),
    ("bilateral knees", 0, 1, 0, 0, 1, AX_LL_R),
    ("left sole", 1, 0, 0, 1, 2, AX_LL_L),
    ("right sole", 1, 0, 0, 1, 2, AX_LL_R),
    ("neck folds", 1, 0, 0, 1, 2, AX_SCALP),
    ("bilateral axillae", 0, 1, 0, 0, 2, AX_TRUNK),
    # biopsies at the ears are recorded at the neighbouring neck skin (69100 is the ear code)
    ("left lateral neck", 1, 0, 0, 1, 2, AX_SCALP),
    ("right lateral neck", 1, 0, 0, 1, 2, AX_SCALP),
]
N_LESION_SITES = 30  # sites 0..29 are single-lesion sites
SITE_NAMES = [s[0] for s in SITES]
S_GRP = np.array([s[1] for s in SITES], dtype=np.int8)
S_MOHS = np.array([s[2] for s in SITES], dtype=np.int8)
S_SIMPLE = np.array([s[3] for s in SITES], dtype=np.int8)
S_INT = np.array([s[4] for s in SITES], dtype=np.int8)
S_CX = np.array([s[5] for s in SITES], dtype=np.int8)
S_AXIS = np.array([s[6] for s in SITES], dtype=np.int8)
SITE_FACE, SITE_LIPV, SITE_LIDM, SITE_EXTEAR = 30, 31, 32, 33
SITE_FOREARMS, SITE_HANDS, SITE_VERTEX, SITE_KNEES, SITE_LSOLE, SITE_RSOLE = 34, 35, 36, 37, 38, 39
SITE_NECKFOLDS, SITE_AXILLAE, SITE_LNECK, SITE_RNECK = 40, 41, 42, 43
# steps coprime to 30: site (base + k*step) % 30 gives distinct sites for k < 30
SITE_STEPS = np.array([1, 7, 11, 13, 17, 19, 23, 29], dtype=np.int64)

# Diagnosis categories with an ICD-10-CM site axis, indexed [category][axis].
CAT_BCC, CAT_SCC, CAT_SCCIS, CAT_NEV, CAT_BEN, CAT_MEL, CAT_MIS = range(7)
# fmt: off
CAT_AXIS_DX: list[list[str]] = [
    # lip, ear R, ear L, nose, face, scalp/neck, trunk, UL R, UL L, LL R, LL L
    ["C44.01", "C44.212", "C44.219", "C44.311", "C44.319", "C44.41",
     "C44.519", "C44.612", "C44.619", "C44.712", "C44.719"],
    ["C44.02", "C44.222", "C44.229", "C44.321", "C44.329", "C44.42",
     "C44.529", "C44.622", "C44.629", "C44.722", "C44.729"],
    ["D04.0", "D04.21", "D04.22", "D04.39", "D04.39", "D04.4",
     "D04.5", "D04.61", "D04.62", "D04.71", "D04.72"],
    ["D22.0", "D22.21", "D22.22", "D22.39", "D22.39", "D22.4",
     "D22.5", "D22.61", "D22.62", "D22.71", "D22.72"],
    ["D23.0", "D23.21", "D23.22", "D23.39", "D23.39", "D23.4",
     "D23.5", "D23.61", "D23.62", "D23.71", "D23.72"],
    ["C43.0", "C43.21", "C43.22", "C43.39", "C43.39", "C43.4",
     "C43.59", "C43.61", "C43.62", "C43.71", "C43.72"],
    ["D03.0", "D03.21", "D03.22", "D03.39", "D03.39", "D03.4",
     "D03.59", "D03.61", "D03.62", "D03.71", "D03.72"],
]
# fmt: on
CAT_UNSPEC = ["C44.91", "C44.92", "D04.9", "D22.9", "D23.9", "C43.9", "D03.9"]
MALIGNANT_CATS = (CAT_BCC, CAT_SCC, CAT_SCCIS, CAT_MEL, CAT_MIS)

# Other diagnoses (no site axis)
DX_AK, DX_SK_INFL, DX_SK, DX_TAG, DX_CYST = "L57.0", "L82.0", "L82.1", "L91.8", "L72.0"
DX_PLANTAR, DX_WART, DX_MOLL, DX_PYO = "B07.0", "B07.8", "B08.1", "L98.0"
DX_KELOID, DX_AA, DX_HS, DX_PSO, DX_LSC = "L91.0", "L63.9", "L73.2", "L40.0", "L28.0"
DX_COSM, DX_LENTIGO, DX_SCAR = "Z41.1", "L81.4", "L90.5"
DX_SCREEN, DX_HX_SKCA, DX_AFTERCARE = "Z12.83", "Z85.828", "Z48.817"
DX_VASC, DX_UNCERTAIN, DX_LONGTERM_RX = "I78.1", "D48.5", "Z79.899"
SYMPTOMS = ["L29.89", "R58", "R52", "L08.9"]  # candidate LCD-indication codes (COS-003)
CHRONIC = ["L40.0", "L20.9", "L93.0", "L12.0", "L73.2", "L70.0"]
ROUTINE = ["L21.9", "L30.9", "L71.9", "L70.0", "L85.3", "L28.0", "L65.9", "B35.1", "L60.0"]
# separate problems for an E/M-25 (never the diagnosis of a same-day procedure)
SEPARATE_CHRONIC = ["L20.9", "L93.0", "L12.0", "L70.0"]
SEPARATE = ["L21.9", "L71.9", "L70.0", "L85.3", "L65.9", "B35.1", "L60.0", "L20.9"]
INVALID_DX = {  # codes that do not exist in ICD-10-CM (DX-004)
    "L40.0": "L40.6",
    "L70.0": "L70.6",
    "L21.9": "L21.6",
    "L71.9": "L71.6",
    "L30.9": "L30.6",
    "L82.1": "L82.9",
    "D22.5": "D22.8",
}
OTHER_DX = [
    DX_AK, DX_SK_INFL, DX_SK, DX_TAG, DX_CYST, DX_PLANTAR, DX_WART, DX_MOLL, DX_PYO, DX_KELOID,
    DX_AA, DX_HS, DX_PSO, DX_LSC, DX_COSM, DX_LENTIGO, DX_SCAR, DX_SCREEN, DX_HX_SKCA,
    DX_AFTERCARE, DX_VASC, DX_UNCERTAIN, DX_LONGTERM_RX, "D22.5",
    *SYMPTOMS, *CHRONIC, *ROUTINE, *INVALID_DX.values(),
]  # fmt: skip
DX_LIST: list[str] = sorted(
    {d for row in CAT_AXIS_DX for d in row} | set(CAT_UNSPEC) | set(OTHER_DX)
)
DI: dict[str, int] = {d: i for i, d in enumerate(DX_LIST)}
CAT_AXIS_IDX = np.array([[DI[d] for d in row] for row in CAT_AXIS_DX], dtype=np.int16)
DX_CAT = np.full(len(DX_LIST), -1, dtype=np.int8)  # category of a site-axis dx (or -1)
for _c, _row in enumerate(CAT_AXIS_DX):
    for _d in _row:
        DX_CAT[DI[_d]] = _c
DX_MALIGNANT = np.array([d[:3] in ("C43", "C4A", "C44", "D03", "D04") for d in DX_LIST])
DX_SYMPTOM = np.isin(np.arange(len(DX_LIST)), [DI[s] for s in SYMPTOMS])
# benign-lesion diagnoses that need an indication for Medicare (COS-003 proxy list)
DX_COS3 = np.array(
    [d.startswith(("L82.1", "D22", "D23", "L91.8", "L72", "D18.01", "L81.4")) for d in DX_LIST]
)
DX_INFLAMED_OR_UNCERTAIN = np.isin(DX_LIST, [DX_SK_INFL, DX_UNCERTAIN, "D49.2"])
DX_WARTS = np.array([d.startswith(("B07", "A63.0", "B08.1")) for d in DX_LIST])


def di(*codes: str) -> np.ndarray:
    return np.array([DI[c] for c in codes], dtype=np.int16)


# Payers: (display name, class). Classes follow rulesets/payer_classes.toml.
PAYERS: list[tuple[str, str]] = [
    ("Medicare Part B", "medicare_ffs"),
    ("Medicare", "medicare_ffs"),
    ("Railroad Medicare", "medicare_ffs"),
    ("Humana Gold Plus", "medicare_advantage"),
    ("AARP Medicare Advantage", "medicare_advantage"),
    ("Aetna Medicare Advantage PPO", "medicare_advantage"),
    ("WellCare Medicare", "medicare_advantage"),
    ("Aetna PPO", "commercial"),
    ("BCBS of Texas", "commercial"),
    ("Cigna Open Access Plus", "commercial"),
    ("UnitedHealthcare Choice Plus", "commercial"),
    ("Blue Cross Blue Shield PPO", "commercial"),
    ("Texas Medicaid", "medicaid"),
    ("Molina Healthcare", "medicaid"),
    ("Self Pay", "self_pay"),
]
PAYER_NAMES = [p[0] for p in PAYERS]
PAYER_WEIGHT = np.array(
    [0.60, 0.35, 0.05, 0.35, 0.30, 0.20, 0.15, 0.25, 0.20, 0.20, 0.20, 0.15, 0.6, 0.4, 1.0]
)
PAYER_CLASS = [p[1] for p in PAYERS]
PCLS = ["medicare_ffs", "medicare_advantage", "commercial", "medicaid", "self_pay"]
P_MCR, P_MA, P_COM, P_MCD, P_SELF = range(5)
PAYER_CLS_IDX = np.array([PCLS.index(c) for c in PAYER_CLASS], dtype=np.int8)
PAYERS_BY_CLASS = [np.flatnonzero(np.equal(PAYER_CLS_IDX, k)) for k in range(5)]
SELF_PAY = PAYER_NAMES.index("Self Pay")

FIRST_NAMES = [
    "Dana", "Priya", "Marcus", "Elena", "Owen", "Grace", "Samuel", "Ingrid", "Rafael", "Naomi",
    "Caleb", "Leila", "Victor", "Hannah", "Tobias", "Mei", "Andre", "Clara", "Felix", "Yara",
]  # fmt: skip
LAST_NAMES = [
    "Whitfield", "Raman", "Okafor", "Lindqvist", "Brennan", "Castillo", "Haddad", "Moreau",
    "Nakamura", "Ferreira", "Gallagher", "Osei", "Petrov", "Sandoval", "Thornton", "Varga",
    "Kowalski", "Abernathy", "Delacroix", "Ibarra",
]  # fmt: skip
ROLE_MOHS, ROLE_GEN, ROLE_APP = 0, 1, 2

# Line roles (what a line is for; used to find lines when injecting errors)
(
    R_EM,
    R_G2211,
    R_BXP,
    R_BXA,
    R_PATH,
    R_AK1,
    R_AK3,
    R_AK4,
    R_BEN,
    R_TAG,
    R_TAGA,
    R_SHV,
    R_EXC,
    R_RPR,
    R_ATT,
    R_MDEST,
    R_MOHS1,
    R_MOHSA,
    R_MOHSB,
    R_INJ,
    R_DRUG,
    R_COS,
    R_POSTOP,
    R_X,
) = range(24)
DEFINITIVE_ROLES = (R_AK1, R_AK3, R_AK4, R_BEN, R_TAG, R_TAGA, R_SHV, R_EXC, R_MDEST)
PROC_ROLES = (*DEFINITIVE_ROLES, R_BXP, R_BXA, R_RPR, R_ATT, R_INJ)

# Encounter kinds and procedure components
K_EM, K_PROC, K_MOHS, K_COS, K_PREOP, K_POSTOP, K_EM24, K_NEW = range(8)
C_BX, C_AK, C_BEN, C_TAG, C_SHV, C_EXC, C_MDEST, C_INJ = (1 << i for i in range(8))
C_DEFINITIVE = C_AK | C_BEN | C_TAG | C_SHV | C_EXC | C_MDEST

# Size bands (tenths of a cm): excision / malignant destruction six bands, shave four bands
BAND6_UPPER = np.array([5, 10, 20, 30, 40], dtype=np.int64)
BAND6_LO = np.array([2, 6, 11, 21, 31, 41], dtype=np.int64)
BAND6_HI = np.array([5, 10, 20, 30, 40, 55], dtype=np.int64)
BAND4_UPPER = np.array([5, 10, 20], dtype=np.int64)
BAND4_LO = np.array([2, 6, 11, 21], dtype=np.int64)
BAND4_HI = np.array([5, 10, 20, 32], dtype=np.int64)
SHAVE_CODES = np.array(
    [
        ci("11300", "11301", "11302", "11303"),
        ci("11305", "11306", "11307", "11308"),
        ci("11310", "11311", "11312", "11313"),
    ]
)
EXC_BEN = np.array(
    [
        ci("11400", "11401", "11402", "11403", "11404", "11406"),
        ci("11420", "11421", "11422", "11423", "11424", "11426"),
        ci("11440", "11441", "11442", "11443", "11444", "11446"),
    ]
)
EXC_MAL = np.array(
    [
        ci("11600", "11601", "11602", "11603", "11604", "11606"),
        ci("11620", "11621", "11622", "11623", "11624", "11626"),
        ci("11640", "11641", "11642", "11643", "11644", "11646"),
    ]
)
MDEST_CODES = np.array(
    [
        ci("17260", "17261", "17262", "17263", "17264", "17266"),
        ci("17270", "17271", "17272", "17273", "17274", "17276"),
        ci("17280", "17281", "17282", "17283", "17284", "17286"),
    ]
)
# Repairs: (class, group) -> (upper bounds of the length bands in tenths, codes)
RPR_SIMPLE, RPR_INT, RPR_CX = 0, 1, 2
REPAIRS: dict[tuple[int, int], tuple[list[int], list[str]]] = {
    (0, 0): ([25, 75, 125, 200, 300], ["12001", "12002", "12004", "12005", "12006", "12007"]),
    (0, 1): (
        [25, 50, 75, 125, 200, 300],
        ["12011", "12013", "12014", "12015", "12016", "12017", "12018"],
    ),
    (1, 0): ([25, 75, 125, 200, 300], ["12031", "12032", "12034", "12035", "12036", "12037"]),
    (1, 1): ([25, 75, 125, 200, 300], ["12041", "12042", "12044", "12045", "12046", "12047"]),
    (1, 2): (
        [25, 50, 75, 125, 200, 300],
        ["12051", "12052", "12053", "12054", "12055", "12056", "12057"],
    ),
    (2, 0): ([25], ["13100", "13101"]),
    (2, 1): ([25], ["13120", "13121"]),
    (2, 2): ([25], ["13131", "13132"]),
    (2, 3): ([25], ["13151", "13152"]),
}
ATT_BY_CX = ci("14000", "14020", "14040", "14060")
CX_CODES = ci("13100", "13101", "13120", "13121", "13131", "13132", "13151", "13152")
GLOBAL_OF: dict[str, int] = {}  # filled below: code -> global days (0, 10, 90)
for _c in CODES:
    if (
        _c[:3] in ("114", "116", "172", "170", "171")
        or _c in ("11200",)
        or _c[:3] == "130"
        or _c[:3] == "131"
        or _c[:4] in ("1203", "1204", "1205")
    ):
        GLOBAL_OF[_c] = 10
    elif _c[:3] == "140" or _c == "15788":
        GLOBAL_OF[_c] = 90
    else:
        GLOBAL_OF[_c] = 0
GLOBAL_OF["17003"] = 0  # add-on (ZZZ): inside the primary's global
CODE_GLOBAL = np.array([GLOBAL_OF[c] for c in CODES], dtype=np.int16)
EM_NEW = ci("99202", "99203", "99204", "99205")  # index by level-2
EM_EST = ci("99212", "99213", "99214", "99215")
BX_PRIMARY = ci("11102", "11104", "11106")  # by technique 0 tangential, 1 punch, 2 incisional
BX_ADDON = ci("11103", "11105", "11107")


def repair_code(cls: np.ndarray, grp: np.ndarray, length10: np.ndarray) -> np.ndarray:
    """Repair code for class/group/length (vectorised over a handful of class-group pairs)."""
    out = np.full(len(cls), -1, dtype=np.int16)
    for (c, g), (bounds, codes) in REPAIRS.items():
        m = (cls == c) & (grp == g)
        if m.any():
            band = np.searchsorted(np.array(bounds), length10[m], side="left")
            out[m] = ci(*codes)[band]
    return out


def repair_group(cls: np.ndarray, site: np.ndarray) -> np.ndarray:
    return np.select(
        [cls == RPR_SIMPLE, cls == RPR_INT], [S_SIMPLE[site], S_INT[site]], S_CX[site]
    ).astype(np.int8)


# --------------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------------


def group_rank(keys: np.ndarray) -> np.ndarray:
    """0,1,2,... within runs of equal keys (keys must be sorted/grouped)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, keys[1:] != keys[:-1]]
    idx = np.arange(n)
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def first_per_enc(enc: np.ndarray, mask: np.ndarray, n_enc: int) -> np.ndarray:
    """Index of the first line with mask true, per encounter; -1 if none (enc must be sorted)."""
    idx = np.flatnonzero(mask)
    out = np.full(n_enc, -1, dtype=np.int64)
    e = enc[idx]
    first = np.r_[True, e[1:] != e[:-1]] if len(e) else np.zeros(0, dtype=bool)
    out[e[first]] = idx[first]
    return out


def uniq(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based; faster here than numpy's hash-based unique)."""
    s = np.sort(a, kind="stable")
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def pick(
    rng: np.random.Generator, options: np.ndarray | list[Any], p: list[float] | None, n: int
) -> np.ndarray:
    arr = np.asarray(options)
    if p is None:
        return arr[rng.integers(0, len(arr), n)]
    w = np.asarray(p, dtype=float)
    return arr[rng.choice(len(arr), size=n, p=w / w.sum())]


def to_bool(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=bool)


@dataclass
class Lines:
    """Columnar line store; parts are concatenated once."""

    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(
        self,
        enc: np.ndarray,
        ord_: Any,
        role: int,
        cpt: Any,
        units: Any = 1,
        m1: Any = 0,
        m2: Any = 0,
        dx1: Any = -1,
        dx2: Any = -1,
        dx3: Any = -1,
        site: Any = -1,
        size: Any = -1,
        lvl: Any = 0,
    ) -> None:
        n = len(enc)
        if n == 0:
            return

        def col(v: Any, dt: Any) -> np.ndarray:
            a = np.asarray(v, dtype=dt)
            return np.full(n, a, dtype=dt) if a.ndim == 0 else a.astype(dt, copy=False)

        self.parts.append(
            {
                "enc": col(enc, np.int64),
                "ord": col(ord_, np.int16),
                "role": col(role, np.int8),
                "cpt": col(cpt, np.int16),
                "units": col(units, np.int16),
                "m1": col(m1, np.int8),
                "m2": col(m2, np.int8),
                "dx1": col(dx1, np.int16),
                "dx2": col(dx2, np.int16),
                "dx3": col(dx3, np.int16),
                "site": col(site, np.int8),
                "size": col(size, np.int16),
                "lvl": col(lvl, np.int8),
            }
        )

    def concat(self) -> dict[str, np.ndarray]:
        keys = self.parts[0].keys()
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


# --------------------------------------------------------------------------------------------
# Clean data
# --------------------------------------------------------------------------------------------


@dataclass
class Config:
    lines: int
    seed: int = 42
    error_rate: float = 0.04
    providers: int = 6
    start: str = "2025-01-01"
    months: int = 12


def provider_table(k: int) -> tuple[list[str], list[str], np.ndarray]:
    k = max(1, k)
    n_mohs = max(1, k // 6)
    n_app = k // 3 if k >= 3 else 0
    roles = np.array(
        [ROLE_MOHS] * n_mohs + [ROLE_GEN] * (k - n_mohs - n_app) + [ROLE_APP] * n_app, dtype=np.int8
    )
    names, creds = [], []
    for i in range(k):
        nm = f"{LAST_NAMES[(i * 7) % 20]}, {FIRST_NAMES[(i * 3 + 1) % 20]}"
        if i >= 20:
            nm += f" {i // 20 + 1}"
        names.append(nm)
        r = roles[i]
        if r == ROLE_APP:
            creds.append("PA" if i % 2 == 0 else "NP")
        else:
            creds.append("MD" if i % 3 != 2 else "DO")
    return names, creds, roles


def month_add(d: np.datetime64, months: int) -> np.datetime64:
    m = d.astype("datetime64[M]") + np.timedelta64(months, "M")
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    return m.astype("datetime64[D]") + np.timedelta64(day, "D")


class Practice:
    """Builds the clean export for one configuration."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.start = np.datetime64(cfg.start, "D")
        self.end = month_add(self.start, cfg.months)  # exclusive
        self.prov_names, self.prov_creds, self.prov_roles = provider_table(cfg.providers)
        self.mohs_provs = np.flatnonzero(self.prov_roles == ROLE_MOHS)
        self.gen_provs = np.flatnonzero(self.prov_roles == ROLE_GEN)
        self.app_provs = np.flatnonzero(self.prov_roles == ROLE_APP)
        self.md_provs = np.flatnonzero(self.prov_roles != ROLE_APP)

    # -- patients and visit plans -------------------------------------------------------------

    def plan(self, n_pat: int) -> dict[str, np.ndarray]:
        rng = self.rng
        # patient attributes
        pclass = pick(rng, np.arange(5), [0.34, 0.20, 0.36, 0.08, 0.02], n_pat).astype(np.int8)
        payer = np.empty(n_pat, dtype=np.int16)
        for k in range(5):
            m = pclass == k
            payer[m] = pick(
                rng, PAYERS_BY_CLASS[k], list(PAYER_WEIGHT[PAYERS_BY_CLASS[k]]), int(m.sum())
            )
        primary_pool = np.r_[self.gen_provs, self.app_provs]
        if len(primary_pool) == 0:
            primary_pool = self.mohs_provs
        w = np.where(self.prov_roles[primary_pool] == ROLE_GEN, 1.5, 1.0)
        prim = pick(rng, primary_pool, list(w), n_pat)
        # the Mohs surgeon keeps a small general panel too
        own = rng.random(n_pat) < (0.08 if len(self.gen_provs) + len(self.app_provs) else 1.0)
        prim = np.where(own, pick(rng, self.mohs_provs, None, n_pat), prim)
        mohs = pick(rng, self.mohs_provs, None, n_pat)
        gen_pool = self.gen_provs if len(self.gen_provs) else self.md_provs
        refer = pick(rng, gen_pool, None, n_pat)
        is_new = rng.random(n_pat) < 0.30
        span_months = self.cfg.months + 6
        n_vis = 1 + rng.poisson(0.2 * span_months, n_pat)
        # visits
        pat = np.repeat(np.arange(n_pat), n_vis)
        n = len(pat)
        seq = group_rank(pat)
        kind = pick(rng, np.array([K_EM, K_PROC, K_MOHS, K_COS]), [0.40, 0.55, 0.04, 0.01], n)
        kind = kind.astype(np.int8)
        # procedure components
        comp = np.zeros(n, dtype=np.int16)
        is_proc = kind == K_PROC
        prim_comp = pick(
            rng,
            np.array([C_BX, C_AK, C_BEN, C_TAG, C_SHV, C_EXC, C_MDEST, C_INJ]),
            [0.28, 0.25, 0.11, 0.05, 0.10, 0.10, 0.04, 0.07],
            n,
        )
        comp[is_proc] = prim_comp[is_proc]
        u = rng.random((n, 4))
        extra = np.zeros(n, dtype=np.int16)
        for prim_c, col, prob, add in (
            (C_BX, 0, 0.60, C_AK),
            (C_BX, 1, 0.08, C_INJ),
            (C_AK, 0, 0.35, C_BEN),
            (C_AK, 1, 0.55, C_BX),
            (C_AK, 2, 0.12, C_SHV),
            (C_AK, 3, 0.06, C_INJ),
            (C_BEN, 0, 0.40, C_AK),
            (C_BEN, 1, 0.35, C_BX),
            (C_TAG, 1, 0.30, C_BX),
            (C_SHV, 0, 0.45, C_AK),
            (C_SHV, 1, 0.45, C_BX),
            (C_EXC, 0, 0.40, C_AK),
            (C_EXC, 1, 0.40, C_BX),
            (C_MDEST, 1, 0.35, C_BX),
            (C_INJ, 0, 0.35, C_AK),
            (C_INJ, 1, 0.20, C_BX),
        ):
            extra |= np.where((prim_comp == prim_c) & (u[:, col] < prob), add, 0).astype(np.int16)
        comp[is_proc] |= extra[is_proc]
        em25 = is_proc & (rng.random(n) < 0.75)
        # Mohs: repair plan 0 none, 1 intermediate, 2 complex, 3 adjacent tissue transfer
        mohs_rep = np.where(
            kind == K_MOHS, pick(rng, np.arange(4), [0.25, 0.30, 0.30, 0.15], n), 0
        ).astype(np.int8)
        em25 |= (kind == K_MOHS) & (mohs_rep != 3) & (rng.random(n) < 0.10)
        cos_type = pick(rng, np.array([0, 1]), [0.4, 0.6], n).astype(np.int8)  # 0 peel, 1 filler
        glob = np.zeros(n, dtype=np.int16)
        glob = np.where((comp & (C_AK | C_BEN | C_TAG | C_EXC | C_MDEST)) != 0, 10, glob)
        glob = np.where((kind == K_MOHS) & (mohs_rep > 0), np.where(mohs_rep == 3, 90, 10), glob)
        glob = np.where((kind == K_COS) & (cos_type == 0), 90, glob).astype(np.int16)
        # rendering provider
        p_of = pat
        prov = prim[p_of].copy()
        app_excision = (np.isin(prov, self.app_provs)) & ((comp & (C_EXC | C_MDEST)) != 0)
        prov = np.where(app_excision, refer[p_of], prov)
        prov = np.where(kind == K_MOHS, mohs[p_of], prov).astype(np.int16)
        enc_payer = np.where(kind == K_COS, SELF_PAY, payer[p_of]).astype(np.int16)
        # dates (business days): gaps respect the previous visit's global period
        min_gap = np.select([glob == 90, glob == 10], [66, 9], 5)
        prev_min = np.r_[5, min_gap[:-1]]
        short = rng.random(n) < 0.25
        gap = np.where(short, rng.integers(5, 21, n), rng.integers(20, 121, n))
        gap = np.maximum(gap, prev_min)
        gap[seq == 0] = 0
        cs = np.cumsum(gap)
        first_idx = np.flatnonzero(seq == 0)
        cs = cs - np.repeat(cs[first_idx], n_vis)
        window_lo = np.busday_offset(self.start - np.timedelta64(183, "D"), 0, roll="forward")
        span_bd = int(np.busday_count(window_lo, self.end))
        first_off = rng.integers(0, span_bd, n_pat)
        date = np.busday_offset(window_lo, first_off[pat] + cs, roll="forward")
        return {
            "pat": pat.astype(np.int64),
            "seq": seq,
            "kind": kind,
            "comp": comp,
            "em25": em25,
            "mohs_rep": mohs_rep,
            "cos_type": cos_type,
            "glob": glob,
            "prov": prov,
            "payer": enc_payer,
            "date": date,
            "parent": np.full(n, -1, dtype=np.int64),
            "_pat_payer": payer,
            "_pat_class": pclass,
            "_prim": prim,
            "_is_new": is_new,
        }

    def add_children(self, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Pre-op E/M-57, post-op 99024 and unrelated E/M-24 visits (dates inside gaps)."""
        rng = self.rng
        n = len(v["pat"])
        pat, date, glob, kind, comp = v["pat"], v["date"], v["glob"], v["kind"], v["comp"]
        idx = np.arange(n)
        same_prev = np.r_[False, pat[1:] == pat[:-1]]
        prev_date = np.r_[date[:1], date[:-1]]
        prev_glob = np.r_[0, glob[:-1]]
        dow = (date.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
        pre_day = date - np.timedelta64(1, "D")
        room = ~same_prev | ((pre_day - prev_date).astype(int) > prev_glob)
        preop = (kind == K_MOHS) & (v["mohs_rep"] == 3) & (dow >= 1) & room & (rng.random(n) < 0.45)
        postop = (((comp & C_EXC) != 0) & (rng.random(n) < 0.35)) | (
            (kind == K_MOHS) & (v["mohs_rep"] > 0) & (rng.random(n) < 0.50)
        )
        em24 = ((glob == 90) & (kind == K_MOHS) & (rng.random(n) < 0.18)) | (
            (glob == 10) & (rng.random(n) < 0.03)
        )
        parts = []
        for mask, k, dates in (
            (preop, K_PREOP, pre_day),
            (postop, K_POSTOP, np.busday_offset(date, rng.integers(5, 7, n), roll="forward")),
            (
                em24,
                K_EM24,
                np.busday_offset(
                    date,
                    np.where(glob == 90, rng.integers(15, 41, n), rng.integers(2, 5, n)),
                    roll="forward",
                ),
            ),
        ):
            sel = idx[mask]
            prov = v["prov"][sel]
            if k == K_EM24:
                prov = v["_prim"][pat[sel]]
            parts.append(
                {
                    "pat": pat[sel],
                    "seq": v["seq"][sel],
                    "kind": np.full(len(sel), k, np.int8),
                    "comp": np.zeros(len(sel), np.int16),
                    "em25": np.zeros(len(sel), bool),
                    "mohs_rep": np.zeros(len(sel), np.int8),
                    "cos_type": np.zeros(len(sel), np.int8),
                    "glob": np.zeros(len(sel), np.int16),
                    "prov": prov.astype(np.int16),
                    "payer": v["payer"][sel],
                    "date": dates[sel],
                    "parent": sel.astype(np.int64),
                }
            )
        out = {}
        for key in parts[0]:
            out[key] = np.concatenate([v[key]] + [p[key] for p in parts])
        for key in ("_pat_payer", "_pat_class", "_prim", "_is_new"):
            out[key] = v[key]
        return out

    # -- lines --------------------------------------------------------------------------------

    def build_lines(self, e: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rng = self.rng
        L = Lines()
        n = len(e["kind"])
        eid = np.arange(n)
        kind, comp = e["kind"], e["comp"]
        pcls = PAYER_CLS_IDX[e["payer"]]
        mcr_like = np.isin(pcls, [P_MCR, P_MA])
        mixed = ((comp & C_BX) != 0) & ((comp & C_DEFINITIVE) != 0)
        base_site = rng.integers(0, N_LESION_SITES, n)
        step = SITE_STEPS[rng.integers(0, len(SITE_STEPS), n)]

        def lesion_site(encs: np.ndarray, k: np.ndarray) -> np.ndarray:
            return ((base_site[encs] + k * step[encs]) % N_LESION_SITES).astype(np.int8)

        # ---- E/M only visits
        s = eid[kind == K_EM]
        lvl = pick(rng, np.arange(2, 6), [0.10, 0.50, 0.33, 0.07], len(s))
        chronic = (lvl >= 4) | (rng.random(len(s)) < 0.15)
        dx1 = np.where(
            chronic, pick(rng, di(*CHRONIC), None, len(s)), pick(rng, di(*ROUTINE), None, len(s))
        )
        dx2 = np.where(chronic & (rng.random(len(s)) < 0.4), DI[DX_LONGTERM_RX], -1)
        skin_check = ~chronic & (rng.random(len(s)) < 0.25)
        dx1 = np.where(skin_check, DI[DX_HX_SKCA], dx1)
        dx2 = np.where(skin_check, DI[DX_SK], dx2)
        dx3 = np.where(skin_check & (rng.random(len(s)) < 0.5), DI["D22.5"], -1)
        L.add(s, 0, R_EM, -1, lvl=lvl, dx1=dx1, dx2=dx2, dx3=dx3)
        g = s[chronic & mcr_like[s] & (rng.random(len(s)) < 0.6)]
        L.add(g, 1, R_G2211, CI["G2211"], dx1=DI["L40.0"])  # dx copied from the E/M later
        # ---- child visits
        s = eid[kind == K_PREOP]
        L.add(s, 0, R_EM, -1, lvl=pick(rng, np.array([3, 4]), [0.5, 0.5], len(s)), m1=MI["57"])
        self._preop = s
        s = eid[kind == K_POSTOP]
        L.add(s, 0, R_POSTOP, CI["99024"], dx1=DI[DX_AFTERCARE])
        s = eid[kind == K_EM24]
        L.add(
            s,
            0,
            R_EM,
            -1,
            lvl=pick(rng, np.array([2, 3]), [0.3, 0.7], len(s)),
            m1=MI["24"],
            dx1=pick(rng, di("L30.9", "L21.9", "L71.9", "L28.0"), None, len(s)),
        )
        # ---- E/M with modifier 25 on procedure days (a separate problem)
        s = eid[e["em25"]]
        lvl = pick(rng, np.arange(2, 6), [0.15, 0.55, 0.28, 0.02], len(s))
        dx1 = np.where(
            lvl >= 4,
            pick(rng, di(*SEPARATE_CHRONIC), None, len(s)),
            pick(rng, di(*SEPARATE), None, len(s)),
        )
        dx2 = np.where(rng.random(len(s)) < 0.35, DI[DX_HX_SKCA], -1)
        L.add(s, 0, R_EM, -1, lvl=lvl, m1=MI["25"], dx1=dx1, dx2=dx2)

        spec_enc: list[np.ndarray] = []  # specimens for 88305: (enc, dx)
        spec_dx: list[np.ndarray] = []

        # ---- biopsies
        s = eid[(comp & C_BX) != 0]
        nb = np.where(mixed[s], 1, pick(rng, np.arange(1, 5), [0.30, 0.35, 0.20, 0.15], len(s)))
        rep = np.repeat(s, nb)
        k = group_rank(rep)
        tech = pick(rng, np.arange(3), [0.55, 0.35, 0.10], len(rep))
        site = lesion_site(rep, k)
        site = np.select([site == 8, site == 9], [SITE_LNECK, SITE_RNECK], site).astype(np.int8)
        cat = pick(rng, np.arange(11), [25, 12, 10, 18, 8, 2, 3, 10, 5, 5, 2], len(rep))
        # 0-6 site-axis categories; 7 SK, 8 AK, 9 dermatitis, 10 psoriasis
        axis_cat = np.minimum(cat, 6)
        dx = np.where(
            cat < 7,
            CAT_AXIS_IDX[axis_cat, S_AXIS[site]],
            np.select(
                [cat == 7, cat == 8, cat == 9], [DI[DX_SK], DI[DX_AK], DI["L30.9"]], DI[DX_PSO]
            ),
        )
        order = np.lexsort((-tech, rep))
        rep, tech, site, dx = rep[order], tech[order], site[order], dx[order]
        k = group_rank(rep)
        is_primary = k == 0
        cpt = np.where(is_primary, BX_PRIMARY[tech], BX_ADDON[tech])
        m1 = np.where(
            is_primary & mixed[rep], np.where(rng.random(len(rep)) < 0.8, MI["XS"], MI["59"]), 0
        )
        L.add(
            rep[is_primary],
            30,
            R_BXP,
            cpt[is_primary],
            m1=m1[is_primary],
            dx1=dx[is_primary],
            site=site[is_primary],
        )
        L.add(
            rep[~is_primary],
            30 + k[~is_primary],
            R_BXA,
            cpt[~is_primary],
            dx1=dx[~is_primary],
            site=site[~is_primary],
        )
        spec_enc.append(rep)
        spec_dx.append(dx)
        # sites used by biopsies must not be reused by definitive procedures: offset k by 4
        # ---- AK destruction (premalignant)
        s = eid[(comp & C_AK) != 0]
        n_ak = np.where(
            rng.random(len(s)) < 0.15,
            rng.integers(15, 31, len(s)),
            np.minimum(1 + rng.geometric(0.22, len(s)) - 1, 14),
        )
        ak_site = pick(
            rng,
            np.array([SITE_FACE, SITE_VERTEX, SITE_FOREARMS, SITE_HANDS]),
            [0.45, 0.2, 0.2, 0.15],
            len(s),
        )
        big = n_ak >= 15
        L.add(s[big], 10, R_AK4, CI["17004"], dx1=DI[DX_AK], site=ak_site[big])
        sm = ~big
        L.add(s[sm], 10, R_AK1, CI["17000"], dx1=DI[DX_AK], site=ak_site[sm])
        ad = sm & (n_ak > 1)
        L.add(s[ad], 11, R_AK3, CI["17003"], units=n_ak[ad] - 1, dx1=DI[DX_AK], site=ak_site[ad])
        # ---- benign destruction
        s = eid[(comp & C_BEN) != 0]
        n_b = np.where(
            rng.random(len(s)) < 0.08, rng.integers(15, 26, len(s)), rng.integers(1, 15, len(s))
        )
        med = mcr_like[s]
        dxm = pick(
            rng, di(DX_SK, DX_SK_INFL, DX_WART, DX_PLANTAR), [0.40, 0.25, 0.20, 0.15], len(s)
        )
        dxo = pick(
            rng,
            di(DX_WART, DX_PLANTAR, DX_MOLL, DX_SK, DX_SK_INFL),
            [0.35, 0.20, 0.20, 0.15, 0.10],
            len(s),
        )
        bdx = np.where(med, dxm, dxo)
        need_sym = (
            (bdx != DI[DX_SK_INFL]) & (bdx != DI[DX_MOLL]) & (med | (rng.random(len(s)) < 0.4))
        )
        sym = np.where(
            bdx == DI[DX_PLANTAR], DI["R52"], pick(rng, di("L29.89", "R52"), [0.7, 0.3], len(s))
        )
        bsite = np.where(
            bdx == DI[DX_PLANTAR],
            pick(rng, np.array([SITE_LSOLE, SITE_RSOLE]), None, len(s)),
            pick(rng, np.array([SITE_HANDS, SITE_KNEES, SITE_FACE, SITE_FOREARMS]), None, len(s)),
        )
        L.add(
            s,
            12,
            R_BEN,
            np.where(n_b >= 15, CI["17111"], CI["17110"]),
            dx1=bdx,
            dx2=np.where(need_sym, sym, -1),
            site=bsite,
        )
        # ---- skin tags
        s = eid[(comp & C_TAG) != 0]
        n_t = np.where(
            rng.random(len(s)) < 0.2, rng.integers(16, 36, len(s)), rng.integers(1, 16, len(s))
        )
        med = mcr_like[s]
        need_sym = med | (rng.random(len(s)) < 0.5)
        tsite = pick(rng, np.array([SITE_NECKFOLDS, SITE_AXILLAE]), None, len(s))
        tsym = pick(rng, di("L29.89", "R58"), None, len(s))
        L.add(
            s, 14, R_TAG, CI["11200"], dx1=DI[DX_TAG], dx2=np.where(need_sym, tsym, -1), site=tsite
        )
        ad = n_t > 15
        L.add(
            s[ad],
            15,
            R_TAGA,
            CI["11201"],
            units=np.ceil((n_t[ad] - 15) / 10).astype(int),
            dx1=DI[DX_TAG],
            dx2=np.where(need_sym[ad], tsym[ad], -1),
            site=tsite[ad],
        )
        # ---- shave removals (1-2 lesions)
        s = eid[(comp & C_SHV) != 0]
        ns = np.where(rng.random(len(s)) < 0.45, 2, 1)
        rep = np.repeat(s, ns)
        k = group_rank(rep)
        site = lesion_site(rep, k + 4)
        band = pick(rng, np.arange(4), [0.30, 0.45, 0.20, 0.05], len(rep))
        size = rng.integers(BAND4_LO[band], BAND4_HI[band] + 1)
        scat = pick(rng, np.arange(5), [0.35, 0.20, 0.15, 0.10, 0.20], len(rep))
        # 0 nevus, 1 inflamed SK, 2 other benign neoplasm, 3 pyogenic granuloma, 4 SK
        sdx = np.select(
            [scat == 0, scat == 1, scat == 2, scat == 3],
            [
                CAT_AXIS_IDX[CAT_NEV, S_AXIS[site]],
                DI[DX_SK_INFL],
                CAT_AXIS_IDX[CAT_BEN, S_AXIS[site]],
                DI[DX_PYO],
            ],
            DI[DX_SK],
        )
        med = mcr_like[rep]
        need_sym = (scat != 1) & (med | (scat == 3) | (rng.random(len(rep)) < 0.4))
        ssym = np.where(
            scat == 3, DI["R58"], pick(rng, di("L29.89", "R58", "L08.9"), None, len(rep))
        )
        L.add(
            rep,
            40 + k,
            R_SHV,
            SHAVE_CODES[S_GRP[site], band],
            dx1=sdx,
            dx2=np.where(need_sym, ssym, -1),
            site=site,
            size=size,
        )
        spec_enc.append(rep)
        spec_dx.append(sdx)
        # ---- excisions (one lesion, sometimes two; the first may get a repair)
        s = eid[(comp & C_EXC) != 0]
        ne = np.where(rng.random(len(s)) < 0.1, 2, 1)
        rep = np.repeat(s, ne)
        k = group_rank(rep)
        site = lesion_site(rep, k + 4)
        malig = rng.random(len(rep)) < 0.45
        band = np.where(
            malig,
            pick(rng, np.arange(6), [0.05, 0.25, 0.40, 0.20, 0.07, 0.03], len(rep)),
            pick(rng, np.arange(6), [0.20, 0.35, 0.30, 0.10, 0.04, 0.01], len(rep)),
        )
        # a second lesion is never a benign <=0.5 cm excision: NCCI pairs 11400/11420/11440
        # with every repair, so the first lesion's repair would need XS (kept simple here)
        band = np.where(k > 0, np.maximum(band, 1), band)
        size = rng.integers(BAND6_LO[band], BAND6_HI[band] + 1)
        mcat = pick(
            rng,
            np.array([CAT_BCC, CAT_SCC, CAT_SCCIS, CAT_MEL, CAT_MIS]),
            [0.45, 0.30, 0.10, 0.08, 0.07],
            len(rep),
        )
        bcat = pick(rng, np.arange(3), [0.45, 0.20, 0.35], len(rep))  # nevus, benign, cyst
        edx = np.where(
            malig,
            CAT_AXIS_IDX[mcat, S_AXIS[site]],
            np.select(
                [bcat == 0, bcat == 1],
                [CAT_AXIS_IDX[CAT_NEV, S_AXIS[site]], CAT_AXIS_IDX[CAT_BEN, S_AXIS[site]]],
                DI[DX_CYST],
            ),
        )
        med = mcr_like[rep]
        need_sym = ~malig & (med | (rng.random(len(rep)) < 0.4))
        esym = np.where(
            bcat == 2,
            pick(rng, di("L08.9", "R52"), None, len(rep)),
            pick(rng, di("L29.89", "R58", "R52"), None, len(rep)),
        )
        ecpt = np.where(malig, EXC_MAL[S_GRP[site], band], EXC_BEN[S_GRP[site], band])
        L.add(
            rep,
            50 + 2 * k,
            R_EXC,
            ecpt,
            dx1=edx,
            dx2=np.where(need_sym, esym, -1),
            site=site,
            size=size,
        )
        spec_enc.append(rep)
        spec_dx.append(edx)
        can_rep = (k == 0) & (malig | (band > 0))
        rcls = pick(rng, np.array([-1, RPR_INT, RPR_CX]), [0.30, 0.60, 0.10], len(rep))
        has_rep = can_rep & (rcls >= 0)
        ln = np.clip((size * rng.uniform(2.5, 3.5, len(rep))).round().astype(np.int64), 8, 75)
        ln = np.where(rcls == RPR_CX, np.maximum(ln, 12), ln)
        r = np.flatnonzero(has_rep)
        rc = rcls[r]
        L.add(
            rep[r],
            51,
            R_RPR,
            repair_code(rc, repair_group(rc, site[r]), ln[r]),
            dx1=edx[r],
            site=site[r],
            size=ln[r],
        )
        # ---- malignant destruction (ED&C of superficial BCC / SCC in situ)
        s = eid[(comp & C_MDEST) != 0]
        site = lesion_site(s, np.full(len(s), 8))
        band = pick(rng, np.arange(6), [0.30, 0.40, 0.25, 0.05, 0.0, 0.0], len(s))
        size = rng.integers(BAND6_LO[band], BAND6_HI[band] + 1)
        mcat = np.where(rng.random(len(s)) < 0.6, CAT_BCC, CAT_SCCIS)
        L.add(
            s,
            60,
            R_MDEST,
            MDEST_CODES[S_GRP[site], band],
            dx1=CAT_AXIS_IDX[mcat, S_AXIS[site]],
            site=site,
            size=size,
        )
        # ---- intralesional injection
        s = eid[(comp & C_INJ) != 0]
        idx_ = pick(rng, np.arange(5), [0.40, 0.25, 0.15, 0.10, 0.10], len(s))
        idx_dx = di(DX_KELOID, DX_AA, DX_HS, DX_PSO, DX_LSC)[idx_]
        many = rng.random(len(s)) < 0.1
        L.add(s, 70, R_INJ, np.where(many, CI["11901"], CI["11900"]), dx1=idx_dx)
        L.add(s, 71, R_DRUG, CI["J3301"], units=rng.integers(1, 5, len(s)), dx1=idx_dx)
        # ---- Mohs
        s = eid[kind == K_MOHS]
        grp_pick = pick(rng, np.arange(4), [0.70, 0.12, 0.05, 0.13], len(s))
        site = np.select(
            [grp_pick == 0, grp_pick == 1, grp_pick == 2],
            [
                pick(rng, np.arange(0, 10), None, len(s)),
                pick(rng, np.array([10, 11]), None, len(s)),
                pick(rng, np.arange(12, 16), None, len(s)),
            ],
            pick(rng, np.arange(16, 30), None, len(s)),
        ).astype(np.int8)
        mcat = pick(rng, np.array([CAT_BCC, CAT_SCC, CAT_SCCIS]), [0.65, 0.28, 0.07], len(s))
        mdx = CAT_AXIS_IDX[mcat, S_AXIS[site]]
        stages = pick(rng, np.arange(1, 5), [0.45, 0.38, 0.13, 0.04], len(s))
        head = S_MOHS[site] == 0
        msize = rng.integers(5, 26, len(s))
        L.add(
            s, 20, R_MOHS1, np.where(head, CI["17311"], CI["17313"]), dx1=mdx, site=site, size=msize
        )
        a = stages > 1
        L.add(
            s[a],
            21,
            R_MOHSA,
            np.where(head[a], CI["17312"], CI["17314"]),
            units=stages[a] - 1,
            dx1=mdx[a],
            site=site[a],
        )
        b = rng.random(len(s)) < 0.04
        L.add(s[b], 22, R_MOHSB, CI["17315"], dx1=mdx[b], site=site[b])
        rp = e["mohs_rep"][s]
        ln = rng.integers(15, 61, len(s))
        r = (rp == 1) | (rp == 2)
        rc = np.where(rp == 1, RPR_INT, RPR_CX)
        L.add(
            s[r],
            25,
            R_RPR,
            repair_code(rc[r], repair_group(rc[r], site[r]), ln[r]),
            dx1=mdx[r],
            site=site[r],
            size=ln[r],
        )
        t = rp == 3
        L.add(s[t], 25, R_ATT, ATT_BY_CX[S_CX[site[t]]], dx1=mdx[t], site=site[t])
        self._mohs_dx = np.full(n, -1, dtype=np.int16)
        self._mohs_dx[s] = mdx
        # ---- cosmetic self-pay
        s = eid[kind == K_COS]
        peel = e["cos_type"][s] == 0
        L.add(s[peel], 10, R_COS, CI["15788"], dx1=DI[DX_COSM], dx2=DI[DX_LENTIGO], site=SITE_FACE)
        fil = ~peel
        L.add(
            s[fil],
            10,
            R_COS,
            np.where(rng.random(int(fil.sum())) < 0.6, CI["11950"], CI["11951"]),
            dx1=DI[DX_COSM],
            site=SITE_FACE,
        )
        # ---- surgical pathology: one 88305 line per encounter, units = specimens
        se, sd = np.concatenate(spec_enc), np.concatenate(spec_dx)
        o = np.lexsort((sd, se))
        se, sd = se[o], sd[o]
        first = np.r_[True, (se[1:] != se[:-1]) | (sd[1:] != sd[:-1])]
        ue, ud = se[first], sd[first]
        rk = group_rank(ue)
        keep = rk < 3
        ue, ud, rk = ue[keep], ud[keep], rk[keep]
        penc = uniq(se)
        units = np.bincount(se, minlength=n)[penc]
        pdx = np.full((n, 3), -1, dtype=np.int16)
        pdx[ue, rk] = ud
        L.add(
            penc,
            90,
            R_PATH,
            CI["88305"],
            units=units,
            dx1=pdx[penc, 0],
            dx2=pdx[penc, 1],
            dx3=pdx[penc, 2],
        )

        lines = L.concat()
        # fill child / G2211 diagnoses from their parents or E/M line
        o = np.lexsort((lines["ord"], lines["enc"]))
        lines = {key: val[o] for key, val in lines.items()}
        return lines

    def finish_dx(self, e: dict[str, np.ndarray], lines: dict[str, np.ndarray]) -> None:
        """Diagnoses that depend on other lines: pre-op E/M (the Mohs tumour) and G2211."""
        enc, role = lines["enc"], lines["role"]
        pre = (e["kind"][enc] == K_PREOP) & (role == R_EM)
        lines["dx1"][pre] = self._mohs_dx[e["parent"][enc[pre]]]
        g = np.flatnonzero(role == R_G2211)
        em_first = first_per_enc(enc, role == R_EM, len(e["kind"]))
        lines["dx1"][g] = lines["dx1"][em_first[enc[g]]]

    # -- top level ----------------------------------------------------------------------------

    def run(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Generate slightly more than ``--lines`` lines, then drop whole patients."""
        target = self.cfg.lines
        # pilot: lines per patient for this window and mix (its own random stream)
        n_pilot = int(min(max(target / 6.0, 200), 20_000))
        self.rng = np.random.default_rng([self.cfg.seed, 1_000])
        _, pl_lines = self._build(n_pilot)
        per_patient = max(len(pl_lines["enc"]) / n_pilot, 0.5)
        n_pat = math.ceil(target * 1.04 / per_patient) + 20
        for attempt in range(4):
            self.rng = np.random.default_rng([self.cfg.seed, attempt])
            e, lines = self._build(n_pat)
            total = len(lines["enc"])
            if total >= target or attempt == 3:
                break
            n_pat = int(n_pat * target * 1.08 / max(total, 1)) + 20
        return self._trim(e, lines, target)

    def _build(self, n_pat: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        v = self.plan(n_pat)
        v = self.add_children(v)
        # sort by patient, date; mark each patient's first visit over all generated visits
        o = np.lexsort((v["kind"], v["date"], v["pat"]))
        inv = np.empty_like(o)
        inv[o] = np.arange(len(o))
        e = {k: (val[o] if not k.startswith("_") else val) for k, val in v.items()}
        e["parent"] = np.where(e["parent"] >= 0, inv[np.maximum(e["parent"], 0)], -1)
        first = np.r_[True, e["pat"][1:] != e["pat"][:-1]]
        e["new_pt"] = first & e["_is_new"][e["pat"]]
        keep = (e["date"] >= self.start) & (e["date"] < self.end)
        new_id = np.cumsum(keep) - 1
        e2 = {k: (val[keep] if not k.startswith("_") else val) for k, val in e.items()}
        par = e2["parent"]
        ok = par >= 0
        par_kept = np.zeros(len(par), dtype=bool)
        par_kept[ok] = keep[par[ok]]
        e2["parent"] = np.where(ok & par_kept, new_id[np.maximum(par, 0)], -1)
        # a child whose parent fell outside the window is dropped (its reason is gone)
        drop = ok & ~par_kept
        if drop.any():
            keep2 = ~drop
            nid = np.cumsum(keep2) - 1
            e2 = {k: (val[keep2] if not k.startswith("_") else val) for k, val in e2.items()}
            p = e2["parent"]
            e2["parent"] = np.where(p >= 0, nid[np.maximum(p, 0)], -1)
        lines = self.build_lines(e2)
        self.finish_dx(e2, lines)
        return e2, lines

    def _trim(
        self, e: dict[str, np.ndarray], lines: dict[str, np.ndarray], target: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n_pat_all = len(e["_is_new"])
        per_pat = np.bincount(e["pat"][lines["enc"]], minlength=n_pat_all)
        order = self.rng.permutation(n_pat_all)
        cum = np.cumsum(per_pat[order])
        keep_pat = np.zeros(n_pat_all, dtype=bool)
        keep_pat[order[cum <= target]] = True
        ke = keep_pat[e["pat"]]
        new_id = np.cumsum(ke) - 1
        e2 = {k: (val[ke] if not k.startswith("_") else val) for k, val in e.items()}
        p = e2["parent"]
        e2["parent"] = np.where(p >= 0, new_id[np.maximum(p, 0)], -1)
        kl = ke[lines["enc"]]
        l2 = {k: val[kl] for k, val in lines.items()}
        l2["enc"] = new_id[l2["enc"]]
        # patient numbers: random-looking account numbers for kept patients
        kept = np.flatnonzero(keep_pat)
        acct = np.zeros(n_pat_all, dtype=np.int64)
        acct[kept] = 1_000_000 + self.rng.choice(8_999_999, size=len(kept), replace=False)
        e2["acct"] = acct[e2["pat"]]
        # resolve E/M codes: new-patient codes only at a new patient's first visit
        em = l2["role"] == R_EM
        newp = e2["new_pt"][l2["enc"]] & em
        lv = l2["lvl"].astype(np.int64) - 2
        l2["cpt"][em] = np.where(newp[em], EM_NEW[lv[em]], EM_EST[lv[em]])
        return e2, l2


# --------------------------------------------------------------------------------------------
# Error injection
# --------------------------------------------------------------------------------------------


@dataclass
class Rule:
    id: str
    weight: float
    describe: str
    codes: tuple[str, ...]  # codes at least one labelled row carries (checked by the tests)
    eligible: Callable[[Injector], np.ndarray]
    apply: Callable[[Injector, np.ndarray], None]


class _RoleCache:
    """Per-role arrays over encounters (line counts or first line index), built on demand."""

    def __init__(self, j: Injector, count: bool) -> None:
        self.j, self.count, self.cache = j, count, {}

    def __getitem__(self, role: int) -> np.ndarray:
        if role not in self.cache:
            L, n = self.j.L, self.j.n_enc
            m = L["role"] == role
            if self.count:
                self.cache[role] = np.bincount(L["enc"][m], minlength=n)
            else:
                self.cache[role] = first_per_enc(L["enc"], m, n)
        return self.cache[role]


class Injector:
    """Holds clean arrays plus the edits; every rule edits only its own encounters."""

    def __init__(self, practice: Practice, e: dict[str, np.ndarray], lines: dict[str, np.ndarray]):
        self.p = practice
        self.rng = practice.rng
        self.e = e
        self.L = lines
        self.n_enc = len(e["kind"])
        self.n_lines = len(lines["enc"])
        self.alive = np.ones(self.n_lines, dtype=bool)
        self.charge = np.full(self.n_lines, -1, dtype=np.int64)  # override in cents
        self.add_parts: list[dict[str, np.ndarray]] = []
        self.enc_parts: list[dict[str, np.ndarray]] = []
        self.next_uid = self.n_lines
        self.next_enc = self.n_enc
        self.labels: list[tuple[str, np.ndarray, np.ndarray]] = []  # rule, error key, uid
        enc = lines["enc"]
        self.start = np.searchsorted(enc, np.arange(self.n_enc + 1))
        self.cnt = _RoleCache(self, count=True)
        self.first = _RoleCache(self, count=False)
        self.pcls = PAYER_CLS_IDX[e["payer"]]
        self.pat_cls = e["_pat_class"][e["pat"]]
        fam = np.where(e["parent"] >= 0, e["parent"], np.arange(self.n_enc))
        self.family = fam
        self.used = np.zeros(self.n_enc, dtype=bool)
        self.has_child = np.zeros(self.n_enc, dtype=bool)
        self.has_child[e["parent"][e["parent"] >= 0]] = True
        # days to the patient's next encounter (encounters are sorted by patient, date), and
        # whether the patient saw the same provider before
        d = e["date"].view("int64")
        same_next = np.r_[e["pat"][1:] == e["pat"][:-1], False]
        self.next_days = np.where(same_next, np.r_[d[1:], 0] - d, 10_000)
        o = np.lexsort((d, e["prov"], e["pat"]))
        same = np.r_[
            False, (e["pat"][o][1:] == e["pat"][o][:-1]) & (e["prov"][o][1:] == e["prov"][o][:-1])
        ]
        self.prev_same_prov = np.zeros(self.n_enc, dtype=bool)
        self.prev_same_prov[o] = same

    # -- helpers ------------------------------------------------------------------------------

    def c(self, *roles: int) -> np.ndarray:
        return np.sum([self.cnt[r] for r in roles], axis=0)

    def f(self, role: int, encs: np.ndarray) -> np.ndarray:
        return self.first[role][encs]

    def lines_of(self, encs: np.ndarray, roles: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(error key, line index) for every line of the encounters with one of the roles."""
        lo, hi = self.start[encs], self.start[encs + 1]
        ln = hi - lo
        key = np.repeat(encs, ln)
        idx = np.repeat(lo, ln) + group_rank(key)
        m = np.isin(self.L["role"][idx], roles) & self.alive[idx]
        return key[m], idx[m]

    def label(self, rule: str, key: np.ndarray, uid: np.ndarray) -> None:
        self.labels.append((rule, np.asarray(key, dtype=np.int64), np.asarray(uid, dtype=np.int64)))

    def add(self, enc: np.ndarray, ord_: Any, role: int, cpt: Any, **kw: Any) -> np.ndarray:
        L = Lines()
        L.add(enc, ord_, role, cpt, **kw)
        if not L.parts:
            return np.zeros(0, dtype=np.int64)
        part = L.parts[0]
        n = len(part["enc"])
        part["charge"] = np.full(n, -1, dtype=np.int64)
        part["uid"] = np.arange(self.next_uid, self.next_uid + n, dtype=np.int64)
        self.next_uid += n
        self.add_parts.append(part)
        return part["uid"]

    def copy(self, idx: np.ndarray, ord_delta: int = 1, **over: Any) -> np.ndarray:
        L = self.L
        kw = {
            k: over.get(k, L[k][idx])
            for k in ("units", "m1", "m2", "dx1", "dx2", "dx3", "site", "size")
        }
        return self.add(
            L["enc"][idx],
            L["ord"][idx] + ord_delta,
            over.get("role", L["role"][idx]),
            over.get("cpt", L["cpt"][idx]),
            **kw,
        )

    def new_encs(self, parent: np.ndarray, bdays: int, kind: int = K_NEW) -> np.ndarray:
        e = self.e
        n = len(parent)
        ids = np.arange(self.next_enc, self.next_enc + n, dtype=np.int64)
        self.next_enc += n
        self.enc_parts.append(
            {
                "id": ids,
                "pat": e["pat"][parent],
                "acct": e["acct"][parent],
                "date": np.busday_offset(e["date"][parent], bdays, roll="forward"),
                "prov": e["prov"][parent],
                "payer": e["payer"][parent],
                "kind": np.full(n, kind, dtype=np.int8),
            }
        )
        return ids

    def site_of(self, idx: np.ndarray) -> np.ndarray:
        return self.L["site"][idx].astype(np.int64)

    # -- the run ------------------------------------------------------------------------------

    def run(self, rules: list[Rule], rate: float) -> dict[str, int]:
        n_err = round(rate * self.n_enc)
        insured = self.pcls != P_SELF  # self-pay claims are outside most rules' scope
        elig = {
            r.id: to_bool(r.eligible(self))
            & (self.e["kind"] < K_NEW)
            & (insured | (r.id == "COS-002"))
            for r in rules
        }
        alloc = allocate(n_err, rules, {k: int(v.sum()) for k, v in elig.items()})
        # rules with scarce pools first, so that they are not starved by common ones
        order = sorted(rules, key=lambda r: (elig[r.id].sum() / max(alloc[r.id], 1), r.id))
        counts: dict[str, int] = {}
        for r in order:
            want = alloc[r.id]
            if want <= 0:
                continue
            fam_used = self.used[self.family]
            pool = np.flatnonzero(elig[r.id] & ~fam_used)
            k = min(want, len(pool))
            if k == 0:
                counts[r.id] = 0
                continue
            chosen = np.sort(self.rng.choice(pool, size=k, replace=False))
            # one error per encounter family (parent + children)
            fams = self.family[chosen]
            _, first = np.unique(fams, return_index=True)
            chosen = chosen[np.sort(first)]
            self.used[self.family[chosen]] = True
            self.used[chosen] = True
            before = len(self.labels)
            r.apply(self, chosen)
            got = {int(x) for _, key, _ in self.labels[before:] for x in np.unique(key)}
            counts[r.id] = len(got)
        return counts


def allocate(n_err: int, rules: list[Rule], pools: dict[str, int]) -> dict[str, int]:
    """Every rule with a pool gets one error if there are enough errors; the rest by weight."""
    live = [r for r in rules if pools[r.id] > 0]
    out = {r.id: 0 for r in rules}
    if n_err <= 0 or not live:
        return out
    if n_err < len(live):
        ranked = sorted(live, key=lambda r: (-r.weight, r.id))
        for r in ranked[:n_err]:
            out[r.id] = 1
        return out
    for r in live:
        out[r.id] = 1
    rest = n_err - len(live)
    w = np.array([r.weight for r in live])
    share = rest * w / w.sum()
    base = np.floor(share).astype(int)
    rem = rest - base.sum()
    frac_order = np.argsort(-(share - base), kind="stable")
    base[frac_order[:rem]] += 1
    for r, b in zip(live, base, strict=True):
        out[r.id] += int(b)
    return out


# ---- eligibility building blocks ------------------------------------------------------------


def _kind(j: Injector, *kinds: int) -> np.ndarray:
    return np.isin(j.e["kind"], kinds)


def _proc(j: Injector) -> np.ndarray:
    return j.e["kind"] == K_PROC


def _comp(j: Injector, mask: int) -> np.ndarray:
    return (j.e["comp"] & mask) != 0


def _bx_only(j: Injector) -> np.ndarray:
    return _proc(j) & (j.e["comp"] == C_BX)


def _mixed(j: Injector) -> np.ndarray:
    return _proc(j) & _comp(j, C_BX) & _comp(j, C_DEFINITIVE)


def _em_line_mod(j: Injector, mod: str) -> np.ndarray:
    idx = j.first[R_EM]
    ok = idx >= 0
    out = np.zeros(j.n_enc, dtype=bool)
    out[ok] = j.L["m1"][idx[ok]] == MI[mod]
    return out


def _em_est_level(j: Injector, levels: tuple[int, ...]) -> np.ndarray:
    idx = j.first[R_EM]
    ok = idx >= 0
    out = np.zeros(j.n_enc, dtype=bool)
    codes = ci(*(f"9921{lv}" for lv in levels))
    out[ok] = np.isin(j.L["cpt"][idx[ok]], codes)
    return out


def _em_only(j: Injector) -> np.ndarray:
    return (j.e["kind"] == K_EM) & (j.c(R_EM) == 1)


def _line_attr(j: Injector, role: int, col: str, fill: int = -1) -> np.ndarray:
    idx = j.first[role]
    out = np.full(j.n_enc, fill, dtype=np.int64)
    ok = idx >= 0
    out[ok] = j.L[col][idx[ok]]
    return out


def _has(j: Injector, role: int) -> np.ndarray:
    return j.cnt[role] > 0


def _mcr(j: Injector) -> np.ndarray:
    return j.pcls == P_MCR


def _encounter_dx_any(j: Injector, pred: np.ndarray) -> np.ndarray:
    """Any line of the encounter carries a diagnosis with pred[dx] true."""
    L = j.L
    hit = np.zeros(j.n_lines, dtype=bool)
    for col in ("dx1", "dx2", "dx3"):
        d = L[col]
        hit |= (d >= 0) & pred[np.maximum(d, 0)]
    return np.bincount(L["enc"][hit], minlength=j.n_enc) > 0


# ---- the rules ------------------------------------------------------------------------------
# Each ``_i_*`` function edits the chosen encounters and labels the rows the rule must flag.


def _set(j: Injector, idx: np.ndarray, col: str, val: Any) -> None:
    j.L[col][idx] = val


def _i_gen001(j: Injector, encs: np.ndarray) -> None:
    em = j.f(R_EM, encs)
    use_em = j.e["kind"][encs] == K_EM
    _set(j, em[use_em], "cpt", CI["99201"])
    j.label("GEN-001", encs[use_em], em[use_em])
    bx = j.f(R_BXP, encs[~use_em])
    _set(j, bx, "cpt", CI["11100"])
    j.label("GEN-001", encs[~use_em], bx)


def _e_gen001(j: Injector) -> np.ndarray:
    em_new = _em_only(j) & np.isin(_line_attr(j, R_EM, "cpt"), EM_NEW) & ~_has(j, R_G2211)
    one_bx = (
        _proc(j)
        & (j.cnt[R_BXP] == 1)
        & (j.cnt[R_BXA] == 0)
        & (_line_attr(j, R_BXP, "cpt") == CI["11102"])
    )
    return em_new | one_bx


def _i_gen002(j: Injector, encs: np.ndarray) -> None:
    ak = j.cnt[R_AK3][encs] > 0
    e1 = encs[ak]
    j.alive[j.f(R_AK1, e1)] = False
    j.label("GEN-002", e1, j.f(R_AK3, e1))
    e2 = encs[~ak]
    j.alive[j.f(R_BXP, e2)] = False
    path = j.f(R_PATH, e2)
    j.L["units"][path] -= 1
    key, idx = j.lines_of(e2, (R_BXA,))
    j.label("GEN-002", key, idx)


def _e_gen002(j: Injector) -> np.ndarray:
    # dropping 17000 can remove the visit's only 010 code: not where a child visit relies on it
    ak = _has(j, R_AK3) & _has(j, R_AK1) & ~j.has_child
    return ak | (_bx_only(j) & _has(j, R_BXA))


def _i_gen005(j: Injector, encs: np.ndarray) -> None:
    src = j.f(R_SHV, encs)
    src = np.where(src >= 0, src, j.f(R_EXC, encs))
    uid = j.copy(src, ord_delta=1)
    j.label("GEN-005", encs, src)
    j.label("GEN-005", encs, uid)


def _e_gen005(j: Injector) -> np.ndarray:
    return _proc(j) & (_has(j, R_SHV) | _has(j, R_EXC))


def _tech(cpt: np.ndarray) -> np.ndarray:
    t = np.full(len(cpt), -1, dtype=np.int64)
    for i in range(3):
        t[(cpt == BX_PRIMARY[i]) | (cpt == BX_ADDON[i])] = i
    return t


def _i_bx001(j: Injector, encs: np.ndarray) -> None:
    a = j.f(R_BXA, encs)
    t = _tech(j.L["cpt"][a])
    _set(j, a, "cpt", BX_PRIMARY[t])
    j.label("BX-001", encs, j.f(R_BXP, encs))
    j.label("BX-001", encs, a)


def _e_bx001(j: Injector) -> np.ndarray:
    return _bx_only(j) & _has(j, R_BXA)


def _i_bx002(j: Injector, encs: np.ndarray) -> None:
    key, idx = j.lines_of(encs, (R_BXA,))
    tp = _tech(j.L["cpt"][j.f(R_BXP, key)])
    ta = _tech(j.L["cpt"][idx])
    lower = ta < tp
    key, idx, ta, tp = key[lower], idx[lower], ta[lower], tp[lower]
    _, first = np.unique(key, return_index=True)
    key, idx, ta, tp = key[first], idx[first], ta[first], tp[first]
    p = j.f(R_BXP, key)
    _set(j, p, "cpt", BX_PRIMARY[ta])
    _set(j, idx, "cpt", BX_ADDON[tp])
    j.label("BX-002", key, p)
    j.label("BX-002", key, idx)


def _e_bx002(j: Injector) -> np.ndarray:
    L = j.L
    a = L["role"] == R_BXA
    tp = np.full(j.n_enc, -1)
    p = j.first[R_BXP]
    tp[p >= 0] = _tech(L["cpt"][p[p >= 0]])
    lower = a & (_tech(L["cpt"]) < tp[L["enc"]])
    return _bx_only(j) & (np.bincount(L["enc"][lower], minlength=j.n_enc) > 0)


def _definitive_first(j: Injector, encs: np.ndarray) -> np.ndarray:
    key, idx = j.lines_of(encs, DEFINITIVE_ROLES)
    _, first = np.unique(key, return_index=True)
    out = np.full(len(encs), -1, dtype=np.int64)
    pos = np.searchsorted(encs, key[first])
    out[pos] = idx[first]
    return out


def _i_bx003(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    _set(j, p, "m1", 0)
    j.label("BX-003", encs, p)
    key, idx = j.lines_of(encs, DEFINITIVE_ROLES)
    j.label("BX-003", key, idx)


def _e_bx_mod(j: Injector) -> np.ndarray:
    # the definitive procedures of BX-003's list (11200 tags are not in it)
    bx003 = _comp(j, C_AK | C_BEN | C_SHV | C_EXC | C_MDEST) & ~_comp(j, C_TAG)
    return _mixed(j) & bx003 & np.isin(_line_attr(j, R_BXP, "m1"), [MI["XS"], MI["59"]])


def _e_mod003(j: Injector) -> np.ndarray:
    # every other procedure line has one site and one diagnosis: XS cannot point elsewhere
    L = j.L
    m = np.isin(L["role"], [r for r in PROC_ROLES if r not in (R_BXP, R_BXA)]) & (L["site"] >= 0)
    key = (L["enc"][m] * 64 + L["site"][m].astype(np.int64)) * 4096 + L["dx1"][m]
    n_sites = np.bincount(uniq(key) // (64 * 4096), minlength=j.n_enc)
    return _e_bx_mod(j) & (n_sites == 1)


def _i_bx004(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    key, idx = j.lines_of(encs, DEFINITIVE_ROLES)
    _set(j, idx, "m1", j.L["m1"][j.f(R_BXP, key)])
    _set(j, p, "m1", 0)
    j.label("BX-004", encs, p)
    j.label("BX-004", key, idx)


def _i_bx005(j: Injector, encs: np.ndarray) -> None:
    a = j.f(R_BXA, encs)
    _set(j, a, "m1", MI["59"])
    j.label("BX-005", encs, a)


def _i_bx006(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    _set(j, p, "site", pick(j.rng, np.array([SITE_LIPV, SITE_LIDM, SITE_EXTEAR]), None, len(p)))
    j.label("BX-006", encs, p)


def _i_tag001(j: Injector, encs: np.ndarray) -> None:
    t = j.f(R_TAG, encs)
    _set(j, t, "units", 2)
    j.label("TAG-001", encs, t)


def _i_tag002(j: Injector, encs: np.ndarray) -> None:
    t = j.f(R_TAG, encs)
    _set(j, t, "cpt", CI["17110"])
    _set(j, t, "dx2", -1)
    j.label("TAG-002", encs, t)


def _e_tag002(j: Injector) -> np.ndarray:
    return (
        _proc(j)
        & (j.e["comp"] == C_TAG)
        & ~_has(j, R_EM)
        & ~_has(j, R_TAGA)
        & ~np.isin(j.pcls, [P_MCR, P_MA])
    )


def _i_tag003(j: Injector, encs: np.ndarray) -> None:
    t = j.f(R_TAG, encs)
    uid = j.add(encs, 16, R_X, CI["17000"], dx1=DI[DX_AK], site=SITE_FACE)
    j.label("TAG-003", encs, t)
    j.label("TAG-003", encs, uid)


def _bump_band(cpt_idx: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
    """Move a banded code one size band up (one down when it is the top band)."""
    out = cpt_idx.copy()
    for tab in tables:
        flat = tab.reshape(-1, tab.shape[-1])
        for row in flat:
            pos = np.searchsorted(row, cpt_idx)  # rows are sorted code indices
            inrow = (pos < len(row)) & (row[np.minimum(pos, len(row) - 1)] == cpt_idx)
            nxt = np.where(pos + 1 < len(row), pos + 1, pos - 1)
            out = np.where(inrow, row[np.clip(nxt, 0, len(row) - 1)], out)
    return out


def _i_shv001(j: Injector, encs: np.ndarray) -> None:
    s = j.f(R_SHV, encs)
    _set(j, s, "cpt", _bump_band(j.L["cpt"][s], [SHAVE_CODES]))
    j.label("SHV-001", encs, s)


def _i_shv002(j: Injector, encs: np.ndarray) -> None:
    s = j.f(R_SHV, encs)
    site = j.site_of(s)
    ln = j.rng.integers(8, 21, len(s))
    cpt = repair_code(np.full(len(s), RPR_SIMPLE), S_SIMPLE[site], ln)
    uid = j.add(encs, j.L["ord"][s] + 1, R_X, cpt, dx1=j.L["dx1"][s], site=site, size=ln)
    j.label("SHV-002", encs, s)
    j.label("SHV-002", encs, uid)


def _exc_malig(j: Injector, idx: np.ndarray) -> np.ndarray:
    return np.isin(j.L["cpt"][idx], EXC_MAL.ravel())


def _i_exc001(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    tab_b, tab_m = EXC_BEN.ravel(), EXC_MAL.ravel()
    _set(j, x, "cpt", tab_m[np.searchsorted(tab_b, j.L["cpt"][x])])
    j.label("EXC-001", encs, x)


def _e_exc001(j: Injector) -> np.ndarray:
    x = j.first[R_EXC]
    ok = x >= 0
    ben = np.zeros(j.n_enc, dtype=bool)
    ben[ok] = np.isin(j.L["cpt"][x[ok]], EXC_BEN.ravel())
    return _proc(j) & ben & (j.cnt[R_EXC] == 1) & ~_encounter_dx_any(j, DX_MALIGNANT)


def _i_exc002(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    tab_b, tab_m = EXC_BEN.ravel(), EXC_MAL.ravel()
    _set(j, x, "cpt", tab_b[np.searchsorted(tab_m, j.L["cpt"][x])])
    j.label("EXC-002", encs, x)


def _e_exc002(j: Injector) -> np.ndarray:
    x = j.first[R_EXC]
    ok = x >= 0
    m = np.zeros(j.n_enc, dtype=bool)
    small = ci("11600", "11620", "11640")
    m[ok] = _exc_malig(j, x[ok]) & ~np.isin(j.L["cpt"][x[ok]], small)
    return _proc(j) & m & (j.cnt[R_EXC] == 1)


def _i_exc003(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    _set(j, x, "cpt", _bump_band(j.L["cpt"][x], [EXC_BEN, EXC_MAL]))
    j.label("EXC-003", encs, x)


def _e_exc003(j: Injector) -> np.ndarray:
    # a benign <=0.5 cm excision is not bumped when a repair is present (EXC-005 overlap)
    return _proc(j) & _has(j, R_EXC) & ~_has(j, R_RPR)


def _i_exc004(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    site = j.site_of(x)
    ln = np.clip((j.L["size"][x] * 2.5).astype(np.int64), 5, 75)
    cpt = repair_code(np.full(len(x), RPR_SIMPLE), S_SIMPLE[site], ln)
    uid = j.add(encs, j.L["ord"][x] + 1, R_X, cpt, dx1=j.L["dx1"][x], site=site, size=ln)
    j.label("EXC-004", encs, x)
    j.label("EXC-004", encs, uid)


def _e_exc004(j: Injector) -> np.ndarray:
    return _proc(j) & _has(j, R_EXC) & ~_has(j, R_RPR) & (j.cnt[R_EXC] == 1)


def _i_exc005(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    site = j.site_of(x)
    ln = j.rng.integers(10, 21, len(x))
    cpt = repair_code(np.full(len(x), RPR_INT), S_INT[site], ln)
    uid = j.add(encs, j.L["ord"][x] + 1, R_X, cpt, dx1=j.L["dx1"][x], site=site, size=ln)
    j.label("EXC-005", encs, x)
    j.label("EXC-005", encs, uid)


def _e_exc005(j: Injector) -> np.ndarray:
    x = j.first[R_EXC]
    ok = x >= 0
    small = np.zeros(j.n_enc, dtype=bool)
    small[ok] = np.isin(j.L["cpt"][x[ok]], ci("11400", "11420", "11440"))
    return _proc(j) & small & (j.cnt[R_EXC] == 1) & ~_has(j, R_RPR)


def _i_exc007(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    ne = j.new_encs(encs, 1)
    uid = j.add(
        ne, 50, R_X, j.L["cpt"][x], dx1=j.L["dx1"][x], site=j.L["site"][x], size=j.L["size"][x]
    )
    j.add(ne, 90, R_X, CI["88305"], dx1=j.L["dx1"][x])
    j.label("EXC-007", encs, x)
    j.label("EXC-007", encs, uid)


def _e_exc007(j: Injector) -> np.ndarray:
    x = j.first[R_EXC]
    ok = x >= 0
    m = np.zeros(j.n_enc, dtype=bool)
    m[ok] = _exc_malig(j, x[ok])
    return _proc(j) & m & (j.cnt[R_EXC] == 1) & (j.next_days > 25)


def _exc_repair_enc(j: Injector) -> np.ndarray:
    return _proc(j) & _has(j, R_EXC) & (j.cnt[R_RPR] == 1)


def _alt_site(site: np.ndarray, grp_of: np.ndarray) -> np.ndarray:
    """Another single-lesion site in the same repair group (vectorised table lookup)."""
    sites = np.arange(N_LESION_SITES)
    table = np.full(N_LESION_SITES, -1, dtype=np.int64)
    for s in sites:  # 30 sites: a tiny constant table, not per row
        same = sites[(grp_of[:N_LESION_SITES] == grp_of[s]) & (sites != s)]
        table[s] = same[0] if len(same) else -1
    return table[site]


def _i_rpr001(j: Injector, encs: np.ndarray) -> None:
    r = j.f(R_RPR, encs)
    cls = np.where(np.isin(j.L["cpt"][r], CX_CODES), RPR_CX, RPR_INT)
    site = j.site_of(r)
    alt = np.where(cls == RPR_CX, _alt_site(site, S_CX), _alt_site(site, S_INT))
    uid = j.copy(r, ord_delta=1, site=alt)
    j.label("RPR-001", encs, r)
    j.label("RPR-001", encs, uid)


def _e_rpr001(j: Injector) -> np.ndarray:
    r = j.first[R_RPR]
    ok = r >= 0
    has_alt = np.zeros(j.n_enc, dtype=bool)
    site = j.L["site"][r[ok]].astype(np.int64)
    cx = np.isin(j.L["cpt"][r[ok]], CX_CODES)
    alt = np.where(cx, _alt_site(site, S_CX), _alt_site(site, S_INT))
    has_alt[ok] = alt >= 0
    return _exc_repair_enc(j) & has_alt


def _i_rpr002(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    site = j.site_of(p)
    ln = j.rng.integers(5, 16, len(p))
    cpt = repair_code(np.full(len(p), RPR_SIMPLE), S_SIMPLE[site], ln)
    uid = j.add(encs, 39, R_X, cpt, dx1=j.L["dx1"][p], site=site, size=ln)
    j.label("RPR-002", encs, p)
    j.label("RPR-002", encs, uid)


def _e_rpr002(j: Injector) -> np.ndarray:
    return _bx_only(j) & np.isin(_line_attr(j, R_BXP, "cpt"), ci("11104", "11106"))


def _i_rpr003(j: Injector, encs: np.ndarray) -> None:
    r = j.f(R_RPR, encs)
    _set(j, r, "size", j.rng.integers(5, 11, len(r)))
    j.label("RPR-003", encs, r)


def _e_rpr003(j: Injector) -> np.ndarray:
    return _exc_repair_enc(j) & np.isin(_line_attr(j, R_RPR, "cpt"), CX_CODES)


def _i_rpr004(j: Injector, encs: np.ndarray) -> None:
    r = j.f(R_RPR, encs)
    site = j.site_of(r)
    cx = np.isin(j.L["cpt"][r], CX_CODES)
    ln = j.L["size"][r].astype(np.int64)
    int_grp = np.where(S_INT[site] == 2, 0, 2)  # face <-> trunk/limbs
    cx_grp = np.where(S_CX[site] == 3, 0, 3)  # eyelid/nose/ear/lip <-> trunk
    cls = np.where(cx, RPR_CX, RPR_INT)
    cpt = repair_code(cls, np.where(cx, cx_grp, int_grp), ln)
    _set(j, r, "cpt", cpt)
    j.label("RPR-004", encs, r)


def _i_att001(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_EXC, encs)
    r = j.f(R_RPR, encs)
    _set(j, r, "cpt", ATT_BY_CX[S_CX[j.site_of(r)]])
    _set(j, r, "size", -1)
    j.label("ATT-001", encs, x)
    j.label("ATT-001", encs, r)


def _e_att001(j: Injector) -> np.ndarray:
    return _exc_repair_enc(j) & ~_has(j, R_EM) & (j.next_days > 95)


def _i_att002(j: Injector, encs: np.ndarray) -> None:
    t = j.f(R_ATT, encs)
    site = j.site_of(t)
    ln = j.rng.integers(26, 51, len(t))
    cpt = repair_code(np.full(len(t), RPR_CX), S_CX[site], ln)
    uid = j.add(encs, 26, R_X, cpt, dx1=j.L["dx1"][t], site=site, size=ln)
    j.label("ATT-002", encs, t)
    j.label("ATT-002", encs, uid)


def _i_dest001(j: Injector, encs: np.ndarray) -> None:
    big = j.cnt[R_AK4][encs] > 0
    e1 = encs[big]
    a4 = j.f(R_AK4, e1)
    uid = j.add(e1, 11, R_X, CI["17000"], dx1=DI[DX_AK], site=j.L["site"][a4])
    j.label("DEST-001", e1, a4)
    j.label("DEST-001", e1, uid)
    e2 = encs[~big]
    a1 = j.f(R_AK1, e2)
    uid = j.add(e2, 12, R_X, CI["17004"], dx1=DI[DX_AK], site=j.L["site"][a1])
    key, idx = j.lines_of(e2, (R_AK1, R_AK3))
    j.label("DEST-001", key, idx)
    j.label("DEST-001", e2, uid)


def _e_dest001(j: Injector) -> np.ndarray:
    return _proc(j) & (_has(j, R_AK4) | _has(j, R_AK1))


def _i_dest002(j: Injector, encs: np.ndarray) -> None:
    a1, a3 = j.f(R_AK1, encs), j.f(R_AK3, encs)
    _set(j, a1, "units", 1 + j.L["units"][a3])
    j.alive[a3] = False
    j.label("DEST-002", encs, a1)


def _e_dest002(j: Injector) -> np.ndarray:
    return _proc(j) & _has(j, R_AK1) & _has(j, R_AK3)


def _i_dest003(j: Injector, encs: np.ndarray) -> None:
    a4 = j.f(R_AK4, encs)
    _set(j, a4, "cpt", CI["17000"])
    uid = j.add(encs, 11, R_X, CI["17003"], units=14, dx1=DI[DX_AK], site=j.L["site"][a4])
    j.label("DEST-003", encs, a4)
    j.label("DEST-003", encs, uid)


def _i_dest004(j: Injector, encs: np.ndarray) -> None:
    key, idx = j.lines_of(encs, tuple(range(24)))
    for col in ("dx1", "dx2", "dx3"):
        v = j.L[col][idx]
        j.L[col][idx] = np.where(v == DI[DX_AK], DI[DX_SK], v)
    key, idx = j.lines_of(encs, (R_AK1, R_AK3, R_AK4))
    j.label("DEST-004", key, idx)


def _e_dest004(j: Injector) -> np.ndarray:
    return _proc(j) & (_has(j, R_AK1) | _has(j, R_AK4)) & ~_has(j, R_BEN)


def _i_dest005(j: Injector, encs: np.ndarray) -> None:
    a1 = j.f(R_AK1, encs)
    _set(j, a1, "cpt", CI["17110"])
    a3 = j.f(R_AK3, encs)
    j.alive[a3[a3 >= 0]] = False
    j.label("DEST-005", encs, a1)


def _e_dest005(j: Injector) -> np.ndarray:
    return _proc(j) & (j.e["comp"] == C_AK) & _has(j, R_AK1) & ~_has(j, R_EM)


def _i_dest006(j: Injector, encs: np.ndarray) -> None:
    b = j.f(R_BEN, encs)
    _set(j, b, "units", 2)
    j.label("DEST-006", encs, b)


def _e_ben(j: Injector) -> np.ndarray:
    return _proc(j) & _has(j, R_BEN)


def _i_dest007(j: Injector, encs: np.ndarray) -> None:
    _, idx = j.lines_of(encs, tuple(range(24)))
    for col in ("dx1", "dx2", "dx3"):
        v = j.L[col][idx]
        j.L[col][idx] = np.where((v >= 0) & DX_MALIGNANT[np.maximum(v, 0)], DI[DX_SK], v)
    m = j.f(R_MDEST, encs)
    j.label("DEST-007", encs, m)


def _e_mdest(j: Injector) -> np.ndarray:
    return _proc(j) & _has(j, R_MDEST)


def _i_dest008(j: Injector, encs: np.ndarray) -> None:
    m = j.f(R_MDEST, encs)
    _set(j, m, "cpt", _bump_band(j.L["cpt"][m], [MDEST_CODES]))
    j.label("DEST-008", encs, m)


def _i_dest009(j: Injector, encs: np.ndarray) -> None:
    b = j.f(R_BEN, encs)
    _set(j, b, "dx1", DI[DX_VASC])
    _set(j, b, "dx2", -1)
    j.label("DEST-009", encs, b)


def _e_dest009(j: Injector) -> np.ndarray:
    return _proc(j) & (j.e["comp"] == C_BEN) & ~_has(j, R_EM)


def _i_dest010(j: Injector, encs: np.ndarray) -> None:
    b = j.f(R_BEN, encs)
    uid = j.add(
        encs, 11, R_X, CI["11055"], dx1=j.L["dx1"][b], dx2=j.L["dx2"][b], site=j.L["site"][b]
    )
    j.label("DEST-010", encs, b)
    j.label("DEST-010", encs, uid)


def _e_dest010(j: Injector) -> np.ndarray:
    dx = _line_attr(j, R_BEN, "dx1")
    return _e_ben(j) & np.isin(dx, di(DX_PLANTAR, DX_WART)) & np.isin(j.pcls, [P_COM, P_MCD])


def _i_dest012(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    uid = j.add(encs, 38, R_X, CI["17250"], dx1=j.L["dx1"][p], site=j.L["site"][p])
    j.label("DEST-012", encs, p)
    j.label("DEST-012", encs, uid)


def _i_dest013(j: Injector, encs: np.ndarray) -> None:
    b = j.f(R_BEN, encs)
    _set(j, b, "dx2", -1)
    j.label("DEST-013", encs, b)


def _e_dest013(j: Injector) -> np.ndarray:
    dx = _line_attr(j, R_BEN, "dx1")
    return (
        _e_ben(j)
        & (j.e["comp"] == C_BEN)
        & ~_has(j, R_EM)
        & _mcr(j)
        & np.isin(dx, di(DX_PLANTAR, DX_WART))
        & (_line_attr(j, R_BEN, "dx2") >= 0)
    )


def _mohs_lines(j: Injector, encs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return j.lines_of(encs, (R_MOHS1, R_MOHSA, R_MOHSB))


def _e_mohs(j: Injector) -> np.ndarray:
    return (j.e["kind"] == K_MOHS) & _has(j, R_MOHS1)


def _i_mohs001(j: Injector, encs: np.ndarray) -> None:
    j.alive[j.f(R_MOHS1, encs)] = False
    j.label("MOHS-001", encs, j.f(R_MOHSA, encs))


def _e_mohs001(j: Injector) -> np.ndarray:
    return _e_mohs(j) & _has(j, R_MOHSA) & ~_has(j, R_MOHSB)


def _i_mohs002(j: Injector, encs: np.ndarray) -> None:
    key, idx = j.lines_of(encs, tuple(range(24)))
    for col in ("dx1", "dx2", "dx3"):
        v = j.L[col][idx]
        j.L[col][idx] = np.where((v >= 0) & DX_MALIGNANT[np.maximum(v, 0)], DI[DX_AK], v)
    key, idx = _mohs_lines(j, encs)
    j.label("MOHS-002", key, idx)


def _i_mohs003(j: Injector, encs: np.ndarray) -> None:
    m = j.f(R_MOHS1, encs)
    uid = j.add(encs, 90, R_X, CI["88305"], dx1=j.L["dx1"][m])
    j.label("MOHS-003", encs, uid)
    j.label("MOHS-003", encs, m)


def _i_mohs004(j: Injector, encs: np.ndarray) -> None:
    m = j.f(R_MOHS1, encs)
    uid = j.add(encs, 19, R_X, CI["11102"], dx1=j.L["dx1"][m], site=j.L["site"][m])
    j.label("MOHS-004", encs, uid)
    j.label("MOHS-004", encs, m)


def _i_mohs005(j: Injector, encs: np.ndarray) -> None:
    m = j.f(R_MOHS1, encs)
    site = j.site_of(m)
    size = j.L["size"][m].astype(np.int64) + 4
    band = np.searchsorted(BAND6_UPPER, size, side="left")
    uid = j.add(encs, 24, R_X, EXC_MAL[S_GRP[site], band], dx1=j.L["dx1"][m], site=site, size=size)
    j.label("MOHS-005", encs, uid)
    j.label("MOHS-005", encs, m)


def _i_mohs006(j: Injector, encs: np.ndarray) -> None:
    key, idx = _mohs_lines(j, encs)
    c = j.L["cpt"][idx]
    j.L["cpt"][idx] = np.select([c == CI["17311"], c == CI["17312"]], [CI["17313"], CI["17314"]], c)
    j.label("MOHS-006", key, idx)


def _e_mohs006(j: Injector) -> np.ndarray:
    return _e_mohs(j) & (_line_attr(j, R_MOHS1, "cpt") == CI["17311"])


def _i_mohs009(j: Injector, encs: np.ndarray) -> None:
    apps = j.p.app_provs
    j.e["prov"][encs] = pick(j.rng, apps, None, len(encs))
    key, idx = _mohs_lines(j, encs)
    j.label("MOHS-009", key, idx)


def _e_mohs009(j: Injector) -> np.ndarray:
    if len(j.p.app_provs) == 0:
        return np.zeros(j.n_enc, dtype=bool)
    return _e_mohs(j)


def _i_mohs010(j: Injector, encs: np.ndarray) -> None:
    m = j.f(R_MOHS1, encs)
    uid = j.add(encs, 91, R_X, CI["88314"], dx1=j.L["dx1"][m])
    j.label("MOHS-010", encs, uid)
    j.label("MOHS-010", encs, m)


def _i_inj001(j: Injector, encs: np.ndarray) -> None:
    i = j.f(R_INJ, encs)
    _set(j, i, "units", 2)
    j.label("INJ-001", encs, i)


def _e_inj001(j: Injector) -> np.ndarray:
    return _proc(j) & (_line_attr(j, R_INJ, "cpt") == CI["11900"])


def _em(j: Injector, encs: np.ndarray) -> np.ndarray:
    return j.f(R_EM, encs)


def _e_em25(j: Injector) -> np.ndarray:
    return _proc(j) & _em_line_mod(j, "25")


def _i_em001(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    _set(j, em, "m1", 0)
    j.label("EM-001", encs, em)


def _i_em004(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    _set(j, em, "m1", MI["57"])
    j.label("EM-004", encs, em)


def _i_em005(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    _set(j, em, "m1", 0)
    j.label("EM-005", encs, em)
    par = j.e["parent"][encs]
    j.label("EM-005", encs, j.f(R_ATT, par))


def _e_em005(j: Injector) -> np.ndarray:
    return (j.e["kind"] == K_PREOP) & _em_line_mod(j, "57")


def _i_em006(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    c = j.L["cpt"][em]
    lv = np.searchsorted(EM_EST, c)
    _set(j, em, "cpt", EM_NEW[lv])
    j.label("EM-006", encs, em)


def _e_em006(j: Injector) -> np.ndarray:
    # the earlier visit is with the same rendering provider (no group/specialty data needed)
    return _em_only(j) & _em_est_level(j, (2, 3, 4, 5)) & j.prev_same_prov


def _i_em007(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    other = np.where(j.L["cpt"][em] == CI["99212"], CI["99213"], CI["99212"])
    uid = j.copy(em, ord_delta=2, cpt=other)
    j.label("EM-007", encs, em)
    j.label("EM-007", encs, uid)


def _i_em009(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    _set(j, em, "cpt", CI["99215"])
    _set(j, em, "dx1", DI[DX_SK])
    _set(j, em, "dx2", -1)
    _set(j, em, "dx3", -1)
    j.label("EM-009", encs, em)


def _e_em_plain(j: Injector) -> np.ndarray:
    return _em_only(j) & ~_has(j, R_G2211) & (_line_attr(j, R_EM, "m1") == 0)


def _i_em010(j: Injector, encs: np.ndarray) -> None:
    uid = j.add(
        encs,
        0,
        R_X,
        CI["99211"],
        m1=MI["25"],
        dx1=pick(j.rng, di("L30.9", "L21.9", "L71.9"), None, len(encs)),
    )
    j.label("EM-010", encs, uid)


def _e_em010(j: Injector) -> np.ndarray:
    return _proc(j) & ~_has(j, R_EM) & ((j.c(*DEFINITIVE_ROLES) > 0) | _has(j, R_BXP))


def _i_em011(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    _set(j, em, "dx1", DI[DX_SCREEN])
    _set(j, em, "dx2", np.where(j.rng.random(len(em)) < 0.5, DI[DX_HX_SKCA], -1))
    _set(j, em, "dx3", -1)
    j.label("EM-011", encs, em)


def _e_em011(j: Injector) -> np.ndarray:
    return _e_em_plain(j) & _mcr(j) & _em_est_level(j, (2, 3))


def _i_em012(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    uid = j.add(encs, 2, R_X, CI["G2212"], dx1=j.L["dx1"][em])
    j.label("EM-012", encs, uid)
    j.label("EM-012", encs, em)


def _e_em012(j: Injector) -> np.ndarray:
    return _e_em_plain(j) & _mcr(j) & _em_est_level(j, (3, 4))


def _i_em013(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    uid = j.add(encs, 1, R_X, CI["G2211"], dx1=j.L["dx1"][em])
    j.label("EM-013", encs, uid)


def _e_em013(j: Injector) -> np.ndarray:
    return _e_em25(j) & np.isin(j.pcls, [P_MCR, P_MA])


def _i_mod001(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    _set(j, p, "m1", MI["XS"])
    _set(j, p, "m2", MI["59"])
    j.label("MOD-001", encs, p)


def _i_mod002(j: Injector, encs: np.ndarray) -> None:
    has_em = j.cnt[R_EM][encs] > 0
    e1 = encs[~has_em]
    d = _definitive_first(j, e1)
    d = np.where(d >= 0, d, j.f(R_BXP, e1))
    d = np.where(d >= 0, d, j.f(R_INJ, e1))
    _set(j, d, "m1", MI["25"])
    j.label("MOD-002", e1, d)
    e2 = encs[has_em]
    em = _em(j, e2)
    _set(j, em, "m2", MI["59"])
    j.label("MOD-002", e2, em)


def _e_mod002(j: Injector) -> np.ndarray:
    no_em = ~_has(j, R_EM) & ((j.c(*DEFINITIVE_ROLES) > 0) | _has(j, R_BXP) | _has(j, R_INJ))
    return _proc(j) & (no_em | _em_line_mod(j, "25"))


def _i_mod003(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    d = _definitive_first(j, encs)
    _set(j, p, "site", j.L["site"][d])
    _set(j, p, "dx1", j.L["dx1"][d])
    j.label("MOD-003", encs, p)
    j.label("MOD-003", encs, d)


def _i_mod005(j: Injector, encs: np.ndarray) -> None:
    key, idx = j.lines_of(encs, (R_SHV, R_EXC, R_BEN, R_TAG))
    _, first = np.unique(key, return_index=True)
    key, idx = key[first], idx[first]
    _set(j, idx, "m1", MI["GA"])
    _set(j, idx, "m2", MI["GZ"])
    j.label("MOD-005", key, idx)


def _e_mod005(j: Injector) -> np.ndarray:
    return _proc(j) & _mcr(j) & (j.c(R_SHV, R_EXC, R_BEN, R_TAG) > 0)


def _e_glob(j: Injector) -> np.ndarray:
    return _kind(j, K_PROC, K_MOHS) & np.isin(j.e["glob"], [10, 90]) & (j.next_days > 12)


def _i_glob001(j: Injector, encs: np.ndarray) -> None:
    ne = j.new_encs(encs, 1)
    uid = j.add(
        ne, 0, R_X, CI["99213"], dx1=pick(j.rng, di("L30.9", "L21.9", "L71.9"), None, len(ne))
    )
    j.label("GLOB-001", encs, uid)


def _i_glob002(j: Injector, encs: np.ndarray) -> None:
    ne = j.new_encs(encs, 1)
    site = pick(j.rng, np.arange(16, 30), None, len(ne))
    dx = CAT_AXIS_IDX[CAT_NEV, S_AXIS[site]]
    uid = j.add(ne, 30, R_X, CI["11102"], dx1=dx, site=site)
    j.add(ne, 90, R_X, CI["88305"], dx1=dx)
    j.label("GLOB-002", encs, uid)


def _i_cos001(j: Injector, encs: np.ndarray) -> None:
    s = j.f(R_SHV, encs)
    _set(j, s, "dx2", j.L["dx1"][s])
    _set(j, s, "dx1", DI[DX_COSM])
    _set(j, s, "dx3", -1)
    j.label("COS-001", encs, s)


def _e_cos001(j: Injector) -> np.ndarray:
    return _proc(j) & _has(j, R_SHV) & np.isin(j.pcls, [P_COM, P_MCD])


def _i_cos002(j: Injector, encs: np.ndarray) -> None:
    j.e["payer"][encs] = j.e["_pat_payer"][j.e["pat"][encs]]
    c = j.f(R_COS, encs)
    peel = j.L["cpt"][c] == CI["15788"]
    _set(j, c, "dx1", np.where(peel, DI[DX_LENTIGO], DI[DX_SCAR]))
    _set(j, c, "dx2", -1)
    j.label("COS-002", encs, c)


def _e_cos002(j: Injector) -> np.ndarray:
    return (j.e["kind"] == K_COS) & (j.pat_cls != P_SELF)


def _i_cos003(j: Injector, encs: np.ndarray) -> None:
    key, idx = j.lines_of(encs, tuple(range(24)))
    for col in ("dx2", "dx3"):
        v = j.L[col][idx]
        j.L[col][idx] = np.where((v >= 0) & DX_SYMPTOM[np.maximum(v, 0)], -1, v)
    key, idx = j.lines_of(encs, (R_SHV, R_EXC, R_TAG, R_BEN))
    keep = DX_COS3[np.maximum(j.L["dx1"][idx], 0)]
    j.label("COS-003", key[keep], idx[keep])


def _e_cos003(j: Injector) -> np.ndarray:
    L = j.L
    rem = np.isin(L["role"], [R_SHV, R_EXC, R_TAG, R_BEN]) & DX_COS3[np.maximum(L["dx1"], 0)]
    has_rem = np.bincount(L["enc"][rem], minlength=j.n_enc) > 0
    warts = _encounter_dx_any(j, DX_WARTS)
    mal = _encounter_dx_any(j, DX_MALIGNANT)
    # no other lesion on the day documents inflammation or uncertain behaviour either (without
    # line pointers a rule may read any of the day's diagnoses as the indication)
    other_support = _encounter_dx_any(j, DX_INFLAMED_OR_UNCERTAIN)
    return _proc(j) & _mcr(j) & has_rem & ~warts & ~mal & ~other_support & ~_has(j, R_TAGA)


def _i_path001(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_PATH, encs)
    j.L["units"][p] += 1
    j.label("PATH-001", encs, p)


def _e_path(j: Injector) -> np.ndarray:
    # not a lone biopsy: 88305 x2 with one biopsy is PATH-002 (missed add-on) territory
    lone_bx = (j.c(R_BXP, R_BXA) == 1) & (j.c(R_SHV, R_EXC) == 0)
    # no destruction lines either (a rule may count them as possible specimens)
    return _proc(j) & _has(j, R_PATH) & ~lone_bx & ~_comp(j, C_AK | C_BEN | C_MDEST)


def _i_dx001(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_SHV, encs)
    x = np.where(x >= 0, x, j.f(R_EXC, encs))
    grp = S_GRP[j.site_of(x)]
    axis = np.where(grp == 2, AX_TRUNK, AX_FACE)
    cat = DX_CAT[j.L["dx1"][x]]
    _set(j, x, "dx1", CAT_AXIS_IDX[cat, axis])
    j.label("DX-001", encs, x)


def _first_sited_dx(j: Injector) -> np.ndarray:
    x = j.first[R_SHV]
    x = np.where(x >= 0, x, j.first[R_EXC])
    ok = x >= 0
    out = np.zeros(j.n_enc, dtype=bool)
    out[ok] = DX_CAT[j.L["dx1"][x[ok]]] >= 0
    return out


def _e_dx001(j: Injector) -> np.ndarray:
    return _proc(j) & _first_sited_dx(j)


def _e_dx003(j: Injector) -> np.ndarray:
    # DX-003 lists C44.9x, D22.9, D23.9 and D04.9 (not C43.9 / D03.9)
    x = j.first[R_SHV]
    x = np.where(x >= 0, x, j.first[R_EXC])
    ok = x >= 0
    listed = np.zeros(j.n_enc, dtype=bool)
    listed[ok] = np.isin(DX_CAT[j.L["dx1"][x[ok]]], [CAT_BCC, CAT_SCC, CAT_SCCIS, CAT_NEV, CAT_BEN])
    return _proc(j) & listed


def _i_dx003(j: Injector, encs: np.ndarray) -> None:
    x = j.f(R_SHV, encs)
    x = np.where(x >= 0, x, j.f(R_EXC, encs))
    old = j.L["dx1"][x]
    new = di(*CAT_UNSPEC)[DX_CAT[old]]
    key, idx = j.lines_of(encs, tuple(range(24)))
    for col in ("dx1", "dx2", "dx3"):
        v = j.L[col][idx]
        pos = np.searchsorted(encs, key)
        j.L[col][idx] = np.where(v == old[pos], new[pos], v)
    j.label("DX-003", encs, x)


def _i_dx004(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    old = j.L["dx1"][em]
    lut = np.full(len(DX_LIST), DI["L30.6"], dtype=np.int16)
    for k, v in INVALID_DX.items():
        lut[DI[k]] = DI[v]
    _set(j, em, "dx1", lut[old])
    j.label("DX-004", encs, em)


def _i_dx002(j: Injector, encs: np.ndarray) -> None:
    p = j.f(R_BXP, encs)
    _set(j, p, "dx1", DI[DX_UNCERTAIN])
    j.label("DX-002", encs, p)


def _i_rev001(j: Injector, encs: np.ndarray) -> None:
    em = _em(j, encs)
    fee = np.array([FEE_2025.get(c, 0.0) for c in CODES])[j.L["cpt"][em]]
    j.charge[em] = np.round(fee * 0.8 * 100).astype(np.int64)
    j.label("REV-001", encs, em)


def _e_rev001(j: Injector) -> np.ndarray:
    return _e_em_plain(j)


RULES: list[Rule] = [
    Rule(
        "GEN-001",
        2,
        "Code not valid on the date of service (99201 after 2021, 11100 after 2019)",
        ("99201", "11100"),
        _e_gen001,
        _i_gen001,
    ),
    Rule(
        "GEN-002",
        2,
        "Add-on without its primary (17003 without 17000; biopsy add-ons without a primary biopsy)",
        ("17003", "11103", "11105", "11107"),
        _e_gen002,
        _i_gen002,
    ),
    Rule(
        "GEN-005",
        2,
        "Exact duplicate line (shave or excision entered twice)",
        tuple(c for c in CODES if c[:3] in ("113", "114", "116")),
        _e_gen005,
        _i_gen005,
    ),
    Rule(
        "BX-001",
        2,
        "Two primary biopsy codes in one encounter (add-on billed as a primary)",
        ("11102", "11104", "11106"),
        _e_bx001,
        _i_bx001,
    ),
    Rule(
        "BX-002",
        2,
        "Wrong primary in the biopsy hierarchy (e.g. 11102 + 11105)",
        ("11102", "11104", "11105", "11107"),
        _e_bx002,
        _i_bx002,
    ),
    Rule(
        "BX-003",
        2,
        "Biopsy with a definitive lesion procedure the same day, no distinct modifier",
        ("11102", "11104", "11106"),
        _e_bx_mod,
        _i_bx003,
    ),
    Rule(
        "BX-004",
        1,
        "Distinct-procedure modifier on the definitive procedure instead of the biopsy",
        ("11102", "11104", "11106"),
        _e_bx_mod,
        _i_bx004,
    ),
    Rule(
        "BX-005",
        1,
        "Modifier 59 on a biopsy add-on code",
        ("11103", "11105", "11107"),
        _e_bx001,
        _i_bx005,
    ),
    Rule(
        "BX-006",
        1,
        "Skin biopsy code at a site with its own biopsy code (lip vermilion, "
        "eyelid margin, external ear)",
        ("11102", "11104", "11106"),
        lambda j: _proc(j) & _has(j, R_BXP),
        _i_bx006,
    ),
    Rule(
        "TAG-001",
        2,
        "11200 billed with more than one unit",
        ("11200",),
        lambda j: _proc(j) & _has(j, R_TAG),
        _i_tag001,
    ),
    Rule(
        "TAG-002",
        2,
        "Skin tags (L91.8 only) coded as benign destruction 17110",
        ("17110",),
        _e_tag002,
        _i_tag002,
    ),
    Rule(
        "TAG-003",
        1,
        "Skin tag removal and AK destruction the same day without a distinct modifier",
        ("11200", "17000"),
        lambda j: _proc(j) & _has(j, R_TAG),
        _i_tag003,
    ),
    Rule(
        "SHV-001",
        2,
        "Shave code one size band off the recorded lesion size",
        tuple(c for c in CODES if c[:3] == "113"),
        lambda j: _proc(j) & _has(j, R_SHV),
        _i_shv001,
    ),
    Rule(
        "SHV-002",
        1,
        "Simple repair billed with a shave removal at the same site",
        ("12001", "12002", "12011", "12013"),
        lambda j: _proc(j) & _has(j, R_SHV),
        _i_shv002,
    ),
    Rule(
        "EXC-001",
        2,
        "Malignant excision code with only benign diagnoses",
        tuple(c for c in CODES if c[:3] == "116"),
        _e_exc001,
        _i_exc001,
    ),
    Rule(
        "EXC-002",
        2,
        "Benign excision code for a malignant lesion",
        tuple(c for c in CODES if c[:3] == "114"),
        _e_exc002,
        _i_exc002,
    ),
    Rule(
        "EXC-003",
        2,
        "Excision code one size band off the recorded excised diameter",
        tuple(c for c in CODES if c[:3] in ("114", "116")),
        _e_exc003,
        _i_exc003,
    ),
    Rule(
        "EXC-004",
        2,
        "Simple repair billed with an excision at the same site",
        ("12001", "12002", "12004", "12011", "12013", "12014"),
        _e_exc004,
        _i_exc004,
    ),
    Rule(
        "EXC-005",
        2,
        "Intermediate repair billed with a benign excision of 0.5 cm or less",
        ("12031", "12041", "12051", "11400", "11420", "11440"),
        _e_exc005,
        _i_exc005,
    ),
    Rule(
        "EXC-007",
        1,
        "Re-excision within the 10-day global without 58/78/79",
        tuple(c for c in CODES if c[:3] in ("114", "116")),
        _e_exc007,
        _i_exc007,
    ),
    Rule(
        "RPR-001",
        2,
        "Two repair lines of the same class and anatomic group (not summed)",
        tuple(c for c in CODES if c[:3] in ("120", "121", "131")),
        _e_rpr001,
        _i_rpr001,
    ),
    Rule(
        "RPR-002",
        2,
        "Simple repair billed with a punch or incisional biopsy at the same site",
        ("12001", "12002", "12011", "12013"),
        _e_rpr002,
        _i_rpr002,
    ),
    Rule(
        "RPR-003",
        1,
        "Complex repair with a documented length of 1.0 cm or less",
        tuple(CODES[i] for i in CX_CODES),
        _e_rpr003,
        _i_rpr003,
    ),
    Rule(
        "RPR-004",
        2,
        "Repair code family does not match the site",
        tuple(c for c in CODES if c[:3] in ("120", "121", "131")),
        _exc_repair_enc,
        _i_rpr004,
    ),
    Rule(
        "ATT-001",
        2,
        "Excision billed with adjacent tissue transfer at the same site",
        ("14000", "14020", "14040", "14060"),
        _e_att001,
        _i_att001,
    ),
    Rule(
        "ATT-002",
        2,
        "Complex repair billed with adjacent tissue transfer for the same defect",
        ("14000", "14020", "14040", "14060"),
        lambda j: _e_mohs(j) & _has(j, R_ATT),
        _i_att002,
    ),
    Rule(
        "DEST-001", 2, "17004 billed together with 17000/17003", ("17004",), _e_dest001, _i_dest001
    ),
    Rule(
        "DEST-002",
        2,
        "17000 billed with more than one unit (instead of 17000 + 17003)",
        ("17000",),
        _e_dest002,
        _i_dest002,
    ),
    Rule(
        "DEST-003",
        2,
        "15+ AKs billed as 17000 + 17003 x14 instead of 17004",
        ("17000", "17003"),
        lambda j: _proc(j) & _has(j, R_AK4),
        _i_dest003,
    ),
    Rule(
        "DEST-004",
        2,
        "Premalignant destruction codes with no actinic keratosis diagnosis",
        ("17000", "17003", "17004"),
        _e_dest004,
        _i_dest004,
    ),
    Rule(
        "DEST-005",
        2,
        "Benign destruction code 17110 for actinic keratoses (L57.0)",
        ("17110",),
        _e_dest005,
        _i_dest005,
    ),
    Rule(
        "DEST-006",
        2,
        "17110 billed with more than one unit",
        ("17110", "17111"),
        _e_ben,
        _i_dest006,
    ),
    Rule(
        "DEST-007",
        2,
        "Malignant destruction with no malignant or in-situ diagnosis",
        tuple(c for c in CODES if c[:3] == "172"),
        _e_mdest,
        _i_dest007,
    ),
    Rule(
        "DEST-008",
        1,
        "Malignant destruction code one size band off the lesion size",
        tuple(c for c in CODES if c[:3] == "172"),
        _e_mdest,
        _i_dest008,
    ),
    Rule(
        "DEST-009",
        1,
        "Vascular lesion (I78.1 only) coded as benign destruction 17110",
        ("17110", "17111"),
        _e_dest009,
        _i_dest009,
    ),
    Rule(
        "DEST-010",
        1,
        "Paring 11055 billed with wart destruction",
        ("11055", "17110", "17111"),
        _e_dest010,
        _i_dest010,
    ),
    Rule(
        "DEST-012",
        1,
        "Chemical cautery 17250 at the biopsy site (hemostasis)",
        ("17250",),
        lambda j: _proc(j) & _has(j, R_BXP),
        _i_dest012,
    ),
    Rule(
        "DEST-013",
        1,
        "Wart destruction to Medicare with no symptom diagnosis",
        ("17110", "17111"),
        _e_dest013,
        _i_dest013,
    ),
    Rule(
        "MOHS-001",
        2,
        "Mohs add-on stage without its first-stage code",
        ("17312", "17314"),
        _e_mohs001,
        _i_mohs001,
    ),
    Rule(
        "MOHS-002",
        2,
        "Mohs with no malignant or in-situ diagnosis",
        ("17311", "17313"),
        _e_mohs,
        _i_mohs002,
    ),
    Rule(
        "MOHS-003",
        2,
        "Surgical pathology 88305 on a Mohs day without 59/XS/XU",
        ("88305",),
        _e_mohs,
        _i_mohs003,
    ),
    Rule(
        "MOHS-004",
        1,
        "Biopsy of the Mohs lesion the same day without frozen section",
        ("11102",),
        _e_mohs,
        _i_mohs004,
    ),
    Rule(
        "MOHS-005",
        2,
        "Malignant excision of the Mohs lesion on the Mohs date",
        tuple(c for c in CODES if c[:3] == "116"),
        _e_mohs,
        _i_mohs005,
    ),
    Rule(
        "MOHS-006",
        2,
        "Trunk/limb Mohs codes (17313/17314) for a head/neck/hand/foot site",
        ("17313", "17314"),
        _e_mohs006,
        _i_mohs006,
    ),
    Rule("MOHS-009", 2, "Mohs billed under a PA or NP", ("17311", "17313"), _e_mohs009, _i_mohs009),
    Rule(
        "MOHS-010",
        1,
        "Frozen-section stain 88314 billed with Mohs without 59",
        ("88314",),
        _e_mohs,
        _i_mohs010,
    ),
    Rule("INJ-001", 2, "11900 billed with more than one unit", ("11900",), _e_inj001, _i_inj001),
    Rule(
        "EM-001",
        2,
        "E/M on a minor-procedure day without modifier 25",
        tuple(CODES[i] for i in np.r_[EM_NEW, EM_EST]),
        _e_em25,
        _i_em001,
    ),
    Rule(
        "EM-004",
        2,
        "Modifier 57 on an E/M with only minor (000/010) procedures",
        tuple(CODES[i] for i in np.r_[EM_NEW, EM_EST]),
        _e_em25,
        _i_em004,
    ),
    Rule(
        "EM-005",
        2,
        "Decision-for-surgery E/M the day before a 090 procedure without 57",
        tuple(CODES[i] for i in np.r_[EM_NEW, EM_EST]),
        _e_em005,
        _i_em005,
    ),
    Rule(
        "EM-006",
        2,
        "New-patient E/M code for an established patient",
        tuple(CODES[i] for i in EM_NEW),
        _e_em006,
        _i_em006,
    ),
    Rule(
        "EM-007",
        2,
        "Two office E/M lines for one patient, provider and day",
        tuple(CODES[i] for i in np.r_[EM_NEW, EM_EST]),
        _e_em_plain,
        _i_em007,
    ),
    Rule(
        "EM-009",
        1,
        "99215 with only a seborrheic keratosis diagnosis",
        ("99215",),
        lambda j: _e_em_plain(j) & _em_est_level(j, (3, 4)),
        _i_em009,
    ),
    Rule("EM-010", 2, "99211 billed on a procedure day", ("99211",), _e_em010, _i_em010),
    Rule(
        "EM-011",
        2,
        "E/M to Medicare for a routine skin-cancer screening (Z12.83) without GY",
        tuple(CODES[i] for i in EM_EST),
        _e_em011,
        _i_em011,
    ),
    Rule(
        "EM-012",
        2,
        "G2212 prolonged service with a 99213/99214 (Medicare)",
        ("G2212",),
        _e_em012,
        _i_em012,
    ),
    Rule(
        "EM-013", 2, "G2211 on a Medicare E/M carrying modifier 25", ("G2211",), _e_em013, _i_em013
    ),
    Rule(
        "MOD-001",
        2,
        "59 and XS on the same line",
        ("11102", "11104", "11106"),
        _e_bx_mod,
        _i_mod001,
    ),
    Rule(
        "MOD-002",
        2,
        "Modifier 25 on a procedure code, or 59 on an E/M",
        tuple(CODES),
        _e_mod002,
        _i_mod002,
    ),
    Rule(
        "MOD-003",
        1,
        "XS/59 on a biopsy at the same site as the other procedure",
        ("11102", "11104", "11106"),
        _e_mod003,
        _i_mod003,
    ),
    Rule("MOD-005", 2, "GA and GZ on the same Medicare line", tuple(CODES), _e_mod005, _i_mod005),
    Rule(
        "GLOB-001",
        2,
        "E/M the next business day after a 010/090 procedure without 24",
        ("99213",),
        _e_glob,
        _i_glob001,
    ),
    Rule(
        "GLOB-002",
        1,
        "Biopsy the next business day after a 010/090 procedure without 58/78/79",
        ("11102",),
        _e_glob,
        _i_glob002,
    ),
    Rule(
        "COS-001",
        2,
        "Cosmetic encounter diagnosis Z41.1 on a shave billed to an insurer",
        tuple(c for c in CODES if c[:3] == "113"),
        _e_cos001,
        _i_cos001,
    ),
    Rule(
        "COS-002",
        2,
        "Cosmetic peel/filler billed to the patient's insurer",
        ("15788", "11950", "11951"),
        _e_cos002,
        _i_cos002,
    ),
    Rule(
        "COS-003",
        2,
        "Benign lesion removal to Medicare without a symptom diagnosis",
        tuple(c for c in CODES if c[:3] in ("113", "114", "112", "171")),
        _e_cos003,
        _i_cos003,
    ),
    Rule("PATH-001", 2, "88305 units exceed the specimens taken", ("88305",), _e_path, _i_path001),
    Rule(
        "DX-001",
        2,
        "Diagnosis site axis contradicts the procedure's location group",
        tuple(c for c in CODES if c[:3] in ("113", "114", "116")),
        _e_dx001,
        _i_dx001,
    ),
    Rule(
        "DX-002",
        1,
        "D48.5 (uncertain behaviour) on a biopsy line",
        ("11102", "11104", "11106"),
        lambda j: _proc(j) & _has(j, R_BXP),
        _i_dx002,
    ),
    Rule(
        "DX-003",
        2,
        "Unspecified-site diagnosis (C44.91, D22.9, ...) on a procedure line",
        tuple(c for c in CODES if c[:3] in ("113", "114", "116")),
        _e_dx003,
        _i_dx003,
    ),
    Rule(
        "DX-004",
        2,
        "Diagnosis code that does not exist in ICD-10-CM",
        tuple(CODES[i] for i in np.r_[EM_NEW, EM_EST]),
        _e_em_plain,
        _i_dx004,
    ),
    Rule(
        "REV-001",
        1,
        "E/M charge below the Medicare allowable (80% of the 2025 fee)",
        tuple(CODES[i] for i in np.r_[EM_NEW, EM_EST]),
        _e_rev001,
        _i_rev001,
    ),
]
RULE_BY_ID = {r.id: r for r in RULES}


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def assemble(j: Injector) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Final lines (sorted, with row numbers) and the labels mapped to rows."""
    p = j.p
    e = j.e
    L = j.L
    alive = np.flatnonzero(j.alive)
    cols = ("enc", "ord", "cpt", "units", "m1", "m2", "dx1", "dx2", "dx3", "site", "size")
    base = {k: L[k][alive] for k in cols}
    base["uid"] = alive.astype(np.int64)
    base["charge"] = j.charge[alive]
    parts = [base] + [{k: part[k] for k in (*cols, "uid", "charge")} for part in j.add_parts]
    A = {k: np.concatenate([pp[k] for pp in parts]) for k in parts[0]}
    # encounters: base + new
    enc_id = np.arange(j.n_enc, dtype=np.int64)
    E = {
        "id": enc_id,
        "acct": e["acct"],
        "date": e["date"],
        "prov": e["prov"].astype(np.int64),
        "payer": e["payer"].astype(np.int64),
    }
    for part in j.enc_parts:
        for k in E:
            E[k] = np.concatenate([E[k], part[k].astype(E[k].dtype)])
    n_all = len(E["id"])
    # claim order: date, provider, patient account
    o = np.lexsort((E["acct"], E["prov"], E["date"]))
    rank = np.empty(n_all, dtype=np.int64)
    rank[o] = np.arange(n_all)
    # lines by claim, then line order; A is in uid order, so a stable sort keeps ties stable
    lo = np.argsort(rank[A["enc"]] * 1024 + A["ord"].astype(np.int64), kind="stable")
    A = {k: v[lo] for k, v in A.items()}
    enc = A["enc"]
    row_of_uid = np.full(j.next_uid, -1, dtype=np.int64)
    row_of_uid[A["uid"]] = np.arange(1, len(enc) + 1)
    price = PRICE_CENTS[A["cpt"]] * A["units"].astype(np.int64)
    cents = np.where(A["charge"] >= 0, A["charge"], price)
    claim_no = 2_500_001 + rank[enc]
    codes_s = pl.Series(CODES, dtype=pl.String)
    mods_s = pl.Series([m or None for m in MODS], dtype=pl.String)
    dx_s = pl.Series(DX_LIST, dtype=pl.String)
    site_s = pl.Series(SITE_NAMES, dtype=pl.String)
    prov_s = pl.Series(p.prov_names, dtype=pl.String)
    cred_s = pl.Series(p.prov_creds, dtype=pl.String)
    payer_s = pl.Series(PAYER_NAMES, dtype=pl.String)

    def gather(s: pl.Series, idx: np.ndarray) -> pl.Series:
        """Vocabulary lookup; index -1 gives null."""
        ext = pl.concat([s, pl.Series([None], dtype=pl.String)])
        idx64 = idx.astype(np.int64)
        return ext.gather(np.where(idx64 < 0, len(s), idx64))

    size = A["size"].astype(np.float64)
    size[size < 0] = np.nan
    claim = pl.Series(claim_no).cast(pl.String).str.pad_start(8, "0")
    df = pl.DataFrame(
        {
            "Claim ID": claim,
            "Patient ID": pl.Series(E["acct"][enc]).cast(pl.String),
            "Date of Service": pl.Series(E["date"][enc]).cast(pl.Date),
            "Rendering Provider": gather(prov_s, E["prov"][enc]),
            "Credential": gather(cred_s, E["prov"][enc]),
            "Payer": gather(payer_s, E["payer"][enc]),
            "CPT": gather(codes_s, A["cpt"]),
            "Mod 1": gather(mods_s, np.where(A["m1"] > 0, A["m1"], -1)),
            "Mod 2": gather(mods_s, np.where(A["m2"] > 0, A["m2"], -1)),
            "Units": pl.Series(A["units"].astype(np.int64)),
            "Diag 1": gather(dx_s, A["dx1"]),
            "Diag 2": gather(dx_s, A["dx2"]),
            "Diag 3": gather(dx_s, A["dx3"]),
            "Charge": pl.Series(cents.astype(np.float64) / 100.0),
            "Site": gather(site_s, A["site"]),
            "Lesion Size (cm)": pl.Series(size / 10.0, nan_to_null=True),
        }
    ).with_columns(
        ("C" + pl.col("Claim ID")).alias("Claim ID"),
        ("P" + pl.col("Patient ID")).alias("Patient ID"),
        pl.lit("11").alias("POS"),
    )
    # labels
    recs = []
    for rule, key, uid in j.labels:
        rows = row_of_uid[uid]
        recs.append(pl.DataFrame({"rule": rule, "key": key, "row": rows}))
    if recs:
        lab = pl.concat(recs).filter(pl.col("row") > 0)
        lab = (
            lab.group_by("rule", "key")
            .agg(pl.col("row").unique().sort())
            .with_columns(pl.col("row").list.first().alias("first"))
            .sort("first", "rule")
        )
    else:
        lab = pl.DataFrame(schema={"rule": pl.String, "key": pl.Int64, "row": pl.List(pl.Int64)})
    stats = {
        "encounters": int(n_all),
        "patients": len(uniq(E["acct"])),
        "claims": len(uniq(enc)),
    }
    return df, lab, stats


def generate(cfg: Config) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    t0 = time.perf_counter()
    practice = Practice(cfg)
    e, lines = practice.run()
    inj = Injector(practice, e, lines)
    counts = inj.run(RULES, cfg.error_rate)
    df, lab, stats = assemble(inj)
    manifest = {
        "generator": "bench/generate.py",
        "generator_version": GENERATOR_VERSION,
        "seed": cfg.seed,
        "lines_requested": cfg.lines,
        "lines": df.height,
        "encounters": stats["encounters"],
        "patients": stats["patients"],
        "providers": [
            {"name": n, "credential": c, "role": ["mohs", "general", "app"][int(r)]}
            for n, c, r in zip(
                practice.prov_names, practice.prov_creds, practice.prov_roles, strict=True
            )
        ],
        "start": cfg.start,
        "months": cfg.months,
        "first_dos": str(df["Date of Service"].min()),
        "last_dos": str(df["Date of Service"].max()),
        "error_rate": cfg.error_rate,
        "errors_total": int(lab.height),
        "errors_by_rule": {r.id: int(counts.get(r.id, 0)) for r in RULES},
        "numpy": np.__version__,
        "polars": pl.__version__,
        "seconds": None,
    }
    manifest["seconds"] = round(time.perf_counter() - t0, 2)
    return df, lab, manifest


def write(
    out: Path, df: pl.DataFrame, lab: pl.DataFrame, manifest: dict[str, Any], formats: list[str]
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if "csv" in formats:
        paths["csv"] = out / "charges.csv"
        df.write_csv(
            paths["csv"], line_terminator="\n", date_format="%-m/%-d/%Y", float_precision=2
        )
    if "parquet" in formats:
        paths["parquet"] = out / "charges.parquet"
        df.write_parquet(paths["parquet"], compression="zstd")
    label_file = "charges.csv" if "csv" in formats else "charges.parquet"
    lab_out = lab.select(
        pl.col("rule"),
        pl.lit(label_file).alias("file"),
        pl.col("row").cast(pl.List(pl.String)).list.join(" ").alias("rows"),
    )
    lab_out.write_csv(out / "seeded_errors.csv", line_terminator="\n")
    manifest = dict(manifest)
    manifest["files"] = {k: v.name for k, v in paths.items()}
    manifest["labels"] = "seeded_errors.csv"
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return paths


README_START = "<!-- seeded-errors:start -->"
README_END = "<!-- seeded-errors:end -->"


def seeded_table(manifest: dict[str, Any]) -> str:
    rows = ["| Rule | Seeded | What was injected |", "|---|---:|---|"]
    for r in RULES:
        n = manifest["errors_by_rule"].get(r.id, 0)
        if n:
            rows.append(f"| {r.id} | {n} | {r.describe} |")
    rows.append(
        f"| **total** | **{manifest['errors_total']}** | in {manifest['encounters']} encounters |"
    )
    return "\n".join(rows)


def update_readme(path: Path, manifest: dict[str, Any]) -> None:
    text = path.read_text(encoding="utf-8")
    a, b = text.index(README_START), text.index(README_END)
    new = text[: a + len(README_START)] + "\n" + seeded_table(manifest) + "\n" + text[b:]
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, required=True, help="target number of charge lines")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--formats", default="csv,parquet", help="csv, parquet or both")
    ap.add_argument(
        "--error-rate",
        type=float,
        default=0.04,
        help="share of encounters that receive one seeded error",
    )
    ap.add_argument("--providers", type=int, default=6)
    ap.add_argument("--start", default="2025-01-01", help="first date of service (YYYY-MM-DD)")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument(
        "--update-readme",
        type=Path,
        default=None,
        help="rewrite the seeded-errors table between markers in this file",
    )
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("csv", "parquet")]
    if bad or not formats:
        ap.error(f"--formats must be csv and/or parquet, got {a.formats!r}")
    cfg = Config(
        lines=a.lines,
        seed=a.seed,
        error_rate=a.error_rate,
        providers=a.providers,
        start=a.start,
        months=a.months,
    )
    t0 = time.perf_counter()
    df, lab, manifest = generate(cfg)
    t1 = time.perf_counter()
    manifest["args"] = {
        "lines": a.lines,
        "seed": a.seed,
        "formats": formats,
        "error_rate": a.error_rate,
        "providers": a.providers,
        "start": a.start,
        "months": a.months,
    }
    manifest.pop("seconds", None)
    paths = write(a.out, df, lab, manifest, formats)
    t2 = time.perf_counter()
    if a.update_readme:
        update_readme(a.update_readme, manifest)
    if not a.quiet:
        print(
            f"generated {df.height:,} lines, {manifest['encounters']:,} encounters, "
            f"{manifest['errors_total']:,} seeded errors in {t1 - t0:.1f}s; wrote "
            f"{', '.join(str(p) for p in paths.values())} in {t2 - t1:.1f}s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
