"""How QARI makes ccxt instances: configured (spot-only options, start-up calls off, one TLS context,
a logger that never logs requests), pointed at a local base URL when asked, and cheap to make.

Constructing a ccxt exchange runs its `describe()` and a deep merge of a large dict (3-9 ms). It is
done once per (exchange, URL, timeout) per process, into a pristine template that never opens a
session and never sees a key; public and per-call instances are clones of it (~0.1 ms): every
top-level container copied, the market tables shared (ccxt replaces them wholesale), no session,
connector or credentials inherited. `ccxt_client.CcxtExchangeClient` and `CcxtVenue` use them.
"""

from __future__ import annotations

import copy
import functools
import logging
import pickle
import ssl
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import ccxt.async_support as ccxt
import certifi

from qari.adapters.exchanges.capabilities import ExchangeCapabilities
from qari.adapters.exchanges.throttle import BUDGETS, RequestBudgets, install_throttler, share_public_budget
from qari.core.errors import FatalError

if TYPE_CHECKING:
    from qari.adapters.exchanges.ccxt_client import Credentials

T = TypeVar("T")

# ccxt logs every request and response (headers included: OKX/Bitget send the passphrase in clear)
# at DEBUG. Its instances log through this logger, which never emits below INFO.
_CCXT_LOGGER = logging.getLogger("qari.adapters.exchanges.ccxt")
_CCXT_LOGGER.setLevel(logging.INFO)


def point_at(exchange: ccxt.Exchange, base_url: str) -> None:
    """Rewrite every ccxt API base URL to `base_url` + the original path (/api/v3, /sapi/v1, ... kept)."""
    base = base_url.rstrip("/")

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, str):
            return base + urlsplit(value.replace("{hostname}", "h")).path
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def _config(caps: ExchangeCapabilities, timeout_ms: int, rate_limit: bool) -> dict[str, Any]:
    return {
        "options": copy.deepcopy(dict(caps.ccxt_options)),
        "timeout": timeout_ms,
        "enableRateLimit": rate_limit,
        "logger": _CCXT_LOGGER,
        "userAgent": "qari",
        "timeout_on_exit": 0,  # REST only: no websocket clients to wait for on close()
        # One verified TLS context per process: ccxt would otherwise load the CA bundle (~30 ms)
        # for every instance.
        "ssl_context": _shared_ssl_context(),
    }


def build_ccxt(
    caps: ExchangeCapabilities,
    credentials: Credentials | None = None,
    *,
    base_url: str | None = None,
    session: Any = None,
    timeout_ms: int = 10_000,
    rate_limit: bool = True,
) -> ccxt.Exchange:
    """A configured ccxt instance: spot-only options, start-up calls off, optional local base URL."""
    config = _config(caps, timeout_ms, rate_limit)
    if session is not None:
        config["session"] = session
    exchange: ccxt.Exchange = getattr(ccxt, caps.ccxt_id)(config)
    exchange.has = {**exchange.has, "fetchCurrencies": False}
    if base_url:
        point_at(exchange, base_url)
    if credentials is not None:
        exchange.apiKey = credentials.api_key
        exchange.secret = credentials.secret
        exchange.password = credentials.passphrase or ""
    return exchange


# Market tables are replaced wholesale by ccxt (`set_markets`), never edited in place: clones share them.
_SHARED_MARKET_STATE = frozenset(
    {
        "markets",
        "markets_by_id",
        "marketsById",
        "symbols",
        "ids",
        "currencies",
        "currencies_by_id",
        "currenciesById",
        "baseCurrencies",
        "quoteCurrencies",
        "codes",
    }
)
# Per-instance resources a clone must not inherit (closing a clone must never close its source's).
_RESOURCES = {
    "session": None,
    "tcp_connector": None,
    "aiohttp_socks_connector": None,
    "socks_proxy_sessions": None,
    "own_session": False,
    "closed_by_user": False,
    "last_http_response": None,
    "last_json_response": None,
    "last_response_headers": None,
    "last_request_body": None,
    "last_request_url": None,
    "last_request_headers": None,
}


_TEMPLATES: dict[tuple[str, str | None, int, bool], tuple[ExchangeCapabilities, ccxt.Exchange]] = {}


def _template(
    caps: ExchangeCapabilities, base_url: str | None, timeout_ms: int, rate_limit: bool
) -> ccxt.Exchange:
    """The pristine instance clones are made from: built once per process, never opened, never keyed."""
    key = (caps.id, base_url, timeout_ms, rate_limit)
    known = _TEMPLATES.get(key)
    if known is None or known[0] != caps:
        known = _TEMPLATES[key] = (
            caps,
            build_ccxt(caps, base_url=base_url, timeout_ms=timeout_ms, rate_limit=rate_limit),
        )
    return known[1]


def clone_ccxt(source: ccxt.Exchange) -> ccxt.Exchange:
    """A new ccxt instance with `source`'s configuration and markets but its own state: every top-level
    container is copied (options deeply), so nothing a call writes on the clone reaches `source`. It
    shares no session or connector (set `session` to borrow one) and `source` must hold no credentials."""
    if source.apiKey or source.secret or source.password:
        raise FatalError("refusing to clone a ccxt instance that holds credentials")
    exchange: ccxt.Exchange = copy.copy(source)
    state = vars(exchange)
    for name, value in state.items():
        if name in _SHARED_MARKET_STATE:
            continue
        if isinstance(value, dict):
            state[name] = dict(value)
        elif isinstance(value, list):
            state[name] = list(value)
    state.update(_RESOURCES)
    exchange.options = deep_copy(source.options)
    return exchange


def deep_copy(value: T) -> T:
    """`copy.deepcopy` of plain data (ccxt options: dicts, lists, strings, numbers) through pickle,
    about three times faster; anything pickle cannot copy goes through `copy.deepcopy`."""
    try:
        copied: T = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(value)
    return copied


def public_ccxt(
    caps: ExchangeCapabilities,
    *,
    base_url: str | None = None,
    timeout_ms: int = 10_000,
    rate_limit: bool = True,
    budgets: RequestBudgets = BUDGETS,
) -> ccxt.Exchange:
    """A credential-free instance owning its HTTP session (opened on first use); see `public_budget`."""
    exchange = clone_ccxt(_template(caps, base_url, timeout_ms, rate_limit))
    exchange.own_session = True
    public_budget(exchange, base_url, budgets)
    return exchange


def public_budget(exchange: ccxt.Exchange, base_url: str | None, budgets: RequestBudgets) -> None:
    """A public instance's rate limit: on the venue's own URL, the process's one budget for the exchange
    and egress IP (venues weigh public calls per IP). Pointed elsewhere (`base_url`: the built-in
    sandbox, a test server), a limiter of its own: that server counts no weight per IP, and sharing one
    bucket would make the sandbox's hundreds of users queue behind a live venue's per-IP rate."""
    if base_url is None:
        share_public_budget(exchange, budgets)
    else:
        install_throttler(exchange)


def clear_credentials(exchange: ccxt.Exchange) -> None:
    exchange.apiKey = ""
    exchange.secret = ""
    exchange.password = ""
    exchange.last_request_headers = None
    exchange.last_request_body = None
