"""`qari backtest --datadir DIR [--pairs A/USDT B/USDT] [--timerange 20240101-20240301] [--out DIR]`."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from qari.cli.options import DATA_DIR_NAMES, PAIRS_METAVAR, TIMERANGE_HELP, parse_pairs, period

PAIRS_HELP = (
    "Pairs to trade, space-separated, e.g. --pairs BTC/USDT ETH/USDT (BTC alone means BTC/USDT); "
    "default: every pair with data."
)


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
        Path,
        typer.Option(*DATA_DIR_NAMES, help="Directory of candle files (BASE_QUOTE-TF.feather/.json)."),
    ],
    pairs: Annotated[
        list[str] | None, typer.Option("--pairs", "-p", metavar=PAIRS_METAVAR, help=PAIRS_HELP)
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First cycle (UTC ISO date/time).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last cycle (UTC ISO date/time).")] = None,
    timerange: Annotated[
        str | None, typer.Option("--timerange", metavar="YYYYMMDD-YYYYMMDD", help=TIMERANGE_HELP)
    ] = None,
    balance: Annotated[str, typer.Option("--balance", help="Starting USDT balance.")] = "10000",
    out: Annotated[
        Path, typer.Option("--out", help="Where trades.csv/json, summary.json, report.html go.")
    ] = Path("backtest-out"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Replay candles through the full engine (analysis, gate, orders, exits) and the sandbox's fill model."""
    from qari.backtest.report import equity_bridge, headline_text, money, to_step
    from qari.backtest.runner import BacktestConfig, BacktestError, run_backtest

    first, last = period(start, end, timerange)
    config = BacktestConfig(
        data_dir=data, pairs=parse_pairs(pairs), start=first, end=last, balance=parse_balance(balance)
    )
    try:
        result = asyncio.run(run_backtest(config, progress=not quiet))
    except BacktestError as e:
        typer.echo(f"qari backtest: {e}", err=True)
        sys.exit(2)
    paths = result.write(out)
    s = result.summary
    typer.echo(headline_text(s))
    typer.echo(f"  {equity_bridge(s)}")
    for p in s.open_positions:
        step = s.precision.get(p.symbol, {})
        typer.echo(
            f"  open at end: {p.symbol} {to_step(p.quantity, step.get('amount'))} from "
            f"{to_step(p.entry_price, step.get('price'))}, last {to_step(p.mark_price, step.get('price'))}, "
            f"unrealised {money(p.unrealised_pnl_usdt)} USDT"
        )
    if s.gate_blocks:
        blocked = ", ".join(
            f"{code} {s.gate_block_names.get(code, '')} ×{n}".replace("  ", " ")
            for code, n in sorted(s.gate_blocks.items(), key=lambda kv: -kv[1])
        )
        typer.echo(f"  gate blocks: {blocked}")
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
