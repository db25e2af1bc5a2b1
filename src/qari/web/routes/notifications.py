"""API routes: Settings → Notifications (Telegram link, status, per-event preferences)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qari.services import alerts
from qari.services.errors import ServiceError
from qari.web.deps import ClockDep, CurrentUser, SessionDep
from qari.web.schemas.notifications import AlertPreferences, TelegramLinkCode, TelegramStatus
from qari.web.telegram import TelegramRuntime

router = APIRouter(prefix="/notifications", tags=["notifications"])

TELEGRAM_OFF = (
    "Telegram alerts are off on this server: the operator must set QARI_TELEGRAM_BOT_TOKEN "
    "(a bot token from @BotFather) and restart QARI."
)


def _telegram(request: Request) -> TelegramRuntime | None:
    runtime: TelegramRuntime | None = getattr(request.app.state, "telegram", None)
    return runtime


async def _status(request: Request, session: SessionDep, user_id: int) -> TelegramStatus:
    runtime = _telegram(request)
    link = await alerts.get_link(session, user_id)
    return TelegramStatus(
        enabled=runtime is not None,
        message=None if runtime is not None else TELEGRAM_OFF,
        bot_username=runtime.username if runtime is not None else None,
        linked=link is not None,
        linked_at=link.linked_at if link is not None else None,
    )


@router.get("/telegram", response_model=TelegramStatus)
async def telegram_status(request: Request, user: CurrentUser, session: SessionDep) -> TelegramStatus:
    """Whether Telegram alerts are available on this server and whether this account is linked."""
    return await _status(request, session, user.id)


@router.post("/telegram/link", response_model=TelegramLinkCode, status_code=201)
async def create_link(
    request: Request, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TelegramLinkCode:
    """A one-time code (valid 15 minutes) and the t.me deep link that sends `/start <code>` to the bot."""
    runtime = _telegram(request)
    if runtime is None:
        raise ServiceError(409, TELEGRAM_OFF)
    username = await runtime.bot_username()
    if not username:
        raise ServiceError(503, "Telegram cannot be reached right now; try again in a minute.")
    code = await alerts.create_link_code(session, user.id, clock=clock)
    await session.commit()
    return TelegramLinkCode(
        code=code.code, deep_link=f"https://t.me/{username}?start={code.code}", expires_at=code.expires_at
    )


@router.delete("/telegram/link", response_model=TelegramStatus)
async def unlink(request: Request, user: CurrentUser, session: SessionDep) -> TelegramStatus:
    """Stop sending alerts to the linked chat (sending /stop to the bot does the same)."""
    await alerts.unlink_user(session, user.id)
    await session.commit()
    return await _status(request, session, user.id)


@router.get("/preferences", response_model=AlertPreferences)
async def get_preferences(user: CurrentUser, session: SessionDep) -> AlertPreferences:
    return AlertPreferences(preferences=await alerts.get_preferences(session, user.id))


@router.put("/preferences", response_model=AlertPreferences)
async def put_preferences(body: AlertPreferences, user: CurrentUser, session: SessionDep) -> AlertPreferences:
    """Turn alert kinds on or off; kinds not sent keep their setting."""
    updated = await alerts.set_preferences(session, user.id, body.preferences)
    await session.commit()
    return AlertPreferences(preferences=updated)
