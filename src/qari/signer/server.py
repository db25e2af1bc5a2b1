"""The signer process's server: holds the vault, opens secrets only inside a call, and performs the
named private calls web and engine ask for.

Every frame must carry the per-start token (compared in constant time); a frame without it is refused
and the connection closed. Exchange endpoints are the signer's own (from its settings), never the
caller's: a compromised web process cannot point signed requests at a host of its choosing.

This is a delivery mechanism like the web routes (it answers requests by calling `qari.services` and the
engine's guard), so it lives outside `adapters/`; the engine's side of the channel, `SignerClient` and
`SignerExchangeClient`, and the wire format stay the adapter `qari.adapters.signer`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import os
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qari.adapters.exchanges.ccxt_client import CcxtVenue
from qari.adapters.persistence.tables.accounts import VaultSecret
from qari.adapters.signer.protocol import (
    ORDER_REQUEST,
    RESULTS,
    SignerRefusedError,
    dump_key_check,
    error_frame,
    read_frame,
    sealed_to_json,
    write_frame,
)
from qari.adapters.vault import SecretVault
from qari.adapters.vault.repository import sealed_of
from qari.core.orders import OrderRequest, Side
from qari.engine.guard import OrderGuard
from qari.logging import get_logger
from qari.ports import ExchangeClient
from qari.risk.guard import GuardOrder

log = get_logger(__name__)


Handler = Callable[[dict[str, Any]], Awaitable[Any]]
# Connections waiting to be accepted: every call is one connection, and a machine's workers may have
# hundreds in flight at once (asyncio's default, 100, refused a burst of 500 pings).
BACKLOG = 4096


class SignerServer:
    def __init__(
        self,
        *,
        token: str,
        vault: SecretVault,
        sessions: async_sessionmaker[AsyncSession],
        endpoints: Any,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if len(token) < 32:
            raise ValueError("the signer token must be at least 32 characters")
        self._token = token.encode()
        self.vault = vault
        self.sessions = sessions
        self.endpoints = endpoints
        self.now = now
        self.venues: dict[str, CcxtVenue] = {}
        # The blast-radius guard a compromised engine cannot skip: every buy is judged here before it
        # is signed, whatever the engine's own guard said.
        self.guard = OrderGuard()
        self._server: asyncio.AbstractServer | None = None
        self._handlers: dict[str, Handler] = {
            "ping": self._ping,
            "exchange": self._exchange,
            "check_and_seal": self._check_and_seal,
            "check_stored": self._check_stored,
            "seal": self._seal,
            "totp_step": self._totp_step,
            "api_key": self._api_key,
        }

    async def start(self, path: Path) -> None:
        """Listen on `path`, created with mode 0600 (only this user can connect)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(FileNotFoundError):
            path.unlink()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(path), backlog=BACKLOG)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for venue in self.venues.values():
            await venue.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    frame = await read_frame(reader)
                except (SignerRefusedError, asyncio.IncompleteReadError) as e:
                    await write_frame(writer, error_frame(SignerRefusedError(str(e) or "bad frame")))
                    return
                if frame is None:
                    return
                if not hmac.compare_digest(str(frame.get("token", "")).encode(), self._token):
                    log.warning("signer: refused a call without the right token")
                    await write_frame(
                        writer, error_frame(SignerRefusedError("wrong or missing signer token"))
                    )
                    return
                await write_frame(writer, await self._answer(frame))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, frame: dict[str, Any]) -> dict[str, Any]:
        handler = self._handlers.get(str(frame.get("op")))
        if handler is None:
            return error_frame(SignerRefusedError(f"unknown call {str(frame.get('op'))[:40]!r}"))
        args = frame.get("args") or {}
        if not isinstance(args, dict):
            return error_frame(SignerRefusedError("args must be an object"))
        try:
            return {"ok": True, "result": await handler(args)}
        except Exception as e:  # every failure goes back to the caller as a typed error
            return error_frame(e)

    # -- calls --------------------------------------------------------------------------------------------

    async def _ping(self, args: dict[str, Any]) -> str:
        return "pong"

    def _venue(self, exchange: str) -> CcxtVenue:
        if exchange not in self.venues:
            self.venues[exchange] = CcxtVenue(
                self.endpoints.capabilities(exchange),
                base_url=self.endpoints.url_for(exchange),
                timeout_ms=self.endpoints.timeout_ms,
            )
        return self.venues[exchange]

    async def _exchange(self, args: dict[str, Any]) -> Any:
        """A private call of a stored connection: the client opens the secret per signed request."""
        from qari.services.exchange_keys import get_connection, open_client

        method = str(args.get("method"))
        if method not in RESULTS:
            raise SignerRefusedError(f"not a call the signer performs: {method[:40]!r}")
        user_id, connection_id = int(args["user_id"]), int(args["connection_id"])
        async with AsyncExitStack() as opened:
            # The session only reads the connection and its sealed key; it is closed before the call,
            # whose guard reads the journal on connections of its own (held across the call, one per
            # call in flight exhausted the pool and failed orders on pool timeouts).
            async with self.sessions() as session:
                row = await get_connection(session, user_id, connection_id)
                exchange = row.exchange
                venues = {exchange: self._venue(exchange)}
                client = await opened.enter_async_context(
                    open_client(session, self.vault, connection_id, user_id, self.endpoints, venues)
                )
            call = args.get("args") or {}
            if method == "create_order":
                request = ORDER_REQUEST.validate_python(call["request"])
                await self._guard(user_id, exchange, request, client)
                result: Any = await client.create_order(request)
                # What a deployment (and the tests) count: every order this signer placed.
                log.info("signer: placed order %s for user %d", request.client_order_id, user_id)
            elif method == "fetch_balances":
                result = await client.fetch_balances()
            elif method == "cancel_order":
                await client.cancel_order(str(call["symbol"]), str(call["exchange_order_id"]))
                result = None
            elif method == "fetch_order_by_client_id":
                result = await client.fetch_order_by_client_id(
                    str(call["symbol"]), str(call["client_order_id"])
                )
            elif method == "fetch_open_orders":
                result = await client.fetch_open_orders(
                    call.get("symbol"), stop_orders=bool(call.get("stop_orders", True))
                )
            else:
                result = await client.fetch_fills(str(call["symbol"]), call.get("since_ms"))
        return RESULTS[method].dump_python(result, mode="json")

    async def _guard(
        self, user_id: int, exchange_id: str, request: OrderRequest, client: ExchangeClient
    ) -> None:
        """Judge a create with the engine's guard: the caps from the user's plan and settings, the day's
        buys from the journal, the market facts from the venue's public data read here. A refusal is
        recorded, alerted and raised as `GuardRefusedError`; sells are never refused."""
        if request.side is Side.SELL:
            return
        from qari.adapters.persistence.repositories.trading import SqlTradingStore
        from qari.services.trading_profiles import SqlProfileSource

        now = self.now()
        self.guard.know(await SqlProfileSource(self.sessions).profile(user_id, exchange_id, now))
        order = GuardOrder(
            user_id, exchange_id, request.symbol, request.side, request.qty_base, request.price
        )
        await self.guard.check(
            order, client, SqlTradingStore(self.sessions), now, client_order_id=request.client_order_id
        )

    async def _current_key(self) -> None:
        """Adopt a master key rotated since start (`qari vault rotate-master`) before sealing, so a new
        secret is never sealed under a retired key."""
        from qari.adapters.vault.repository import latest_key

        async with self.sessions() as session:
            latest = await latest_key(session)
        if latest is not None and latest.version != self.vault.key_version:
            self.vault.reload(latest.version, expected_fingerprint=latest.fingerprint)

    async def _check_and_seal(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check a newly pasted key; seal it only when Connected. The plaintext lives only in this call."""
        from qari.services.exchange_keys import PURPOSE, check_input, key_payload, validate_input

        data = validate_input(
            str(args["exchange"]), str(args["api_key"]), str(args["api_secret"]), args.get("passphrase")
        )
        check = await check_input(data, self.endpoints, self.now())
        result: dict[str, Any] = {"check": dump_key_check(check), "sealed": None}
        if check.connected:
            await self._current_key()
            key_id = uuid.uuid4().hex
            sealed = self.vault.seal(
                key_payload(data),
                user_id=int(args["user_id"]),
                exchange=data.exchange,
                key_id=key_id,
                purpose=PURPOSE,
            )
            result["sealed"] = sealed_to_json(sealed) | {"key_id": key_id}
        return result

    async def _check_stored(self, args: dict[str, Any]) -> dict[str, Any]:
        from qari.services.exchange_keys import check_stored, get_connection

        async with self.sessions() as session:
            row = await get_connection(session, int(args["user_id"]), int(args["connection_id"]))
            check = await check_stored(session, self.vault, row, self.endpoints, self.now())
        return dump_key_check(check)

    async def _seal(self, args: dict[str, Any]) -> dict[str, Any]:
        """Seal a secret the platform generated (a TOTP seed); only TOTP seeds are sealed this way."""
        from qari.services.accounts import TOTP_EXCHANGE, TOTP_PURPOSE

        if args.get("purpose") != TOTP_PURPOSE or args.get("exchange") != TOTP_EXCHANGE:
            raise SignerRefusedError("only TOTP seeds are sealed without a key check")
        await self._current_key()
        sealed = self.vault.seal(
            str(args["plaintext"]),
            user_id=int(args["user_id"]),
            exchange=TOTP_EXCHANGE,
            key_id=str(args["key_id"]),
            purpose=TOTP_PURPOSE,
        )
        return sealed_to_json(sealed)

    async def _totp_step(self, args: dict[str, Any]) -> int | None:
        """The time step a TOTP code is valid for (the caller enforces once-only), or None."""
        from qari.services import credentials
        from qari.services.accounts import TOTP_PURPOSE

        async with self.sessions() as session:
            row = await session.get(VaultSecret, int(args["secret_id"]))
            if row is None or row.user_id != int(args["user_id"]) or row.purpose != TOTP_PURPOSE:
                return None
            seed = self.vault.open(
                sealed_of(row),
                user_id=row.user_id,
                exchange=row.exchange,
                key_id=row.key_id,
                purpose=row.purpose,
            )
        step: int | None = credentials.totp_step(seed, str(args["code"]), at=float(args["at"]))
        return step

    async def _api_key(self, args: dict[str, Any]) -> str | None:
        """The stored key's id (not its secret), to revoke it on the sandbox."""
        from qari.services.exchange_keys import get_connection, venue_key_id

        async with self.sessions() as session:
            row = await get_connection(session, int(args["user_id"]), int(args["connection_id"]))
            return await venue_key_id(session, self.vault, row)


def read_token(fd: int) -> str:
    """The token the parent wrote to the inherited pipe `fd` (read to its end, then closed)."""
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read().decode().strip()
