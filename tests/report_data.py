"""Synthetic dermatology charge exports for the report tests (no real patients).

``synthetic_charges(n_encounters, seed)`` returns CSV text with several providers, payers and
months, and with patterns that trigger the rules that exist (E/M without 25, over-cap
destruction, duplicates, orphan Mohs add-ons, cosmetic codes to insurers) plus a few rows that
fail the data-quality pass. Patient ids look like ``MRN-7xxxxx`` and claim ids like
``ENC-9xxxxx`` so a redaction test can search the report for them.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

HEADER = [
    "claim_id",
    "patient_id",
    "dos",
    "rendering_provider",
    "payer",
    "cpt",
    "mod1",
    "mod2",
    "units",
    "dx1",
    "dx2",
    "charge",
    "site",
]
PROVIDERS = ["Avery MD", "Brooks DO", "Chen MD", "Diaz PA-C"]
PAYERS = [
    "Medicare Part B",
    "Medicare",
    "Humana Medicare Advantage",
    "Aetna",
    "Blue Cross",
    "Medicaid",
    "Self Pay",
]
FEES = {
    "99202": 70,
    "99203": 109,
    "99204": 163,
    "99205": 216,
    "99211": 23,
    "99212": 55,
    "99213": 89,
    "99214": 125,
    "99215": 176,
    "11102": 96,
    "11103": 54,
    "11104": 120,
    "17000": 66,
    "17003": 6,
    "17004": 140,
    "17110": 112,
    "11402": 167,
    "12032": 294,
    "17311": 690,
    "17312": 380,
    "17313": 620,
    "17314": 360,
    "88305": 70,
    "11900": 56,
    "15788": 260,
    "11200": 100,
}


def synthetic_charges(n_encounters: int = 240, seed: int = 7, months: int = 6) -> str:
    rng = random.Random(seed)
    start = date(2025, 1, 2)
    span = months * 30
    rows: list[list[str]] = []
    patients = [f"MRN-{700000 + i}" for i in range(max(10, n_encounters // 2))]

    def add(
        claim: str,
        pt: str,
        dos: date,
        prov: str,
        payer: str,
        cpt: str,
        mods: tuple[str, ...] = (),
        units: int = 1,
        dx: tuple[str, ...] = ("L57.0",),
        site: str = "",
    ) -> None:
        m = [*mods, "", ""][:2]
        d = [*dx, "", ""][:2]
        fee = FEES.get(cpt, 80) * units
        rows.append(
            [
                claim,
                pt,
                dos.isoformat(),
                prov,
                payer,
                cpt,
                m[0],
                m[1],
                str(units),
                d[0],
                d[1],
                f"{fee:.2f}",
                site,
            ]
        )

    for i in range(n_encounters):
        prov = PROVIDERS[i % len(PROVIDERS)] if rng.random() < 0.8 else PROVIDERS[0]
        pt = rng.choice(patients)
        dos = start + timedelta(days=rng.randrange(span))
        payer = rng.choice(PAYERS)
        claim = f"ENC-{900000 + i}"
        est = rng.choices(
            ["99212", "99213", "99214", "99215"], [2, 5, 4, 1 + (prov == "Chen MD") * 4]
        )[0]
        kind = rng.random()
        if kind < 0.25:  # E/M-25 + biopsy (fine)
            add(claim, pt, dos, prov, payer, est, ("25",), dx=("D48.5", "L82.1"))
            add(claim, pt, dos, prov, payer, "11102", dx=("D48.5",), site="left forearm")
        elif kind < 0.37:  # E/M without 25 on a destruction day (EM-001)
            add(claim, pt, dos, prov, payer, est)
            add(claim, pt, dos, prov, payer, "17000")
            add(claim, pt, dos, prov, payer, "17003", units=rng.randint(2, 8))
        elif kind < 0.42:  # over-cap destruction (DEST-002)
            add(claim, pt, dos, prov, payer, "17000")
            add(claim, pt, dos, prov, payer, "17003", units=rng.randint(15, 20))
        elif kind < 0.47:  # duplicate excision lines (GEN-005)
            add(claim, pt, dos, prov, payer, "11402", dx=("D23.5",))
            add(claim, pt, dos, prov, payer, "11402", dx=("D23.5",))
        elif kind < 0.60:  # Mohs case
            stages = rng.choice([0, 0, 1, 1, 1, 2, 3])
            if rng.random() < 0.15:  # orphan add-on (MOHS-001)
                add(
                    claim,
                    pt,
                    dos,
                    prov,
                    payer,
                    "17312",
                    units=max(stages, 1),
                    dx=("C44.311",),
                    site="nose",
                )
            elif rng.random() < 0.5:
                add(claim, pt, dos, prov, payer, "17311", dx=("C44.311",), site="nose")
                if stages:
                    add(
                        claim,
                        pt,
                        dos,
                        prov,
                        payer,
                        "17312",
                        units=stages,
                        dx=("C44.311",),
                        site="nose",
                    )
            else:
                add(claim, pt, dos, prov, payer, "17313", dx=("C44.519",), site="back")
                if stages:
                    add(
                        claim,
                        pt,
                        dos,
                        prov,
                        payer,
                        "17314",
                        units=stages,
                        dx=("C44.519",),
                        site="back",
                    )
            if rng.random() < 0.3:
                add(claim, pt, dos, prov, payer, "99213", ("25",), dx=("L57.0",))
        elif kind < 0.66:  # cosmetic code to an insurer (COS-002)
            add(claim, pt, dos, prov, payer, "15788", dx=("L81.4",), site="face")
        elif kind < 0.72:  # excision + repair with XS / 59
            add(claim, pt, dos, prov, payer, "11402", dx=("D23.5",), site="back")
            add(
                claim,
                pt,
                dos,
                prov,
                payer,
                "12032",
                (rng.choice(["59", "XS"]),),
                dx=("D23.5",),
                site="back",
            )
        elif kind < 0.80:  # new patient visit
            add(
                claim,
                pt,
                dos,
                prov,
                payer,
                rng.choices(["99202", "99203", "99204", "99205"], [1, 4, 4, 1])[0],
                dx=("L70.0",),
            )
        else:  # plain established visit
            add(claim, pt, dos, prov, payer, est, dx=("L40.0",))
    # data-quality rows
    add("ENC-999001", "MRN-799990", start, PROVIDERS[1], "Aetna", "99213")
    rows[-1][2] = "not a date"
    add("ENC-999002", "MRN-799991", start, PROVIDERS[2], "Aetna", "99213")
    rows[-1][5] = ""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue()


def write_synthetic(path: Path, n_encounters: int = 240, seed: int = 7) -> Path:
    path.write_text(synthetic_charges(n_encounters, seed), encoding="utf-8")
    return path


def patient_ids(text: str) -> set[str]:
    return {r["patient_id"] for r in csv.DictReader(io.StringIO(text)) if r["patient_id"]}


def claim_ids(text: str) -> set[str]:
    return {r["claim_id"] for r in csv.DictReader(io.StringIO(text)) if r["claim_id"]}
