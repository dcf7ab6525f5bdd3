"""The reference data ships inside the wheel, not only in an editable checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_rulesets_and_templates(tmp_path: Path) -> None:
    try:
        import hatchling  # noqa: F401
    except ImportError:
        pytest.skip("hatchling (build backend, dev extra) not installed")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(tmp_path.glob("dermaudit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for table in ("codes.csv", "icd10_groups.csv", "payer_classes.toml", "sites.csv"):
        assert f"dermaudit/rulesets/{table}" in names
    assert any(n.startswith("dermaudit/report/templates/") for n in names)


def test_packaged_loader_prefers_package_dir(tmp_path: Path) -> None:
    from dermaudit.refdata import default_ruleset_dir

    d = default_ruleset_dir()
    assert (d / "codes.csv").exists()
