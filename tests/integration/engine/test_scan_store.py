"""The cycle's shared scan as stored in `engine_shared_scans` and read by a task worker: typed JSON
(`adapters/scan_codec.py`), so a row someone else wrote is data at worst, never code."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import pickle
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.engine import EngineSharedScanRow, EngineUnitRow
from qari.adapters.scan_codec import ScanDecodeError, decode_scan, encode_scan
from qari.adapters.tasks import ENTER, UnitWorker, WorkerParts
from qari.core.market import MarketSnapshot, OrderBook, Ticker
from qari.engine.cycle import ExchangeScan, UserOutcome, UserUnit

AT = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)


class _RunsCode:
    """A pickle that runs a shell command when loaded (what a writer of the table could store)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class _Units:
    def __init__(self) -> None:
        self.scans: list[ExchangeScan] = []

    async def enter(self, unit: UserUnit, scan: ExchangeScan) -> UserOutcome:
        self.scans.append(scan)
        return UserOutcome(gate=(), orders_sent=0)

    async def manage(self, unit: UserUnit, at: dt.datetime) -> None:
        raise AssertionError("not a management unit")

    async def reconcile(self, unit: UserUnit, at: dt.datetime | None = None) -> None:
        raise AssertionError("not a reconcile unit")


async def _run_on(pg_url: str, bodies: list[bytes]) -> tuple[list[Any], _Units]:
    """Store each body as one cycle's scan and run one user's entry unit of that cycle on a worker."""
    await asyncio.to_thread(migrate.upgrade, pg_url)
    db = make_engine(pg_url)
    units = _Units()

    async def close() -> None:
        await db.dispose()

    worker = UnitWorker(WorkerParts(units, lambda _now: None, close, db))
    sessions = make_sessionmaker(db)
    outcomes = []
    try:
        for n, body in enumerate(bodies):
            at = AT + dt.timedelta(minutes=5 * n)
            async with sessions() as session, session.begin():
                await session.execute(
                    insert(EngineSharedScanRow).values(cycle_at=at, exchange_id="sandbox", body=body)
                )
            assert await worker.run(ENTER, at, at, UserUnit(1, "sandbox"))
            async with sessions() as session:
                outcome = await session.scalar(
                    select(EngineUnitRow.outcome).where(EngineUnitRow.cycle_at == at)
                )
                # What the unit did, apart from who ran it and for how long (the operator page's figures).
                outcomes.append({k: v for k, v in outcome.items() if k not in ("worker", "seconds")})
    finally:
        await db.dispose()
    return outcomes, units


async def test_stored_scan_when_tampered_then_refused_with_a_clear_error_and_never_run(
    pg_url: str, tmp_path: Path
) -> None:
    """Found on the pickled scan: a row holding a crafted pickle ran its command in the worker."""
    marker = tmp_path / "ran"
    crafted = zlib.compress(pickle.dumps(_RunsCode(marker)))
    outcomes, units = await _run_on(pg_url, [crafted, b"not a scan", zlib.compress(b'{"v": 1}')])
    assert not marker.exists(), "the stored bytes ran a command"
    assert units.scans == []  # no unit ran on what the rows held
    assert outcomes == [{"error": "ScanDecodeError"}] * 3


async def test_stored_scan_when_written_by_the_engine_then_the_worker_reads_it_back(pg_url: str) -> None:
    scan = ExchangeScan(
        "sandbox",
        AT,
        snapshots={},
        entries_allowed=False,
        error="venue_down",
    )
    outcomes, units = await _run_on(pg_url, [encode_scan(scan)])
    assert outcomes == [{"gate": [], "orders_sent": 0}]
    assert units.scans == [scan]


_UTC_AT = ["dt", "2024-01-01T00:00:00+00:00"]


def _scan_of(**fields: Any) -> Any:
    return {"v": 1, "scan": ["o", ["ExchangeScan", {"exchange_id": "a", "at": _UTC_AT, **fields}]]}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"v": 2, "scan": None}, "not format 1"),
        (
            {"v": 1, "scan": ["o", ["Popen", {"args": ["ls"]}]]},
            "'Popen' is not one of the scan's value types",
        ),
        (
            {
                "v": 1,
                "scan": ["o", ["Ticker", {"symbol": "X", "last": ["d", "1"], "bid": None, "ask": None}]],
            },
            "not an ExchangeScan",
        ),
        ({"v": 1, "scan": ["x", 1]}, "unknown tag 'x'"),
        (_scan_of(at=["dt", "2024-01-01T00:00:00"]), "a naive datetime"),
        (_scan_of(snapshots=["m", {"X": ["a", ["|O", [1], "AAAA"]]}]), "not a float64/int64 array"),
        (_scan_of(__class__=1), "has no field '__class__'"),
        (_scan_of(error=["o", ["Vote", {}]]), "'Vote' is not one of the scan's value types"),
    ],
)
def test_stored_scan_when_not_one_the_codec_wrote_then_names_why(document: Any, reason: str) -> None:
    with pytest.raises(ScanDecodeError, match=reason):
        decode_scan(zlib.compress(json.dumps(document).encode()))


def test_stored_scan_when_holding_money_then_decimals_keep_every_digit() -> None:
    book = OrderBook("SUI/USDT", bids=((Decimal("0.9871000000000001"), Decimal("12.50")),), asks=())
    ticker = Ticker("SUI/USDT", Decimal("0.98715"), None, Decimal("0.9872"), ts_ms=1)
    snapshot = MarketSnapshot("SUI/USDT", 1, series={}, book=book, ticker=ticker)
    scan = ExchangeScan("sandbox", AT, snapshots={"SUI/USDT": snapshot})
    back = decode_scan(encode_scan(scan))
    assert back == scan
    assert repr(back) == repr(scan)  # every digit, as written (Decimal equality ignores trailing zeros)
