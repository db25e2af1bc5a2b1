"""Key checks (issue 15): Bitget allow-lists permission codes (fails closed), Gate's `main_keys`
answer does not refuse good keys, Binance -2015 is reported as "key or IP", not as a bad key."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from tests.contract.harness import HttpError, offline_client

from qari.adapters.exchanges.ccxt_client import Credentials
from qari.adapters.exchanges.inspection import check_key
from qari.adapters.exchanges.keys import KeyPermissions, KeyStatus, decide
from qari.adapters.exchanges.venues import bitget, gate

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _decide(permissions: KeyPermissions) -> KeyStatus:
    return decide(permissions, exchange_name="X", settings_page="the page").status


# --- Bitget: allow-list --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorities",
    [
        ["trade", "readonly"],  # the doc sample (legacy codes)
        ["stow", "stor", "coor", "cpor", "wtor"],  # spot trade + read-only codes of the current doc
    ],
)
def test_bitget_when_only_allow_listed_codes_then_connected(authorities: list[str]) -> None:
    assert _decide(bitget.permissions_from({"ips": "", "authorities": authorities})) is KeyStatus.CONNECTED


@pytest.mark.parametrize("unknown", ["p2p", "chow", "pllw", "taxw", "xyzw"])
def test_bitget_when_a_code_is_not_allow_listed_then_refused_and_named(unknown: str) -> None:
    # Arrange: a spot-trading key that also carries a code QARI does not know to be harmless
    permissions = bitget.permissions_from({"ips": "", "authorities": ["stow", "readonly", unknown]})

    # Act
    check = decide(permissions, exchange_name="Bitget", settings_page="Bitget → API Management")

    # Assert: fails closed, naming the code (today's code ignores it and says Connected)
    assert check.status is KeyStatus.PERMISSIONS_ERROR
    assert unknown in check.detail


# --- Gate: main_keys -----------------------------------------------------------------------------------

# EXCHANGES.md §1.5, the "Query All Main Account Key Information" sample
# (https://www.gate.com/docs/developers/apiv4/en/#getaccountmainkeys), two keys listed.
MAIN_KEYS = [
    {
        "state": 1,
        "mode": 1,
        "name": "other",
        "user_id": 1,
        "perms": [{"name": "wallet", "read_only": False}, {"name": "spot", "read_only": False}],
        "ip_whitelist": [],
        "key": "c5dcfbf1*****0000",
    },
    {
        "state": 1,
        "mode": 1,
        "name": "test1",
        "user_id": 1,
        "perms": [{"name": "account", "read_only": False}, {"name": "spot", "read_only": False}],
        "ip_whitelist": [],
        "currency_pairs": ["BTC_USD", "ETH_USD"],
        "key": "c5dcfbf1*****f3a7",
        "created_at": 1753030929,
        "update_at": 1756300567,
        "last_access": 1753030929,
    },
]
DETAIL = {"user_id": 1667201533, "ip_whitelist": ["127.0.0.1"], "key": {"mode": 1}, "tier": 2}
GOOD_KEY = "c5dcfbf1aaaabbbbccccddddeeeef3a7"


def test_gate_when_keys_share_a_visible_head_then_the_one_whose_tail_matches_decides() -> None:
    # Today's code takes the first key with the same head: here one with wallet write, refusing a good key.
    permissions = gate.permissions_from(DETAIL, MAIN_KEYS, GOOD_KEY)
    assert _decide(permissions) is KeyStatus.CONNECTED and permissions.ips == ("127.0.0.1",)


def test_gate_when_read_only_sent_as_text_then_read_as_a_flag() -> None:
    keys = json.loads(json.dumps(MAIN_KEYS[1:]).replace("false", '"false"'))
    assert _decide(gate.permissions_from(DETAIL, keys, GOOD_KEY)) is KeyStatus.CONNECTED


def test_gate_when_a_forbidden_permission_has_no_read_only_flag_then_it_counts_as_writable() -> None:
    keys = [{**MAIN_KEYS[1], "perms": [{"name": "spot", "read_only": False}, {"name": "wallet"}]}]
    assert _decide(gate.permissions_from(DETAIL, keys, GOOD_KEY)) is KeyStatus.PERMISSIONS_ERROR


def test_gate_when_listed_under_data_then_parsed() -> None:
    permissions = gate.permissions_from(DETAIL, {"data": MAIN_KEYS[1:]}, GOOD_KEY)
    assert _decide(permissions) is KeyStatus.CONNECTED


# --- Binance -2015 -------------------------------------------------------------------------------------

# Binance spot error codes doc: "-2015 REJECTED_MBX_KEY: Invalid API-key, IP, or permissions for action."
MINUS_2015 = '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'


async def test_binance_when_minus_2015_then_key_or_ip_with_both_to_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: real ccxt binance, the key-info call answered 401 -2015
    offline_client(
        "binance",
        monkeypatch,
        [
            ("GET", "/api/v3/time", {"serverTime": int(time.time() * 1000)}),
            ("GET", "/sapi/v1/account/apiRestrictions", HttpError(401, MINUS_2015)),
        ],
    )

    # Act
    check = await check_key("binance", Credentials("k" * 64, "s" * 64), now=NOW)

    # Assert: not "Invalid Credentials": the user is told to check the key and the IP whitelist
    assert check.status is KeyStatus.KEY_OR_IP_REJECTED and check.code == "-2015"
    assert "IP" in check.detail and "key" in check.detail and "whitelist" in check.detail
