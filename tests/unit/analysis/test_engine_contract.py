from __future__ import annotations

import json

from qari.analysis.engine import Vote, analyse
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot


def test_analyse_when_real_data_then_eleven_layers_in_order_with_valid_fields(
    real_series: dict[str, dict[str, CandleSeries]],
) -> None:
    sol, btc = real_series["SOL/USDT"], real_series["BTC/USDT"]
    at = int(sol["15m"].ts[10_000])

    v = analyse(MarketSnapshot("SOL/USDT", at, sol, context=MarketContext(btc=btc)))

    assert [r.layer for r in v.layers] == list(range(1, 12))
    for r in v.layers:
        assert r.vote in set(Vote)
        assert 0.0 <= r.score <= 1.0
        assert r.explanation
        json.dumps(r.evidence, allow_nan=False)
    assert v.agreeing == sum(r.vote == Vote.AGREE for r in v.layers)
    assert 0.0 <= v.score <= 1.0
