"""dermaudit: a coding and compliance auditor for dermatology charge exports.

The public API (everything else is private and may change)::

    import dermaudit

    result = dermaudit.scan("charges.csv")            # -> ScanResult
    result.findings                                   # Polars DataFrame, one row per finding
    result.summary.amount_over                        # headline figures (typed)
    result.write("findings.json")                     # json / jsonl / csv / parquet / html
    result.to_html("report.html")
    dermaudit.catalogue()                             # the rules, as RuleInfo records
    dermaudit.rule("MOHS-001").docs["Why it matters"]
    dermaudit.inspect("charges.csv")                  # the column mapping that would be used

Errors are raised as ``InputError`` (the input cannot be read or lacks what the audit needs),
``UsageError`` (a wrong argument), ``ConfigError`` (a wrong settings file) and
``OutputError`` (an output cannot be written); all derive from ``DermauditError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError, DermauditError, InputError, OutputError, UsageError

__version__ = "0.2.0"

if TYPE_CHECKING:  # the heavy modules are imported on first use (fast CLI start-up)
    from .api import Inspection, RuleInfo, catalogue, inspect, rule
    from .config import Settings
    from .scanner import Scan, ScanResult, Summary, scan

_LAZY = {
    "scan": "scanner",
    "Scan": "scanner",
    "ScanResult": "scanner",
    "Summary": "scanner",
    "Settings": "config",
    "catalogue": "api",
    "rule": "api",
    "RuleInfo": "api",
    "inspect": "api",
    "Inspection": "api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dermaudit' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "DermauditError",
    "InputError",
    "Inspection",
    "OutputError",
    "RuleInfo",
    "Scan",
    "ScanResult",
    "Settings",
    "Summary",
    "UsageError",
    "__version__",
    "catalogue",
    "inspect",
    "rule",
    "scan",
]
