"""Alert use cases shared by the engine, the web routes and the Telegram link poller.

`emit_alert` (the outbox writer, `qari.adapters.persistence.alerts`) only writes an outbox row inside the
caller's transaction, so an alert exists exactly when the event that caused it was committed; delivery is the
outbox worker's job (`qari.adapters.notify.outbox`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.alerts import ALERT_KINDS
from qari.adapters.persistence.live import note_change
from qari.adapters.persistence.tables.alerts import (
    AlertPreference,
    TelegramLink,
    TelegramLinkCode,
)
from qari.core.clocks import WallClock
from qari.core.time import Clock, as_utc
from qari.services.errors import ServiceError

LINK_CODE_TTL = dt.timedelta(minutes=15)
_WALL = WallClock()


class UnknownAlertKindError(ServiceError, ValueError):
    """A user asked for a kind outside `ALERT_KINDS` (alert preferences): answered as a 422."""

    def __init__(self, kind: str) -> None:
        super().__init__(422, f"unknown alert kind {kind[:40]!r}; use one of: {', '.join(ALERT_KINDS)}")


# --- Telegram linking -------------------------------------------------------------------------------


def hash_link_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: dt.datetime


async def create_link_code(session: AsyncSession, user_id: int, *, clock: Clock | None = None) -> LinkCode:
    """A fresh one-time code; earlier unused codes of the user stop working."""
    now = (clock or _WALL).now()
    await session.execute(
        delete(TelegramLinkCode).where(
            TelegramLinkCode.user_id == user_id, TelegramLinkCode.used_at.is_(None)
        )
    )
    code = secrets.token_urlsafe(18)  # 24 chars of [A-Za-z0-9_-]: valid as a Telegram start parameter
    expires = now + LINK_CODE_TTL
    session.add(
        TelegramLinkCode(
            code_hash=hash_link_code(code), user_id=user_id, created_at=now, expires_at=expires, used_at=None
        )
    )
    await session.flush()
    return LinkCode(code=code, expires_at=expires)


LinkOutcome = Literal["linked", "already_linked", "invalid"]


async def link_chat(
    session: AsyncSession, code: str, chat_id: int, *, clock: Clock | None = None
) -> LinkOutcome:
    """Consume `code` and link `chat_id` to its user.

    "already_linked": the code was used by this very chat, which is still linked (getUpdates hands out
    the same `/start` again after a restart), so there is nothing to do or say.
    """
    now = (clock or _WALL).now()
    row = await session.get(TelegramLinkCode, hash_link_code(code))
    if row is not None and row.used_at is not None:
        link = await session.get(TelegramLink, row.user_id)
        return "already_linked" if link is not None and link.chat_id == chat_id else "invalid"
    if row is None or as_utc(row.expires_at) <= now:
        return "invalid"
    claimed = await session.execute(
        update(TelegramLinkCode)
        .where(TelegramLinkCode.code_hash == row.code_hash, TelegramLinkCode.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return "invalid"
    link = await session.get(TelegramLink, row.user_id)
    if link is None:
        session.add(TelegramLink(user_id=row.user_id, chat_id=chat_id, linked_at=now))
    else:
        link.chat_id = chat_id
        link.linked_at = now
    await session.flush()
    return "linked"


async def unlink_user(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(TelegramLink).where(TelegramLink.user_id == user_id))
    note_change(session, user_id, "telegram")
    return bool(getattr(result, "rowcount", 0))


async def unlink_chat(session: AsyncSession, chat_id: int) -> int:
    """The chat sent /stop: unlink every account that delivers there."""
    result = await session.execute(
        delete(TelegramLink).where(TelegramLink.chat_id == chat_id).returning(TelegramLink.user_id)
    )
    users = list(result.scalars())
    for user_id in users:
        note_change(session, user_id, "telegram")
    return len(users)


async def get_link(session: AsyncSession, user_id: int) -> TelegramLink | None:
    return await session.get(TelegramLink, user_id)


# --- Preferences -------------------------------------------------------------------------------------


async def get_preferences(session: AsyncSession, user_id: int) -> dict[str, bool]:
    rows = await session.scalars(select(AlertPreference).where(AlertPreference.user_id == user_id))
    chosen = {row.kind: row.enabled for row in rows}
    return {kind: chosen.get(kind, True) for kind in ALERT_KINDS}


async def set_preferences(session: AsyncSession, user_id: int, changes: dict[str, bool]) -> dict[str, bool]:
    for kind in changes:
        if kind not in ALERT_KINDS:
            raise UnknownAlertKindError(kind)
    for kind, enabled in changes.items():
        row = await session.get(AlertPreference, (user_id, kind))
        if row is None:
            session.add(AlertPreference(user_id=user_id, kind=kind, enabled=enabled))
        else:
            row.enabled = enabled
    await session.flush()
    return await get_preferences(session, user_id)
