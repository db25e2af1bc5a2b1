"""Real instrument rules recorded from venues, for the sandbox to list a pair the way the venue does.

Binance spot: the `PRICE_FILTER` (tickSize), `LOT_SIZE` (stepSize, minQty, maxQty) and `NOTIONAL`
(minNotional, maxNotional) filters of the spot pairs in ccxt's static market fixture
`ts/src/test/static/markets/binance.json` (https://github.com/ccxt/ccxt, commit
0dca8ac0a3ce97d642fd9973b3121c2d6e3e3063; each market's `info` is Binance's `GET /api/v3/exchangeInfo`
entry).

OKX spot: `tickSz`, `lotSz`, `minSz`, `maxLmtSz` and `maxMktAmt` of the spot pairs in ccxt's static
market fixture `ts/src/test/static/markets/okx.json` (same repository, commit
3802e1a243497a0ffd025df7a97023315217391f; each `info` is OKX's `GET /api/v5/public/instruments`
entry). OKX sets no minimum order value on spot, so none is applied.

A pair not recorded here keeps the sandbox's formula (`exchange.make_instrument`).
"""

from __future__ import annotations

from decimal import Decimal

from qari.adapters.simulator.matching import Instrument

BINANCE_SOURCE = "Binance exchangeInfo via ccxt static markets/binance.json @0dca8ac0"
OKX_SOURCE = "OKX public/instruments via ccxt static markets/okx.json @3802e1a2"

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

# symbol: (tickSz, lotSz, minSz, maxLmtSz, minimum order value, maxMktAmt)
_OKX_SPOT: dict[str, tuple[str, str, str, str, str, str]] = {
    "BTC/USDT": ("0.1", "0.00000001", "0.00001", "9999999999", "0", "1000000"),
    "ETH/USDT": ("0.01", "0.000001", "0.0001", "999999999999", "0", "1000000"),
    "ADA/USDT": ("0.0001", "0.0001", "10", "99999999999999", "0", "1000000"),
    "LTC/USDT": ("0.01", "0.000001", "0.01", "999999999999", "0", "1000000"),
    "XRP/USDT": ("0.0001", "0.000001", "1", "999999999999", "0", "1000000"),
    "DOGE/USDT": ("0.00001", "0.000001", "10", "999999999999", "0", "1000000"),
    "TRX/USDT": ("0.00001", "0.000001", "1", "999999999999", "0", "1000000"),
}


def _rules(table: dict[str, tuple[str, str, str, str, str, str]], source: str) -> dict[str, Instrument]:
    out = {}
    for symbol, (tick, step, min_qty, max_qty, min_value, max_value) in table.items():
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
            min_order_amt=Decimal(min_value),
            max_order_amt=Decimal(max_value),
            source=source,
        )
    return out


def binance_spot_rules() -> dict[str, Instrument]:
    """The recorded Binance spot pairs as sandbox instruments (quote amounts to 8 decimals, as Binance)."""
    return _rules(_BINANCE_SPOT, BINANCE_SOURCE)


def recorded_rules(protocol: str) -> dict[str, Instrument]:
    """The recorded rules a sandbox speaking `protocol` lists its pairs with (none: every pair by formula)."""
    if protocol == "binance":
        return binance_spot_rules()
    if protocol == "okx":
        return _rules(_OKX_SPOT, OKX_SOURCE)
    return {}
