"""The engine's ports over the accounts database, as the composition root (`engine/kernel.py`) plugs
them in for live users: who trades (`SqlUserDirectory`), with which client (`ConnectionClients`), the
hourly tick's work (`HourlyChecks`) and whom the order guard's halts alert (`platform_operator`). The
profiles are `trading_profiles.SqlProfileSource`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from qari.adapters.persistence.tables.accounts import PlatformState
from qari.ports import ExchangeClient, UserUnit
from qari.services.exchange_keys import active_connections, open_client
from qari.services.model_refit import refit_stage2
from qari.services.plans import queue_trial_ending_alerts


class SqlUserDirectory:
    """Every stored connection that can still trade or needs managing on an exchange
    (`services.exchange_keys.active_connections`: the one definition of which keys the engine works for)."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    async def units(self, exchange_id: str) -> list[UserUnit]:
        async with self.sessions() as session:
            active = await active_connections(session, exchange_id)
        seen: set[int] = set()
        units = []
        for user_id, connection_id in active:
            if user_id not in seen:  # one connection per user and exchange trades
                seen.add(user_id)
                units.append(UserUnit(user_id, exchange_id, connection_id))
        return units


class ConnectionClients:
    """A user's client per unit of work, opened from the vault and closed when the unit ends."""

    def __init__(
        self, sessions: Any, vault: Any, endpoints: Any, venues: Mapping[str, Any] | None = None
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.endpoints = endpoints
        self.venues = dict(venues or {})

    @asynccontextmanager
    async def client(self, unit: UserUnit) -> AsyncIterator[ExchangeClient]:
        if unit.connection_id is None:
            raise LookupError(f"user {unit.user_id} has no connection on {unit.exchange_id}")
        async with (
            self.sessions() as session,
            open_client(
                session, self.vault, unit.connection_id, unit.user_id, self.endpoints, self.venues
            ) as client,
        ):
            yield client


class HourlyChecks:
    """The engine's hourly tick: re-verify keys, queue trial-ending reminders, re-fit Stage 2 when due."""

    def __init__(self, verifier: Any, sessions: Any) -> None:
        self.verifier = verifier
        self.sessions = sessions

    async def reverify_due(self, at: dt.datetime) -> int:
        count: int = await self.verifier.reverify_due(at)
        async with self.sessions() as session, session.begin():
            await queue_trial_ending_alerts(session, at)
        async with self.sessions() as session, session.begin():
            await refit_stage2(session, at)
        return count


async def platform_operator(sessions: Any) -> int | None:
    """Whom the order guard's halts alert besides the key's owner: the platform's operator, if set."""
    async with sessions() as session:
        state = await session.get(PlatformState, 1)
        return None if state is None else state.operator_user_id
