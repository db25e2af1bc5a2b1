"""Live events ride on the transaction that records the change (issue 19 item 7).

A writer calls `note_change(session, user_id, type, **ids)` beside its write; nothing leaves the
process until that transaction commits, and a rolled-back write announces nothing:

- PostgreSQL: the noted events are sent with `pg_notify` *inside* the transaction (in SQLAlchemy's
  `before_commit` hook). PostgreSQL delivers a notification only when its transaction commits, and
  after the data is visible, so a dashboard that refetches on the event sees the new rows. Any process
  (`qari worker`, `qari scheduler`, `qari web`, `qari serve`) publishes this way with no wiring; the web
  processes listen (`adapters/events/postgres.py`).
- SQLite (one process: `qari serve`, tests): after the commit, to the in-process sink the sessionmaker
  was made with (`make_sessionmaker(engine, live=hub)`); without one, the events are dropped.

Why PostgreSQL LISTEN/NOTIFY rather than Redis pub/sub for the cross-process bus: every multi-process
deployment already has PostgreSQL (the journal), while the broker may be RabbitMQ; and NOTIFY is
transactional, which Redis cannot be with a PostgreSQL write (publish-before-commit could announce a
change a refetch does not see yet, publish-after-commit could be lost in a crash in between).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from qari.ports import LiveEvent, LiveEventSink

log = logging.getLogger(__name__)

CHANNEL = "qari_live"
SINK_KEY = "qari_live_sink"
_PENDING_KEY = "qari_live_pending"
MAX_PAYLOAD = 7000  # PostgreSQL's NOTIFY payload limit is 8000 bytes
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def note_change(session: AsyncSession | Session, user_id: int | None, type_: str, **ids: int | str) -> None:
    """Announce, when `session`'s transaction commits, that `type_` (`ids`) changed for `user_id`
    (None: every user). Free of I/O; the same event noted twice in one transaction is sent once."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    pending: dict[tuple[object, ...], LiveEvent] = sync.info.setdefault(_PENDING_KEY, {})
    noted = LiveEvent(user_id, type_, ids)
    pending.setdefault(noted.key(), noted)


def encode(events: list[LiveEvent]) -> list[str]:
    """NOTIFY payloads (each under `MAX_PAYLOAD` bytes) carrying `events`."""
    payloads: list[str] = []
    chunk: list[list[object]] = []
    size = 2
    for item in events:
        entry: list[object] = [item.user_id, item.type, dict(item.ids)]
        length = len(json.dumps(entry, separators=(",", ":"))) + 1
        if chunk and size + length > MAX_PAYLOAD:
            payloads.append(json.dumps(chunk, separators=(",", ":")))
            chunk, size = [], 2
        chunk.append(entry)
        size += length
    if chunk:
        payloads.append(json.dumps(chunk, separators=(",", ":")))
    return payloads


def decode(payload: str) -> list[LiveEvent]:
    """The events of one NOTIFY payload; malformed entries are skipped (logged), never raised."""
    try:
        entries = json.loads(payload)
    except json.JSONDecodeError:
        log.warning("live events: a malformed notification was ignored")
        return []
    found: list[LiveEvent] = []
    for entry in entries if isinstance(entries, list) else []:
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and (entry[0] is None or isinstance(entry[0], int))
            and isinstance(entry[1], str)
            and isinstance(entry[2], dict)
        ):
            found.append(LiveEvent(entry[0], entry[1], entry[2]))
    return found


def _postgres(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"


# ORM writes need no call: a flushed row of these tables notes its event itself. (The engine's hot
# path writes with Core statements; `SqlTradingStore` notes those by hand.)
_ORM_EVENTS: dict[str, str] = {
    "exchange_connections": "connection",
    "user_settings": "risk_settings",
    "telegram_links": "telegram",
    "alert_preferences": "telegram",
    "positions": "position",
    "orders": "order",
    "fills": "fill",
    "r_ledger": "position",
    "sessions": "session",  # a login ended: the user's streams check theirs (never forwarded)
    "platform_state": "engine",  # platform switches: every user's engine badge
    "users": "account",  # plan, waiver: the user's limits (keyed by the row's own id)
}


class LiveSyncSession(Session):
    """The sync session under `QueuedWriteSession`: sends the events noted in its transactions."""


@event.listens_for(LiveSyncSession, "before_flush")
def _note_orm_writes(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        kind = _ORM_EVENTS.get(getattr(instance, "__tablename__", ""))
        if kind is None or (instance in session.dirty and not session.is_modified(instance)):
            continue
        user_id = getattr(instance, "id" if kind == "account" else "user_id", None)
        if kind == "engine":
            note_change(session, None, kind)
        elif isinstance(user_id, int):
            ids = {"position_id": p} if isinstance(p := getattr(instance, "position_id", None), int) else {}
            note_change(session, user_id, kind, **ids)


@event.listens_for(LiveSyncSession, "before_commit")
def _notify_in_transaction(session: Session) -> None:
    if not _postgres(session):
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # commit's own flush comes after this hook: note its rows' events first
    pending: dict[Any, LiveEvent] | None = session.info.get(_PENDING_KEY)
    if not pending:
        return
    for payload in encode(list(pending.values())):
        session.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})
    pending.clear()  # PostgreSQL delivers them on commit


@event.listens_for(LiveSyncSession, "after_commit")
def _publish_in_process(session: Session) -> None:
    pending: dict[Any, LiveEvent] | None = session.info.pop(_PENDING_KEY, None)
    sink: LiveEventSink | None = session.info.get(SINK_KEY)
    if not pending or sink is None:
        return
    for item in pending.values():
        sink.publish(item)


@event.listens_for(LiveSyncSession, "after_transaction_end")
def _forget_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost ended: committed events are gone already
        session.info.pop(_PENDING_KEY, None)
