"""The dashboard's portfolio view: free USDT on the exchange plus open positions marked at the last
price, with unrealised P&L in USDT and R, and an equity curve.

The equity curve is the realised-P&L path anchored at today's value: each closed trade moves it by
its P&L in USDT, so the steps are the trades and the last point is the current portfolio value. Open
positions make it move before any close: from the first open entry it follows the marked value
(the samples this server took while the dashboard watched, then now). The realised path needs no
stored snapshots; the marked samples are kept in memory only, so a restart forgets them, never a
trade.

Exchange calls are cached per user for a few seconds: the dashboard's live stream asks often, and an
exchange's rate limit must not be spent on repainting a page.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.tables.exchange import ExchangeConnection
from qari.core.errors import QariError
from qari.core.time import as_utc
from qari.services import exchange_keys, reports
from qari.services.exchange_keys import Keyring

QUOTE = "USDT"
CACHE_SECONDS = 5.0
SAMPLES_KEPT = 720  # marked-equity samples kept per user (at most one per SAMPLE_SPACING)
SAMPLE_SPACING = dt.timedelta(seconds=30)
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")


@dataclass
class PortfolioCache:
    """Recent exchange answers (balances and marks) per user and symbol set, with monotonic expiry,
    kept on the app state. The journal itself is always read fresh."""

    ttl_seconds: float = CACHE_SECONDS
    entries: dict[tuple[int, frozenset[str]], tuple[float, Any]] = field(default_factory=dict)
    samples: dict[int, list[tuple[dt.datetime, Decimal]]] = field(default_factory=dict)

    def sample(self, user_id: int, at: dt.datetime, total: Decimal) -> list[tuple[dt.datetime, Decimal]]:
        """Remember the marked total at `at` (thinned, bounded); returns the user's samples, oldest first."""
        kept = self.samples.setdefault(user_id, [])
        if not kept or at - kept[-1][0] >= SAMPLE_SPACING:
            kept.append((at, total))
            del kept[:-SAMPLES_KEPT]
        return kept

    def get(self, key: tuple[int, frozenset[str]]) -> Any:
        found = self.entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: tuple[int, frozenset[str]], value: Any) -> None:
        self.entries[key] = (time.monotonic() + self.ttl_seconds, value)


def _dec(value: object) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    quantised = value.quantize(Decimal("0.00000001"))
    return format(quantised.normalize(), "f")


def _connection(rows: list[ExchangeConnection], exchange: str | None = None) -> ExchangeConnection | None:
    connected = [r for r in rows if r.status == "connected"]
    for row in connected:
        if exchange is None or row.exchange == exchange:
            return row
    return connected[0] if connected else None


def mark_position(position: dict[str, Any], mark: Decimal | None) -> dict[str, Any]:
    """`position` (from the journal) with its mark price, value and unrealised P&L in USDT and R."""
    qty = _dec(position.get("qty")) or Decimal(0)
    entry = _dec(position.get("blended_entry")) or _dec(position.get("entry_price"))
    one_r = _dec(position.get("one_r_usdt"))
    pnl = (mark - entry) * qty if mark is not None and entry is not None else None
    r = pnl / one_r if pnl is not None and one_r else None
    return {
        **position,
        "mark_price": _text(mark),
        "value_usdt": _text(mark * qty if mark is not None else None),
        "unrealised_pnl_usdt": _text(pnl),
        "unrealised_r": _text(r),
    }


def equity_curve(
    closed: list[dict[str, Any]],
    total_now: Decimal,
    now: dt.datetime,
    *,
    unrealised: Decimal = Decimal(0),
    first_open: dt.datetime | None = None,
    samples: list[tuple[dt.datetime, Decimal]] | None = None,
) -> list[dict[str, Any]]:
    """Realised-P&L steps ending at `total_now` less the open positions' unrealised P&L; then, from
    the first open entry, the marked samples and `total_now` (see the module docstring)."""
    steps = sorted(
        ((t["closed_at"], _dec(t.get("pnl_usdt")) or Decimal(0)) for t in closed if t.get("closed_at")),
        key=lambda item: item[0],
    )
    settled = total_now - unrealised
    value = settled - sum((pnl for _, pnl in steps), Decimal(0))
    points: list[dict[str, Any]] = []
    if steps:
        points.append({"time": steps[0][0] - dt.timedelta(seconds=1), "value": _text(value)})
    for at, pnl in steps:
        value += pnl
        points.append({"time": at, "value": _text(value)})
    last = steps[-1][0] if steps else None
    if first_open is not None and (last is None or first_open > last) and first_open < now:
        points.append({"time": first_open, "value": _text(settled)})
        last = first_open
    for at, total in samples or []:
        if (last is None or at > last) and at < now:
            points.append({"time": at, "value": _text(total)})
    points.append({"time": now, "value": _text(total_now)})
    return points


async def _marks(client: Any, symbols: set[str]) -> dict[str, Decimal]:
    """Last prices; a symbol the exchange does not quote stays unmarked (shown as unknown)."""
    marks: dict[str, Decimal] = {}
    for symbol in sorted(symbols):
        try:
            ticker = await client.fetch_ticker(symbol)
        except QariError:
            continue
        marks[symbol] = ticker.last
    return marks


async def portfolio(
    session: AsyncSession,
    vault: Keyring,
    *,
    user_id: int,
    endpoints: exchange_keys.Endpoints,
    now: dt.datetime,
    cache: PortfolioCache | None = None,
) -> dict[str, Any]:
    """Portfolio value (free + locked USDT + marked positions), positions and the equity curve."""
    rows = await exchange_keys.list_connections(session, user_id)
    positions = await reports.open_positions(session, user_id)
    closed = await reports.trades(session, user_id, reports.TradeFilter(status="closed", limit=500))
    row = _connection(rows)
    body: dict[str, Any] = {"as_of": now, "quote": QUOTE, "exchange": row.exchange if row else None}
    if row is None:
        marked = [mark_position(p, None) for p in positions]
        return {**body, "connected": False, "error": "no connected exchange", "positions": marked}
    symbols = frozenset(p["symbol"] for p in positions)
    key = (user_id, symbols)
    try:
        found = cache.get(key) if cache else None
        if found is None:
            async with exchange_keys.open_client(session, vault, row.id, user_id, endpoints) as client:
                found = (await client.fetch_balances(), await _marks(client, set(symbols)))
            if cache:
                cache.put(key, found)
        balances, marks = found
    except QariError as e:
        marked = [mark_position(p, None) for p in positions]
        return {**body, "connected": True, "error": f"exchange unreachable: {e}", "positions": marked}
    usdt = balances.get(QUOTE)
    free = usdt.free if usdt else Decimal(0)
    locked = usdt.used if usdt else Decimal(0)
    marked = [mark_position(p, marks.get(p["symbol"])) for p in positions]
    in_positions = sum((_dec(p["value_usdt"]) or Decimal(0) for p in marked), Decimal(0))
    unrealised = sum((_dec(p["unrealised_pnl_usdt"]) or Decimal(0) for p in marked), Decimal(0))
    total = free + locked + in_positions
    filled = [as_utc(p["opened_at"]) for p in marked if p.get("state") != "pending" and p.get("opened_at")]
    samples = cache.sample(user_id, now, total) if cache else []
    return {
        **body,
        "connected": True,
        "error": None,
        "free_usdt": _text(free),
        "locked_usdt": _text(locked),
        "positions_usdt": _text(in_positions),
        "total_usdt": _text(total),
        "positions": marked,
        "equity": equity_curve(
            closed,
            total,
            now,
            unrealised=unrealised,
            first_open=min(filled) if filled else None,
            samples=samples,
        ),
    }


async def candles(
    session: AsyncSession,
    vault: Keyring,
    *,
    user_id: int,
    endpoints: exchange_keys.Endpoints,
    symbol: str,
    timeframe: str,
    limit: int,
    exchange: str | None = None,
) -> list[list[float]]:
    """Recent candles `[ms, open, high, low, close, volume]` from the user's connected exchange."""
    row = _connection(await exchange_keys.list_connections(session, user_id), exchange)
    if row is None:
        return []
    async with exchange_keys.open_client(session, vault, row.id, user_id, endpoints) as client:
        return await client.fetch_ohlcv(symbol, timeframe, None, limit)
