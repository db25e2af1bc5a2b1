"""Wire schemas for Settings → Notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TelegramStatus(BaseModel):
    """`enabled` is False when the server has no bot token; `message` then says what the operator must do."""

    enabled: bool
    message: str | None = None
    bot_username: str | None = None
    linked: bool
    linked_at: dt.datetime | None = None


class TelegramLinkCode(BaseModel):
    code: str
    deep_link: str
    expires_at: dt.datetime


class AlertPreferences(BaseModel):
    """Alert kind -> on/off. A PUT may send only the kinds it changes, wrapped as {"preferences": {...}}
    or as a flat {"stop_loss": false} map."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _flat_map(cls, value: Any) -> Any:
        if isinstance(value, dict) and "preferences" not in value:
            return {"preferences": value}
        return value

    preferences: dict[str, bool] = Field(
        description="entry_leg1, entry_leg2, stop_loss, pt1, pt2, trailing_exit, kill_switch_tripped, "
        "kill_switch_cleared, key_invalid, key_permissions_changed, exchange_unreachable, trial_ending, "
        "guard_refused, guard_halt, model_trained"
    )
