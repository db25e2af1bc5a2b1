"""`qari learn evaluate`: label every candidate of a history, train Stages 2 and 3 on the training
window, compare Stages 1, 2 and 3 out of sample on the test window.

The pool: every step where the analysis makes a candidate with Stage 1's points and a looser threshold
(`POOL_THRESHOLD`), found with `analysis.sweep` and then the real `analyse`; each is labelled with the
rules' outcome (`labels.label`). Stage 1 trades the pool's candidates scoring ≥ its threshold; Stage 2
re-scores the same layer results with its weights; Stage 3 scales Stage 1's score by its calibrated
probability. Training samples are those decided in the training window whose outcome was known by its
end; nothing from the test window reaches training.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qari.analysis.engine import analyse
from qari.analysis.sweep import btc_bound, candidate_steps
from qari.analysis.weights import WeightSet, stage1
from qari.backtest.data import load_market_data
from qari.backtest.feed import ReplayMarketFeed
from qari.backtest.metrics import market_change
from qari.core.market import MarketSnapshot
from qari.core.time import timeframe_ms, to_ms
from qari.learning.labels import label
from qari.learning.stages import (
    LayerValue,
    Sample,
    Stage3Model,
    known_by,
    layer_values,
    stage2_weights,
    train_stage3,
)

POOL_THRESHOLD = 0.3
RISK_PER_TRADE = 0.01  # equity risked per trade for the drawdown figure


@dataclass(frozen=True, slots=True)
class StageResult:
    stage: int
    trades: int
    win_rate: float
    avg_r: float
    profit_factor: float
    max_drawdown_pct: float
    samples_seen: int

    @property
    def total_r(self) -> float:
        return self.avg_r * self.trades


@dataclass(slots=True)
class Evaluation:
    pairs: tuple[str, ...]
    pool: int
    train_samples: int
    test_samples: int
    market_change_pct: float | None
    results: list[StageResult]
    layers: list[LayerValue]
    weights2: WeightSet
    stage3: Stage3Model | None
    activate: dict[int, bool] = field(default_factory=dict)


def pool_weights() -> WeightSet:
    return replace(stage1(), name="pool", threshold=POOL_THRESHOLD)


_job: tuple[dict[str, MarketSnapshot], np.ndarray, object] | None = None


def _symbol_samples(symbol: str) -> list[Sample]:
    assert _job is not None
    templates, times, btc = _job
    return pool_samples(templates[symbol], times, btc)  # type: ignore[arg-type]


def pool_samples(template: MarketSnapshot, times: np.ndarray, btc: object = None) -> list[Sample]:
    """Every candidate of one symbol over `times`, labelled; candidates the rules never trade (gate
    refusal, no fill) are left out."""
    weights = pool_weights()
    is_btc = template.symbol.split("/")[0] == "BTC"
    steps = candidate_steps(template, times, weights, btc=None if is_btc else btc)  # type: ignore[arg-type]
    entry_tf = next(tf for tf in ("15m", "5m", "1h") if tf in template.series)
    series = template.series[entry_tf]
    out: list[Sample] = []
    for at in times[steps].tolist():
        verdict = analyse(
            MarketSnapshot(template.symbol, at, template.series, context=template.context), weights
        )
        c = verdict.candidate
        if c is None:
            continue
        entry = float(c.entry_low + c.entry_high) / 2
        stop, pt1, pt2 = float(c.stop), float(c.pt1), float(c.pt2)
        outcome = label(series, at, entry, stop, pt1, pt2)
        if outcome is None:
            continue
        out.append(
            Sample(
                template.symbol, at, outcome.outcome_ms, verdict.layers, outcome.r,
                round((entry - stop) / entry, 6), round((pt2 - entry) / (entry - stop), 4),
            )
        )  # fmt: skip
    return out


def build_pool(
    data_dir: Path, pairs: Sequence[str] | None, start: dt.datetime, end: dt.datetime, workers: int = 1
) -> tuple[
    list[Sample],
    dict[str, tuple[float, float]],
    tuple[str, ...],
    Callable[[dt.datetime, dt.datetime], dict[str, tuple[float, float]]],
]:
    global _job
    market = load_market_data(data_dir, pairs, start, end)
    step = timeframe_ms(market.entry_timeframe)
    feed = ReplayMarketFeed("backtest", market.series, market.pairs)
    end_ms = to_ms(market.end)
    templates = feed.snapshots_at(end_ms)
    first = -(-to_ms(market.start) // step) * step
    times = np.arange(first, end_ms + 1, step, dtype=np.int64)
    alt = next((t for s, t in templates.items() if not s.startswith("BTC/")), None)
    btc = btc_bound(alt, times) if alt is not None else None
    symbols = sorted(templates)
    _job = (templates, times, btc)
    if workers > 1 and len(symbols) > 1:
        with ProcessPoolExecutor(
            min(workers, len(symbols)), mp_context=multiprocessing.get_context("fork")
        ) as pool:
            chunks = list(pool.map(_symbol_samples, symbols))
    else:
        chunks = [_symbol_samples(s) for s in symbols]
    _job = None
    samples = sorted((s for chunk in chunks for s in chunk), key=lambda s: (s.decided_ms, s.symbol))

    def closes(lo: dt.datetime, hi: dt.datetime) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for symbol in market.pairs:
            s = market.series[symbol][market.entry_timeframe]
            close = s.close[(s.ts >= to_ms(lo)) & (s.ts < to_ms(hi))]
            if len(close):
                out[symbol] = (float(close[0]), float(close[-1]))
        return out

    return samples, closes(start, end), market.pairs, closes


def trade(
    samples: Sequence[Sample],
    passes: Callable[[Sample], bool],
    stage: int,
    seen: int,
    *,
    one_per_symbol: bool = True,
) -> StageResult:
    """Take the passing samples in time order, one open trade per symbol (gate 05), and measure. Real
    trades (anonymised, no symbol) already obeyed the gate: `one_per_symbol=False`."""
    busy: dict[str, int] = {}
    taken: list[Sample] = []
    for s in samples:
        if (one_per_symbol and busy.get(s.symbol, -1) > s.decided_ms) or not passes(s):
            continue
        taken.append(s)
        busy[s.symbol] = s.outcome_ms
    r = np.array([s.r for s in taken])
    gains, losses = float(r[r > 0].sum()), float(-r[r < 0].sum())
    equity, peak, worst = 1.0, 1.0, 0.0
    for s in sorted(taken, key=lambda s: s.outcome_ms):
        equity *= 1 + RISK_PER_TRADE * s.r
        peak = max(peak, equity)
        worst = max(worst, 1 - equity / peak)
    return StageResult(
        stage,
        len(taken),
        float((r > 0).mean()) if len(taken) else math.nan,
        float(r.mean()) if len(taken) else math.nan,
        gains / losses if losses > 0 else math.inf if gains > 0 else math.nan,
        round(worst * 100, 2),
        seen,
    )


def beats(result: StageResult, reference: StageResult) -> bool:
    """The rule for automatic activation: out of sample, more R per trade and more R in total."""
    return result.trades > 0 and result.avg_r > reference.avg_r and result.total_r > reference.total_r


def evaluate(
    samples: Sequence[Sample], train: tuple[dt.datetime, dt.datetime], test: tuple[dt.datetime, dt.datetime]
) -> tuple[list[Sample], list[Sample], list[StageResult], WeightSet, Stage3Model | None, dict[int, bool]]:
    """Train on the training window (outcomes known by its end), compare on the test window."""
    lo, hi = to_ms(train[0]), to_ms(train[1])
    train_set = known_by([s for s in samples if lo <= s.decided_ms < hi], hi)
    test_set = [s for s in samples if to_ms(test[0]) <= s.decided_ms < to_ms(test[1])]
    base = stage1()
    weights2 = stage2_weights(train_set, base)
    model = train_stage3(train_set)
    if model is not None and test_set:
        probability = dict(
            zip(
                (id(s) for s in test_set),
                model.probability([s.features() for s in test_set]).tolist(),
                strict=True,
            )
        )
    else:
        probability = {}

    def score1(s: Sample) -> float:
        from qari.analysis.confluence import weighted_score

        return weighted_score(s.layers, base)

    def passes2(s: Sample) -> bool:
        from qari.analysis.confluence import weighted_score

        return weighted_score(s.layers, weights2) >= weights2.threshold

    def passes3(s: Sample) -> bool:
        return model is not None and model.scale(score1(s), probability[id(s)]) >= base.threshold

    results = [
        trade(test_set, lambda s: score1(s) >= base.threshold, 1, 0),
        trade(test_set, passes2, 2, len(train_set)),
        trade(test_set, passes3, 3, model.samples if model else 0),
    ]
    activate = {r.stage: beats(r, results[0]) for r in results[1:]}
    return train_set, test_set, results, weights2, model, activate


def run(
    data_dir: Path,
    pairs: Sequence[str] | None,
    train: tuple[dt.datetime, dt.datetime],
    test: tuple[dt.datetime, dt.datetime],
    workers: int = 1,
) -> Evaluation:
    samples, _, chosen, closes = build_pool(data_dir, pairs, train[0], test[1], workers)
    train_set, test_set, results, weights2, model, activate = evaluate(samples, train, test)
    change = market_change(closes(*test))
    return Evaluation(
        chosen, len(samples), len(train_set), len(test_set), None if change is None else change * 100,
        results, layer_values(train_set), weights2, model, activate,
    )  # fmt: skip


def report(e: Evaluation) -> list[str]:
    lines = [
        f"pairs: {len(e.pairs)}; labelled candidates: {e.pool} "
        f"(train {e.train_samples}, test {e.test_samples})",
        "market change (buy-and-hold, test window): "
        + ("n/a" if e.market_change_pct is None else f"{e.market_change_pct:+.2f} %"),
        "stage  trades  win%   avgR    PF     maxDD%  samples-seen  activate",
    ]  # fmt: skip
    for r in e.results:
        act = "-" if r.stage == 1 else ("yes" if e.activate[r.stage] else "no (does not beat Stage 1)")
        lines.append(
            f"{r.stage:>5}  {r.trades:>6}  {r.win_rate * 100:5.1f}  {r.avg_r:+.3f}  {r.profit_factor:5.2f}  "
            f"{r.max_drawdown_pct:6.2f}  {r.samples_seen:>12}  {act}"
        )
    lines.append("layer predictive value on the training window (agree vs not):")
    lines.append("layer  n_agree  avgR   win%   | n_not  avgR   win%   | stage1 → stage2 points")
    for v in e.layers:
        lines.append(
            f"{v.layer:>5}  {v.agree_n:>7}  {v.agree_avg_r:+.3f} {v.agree_win * 100:5.1f}  | {v.other_n:>5}  "
            f"{v.other_avg_r:+.3f} {v.other_win * 100:5.1f}  | "
            f"{stage1().point(v.layer):.2f} → {e.weights2.point(v.layer):.2f}"
        )
    if e.stage3 is not None:
        lines.append(
            f"stage 3: walk-forward fold AUCs {e.stage3.fold_auc}, base rate {e.stage3.base_rate:.3f}"
        )
    else:
        lines.append("stage 3: not trained (too few samples or one class)")
    return lines


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


async def seed_registry(
    e: Evaluation, train: tuple[dt.datetime, dt.datetime], test: tuple[dt.datetime, dt.datetime]
) -> list[str]:
    """Register Stages 2 and 3 as operator seeds from public history (source "backtest"); a stage is
    activated automatically only when it beat Stage 1 out of sample."""
    from qari.adapters.persistence.db import make_engine, make_sessionmaker, transaction
    from qari.adapters.persistence.learning import activate, register, versions
    from qari.config import load_settings
    from qari.decisions import weights_version

    now = dt.datetime.now(dt.UTC)
    engine = make_engine(load_settings().resolved_database_url)
    lines = []
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            known = {r.version for r in await versions(session)}
            for result in e.results[1:]:
                metrics = {
                    "test_from": test[0].isoformat(), "test_to": test[1].isoformat(), "trades": result.trades,
                    "win_rate": _finite(result.win_rate), "avg_r": _finite(result.avg_r),
                    "profit_factor": _finite(result.profit_factor),
                    "max_drawdown_pct": result.max_drawdown_pct,
                    "stage1_avg_r": _finite(e.results[0].avg_r), "market_change_pct": e.market_change_pct,
                }  # fmt: skip
                weights = e.weights2 if result.stage == 2 else None
                if result.stage == 3 and e.stage3 is None:
                    lines.append("stage 3: no model trained, nothing registered")
                    continue
                if weights is not None and weights_version(weights) in known:
                    lines.append(f"stage {result.stage}: {weights_version(weights)} already registered")
                    continue
                row = await register(
                    session, stage=result.stage, source="backtest", data_from=train[0], data_to=train[1],
                    samples=result.samples_seen, metrics=metrics, now=now, weights=weights,
                    model=e.stage3 if result.stage == 3 else None,
                )  # fmt: skip
                state = "registered, not activated"
                if e.activate.get(result.stage):
                    await activate(session, row.version, actor=None, now=now)
                    state = "registered and activated (beat Stage 1 out of sample)"
                lines.append(f"stage {result.stage}: {row.version} {state}")
    finally:
        await engine.dispose()
    return lines
