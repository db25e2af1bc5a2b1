"""Lifecycle replay through QARI's real order code (`engine/orders.OrderManager`, the in-memory journal)
and the ccxt client over the recording transport: stop placed -> pending -> triggered -> follow-up
order -> fills. The recorded payloads are edited so their ids chain (each edit is named in the
fixture's "edited" field, or here where made at run time)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.contract.harness import Rig, payload
from tests.unit.engine.records import position_record

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.core.clocks import ManualClock
from qari.core.orders import OrderType, Side
from qari.engine.orders import OrderManager
from qari.trading.order import OrderRole, OrderState
from qari.trading.position import PositionState

AT = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
EMPTY = {"code": "0", "msg": "", "data": []}
ALGO_ID = "2017146754403004416"
SOLD_ID = "1339107111507525632"


async def test_okx_stop_when_triggered_then_journal_books_the_follow_up_fills() -> None:
    """Found on today's code: the fired algo record (no fills, no average) was taken as the fill, so the
    stop was journaled filled at price 0 and its trades (under the follow-up order id) matched nothing."""
    rig = Rig("okx")
    store = MemoryTradingStore()
    manager = OrderManager(rig.client, store, ManualClock(AT))
    try:
        position = await store.add_position(position_record("LTC/USDT", PositionState.OPEN, AT))
        placed = payload("okx", "triggered spot stop (algo history)")  # the algo record, made live below
        created = {
            "code": "0",
            "msg": "",
            "data": [{"algoId": ALGO_ID, "algoClOrdId": "", "sCode": "0", "sMsg": ""}],
        }
        rig.on("POST", "/trade/order-algo", created)  # the reply shape of okx createOrder (algo) fixture
        stop = await manager.place(
            position,
            OrderRole.STOP,
            Side.SELL,
            OrderType.STOP_MARKET,
            Decimal("0.1"),
            trigger_price=Decimal(100),
        )
        assert stop.state is OrderState.OPEN and stop.exchange_order_id == ALGO_ID
        body = rig.transport.sent("POST", "/trade/order-algo")[0].json()
        assert (body["ordType"], body["side"], body["triggerPx"], body["tdMode"]) == (
            "trigger",
            "sell",
            "100",
            "cash",
        )

        # pending: listed among the live algo orders (edited at run time: state live, not fired)
        live = payload("okx", "triggered spot stop (algo history)")
        live["data"][0].update(
            {
                "algoId": ALGO_ID,
                "state": "live",
                "ordId": "",
                "actualSz": "0",
                "clOrdId": stop.client_order_id,
                "algoClOrdId": stop.client_order_id,
            }
        )
        for path in ("/trade/orders-pending", "/trade/orders-history"):
            rig.on("GET", path, EMPTY)
        rig.on("GET", "/trade/orders-algo-pending", live)
        await manager.refresh_all([stop])
        assert stop.state is OrderState.OPEN and stop.filled_base == 0

        # triggered: gone from the live list, "effective" in the history, naming the order that sold
        placed["data"][0].update(
            {"algoId": ALGO_ID, "clOrdId": stop.client_order_id, "algoClOrdId": stop.client_order_id}
        )
        rig.on("GET", "/trade/orders-algo-pending", EMPTY)
        rig.on("GET", "/trade/orders-algo-history", placed)
        rig.on("GET", "/trade/order", payload("okx", "follow-up market sell of the stop"))
        await manager.refresh_all([stop])
        assert stop.state is OrderState.FILLED
        assert (stop.exchange_order_id, stop.filled_base, stop.avg_price) == (
            SOLD_ID,
            Decimal("0.1"),
            Decimal("101.58"),
        )
        assert (stop.fee, stop.fee_currency) == (Decimal("0.010158"), "USDT")
        assert rig.transport.sent("GET", "/trade/order")[0].query["ordId"] == SOLD_ID

        # fills: the recorded trade, edited at run time to belong to the follow-up sell
        trades = payload("okx", "fetchMyTrades: Fetch spot trade")
        trades["data"][0].update({"ordId": SOLD_ID, "side": "sell", "clOrdId": ""})
        rig.on("GET", "/trade/fills-history", trades)
        fills = await rig.client.fetch_fills("LTC/USDT")
        assert [f.exchange_order_id for f in fills] == [stop.exchange_order_id]
    finally:
        await rig.close()


async def test_bitget_stop_when_triggered_then_journal_books_the_follow_up_fills() -> None:
    """Found on today's code: the executed plan order (no fills, no average) was taken as the fill."""
    import time

    rig = Rig("bitget")
    store = MemoryTradingStore()
    manager = OrderManager(rig.client, store, ManualClock(AT))
    plan_id, sold_id = "1330984742276198400", "1109431644367261698"
    empty = {"code": "00000", "msg": "success", "requestTime": 0, "data": []}

    def plans(status: str, client_id: str) -> dict[str, object]:
        body = payload("bitget", "triggered spot plan order (history-plan-order)")
        for o in body["data"]["orderList"]:  # run-time edits: QARI's id, the state, times within 90 days
            o.update({"clientOid": client_id, "status": status})
            o["cTime"] = o["uTime"] = str(int(time.time() * 1000) - 3_600_000)
        return body

    try:
        position = await store.add_position(position_record("LTC/USDT", PositionState.OPEN, AT))
        created = payload("bitget", "createOrder (plan): documentation sample")
        rig.on("POST", "/spot/trade/place-plan-order", created)
        stop = await manager.place(
            position,
            OrderRole.STOP,
            Side.SELL,
            OrderType.STOP_MARKET,
            Decimal("0.0794"),
            trigger_price=Decimal(70),
        )
        assert stop.exchange_order_id == plan_id
        body = rig.transport.sent("POST", "/spot/trade/place-plan-order")[0].json()
        assert (body["side"], Decimal(str(body["triggerPrice"])), body["orderType"]) == ("sell", 70, "market")

        rig.on("GET", "/spot/trade/unfilled-orders", empty)
        rig.on("GET", "/spot/trade/current-plan-order", plans("live", stop.client_order_id))
        await manager.refresh_all([stop])
        assert stop.state is OrderState.OPEN and stop.filled_base == 0

        no_plans = plans("live", stop.client_order_id)
        no_plans["data"]["orderList"] = []
        rig.on("GET", "/spot/trade/current-plan-order", no_plans)
        rig.on("GET", "/spot/trade/history-plan-order", plans("executed", stop.client_order_id))
        rig.on(
            "GET", "/spot/trade/history-orders", payload("bitget", "follow-up market sell of the plan order")
        )
        await manager.refresh_all([stop])
        assert stop.state is OrderState.FILLED
        assert (stop.exchange_order_id, stop.filled_base, stop.avg_price) == (
            sold_id,
            Decimal("0.0794"),
            Decimal("69.265"),
        )
        assert (stop.fee, stop.fee_currency) == (Decimal("0.0054996"), "USDT")

        trades = payload("bitget", "fetchMyTrades: Spot trade")  # recorded under the follow-up's order id
        rig.on("GET", "/spot/trade/fills", trades)
        fills = await rig.client.fetch_fills("LTC/USDT")
        assert [f.exchange_order_id for f in fills] == [stop.exchange_order_id]
    finally:
        await rig.close()


async def test_bybit_stop_when_triggered_then_the_record_itself_carries_the_fills() -> None:
    """`StopFollow("none")`: on Bybit the spot stop order is the order that sells; once triggered its
    own record has the fills, and nothing is followed."""
    rig = Rig("bybit")
    store = MemoryTradingStore()
    manager = OrderManager(rig.client, store, ManualClock(AT))
    empty = {"retCode": 0, "retMsg": "OK", "result": {"list": [], "category": "spot", "nextPageCursor": ""}}

    def record(client_id: str, status: str) -> dict[str, object]:
        """The recorded filled XRP market sell, edited at run time to be this stop: LTCUSDT, QARI's id,
        a stop at 70; "Untriggered" with nothing executed while pending."""
        body = payload("bybit", "fetchOrder: Spot sell closed order")
        order = body["result"]["list"][0]
        order.update(
            {
                "symbol": "LTCUSDT",
                "orderLinkId": client_id,
                "orderId": "1992319485461489920",
                "stopOrderType": "Stop",
                "triggerPrice": "70",
                "orderStatus": status,
            }
        )
        # Bybit's v5 order records now carry `cumFeeDetail` (after this recording); ccxt 4.5.90 reads
        # the fee only from there: added with the recorded cumExecFee (a sell pays in the quote coin).
        order["cumFeeDetail"] = {"USDT": order["cumExecFee"]}
        if status == "Untriggered":
            order.update(
                {
                    "cumExecQty": "0",
                    "cumExecValue": "0",
                    "cumExecFee": "0",
                    "avgPrice": "",
                    "leavesQty": order["qty"],
                }
            )
        return body

    try:
        position = await store.add_position(position_record("LTC/USDT", PositionState.OPEN, AT))
        rig.on("POST", "/v5/order/create", payload("bybit", "createOrder: spot stopLossPrice order"))
        stop = await manager.place(
            position,
            OrderRole.STOP,
            Side.SELL,
            OrderType.STOP_MARKET,
            Decimal("123"),
            trigger_price=Decimal(70),
        )
        assert stop.exchange_order_id == "1992319485461489920"
        rig.on("GET", "/v5/order/realtime", empty)
        rig.on(
            "GET",
            "/v5/order/realtime",
            record(stop.client_order_id, "Untriggered"),
            query={"orderFilter": "StopOrder"},
        )
        await manager.refresh_all([stop])
        assert stop.state is OrderState.OPEN and stop.filled_base == 0

        rig.on("GET", "/v5/order/realtime", empty, query={"orderFilter": "StopOrder"})
        rig.on("GET", "/v5/order/history", empty, query={"orderFilter": "StopOrder"})
        rig.on("GET", "/v5/order/history", record(stop.client_order_id, "Filled"))
        await manager.refresh_all([stop])
        assert stop.state is OrderState.FILLED
        assert (stop.filled_base, stop.avg_price, stop.fee, stop.fee_currency) == (
            Decimal("123"),
            Decimal("0.5351"),
            Decimal("0.0658173"),
            "USDT",
        )
        assert stop.exchange_order_id == "1992319485461489920"  # nothing followed
    finally:
        await rig.close()


async def test_gate_stop_when_triggered_then_journal_books_the_fired_orders_fills() -> None:
    """Gate's spot stop is a price-triggered stop-limit (`SpotStopKind.STOP_LIMIT`: Gate triggers limit
    orders only); the finished trigger record carries no fills and names the order it placed in
    `fired_order_id` (`StopFollow("id_field")`), which is followed to its fills."""
    rig = Rig("gate")
    store = MemoryTradingStore()
    manager = OrderManager(rig.client, store, ManualClock(AT))
    stop_id, sold_id = "1432329", "497245022561"

    def trigger_record(name: str, client_id: str) -> list[dict[str, object]]:
        body: list[dict[str, object]] = payload("gate", name)
        for o in body:  # run-time edits: this stop's pair, prices, id (the create call's) and QARI's id
            o.update({"id": stop_id, "market": "LTC_USDT"})
            o["trigger"] = {**o["trigger"], "price": "68.7", "text": client_id}  # type: ignore[dict-item]
            o["put"] = {**o["put"], "price": "68.01", "amount": "0.0735"}  # type: ignore[dict-item]
        return body

    try:
        position = await store.add_position(position_record("LTC/USDT", PositionState.OPEN, AT))
        created = payload("gate", "createOrder (price order): documentation sample")
        rig.on("POST", "/spot/price_orders", created)
        stop = await manager.place(
            position,
            OrderRole.STOP,
            Side.SELL,
            OrderType.STOP_MARKET,
            Decimal("0.0735"),
            trigger_price=Decimal("68.7"),
        )
        assert stop.state is OrderState.OPEN and stop.exchange_order_id == stop_id
        body = rig.transport.sent("POST", "/spot/price_orders")[0].json()
        assert (body["put"]["type"], body["put"]["side"], body["put"]["price"]) == ("limit", "sell", "68.01")
        assert (body["trigger"]["price"], body["trigger"]["rule"]) == ("68.7", "<=")
        assert body["trigger"]["text"] == stop.client_order_id

        # pending: the recorded open trigger order (a resting stop-limit sell), with this stop's ids
        rig.on("GET", "/spot/open_orders", [])
        rig.on("GET", "/spot/price_orders", [])
        rig.on(
            "GET",
            "/spot/price_orders",
            trigger_record("fetchOpenOrders: trigger orders", stop.client_order_id),
            query={"status": "open"},
        )
        await manager.refresh_all([stop])
        assert stop.state is OrderState.OPEN and stop.filled_base == 0

        # triggered: gone from the open list, finished, naming the order it placed
        rig.on("GET", "/spot/price_orders", [], query={"status": "open"})
        rig.on("GET", "/spot/orders", [])
        rig.on(
            "GET",
            "/spot/price_orders",
            trigger_record("triggered spot stop (price_orders finished)", stop.client_order_id),
            query={"status": "finished"},
        )
        rig.on("GET", f"/spot/orders/{sold_id}", payload("gate", "follow-up sell of the stop (single order)"))
        await manager.refresh_all([stop])
        assert stop.state is OrderState.FILLED
        assert (stop.exchange_order_id, stop.filled_base, stop.avg_price) == (
            sold_id,
            Decimal("0.0735"),
            Decimal("68.02"),
        )
        assert (stop.fee, stop.fee_currency) == (Decimal("0.00999894"), "USDT")

        # fills: the recorded trades of that order (recorded as buys: side edited at run time)
        trades = payload("gate", "fetchMyTrades: Spot trade")
        for t in trades:
            t["side"] = "sell"
        rig.on("GET", "/spot/my_trades", trades)
        fills = await rig.client.fetch_fills("LTC/USDT")
        assert fills and {f.exchange_order_id for f in fills} == {stop.exchange_order_id}
        assert sum(f.qty_base for f in fills) == stop.filled_base
    finally:
        await rig.close()
