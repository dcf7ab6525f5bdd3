"""User-facing errors. Each carries one line that names the value and the fix."""

from __future__ import annotations


class DermauditError(Exception):
    """An error caused by the user's input or options (exit code 2)."""


class InputError(DermauditError):
    """The input file cannot be read or lacks what the audit needs."""


class UsageError(DermauditError):
    """An option or argument is wrong."""
