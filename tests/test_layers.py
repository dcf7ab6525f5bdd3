"""Imports run one way: cli → scan/api → report → partition/triage → engine → rules →
features → ingest/refdata → model/errors. A lower layer never imports an upper one (the
import-linter contracts of sqlfluff, written as a test)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "dermaudit"

# module (or package) -> modules it must never import, directly or lazily inside a function
FORBIDDEN = {
    "rules": ("cli", "scan", "api", "report", "partition", "triage", "engine"),
    "features": ("cli", "scan", "api", "report", "partition", "triage", "engine", "rules"),
    "ingest": ("cli", "scan", "api", "report", "partition", "triage", "engine", "rules"),
    "engine": ("cli", "scan", "api", "report", "partition", "triage"),
    "refdata": ("cli", "scan", "api", "report", "engine", "rules", "ingest"),
    "model": ("cli", "scan", "api", "report", "engine", "rules", "ingest", "features"),
    "report": ("cli", "scan", "api"),
}


def _imports(path: Path) -> set[str]:
    """Top-level dermaudit modules imported by ``path`` (relative or absolute imports)."""
    rel = path.relative_to(PKG)
    depth = len(rel.parts) - 1  # package depth of the file
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = rel.parts[: depth - (node.level - 1)] if node.level - 1 <= depth else ()
                parts = [*up, *(node.module.split(".") if node.module else [])]
                if not parts:  # "from . import x" at the package root
                    out.update(a.name for a in node.names)
                else:
                    out.add(parts[0])
                    if len(parts) == 1 and not node.module:
                        out.update(a.name for a in node.names)
            elif node.module and node.module.startswith("dermaudit."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("dermaudit."))
    return out


def _files(layer: str) -> list[Path]:
    p = PKG / layer
    return sorted(p.rglob("*.py")) if p.is_dir() else [PKG / f"{layer}.py"]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_never_imports_upwards(layer: str) -> None:
    bad = []
    for f in _files(layer):
        hit = (_imports(f) - {layer}) & set(FORBIDDEN[layer])
        if hit:
            bad.append(f"{f.relative_to(PKG)} imports {sorted(hit)}")
    assert not bad, bad


def test_cli_holds_no_scan_orchestration() -> None:
    text = (PKG / "cli.py").read_text("utf-8")
    for needle in ("engine.run(", "ingest.load(", "triage(", "run_partitioned(", "redact("):
        assert needle not in text, needle
