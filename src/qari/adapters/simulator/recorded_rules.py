"""Real instrument rules recorded from venues, for the sandbox to list a pair the way the venue does.

Binance spot: the `PRICE_FILTER` (tickSize), `LOT_SIZE` (stepSize, minQty, maxQty) and `NOTIONAL`
(minNotional, maxNotional) filters of the spot pairs in ccxt's static market fixture
`ts/src/test/static/markets/binance.json` (https://github.com/ccxt/ccxt, commit
0dca8ac0a3ce97d642fd9973b3121c2d6e3e3063; each market's `info` is Binance's `GET /api/v3/exchangeInfo`
entry). A pair not recorded here keeps the sandbox's formula (`exchange.make_instrument`).
"""

from __future__ import annotations

from decimal import Decimal

from qari.adapters.simulator.matching import Instrument

BINANCE_SOURCE = "Binance exchangeInfo via ccxt static markets/binance.json @0dca8ac0"

# symbol: (tickSize, stepSize, minQty, maxQty, minNotional, maxNotional)
_BINANCE_SPOT: dict[str, tuple[str, str, str, str, str, str]] = {
    "BTC/USDT": ("0.01", "0.00001", "0.00001", "9000", "5", "9000000"),
    "ETH/USDT": ("0.01", "0.0001", "0.0001", "9000", "5", "9000000"),
    "ADA/USDT": ("0.0001", "0.1", "0.1", "900000", "5", "9000000"),
    "LTC/USDT": ("0.01", "0.001", "0.001", "90000", "5", "9000000"),
    "XRP/USDT": ("0.0001", "1", "1", "9222449", "5", "9000000"),
    "DOGE/USDT": ("0.00001", "1", "1", "9000000", "5", "9000000"),
    "TRX/USDT": ("0.00001", "0.1", "0.1", "9000000", "5", "9000000"),
}


def binance_spot_rules() -> dict[str, Instrument]:
    """The recorded Binance spot pairs as sandbox instruments (quote amounts to 8 decimals, as Binance)."""
    out = {}
    for symbol, (tick, step, min_qty, max_qty, min_notional, max_notional) in _BINANCE_SPOT.items():
        base, quote = symbol.split("/")
        out[symbol] = Instrument(
            symbol=symbol,
            venue_id=f"{base}{quote}",
            base=base,
            quote=quote,
            tick_size=Decimal(tick),
            base_precision=Decimal(step),
            quote_precision=Decimal("0.00000001"),
            min_order_qty=Decimal(min_qty),
            max_order_qty=Decimal(max_qty),
            min_order_amt=Decimal(min_notional),
            max_order_amt=Decimal(max_notional),
            source=BINANCE_SOURCE,
        )
    return out


def recorded_rules(protocol: str) -> dict[str, Instrument]:
    """The recorded rules a sandbox speaking `protocol` lists its pairs with (none: every pair by formula)."""
    return binance_spot_rules() if protocol == "binance" else {}
