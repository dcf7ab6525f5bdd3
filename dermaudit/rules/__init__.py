"""Rule modules, one per code family. Importing this package registers every rule."""

from . import (  # noqa: F401
    att,
    biopsy,
    cosmetic,
    destruction,
    diagnosis,
    em,
    excision,
    general,
    globalsurg,
    injection,
    modifiers,
    mohs,
    pathology,
    ptp,
    repair,
    revenue,
    shave,
    tags,
)
from .base import RULES, Context, Rule, rule

__all__ = ["RULES", "Context", "Rule", "rule"]
