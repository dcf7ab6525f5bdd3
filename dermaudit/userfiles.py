"""Strict checks of the small TOML files a user writes besides dermaudit.toml: waivers
(``--suppressions``) and payer maps (``--payer-map``).

A typo must never change what a file means. A waiver key spelled ``claim_id`` instead of
``claim`` would otherwise be ignored and the waiver would cover every claim of its rule; a payer
map section spelled ``[payer]`` would be ignored and every payer classified by keywords. Each
problem is a ``ConfigError`` that names the file, the line and the nearest valid name.
"""

from __future__ import annotations

import difflib
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model import PAYER_CLASSES

WAIVER_KEYS = (
    "rule",
    "reason",
    "by",
    "until",
    "claim",
    "patient",
    "dos",
    "provider",
    "fingerprint",
)
WAIVER_TEXT_KEYS = ("rule", "reason", "by", "claim", "patient", "provider", "fingerprint")


def _nearest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(options)}"


def _line(text: str, key: str, nth: int = 1) -> str:
    """`` line N`` of the nth ``key =`` / ``[key]`` in ``text`` (empty when not found)."""
    seen = 0
    for i, raw in enumerate(text.splitlines(), start=1):
        ln = raw.strip().strip("[]").strip()
        if ln.split("=", 1)[0].strip().strip("\"'") == key:
            seen += 1
            if seen == nth:
                return f" line {i}"
    return ""


def load_toml(path: Path, what: str) -> tuple[str, dict[str, Any]]:
    try:
        text = Path(path).read_text("utf-8")
        return text, tomllib.loads(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} {path} not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from exc


def check_waivers_file(path: Path) -> None:
    """Only ``[[waiver]]`` tables with known keys and the right types."""
    text, data = load_toml(path, "suppressions file")
    for key in data:
        if key != "waiver":
            raise ConfigError(
                f"suppressions file {path}{_line(text, key)}: unknown entry {key!r}"
                f"{_nearest(key, ['waiver'])} (each waiver is a [[waiver]] table)"
            )
    waivers = data.get("waiver", [])
    if not isinstance(waivers, list) or not all(isinstance(w, dict) for w in waivers):
        raise ConfigError(f"suppressions file {path}: write each waiver as a [[waiver]] table")
    for i, w in enumerate(waivers, start=1):
        where = f"suppressions file {path}{_line(text, 'waiver', i)} (waiver #{i})"
        for key, value in w.items():
            if key not in WAIVER_KEYS:
                raise ConfigError(f"{where}: unknown key {key!r}{_nearest(key, WAIVER_KEYS)}")
            if key in WAIVER_TEXT_KEYS and not isinstance(value, str):
                raise ConfigError(f"{where}: {key} must be text in quotes, not {value!r}")
            if key in ("until", "dos") and not isinstance(value, date | str):
                raise ConfigError(f"{where}: {key} must be a date (YYYY-MM-DD), not {value!r}")


def check_payer_map(path: Path, text: str, data: dict[str, Any]) -> None:
    """``[payers]`` (exact name = class) and ``[[rule]]`` (class, match) only."""
    for key in data:
        if key not in ("payers", "rule"):
            raise ConfigError(
                f"payer map {path}{_line(text, key)}: unknown section {key!r}"
                f"{_nearest(key, ['payers', 'rule'])}"
            )
    payers = data.get("payers", {})
    if not isinstance(payers, dict):
        raise ConfigError(f'payer map {path}: [payers] must be a table of "name" = "class"')
    for name, cls in payers.items():
        if not isinstance(cls, str) or cls not in PAYER_CLASSES:
            raise ConfigError(
                f"payer map {path}{_line(text, name)}: payer class {cls!r} unknown"
                f"{_nearest(str(cls), PAYER_CLASSES)}"
            )
    rules = data.get("rule", [])
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ConfigError(f"payer map {path}: write each keyword rule as a [[rule]] table")
    for i, r in enumerate(rules, start=1):
        where = f"payer map {path}{_line(text, 'rule', i)} (rule #{i})"
        for key in r:
            if key not in ("class", "match"):
                near = _nearest(key, ["class", "match"])
                raise ConfigError(f"{where}: unknown key {key!r}{near}")
        match = r.get("match")
        if not isinstance(match, list) or not match or not all(isinstance(m, str) for m in match):
            raise ConfigError(f'{where}: match must be a list of words, e.g. match = ["humana"]')
        if r.get("class") not in PAYER_CLASSES:
            raise ConfigError(
                f"{where}: class {r.get('class')!r} unknown"
                f"{_nearest(str(r.get('class')), PAYER_CLASSES)}"
            )
