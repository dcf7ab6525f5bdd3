"""``dermaudit.toml``: every scan option in a file; the command line wins.

Looked up as ``./dermaudit.toml`` (or given with ``--config FILE``). Keys under ``[scan]`` are
the long option names with dashes or underscores (``fail-on``/``fail_on``). ``[columns]`` is an
inline column map, ``[payers]`` an inline payer map (exact payer name -> class),
``[per_payer.<class>]`` holds ``select``/``ignore`` lists for one payer class. Relative paths
are resolved against the config file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .model import PAYER_CLASSES

SCAN_KEYS = {
    "format",
    "output",
    "columns",
    "payer_map",
    "select",
    "ignore",
    "fail_on",
    "ruleset",
    "html",
    "redact",
    "quiet",
    "top",
    "baseline",
    "suppressions",
    "since",
    "log",
    "partitions",
}
PATH_KEYS = {"output", "columns", "payer_map", "html", "baseline", "suppressions"}


@dataclass
class Config:
    path: Path | None = None
    scan: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str | list[str]] = field(default_factory=dict)
    payers: dict[str, str] = field(default_factory=dict)
    per_payer: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def get(self, key: str, cli_value: Any, default: Any = None) -> Any:
        """The command line wins, then the file, then the built-in default."""
        if cli_value is not None and cli_value != [] and cli_value != ():
            return cli_value
        if key in self.scan:
            return self.scan[key]
        return default


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is not None:
        if not explicit.exists():
            raise UsageError(f"config file {explicit} not found")
        return explicit
    cand = (cwd or Path.cwd()) / "dermaudit.toml"
    return cand if cand.exists() else None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from exc
    base = path.resolve().parent
    scan: dict[str, Any] = {}
    for k, v in data.get("scan", {}).items():
        key = k.replace("-", "_")
        if key not in SCAN_KEYS:
            raise UsageError(
                f"config {path}: unknown [scan] key {k!r}; "
                f"known keys: {', '.join(sorted(SCAN_KEYS))}"
            )
        if key in PATH_KEYS and isinstance(v, str) and v != "-":
            v = str((base / v).resolve()) if not Path(v).is_absolute() else v
        if key == "ruleset":
            v = [str((base / x).resolve()) for x in ([v] if isinstance(v, str) else v)]
        if key in ("select", "ignore") and isinstance(v, str):
            v = [v]
        scan[key] = v
    payers = {str(k): str(v) for k, v in data.get("payers", {}).items()}
    per_payer: dict[str, dict[str, list[str]]] = {}
    for cls, sel in data.get("per_payer", {}).items():
        if cls not in PAYER_CLASSES:
            raise UsageError(
                f"config {path}: [per_payer.{cls}] is not a payer class; use one of "
                f"{', '.join(PAYER_CLASSES)}"
            )
        per_payer[cls] = {k: [str(x) for x in sel.get(k, [])] for k in ("select", "ignore")}
    for cls in payers.values():
        if cls not in PAYER_CLASSES:
            raise UsageError(f"config {path}: [payers] class {cls!r} unknown")
    return Config(path, scan, dict(data.get("columns", {})), payers, per_payer)


STARTER = """\
# dermaudit.toml — written by `dermaudit init` from {sample}.
# Every `dermaudit scan` option can be set here; an option given on the command line wins.
# Docs: `dermaudit scan --help`, `dermaudit rules`, README "Nightly runs".

[scan]
# format = "json"                 # table | json | jsonl | csv | parquet
# output = "findings/today.json"  # '-' = stdout
# html = "findings/today.html"
# exit 1 when a finding is at or above: info, review, revenue, denial, compliance, never
fail-on = "denial"
# select = ["ALL"]                # rule ids or family prefixes (DEST, EM-001 ...)
# ignore = ["REV-002"]
# ruleset = ["our_payer_rules/"]  # extra reference-data folders layered over the defaults
# baseline = "findings/yesterday.json"   # report only findings that are new since that run
# suppressions = "waivers.toml"          # reviewed findings, with reason, who and until when
# since = "2025-06-01"            # audit lines on or after this date (older lines are history)
# redact = false                  # salted hashes instead of patient/claim ids
                                  # (set DERMAUDIT_SALT to keep the hashes stable across runs)
# log = true                      # timestamped progress lines on stderr, no patient data

# Column mapping detected in {sample}; edit if a column was missed or mis-read.
[columns]
{columns}

# Payer names that the keyword rules classify wrongly (exact name -> class).
# Classes: medicare_ffs, medicare_advantage, medicaid, commercial, self_pay, unknown
[payers]
# "Humana Gold Plus" = "medicare_advantage"

# Rule selection for one payer class, e.g. ABN-modifier rules only for Medicare FFS:
# [per_payer.commercial]
# ignore = ["MOD-005"]
"""


def starter(sample_name: str, mapping: dict[str, str | list[str]]) -> str:
    cols = []
    for k, v in mapping.items():
        if isinstance(v, list):
            cols.append(f"{k} = [{', '.join(repr(x).replace(chr(39), chr(34)) for x in v)}]")
        else:
            cols.append(f'{k} = "{v}"')
    return STARTER.format(sample=sample_name, columns="\n".join(cols))
