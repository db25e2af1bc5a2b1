"""Settings from `QARI_*` environment variables (and an optional config file).

`get_settings()` is cached and is the only way code reads configuration; tests build their own
`Settings(...)` and pass it in. Bad configuration raises `ConfigError` with one line saying what to fix.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from qari.core.time import as_utc

DEMO_SPEED = 120.0


class ConfigError(Exception):
    """Configuration that QARI cannot start with; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QARI_",
        env_file=None,
        extra="ignore",
        frozen=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Path("var")
    database_url: str | None = None
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    # A `qari signer` already running on this machine (started by hand or by systemd with
    # QARI_SIGNER_TOKEN_FILE): the roles reach it instead of starting their own (docs/task-engine.md).
    signer_socket: Path | None = None
    # Its 0600 token file (default: the socket's path + ".token").
    signer_token_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    # Public URL prefix of this instance (used for the sandbox base URL and Telegram deep links).
    public_url: str | None = None
    egress_ip: str | None = None
    # Engine: mode "sandbox" trades the built-in venue; "live" real exchanges; "off" runs no engine.
    engine_mode: Literal["sandbox", "live", "off"] = "sandbox"
    cycle_seconds: int = Field(300, ge=1)
    # Decision records (inputs + verdicts, for `qari replay`) are kept this many days; 0 turns them off.
    decision_retention_days: int = Field(7, ge=0, le=3650)
    manage_seconds: int = Field(30, ge=1)
    # Built-in sandbox exchange mounted at /sandbox/<protocol> (in live mode only when set explicitly).
    sandbox_enabled: bool = True
    # The wire protocol the built-in sandbox speaks (mounted at /sandbox/<protocol>); the platform's
    # "sandbox" exchange then trades it through ccxt's class of that name.
    sandbox_protocol: Literal["bybit", "binance", "okx"] = "bybit"
    # Bearer token for the sandbox's admin API (`/sandbox/<protocol>/admin`); unset: a random one nobody
    # knows, so only the operator's session controls it.
    sandbox_admin_token: SecretStr | None = None
    sandbox_data: Path | None = None
    # With sandbox_data: replay only these pairs ("BTC/USDT,SUI/USDT"; default every pair with files)
    # and start at this moment of the data, shifted by whole weeks into the week before now. Without it,
    # the synthetic market's clock starts at sandbox_start (a reproducible demo) instead of now.
    sandbox_symbols: str | None = None
    sandbox_start: dt.datetime | None = None
    sandbox_synthetic_seed: int = 7
    # Market clock speed of the built-in sandbox; unset: DEMO_SPEED for the offline demo (sandbox engine on
    # the synthetic market), the real time otherwise. The operator can change it while running.
    sandbox_speed: float | None = Field(None, gt=0, le=10_000)
    # Paper-trade the live market: the sandbox follows this venue's public market data (a venue id of
    # capabilities.VENUES: binance, bybit, ...; no key). Its clock is then the real time. Unreachable at
    # start: the synthetic market, said in the log and /healthz. Unset: replay or synthetic market.
    sandbox_feed: str | None = None
    # Where the feed reads instead of the venue's own public URL (a mirror or proxy; tests' stand-in).
    sandbox_feed_url: str | None = None
    # The Redis where the scaled-out roles (`qari scheduler`, `qari worker`) share their request budgets
    # per exchange + key and per exchange + IP; unset: the broker's, when QARI_BROKER_URL is redis://.
    redis_url: str | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    session_ttl_hours: int = Field(24 * 7, ge=1)
    max_body_bytes: int = Field(1_000_000, ge=1024)
    cookie_secure: bool = False
    # Registrations per client address (`limits` syntax). Behind a reverse proxy, list the proxy in
    # FORWARDED_ALLOW_IPS so each client is counted by its own address, not the proxy's.
    register_rate: str = Field("20/hour", description="registrations per client address")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("QARI_CONFIG_FILE")
        if config_file:
            from pydantic_settings import TomlConfigSettingsSource

            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("QARI_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("register_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("QARI_REGISTER_RATE must look like 10/hour or 5 per minute") from None
        return value

    @field_validator("sandbox_start")
    @classmethod
    def _utc_start(cls, value: dt.datetime | None) -> dt.datetime | None:
        return as_utc(value)

    @field_validator("sandbox_feed")
    @classmethod
    def _known_feed(cls, value: str | None) -> str | None:
        if not value:
            return None
        from qari.adapters.exchanges.capabilities import LIVE_VENUES  # the one list of venues

        venue = value.strip().lower()
        if venue not in LIVE_VENUES:
            raise ValueError(f"QARI_SANDBOX_FEED must be one of {', '.join(LIVE_VENUES)}, not {value!r}")
        return venue

    @model_validator(mode="after")
    def _replay_options_need_data(self) -> Settings:
        if self.sandbox_feed is not None and self.sandbox_data is not None:
            raise ValueError("QARI_SANDBOX_FEED and QARI_SANDBOX_DATA exclude each other: follow or replay")
        if self.sandbox_data is None and self.sandbox_symbols is not None:
            raise ValueError("QARI_SANDBOX_SYMBOLS needs QARI_SANDBOX_DATA (a replay)")
        return self

    @property
    def sandbox_symbol_list(self) -> list[str] | None:
        """QARI_SANDBOX_SYMBOLS as unified pairs: `BTC`, `sui_usdt`, `INJ/USDT` all name USDT pairs."""
        if not self.sandbox_symbols:
            return None
        pairs: list[str] = []
        for raw in self.sandbox_symbols.replace(",", " ").split():
            name = raw.upper().replace("_", "/")
            name = name if "/" in name else f"{name}/USDT"
            if name not in pairs:
                pairs.append(name)
        return pairs or None

    @property
    def sandbox_mounted(self) -> bool:
        """The sandbox is served unless turned off; in live mode only when QARI_SANDBOX_ENABLED is set
        to true explicitly (paper keys and an exchange admin surface beside real money by default
        would be a mistake waiting to happen)."""
        if self.engine_mode == "live":
            return self.sandbox_enabled and "sandbox_enabled" in self.model_fields_set
        return self.sandbox_enabled

    @property
    def effective_sandbox_speed(self) -> float:
        """The sandbox clock's speed at start: the demo runs accelerated so that it trades within
        minutes (a 20-hour scenario cycle passes in 10 minutes at DEMO_SPEED)."""
        if self.sandbox_speed is not None:
            return self.sandbox_speed
        return DEMO_SPEED if self.engine_mode == "sandbox" and self.sandbox_data is None else 1.0

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
            if url.startswith("sqlite://"):
                url = "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'qari.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one clear `ConfigError` line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        first = e.errors()[0]
        if not first["loc"]:  # a rule across settings names them in its message
            raise ConfigError(
                f"invalid configuration: {first['msg'].removeprefix('Value error, ')}"
            ) from None
        name = "QARI_" + "_".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"invalid configuration: {name}: {first['msg']}") from None


@functools.cache
def get_settings() -> Settings:
    return load_settings()
