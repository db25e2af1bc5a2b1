"""L08 Order book: bid/ask depth imbalance within ±2 % of mid, spread, and walls near the entry."""

from __future__ import annotations

import numpy as np

from qari.analysis.bounds import Bound, results_bound
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.core.market import MarketSnapshot

CODE = 8
NAME = "Order book"
BAND = 0.02
WALL_SHARE = 0.25


class OrderBookDepth:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        book = ctx.snapshot.book
        if book is None or not book.bids or not book.asks:
            return abstain(
                CODE, NAME, "No order book snapshot is available for this cycle, so this layer abstains."
            )
        best_bid = float(book.bids[0][0])
        best_ask = float(book.asks[0][0])
        mid = (best_bid + best_ask) / 2.0
        if mid <= 0:
            return abstain(CODE, NAME, "The order book has no valid prices.")
        spread_bps = (best_ask - best_bid) / mid * 10_000.0
        bids = [(float(p), float(q) * float(p)) for p, q in book.bids if float(p) >= mid * (1 - BAND)]
        asks = [(float(p), float(q) * float(p)) for p, q in book.asks if float(p) <= mid * (1 + BAND)]
        bid_depth = sum(v for _, v in bids)
        ask_depth = sum(v for _, v in asks)
        total = bid_depth + ask_depth
        imbalance = bid_depth / total if total > 0 else 0.5
        bid_wall = max(bids, key=lambda pv: pv[1]) if bids else None
        ask_wall = max(asks, key=lambda pv: pv[1]) if asks else None
        evidence = {
            "spread_bps": spread_bps,
            "bid_depth_quote": bid_depth,
            "ask_depth_quote": ask_depth,
            "imbalance": imbalance,
            "bid_wall": None if not bid_wall or bid_wall[1] < WALL_SHARE * total else bid_wall[0],
            "ask_wall": None if not ask_wall or ask_wall[1] < WALL_SHARE * total else ask_wall[0],
        }
        if spread_bps > 30.0:
            return result(
                CODE, NAME, Vote.AGAINST, 0.0, evidence, f"The spread is wide at {spread_bps:.1f} bps."
            )
        if imbalance >= 0.6:
            return result(
                CODE,
                NAME,
                Vote.AGREE,
                imbalance,
                evidence,
                f"Bids outweigh asks within 2 % of mid ({imbalance * 100:.0f} % of depth on the bid).",
            )
        if imbalance <= 0.35:
            return result(
                CODE,
                NAME,
                Vote.AGAINST,
                imbalance,
                evidence,
                f"Asks dominate within 2 % of mid (only {imbalance * 100:.0f} % of depth on the bid).",
            )
        return result(
            CODE,
            NAME,
            Vote.NEUTRAL,
            imbalance,
            evidence,
            f"The book is balanced ({imbalance * 100:.0f} % bid depth, spread {spread_bps:.1f} bps).",
        )


def bound(template: MarketSnapshot, size: int) -> Bound:
    """`evaluate` at every step: it reads the template's book only, the same at each step here."""
    ctx = AnalysisContext(
        MarketSnapshot(template.symbol, 0, {}, book=template.book, context=template.context)
    )
    return results_bound([OrderBookDepth().evaluate(ctx)], np.zeros(size, dtype=np.int64))
