"""`qari sandbox`: the sandbox exchange alone, speaking Bybit v5 spot (the default), Binance spot or OKX
v5 spot at the root of its base URL."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer

from qari.cli.options import DATA_DIR_NAMES
from qari.config import ConfigError
from qari.core.time import parse_utc

_BANNER = {"bybit": "Bybit v5 spot", "binance": "Binance spot (/api/v3)", "okx": "OKX v5 spot (/api/v5)"}


def sandbox(
    protocol: str = typer.Option(
        "bybit", "--protocol", help="Wire protocol to speak: bybit (v5), binance (spot /api/v3) or okx (v5)."
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8100, min=1, max=65535, help="TCP port."),
    data: Path | None = typer.Option(
        None,
        *DATA_DIR_NAMES,
        help="Replay freqtrade candle files (BASE_QUOTE-TF.feather/.json/.json.gz) from DIR.",
    ),
    start: str | None = typer.Option(
        None, "--start", help="With --data: start the replay at this UTC moment of the data (ISO time)."
    ),
    synthetic: int | None = typer.Option(
        None, "--synthetic", help="Seeded synthetic market (the default, seed 7)."
    ),
    speed: float = typer.Option(1.0, min=0.001, help="Market clock speed relative to the real time."),
    stepped: bool = typer.Option(False, help="Hold the market clock; move it with POST /admin/clock."),
    rate_limits: bool = typer.Option(
        False, help="Enforce per-key limits (20 order calls/s, 50 reads/s; Bybit 10006, Binance -1003)."
    ),
    admin_token: str | None = typer.Option(
        None,
        envvar="QARI_SANDBOX_ADMIN_TOKEN",
        help="Bearer token of the admin API (default: a random one, printed at start).",
    ),
) -> None:
    """Run the sandbox exchange (admin API at /admin, for the admin token's holder only)."""
    import secrets

    import uvicorn

    from qari.adapters.simulator.app import build_venue, create_sandbox_app
    from qari.core.clocks import WallClock
    from qari.core.time import to_ms

    if protocol not in _BANNER:
        typer.echo(f"qari sandbox: --protocol {protocol!r}: use one of {', '.join(_BANNER)}", err=True)
        sys.exit(2)
    if data is not None and synthetic is not None:
        typer.echo("qari sandbox: use either --data DIR or --synthetic SEED, not both", err=True)
        sys.exit(2)
    if data is not None and not data.is_dir():
        typer.echo(f"qari sandbox: --data {data} is not a directory", err=True)
        sys.exit(2)
    if start is not None and (data is None or stepped):
        typer.echo("qari sandbox: --start needs --data and a running (not --stepped) clock", err=True)
        sys.exit(2)
    try:
        venue = build_venue(
            data_dir=data,
            synthetic_seed=7 if synthetic is None else synthetic,
            speed=speed,
            stepped_start_ms=to_ms(WallClock().now()) if stepped else None,
            rate_limits=rate_limits,
            replay_start_ms=None if start is None else to_ms(parse_start(start)),
            protocol=protocol,
        )
    except (ValueError, ConfigError) as e:
        typer.echo(f"qari sandbox: {e}", err=True)
        sys.exit(2)
    base = f"http://{host}:{port}"
    instruments = venue.exchange.instruments()
    symbols = ", ".join(sorted(instruments)[:8])
    typer.echo(f"qari sandbox: {_BANNER[protocol]} at {base} ({len(instruments)} symbols: {symbols} …)")
    recorded = sorted(s for s, i in instruments.items() if i.source != "formula")
    if recorded:
        source = instruments[recorded[0]].source
        typer.echo(f"  instrument rules: {', '.join(recorded)} recorded ({source}); others by formula")
    token = admin_token or secrets.token_urlsafe(32)
    shown = token if admin_token is None else "$QARI_SANDBOX_ADMIN_TOKEN"
    typer.echo(
        f"  create a key: curl -s -X POST {base}/admin/keys -H 'content-type: application/json' "
        f"-H 'Authorization: Bearer {shown}' "
        + (
            """-d '{"balances": {"USDT": "10000"}, "passphrase": "Choose1"}'"""
            if protocol == "okx"
            else """-d '{"balances": {"USDT": "10000"}}'"""
        )
    )
    uvicorn.run(
        create_sandbox_app(venue, admin_token=token),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def parse_start(value: str) -> dt.datetime:
    try:
        return parse_utc(value)
    except ValueError:
        raise ValueError(f"--start {value!r} is not a time; use e.g. 2024-08-08T16:45") from None
