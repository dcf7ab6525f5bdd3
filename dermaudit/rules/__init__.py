"""Rule modules, one per code family. Importing this package registers every rule."""

from . import (  # noqa: F401
    att,
    biopsy,
    cosmetic,
    dataquality,
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
from .base import ENTRIES, RULES, Context, Entry, Rule, catalogue, rule

__all__ = ["ENTRIES", "RULES", "Context", "Entry", "Rule", "catalogue", "rule"]
