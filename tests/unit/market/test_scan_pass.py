from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qari.market.scan_pass import load_series, normalise_pair, run_pass, to_json


@pytest.mark.parametrize("text", ["BTC/USDT", "btc_usdt", "BTC-USDT", " btc "])
def test_normalise_pair(text: str) -> None:
    assert normalise_pair(text) == "BTC/USDT"


def _write(folder: Path, name: str, n: int, step_ms: int, start: float) -> None:
    t0 = 1_704_067_200_000
    closes = start + np.cumsum(np.sin(np.arange(n) / 7.0))
    rows = [
        [t0 + i * step_ms, c, c + 1.0, c - 1.0, c + 0.3, 10.0 + i % 5] for i, c in enumerate(closes.tolist())
    ]
    (folder / name).write_text(json.dumps(rows))


def test_scan_pass_when_json_candle_files_then_1h_fallback_btc_context_and_stable_json(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "BTC_USDT-1h.json", 600, 3_600_000, 40_000.0)
    _write(tmp_path, "ALT_USDT-1h.json", 600, 3_600_000, 50.0)
    (tmp_path / "README.txt").write_text("not a candle file")
    at_ms = 1_704_067_200_000 + 500 * 3_600_000

    series = load_series(tmp_path, ["ALT/USDT"])
    verdicts = run_pass(series, at_ms, ["ALT/USDT"])
    text = to_json(at_ms, verdicts)

    assert set(series) == {"ALT/USDT", "BTC/USDT"}  # BTC is always loaded as altcoin context
    assert set(series["ALT/USDT"]) == {"1h"}
    body = json.loads(text)
    assert list(body["symbols"]) == ["ALT/USDT"]
    layer11 = body["symbols"]["ALT/USDT"]["layers"][10]
    assert layer11["evidence"]["btc_4h_state"] in {"BULLISH", "BEARISH", "RANGE"}
    assert text == to_json(at_ms, run_pass(series, at_ms, ["ALT/USDT"]))
