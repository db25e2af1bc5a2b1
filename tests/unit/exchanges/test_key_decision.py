"""The R3 decision rule and the per-venue key-info parsers (documented response shapes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qari.adapters.exchanges.keys import KeyPermissions, KeyStatus, decide
from qari.adapters.exchanges.venues import binance, bitget, bybit, gate, htx, kucoin, mexc, okx
from qari.core.errors import PermissionDeniedError


def _decide(p: KeyPermissions) -> KeyStatus:
    return decide(p, exchange_name="X", settings_page="X → API").status


@given(
    read=st.sampled_from([True, False, None]),
    spot=st.sampled_from([True, False, None]),
    withdraw=st.sampled_from([True, False, None]),
    transfer=st.sampled_from([True, False, None]),
    derivatives=st.sampled_from([True, False, None]),
)
def test_decide_when_any_combination_then_connected_only_for_read_trade_and_nothing_forbidden(
    read: bool | None,
    spot: bool | None,
    withdraw: bool | None,
    transfer: bool | None,
    derivatives: bool | None,
) -> None:
    status = _decide(KeyPermissions(read, spot, withdraw, transfer, derivatives))
    ok = read is True and spot is True and withdraw is False and transfer is False and derivatives is False
    assert (status is KeyStatus.CONNECTED) == ok
    if not ok:
        assert status is KeyStatus.PERMISSIONS_ERROR


def test_decide_when_withdraw_enabled_then_detail_names_venue_label() -> None:
    perms = bybit.permissions_from(
        {"readOnly": 0, "permissions": {"Spot": ["SpotTrade"], "Wallet": ["Withdraw"]}, "ips": ["*"]}
    )
    result = decide(perms, exchange_name="Bybit", settings_page="Bybit → API")
    assert result.status is KeyStatus.PERMISSIONS_ERROR
    assert "Assets → Withdrawal" in result.detail


def test_bybit_when_official_sample_then_refused_for_transfer_and_contracts() -> None:
    sample = {
        "readOnly": 0,
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": ["AccountTransfer", "SubMemberTransfer"],
            "Options": ["OptionsTrade"],
            "Derivatives": [],
        },
        "ips": ["*"],
        "expiredAt": "2023-12-22T07:20:25Z",
    }
    perms = bybit.permissions_from(sample)
    assert perms.transfer and perms.derivatives and not perms.withdraw and perms.ip_restricted is False
    assert perms.expires_at is not None and perms.expires_at.year == 2023


def test_bybit_when_uta_default_derivatives_only_then_connected() -> None:
    perms = bybit.permissions_from(
        {
            "readOnly": 0,
            "permissions": {"Spot": ["SpotTrade"], "Derivatives": ["DerivativesTrade"]},
            "ips": ["1.2.3.4"],
        }
    )
    assert _decide(perms) is KeyStatus.CONNECTED
    assert perms.ips == ("1.2.3.4",)


def test_binance_when_field_missing_then_not_proven_and_refused() -> None:
    data = {"enableReading": True, "enableSpotAndMarginTrading": True, "enableWithdrawals": False}
    assert _decide(binance.permissions_from(data)) is KeyStatus.PERMISSIONS_ERROR


def test_okx_when_doc_sample_then_connected_with_ips() -> None:
    perms = okx.permissions_from(
        {"acctLv": "1", "ip": "117.37.203.58,117.37.203.57", "perm": "read_only,trade"}
    )
    assert _decide(perms) is KeyStatus.CONNECTED
    assert perms.ips == ("117.37.203.58", "117.37.203.57")


def test_okx_when_account_mode_allows_derivatives_then_refused() -> None:
    assert (
        _decide(okx.permissions_from({"acctLv": "2", "perm": "read_only,trade"}))
        is KeyStatus.PERMISSIONS_ERROR
    )


@pytest.mark.parametrize("token", ["Transfer", "Withdrawal", "InnerTransfer", "Futures", "Margin"])
def test_kucoin_when_forbidden_token_then_refused(token: str) -> None:
    perms = kucoin.permissions_from({"permission": f"General,Spot,{token}", "ipWhitelist": ""})
    assert _decide(perms) is KeyStatus.PERMISSIONS_ERROR


def test_gate_when_key_not_listed_then_permission_error() -> None:
    with pytest.raises(PermissionDeniedError):
        gate.permissions_from({"ip_whitelist": []}, [{"key": "zzzz*****", "perms": []}], "abcd1234")


def test_gate_when_doc_sample_object_form_then_parsed() -> None:
    keys = {
        "state": 1,
        "perms": [{"name": "spot", "read_only": False}],
        "key": "abcd12*****",
        "ip_whitelist": [],
    }
    perms = gate.permissions_from({"ip_whitelist": ["127.0.0.1"]}, keys, "abcd1234")
    assert _decide(perms) is KeyStatus.CONNECTED and perms.ip_restricted


def test_bitget_when_legacy_doc_sample_then_connected() -> None:
    perms = bitget.permissions_from({"ips": "127.0.0.1", "authorities": ["trade", "readonly"]})
    assert _decide(perms) is KeyStatus.CONNECTED


def test_mexc_when_third_party_fixture_then_connected_unrestricted() -> None:
    perms = mexc.permissions_from(
        {
            "permissions": "CONTRACT_ACCOUNT_READ,CONTRACT_DEAL_READ,SPOT_ACCOUNT_READ,"
            "SPOT_DEAL_WRITE,SPOT_DEAL_READ",
            "remainingValidity": 82,
            "ipWhiteList": "",
            "status": "VALID",
        }
    )
    assert _decide(perms) is KeyStatus.CONNECTED and perms.ip_restricted is False


def test_htx_when_doc_sample_then_connected_with_ips() -> None:
    entry = {
        "accessKey": "k",
        "status": "normal",
        "permission": "trade,readOnly",
        "ipAddresses": "192.168.0.1",
    }
    perms = htx.permissions_from([entry], "k")
    assert _decide(perms) is KeyStatus.CONNECTED and perms.ips == ("192.168.0.1",)
