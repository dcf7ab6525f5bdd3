"""Redaction and output hygiene: the one step that removes identifiers before any writer.

``Redactor`` turns patient and claim identifiers into keyed pseudonyms: ``P-`` / ``C-`` and
the first 16 hex digits of HMAC-SHA-256(key, kind + id). The key is the practice's secret
(``DERMAUDIT_REDACT_KEY``, or a key file made by ``dermaudit init --key``, found by
``--redact-key`` / ``redact-key`` in dermaudit.toml, ``DERMAUDIT_REDACT_KEY_FILE`` or its
default place), so the same id gives the same pseudonym in every run (baselines and waivers keep
working on redacted outputs) and nobody without the key can recover an id by trying every MRN.
There is no fallback: without a key ``--redact`` is refused, and so is a key file that other
users can read.

What one redaction step removes from the findings frame (and the waived and fixed frames, and
the input description every output prints):

* ``patient_id`` and ``claim_id`` → pseudonyms; the same ids inside message, suggestion,
  codes and waiver-reason text → the same pseudonyms;
* data-quality messages quote the offending cell value: everything between the first and the
  last quote is removed, and the ``codes`` field of a data-quality finding (the raw cell) is
  emptied;
* free-text anatomic site text that is not plain anatomy (a word that is neither a site
  keyword of ``rulesets/sites.csv``, its plural, an anatomic or position/laterality word, or a
  number longer than two digits) is replaced by ``[site text removed]`` wherever a rule quoted
  it, also in the folded form some rules quote;
* input file names → ``input-1.csv`` …, paths and the baseline path → removed; notes → the same
  pseudonymous names, input folders → ``[input folder]``, ids and site text as above; waiver
  descriptions → pseudonymous ids; waiver reasons (the practice's free text, which may name a
  patient) are not shown;
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
import stat
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


def _read_key_file(path: Path) -> str:
    """The key in ``path``; refused when other users could read it (as ssh does)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"redaction key {path} is not a file")
        if st.st_mode & 0o077:
            raise UsageError(
                f"redaction key file {path} can be read by other users (mode "
                f"{stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
            )
        return path.read_text("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UsageError(f"redaction key file {path} is not a text key") from exc
    except OSError as exc:
        raise UsageError(f"redaction key file {path} cannot be read ({exc.strerror})") from exc


def load_key(path: Path | None = None) -> bytes:
    """The practice's redaction key: the key file ``path`` (``redact-key`` in dermaudit.toml,
    ``--redact-key``) if given, else ``DERMAUDIT_REDACT_KEY``, else the key file
    (``DERMAUDIT_REDACT_KEY_FILE``, default ``~/.config/dermaudit/redact.key``)."""
    value = None if path is not None else os.environ.get(KEY_ENV)
    source = KEY_ENV
    if not value:
        file = Path(path) if path is not None else key_file_path()
        if not file.is_file():
            raise UsageError(
                "--redact needs the practice's redaction key: run 'dermaudit init --key' "
                f"(writes {file}) or set {KEY_ENV}; keep the key to match redacted runs"
            )
        value = _read_key_file(file)
        source = str(file)
    if len(value) < MIN_KEY_CHARS:
        raise UsageError(
            f"the redaction key in {source} is shorter than {MIN_KEY_CHARS} characters; "
            "make a new one with 'dermaudit init --key'"
        )
    return value.encode("utf-8")


def make_key_file(path: Path | None = None) -> Path:
    """Write a new random key (256 bits, hex) to ``path`` with mode 0600 (its folder 0700
    when created); never overwrite."""
    from .outputs import write_text

    path = Path(path) if path is not None else key_file_path()
    if path.exists():
        raise UsageError(f"{path} exists; a new key would stop redacted runs from matching")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path.parent} ({exc.strerror})") from exc
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


# anatomic words that are not keywords of rulesets/sites.csv (whose stems such as "canth" or
# "auric" the rules match as patterns): a site word counts as anatomy only when it is one of
# these, a keyword, or a keyword's plural, never merely because it starts like one
# ("Earl Armstrong" starts like "ear arm" and is a name)
ANATOMY_WORDS = frozenset(
    """canthus canthal auricle auricular preauricular postauricular retroauricular helical
    scrotum scrotal vulvar labial labium labia axillae genitalia perineum perianal periorbital
    infraorbital nasolabial submental glabella philtrum columella temporal frontal occipital
    parietal mandible mandibular maxillary zygoma clavicle supraclavicular sternum sternal
    sacrum sacral coccyx groin inguinal umbilicus periumbilical pretibial popliteal antecubital
    lumbar thoracic scapula scapular deltoid biceps triceps gluteal fingernail toenail web
    dorsum sidewall lobe lobule head trunk vertex crown occiput earlobe pinna concha conchal
    tragus antihelix alar jawline cheekbone eyebrow nasal septum sole instep knuckle""".split()
)
SITE_MIN_LEN = 3  # shorter site texts cannot be told apart from parts of other words


def _site_is_anatomy(text: str, keywords: Iterable[str]) -> bool:
    vocab = (
        SITE_WORDS | ANATOMY_WORDS | {w for k in keywords for w in re.findall(r"[a-z]+", k.lower())}
    )
    for tok in re.findall(r"[a-z]+|\d+", text.lower()):
        if tok.isdigit():
            if len(tok) > 2:  # a phone number, an MRN, a date: not a site
                return False
            continue
        if tok in vocab or tok.removesuffix("s") in vocab or tok.removesuffix("es") in vocab:
            continue
        return False
    return True


def _replace_many(col: pl.Expr, pairs: dict[str, str]) -> pl.Expr:
    """Every key of ``pairs`` in the text replaced by its value (longest first, ASCII case
    ignored), in one Aho-Corasick pass."""
    if not pairs:
        return col
    keys = sorted(pairs, key=lambda k: (-len(k), k))
    return col.str.replace_many(
        keys, [pairs[k] for k in keys], ascii_case_insensitive=True, leftmost=True
    )


@dataclass
class Redactor:
    """Keyed pseudonyms for one run (see the module docstring for what is removed)."""

    key: bytes
    file_names: dict[str, str] = field(default_factory=dict)
    site_texts: list[str] = field(default_factory=list)  # free text to remove where quoted
    ids: dict[str, str] = field(default_factory=dict)  # raw id -> pseudonym, seen so far
    folders: list[str] = field(default_factory=list)  # input folders as the user named them

    @classmethod
    def from_environment(cls, key_file: Path | None = None) -> Redactor:
        return cls(load_key(key_file))

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

    def learn_folders(self, paths: Iterable[str]) -> None:
        """Input folders (and globs): the notes about their skipped subfolders and files name
        them; those names are removed from redacted notes."""
        for p in paths:
            base = p.split("*", 1)[0].split("?", 1)[0].rstrip("/")
            if len(base.strip("./")) >= SITE_MIN_LEN and Path(base).is_dir():
                self.folders.append(base)

    def learn_sites(self, sites: Iterable[str | None], keywords: Iterable[str]) -> None:
        kws = list(keywords)
        texts: set[str] = set()
        for s in sites:
            if s and not _site_is_anatomy(s, kws):
                texts.add(s)
                texts.add(" ".join(re.findall(r"[a-z0-9]+", s.lower())))  # as rules fold it
        self.site_texts = sorted(
            (t for t in texts if len(t) >= SITE_MIN_LEN), key=lambda t: (-len(t), t)
        )

    def _pairs(self, sites: bool = True) -> dict[str, str]:
        pairs = {k: v for k, v in self.ids.items() if len(k) >= SCRUB_MIN_LEN}
        if sites:
            pairs.update({t: SITE_REMOVED for t in self.site_texts})
        return pairs

    def text(self, s: str) -> str:
        """Scrub a free-text line (a note, a waiver reason or description): input folders and
        file names, patient and claim ids, non-anatomic site text."""
        for folder in sorted(self.folders, key=len, reverse=True):
            # the folder and what follows it up to the ':' that ends a path in a note
            s = re.sub(re.escape(folder) + r"[^:]*", "[input folder]", s)
        for raw, alias in sorted(self.file_names.items(), key=lambda kv: -len(kv[0])):
            s = s.replace(raw, alias)
        pairs = self._pairs()
        if not pairs:
            return s
        return str(pl.select(_replace_many(pl.lit(s, pl.String), pairs)).item())

    def frame(self, df: pl.DataFrame) -> pl.DataFrame:
        """Redact a findings-shaped frame (any subset of the findings columns)."""
        if df.height == 0:
            return df
        out = df
        for col, kind in (("patient_id", "patient"), ("claim_id", "claim")):
            if col not in df.columns:
                continue
            m = self._map(kind, df[col].unique().to_list())
            self.ids.update(m)
            out = out.with_columns(
                pl.col(col).replace_strict(m, default=None, return_dtype=pl.String)
            )
        ids = self._pairs(sites=False)
        sites = {t: SITE_REMOVED for t in self.site_texts}
        out = out.with_columns(
            _replace_many(_replace_many(pl.col(c), ids), {} if c == "codes" else sites)
            for c in ("message", "suggestion", "codes", "waiver_reason")
            if c in out.columns
        )
        if "rule" in out.columns:
            dq = pl.col("rule").str.starts_with("DQ")
            upd = []
            if "message" in out.columns:
                # a data-quality message quotes one raw cell: everything from the first to the
                # last quote goes (the cell itself may hold quotes: O'Brien)
                upd.append(
                    pl.when(dq)
                    .then(pl.col("message").str.replace(r"(?s)'.*'", f"'{VALUE_REMOVED}'"))
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
