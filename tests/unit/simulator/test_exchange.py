"""SimulatedExchange: matching, locks, fees and Bybit's rejections, on a hand-made candle path."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from simulator_market import FLAT, STEP, T0, MakeExchange, write_market

from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.matching import VenueError

D = Decimal
DIP = [*FLAT[:2], (100.0, 100.0, 98.0, 99.0, 1000.0), *FLAT[:9]]  # third candle dips to 98
RALLY = [*FLAT[:2], (100.0, 103.0, 100.0, 102.0, 1000.0), *FLAT[:9]]


def test_limit_buy_when_price_dips_through_then_maker_fill_fee_in_base(make_exchange: MakeExchange) -> None:
    ex = make_exchange(DIP)
    order = ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("2"), D("98.5"))
    assert order.status == "New" and order.locked == D("197")
    assert ex.balances("a")["USDT"] == (D("9803"), D("197"))
    ex.advance_to(T0 + 2 * STEP)
    assert order.status == "New"  # the path has not reached 98.5 yet
    fills = ex.advance_to(T0 + 3 * STEP)
    assert [(f.price, f.qty, f.is_maker, f.fee, f.fee_currency) for f in fills] == [
        (D("98.5"), D("2"), True, D("0.002"), "BTC")
    ]
    assert order.status == "Filled" and order.locked == 0
    assert ex.balances("a") == {"BTC": (D("11.998"), D("0")), "USDT": (D("9803"), D("0"))}
    ex.check_invariants()


def test_limit_sell_when_volume_is_thin_then_partial_fills_release_the_lock(
    make_exchange: MakeExchange,
) -> None:
    ex = make_exchange(RALLY, participation="0.004")  # 1000/4 per path segment x 0.004 = 1 BTC
    order = ex.place_order("a", "BTC/USDT", "Sell", "Limit", D("3"), D("101"), order_link_id="tp")
    fills = ex.advance_to(T0 + 2 * STEP + STEP // 4)  # open 100 -> low 100: no cross
    assert fills == []
    fills = ex.advance_to(T0 + 2 * STEP + STEP // 2)  # low 100 -> high 103 crosses 101
    assert [f.qty for f in fills] == [D("1")]
    assert order.status == "PartiallyFilled" and order.locked == D("2")
    assert ex.balances("a")["BTC"] == (D("7"), D("2"))
    assert ex.balances("a")["USDT"] == (D("10000") + D("101") - D("0.101"), D("0"))
    ex.advance_to(T0 + 2 * STEP + 3 * STEP // 4)  # high 103 -> close 102 still above 101
    assert order.status == "PartiallyFilled" and order.cum_exec_qty == D("2")
    ex.check_invariants()
    cancelled = ex.cancel_order("a", order_link_id="tp")
    assert cancelled.status == "PartiallyFilledCanceled" and ex.balances("a")["BTC"] == (D("8"), D("0"))
    with pytest.raises(VenueError) as err:
        ex.cancel_order("a", order_link_id="tp")
    assert err.value.code == 170213


def test_market_buy_when_larger_than_top_level_then_walks_the_book_with_slippage(
    make_exchange: MakeExchange,
) -> None:
    ex = make_exchange(FLAT, level_notional="1000")  # ~10 BTC per level at 100
    bids, asks = ex.order_book("BTC/USDT", 3)
    assert bids[0][0] < 100 < asks[0][0] and asks[0][0] < asks[1][0] < asks[2][0]
    order = ex.place_order("a", "BTC/USDT", "Buy", "Market", D("25"), market_unit="baseCoin")
    fills = ex.executions("a")
    assert order.status == "Filled" and order.cum_exec_qty == D("25")
    assert len(fills) == 3 and {f.is_maker for f in fills} == {False}
    assert order.avg_price > asks[0][0]
    cost = sum(f.value for f in fills)
    assert ex.balances("a")["USDT"][0] == D("10000") - cost
    assert ex.balances("a")["BTC"][0] == D("10") + D("25") * D("0.999")


def test_market_buy_by_quote_when_default_unit_then_spends_the_quote_amount(
    make_exchange: MakeExchange,
) -> None:
    ex = make_exchange(FLAT)
    order = ex.place_order("a", "BTC/USDT", "Buy", "Market", D("50"))
    assert order.market_unit == "quoteCoin" and order.status == "Filled"
    assert D("49.9") <= order.cum_exec_value <= D("50")


@pytest.mark.parametrize(
    ("side", "order_type", "qty", "price", "code"),
    [
        ("Buy", "Market", "20000", None, 170131),  # more USDT than the account holds
        ("Sell", "Limit", "11", "100", 170131),  # more BTC than the account holds
        ("Buy", "Limit", "0.001", "99", 170136),  # below the minimum quantity
        ("Buy", "Limit", "0.0101", "99", 170137),  # finer than the lot
        ("Buy", "Limit", "1", "99.0001", 170134),  # finer than the tick
        ("Buy", "Limit", "0.04", "99", 170140),  # below the minimum order value
        ("Buy", "Limit", "1", None, 10001),
        ("Hold", "Limit", "1", "99", 10001),
    ],
)
def test_place_order_when_rules_broken_then_bybit_code_and_nothing_changes(
    make_exchange: MakeExchange, side: str, order_type: str, qty: str, price: str | None, code: int
) -> None:
    ex = make_exchange(FLAT)
    before = ex.balances("a")
    unit = "quoteCoin" if order_type == "Market" else None
    with pytest.raises(VenueError) as err:
        ex.place_order(
            "a", "BTC/USDT", side, order_type, D(qty), D(price) if price else None, market_unit=unit
        )
    assert err.value.code == code
    assert ex.balances("a") == before and ex.orders("a") == []


def test_place_order_when_link_id_reused_then_170141(make_exchange: MakeExchange) -> None:
    ex = make_exchange(FLAT)
    ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("1"), D("90"), order_link_id="x")
    with pytest.raises(VenueError) as err:
        ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("1"), D("90"), order_link_id="x")
    assert err.value.code == 170141


def test_time_in_force_when_post_only_crosses_or_fok_short_then_cancelled_without_fills(
    make_exchange: MakeExchange,
) -> None:
    ex = make_exchange(FLAT)
    post = ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("1"), D("101"), time_in_force="PostOnly")
    assert post.status == "Cancelled" and post.reject_reason == "EC_PostOnlyWillTakeLiquidity"
    fok = ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("50"), D("100.02"), time_in_force="FOK")
    assert fok.status == "Cancelled" and fok.cum_exec_qty == 0
    ioc = ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("50"), D("100.02"), time_in_force="IOC")
    assert ioc.status == "PartiallyFilledCanceled" and 0 < ioc.cum_exec_qty < 50
    assert ex.balances("a")["USDT"][1] == 0
    ex.check_invariants()


def test_tpsl_stop_when_price_falls_to_trigger_then_sells_into_bids(make_exchange: MakeExchange) -> None:
    ex = make_exchange(DIP)
    stop = ex.place_order(
        "a", "BTC/USDT", "Sell", "Market", D("4"), order_filter="tpslOrder", trigger_price=D("98.8")
    )
    conditional = ex.place_order(
        "a", "BTC/USDT", "Sell", "Market", D("1"), order_filter="StopOrder", trigger_price=D("97")
    )
    assert stop.status == conditional.status == "Untriggered"
    assert stop.trigger_direction == 2 and stop.locked == D("4") and conditional.locked == 0
    ex.advance_to(T0 + 3 * STEP)
    assert stop.status == "Filled" and stop.cum_exec_qty == D("4")
    assert all(f.price < D("98.8") for f in ex.executions("a", order_id=stop.order_id))
    assert conditional.status == "Untriggered"  # 97 never traded
    ex.cancel_order("a", order_id=conditional.order_id)
    assert conditional.status == "Deactivated"
    ex.check_invariants()


def test_conditional_buy_when_price_rises_to_trigger_then_buys(make_exchange: MakeExchange) -> None:
    ex = make_exchange(RALLY)
    order = ex.place_order(
        "a",
        "BTC/USDT",
        "Buy",
        "Market",
        D("1"),
        order_filter="StopOrder",
        trigger_price=D("102.5"),
        market_unit="baseCoin",
    )
    assert order.trigger_direction == 1
    ex.advance_to(T0 + 4 * STEP)
    assert order.status == "Filled" and order.avg_price > D("102.5")


def test_klines_when_candle_in_progress_then_built_from_the_past_only(make_exchange: MakeExchange) -> None:
    ex = make_exchange(RALLY, start_index=2)
    ex.advance_to(T0 + 2 * STEP + STEP // 4)  # the rally candle has only reached its low so far
    rows = ex.klines("BTC/USDT", "5m", None, None, 2)
    assert rows[-1][0] == T0 + 2 * STEP
    assert rows[-1][2] == D("100") and rows[-1][4] == D("100")  # no 103 high leaked from the future
    hourly = ex.klines("BTC/USDT", "1h", None, None, 5)
    assert len(hourly) == 1 and hourly[0][2] == D("100")


def test_advance_to_when_backwards_then_refused(make_exchange: MakeExchange) -> None:
    ex = make_exchange(FLAT, start_index=3)
    with pytest.raises(ValueError, match="forward"):
        ex.advance_to(T0)


def test_symbol_when_its_candles_start_later_then_listed_once_they_do(tmp_path: Path) -> None:
    rows = [[T0 + (6 + i) * STEP, 2.0, 2.0, 2.0, 2.0, 50.0] for i in range(6)]
    (tmp_path / "NEW_USDT-5m.json").write_text(json.dumps(rows))
    source = write_market(tmp_path, FLAT)
    ex = SimulatedExchange(source, start_ms=T0)
    assert set(ex.instruments()) == {"BTC/USDT"}
    ex.advance_to(T0 + 6 * STEP)
    assert set(ex.instruments()) == {"BTC/USDT", "NEW/USDT"} and ex.price("NEW/USDT") == D(2)


def test_orders_and_executions_when_asked_per_symbol_then_that_symbols_of_that_account_newest_first(
    tmp_path: Path,
) -> None:
    # Arrange: two accounts trading two symbols; some orders fill, one is cancelled, one rests
    write_market(tmp_path, DIP, symbol="ETH_USDT")
    ex = SimulatedExchange(write_market(tmp_path, DIP), start_ms=T0)
    for account in ("a", "b"):
        ex.open_account(account, {"USDT": D(10_000), "BTC": D(10), "ETH": D(10)})
    btc_rest = ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("1"), D("90"))
    btc_dip = ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("1"), D("98.5"))
    eth_dip = ex.place_order("a", "ETH/USDT", "Buy", "Limit", D("1"), D("98.5"))
    eth_gone = ex.place_order("a", "ETH/USDT", "Buy", "Limit", D("1"), D("95"))
    other = ex.place_order("b", "BTC/USDT", "Buy", "Limit", D("1"), D("98.5"))
    ex.cancel_order("a", order_id=eth_gone.order_id)
    ex.advance_to(T0 + STEP)
    btc_sold = ex.place_order("a", "BTC/USDT", "Sell", "Market", D("1"))
    ex.advance_to(T0 + 3 * STEP)

    # Act
    open_btc = ex.orders("a", "BTC/USDT", active=True)
    open_all = ex.orders("a", active=True)
    btc_fills = ex.executions("a", "BTC/USDT")

    # Assert: per-symbol reads equal filtering everything the account has
    assert [o.order_id for o in open_btc] == [btc_rest.order_id]
    assert open_all == [o for o in ex.orders("a") if o.active] == [btc_rest]
    assert {e.order_id for e in btc_fills} == {btc_dip.order_id, btc_sold.order_id}
    assert btc_fills == [e for e in ex.executions("a") if e.symbol == "BTC/USDT"]
    assert [e.order_id for e in ex.executions("a", "ETH/USDT")] == [eth_dip.order_id]
    assert [e.order_id for e in ex.executions("b", "BTC/USDT")] == [other.order_id]
    assert ex.executions("a", "BTC/USDT", start_ms=T0 + STEP) == btc_fills
    ex.check_invariants()


def test_quote_when_asked_again_at_the_same_time_then_computed_once_and_fresh_after_time_moves(
    make_exchange: MakeExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: count the 24 h turnover reads, the priciest part of a quote
    ex = make_exchange(RALLY, start_index=2)
    reads: list[str] = []
    turnover = ex._turnover_24h

    def counted(symbol: str) -> Decimal:
        reads.append(symbol)
        return turnover(symbol)

    monkeypatch.setattr(ex, "_turnover_24h", counted)
    # Act: the engine reads a quote per open position per cycle, and orders bump the venue's version
    first = ex.quote("BTC/USDT")
    ex.place_order("a", "BTC/USDT", "Buy", "Limit", D("1"), D("90"))
    again = ex.quote("BTC/USDT")
    ex.advance_to(T0 + 2 * STEP + STEP // 2)  # into the rally: the price has moved
    later = ex.quote("BTC/USDT")
    # Assert: one computation per time; a new time gives the new price and book
    assert again == first and reads == ["BTC/USDT", "BTC/USDT"]
    assert first[0] == D("100") and later[0] == ex.price("BTC/USDT") > D("100")
    assert later[1] < later[0] < later[2]
