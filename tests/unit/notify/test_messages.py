"""Alert texts: the fields users need are there; secrets never are."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qari.adapters.notify.messages import TITLES, render
from qari.adapters.notify.telegram import scrub
from qari.adapters.persistence.alerts import ALERT_KINDS
from qari.core.redact import REDACTED

TRADE = {
    "symbol": "ETH/USDT",
    "size": "0.500000000000000000",
    "price": "3120.450000000000000000",
    "stop": "3050",
    "pnl_usdt": "-35.1",
    "pnl_r": "-1",
}
KEY_CHARS = string.ascii_letters + string.digits
secrets_ = st.tuples(
    st.text(KEY_CHARS, min_size=14, max_size=62),
    st.sampled_from(string.ascii_letters),
    st.sampled_from("0123456789"),
).map(lambda t: t[1] + t[0] + t[2])
shown_keys = st.sampled_from(["symbol", "reason", "detail", "exchange", "price", "size", "since", "side"])
filler = st.text(string.ascii_letters + " .,:;()", max_size=20)


def test_titles_when_listed_then_cover_every_alert_kind() -> None:
    assert set(TITLES) == set(ALERT_KINDS)


@pytest.mark.parametrize("kind", ["entry_leg1", "entry_leg2", "stop_loss", "pt1", "pt2", "trailing_exit"])
def test_render_when_trade_event_then_shows_symbol_prices_size_and_pnl(kind: str) -> None:
    text = render(kind, TRADE)
    assert text.splitlines()[0] == f"{TITLES[kind]} — ETH/USDT"
    assert "Size: 0.5" in text and "Price: 3120.45" in text and "Stop: 3050" in text
    assert "P&L: -35.10 USDT / -1.00R" in text
    assert len(text) < 400


def test_render_when_positive_pnl_then_signed_plus() -> None:
    assert "P&L: +12.35 USDT / +1.50R" in render("pt2", {"pnl_usdt": "12.345", "pnl_r": "1.5"})


def test_render_when_pnl_is_not_a_number_then_pnl_line_left_out() -> None:
    assert "P&L" not in render("stop_loss", {"symbol": "ETH/USDT", "pnl_r": "None", "pnl_usdt": ""})
    assert "P&L: +2.00R" in render("pt1", {"pnl_usdt": "n/a", "pnl_r": "2"})


def test_render_when_unknown_keys_then_they_are_never_shown() -> None:
    text = render("key_invalid", {"exchange": "bybit", "api_secret": "hunter2", "password": "pw"})
    assert "hunter2" not in text and "pw" not in text.split()
    assert "bybit" in text


def test_render_when_repeat_then_says_it_may_be_a_repeat() -> None:
    assert "you may have received this already" in render("stop_loss", TRADE, repeat=True)
    assert "received" not in render("stop_loss", TRADE)


@given(secret=secrets_, key=shown_keys, before=filler, after=filler)
def test_render_when_a_key_like_secret_is_in_a_shown_field_then_it_is_redacted(
    secret: str, key: str, before: str, after: str
) -> None:
    text = render("key_permissions_changed", {key: f"{before} {secret} {after}"})
    assert secret not in text
    assert REDACTED in text


@given(
    token=st.tuples(st.integers(10**8, 10**10), st.text(KEY_CHARS + "_-", min_size=30, max_size=40)).map(
        lambda t: f"{t[0]}:{t[1]}"
    )
)
def test_render_and_scrub_when_bot_token_in_text_then_removed(token: str) -> None:
    assert token not in render("exchange_unreachable", {"detail": f"url /bot{token}/sendMessage"})
    assert token not in scrub(f"POST https://api.telegram.org/bot{token}/sendMessage")


@given(st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("10000000"), places=8))
def test_render_when_price_has_trailing_zeros_then_value_is_kept_exactly(price: Decimal) -> None:
    text = render("entry_leg1", {"price": f"{price:.18f}"})
    shown = text.split("Price: ")[1].splitlines()[0]
    assert Decimal(shown) == price
    assert REDACTED not in text
