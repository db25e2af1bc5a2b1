"""`qari download-data --exchange bybit --pairs BTC/USDT ETH/USDT --timeframes 15m 4h 1d --days 30`.

freqtrade's command and file layout (`<datadir>/BTC_USDT-15m.feather`), public market data through
ccxt (no key). `--exchange-url` (or QARI_EXCHANGE_URL) points the exchange's API at another host, e.g.
a local sandbox.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qari.cli.options import PAIRS_METAVAR, TIMERANGE_HELP, parse_pairs, parse_timerange

if TYPE_CHECKING:
    from qari.market.download import Downloaded

DEFAULT_TIMEFRAMES = ("15m", "4h", "1d")
DEFAULT_DAYS = 30


def _exchange(name: str, url: str | None) -> Any:
    from qari.adapters.exchanges.capabilities import capabilities_for
    from qari.adapters.exchanges.ccxt_instances import build_ccxt

    try:
        caps = capabilities_for(name)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--exchange") from None
    if url is None and caps.id == "sandbox":
        from qari.adapters.simulator.app import sandbox_base_url
        from qari.config import load_settings

        url = sandbox_base_url(load_settings())
    return build_ccxt(caps, base_url=url, timeout_ms=30_000)


def download_data(
    pairs: Annotated[
        list[str],
        typer.Option(
            "--pairs", "-p", metavar=PAIRS_METAVAR, help="Pairs, space-separated: --pairs BTC/USDT ETH/USDT."
        ),
    ],
    exchange: Annotated[
        str,
        typer.Option("--exchange", help="bybit, binance, okx, kucoin, gate, bitget, mexc, htx or sandbox."),
    ] = "bybit",
    timeframes: Annotated[
        list[str] | None,
        typer.Option(
            "--timeframes", "-t", metavar="TF ...", help="Timeframes, space-separated (default: 15m 4h 1d)."
        ),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help=f"The last N days (default {DEFAULT_DAYS}).")
    ] = None,
    timerange: Annotated[
        str | None, typer.Option("--timerange", metavar="YYYYMMDD-YYYYMMDD", help=TIMERANGE_HELP)
    ] = None,
    datadir: Annotated[
        Path | None,
        typer.Option(
            "--datadir",
            "--data",
            help="Where the files go (default: $QARI_DATA_DIR/data/<exchange>, i.e. var/data/<exchange>).",
        ),
    ] = None,
    exchange_url: Annotated[
        str | None,
        typer.Option(
            "--exchange-url",
            envvar="QARI_EXCHANGE_URL",
            help="Base URL to send the exchange's API calls to instead of its own (e.g. a local sandbox).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Download closed candles into freqtrade-style feather files; fetches only what the files lack."""
    wanted = parse_pairs(pairs)
    if wanted is None:
        raise typer.BadParameter("name at least one pair, e.g. --pairs BTC/USDT", param_hint="--pairs")
    frames = tuple(dict.fromkeys(t for value in timeframes or DEFAULT_TIMEFRAMES for t in value.split(",")))
    if days is not None and timerange is not None:
        raise typer.BadParameter("give either --days or --timerange, not both", param_hint="--days")
    start, end = parse_timerange(timerange)
    folder = datadir or _default_datadir(exchange)
    client = _exchange(exchange, exchange_url)

    async def run() -> list[Downloaded]:
        from qari.market.download import download

        bar: Any = None

        def planned(total: int) -> None:
            nonlocal bar
            if not quiet and total:
                from tqdm import tqdm

                bar = tqdm(total=total, unit=" candles", desc="download", dynamic_ncols=True, leave=False)

        def progress(label: str, n: int) -> None:
            if bar is not None:
                bar.set_postfix_str(label, refresh=False)
                bar.update(n)

        try:
            return await download(
                client,
                wanted,
                frames,
                start,
                end,
                folder,
                days=days or DEFAULT_DAYS,
                progress=progress,
                planned=planned,
            )
        finally:
            if bar is not None:
                bar.close()
            await client.close()

    for r in _or_exit(exchange, run()):
        span = f"{r.first:%Y-%m-%d %H:%M} → {r.last:%Y-%m-%d %H:%M} UTC" if r.first and r.last else "empty"
        typer.echo(f"{r.symbol} {r.timeframe}: +{r.added} candles, {r.total} in {r.path} ({span})")


def _default_datadir(exchange: str) -> Path:
    """freqtrade's `user_data/data/<exchange>`, under this install's data directory."""
    from qari.config import ConfigError, get_settings

    try:
        return get_settings().data_dir / "data" / exchange
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)


def _or_exit(exchange: str, work: Coroutine[Any, Any, list[Downloaded]]) -> list[Downloaded]:
    """Run the download; what goes wrong is one line and exit status 2 (input) or 1 (network)."""
    import ccxt

    from qari.market.download import DownloadError

    try:
        return asyncio.run(work)
    except DownloadError as e:
        message, code = str(e), 2
    except ccxt.BadSymbol as e:
        message, code = f"{exchange} does not list that pair ({e})", 2
    except ccxt.ExchangeError as e:
        message, code = f"{exchange} refused the request ({type(e).__name__}: {e})", 2
    except ccxt.NetworkError as e:
        message, code = f"cannot reach {exchange} ({type(e).__name__}: {e})", 1
    typer.echo(f"qari download-data: {message}", err=True)
    sys.exit(code)
