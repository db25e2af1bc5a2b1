"""Property tests: random order sequences never break the venue's books.

After every step: no balance is negative, each open order locks exactly what it needs and the locks
add up per coin, and every coin's total equals the starting amount plus the fills' flows minus the
fees — nothing is created or lost except fees. Rejected orders change nothing.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.fill_model import BookModel, FillModel, quantize
from qari.adapters.simulator.harness import FIXTURE_START_MS
from qari.adapters.simulator.matching import VenueError
from qari.adapters.simulator.prices import SyntheticMarket

D = Decimal
START = {"USDT": D("5000"), "ETH": D("2")}
SYMBOL = "ETH/USDT"

side = st.sampled_from(["Buy", "Sell"])
fraction = st.decimals(min_value=D("0.01"), max_value=D("1.3"), places=3)  # > 1: over-spend
offset_bps = st.integers(min_value=-400, max_value=400)
op = st.one_of(
    st.tuples(
        st.just("limit"), side, offset_bps, fraction, st.sampled_from(["GTC", "IOC", "FOK", "PostOnly"])
    ),
    st.tuples(st.just("market"), side, fraction, st.sampled_from(["baseCoin", "quoteCoin"])),
    st.tuples(st.just("stop"), side, offset_bps, fraction, st.sampled_from(["StopOrder", "tpslOrder"])),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=360)),
)


def _ledger(ex: SimulatedExchange) -> dict[str, Decimal]:
    totals = dict(START)
    for e in ex.executions("p"):
        if e.side == "Buy":
            totals["ETH"] += e.qty - e.fee
            totals["USDT"] -= e.value
        else:
            totals["ETH"] -= e.qty
            totals["USDT"] += e.value - e.fee
    return totals


def _apply(ex: SimulatedExchange, step: tuple[object, ...]) -> None:
    inst = ex.instrument(SYMBOL)
    price = ex.price(SYMBOL)
    free = {coin: f for coin, (f, _) in ex.balances("p").items()}
    kind = step[0]
    if kind == "advance":
        ex.advance_to(ex.now_ms + int(step[1]) * 60_000)  # type: ignore[call-overload]
        return
    if kind == "cancel":
        active = ex.orders("p", active=True)
        if active:
            ex.cancel_order("p", order_id=active[int(step[1]) % len(active)].order_id)  # type: ignore[call-overload]
        return
    s, frac = str(step[1]), D(str(step[3] if kind != "market" else step[2]))
    if kind == "market":
        unit = str(step[3])
        if unit == "quoteCoin":
            qty = quantize(
                free.get("USDT", D(0)) * frac if s == "Buy" else free.get("ETH", D(0)) * price * frac,
                D("0.01"),
            )
        else:
            qty = quantize(
                (free.get("USDT", D(0)) / price if s == "Buy" else free.get("ETH", D(0))) * frac,
                inst.base_precision,
            )
        ex.place_order("p", SYMBOL, s, "Market", qty, market_unit=unit)
        return
    level = inst.tick_size * ((price * (1 + D(int(step[2])) / 10_000)) / inst.tick_size).quantize(D(1))  # type: ignore[call-overload]
    qty = quantize(
        (free.get("USDT", D(0)) / level if s == "Buy" else free.get("ETH", D(0))) * frac, inst.base_precision
    )
    if kind == "limit":
        ex.place_order("p", SYMBOL, s, "Limit", qty, level, time_in_force=str(step[4]))
    else:
        ex.place_order(
            "p",
            SYMBOL,
            s,
            "Market",
            qty,
            market_unit="baseCoin",
            order_filter=str(step[4]),
            trigger_price=level,
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(op, min_size=1, max_size=30), participation=st.sampled_from(["0.00001", "0.0005", "1"]))
def test_random_orders_when_applied_then_balances_locks_and_value_hold(
    steps: list[tuple[object, ...]], participation: str
) -> None:
    ex = SimulatedExchange(
        SyntheticMarket(3), start_ms=FIXTURE_START_MS, symbols=[SYMBOL], fills=FillModel(D(participation))
    )
    ex.open_account("p", dict(START))
    for step in steps:
        before = ex.balances("p")
        orders_before = len(ex.orders("p"))
        try:
            _apply(ex, step)
        except VenueError:
            assert ex.balances("p") == before  # a rejection changes nothing
            assert len(ex.orders("p")) == orders_before
        ex.check_invariants()
        totals = {coin: free + locked for coin, (free, locked) in ex.balances("p").items()}
        assert all(v >= 0 for v in totals.values())
        ledger = _ledger(ex)
        assert totals["USDT"] == ledger["USDT"] and totals.get("ETH", D(0)) == ledger["ETH"]
        for e in ex.executions("p"):
            base = e.qty if e.side == "Buy" else e.value
            assert e.fee == base * e.fee_rate and e.fee >= 0


@settings(max_examples=60, deadline=None)
@given(
    mid=st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("100000"), places=5),
    tick=st.sampled_from([Decimal("0.00001"), Decimal("0.01"), Decimal("1")]),
    lot=st.sampled_from([Decimal("0.001"), Decimal("1")]),
    depth=st.integers(1, 60),
)
def test_book_when_shallow_then_exact_prefix_of_full_book(
    mid: Decimal, tick: Decimal, lot: Decimal, depth: int
) -> None:
    """The ticker asks for one level; the matching engine walks the full book: they must agree."""

    book = BookModel()
    bids, asks = book.sides(mid, tick, lot)
    shallow_bids, shallow_asks = book.sides(mid, tick, lot, depth)
    assert shallow_bids == bids[:depth] and shallow_asks == asks[:depth]
