#!/bin/sh
# Regenerate sample_data/ from bench/generate.py. With the same generator version, numpy and
# polars the files come out byte-identical (tests/test_generator.py checks charges.csv).
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
"$PY" bench/generate.py --lines 2600 --out sample_data --seed 20250303 --providers 3 \
    --start 2025-03-03 --months 2 --error-rate 0.08 --formats csv,parquet \
    --update-readme sample_data/README.md
