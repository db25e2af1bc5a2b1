"""The web and engine side of the signer: `SignerClient` asks it for calls; `SignerExchangeClient` is an
`ExchangeClient` whose private calls the signer performs, so the engine code is unchanged.

Public market data (markets, tickers, books, candles) needs no key and stays in the caller, on its
shared venue; only calls that need the key cross the socket. A socket without a signer behind it
fails closed: `SignerUnavailableError`, nothing signed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient
from qari.adapters.exchanges.keys import KeyCheck
from qari.adapters.signer.protocol import (
    KEY_CHECK,
    ORDER_REQUEST,
    RESULTS,
    SignerError,
    SignerOutcomeUnknownError,
    SignerUnavailableError,
    raise_error,
    read_frame,
    sealed_from_json,
    write_frame,
)
from qari.adapters.vault import SealedSecret
from qari.core.instrument import InstrumentRules
from qari.core.market import OrderBook, Ticker
from qari.core.orders import Balance, Fill, OrderReport, OrderRequest

CALL_TIMEOUT = 60.0  # longer than any exchange call the signer makes (its own timeouts fire first)


class SignerClient:
    """One short connection per call (a Unix socket connect is cheap; calls run concurrently)."""

    def __init__(self, path: Path, token: str) -> None:
        self.path = path
        self._token = token

    def __repr__(self) -> str:
        return f"SignerClient({self.path})"

    async def call(self, op: str, *, places_order: bool = False, **args: Any) -> Any:
        """Perform `op`. `places_order`: a broken connection after the request was handed over is
        `SignerOutcomeUnknownError` (the order may exist; the caller reconciles, never retries)."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.path))
        except OSError:
            raise SignerUnavailableError("the signer is not running: nothing can be signed") from None
        lost: type[SignerError] = SignerOutcomeUnknownError if places_order else SignerUnavailableError
        try:
            await write_frame(writer, {"token": self._token, "op": op, "args": args})
            frame = await asyncio.wait_for(read_frame(reader), CALL_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            raise lost("the signer did not answer") from None
        finally:
            writer.close()
        if frame is None:
            raise lost("the signer closed the connection without an answer")
        if not frame.get("ok"):
            raise_error(frame)
        return frame.get("result")

    # -- the vault's jobs, done by the signer -------------------------------------------------------------

    async def check_and_seal(
        self, *, user_id: int, exchange: str, api_key: str, api_secret: str, passphrase: str | None
    ) -> tuple[KeyCheck, SealedSecret | None, str | None]:
        """The key check of a pasted key and, when Connected, its sealed form and key id."""
        result = await self.call(
            "check_and_seal",
            user_id=user_id,
            exchange=exchange,
            api_key=api_key,
            api_secret=api_secret,
            passphrase=passphrase,
        )
        check = KEY_CHECK.validate_python(result["check"])
        sealed = result.get("sealed")
        if not sealed:
            return check, None, None
        return check, sealed_from_json(sealed), str(sealed["key_id"])

    async def check_stored(self, *, user_id: int, connection_id: int) -> KeyCheck:
        return KEY_CHECK.validate_python(
            await self.call("check_stored", user_id=user_id, connection_id=connection_id)
        )

    async def seal_totp(
        self, plaintext: str, *, user_id: int, exchange: str, key_id: str, purpose: str
    ) -> SealedSecret:
        return sealed_from_json(
            await self.call(
                "seal",
                plaintext=plaintext,
                user_id=user_id,
                exchange=exchange,
                key_id=key_id,
                purpose=purpose,
            )
        )

    async def totp_step(self, *, user_id: int, secret_id: int, code: str, at: dt.datetime) -> int | None:
        step = await self.call(
            "totp_step", user_id=user_id, secret_id=secret_id, code=code, at=at.timestamp()
        )
        return None if step is None else int(step)

    async def api_key(self, *, user_id: int, connection_id: int) -> str | None:
        value = await self.call("api_key", user_id=user_id, connection_id=connection_id)
        return None if value is None else str(value)


class SignerExchangeClient:
    """`ExchangeClient` of one stored connection: public calls local, private calls by the signer."""

    def __init__(
        self, signer: SignerClient, public: CcxtExchangeClient, *, user_id: int, connection_id: int
    ) -> None:
        self.signer = signer
        self.public = public
        self.exchange_id = public.exchange_id
        self.user_id = user_id
        self.connection_id = connection_id

    async def _private(self, method: str, **args: Any) -> Any:
        result = await self.signer.call(
            "exchange",
            places_order=method == "create_order",
            user_id=self.user_id,
            connection_id=self.connection_id,
            method=method,
            args=args,
        )
        return RESULTS[method].validate_python(result)

    async def load_markets(self) -> dict[str, InstrumentRules]:
        return await self.public.load_markets()

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return await self.public.fetch_ticker(symbol)

    async def fetch_tickers(self) -> dict[str, Ticker]:
        return await self.public.fetch_tickers()

    async def fetch_order_book(self, symbol: str, limit: int = 50) -> OrderBook:
        return await self.public.fetch_order_book(symbol, limit)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        return await self.public.fetch_ohlcv(symbol, timeframe, since_ms, limit)

    async def fetch_balances(self) -> dict[str, Balance]:
        result: dict[str, Balance] = await self._private("fetch_balances")
        return result

    async def create_order(self, request: OrderRequest) -> OrderReport:
        result: OrderReport = await self._private(
            "create_order", request=ORDER_REQUEST.dump_python(request, mode="json")
        )
        return result

    async def cancel_order(self, symbol: str, exchange_order_id: str) -> None:
        await self._private("cancel_order", symbol=symbol, exchange_order_id=exchange_order_id)

    async def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderReport | None:
        result: OrderReport | None = await self._private(
            "fetch_order_by_client_id", symbol=symbol, client_order_id=client_order_id
        )
        return result

    async def fetch_open_orders(
        self, symbol: str | None = None, *, stop_orders: bool = True
    ) -> list[OrderReport]:
        result: list[OrderReport] = await self._private(
            "fetch_open_orders", symbol=symbol, stop_orders=stop_orders
        )
        return result

    async def fetch_fills(self, symbol: str, since_ms: int | None = None) -> list[Fill]:
        result: list[Fill] = await self._private("fetch_fills", symbol=symbol, since_ms=since_ms)
        return result

    async def close(self) -> None:
        await self.public.close()
