"""L01 Market structure: swing highs/lows, BOS/CHoCH and the trend state on the entry timeframe, 4h
and 1d; daily-vs-4h alignment; equal highs/lows as liquidity targets. A bearish daily+4h bias vetoes."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import AGAINST, AGREE, NEUTRAL, SCORE_ROUNDING, Bound
from qari.analysis.context import AnalysisContext, Frame
from qari.analysis.features import STATE_BEAR, STATE_BULL, History, StateArray, structure_of
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives.structure import BEARISH, BULLISH, equal_levels
from qari.analysis.primitives.swings import DEFAULT_K
from qari.core.market import CandleSeries, IntArray

CODE = 1
NAME = "Market structure"
FRESH_BARS = 8
EQ_TOLERANCE_ATR = 0.25
NEAR_ATR = 2.0


def bullish_choch_15m(series_15m: CandleSeries, within: int = 2, k: int = DEFAULT_K) -> bool:
    """True when the latest break on these closed candles is a bullish CHoCH on one of the last `within`."""
    if len(series_15m) < 2 * k + 2:
        return False
    last = structure_of(series_15m, k).last_break
    return (
        last is not None
        and last.direction == "bullish"
        and last.kind == "CHoCH"
        and last.index >= len(series_15m) - within
    )


def _frame_evidence(fr: Frame) -> dict[str, Any]:
    s = fr.structure
    last = s.last_break
    p = s.pivots
    tol = EQ_TOLERANCE_ATR * fr.atr
    eqh = [
        {"level": lvl, "near": abs(lvl - fr.last) <= NEAR_ATR * fr.atr}
        for lvl, _, j in equal_levels(p.high_px[-12:], p.high_idx[-12:], tol, True)
        if j + 1 >= fr.n or float(fr.high[j + 1 :].max()) <= lvl
    ]
    eql = [
        {"level": lvl, "near": abs(lvl - fr.last) <= NEAR_ATR * fr.atr}
        for lvl, _, j in equal_levels(p.low_px[-12:], p.low_idx[-12:], tol, False)
        if j + 1 >= fr.n or float(fr.low[j + 1 :].min()) >= lvl
    ]
    return {
        "state": s.state,
        "pattern": s.pattern,
        "last_break": None
        if last is None
        else {
            "kind": last.kind,
            "direction": last.direction,
            "level": last.level,
            "bars_ago": fr.n - 1 - last.index,
        },
        "swing_highs": [float(x) for x in p.high_px[-3:]],
        "swing_lows": [float(x) for x in p.low_px[-3:]],
        "eqh": eqh,
        "eql": eql,
    }


def fresh_bullish_choch(fr: Frame, bars: int = FRESH_BARS) -> bool:
    last = fr.structure.last_break
    return (
        last is not None
        and last.direction == "bullish"
        and last.kind == "CHoCH"
        and last.index >= fr.n - bars
    )


class MarketStructure:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        if ctx.entry is None:
            return abstain(CODE, NAME, f"Not enough closed {ctx.entry_tf} candles to read market structure.")
        frames = ctx.frames()
        evidence: dict[str, Any] = {tf: _frame_evidence(fr) for tf, fr in frames.items()}
        entry = ctx.entry
        states = {tf: fr.structure.state for tf, fr in frames.items()}
        h4 = states.get("4h")
        d1 = states.get("1d")
        aligned = h4 is not None and h4 == d1
        evidence["htf_aligned"] = aligned
        evidence["entry_timeframe"] = ctx.entry_tf
        choch = fresh_bullish_choch(entry)
        evidence["fresh_bullish_choch"] = choch
        if ctx.htf_bearish:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.0,
                evidence,
                "Daily and 4h structure are both bearish (lower highs and "
                "lower lows), which vetoes long entries.",
                veto="htf_bearish",
            )
        entry_bull = entry.structure.state == BULLISH or choch
        score = structure_score(entry_bull, h4 == BULLISH, d1 == BULLISH, choch or _fresh_bos(entry))
        if entry_bull and h4 != BEARISH:
            what = "a fresh bullish change of character" if choch else "higher highs and higher lows"
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                score,
                evidence,
                f"The {ctx.entry_tf} chart shows {what}, with the 4h {(h4 or 'n/a').lower()} "
                f"and the daily {(d1 or 'n/a').lower()}.",
            )
        if entry.structure.state == BEARISH and h4 == BEARISH:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                score,
                evidence,
                f"The {ctx.entry_tf} and 4h charts are both bearish, so the structure argues against a long.",
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            score,
            evidence,
            f"Structure is mixed: {ctx.entry_tf} "
            f"{entry.structure.state.lower()}, 4h {(h4 or 'n/a').lower()}, "
            f"daily {(d1 or 'n/a').lower()}.",
        )


def _fresh_bos(fr: Frame) -> bool:
    last = fr.structure.last_break
    return last is not None and last.direction == "bullish" and last.index >= fr.n - FRESH_BARS


def structure_score(entry_bull: Any, h4_bull: Any, d1_bull: Any, fresh_break: Any) -> Any:
    """Bools or NumPy bool arrays (`analysis.sweep`) alike."""
    return 0.4 * entry_bull + 0.25 * h4_bull + 0.2 * d1_bull + 0.15 * fresh_break


def bound(history: History, n: IntArray, h4_state: StateArray, d1_state: StateArray) -> Bound:
    """`evaluate` at window ends n, given the 4h and 1d states there (`features.STATE_*`): exact, the
    veto aside (`analysis.sweep` reads it off the states)."""
    s = history.structure
    state = s.state[n]
    fresh_break = s.last_break_bullish[n] & (s.last_break_bar[n] >= n - FRESH_BARS)
    fresh_choch = fresh_break & s.last_break_choch[n]
    entry_bull = (state == STATE_BULL) | fresh_choch
    score = structure_score(
        entry_bull, h4_state == STATE_BULL, d1_state == STATE_BULL, fresh_choch | fresh_break
    )
    agree = entry_bull & (h4_state != STATE_BEAR)
    against = ~agree & (state == STATE_BEAR) & (h4_state == STATE_BEAR)
    kind = np.where(agree, AGREE, np.where(against, AGAINST, NEUTRAL)).astype(np.int8)
    return Bound(kind, score + SCORE_ROUNDING)
