"""Trial-ending reminders: queued once per trial, only in the last week, never for waivers or paid plans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from sqlalchemy import select, update
from tests.helpers import register_and_login

from qari.adapters.persistence.tables.accounts import User
from qari.adapters.persistence.tables.alerts import AlertOutbox
from qari.config import load_settings
from qari.core.clocks import ManualClock
from qari.services.plans import queue_trial_ending_alerts


async def test_trial_ending_when_checked_hourly_in_last_week_then_one_alert_per_trial(tmp_path: Path) -> None:
    from qari.web.app import create_app

    settings = load_settings(
        data_dir=tmp_path / "var", master_key_file=tmp_path / "keys" / "master.key", engine_mode="off"
    )
    registered = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    app = create_app(settings)
    app.state.clock = ManualClock(registered)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await register_and_login(client, "operator@example.com")
            await register_and_login(client, "trial@example.com")
            await register_and_login(client, "waived@example.com")
        sessions = app.state.sessions
        async with sessions() as session, session.begin():
            await session.execute(update(User).where(User.email == "waived@example.com").values(waiver=True))

        two_weeks_before = registered + dt.timedelta(days=90 - 14)
        three_days_before = registered + dt.timedelta(days=90 - 3)
        counts = []
        for now in (two_weeks_before, three_days_before, three_days_before + dt.timedelta(hours=1)):
            async with sessions() as session, session.begin():
                counts.append(await queue_trial_ending_alerts(session, now))

        async with sessions() as session:
            rows = (
                await session.scalars(select(AlertOutbox).where(AlertOutbox.kind == "trial_ending"))
            ).all()
            emails = {u.id: u.email for u in (await session.scalars(select(User))).all()}
    assert counts[0] == 0
    assert sorted(emails[r.user_id] for r in rows) == ["operator@example.com", "trial@example.com"]
