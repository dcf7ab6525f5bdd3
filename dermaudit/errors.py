"""User-facing errors. Each carries one line that names the value and the fix.

The CLI maps every one of them to exit code 2 and prints the line; the Python API raises them.

* ``InputError``: an input file cannot be read or lacks what the audit needs;
* ``UsageError``: an option or argument is wrong;
* ``ConfigError``: ``dermaudit.toml`` (or another settings file) is wrong: unknown section or
  key, wrong type; the message names the file, the line and the key;
* ``OutputError``: an output cannot be written (permission, full disk, missing folder).
"""

from __future__ import annotations


class DermauditError(Exception):
    """An error caused by the user's input, options or environment (exit code 2)."""


class InputError(DermauditError):
    """The input file cannot be read or lacks what the audit needs."""


class UsageError(DermauditError):
    """An option or argument is wrong."""


class ConfigError(UsageError):
    """A settings file is wrong (unknown key or section, wrong type)."""


class OutputError(DermauditError):
    """An output file cannot be written."""


class Interrupted(BaseException):
    """SIGTERM received: unwind (removing temporary files), then exit 143."""
