"""The alert outbox's writer: `emit_alert` queues one alert row inside the caller's transaction.

An alert exists exactly when the event that caused it was committed; delivery is the outbox worker's job
(`qari.adapters.notify.outbox`). The trade journal (`repositories/trading.py`) and the use cases in
`qari.services` both write through here, so persistence never reaches out to the services ring.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.live import note_change
from qari.adapters.persistence.tables.alerts import OUTBOX_PENDING, AlertOutbox
from qari.core.clocks import WallClock
from qari.core.redact import clean
from qari.core.time import Clock

ALERT_KINDS: tuple[str, ...] = (
    "entry_leg1",
    "entry_leg2",
    "stop_loss",
    "pt1",
    "pt2",
    "trailing_exit",
    "kill_switch_tripped",
    "kill_switch_cleared",
    "key_invalid",
    "key_permissions_changed",
    "exchange_unreachable",
    "trial_ending",
    "guard_refused",
    "guard_halt",
    "model_trained",
)
_WALL = WallClock()


class UnknownAlertKindError(ValueError):
    """A kind outside `ALERT_KINDS`; the services' subclass of the same name answers it as a 422."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown alert kind {kind[:40]!r}; use one of: {', '.join(ALERT_KINDS)}")


async def emit_alert(
    session: AsyncSession,
    *,
    user_id: int,
    kind: str,
    data: dict[str, str],
    dedupe_key: str | None = None,
    clock: Clock | None = None,
) -> None:
    """Queue one alert for `user_id` in the caller's transaction.

    `data` keys the message uses (all optional, values as display strings): symbol, exchange, side, size,
    price, entry, stop, target, pnl_usdt, pnl_r, reason, detail, since, ends_at, mode. Other keys are stored
    but never shown; values that look like keys or tokens are redacted before they are stored. With
    `dedupe_key`, a second emit with the same key for the same user is a no-op (insert-or-ignore, so it
    never breaks the caller's transaction).
    """
    if kind not in ALERT_KINDS:
        raise UnknownAlertKindError(kind)
    now = (clock or _WALL).now()
    values = {
        "user_id": user_id,
        "kind": kind,
        "data": {str(k)[:40]: clean(str(v)) for k, v in data.items()},
        "dedupe_key": dedupe_key,
        "status": OUTBOX_PENDING,
        "attempts": 0,
        "in_doubt": False,
        "created_at": now,
        "next_attempt_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(AlertOutbox).values(**values)
        await session.execute(pg.on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"]))
    elif dialect == "sqlite":
        lite = sqlite.insert(AlertOutbox).values(**values)
        await session.execute(lite.on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"]))
    else:  # pragma: no cover - QARI supports SQLite and PostgreSQL only
        session.add(AlertOutbox(**values))
        await session.flush()
    note_change(session, user_id, "alert", kind=kind)
