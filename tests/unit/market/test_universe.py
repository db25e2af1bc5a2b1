from __future__ import annotations

from decimal import Decimal

import pytest

from qari.core.instrument import InstrumentRules
from qari.core.market import Ticker
from qari.market.universe import UniverseRules, is_leveraged_token, is_stablecoin, select_universe


def _t(symbol: str, volume: int) -> Ticker:
    return Ticker(symbol, Decimal(1), None, None, quote_volume_24h=Decimal(volume))


def test_universe_when_ranked_then_by_quote_volume_excluding_stables_leveraged_and_blacklist() -> None:
    tickers = {
        s: _t(s, v)
        for s, v in {
            "BTC/USDT": 900,
            "ETH/USDT": 800,
            "USDC/USDT": 5000,
            "FDUSD/USDT": 4000,
            "BTCUP/USDT": 700,
            "ETH3L/USDT": 650,
            "JUP/USDT": 100,
            "SOL/USDT": 600,
            "DOGE/USDT": 500,
            "SOL/BTC": 10_000,
            "LUNA/USDT": 450,
            "1INCH/USDT": 300,
            "1000SATS/USDT": 200,
            "BTC/USDT:USDT": 99_999,
        }.items()
    }

    chosen = select_universe(tickers, blacklist={"LUNA/USDT"})

    assert chosen == [
        "BTC/USDT",
        "ETH/USDT",
        "SOL/USDT",
        "DOGE/USDT",
        "1INCH/USDT",
        "1000SATS/USDT",
        "JUP/USDT",
    ]


def test_universe_when_more_pairs_than_size_then_top_n_deterministic_on_ties() -> None:
    tickers = {f"C{i:03d}/USDT": _t(f"C{i:03d}/USDT", 1000 - i // 2) for i in range(300)}

    chosen = select_universe(tickers, rules=UniverseRules(size=140))

    assert len(chosen) == 140
    assert chosen[:3] == ["C000/USDT", "C001/USDT", "C002/USDT"]


def test_universe_when_market_inactive_or_too_young_then_left_out() -> None:
    tickers = {s: _t(s, v) for s, v in {"AAA/USDT": 3, "BBB/USDT": 2, "CCC/USDT": 1}.items()}
    rules = {
        s: InstrumentRules(
            s,
            s[:3],
            "USDT",
            Decimal("0.01"),
            Decimal("0.1"),
            Decimal("0.1"),
            Decimal(5),
            active=s != "BBB/USDT",
        )
        for s in tickers
    }
    day = 86_400_000
    listed = {"AAA/USDT": 0, "BBB/USDT": 0, "CCC/USDT": 100 * day - 5 * day}

    chosen = select_universe(tickers, markets=rules, listed_since_ms=listed, now_ms=100 * day)

    assert chosen == ["AAA/USDT"]


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("BTCUP", True),
        ("ETHDOWN", True),
        ("XRPBULL", True),
        ("BNB3L", True),
        ("ETH5S", True),
        ("1INCH", False),
        ("1000SATS", False),
        ("SOL", False),
        ("JUP", False),
    ],
)
def test_is_leveraged_token(base: str, expected: bool) -> None:
    assert is_leveraged_token(base) is expected


def test_is_leveraged_token_when_known_bases_then_stem_must_be_listed() -> None:
    assert is_leveraged_token("SYRUP", {"BTC", "SYRUP"}) is False
    assert is_leveraged_token("BTCUP", {"BTC"}) is True


def test_is_stablecoin() -> None:
    assert is_stablecoin("usdc") and is_stablecoin("FDUSD") and not is_stablecoin("BTC")
