"""The project's shape: layers point down (import-linter contracts in pyproject.toml), ruff formats and lints,
only public names cross module boundaries, and the project stands alone."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("ppr", "ui", "views", "tests", "bench") for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]
OURS = ("ppr", "ui", "views", "_")  # tests' helper modules start with '_'


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: `pip install -r requirements-dev.txt` brings it")
    return found


def test_import_contracts_hold() -> None:
    out = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


def test_ruff_formats_and_lints_everything() -> None:
    fmt = subprocess.run([_tool("ruff"), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout[-3000:]
    lint = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-3000:]


def test_only_public_names_cross_module_boundaries() -> None:
    offenders = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0].startswith(OURS):
                offenders += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert not offenders, offenders


def test_the_project_stands_alone() -> None:
    """No source cites the design notes outside the project; no formatter opt-outs."""
    paths = [p for p in [*SOURCES, *ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")] if p != Path(__file__)]
    assert not [p for p in paths if any(word in p.read_text() for word in ("DESIGN.md", "fmt: skip"))]
