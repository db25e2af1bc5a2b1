"""Imports point inward (ARCHITECTURE §5), checked on every import statement of every module.

`violations(root)` reads a `qari` package tree with `ast` (nothing is imported or run) and applies the
rules below; nested imports (inside a function) count as much as top-level ones, and relative imports
are resolved. The planted tests run the same checker over a copy of the real tree with one offending
line written in, so a rule that silently stopped matching fails here instead of letting the code drift.

Rules:
- pure rings (core, analysis, risk, trading): no I/O library, no outer ring, no wall-clock read
  (`core/clocks.py` is the one home of `WallClock`);
- market/: the modules named in `MARKET_IO` do I/O (each with its reason); every other module of
  market/ is pure like the rings above and may not import a market I/O module either;
- ports.py: only the core rings (core, analysis, risk, trading) and the standard library's typing
  helpers: protocols and the plain data that crosses them;
- decisions.py (decision records, shared by every ring): no adapter and no outer ring;
- adapters/: never services, engine, web, cli, signer or backtest: adapters implement ports;
- engine/: no adapters, web, ccxt or sqlalchemy outside the composition root (`kernel.py`, and
  `roles.py`, its half for the scaled-out roles' processes), and no `qari.backtest` at all (backtest
  wiring imports the kernel, never the reverse).
"""

from __future__ import annotations

import ast
import functools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "qari"

PURE_RINGS = ("core", "analysis", "risk", "trading")
IO_LIBRARIES = (
    "aiofiles",
    "aiohttp",
    "asyncio",
    "ccxt",
    "concurrent",
    "dramatiq",
    "fastapi",
    "glob",
    "gzip",
    "httpx",
    "io",
    "multiprocessing",
    "os",
    "pathlib",
    "redis",
    "requests",
    "shutil",
    "socket",
    "sqlalchemy",
    "sqlite3",
    "starlette",
    "subprocess",
    "tempfile",
    "threading",
    "time",
    "urllib",
)
OUTER_RINGS = (
    "qari.adapters",
    "qari.backtest",
    "qari.cli",
    "qari.engine",
    "qari.services",
    "qari.signer",
    "qari.web",
)
# market/ modules that may do I/O, and why; any other module of market/ stays pure.
MARKET_IO: dict[str, str] = {
    "candle_files": "reads and writes the candle files",
    "dominance": "reads the dominance history file",
    "download": "downloads candles from a venue and writes them to files",
    "scan_pass": "analyses a folder of candle files and writes the scan",
}
PORTS_MAY_IMPORT = ("qari.core", "qari.analysis", "qari.risk", "qari.trading")
WALL_CLOCK_HOME = "core/clocks.py"
COMPOSITION_ROOT = ("kernel.py", "roles.py")  # the engine modules that wire adapters in
_CLOCK_READS = {"now", "utcnow", "today"}
_DATE_TYPES = {"datetime", "date", "dt.datetime", "dt.date", "datetime.datetime", "datetime.date"}


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _module(rel: Path) -> str:
    parts = ["qari", *rel.with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module an import statement names, nested ones included; `from a import b` gives a and a.b."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def clock_reads(tree: ast.AST) -> list[str]:
    """`datetime.now()`, `dt.date.today()` and the like: the wall clock read directly."""
    return [
        ast.unparse(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _CLOCK_READS
        and ast.unparse(node.func.value) in _DATE_TYPES
    ]


@dataclass(frozen=True)
class Rule:
    name: str
    applies: Callable[[Path], bool]
    forbidden: Callable[[str], bool]
    pure: bool = False  # also no wall-clock reads


def _market_pure(rel: Path) -> bool:
    return rel.parts[0] == "market" and rel.stem not in MARKET_IO


RULES = (
    Rule(
        "pure rings: no I/O, no outer ring",
        lambda rel: rel.parts[0] in PURE_RINGS,
        lambda name: _under(name, IO_LIBRARIES + OUTER_RINGS),
        pure=True,
    ),
    Rule(
        "market's pure part: no I/O, no outer ring, no market I/O module",
        _market_pure,
        lambda name: _under(name, IO_LIBRARIES + OUTER_RINGS + tuple(f"qari.market.{m}" for m in MARKET_IO)),
        pure=True,
    ),
    Rule(
        "ports: only the core rings",
        lambda rel: rel == Path("ports.py"),
        lambda name: (
            _under(name, IO_LIBRARIES) or (name.startswith("qari") and not _under(name, PORTS_MAY_IMPORT))
        ),
        pure=True,
    ),
    Rule(
        "decisions: no adapter, no outer ring",
        lambda rel: rel == Path("decisions.py"),
        lambda name: _under(name, (*OUTER_RINGS, "sqlalchemy", "ccxt", "httpx")),
    ),
    Rule(
        "adapters: never services, engine, web, cli, signer or backtest",
        lambda rel: rel.parts[0] == "adapters",
        lambda name: _under(name, tuple(r for r in OUTER_RINGS if r != "qari.adapters")),
    ),
    Rule(
        "engine: no adapters, web or vendor SDKs outside the composition root",
        lambda rel: rel.parts[0] == "engine" and rel.name not in COMPOSITION_ROOT,
        lambda name: _under(name, ("qari.adapters", "qari.web", "ccxt", "sqlalchemy")),
    ),
    Rule(
        "engine: never backtest (backtest wiring imports the kernel)",
        lambda rel: rel.parts[0] == "engine",
        lambda name: _under(name, ("qari.backtest",)),
    ),
)


@functools.cache
def _facts(source: str, module: str, is_package: bool) -> tuple[frozenset[str], tuple[str, ...]]:
    """What one module's text imports and which wall-clock reads it makes (cached by text: a planted
    copy of the tree re-parses only the file that changed)."""
    tree = ast.parse(source)
    return frozenset(imported_names(tree, module, is_package)), tuple(clock_reads(tree))


def _modules(root: Path) -> Iterator[tuple[Path, frozenset[str], tuple[str, ...]]]:
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        yield rel, *_facts(path.read_text("utf-8"), _module(rel), rel.name == "__init__.py")


def violations(root: Path = SRC) -> list[str]:
    """Every broken rule in the `qari` package at `root`, as `path: what (rule)` lines."""
    found: list[str] = []
    for rel, names, all_reads in _modules(root):
        rules = [rule for rule in RULES if rule.applies(rel)]
        reads = all_reads if str(rel) != WALL_CLOCK_HOME else ()
        for rule in rules:
            found.extend(f"{rel}: imports {n} ({rule.name})" for n in sorted(names) if rule.forbidden(n))
            if rule.pure:
                found.extend(f"{rel}: reads the wall clock with {r}() ({rule.name})" for r in reads)
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_holds_on_the_source_tree(rule: Rule) -> None:
    assert [v for v in violations() if v.endswith(f"({rule.name})")] == []


def test_every_ring_the_rules_name_exists() -> None:
    for ring in (*PURE_RINGS, "market", "adapters", "engine"):
        assert (SRC / ring / "__init__.py").is_file(), ring
    assert (SRC / "ports.py").is_file()


# --- The checker catches what it should: one offending line planted in a copy of the real tree. ---


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "qari"
    shutil.copytree(
        SRC,
        copy,
        ignore=lambda folder, names: [
            n for n in names if not n.endswith(".py") and not Path(folder, n).is_dir()
        ],
    )
    assert violations(copy) == []  # the copy starts clean, so what is found below is the plant
    return copy


def _plant(tree: Path, rel: str, code: str) -> None:
    path = tree / rel
    before = path.read_text("utf-8") if path.exists() else '"""Planted by the architecture test."""\n'
    path.write_text(before + "\n" + code + "\n", "utf-8")


@pytest.mark.parametrize(
    ("rel", "code", "expected"),
    [
        (
            "adapters/persistence/repositories/trading.py",
            "from qari.services.alerts import create_link_code",
            "imports qari.services.alerts",
        ),
        (
            "adapters/persistence/planted.py",
            "async def later() -> None:\n    from qari.services import accounts",
            "imports qari.services",
        ),
        ("adapters/notify/planted.py", "from ...engine import cycle", "imports qari.engine"),
    ],
    ids=["top-level", "nested-in-a-function", "relative"],
)
def test_planted_adapters_to_services_or_engine_import_is_reported(
    tree: Path, rel: str, code: str, expected: str
) -> None:
    _plant(tree, rel, code)

    found = violations(tree)

    assert found and all(v.startswith(f"{rel}: ") and "(adapters: never services" in v for v in found)
    assert any(expected in v for v in found)


@pytest.mark.parametrize(
    ("rel", "code", "expected"),
    [
        ("market/snapshots.py", "import httpx", "imports httpx"),
        ("market/universe.py", "from pathlib import Path", "imports pathlib"),
        ("market/planted.py", "import os", "imports os"),  # a new market module is pure until named
        (
            "market/universe.py",
            "from qari.market.candle_files import discover",
            "imports qari.market.candle_files",
        ),
        (
            "market/universe.py",
            "import datetime as dt\n\ndef _today() -> object:\n    return dt.datetime.now()",
            "reads the wall clock with dt.datetime.now()",
        ),
    ],
    ids=["httpx", "pathlib", "new-module", "io-module", "wall-clock"],
)
def test_planted_io_in_markets_pure_part_is_reported(tree: Path, rel: str, code: str, expected: str) -> None:
    _plant(tree, rel, code)

    found = violations(tree)

    assert found and all(v.startswith(f"{rel}: ") and "(market's pure part" in v for v in found)
    assert any(expected in v for v in found)


def test_planted_io_in_a_named_market_io_module_is_allowed(tree: Path) -> None:
    _plant(tree, "market/download.py", "import httpx\nimport os")

    assert violations(tree) == []


@pytest.mark.parametrize(
    ("rel", "code", "rule"),
    [
        ("ports.py", "from qari.engine.health import HealthTracker", "(ports: only the core rings)"),
        ("ports.py", "import sqlalchemy", "(ports: only the core rings)"),
        ("engine/kernel.py", "from qari.backtest.wiring import build_backtest", "(engine: never backtest"),
        ("engine/cycle.py", "from qari.adapters.persistence import cycles", "(engine: no adapters"),
        ("engine/runtime.py", "import sqlalchemy", "(engine: no adapters"),
        ("engine/roles.py", "from qari.backtest.wiring import build_backtest", "(engine: never backtest"),
        ("risk/gate.py", "import asyncio", "(pure rings: no I/O, no outer ring)"),
        ("decisions.py", "from qari.adapters.persistence import db", "(decisions: no adapter"),
    ],
)
def test_planted_inward_rule_breaks_are_reported(tree: Path, rel: str, code: str, rule: str) -> None:
    _plant(tree, rel, code)

    found = violations(tree)

    assert found and all(v.startswith(f"{rel}: ") and rule in v for v in found)
