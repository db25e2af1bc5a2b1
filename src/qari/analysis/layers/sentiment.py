"""L05 Sentiment: fear & greed read contrarian (extreme fear with bullish structure agrees) and the
perpetual funding rate (negative funding agrees). Abstains without data."""

from __future__ import annotations

from typing import Any

import numpy as np

from qari.analysis.bounds import OPEN, Bound, results_bound
from qari.analysis.context import AnalysisContext
from qari.analysis.layer import LayerResult, Vote, abstain, result
from qari.analysis.primitives.structure import BEARISH
from qari.core.market import MarketSnapshot

CODE = 5
NAME = "Sentiment"
EXTREME_FEAR = 25.0
EXTREME_GREED = 80.0
CROWDED_FUNDING = 0.0005  # 0.05 % per 8h


class Sentiment:
    code = CODE
    name = NAME

    def evaluate(self, ctx: AnalysisContext) -> LayerResult:
        fg = ctx.context.fear_greed
        funding = ctx.context.funding_rate
        if fg is None and funding is None:
            return abstain(
                CODE, NAME, "Sentiment data (fear & greed, funding) is unavailable, so this layer abstains."
            )
        bullish_structure = ctx.entry is not None and ctx.entry.structure.state != BEARISH
        evidence: dict[str, Any] = {
            "fear_greed": fg,
            "funding_rate": funding,
            "fear_greed_available": fg is not None,
            "funding_available": funding is not None,
        }
        points = 0.0
        parts: list[str] = []
        against = False
        if fg is not None:
            if fg <= EXTREME_FEAR and bullish_structure:
                points += 0.5
                parts.append(f"extreme fear ({fg:.0f}) with intact structure")
            elif fg >= EXTREME_GREED:
                against = True
                parts.append(f"extreme greed ({fg:.0f})")
            else:
                points += 0.2
                parts.append(f"fear & greed at {fg:.0f}")
        if funding is not None:
            if funding < 0:
                points += 0.5
                parts.append(f"negative funding ({funding * 100:.4f} %)")
            elif funding >= CROWDED_FUNDING:
                against = True
                parts.append(f"crowded longs (funding {funding * 100:.4f} %)")
            else:
                points += 0.15
                parts.append(f"neutral funding ({funding * 100:.4f} %)")
        text = "Sentiment shows " + " and ".join(parts) + "."
        if against:
            return result(CODE, NAME, Vote.AGAINST, 0.1, evidence, text)
        if points >= 0.5:
            return result(CODE, NAME, Vote.AGREE, points, evidence, text)
        return result(CODE, NAME, Vote.NEUTRAL, points, evidence, text)


def bound(template: MarketSnapshot, size: int) -> Bound:
    """`evaluate` at every step: without data it abstains at each (the context is the same at every
    step here); with data it also reads the entry structure, so it is left OPEN."""
    if template.context.fear_greed is not None or template.context.funding_rate is not None:
        return Bound.fill(OPEN, size)
    ctx = AnalysisContext(
        MarketSnapshot(template.symbol, 0, {}, book=template.book, context=template.context)
    )
    return results_bound([Sentiment().evaluate(ctx)], np.zeros(size, dtype=np.int64))
