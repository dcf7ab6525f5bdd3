"""Redaction and output hygiene: the one step that removes identifiers before any writer.

``Redactor`` turns patient and claim identifiers into keyed pseudonyms: ``P-`` / ``C-`` and
the first 16 hex digits of HMAC-SHA-256(key, kind + id). The key is the practice's secret
(``DERMAUDIT_REDACT_KEY``, or a key file made by ``dermaudit init --key``), so the same id gives
the same pseudonym in every run (baselines and waivers keep working on redacted outputs) and
nobody without the key can recover an id by trying every MRN. There is no fallback: without a
key ``--redact`` is refused.

What one redaction step removes from the findings frame (and the waived and fixed frames, and
the input description every output prints):

* ``patient_id`` and ``claim_id`` → pseudonyms; the same ids inside message, suggestion and
  codes text → the same pseudonyms;
* data-quality messages quote the offending cell value: the quoted value is removed, and
  the ``codes`` field of a data-quality finding (the raw cell) is emptied;
* free-text anatomic site text that is not plain anatomy (a word that is neither a site
  keyword of ``rulesets/sites.csv`` nor a position/laterality word, or a number longer than two
  digits) is replaced by ``[site text removed]`` wherever a rule quoted it;
* input file names → ``input-1.csv`` …, paths and the baseline path → removed; notes that name
  a file → the same pseudonymous names; waiver descriptions → pseudonymous ids;
* the fingerprint is recomputed from the pseudonyms.

Kept: dates of service, codes, modifiers, diagnoses, amounts, payer classes and rendering
provider names (the audit is about providers' coding). Redacted output is therefore
pseudonymised, not de-identified under the HIPAA Safe Harbor method (45 CFR 164.514(b)(2),
which also removes dates other than the year): treat it as a limited data set.

``spreadsheet_safe`` escapes text cells that a spreadsheet would run as a formula (OWASP
"CSV Injection": cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a
leading single quote).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .errors import UsageError

KEY_ENV = "DERMAUDIT_REDACT_KEY"
KEY_FILE_ENV = "DERMAUDIT_REDACT_KEY_FILE"
MIN_KEY_CHARS = 32
SCRUB_MIN_LEN = 3  # ids shorter than this ("P1") are too common as text to replace in prose
SITE_REMOVED = "[site text removed]"
VALUE_REMOVED = "[value removed]"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# position and laterality words that may stand beside an anatomic site keyword
SITE_WORDS = frozenset(
    (
        "left",
        "right",
        "l",
        "r",
        "lt",
        "rt",
        "bilateral",
        "bilat",
        "upper",
        "lower",
        "mid",
        "middle",
        "central",
        "anterior",
        "posterior",
        "ant",
        "post",
        "medial",
        "lateral",
        "lat",
        "proximal",
        "distal",
        "superior",
        "inferior",
        "sup",
        "inf",
        "dorsal",
        "ventral",
        "volar",
        "palmar",
        "plantar",
        "of",
        "the",
        "and",
        "on",
        "at",
        "in",
        "near",
        "over",
        "above",
        "below",
        "side",
        "aspect",
        "area",
        "region",
        "surface",
        "tip",
        "base",
        "border",
        "margin",
        "edge",
        "inner",
        "outer",
        "front",
        "rear",
        "x",
        "cm",
        "mm",
        "lesion",
        "site",
    )
)


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dermaudit" / "redact.key"


def key_file_path() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or default_key_file())


def load_key() -> bytes:
    """The practice's redaction key: ``DERMAUDIT_REDACT_KEY``, else the key file
    (``DERMAUDIT_REDACT_KEY_FILE``, default ``~/.config/dermaudit/redact.key``)."""
    value = os.environ.get(KEY_ENV)
    source = KEY_ENV
    if not value:
        path = key_file_path()
        if not path.is_file():
            raise UsageError(
                "--redact needs the practice's redaction key: run 'dermaudit init --key' "
                f"(writes {path}) or set {KEY_ENV}; keep the key to match redacted runs"
            )
        try:
            value = path.read_text("utf-8").strip()
        except OSError as exc:
            raise UsageError(f"redaction key file {path} cannot be read ({exc.strerror})") from exc
        source = str(path)
    if len(value) < MIN_KEY_CHARS:
        raise UsageError(
            f"the redaction key in {source} is shorter than {MIN_KEY_CHARS} characters; "
            "make a new one with 'dermaudit init --key'"
        )
    return value.encode("utf-8")


def make_key_file(path: Path | None = None) -> Path:
    """Write a new random key (256 bits, hex) to ``path`` with mode 0600; never overwrite."""
    from .outputs import write_text

    path = Path(path) if path is not None else key_file_path()
    if path.exists():
        raise UsageError(f"{path} exists; a new key would stop redacted runs from matching")
    write_text(path, secrets.token_hex(32) + "\n")
    return path


def spreadsheet_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting with a formula trigger get a leading single quote (OWASP)."""
    trig = "^[" + re.escape("".join(FORMULA_TRIGGERS)) + "]"
    cols = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(trig))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in cols
    )


def _site_is_anatomy(text: str, keywords: list[re.Pattern[str]]) -> bool:
    for tok in re.findall(r"[a-z]+|\d+", text.lower()):
        if tok.isdigit():
            if len(tok) > 2:
                return False
            continue
        if tok in SITE_WORDS or any(k.match(tok) for k in keywords):
            continue
        return False
    return True


@dataclass
class Redactor:
    """Keyed pseudonyms for one run (see the module docstring for what is removed)."""

    key: bytes
    file_names: dict[str, str] = field(default_factory=dict)
    site_texts: list[str] = field(default_factory=list)  # free text to remove where quoted

    @classmethod
    def from_environment(cls) -> Redactor:
        return cls(load_key())

    def pseudonym(self, kind: str, value: str) -> str:
        digest = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return ("P-" if kind == "patient" else "C-") + digest[:16]

    def _map(self, kind: str, values: Iterable[str | None]) -> dict[str, str]:
        return {v: self.pseudonym(kind, v) for v in {v for v in values if v is not None}}

    def learn_files(self, names: Iterable[str]) -> None:
        for n in names:
            if n not in self.file_names:
                ext = Path(n).suffix.lower() if len(Path(n).suffix) <= 8 else ""
                self.file_names[n] = f"input-{len(self.file_names) + 1}{ext}"

    def learn_sites(self, sites: Iterable[str | None], keywords: Iterable[str]) -> None:
        pats = [re.compile(k) for k in keywords]
        self.site_texts = sorted(
            {s for s in sites if s and not _site_is_anatomy(s, pats)}, key=lambda s: -len(s)
        )

    def text(self, s: str) -> str:
        """Scrub a free-text line (a note, a waiver description) of file names."""
        for raw, alias in sorted(self.file_names.items(), key=lambda kv: -len(kv[0])):
            s = s.replace(raw, alias)
        return s

    def frame(self, df: pl.DataFrame) -> pl.DataFrame:
        """Redact a findings-shaped frame (any subset of the findings columns)."""
        if df.height == 0:
            return df
        pairs: dict[str, str] = {}
        out = df
        for col, kind in (("patient_id", "patient"), ("claim_id", "claim")):
            if col not in df.columns:
                continue
            m = self._map(kind, df[col].unique().to_list())
            pairs.update({k: v for k, v in m.items() if len(k) >= SCRUB_MIN_LEN})
            out = out.with_columns(
                pl.col(col).replace_strict(m, default=None, return_dtype=pl.String)
            )
        texts = [c for c in ("message", "suggestion", "codes") if c in out.columns]
        if pairs:
            keys = sorted(pairs, key=lambda k: (-len(k), k))
            vals = [pairs[k] for k in keys]
            out = out.with_columns(
                pl.col(c).str.replace_many(keys, vals, leftmost=True) for c in texts
            )
        if self.site_texts:
            out = out.with_columns(
                pl.col(c).str.replace_many(
                    self.site_texts, [SITE_REMOVED] * len(self.site_texts), leftmost=True
                )
                for c in texts
                if c != "codes"
            )
        if "rule" in out.columns:
            dq = pl.col("rule").str.starts_with("DQ")
            upd = []
            if "message" in out.columns:
                upd.append(
                    pl.when(dq)
                    .then(pl.col("message").str.replace_all(r"'[^']*'", f"'{VALUE_REMOVED}'"))
                    .otherwise(pl.col("message"))
                    .alias("message")
                )
            if "codes" in out.columns:
                upd.append(pl.when(dq).then(None).otherwise(pl.col("codes")).alias("codes"))
            out = out.with_columns(upd)
        if "file" in out.columns:
            self.learn_files(out["file"].drop_nulls().unique().to_list())
            out = out.with_columns(
                pl.col("file").replace_strict(self.file_names, default=None, return_dtype=pl.String)
            )
        if "fingerprint" in out.columns:
            from .triage import add_fingerprint

            out = add_fingerprint(out.drop("fingerprint"))
        return out


def redact(df: pl.DataFrame, salt: str) -> pl.DataFrame:
    """Compatibility wrapper: redact ``df`` with ``salt`` as the key (tests, old callers)."""
    return Redactor(salt.encode("utf-8")).frame(df)


def new_salt() -> str:
    return secrets.token_hex(32)
