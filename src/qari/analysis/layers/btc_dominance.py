"""L11 BTC dominance: the dominance trend (falling favours altcoins) and BTC's own structure; BTC in a
bearish break vetoes altcoin entries."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import Bound, results_bound
from qari.analysis.context import AnalysisContext
from qari.analysis.features import closed_counts
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives.structure import BEARISH, BULLISH
from qari.core.market import IntArray, MarketSnapshot

CODE = 11
NAME = "BTC dominance"
TREND_DAYS = 7
BREAK_FRESH_BARS = 6
DAY_MS = 86_400_000


def btc_bearish_break(ctx: AnalysisContext) -> bool:
    """BTC's 4h printed a bearish CHoCH recently, or its 4h and daily are both bearish."""
    h4, d1 = ctx.btc_h4, ctx.btc_d1
    if h4 is None:
        return False
    last = h4.structure.last_break
    fresh = last is not None and last.direction == "bearish" and last.kind == "CHoCH"
    fresh = fresh and last is not None and last.index >= h4.n - BREAK_FRESH_BARS
    both = d1 is not None and h4.structure.state == BEARISH and d1.structure.state == BEARISH
    return bool(fresh or both)


class BtcDominance:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        dom = ctx.btc_dominance
        has_dom = dom is not None and dom.shape[0] > TREND_DAYS
        if not has_dom and ctx.btc_h4 is None:
            return abstain(
                CODE, NAME, "BTC dominance and BTC candles are unavailable, so this layer abstains."
            )
        evidence: dict[str, Any] = {"is_btc": ctx.is_btc}
        change = None
        if has_dom and dom is not None:
            recent = dom[-(TREND_DAYS + 1) :]
            change = float(recent[-1] - recent[0])
            evidence["dominance"] = float(dom[-1])
            evidence["dominance_change_7d"] = change
        else:
            evidence["dominance"] = None
            evidence["dominance_note"] = "dominance data unavailable"
        btc_state = ctx.btc_h4.structure.state if ctx.btc_h4 is not None else None
        evidence["btc_4h_state"] = btc_state
        evidence["btc_1d_state"] = ctx.btc_d1.structure.state if ctx.btc_d1 is not None else None
        bearish_break = btc_bearish_break(ctx)
        evidence["btc_bearish_break"] = bearish_break
        if bearish_break and not ctx.is_btc:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                0.0,
                evidence,
                "BTC is in a bearish structure break on the 4h, which vetoes altcoin entries.",
                veto="btc_bearish_break",
            )
        favourable = None if change is None else (change > 0 if ctx.is_btc else change < 0)
        btc_ok = btc_state != BEARISH
        score = 0.5 * float(bool(favourable)) + 0.3 * float(btc_state == BULLISH) + 0.2 * float(btc_ok)
        trend = "n/a" if change is None else ("falling" if change < 0 else "rising")
        shape = (btc_state or "unknown").lower()
        text = f"BTC dominance is {trend} over 7 days and BTC's 4h structure is {shape}"
        if favourable and btc_ok:
            who = "BTC" if ctx.is_btc else "altcoins"
            return result(CODE, NAME, Vote.AGREE, score, evidence, f"{text}, a backdrop that favours {who}.")
        if favourable is False and btc_state == BEARISH:
            return result(CODE, NAME, Vote.AGAINST, score, evidence, f"{text}, a headwind for this trade.")
        return result(CODE, NAME, Vote.NEUTRAL, score, evidence, f"{text}.")


def bound(template: MarketSnapshot, times: IntArray) -> Bound:
    """`evaluate` at each time: it reads BTC's 4h/1d candles and the dominance days only, so it runs
    once per distinct set of them (shared by every altcoin of one market: `sweep.candidate_steps`'s
    `btc`). A veto shows as a `Bound` of kind AGAINST with `veto` set."""
    is_btc = template.symbol.split("/")[0] == "BTC"
    source = template.series if is_btc else (template.context.btc or {})
    columns = [
        closed_counts(s, times) if (s := source.get(tf)) is not None else times  # resampled: no grouping
        for tf in ("4h", "1d")
    ]
    dom, dom_ts = template.context.btc_dominance, template.context.btc_dominance_ts
    if dom is not None and dom_ts is not None:
        columns.append(np.searchsorted(dom_ts, times - DAY_MS, side="right"))
    _, first, result_at_step = np.unique(
        np.stack(columns, axis=1), axis=0, return_index=True, return_inverse=True
    )
    series = template.series if is_btc else {}
    results = [
        BtcDominance().evaluate(
            AnalysisContext(MarketSnapshot(template.symbol, int(times[i]), series, context=template.context))
        )
        for i in first.tolist()
    ]
    at_step = result_at_step.reshape(-1)
    out = results_bound(results, at_step)
    out.veto = np.array([r.veto is not None for r in results], dtype=bool)[at_step]
    return out
