"""ptp rules (placeholder until the family is written)."""
