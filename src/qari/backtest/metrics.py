"""Backtest figures from closed trades and the equity curve: what summary.json reports.

Money stays `Decimal`; ratios (win rate, Sharpe, exposure) are plain floats.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One closed trade as the backtest reports it (trades.csv / trades.json)."""

    symbol: str
    entry_time: dt.datetime
    exit_time: dt.datetime
    entry_price: Decimal  # blended over the filled legs
    exit_price: Decimal  # blended over the exits
    quantity: Decimal
    initial_stop: Decimal
    pt1: Decimal
    pt2: Decimal
    exit_reason: str
    pnl_usdt: Decimal
    r_multiple: Decimal
    fees_usdt: Decimal
    layers_agreed: tuple[int, ...]
    explanation: str
    legs_filled: int = 1

    def as_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "entry_time": self.entry_time.isoformat(),
            "exit_time": self.exit_time.isoformat(),
            "entry_price": str(self.entry_price),
            "exit_price": str(self.exit_price),
            "quantity": str(self.quantity),
            "initial_stop": str(self.initial_stop),
            "pt1": str(self.pt1),
            "pt2": str(self.pt2),
            "exit_reason": self.exit_reason,
            "pnl_usdt": str(self.pnl_usdt),
            "r_multiple": str(self.r_multiple),
            "fees_usdt": str(self.fees_usdt),
            "layers_agreed": list(self.layers_agreed),
            "legs_filled": self.legs_filled,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position still open when the backtest ends, marked to the last price (not a closed trade)."""

    symbol: str
    entry_time: dt.datetime
    entry_price: Decimal  # blended over the filled legs (the Leg 1 limit while nothing filled)
    quantity: Decimal  # base still held
    stop: Decimal
    mark_price: Decimal
    unrealised_pnl_usdt: Decimal  # held value at the mark + proceeds - cost - fees

    def as_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "entry_time": self.entry_time.isoformat(),
            "entry_price": str(self.entry_price),
            "quantity": str(self.quantity),
            "stop": str(self.stop),
            "mark_price": str(self.mark_price),
            "unrealised_pnl_usdt": str(self.unrealised_pnl_usdt),
        }


@dataclass(frozen=True, slots=True)
class EquityPoint:
    at: dt.datetime
    equity: Decimal
    exposed: bool  # at least one open position at this moment


@dataclass(frozen=True, slots=True)
class Summary:
    trades: int
    wins: int
    losses: int
    win_rate: float
    average_r: float
    expectancy_r: float
    expectancy_usdt: Decimal
    profit_factor: float | None  # None when there is no losing trade
    gross_profit_usdt: Decimal
    gross_loss_usdt: Decimal
    net_pnl_usdt: Decimal
    fees_usdt: Decimal
    start_balance_usdt: Decimal
    end_equity_usdt: Decimal
    return_pct: float
    max_drawdown_pct: float
    max_drawdown_usdt: Decimal
    sharpe: float
    exposure_pct: float
    exit_reasons: dict[str, int]
    gate_blocks: dict[str, int]
    start: dt.datetime | None
    end: dt.datetime | None
    extra: dict[str, object] = field(default_factory=dict)
    market_change_pct: float | None = None  # buy-and-hold over the same pairs and period
    open_positions: tuple[OpenPosition, ...] = ()
    gate_block_names: dict[str, str] = field(default_factory=dict)  # code -> check title
    precision: dict[str, dict[str, str]] = field(default_factory=dict)  # symbol -> price/amount step

    @property
    def unrealised_pnl_usdt(self) -> Decimal:
        return sum((p.unrealised_pnl_usdt for p in self.open_positions), ZERO)

    @property
    def other_equity_usdt(self) -> Decimal:
        """End equity not explained by closed trades or open positions: coin dust exits leave behind
        (amount-step rounding) and fee rounding."""
        return self.end_equity_usdt - self.start_balance_usdt - self.net_pnl_usdt - self.unrealised_pnl_usdt

    def as_dict(self) -> dict[str, object]:
        return {
            "trades": self.trades,
            "wins": self.wins,
            "losses": self.losses,
            "win_rate": round(self.win_rate, 6),
            "average_r": round(self.average_r, 6),
            "expectancy_r": round(self.expectancy_r, 6),
            "expectancy_usdt": str(self.expectancy_usdt),
            "profit_factor": None if self.profit_factor is None else round(self.profit_factor, 6),
            "gross_profit_usdt": str(self.gross_profit_usdt),
            "gross_loss_usdt": str(self.gross_loss_usdt),
            "net_pnl_usdt": str(self.net_pnl_usdt),
            "fees_usdt": str(self.fees_usdt),
            "start_balance_usdt": str(self.start_balance_usdt),
            "end_equity_usdt": str(self.end_equity_usdt),
            "return_pct": round(self.return_pct, 6),
            "max_drawdown_pct": round(self.max_drawdown_pct, 6),
            "max_drawdown_usdt": str(self.max_drawdown_usdt),
            "sharpe": round(self.sharpe, 6),
            "exposure_pct": round(self.exposure_pct, 6),
            "exit_reasons": dict(sorted(self.exit_reasons.items())),
            "gate_blocks": dict(sorted(self.gate_blocks.items())),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            **self.extra,
            "market_change_pct": None if self.market_change_pct is None else round(self.market_change_pct, 6),
            "open_positions": [p.as_dict() for p in self.open_positions],
            "unrealised_pnl_usdt": str(self.unrealised_pnl_usdt),
            "other_equity_usdt": str(self.other_equity_usdt),
            "gate_block_names": dict(sorted(self.gate_block_names.items())),
            "precision": dict(sorted(self.precision.items())),
        }


def max_drawdown(equity: Sequence[Decimal]) -> tuple[float, Decimal]:
    """Largest peak-to-trough fall, as a fraction of the peak and in USDT."""
    peak = None
    worst_pct = 0.0
    worst_abs = ZERO
    for value in equity:
        if peak is None or value > peak:
            peak = value
        if peak is not None and peak > 0:
            fall = peak - value
            if fall > worst_abs:
                worst_abs = fall
            worst_pct = max(worst_pct, float(fall / peak))
    return worst_pct, worst_abs


def drawdown_series(equity: Sequence[Decimal]) -> list[float]:
    """Drawdown from the running peak at each point, as a fraction (0 at a new high)."""
    out: list[float] = []
    peak: Decimal | None = None
    for value in equity:
        peak = value if peak is None or value > peak else peak
        out.append(float((peak - value) / peak) if peak > 0 else 0.0)
    return out


def daily_returns(points: Sequence[EquityPoint]) -> list[float]:
    """Returns between the last equity of consecutive UTC days."""
    last_per_day: dict[dt.date, Decimal] = {}
    for point in points:
        last_per_day[point.at.date()] = point.equity
    values = [last_per_day[d] for d in sorted(last_per_day)]
    return [float(b / a - 1) for a, b in itertools.pairwise(values) if a > 0]


def sharpe_ratio(returns: Sequence[float], periods_per_year: int = 365) -> float:
    """Annualised Sharpe of daily returns (crypto trades every day), risk-free rate 0."""
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return 0.0
    return mean / math.sqrt(variance) * math.sqrt(periods_per_year)


def market_change(first_last: Mapping[str, tuple[float, float]]) -> float | None:
    """freqtrade's "Market change": the mean over pairs of (last close / first close - 1), as a fraction."""
    changes = [last / first - 1 for first, last in first_last.values() if first > 0]
    return sum(changes) / len(changes) if changes else None


def summarise(
    trades: Sequence[TradeRecord],
    equity: Sequence[EquityPoint],
    *,
    start_balance: Decimal,
    gate_blocks: Mapping[str, int] | Iterable[str] = (),
    extra: dict[str, object] | None = None,
    market_change_pct: float | None = None,
    open_positions: Sequence[OpenPosition] = (),
    gate_block_names: Mapping[str, str] | None = None,
    precision: Mapping[str, Mapping[str, str]] | None = None,
) -> Summary:
    wins = [t for t in trades if t.pnl_usdt > 0]
    losses = [t for t in trades if t.pnl_usdt <= 0]
    gross_profit = sum((t.pnl_usdt for t in wins), ZERO)
    gross_loss = -sum((t.pnl_usdt for t in losses), ZERO)
    net = gross_profit - gross_loss
    count = len(trades)
    r_values = [float(t.r_multiple) for t in trades]
    end_equity = equity[-1].equity if equity else start_balance + net
    dd_pct, dd_abs = max_drawdown([start_balance, *(p.equity for p in equity)])
    blocks = Counter(gate_blocks) if not isinstance(gate_blocks, Mapping) else Counter(dict(gate_blocks))
    return Summary(
        trades=count,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / count if count else 0.0,
        average_r=sum(r_values) / count if count else 0.0,
        expectancy_r=sum(r_values) / count if count else 0.0,
        expectancy_usdt=(net / count).quantize(Decimal("0.00000001")) if count else ZERO,
        profit_factor=float(gross_profit / gross_loss) if gross_loss > 0 else None,
        gross_profit_usdt=gross_profit,
        gross_loss_usdt=gross_loss,
        net_pnl_usdt=net,
        fees_usdt=sum((t.fees_usdt for t in trades), ZERO),
        start_balance_usdt=start_balance,
        end_equity_usdt=end_equity,
        return_pct=float(end_equity / start_balance - 1) * 100 if start_balance > 0 else 0.0,
        max_drawdown_pct=dd_pct * 100,
        max_drawdown_usdt=dd_abs,
        sharpe=sharpe_ratio(daily_returns(equity)),
        exposure_pct=(sum(1 for p in equity if p.exposed) / len(equity) * 100) if equity else 0.0,
        exit_reasons=dict(Counter(t.exit_reason for t in trades)),
        gate_blocks=dict(blocks),
        start=equity[0].at if equity else None,
        end=equity[-1].at if equity else None,
        extra=extra or {},
        market_change_pct=market_change_pct,
        open_positions=tuple(open_positions),
        gate_block_names={c: n for c, n in (gate_block_names or {}).items() if c in blocks},
        precision={s: dict(p) for s, p in (precision or {}).items()},
    )
