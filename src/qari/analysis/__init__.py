"""The 11-layer analysis engine (pure: NumPy, no I/O, no clock): `engine.analyse(snapshot) -> Verdict`.

Layout: `layer.py` (contract, `LayerResult`, `Vote`), `context.py` (closed-candle windows and shared
features per call), `primitives/` (pivots, structure, liquidity/SFP, order blocks, gaps, indicators,
resampling), `layers/` (one concept per module, canonical order in `layers/__init__.py`), `ele.py`,
`confluence.py` + `weights.py` (Stage 1 points in `data/weights_stage1.json`), `setup_levels.py`
(entry zone, structural stop, targets), `explain.py` (the candidate paragraph).

Decisions where PRODUCT.md is silent [D]:
- Windows: the entry timeframe (15m, else 1h) reads its last 320 closed candles, 4h and 1d their last
  200; a candle counts only once closed at `at_ms`, which makes look-ahead impossible by construction.
  Missing 4h/1d are resampled from 1h.
- Pivots are fractals with k = 3 (entry) / 2 (4h, 1d) bars either side, known only k bars later.
  Trend state = HH+HL / LH+LL of the last two pivots, overridden by a CHoCH newer than both.
- Score = (Σ points × score over agreeing layers − ½ Σ points over layers against) / Σ points over
  layers that did not abstain, clipped to [0, 1]; a candidate also needs a price-action trigger (L2,
  L3 or L6 agreeing) to define its entry zone.
- Stop: the first structural low (trigger wick/zone, then swing lows on the entry timeframe, 4h, 1d)
  lying 10–30 % below the zone's middle, minus a 0.2 % buffer; if none lies in the band the trigger's
  own low is kept and the risk gate rejects the setup (never clamped).
- Targets: unswept swing highs and equal highs on all three timeframes; PT2 is the first at ≥ 2R
  (else the highest), PT1 the first at ≥ 1R below it; 1.272/1.618 extensions of the last 4h leg are
  added only when liquidity offers no 2R target.
- CVD: OHLCV has no trade side, so L4 reports `cvd: null` and uses up/down-candle volume as a proxy.
- ELE: within the last 24 h, a ≥ 20 % peak-to-trough drop inside 60 minutes on ≥ 3× typical volume;
  when open interest is supplied it must also have fallen ≥ 10 %.
- Session: only the first two hours after the London or New York open agree; thin hours score low.
"""
