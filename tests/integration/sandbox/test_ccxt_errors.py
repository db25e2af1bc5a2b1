"""Negative paths through ccxt: each sandbox retCode surfaces as the ccxt exception a real Bybit gives."""

from __future__ import annotations

import time

import ccxt.async_support as ccxt
import pytest

from qari.adapters.simulator.harness import SandboxServer


async def _fails_with(ex: ccxt.Exchange, error: type[Exception], code: str) -> None:
    try:
        with pytest.raises(error) as caught:
            await ex.fetch_balance()
        assert f'"retCode":{code}' in str(caught.value)
    finally:
        await ex.close()


async def test_ccxt_when_secret_is_wrong_then_authentication_error_10004(
    sandbox_server: SandboxServer,
) -> None:
    key, _ = sandbox_server.create_key()
    await _fails_with(sandbox_server.ccxt(key, "not-the-secret"), ccxt.AuthenticationError, "10004")


async def test_ccxt_when_key_unknown_or_revoked_then_authentication_error_10003(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key()
    sandbox_server.revoke_key(key)
    await _fails_with(sandbox_server.ccxt(key, secret), ccxt.AuthenticationError, "10003")


async def test_ccxt_when_timestamp_is_stale_then_invalid_nonce_10002(sandbox_server: SandboxServer) -> None:
    key, secret = sandbox_server.create_key()
    ex = sandbox_server.ccxt(key, secret, options={"timeDifference": 60_000})  # signs 60 s in the past
    await _fails_with(ex, ccxt.InvalidNonce, "10002")


async def test_ccxt_when_read_only_key_orders_then_permission_denied_10005(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(read_only=1, balances={"USDT": "1000"})
    ex = sandbox_server.ccxt(key, secret)
    try:
        balance = await ex.fetch_balance()  # reading is allowed
        assert balance["USDT"]["free"] == 1000
        with pytest.raises(ccxt.PermissionDenied, match="10005"):
            await ex.create_order("BTC/USDT", "market", "buy", 0.001, 50_000)
    finally:
        await ex.close()


async def test_ccxt_when_key_bound_to_other_ip_then_permission_denied_10010(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(ips=["10.9.9.9"])
    await _fails_with(sandbox_server.ccxt(key, secret), ccxt.PermissionDenied, "10010")


async def test_ccxt_when_rate_limit_injected_then_rate_limit_exceeded_once(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key()
    sandbox_server.inject_fault("rate_limit", count=1)
    ex = sandbox_server.ccxt(key, secret)
    try:
        with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
            await ex.fetch_balance()
        await ex.fetch_balance()  # one-shot: the next call passes
    finally:
        await ex.close()


async def test_ccxt_when_timeout_injected_then_request_timeout(sandbox_server: SandboxServer) -> None:
    key, secret = sandbox_server.create_key()
    sandbox_server.inject_fault("timeout", delay_ms=1500, paths=["/v5/account"])
    ex = sandbox_server.ccxt(key, secret, timeout=300)
    try:
        started = time.monotonic()
        with pytest.raises(ccxt.RequestTimeout):
            await ex.fetch_balance()
        assert time.monotonic() - started < 1.4
    finally:
        await ex.close()


async def test_ccxt_when_order_answer_times_out_after_acceptance_then_order_exists(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "1000"})
    sandbox_server.inject_fault("timeout", delay_ms=1000, after=True, paths=["/v5/order/create"])
    ex = sandbox_server.ccxt(key, secret, timeout=300)
    try:
        await ex.load_markets()
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 40_000, {"clientOrderId": "lost-1"})
        found = await ex.fetch_open_orders("BTC/USDT")
        assert [o["clientOrderId"] for o in found] == ["lost-1"]  # outcome unknown, but it is there
    finally:
        await ex.close()


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("maintenance", ccxt.ExchangeNotAvailable),
        ("http_5xx", ccxt.ExchangeNotAvailable),
        ("reject_order", ccxt.InvalidOrder),
    ],
)
async def test_ccxt_when_fault_injected_then_mapped_error(
    sandbox_server: SandboxServer, kind: str, error: type[Exception]
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "1000"})
    ex = sandbox_server.ccxt(key, secret)
    try:
        await ex.load_markets()
        sandbox_server.inject_fault(kind, count=1)
        with pytest.raises(error):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 40_000)
        assert await ex.fetch_open_orders("BTC/USDT") == []
    finally:
        await ex.close()


async def test_ccxt_when_order_breaks_venue_rules_then_insufficient_funds_or_invalid_order(
    sandbox_server: SandboxServer,
) -> None:
    key, secret = sandbox_server.create_key(balances={"USDT": "100"})
    ex = sandbox_server.ccxt(key, secret)
    try:
        await ex.load_markets()
        with pytest.raises(ccxt.InsufficientFunds, match="170131"):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40_000)
        with pytest.raises(ccxt.InvalidOrder, match="170136"):
            await ex.private_post_v5_order_create(
                {
                    "category": "spot",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Limit",
                    "qty": "0.000001",
                    "price": "40000",
                }
            )
        with pytest.raises(ccxt.InvalidOrder, match="170134"):
            await ex.private_post_v5_order_create(
                {
                    "category": "spot",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Limit",
                    "qty": "0.001",
                    "price": "40000.123",
                }
            )
        with pytest.raises(ccxt.OrderNotFound):
            await ex.cancel_order("1234", "BTC/USDT")
    finally:
        await ex.close()
