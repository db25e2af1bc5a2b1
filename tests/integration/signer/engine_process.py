"""The web/engine side of a signer test, run as its own process so its memory can be scanned.

It does what `qari serve` does at start (migrate, start `qari signer` with a fresh token), takes one
pasted key on stdin (as the connect request does), then runs a trading cycle through the engine's own
client factory (`ConnectionClients`): balances, a market buy, its lookup by client id, a resting
take-profit listed and cancelled, a market exit, fills. It prints what happened as one JSON line and
then waits, alive, until stdin closes (the test scans it meanwhile).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import os
import signal
from decimal import Decimal

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.cli.signer import spawn
from qari.config import get_settings
from qari.core.orders import OrderRequest, OrderType, Side
from qari.logging import request_secret_scope
from qari.ports import UserUnit
from qari.services import accounts, exchange_keys
from qari.services.engine_ports import ConnectionClients

SYMBOL = "BTC/USDT"


async def connect(sessions: object, signer: object) -> tuple[int, int]:
    now = dt.datetime.now(dt.UTC)
    async with sessions() as session:  # type: ignore[operator]
        user = await accounts.register(
            session, email="signer@example.com", password="a long passphrase 9", now=now
        )
        assert user is not None
        await session.commit()
        with request_secret_scope():  # what the web's middleware does around each request
            pasted = json.loads(os.read(0, 4096))  # the request body (no buffered reader keeps a copy)
            data = exchange_keys.validate_input(
                "sandbox", pasted.pop("api_key"), pasted.pop("api_secret"), None
            )
            row = await exchange_keys.connect(
                session, signer, user_id=user.id, data=data, endpoints=exchange_keys.Endpoints(), now=now
            )
            del data, pasted
        return user.id, row.id


async def cycle(
    settings: object, url: str, signer: object, user_id: int, connection_id: int
) -> dict[str, object]:
    engine = make_engine(settings.resolved_database_url)  # type: ignore[attr-defined]
    sessions = make_sessionmaker(engine)
    clients = ConnectionClients(sessions, signer, exchange_keys.Endpoints({"sandbox": url}))
    async with clients.client(UserUnit(user_id, "sandbox", connection_id)) as client:
        rules = (await client.load_markets())[SYMBOL]
        before = await client.fetch_balances()
        price = (await client.fetch_ticker(SYMBOL)).last
        qty = rules.round_qty_down(Decimal("200") / Decimal(str(price)))
        buy = await client.create_order(OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, qty, "sgn-entry-1"))
        found = await client.fetch_order_by_client_id(SYMBOL, "sgn-entry-1")
        held = (await client.fetch_balances())["BTC"].free
        target = OrderRequest(
            SYMBOL, Side.SELL, OrderType.LIMIT, held, "sgn-target-1", price=Decimal(str(price)) * 2
        )
        rests = await client.create_order(target)
        listed = await client.fetch_open_orders(SYMBOL)
        await client.cancel_order(SYMBOL, rests.exchange_order_id)
        exit_ = await client.create_order(
            OrderRequest(SYMBOL, Side.SELL, OrderType.MARKET, held, "sgn-exit-1")
        )
        fills = await client.fetch_fills(SYMBOL)
        after = await client.fetch_balances()
    await engine.dispose()
    return {
        "usdt_before": str(before["USDT"].free),
        "usdt_after": str(after["USDT"].free),
        "buy_sent": buy.client_order_id == "sgn-entry-1",
        "buy_status": None if found is None else found.status.value,
        "resting_listed": any(o.exchange_order_id == rests.exchange_order_id for o in listed),
        "exit_sent": exit_.client_order_id == "sgn-exit-1",
        "fills": len(fills),
    }


async def main() -> None:
    settings = get_settings()
    url = os.environ["SIGNER_TEST_SANDBOX_URL"]
    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    child, signer = await asyncio.to_thread(spawn, settings, extra_args=("--sandbox-url", url))
    try:
        engine = make_engine(settings.resolved_database_url)
        user_id, connection_id = await connect(make_sessionmaker(engine), signer)
        await engine.dispose()
        summary = await cycle(settings, url, signer, user_id, connection_id)
        gc.collect()
        print(json.dumps(summary | {"signer_pid": child.pid}), flush=True)
        await asyncio.to_thread(os.read, 0, 1)  # held open until the test has scanned this process
    finally:
        child.send_signal(signal.SIGINT)  # SIGTERM would keep it signing until this process is gone
        child.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
