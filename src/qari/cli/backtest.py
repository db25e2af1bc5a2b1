"""`qari backtest --data DIR [--pairs ...] [--start] [--end] [--balance 10000] [--out DIR]`."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

PAIRS_HELP = (
    "Pairs to trade, e.g. BTC/USDT ETH (repeat or separate with commas); default: every pair with data."
)


def parse_pairs(values: list[str] | None) -> tuple[str, ...] | None:
    """`BTC`, `BTC_USDT`, `btc/usdt`, `BTC/USDT,ETH` all name USDT pairs; order kept, duplicates dropped."""
    if not values:
        return None
    pairs: list[str] = []
    for value in values:
        for raw in value.replace(",", " ").split():
            name = raw.strip().upper().replace("_", "/")
            if "/" not in name:
                name = f"{name}/USDT"
            if name not in pairs:
                pairs.append(name)
    return tuple(pairs) or None


def parse_time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use e.g. 2024-03-01 or 2024-03-01T12:00", param_hint=option
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_balance(value: str) -> Decimal:
    try:
        balance = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number of USDT", param_hint="--balance") from None
    if not balance.is_finite() or balance <= 0:
        raise typer.BadParameter(
            "the starting balance must be a positive amount of USDT", param_hint="--balance"
        )
    return balance


def backtest(
    data: Annotated[
        Path, typer.Option("--data", help="Directory of candle files (BASE_QUOTE-TF.feather/.json).")
    ],
    pairs: Annotated[list[str] | None, typer.Option("--pairs", help=PAIRS_HELP)] = None,
    start: Annotated[str | None, typer.Option("--start", help="First cycle (UTC ISO date/time).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last cycle (UTC ISO date/time).")] = None,
    balance: Annotated[str, typer.Option("--balance", help="Starting USDT balance.")] = "10000",
    out: Annotated[
        Path, typer.Option("--out", help="Where trades.csv/json, summary.json, report.html go.")
    ] = Path("backtest-out"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Replay candles through the full engine (analysis, gate, orders, exits) and the sandbox's fill model."""
    from qari.backtest.runner import BacktestConfig, BacktestError, run_backtest

    config = BacktestConfig(
        data_dir=data,
        pairs=parse_pairs(pairs),
        start=parse_time(start, "--start"),
        end=parse_time(end, "--end"),
        balance=parse_balance(balance),
    )
    try:
        result = asyncio.run(run_backtest(config, progress=not quiet))
    except BacktestError as e:
        typer.echo(f"qari backtest: {e}", err=True)
        sys.exit(2)
    paths = result.write(out)
    s = result.summary
    pf = "—" if s.profit_factor is None else f"{s.profit_factor:.2f}"
    typer.echo(
        f"{s.trades} trades, win rate {s.win_rate * 100:.1f} %, avg R {s.average_r:.2f}, profit factor {pf}, "
        f"max drawdown {s.max_drawdown_pct:.2f} %, net {s.net_pnl_usdt:.2f} USDT"
    )
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
