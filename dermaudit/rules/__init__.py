"""Rule modules, one per code family. Importing this package registers every rule."""

from . import (  # noqa: F401
    cosmetic,
    destruction,
    em,
    general,
    mohs,
)
from .base import RULES, Context, Rule, rule

__all__ = ["RULES", "Context", "Rule", "rule"]
