"""Settings: every scan option, from ``dermaudit.toml`` and the command line (which wins).

``Settings`` is the one typed list of scan options: its fields, their types and their
documentation drive the validation of ``dermaudit.toml``, the starter file written by
``dermaudit init`` and the Python API. The file is looked up as ``./dermaudit.toml`` (or given
with ``--config FILE`` / ``config=``). Sections:

* ``[scan]``: the ``Settings`` fields, as long option names with dashes or underscores
  (``fail-on`` / ``fail_on``);
* ``[columns]``: an inline column map (canonical name = header, or a list of headers);
* ``[payers]``: exact payer name = payer class;
* ``[per_payer.<class>]``: ``select`` / ``ignore`` lists for one payer class.

Validation is strict: an unknown section or key is an error naming the nearest valid one; a
value of the wrong type (``redact = "no"``, ``top = "ten"``) is an error naming the key, the file
and the line. Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from .errors import ConfigError, UsageError
from .model import PAYER_CLASSES
from .userfiles import load_toml

Format = Literal["table", "json", "jsonl", "csv", "parquet", "text"]
EngineName = Literal["local", "dask"]
ReportKindName = Literal["neutral", "nightly", "pre-engagement", "follow-up"]
FailOn = Literal["info", "review", "revenue", "denial", "compliance", "never"]


def _opt(default: Any, doc: str, example: Any = None) -> Any:
    meta = {"doc": doc, "example": default if example is None else example}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Settings:
    """Every ``dermaudit scan`` option. The defaults are the command line's defaults."""

    format: Format = _opt(
        "table", "output format: table | json | jsonl | csv | parquet | text (plain, for mail)"
    )
    output: Path | None = _opt(
        None, "write the findings here ('-' = stdout)", example="findings/today.json"
    )
    html: Path | None = _opt(
        None, "also write the HTML audit report here", example="findings/today.html"
    )
    columns: Path | None = _opt(
        None, "TOML column map overriding detection", example="columns.toml"
    )
    payer_map: Path | None = _opt(None, "TOML payer-name -> payer-class map", example="payers.toml")
    select: list[str] = _opt(
        [], "rule ids or family prefixes to run (ALL = every rule)", example=["ALL"]
    )
    ignore: list[str] = _opt([], "rule ids or family prefixes to skip", example=["REV-002"])
    fail_on: FailOn = _opt("review", "exit 1 when a finding is at or above this severity")
    ruleset: list[Path] = _opt(
        [], "extra reference-data folders layered over the defaults", example=["cms2026q1"]
    )
    redact: bool = _opt(False, "replace patient and claim ids with pseudonyms in every output")
    redact_key: Path | None = _opt(
        None,
        "key file for redact (default: $DERMAUDIT_REDACT_KEY, else the file that "
        "`dermaudit init --key` writes)",
        example="/srv/derm/redact.key",
    )
    quiet: bool = _opt(False, "print only a one-line summary")
    verbose: bool = _opt(False, "console: add the full rule table, skipped rules and columns")
    top: int = _opt(5, "problems shown in the console summary")
    baseline: Path | None = _opt(
        None,
        "previous run's findings: mark findings new or existing (missing: all new)",
        example="findings/baseline.json",
    )
    update_baseline: bool = _opt(
        False, "after a successful scan, write this run's findings to the baseline"
    )
    state: Path | None = _opt(
        None,
        "nightly state file: the last run (default --since) and one run at a time",
        example="findings/state.json",
    )
    wait: int = _opt(0, "seconds to wait for another run on the same files (0: stop at once)")
    summary_line: bool = _opt(
        False, "also print one line: new findings by severity, dollars, files and lines"
    )
    suppressions: Path | None = _opt(
        None, "TOML file of waived (reviewed) findings", example="waivers.toml"
    )
    since: date | None = _opt(
        None,
        "audit lines on or after this date; older lines are history (with state: the last "
        "run's latest date of service)",
        example="2026-01-01",
    )
    log: bool = _opt(False, "timestamped progress lines on stderr (counts only, no patient data)")
    partitions: int = _opt(0, "patient-hash partitions (0 = automatic, 1 = in memory)")
    remits: list[Path] = _opt(
        [], "835 remittance files or folders joined to the findings", example=["era/"]
    )
    engine: EngineName = _opt(
        "local", "where partitions are audited: local (this process) or dask (a Dask cluster)"
    )
    scheduler: str | None = _opt(
        None,
        "Dask scheduler address for engine dask (default: a LocalCluster on this machine)",
        example="tcp://10.0.0.5:8786",
    )
    workers: int = _opt(0, "LocalCluster workers for engine dask (0 = one per core)")
    memory_limit: str | None = _opt(
        None, "memory per LocalCluster worker for engine dask (default: RAM / workers)", "4GiB"
    )
    workdir: Path | None = _opt(
        None,
        "folder for the temporary partitions (engine dask on a remote cluster: a folder every "
        "worker mounts)",
        example="/shared/dermaudit-tmp",
    )
    # engagement metadata: the report's cover, the console's first line, every summary
    practice: str | None = _opt(
        None, "practice name for the report cover", example="Lakeside Dermatology"
    )
    engagement: str | None = _opt(
        None, "engagement name for the report cover", example="2026 coding assessment"
    )
    prepared_by: str | None = _opt(
        None, "who prepared the report (cover and summaries)", example="J. Rivera, CPC"
    )
    period: str | None = _opt(
        None,
        "period the report covers, as the client knows it (the dates of service are printed too)",
        example="Jan-Dec 2025",
    )
    report_kind: ReportKindName = _opt(
        "neutral", "kind of report: neutral, nightly, pre-engagement or follow-up"
    )

    # not options of their own: the [columns], [payers] and [per_payer.*] sections
    column_table: dict[str, str | list[str]] = field(default_factory=dict, repr=False)
    payer_table: dict[str, str] = field(default_factory=dict, repr=False)
    per_payer: dict[str, dict[str, list[str]]] = field(default_factory=dict, repr=False)
    path: Path | None = field(default=None, repr=False)  # the config file read, if any

    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if "doc" in f.metadata]

    @classmethod
    def resolve(
        cls, explicit: dict[str, Any], config: Path | None = None, *, discover: bool = False
    ) -> Settings:
        """Built-in defaults, then the config file, then ``explicit`` (None values ignored;
        an empty list given explicitly is ignored too, as on the command line). With
        ``discover`` and no ``config``, ``./dermaudit.toml`` is used when it exists."""
        s = load_config(find_config(config) if config is not None or discover else None)
        names = set(cls.option_names())
        for key, value in explicit.items():
            if key not in names:
                raise UsageError(f"unknown scan option {key!r}")
            if value is None or (isinstance(value, list | tuple) and not value):
                continue
            setattr(s, key, _coerce(key, value, f"option {key}"))
        return s


SECTIONS = ("scan", "columns", "payers", "per_payer")
PATH_HINTS = {
    "output",
    "html",
    "columns",
    "payer_map",
    "baseline",
    "state",
    "suppressions",
    "ruleset",
}


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _kind_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _kind_name(inner[0]) if inner else "a value"
    if origin is list:
        return f"a list of {_kind_name(get_args(tp)[0])}s"
    return {bool: "true or false", int: "a whole number", str: "text", Path: "a path"}.get(
        tp, "a date (YYYY-MM-DD)" if tp is date else str(tp)
    )


def _coerce(key: str, value: Any, where: str, base: Path | None = None) -> Any:
    """Check ``value`` against the type of ``Settings.key``; return it converted."""
    tp = _hints()[key]
    bad = ConfigError(f"{where}: {key} must be {_kind_name(tp)}, not {value!r}")
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        tp = next(a for a in get_args(tp) if a is not type(None))
        origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            raise bad
        return value
    if origin is list:
        item = get_args(tp)[0]
        values = [value] if isinstance(value, str | Path) else value
        if not isinstance(values, list | tuple) or not all(
            isinstance(v, str | Path) for v in values
        ):
            raise bad
        if item is Path:
            return [_path(v, base) for v in values]
        out = [str(v).strip() for v in values]
        if any(not v for v in out):
            raise bad
        return out
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad
        return value
    if tp is Path:
        if not isinstance(value, str | Path) or not str(value).strip():
            raise bad
        return Path(value) if str(value) == "-" else _path(value, base)
    if tp is date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise bad from None
    if tp is str:
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise bad
        return value.strip()
    return value


def _path(v: str | Path, base: Path | None) -> Path:
    p = Path(v).expanduser()
    return p if base is None or p.is_absolute() else (base / p).resolve()


def _line_of(text: str, key: str, section: str | None = None) -> int | None:
    """The 1-based line of ``key = ...`` (in ``[section]`` when given), for messages."""
    in_section = section is None
    pat = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    for i, line in enumerate(text.splitlines(), start=1):
        head = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if head:
            in_section = section is None or head.group(1).split(".")[0].strip() == section
            if head.group(1).strip() == key:
                return i
            continue
        if in_section and pat.match(line):
            return i
    return None


def _nearest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(options)}"


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is not None:
        if not Path(explicit).is_file():
            raise ConfigError(f"config file {explicit} not found")
        return Path(explicit)
    cand = (cwd or Path.cwd()) / "dermaudit.toml"
    return cand if cand.is_file() else None


def load_config(path: Path | None) -> Settings:
    """Read and validate a config file (``None``: the built-in defaults)."""
    if path is None:
        return Settings()
    text, data = load_toml(path, "config")
    base = path.resolve().parent

    def where(key: str, section: str) -> str:
        line = _line_of(text, key, section)
        return f"config {path}" + (f" line {line}" if line else "") + f" [{section}]"

    for sec in data:
        if sec not in SECTIONS:
            line = _line_of(text, sec)
            raise ConfigError(
                f"config {path}"
                + (f" line {line}" if line else "")
                + f": unknown section [{sec}]{_nearest(sec, list(SECTIONS))}"
            )
    s = Settings(path=path)
    names = Settings.option_names()
    scan = data.get("scan", {})
    if not isinstance(scan, dict):
        raise ConfigError(f"config {path}: [scan] must be a table of options")
    for k, v in scan.items():
        key = k.replace("-", "_")
        if key not in names:
            opts = [n.replace("_", "-") for n in names]
            raise ConfigError(
                f"{where(k, 'scan')}: unknown key {k!r}{_nearest(k.replace('_', '-'), opts)}"
            )
        setattr(s, key, _coerce(key, v, where(k, "scan"), base))
    cols = data.get("columns", {})
    for k, v in cols.items():
        ok = (isinstance(v, str) and v.strip()) or (
            isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)
        )
        if not ok:
            raise ConfigError(
                f"{where(k, 'columns')}: {k} must be a column name or a list of names, not {v!r}"
            )
    s.column_table = dict(cols)
    payers = data.get("payers", {})
    for name, cls in payers.items():
        if cls not in PAYER_CLASSES:
            raise ConfigError(
                f"{where(name, 'payers')}: payer class {cls!r} unknown"
                f"{_nearest(str(cls), list(PAYER_CLASSES))}"
            )
    s.payer_table = {str(k): str(v) for k, v in payers.items()}
    for cls, sel in data.get("per_payer", {}).items():
        if cls not in PAYER_CLASSES:
            raise ConfigError(
                f"{where(cls, 'per_payer')}: [per_payer.{cls}] is not a payer class"
                f"{_nearest(cls, list(PAYER_CLASSES))}"
            )
        if not isinstance(sel, dict):
            raise ConfigError(f"config {path}: [per_payer.{cls}] must be a table")
        for k in sel:
            if k not in ("select", "ignore"):
                raise ConfigError(
                    f"{where(k, 'per_payer')}: unknown key {k!r} in [per_payer.{cls}]"
                    f"{_nearest(k, ['select', 'ignore'])}"
                )
        s.per_payer[cls] = {
            k: _coerce(k, sel.get(k, []), where(k, "per_payer")) for k in ("select", "ignore")
        }
    return s


STARTER = """\
# dermaudit.toml — written by `dermaudit init` from {sample}.
# Every `dermaudit scan` option can be set here; an option given on the command line wins.
# Unknown keys and wrong types are errors, so a typo never goes unnoticed.

[scan]
{options}

# Column mapping detected in {sample}; edit if a column was missed or mis-read.
[columns]
{columns}

# Payer names that the keyword rules classify wrongly (exact name -> class).
# Classes: medicare_ffs, medicare_advantage, medicaid, commercial, self_pay, unknown
[payers]
# "Humana Gold Plus" = "medicare_advantage"

# Rule selection for one payer class, e.g. ABN-modifier rules only for Medicare:
# [per_payer.commercial]
# ignore = ["MOD-005"]
"""


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if v is None:
        return '""'
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def starter(sample_name: str, mapping: dict[str, str | list[str]], **values: Any) -> str:
    """A commented config: every option with its documentation, commented out at its
    default unless ``values`` sets it (then written as an active line)."""
    opts = []
    for f in dataclasses.fields(Settings):
        if "doc" not in f.metadata:
            continue
        key = f.name.replace("_", "-")
        if f.name in values:
            opts.append(f"{key} = {_toml_value(values[f.name])}  # {f.metadata['doc']}")
        else:
            ex = f.metadata["example"]
            opts.append(f"# {key} = {_toml_value(ex)}  # {f.metadata['doc']}")
    cols = [f"{k} = {_toml_value(v)}" for k, v in mapping.items()]
    return STARTER.format(sample=sample_name, options="\n".join(opts), columns="\n".join(cols))
