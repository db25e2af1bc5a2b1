"""Key inspection: one read-only pass over a key → Connected / Invalid Credentials / Permissions Error,
or the transient Unreachable (PRODUCT.md §3.2).

The pass: measure the venue's clock, call the venue's key-info endpoint(s) (`venues/<venue>.py`), read
the balance, then apply the R3 rule (`keys.decide`). Failures are classified from the raw exchange
code (`errors.py`). A fresh ccxt instance is used for every check: Binance changes how it maps -2015
once an instance has authenticated successfully.
"""

from __future__ import annotations

import datetime as dt
import logging

import ccxt.async_support as ccxt

from qari.adapters.exchanges.capabilities import ExchangeCapabilities, capabilities_for
from qari.adapters.exchanges.ccxt_client import CcxtExchangeClient, Credentials
from qari.adapters.exchanges.keys import KeyCheck, KeyPermissions, KeyStatus, decide
from qari.adapters.exchanges.venues import KeyProbe, probe_for
from qari.core.errors import (
    ClockSkewError,
    ExchangeUnavailableError,
    InvalidCredentialsError,
    KeyOrIpRejectedError,
    PermissionDeniedError,
    QariError,
)

log = logging.getLogger(__name__)
_CLOCK_HINT = "the exchange rejected our clock; retrying after a time sync"


def verdict_for_error(error: QariError, caps: ExchangeCapabilities) -> KeyCheck:
    code = error.code
    if isinstance(error, KeyOrIpRejectedError):
        return KeyCheck(
            KeyStatus.KEY_OR_IP_REJECTED,
            f"{caps.name} rejected the request ({error}) and does not say why: either the API key or "
            "secret is wrong (or the key was deleted), or this server's IP address is not on the key's "
            f"IP whitelist. Check both in {caps.key_settings_page}.",
            code=code,
        )
    if isinstance(error, InvalidCredentialsError):
        return KeyCheck(
            KeyStatus.INVALID_CREDENTIALS,
            f"{caps.name} rejected the key ({error}). Check the API key, secret"
            + (" and passphrase" if caps.needs_passphrase else "")
            + "; the key may be expired or revoked.",
            code=code,
        )
    if isinstance(error, PermissionDeniedError):
        return KeyCheck(
            KeyStatus.PERMISSIONS_ERROR,
            f"{caps.name} refused the request ({error}): the key lacks a permission or the server's IP is "
            f"not on the key's whitelist. Fix it in {caps.key_settings_page}.",
            code=code,
        )
    if isinstance(error, ClockSkewError):
        return KeyCheck(KeyStatus.UNREACHABLE, f"{caps.name}: {_CLOCK_HINT}.", code=code)
    if isinstance(error, ExchangeUnavailableError):
        return KeyCheck(KeyStatus.UNREACHABLE, f"{caps.name} is unreachable right now — retrying.", code=code)
    return KeyCheck(
        KeyStatus.UNREACHABLE, f"{caps.name} answered unexpectedly ({error}); try again later.", code=code
    )


async def check_key(
    exchange: str | ExchangeCapabilities,
    credentials: Credentials,
    *,
    now: dt.datetime,
    base_url: str | None = None,
    timeout_ms: int = 10_000,
) -> KeyCheck:
    caps = capabilities_for(exchange) if isinstance(exchange, str) else exchange
    probe = probe_for(caps)

    async def source() -> Credentials:
        return credentials

    client = CcxtExchangeClient(caps, source, base_url=base_url, timeout_ms=timeout_ms, rate_limit=False)
    try:
        permissions = await _inspect(client, probe)
    except QariError as e:
        return verdict_for_error(e, caps)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        # The venue answered 200 with a shape we do not know: not a verdict on the key.
        log.warning("%s key check: unexpected answer shape (%s)", caps.id, type(e).__name__)
        return KeyCheck(
            KeyStatus.UNREACHABLE,
            f"{caps.name} answered in an unexpected format; try again later.",
            code=None,
        )
    finally:
        await client.close()
        del source
    if permissions.expires_at is not None and permissions.expires_at <= now:
        return KeyCheck(
            KeyStatus.INVALID_CREDENTIALS,
            f"The {caps.name} key expired on {permissions.expires_at:%Y-%m-%d}; create a new one.",
            permissions=permissions,
        )
    return decide(permissions, exchange_name=caps.name, settings_page=caps.key_settings_page)


async def _inspect(client: CcxtExchangeClient, probe: KeyProbe) -> KeyPermissions:
    async def probe_then_read_balance(exchange: ccxt.Exchange) -> KeyPermissions:
        permissions = await probe(exchange)
        await exchange.fetch_balance()
        return permissions

    await client.sync_time()
    try:
        return await client.run_signed(probe_then_read_balance)
    except ClockSkewError:
        await client.sync_time()
        return await client.run_signed(probe_then_read_balance)
