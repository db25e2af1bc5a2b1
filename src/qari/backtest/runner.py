"""Backtest runner: the engine built in backtest mode (`backtest.wiring.build_backtest`), driven over
history by its own scheduler, then the journal read back as trades.

Nothing here decides anything: analysis, gate, orders and exits are the engine's; fills are the
sandbox's matching engine. The runner only picks the period, drives the clock, and reports.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from qari.backtest.data import BacktestError, MarketData, load_market_data
from qari.backtest.metrics import (
    EquityPoint,
    OpenPosition,
    Summary,
    TradeRecord,
    market_change,
    summarise,
)
from qari.backtest.outputs import write_outputs
from qari.backtest.report import PriceSeries
from qari.config import load_settings
from qari.core.time import to_ms
from qari.risk.checks import CHECK_TITLES
from qari.trading.position import Position

__all__ = ["BacktestConfig", "BacktestError", "BacktestResult", "run_backtest"]

ZERO = Decimal(0)
PRICE_POINTS = 4000


def default_workers() -> int:
    """One analysis process per CPU where processes can be forked (Linux); in-line elsewhere."""
    return (os.cpu_count() or 1) if "fork" in multiprocessing.get_all_start_methods() else 1


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    data_dir: Path
    pairs: tuple[str, ...] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    balance: Decimal = Decimal(10000)
    analysis_workers: int = field(default_factory=default_workers)


@dataclass(slots=True)
class BacktestResult:
    summary: Summary
    trades: list[TradeRecord]
    equity: list[EquityPoint]
    prices: dict[str, PriceSeries] = field(default_factory=dict)
    candles: int = 0

    def write(self, out_dir: Path) -> dict[str, Path]:
        return write_outputs(out_dir, self.summary, self.trades, self.equity, self.prices)


def layers_agreed(layer_results: list[dict[str, Any]]) -> tuple[int, ...]:
    return tuple(int(r["layer"]) for r in layer_results if r.get("vote") == "agree" and "layer" in r)


def _trade(position: Any, fills: list[Any]) -> TradeRecord | None:
    buys = [f for f in fills if str(f.side) == "buy"]
    if not buys or position.closed_at is None:
        return None
    sold = position.sold_qty
    exit_price = (position.proceeds_quote / sold) if sold > 0 else ZERO
    entry = position.blended_entry or position.entry_price
    return TradeRecord(
        symbol=position.symbol,
        entry_time=min(f.at for f in buys),
        exit_time=position.closed_at,
        entry_price=entry,
        exit_price=exit_price.quantize(Decimal("0.00000001")) if exit_price else ZERO,
        quantity=position.bought_qty,
        initial_stop=position.structural_stop,
        pt1=position.pt1,
        pt2=position.pt2,
        exit_reason=position.exit_reason or "unknown",
        pnl_usdt=position.realised_pnl_quote if position.realised_pnl_quote is not None else ZERO,
        r_multiple=position.realised_r if position.realised_r is not None else ZERO,
        fees_usdt=position.fees_quote,
        layers_agreed=layers_agreed(position.layer_results),
        explanation=position.explanation,
        legs_filled=len({f.order_id for f in buys}),
    )


def _open_position(position: Any, fills: list[Any], mark: Decimal) -> OpenPosition:
    """Marked to `mark` (`Position.unrealised_pnl`); nothing when no buy filled."""
    buys = [f for f in fills if str(f.side) == "buy"]
    entry = position.blended_entry or position.entry_price
    value = Position(position).unrealised_pnl(mark)
    return OpenPosition(
        symbol=position.symbol,
        entry_time=min((f.at for f in buys), default=position.opened_at),
        entry_price=entry,
        quantity=position.held_qty,
        stop=position.stop_price,
        mark_price=mark,
        unrealised_pnl_usdt=value if buys else ZERO,
    )


async def journal_trades(
    store: Any, user_id: int, mark: Callable[[str], Decimal] | None = None
) -> tuple[list[TradeRecord], list[OpenPosition]]:
    """Closed positions with at least one buy fill, oldest entry first; plus those still open, each
    marked to `mark(symbol)` (the last price)."""
    trades: list[TradeRecord] = []
    still_open: list[OpenPosition] = []
    for position in await store.all_positions(user_id):
        fills = await store.fills_for(position.id)
        if position.closed_at is None:
            price = mark(position.symbol) if mark is not None else position.entry_price
            still_open.append(_open_position(position, fills, price))
            continue
        trade = _trade(position, fills)
        if trade is not None:
            trades.append(trade)
    trades.sort(key=lambda t: (t.entry_time, t.symbol))
    still_open.sort(key=lambda p: (p.entry_time, p.symbol))
    return trades, still_open


def first_and_last_closes(market: MarketData) -> dict[str, tuple[float, float]]:
    """Each traded pair's first and last entry-timeframe close within the period."""
    lo, hi = to_ms(market.start), to_ms(market.end)
    out: dict[str, tuple[float, float]] = {}
    for symbol in market.pairs:
        series = market.series[symbol][market.entry_timeframe]
        close = series.close[(series.ts >= lo) & (series.ts < hi)]
        if len(close):
            out[symbol] = (float(close[0]), float(close[-1]))
    return out


def precision_of(venue: Any, symbols: set[str]) -> dict[str, dict[str, str]]:
    """The venue's price tick and amount step per symbol: what a price or quantity is shown to."""
    out: dict[str, dict[str, str]] = {}
    listed = set(venue.instruments())
    for symbol in sorted(symbols & listed):
        instrument = venue.instrument(symbol)
        out[symbol] = {"price": str(instrument.tick_size), "amount": str(instrument.base_precision)}
    return out


def price_series(market: MarketData, symbols: set[str]) -> dict[str, PriceSeries]:
    """Close prices over the period for the report's charts, thinned to a few thousand points."""
    lo, hi = to_ms(market.start), to_ms(market.end)
    out: dict[str, PriceSeries] = {}
    for symbol in sorted(symbols):
        series = market.series[symbol][market.entry_timeframe]
        mask = (series.ts >= lo) & (series.ts <= hi)
        ts, close = series.ts[mask], series.close[mask]
        step = max(1, len(ts) // PRICE_POINTS)
        out[symbol] = [(int(t), float(c)) for t, c in zip(ts[::step], close[::step], strict=True)]
    return out


async def run_backtest(
    config: BacktestConfig,
    *,
    progress: bool = False,
    on_cycle: Callable[[dt.datetime], None] | None = None,
) -> BacktestResult:
    from qari.backtest.wiring import build_backtest

    market = load_market_data(config.data_dir, config.pairs, config.start, config.end)
    settings = load_settings(engine_mode="off")
    run = await build_backtest(
        settings, market=market, balance=config.balance, analysis_workers=config.analysis_workers
    )
    bar = _progress_bar(market) if progress else None

    def tick(at: dt.datetime) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{at:%Y-%m-%d %H:%M} UTC", refresh=False)
            bar.update(market.candles_until(at) - bar.n)
        if on_cycle is not None:
            on_cycle(at)

    run.recorder.on_cycle = tick
    try:
        await run.engine.run(until=market.end)
        trades, still_open = await journal_trades(run.store, run.user_id, run.venue.price)
    finally:
        if bar is not None:
            bar.close()
        await run.engine.stop()
    recorder = run.recorder
    summary = summarise(
        trades,
        recorder.equity,
        start_balance=config.balance,
        gate_blocks=dict(recorder.gate_blocks),
        extra={
            "pairs": list(market.pairs),
            "entry_timeframe": market.entry_timeframe,
            "cycles": recorder.cycles,
            "candidates_passed_gate": recorder.gate_passed,
            "open_positions_at_end": len(still_open),
            "candles": market.candle_count(),
        },
        market_change_pct=_pct(market_change(first_and_last_closes(market))),
        open_positions=still_open,
        gate_block_names=CHECK_TITLES,
        precision=precision_of(run.venue, set(market.pairs)),
    )
    prices = price_series(market, {t.symbol for t in trades})
    return BacktestResult(summary, trades, recorder.equity, prices, market.candle_count())


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100


def _progress_bar(market: MarketData) -> Any:
    """Progress in candles replayed, with the replay's date (not seconds of market time)."""
    from tqdm import tqdm

    return tqdm(
        total=market.candle_count(),
        desc=f"backtest {market.start:%Y-%m-%d} → {market.end:%Y-%m-%d}",
        bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} candles{postfix} [{elapsed}<{remaining}]",
        postfix=f"{market.start:%Y-%m-%d %H:%M} UTC",
        leave=False,
        dynamic_ncols=True,
    )
