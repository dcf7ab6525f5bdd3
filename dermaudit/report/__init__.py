"""Outputs: console summary, JSON/JSONL/CSV/Parquet exports, HTML report."""
