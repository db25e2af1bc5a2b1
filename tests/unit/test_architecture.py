"""The pure rings never import I/O: checked on every module's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "qari"
PURE = ("core", "analysis", "risk", "trading")
FORBIDDEN = (
    "asyncio",
    "ccxt",
    "sqlalchemy",
    "fastapi",
    "httpx",
    "aiohttp",
    "requests",
    "qari.engine",
    "qari.adapters",
    "qari.web",
    "qari.services",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("ring", PURE)
def test_pure_ring_imports_no_io_modules(ring: str) -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / ring).rglob("*.py"))
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    ]
    assert offenders == []


def test_engine_ring_does_not_import_adapters() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / "engine").rglob("*.py"))
        for name in _imports(path)
        if name.startswith(("qari.adapters", "qari.web", "ccxt", "sqlalchemy"))
        and path.name != "kernel.py"  # the one composition root may wire adapters
    ]
    assert offenders == []
