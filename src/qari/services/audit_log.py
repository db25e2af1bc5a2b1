"""The audit log for people: who (by e-mail) did what, in one plain sentence per entry. The stored
entries keep their machine form (`action` + `detail`); this is their one reading."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qari.adapters.persistence.tables.accounts import AuditEntry, User

SETTING_NAMES = {
    "auto_trading": "auto-trading",
    "allocation_mode": "allocation mode",
    "allocation_value": "allocation amount",
    "max_positions": "max open positions",
    "stop_loss_pct": "stop-loss %",
    "personal_blacklist": "personal blacklist",
    "daily_loss_limit_r": "daily loss limit",
    "weekly_loss_limit_r": "weekly loss limit",
    "spread_limit_bps": "spread limit",
    "cooldown_hours": "cooldown",
}


def _on_off(value: object, on: str, off: str) -> str:
    return on if value else off


def _platform(detail: Mapping[str, Any], _who: Callable[[object], str]) -> str:
    parts = []
    if "engine_enabled" in detail:
        parts.append(_on_off(detail["engine_enabled"], "switched the engine on", "switched the engine off"))
    if "kill_switch" in detail:
        parts.append(
            _on_off(
                detail["kill_switch"],
                "activated the platform kill switch",
                "cleared the platform kill switch",
            )
        )
    return " and ".join(parts) or "changed platform settings"


def _blacklist(detail: Mapping[str, Any], _who: Callable[[object], str]) -> str:
    symbols = detail.get("symbols") or []
    return (
        f"set the platform blacklist to {', '.join(symbols)}" if symbols else "cleared the platform blacklist"
    )


def _risk(detail: Mapping[str, Any], _who: Callable[[object], str]) -> str:
    fields = [SETTING_NAMES.get(str(f), str(f).replace("_", " ")) for f in detail.get("fields") or []]
    return f"changed risk settings: {', '.join(fields)}" if fields else "saved risk settings"


SENTENCES: dict[str, Callable[[Mapping[str, Any], Callable[[object], str]], str]] = {
    "user.registered": lambda d, w: "registered",
    "user.login": lambda d, w: "logged in",
    "user.password_changed": lambda d, w: "changed their password",
    "user.totp_setup": lambda d, w: "started setting up two-factor login",
    "user.totp_enabled": lambda d, w: "switched two-factor login on",
    "user.totp_disabled": lambda d, w: "switched two-factor login off",
    "settings.risk": _risk,
    "settings.data_sharing": lambda d, w: _on_off(
        d.get("consent"),
        "agreed to share anonymised trade outcomes",
        "withdrew consent to share trade outcomes",
    ),
    "learning.trained": lambda d, w: f"trained learning model {d.get('version')}",
    "learning.activated": lambda d, w: f"activated learning model {d.get('version')}",
    "learning.rolled_back": lambda d, w: f"rolled the learning model back to {d.get('version')}",
    "learning.refitted": lambda d, w: (
        f"re-fitted Stage 2 as {d.get('version')}, "
        + ("activated: it beat the active version" if d.get("activated") else "not activated")
    ),
    "platform.changed": _platform,
    "platform.blacklist": _blacklist,
    "plan.set": lambda d, w: f"set the plan of {w(d.get('user_id'))} to {d.get('tier')}",
    "waiver.granted": lambda d, w: f"granted a subscription waiver to {w(d.get('user_id'))}",
    "waiver.revoked": lambda d, w: f"revoked the subscription waiver of {w(d.get('user_id'))}",
    "position.close": lambda d, w: f"closed position #{d.get('position_id')} at market",
}


def sentence(action: str, detail: Mapping[str, Any], who: Callable[[object], str]) -> str:
    """What happened, in words; an action without a sentence yet is spelt out, never dumped as JSON."""
    known = SENTENCES.get(action)
    if known is not None:
        return known(detail, who)
    words = action.replace(".", " ").replace("_", " ")
    extra = ", ".join(
        f"{str(k).replace('_', ' ')} {v}" for k, v in detail.items() if not isinstance(v, dict | list)
    )
    return f"{words} ({extra})" if extra else words


async def readable(session: AsyncSession, rows: list[AuditEntry]) -> list[dict[str, Any]]:
    """Each entry with the actor's e-mail and its sentence (users mentioned in it by e-mail too)."""
    ids = {r.actor_user_id for r in rows if r.actor_user_id is not None}
    ids |= {int(r.detail["user_id"]) for r in rows if isinstance((r.detail or {}).get("user_id"), int)}
    emails: dict[int, str] = {}
    if ids:
        found = await session.execute(select(User.id, User.email).where(User.id.in_(ids)))
        emails = {int(i): str(e) for i, e in found.all()}

    def who(user_id: object) -> str:
        if isinstance(user_id, int) and user_id in emails:
            return emails[user_id]
        return "a deleted account" if user_id is not None else "someone"

    return [
        {
            "id": r.id,
            "at": r.at,
            "actor_user_id": r.actor_user_id,
            "actor_email": emails.get(r.actor_user_id) if r.actor_user_id is not None else None,
            "action": r.action,
            "detail": r.detail or {},
            "summary": sentence(r.action, r.detail or {}, who),
        }
        for r in rows
    ]
