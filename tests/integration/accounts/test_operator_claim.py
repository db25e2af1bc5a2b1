"""Exactly one operator per install, even when the first two registrations race."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from tests.integration.execution.support import START, migrated_engine

from qari.adapters.persistence.db import make_sessionmaker
from qari.adapters.persistence.tables.accounts import User
from qari.services import accounts

PASSWORD = "Correct-Horse-9-Battery"


async def test_register_when_two_first_accounts_race_then_exactly_one_operator(database_url: str) -> None:
    engine = await migrated_engine(database_url)
    sessions = make_sessionmaker(engine)
    first_written = asyncio.Event()

    async def first() -> bool:
        async with sessions() as session, session.begin():
            user = await accounts.register(session, email="a@example.com", password=PASSWORD, now=START)
            first_written.set()
            await asyncio.sleep(0.5)  # still uncommitted while the second registration runs
            return user.is_operator

    async def second() -> bool:
        await first_written.wait()
        async with sessions() as session, session.begin():
            user = await accounts.register(session, email="b@example.com", password=PASSWORD, now=START)
            return user.is_operator

    try:
        assert sorted(await asyncio.gather(first(), second())) == [False, True]
        async with sessions() as session:
            operators = (await session.scalars(select(User.email).where(User.is_operator))).all()
        assert operators == ["a@example.com"]
    finally:
        await engine.dispose()
