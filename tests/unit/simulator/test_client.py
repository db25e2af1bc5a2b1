"""SimulatedExchangeClient: the port the backtester uses, over the in-process venue."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simulator_market import FLAT, STEP, T0, MakeExchange, write_market
from tests.market_data import MARKET_DATA, needs_market_data

from qari.adapters.simulator.client import SimulatedExchangeClient
from qari.adapters.simulator.exchange import SimulatedExchange, to_decimal, venue_float
from qari.adapters.simulator.prices import CandleReplay
from qari.adapters.simulator.wire import on_tick
from qari.core.errors import InsufficientFundsError, OrderNotFoundError, OrderRejectedError
from qari.core.instrument import InstrumentRules
from qari.core.market import Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderRequest, OrderStatus, OrderType, Side
from qari.market.candle_files import discover
from qari.ports import ExchangeClient

D = Decimal
DIP = [(100.0, 100.0, 100.0, 100.0, 1000.0)] * 2 + [(100.0, 100.0, 97.0, 98.0, 1000.0)] * 4


async def test_ticker_when_price_is_off_the_tick_then_last_is_on_the_tick_as_the_sandbox_prints_it(
    make_exchange: MakeExchange,
) -> None:
    """Found on the old code: the backtest read 100.0004 where a sandbox replay over HTTP reads the
    printed (on-tick) 100.000; both must read the same."""
    venue = make_exchange([(100.0004, 100.0004, 100.0004, 100.0004, 1000.0)] * 4)
    client = SimulatedExchangeClient(venue, "a")
    assert venue.instrument("BTC/USDT").tick_size == D("0.001") and venue.price("BTC/USDT") != D(100)

    ticker = await client.fetch_ticker("BTC/USDT")

    assert ticker.last == D("100.000") and ticker.last.as_tuple().exponent == -3
    assert ticker.bid is not None and ticker.ask is not None
    assert ticker.bid % D("0.001") == 0 and ticker.ask % D("0.001") == 0


async def test_client_when_trading_then_core_types_and_errors(make_exchange: MakeExchange) -> None:
    venue = make_exchange(DIP)
    client: ExchangeClient = SimulatedExchangeClient(venue, "a")
    rules = (await client.load_markets())["BTC/USDT"]
    assert rules.tick_size == D("0.001") and rules.lot_size == D("0.001") and rules.min_notional == 5
    ticker = await client.fetch_ticker("BTC/USDT")
    assert ticker.last == D(100) and ticker.bid is not None and ticker.bid < ticker.last
    book = await client.fetch_order_book("BTC/USDT", 5)
    assert len(book.bids) == 5 and book.asks[0][0] > book.bids[0][0]

    entry = await client.create_order(
        OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("2"), "entry-1", price=D("99"))
    )
    assert entry.status is OrderStatus.OPEN and entry.client_order_id == "entry-1"
    stop = await client.create_order(
        OrderRequest("BTC/USDT", Side.SELL, OrderType.STOP_MARKET, D("1"), "sl-1", trigger_price=D("97.5"))
    )
    assert stop.status is OrderStatus.UNTRIGGERED and stop.type is OrderType.STOP_MARKET
    balances = await client.fetch_balances()
    assert balances["USDT"].used == D("198") and balances["BTC"].used == D("1")

    venue.advance_to(T0 + 4 * STEP)
    filled = await client.fetch_order_by_client_id("BTC/USDT", "entry-1")
    assert filled is not None and filled.status is OrderStatus.FILLED and filled.fee == D("0.002")
    stopped = await client.fetch_order_by_client_id("BTC/USDT", "sl-1")
    assert stopped is not None and stopped.status is OrderStatus.FILLED and stopped.avg_price is not None
    fills = await client.fetch_fills("BTC/USDT")
    assert [f.client_order_id for f in fills] == ["entry-1", "sl-1"] and fills[0].is_maker
    assert await client.fetch_open_orders() == []
    assert len(await client.fetch_ohlcv("BTC/USDT", "5m", limit=3)) == 3

    with pytest.raises(InsufficientFundsError):
        await client.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, D("500"), "big"))
    with pytest.raises(OrderRejectedError):
        await client.create_order(
            OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("0.0001"), "x", D("90"))
        )
    with pytest.raises(OrderNotFoundError):
        await client.cancel_order("BTC/USDT", "nope")
    await client.close()


class Reads(NamedTuple):
    open_orders: list[OrderReport]
    balances: dict[str, Balance]
    ticker: Ticker
    fills: list[Fill]
    entry: OrderReport | None
    markets: dict[str, InstrumentRules]


async def reads(client: SimulatedExchangeClient) -> Reads:
    return Reads(
        await client.fetch_open_orders("BTC/USDT"),
        await client.fetch_balances(),
        await client.fetch_ticker("BTC/USDT"),
        await client.fetch_fills("BTC/USDT"),
        await client.fetch_order_by_client_id("BTC/USDT", "entry-1"),
        await client.load_markets(),
    )


async def test_client_reads_when_asked_again_then_every_venue_change_in_between_is_seen(
    make_exchange: MakeExchange,
) -> None:
    # Arrange: a second client on the same venue changes it behind the first one's back
    venue = make_exchange(DIP)
    client, other = SimulatedExchangeClient(venue, "a"), SimulatedExchangeClient(venue, "a")
    seen = [await reads(client)]
    (await client.fetch_open_orders("BTC/USDT")).append(seen[0].entry)  # type: ignore[arg-type]
    (await client.fetch_balances()).clear()  # callers' own copies: changing them changes no answer
    assert await reads(client) == seen[0]

    # Act: each kind of venue change, then the same questions again
    await other.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, D("2"), "entry-1", D("99")))
    seen.append(await reads(client))
    venue.advance_to(T0 + 4 * STEP)  # the dip fills the entry
    seen.append(await reads(client))
    stop = await other.create_order(
        OrderRequest("BTC/USDT", Side.SELL, OrderType.STOP_MARKET, D("1"), "sl-1", trigger_price=D("90"))
    )
    seen.append(await reads(client))
    await other.cancel_order("BTC/USDT", stop.exchange_order_id)
    seen.append(await reads(client))
    venue.set_balance("a", "USDT", D(500))
    seen.append(await reads(client))

    # Assert: each answer follows the change before it, as a fresh client reads it
    assert seen[-1] == await reads(SimulatedExchangeClient(venue, "a"))
    assert [len(r.open_orders) for r in seen] == [0, 1, 0, 1, 0, 0]
    assert [r.entry and r.entry.status for r in seen] == [None, OrderStatus.OPEN, *[OrderStatus.FILLED] * 4]
    assert [len(r.fills) for r in seen] == [0, 0, 1, 1, 1, 1]
    assert seen[1].balances["USDT"].used == D(198) and seen[5].balances["USDT"].free == D(500)
    assert seen[2].ticker.ts_ms == T0 + 4 * STEP != seen[1].ticker.ts_ms


@settings(max_examples=500)
@given(st.floats(allow_nan=False) | st.floats(min_value=1e-9, max_value=1e9))
def test_venue_float_when_any_float_then_the_float_of_the_venues_decimal(value: float) -> None:
    assert venue_float(value) == float(to_decimal(value))


@needs_market_data
async def test_client_market_reads_when_real_replay_then_the_decimal_api_as_floats() -> None:
    # Arrange: a replay read at candle boundaries and inside candles (klines then end in a partial
    # candle, which closes at a later read)
    files = {k: v for k, v in discover(MARKET_DATA).items() if k[0] in ("SOL/USDT", "PEPE/USDT")}
    start = T0 + 40 * 86_400_000
    venue = SimulatedExchange(CandleReplay(files), start_ms=start, symbols=["SOL/USDT", "PEPE/USDT"])
    venue.open_account("a", {"USDT": D(10_000)})
    client = SimulatedExchangeClient(venue, "a")

    for minutes in (0, 5, 7, 14, 15, 22, 30, 61, 75):
        venue.advance_to(start + 3 * 86_400_000 + minutes * 60_000)
        for symbol in ("SOL/USDT", "PEPE/USDT"):
            # Act
            candles = await client.fetch_ohlcv(symbol, "15m", None, 121)
            since = await client.fetch_ohlcv(symbol, "1h", start, 30)
            ticker = await client.fetch_ticker(symbol)

            # Assert: exactly the venue's Decimal answers, as floats; the ticker's fields as `ticker` has
            decimals = venue.klines(symbol, "15m", None, None, 121)
            assert candles == [[float(x) for x in row[:6]] for row in decimals] and len(candles) == 121
            hourly = venue.klines(symbol, "1h", start, None, 30)
            assert since == [[float(x) for x in row[:6]] for row in hourly]
            full = venue.ticker(symbol)
            assert (ticker.last, ticker.bid, ticker.ask, ticker.quote_volume_24h) == (
                on_tick(full.last, venue.instrument(symbol).tick_size),  # as the sandbox prints it
                full.bid,
                full.ask,
                full.turnover_24h,
            )
        candles[0][1] = -1.0  # a caller's own rows: changing them changes no later answer


async def test_load_markets_when_a_symbol_is_listed_later_then_it_appears_with_its_rules(
    tmp_path: Path,
) -> None:
    # Arrange: NEW/USDT's candles start at the sixth candle
    rows = [[T0 + (6 + i) * STEP, 2.0, 2.0, 2.0, 2.0, 50.0] for i in range(6)]
    (tmp_path / "NEW_USDT-5m.json").write_text(json.dumps(rows))
    venue = SimulatedExchange(write_market(tmp_path, FLAT), start_ms=T0)
    venue.open_account("a", {"USDT": D(100)})
    client = SimulatedExchangeClient(venue, "a")
    before = await client.load_markets()

    # Act
    venue.advance_to(T0 + 6 * STEP)
    after = await client.load_markets()

    # Assert
    assert set(before) == {"BTC/USDT"} and set(after) == {"BTC/USDT", "NEW/USDT"}
    assert after["BTC/USDT"] == before["BTC/USDT"]
    new = venue.instrument("NEW/USDT")
    assert (after["NEW/USDT"].tick_size, after["NEW/USDT"].min_qty) == (new.tick_size, new.min_order_qty)
    after.clear()  # the caller's own dict
    assert set(await client.load_markets()) == {"BTC/USDT", "NEW/USDT"}
