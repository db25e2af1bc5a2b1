"""`SandboxVenue`: what one sandbox instance holds — the exchange, its clock, API keys and faults."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from qari.adapters.simulator.clock import MarketClock, SteppedClock
from qari.adapters.simulator.exchange import SimulatedExchange
from qari.adapters.simulator.faults import FaultInjector
from qari.core.time import UTC, Clock, to_ms

PERMISSION_GROUPS = (
    "ContractTrade",
    "Spot",
    "Wallet",
    "Options",
    "Derivatives",
    "CopyTrading",
    "BlockTrade",
    "Exchange",
    "NFT",
    "Affiliate",
    "Earn",
)


@dataclass(slots=True)
class ApiKey:
    api_key: str
    api_secret: str = field(repr=False)
    account_id: str
    user_id: int
    permissions: dict[str, list[str]]
    read_only: int = 0
    ips: list[str] = field(default_factory=lambda: ["*"])
    note: str = ""
    created_ms: int = 0
    passphrase: str = field(default="", repr=False)  # chosen by the key's creator; OKX requires one

    def can_trade_spot(self) -> bool:
        return self.read_only == 0 and "SpotTrade" in self.permissions.get("Spot", [])

    def ip_allowed(self, client_ip: str) -> bool:
        return "*" in self.ips or client_ip in self.ips

    def sign(self, payload: str) -> str:
        return hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class RateLimiter:
    """Bybit-style per-key limits: at most `limits[group]` requests per key and group in each second
    ("trade": order create/cancel, Bybit spot's 20/s; "read": other private calls)."""

    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self.limits = limits or {"trade": 20, "read": 50}
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}

    def take(self, api_key: str, group: str, now_ms: int) -> tuple[bool, int, int, int]:
        """(allowed, limit, requests left this second, when the window resets in ms)."""
        limit = self.limits[group]
        second = now_ms // 1000
        start, used = self._windows.get((api_key, group), (second, 0))
        if start != second:
            used = 0
        reset = (second + 1) * 1000
        if used >= limit:
            return False, limit, 0, reset
        self._windows[(api_key, group)] = (second, used + 1)
        return True, limit, limit - used - 1, reset


class SandboxVenue:
    def __init__(
        self,
        exchange: SimulatedExchange,
        clock: MarketClock,
        real_clock: Clock,
        *,
        fault_seed: int = 0,
        rate_limits: RateLimiter | None = None,
        protocol: str = "bybit",
    ) -> None:
        self.exchange = exchange
        self.protocol = protocol  # the wire protocol it speaks: "bybit", "binance" or "okx"
        self.notice: str | None = None  # why it runs other than configured (a live feed fell back)
        self.rate_limits = rate_limits
        self.clock = clock
        self.real_clock = real_clock
        self.faults = FaultInjector(fault_seed)
        self.keys: dict[str, ApiKey] = {}
        self._user_seq = 100_000

    def auth_now_ms(self) -> int:
        return to_ms(self.real_clock.now())

    def sync(self) -> None:
        """Bring the exchange up to the market clock (resting orders fill, triggers fire)."""
        now = self.clock.now_ms()
        if now > self.exchange.now_ms:
            self.exchange.advance_to(now)

    def stepped(self) -> SteppedClock:
        if not isinstance(self.clock, SteppedClock):
            raise ValueError(f"the market clock is in {self.clock.mode} mode; start with a stepped clock")
        return self.clock

    def create_key(
        self,
        *,
        permissions: dict[str, list[str]],
        read_only: int = 0,
        ips: list[str] | None = None,
        balances: dict[str, Decimal] | None = None,
        account_id: str | None = None,
        note: str = "",
        passphrase: str = "",
    ) -> ApiKey:
        self._user_seq += 1
        if account_id is None:
            account_id = f"acct-{self._user_seq}"
            self.exchange.open_account(account_id, balances or {})
        elif not self.exchange.has_account(account_id):
            self.exchange.open_account(account_id, balances or {})
        elif balances:
            for coin, amount in balances.items():
                self.exchange.set_balance(account_id, coin, amount)
        key = ApiKey(
            api_key=secrets.token_hex(9).upper(),
            api_secret=secrets.token_hex(18),
            account_id=account_id,
            user_id=self._user_seq,
            permissions={group: list(permissions.get(group, [])) for group in PERMISSION_GROUPS},
            read_only=read_only,
            ips=list(ips or ["*"]),
            note=note,
            created_ms=self.auth_now_ms(),
            passphrase=passphrase,
        )
        self.keys[key.api_key] = key
        return key

    def revoke_key(self, api_key: str) -> bool:
        return self.keys.pop(api_key, None) is not None

    def key_info(self, key: ApiKey) -> dict[str, object]:
        """`GET /v5/user/query-api` result, in Bybit's shape."""
        created = dt.datetime.fromtimestamp(key.created_ms / 1000, tz=UTC)
        unbound = "*" in key.ips
        expires = created + dt.timedelta(days=90)
        return {
            "id": str(key.user_id * 10 + 1),
            "note": key.note,
            "apiKey": key.api_key,
            "readOnly": key.read_only,
            "secret": "",
            "permissions": {group: list(values) for group, values in key.permissions.items()},
            "ips": list(key.ips),
            "type": 1,
            "deadlineDay": 90 if unbound else -1,
            "expiredAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ") if unbound else "",
            "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "unified": 0,
            "uta": 1,
            "userID": key.user_id,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT",
            "kycRegion": "",
        }
