"""dermaudit: a coding and compliance auditor for dermatology charge exports."""

__version__ = "0.1.0"
