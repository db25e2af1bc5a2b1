"""R1 spot only: the order path has no field, type or parameter that could express leverage, margin,
shorting or derivatives."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from qari.core.orders import OrderRequest, OrderType, Side

SRC = Path(__file__).resolve().parents[3] / "src" / "qari"
ORDER_PATH = [
    SRC / "engine" / "orders.py",
    SRC / "engine" / "execution.py",
    SRC / "engine" / "entry.py",
    SRC / "engine" / "management.py",
    SRC / "engine" / "protection.py",
    *sorted((SRC / "trading").glob("*.py")),
]


def test_order_request_when_inspected_then_only_spot_fields_exist() -> None:
    fields = {f.name for f in dataclasses.fields(OrderRequest)}
    assert fields == {"symbol", "side", "type", "qty_base", "client_order_id", "price", "trigger_price"}
    assert {s.value for s in Side} == {"buy", "sell"}
    assert {t.value for t in OrderType} == {"limit", "market", "stop_market"}


def test_order_path_when_scanned_then_mentions_no_derivative_parameters() -> None:
    banned = re.compile(r"leverage|margin|reduce_?only|isLeverage|positionIdx|futures|perpetual|swap", re.I)
    offenders = [f"{p.name}: {m.group(0)}" for p in ORDER_PATH for m in banned.finditer(p.read_text())]
    assert offenders == []
