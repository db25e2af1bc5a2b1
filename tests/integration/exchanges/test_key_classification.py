"""Issue #4 acceptance: every venue's key classified through REAL ccxt against a local stand-in that
verifies the venue's real signature. Cases per venue: full trade key, read-only, withdraw-enabled,
transfer-enabled, revoked, wrong secret, (wrong passphrase), IP-restricted allowed / not matching,
server clock off by two minutes, venue down."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from qari.adapters.exchanges.capabilities import VENUES
from qari.adapters.exchanges.ccxt_client import Credentials
from qari.adapters.exchanges.inspection import check_key
from qari.adapters.exchanges.keys import KeyStatus

from .conftest import StartStandin
from .standins.base import ALLOWED_IP, FULL, OTHER_IP, READ_ONLY, TRANSFER, WITHDRAW, StandinKey

EXCHANGES = ("bybit", "binance", "okx", "kucoin", "gate", "bitget", "mexc", "htx")
NOW = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Case:
    name: str
    profile: str = FULL
    ips: tuple[str, ...] = ()
    register: bool = True
    wrong_secret: bool = False
    wrong_passphrase: bool = False
    clock_offset_ms: int = 0
    down: bool = False


CASES = (
    Case("full_trade_key"),
    Case("read_only_key", profile=READ_ONLY),
    Case("withdraw_enabled_key", profile=WITHDRAW),
    Case("transfer_enabled_key", profile=TRANSFER),
    Case("revoked_key", register=False),
    Case("wrong_secret", wrong_secret=True),
    Case("wrong_passphrase", wrong_passphrase=True),
    Case("ip_restricted_to_our_ip", ips=(ALLOWED_IP,)),
    Case("ip_restricted_elsewhere", ips=(OTHER_IP,)),
    Case("server_clock_two_minutes_ahead", clock_offset_ms=120_000),
    Case("exchange_down", down=True),
)

# What the product must answer. Binance answers -2015 for both a bad key and a non-whitelisted IP.
EXPECTED = {
    "full_trade_key": KeyStatus.CONNECTED,
    "read_only_key": KeyStatus.PERMISSIONS_ERROR,
    "withdraw_enabled_key": KeyStatus.PERMISSIONS_ERROR,
    "transfer_enabled_key": KeyStatus.PERMISSIONS_ERROR,
    "revoked_key": KeyStatus.INVALID_CREDENTIALS,
    "wrong_secret": KeyStatus.INVALID_CREDENTIALS,
    "wrong_passphrase": KeyStatus.INVALID_CREDENTIALS,
    "ip_restricted_to_our_ip": KeyStatus.CONNECTED,
    "ip_restricted_elsewhere": KeyStatus.PERMISSIONS_ERROR,
    "server_clock_two_minutes_ahead": KeyStatus.CONNECTED,
    "exchange_down": KeyStatus.UNREACHABLE,
}
OVERRIDES = {
    ("binance", "ip_restricted_elsewhere"): KeyStatus.KEY_OR_IP_REJECTED,
    ("binance", "revoked_key"): KeyStatus.KEY_OR_IP_REJECTED,
}

MATRIX = [
    pytest.param(venue, case, id=f"{venue}-{case.name}")
    for venue in EXCHANGES
    for case in CASES
    if not case.wrong_passphrase or VENUES[venue].needs_passphrase
]


def test_matrix_when_collected_then_at_least_forty_cases() -> None:
    assert len(MATRIX) >= 40


@pytest.mark.parametrize(("venue", "case"), MATRIX)
async def test_check_key_when_case_then_classified(
    venue: str, case: Case, start_standin: StartStandin
) -> None:
    standin = await start_standin(venue)
    standin.clock_offset_ms = case.clock_offset_ms
    passphrase = "Pass-phrase-9" if VENUES[venue].needs_passphrase else None
    key = StandinKey(
        f"{venue}0a1b2c3d4e5f6a7b8c9d", f"secret-{venue}-55aa", passphrase, case.profile, case.ips
    )
    if case.register:
        standin.add_key(key)
    if case.down:
        await standin.stop()
    credentials = Credentials(
        key.api_key,
        key.secret + ("x" if case.wrong_secret else ""),
        (passphrase + "x" if case.wrong_passphrase and passphrase else passphrase),
    )

    result = await check_key(venue, credentials, now=NOW, base_url=standin.base_url, timeout_ms=3000)

    expected = OVERRIDES.get((venue, case.name), EXPECTED[case.name])
    assert result.status is expected, result.detail
    assert key.secret not in result.detail
    if case.name == "read_only_key":
        assert result.missing and result.permissions is not None
        assert result.permissions.label("spot_trade") in result.detail
    if case.name in ("withdraw_enabled_key", "transfer_enabled_key"):
        assert result.forbidden and "never accepts" in result.detail
        assert result.permissions is not None
        assert result.permissions.withdraw or result.permissions.transfer
    if case.name == "ip_restricted_to_our_ip":
        assert result.permissions is not None and result.permissions.ip_restricted is True
    if case.name == "full_trade_key":
        assert result.permissions is not None and result.permissions.ip_restricted is False
    if expected is KeyStatus.INVALID_CREDENTIALS or case.name == "ip_restricted_elsewhere":
        assert result.code is not None  # decided from the venue's raw code


async def test_check_key_when_key_info_shape_unknown_then_unreachable_not_a_verdict(
    start_standin: StartStandin,
) -> None:
    standin = await start_standin("okx")
    key = standin.add_key(StandinKey("okx-odd-shape-0001", "okx-odd-secret", "Pass-1"))
    standin.config = lambda _key: "not an object"  # type: ignore[method-assign,assignment,return-value]

    result = await check_key(
        "okx",
        Credentials(key.api_key, key.secret, key.passphrase),
        now=NOW,
        base_url=standin.base_url,
        timeout_ms=3000,
    )

    assert result.status is KeyStatus.UNREACHABLE and "unexpected" in result.detail
