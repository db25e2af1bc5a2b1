"""Issue 16, blast-radius guard in the signer: a buy above the cap, in a thin symbol, or priced far above
the last price is refused BY THE SIGNER even when the engine asks for it (here: a raw
`SignerExchangeClient`, the engine's own guard bypassed), while exits and stops in the same conditions
are signed. Real `qari signer` child, real SQLite, the sandbox venue over real HTTP (Bybit protocol)
with one thin pair added to its synthetic market."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.persistence import migrate
from qari.adapters.persistence.db import make_engine, make_sessionmaker
from qari.adapters.persistence.tables.alerts import AlertOutbox
from qari.adapters.signer.client import SignerExchangeClient
from qari.adapters.simulator.clock import SteppedClock
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.harness import FIXTURE_START_MS, SandboxServer
from qari.adapters.simulator.prices import DEFAULT_SYNTHETIC, SyntheticMarket, SyntheticSymbol
from qari.adapters.simulator.recorded_rules import recorded_rules
from qari.adapters.simulator.venue import SandboxVenue
from qari.cli.signer import spawn
from qari.config import load_settings
from qari.core.clocks import WallClock
from qari.core.errors import RejectedError
from qari.core.orders import OrderRequest, OrderType, Side
from qari.ports import UserUnit
from qari.risk.guard import GuardRefusedError
from qari.services import accounts, exchange_keys
from qari.services.engine_ports import ConnectionClients

# ~144 k USDT a day (500 per 5-minute candle): far below the guard's 1 M floor; the others trade millions.
THIN = SyntheticSymbol("PUMP/USDT", 0.05, 500.0)


@dataclass
class Rig:
    client: SignerExchangeClient
    sessions: async_sessionmaker[AsyncSession]
    user_id: int


def _thin_venue() -> SandboxVenue:
    market = SyntheticMarket(7, (*DEFAULT_SYNTHETIC, THIN))
    exchange = SimulatedExchange(market, start_ms=FIXTURE_START_MS, recorded=recorded_rules("bybit"))
    return SandboxVenue(exchange, SteppedClock(FIXTURE_START_MS), WallClock(), protocol="bybit")


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("QARI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QARI_ENGINE_MODE", "off")
    settings = load_settings()
    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    with SandboxServer.start(_thin_venue()) as sandbox:
        key, secret = sandbox.create_key(balances={"USDT": "100000", "BTC": "1", "PUMP": "100000"})
        child, signer = await asyncio.to_thread(
            spawn, settings, extra_args=("--sandbox-url", sandbox.base_url)
        )
        engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        try:
            now = dt.datetime.now(dt.UTC)
            async with sessions() as session:
                user = await accounts.register(
                    session, email="guarded@example.com", password="a long passphrase 9", now=now
                )
                assert user is not None
                await session.commit()
                data = exchange_keys.validate_input("sandbox", key, secret, None)
                row = await exchange_keys.connect(
                    session, signer, user_id=user.id, data=data, endpoints=exchange_keys.Endpoints(), now=now
                )
                assert row.status == "connected"
            clients = ConnectionClients(
                sessions, signer, exchange_keys.Endpoints({"sandbox": sandbox.base_url})
            )
            async with clients.client(UserUnit(user.id, "sandbox", row.id)) as client:
                assert isinstance(client, SignerExchangeClient)  # the engine's client: every create is signed
                yield Rig(client, sessions, user.id)
        finally:
            await engine.dispose()
            child.send_signal(signal.SIGINT)  # how a role stops its signer (SIGTERM: after the role)
            child.wait(timeout=10)


async def _refused(client: SignerExchangeClient, request: OrderRequest, code: str) -> None:
    with pytest.raises(GuardRefusedError) as refused:
        await client.create_order(request)
    assert refused.value.code == code, refused.value
    assert isinstance(refused.value, RejectedError)  # the engine journals it REJECTED, never retries


async def test_signer_guard_when_engine_asks_for_pump_buys_then_refused_while_exits_and_stops_signed(
    rig: Rig,
) -> None:
    client = rig.client
    btc = (await client.fetch_ticker("BTC/USDT")).last
    pump = (await client.fetch_ticker("PUMP/USDT")).last
    assert btc is not None and pump is not None
    above_cap = (Decimal(3000) / btc).quantize(Decimal("0.000001"))  # the trial plan's cap is 2,500 USDT
    small = (Decimal(200) / btc).quantize(Decimal("0.000001"))

    await _refused(
        client, OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, above_cap, "g-cap"), "order_cap"
    )
    pumped = (btc * Decimal("1.06")).quantize(Decimal("0.1"))
    await _refused(
        client,
        OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, small, "g-band", price=pumped),
        "price_band",
    )
    thin_qty = (Decimal(200) / pump).quantize(Decimal(1))
    await _refused(
        client, OrderRequest("PUMP/USDT", Side.BUY, OrderType.MARKET, thin_qty, "g-thin"), "thin_turnover"
    )

    # the guard refuses what breaks a rule, not everything: a small buy at the market is signed
    ok = await client.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, small, "g-ok"))
    assert ok.client_order_id == "g-ok" and ok.exchange_order_id

    # exits and protective stops in the very same conditions are signed
    exit_big = await client.create_order(
        OrderRequest("BTC/USDT", Side.SELL, OrderType.MARKET, above_cap, "g-exit-big")
    )
    exit_far = await client.create_order(
        OrderRequest("BTC/USDT", Side.SELL, OrderType.LIMIT, small, "g-exit-far", price=pumped)
    )
    stop = await client.create_order(
        OrderRequest(
            "BTC/USDT",
            Side.SELL,
            OrderType.STOP_MARKET,
            above_cap,
            "g-stop",
            trigger_price=(btc * Decimal("0.9")).quantize(Decimal("0.1")),
        )
    )
    exit_thin = await client.create_order(
        OrderRequest("PUMP/USDT", Side.SELL, OrderType.MARKET, thin_qty, "g-exit-thin")
    )
    for report in (exit_big, exit_far, stop, exit_thin):
        assert report.exchange_order_id, report

    # every refusal recorded and alerted to the key's owner, by the signer
    async with rig.sessions() as session:
        alerts = (
            await session.scalars(
                select(AlertOutbox).where(
                    AlertOutbox.user_id == rig.user_id, AlertOutbox.kind == "guard_refused"
                )
            )
        ).all()
    assert sorted(a.data["symbol"] for a in alerts) == ["BTC/USDT", "BTC/USDT", "PUMP/USDT"]
