from __future__ import annotations

import json
from pathlib import Path

import ccxt.async_support as ccxt
import httpx
import numpy as np

from qari.analysis.context import AnalysisContext
from qari.analysis.layer import Vote
from qari.analysis.layers.sentiment import Sentiment
from qari.core.market import CandleSeries, MarketSnapshot
from qari.market.context_providers import (
    AlternativeMeFearGreed,
    CcxtDerivativesProvider,
    FileDominance,
    gather_context,
    perpetual_symbol,
)
from qari.market.dominance import load_dominance


def _fng_server(body: object, status: int = 200) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.alternative.me"
        return httpx.Response(status, json=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_fear_greed_when_api_answers_then_value() -> None:
    body = {"name": "Fear and Greed Index", "data": [{"value": "23", "value_classification": "Extreme Fear"}]}
    async with _fng_server(body) as http:
        assert await AlternativeMeFearGreed(http).fear_greed() == 23.0


async def test_fear_greed_when_api_fails_or_answers_nonsense_then_none() -> None:
    async with _fng_server({"error": "down"}, status=503) as http:
        assert await AlternativeMeFearGreed(http).fear_greed() is None
    async with _fng_server({"data": []}) as http:
        assert await AlternativeMeFearGreed(http).fear_greed() is None


async def test_ccxt_derivatives_when_exchange_unreachable_then_none(free_port_number: int) -> None:
    exchange = ccxt.binanceusdm({"timeout": 2000})
    base = f"http://127.0.0.1:{free_port_number}"
    exchange.urls["api"] = {k: base for k in exchange.urls["api"]}
    try:
        provider = CcxtDerivativesProvider(exchange)
        assert await provider.funding_rate("BTC/USDT") is None
        assert await provider.open_interest("BTC/USDT") is None
    finally:
        await exchange.close()


async def test_gather_context_when_sources_missing_then_sentiment_layer_abstains_and_says_so() -> None:
    async with _fng_server({}, status=500) as http:
        base, per_symbol = await gather_context(["SOL/USDT"], fear_greed=AlternativeMeFearGreed(http))

    assert base.fear_greed is None and per_symbol == {}
    closes = np.linspace(100, 120, 60)
    ts = 1_704_067_200_000 + 900_000 * np.arange(60)
    s = CandleSeries("SOL/USDT", "15m", ts, closes, closes + 1, closes - 1, closes, np.full(60, 5.0))
    r = Sentiment().evaluate(
        AnalysisContext(MarketSnapshot("SOL/USDT", int(ts[-1]) + 900_000, {"15m": s}, context=base))
    )
    assert r.vote == Vote.ABSTAIN and "unavailable" in r.explanation


def test_dominance_loader_when_file_then_sorted_series_and_no_lookahead(tmp_path: Path) -> None:
    day = 86_400_000
    path = tmp_path / "btc_dominance.json"
    path.write_text(json.dumps([[2 * day, 52.0], [0, 50.0], [day, 51.0]]))

    d = load_dominance(path)

    assert d.ts.tolist() == [0, day, 2 * day]
    assert d.value_at(2 * day) == 51.0  # day 2 has not closed yet at its open
    assert d.value_at(3 * day) == 52.0
    assert FileDominance(tmp_path / "missing.json").dominance() is None


def test_perpetual_symbol() -> None:
    assert perpetual_symbol("SOL/USDT") == "SOL/USDT:USDT"
