"""The journal's facts read once for a unit give every candidate the same GateContext as the reads
per candidate do (open positions, cooldown after a stop-loss, kill switch)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.unit.engine.records import position_record

from qari.adapters.persistence.memory import MemoryTradingStore
from qari.core.instrument import InstrumentRules
from qari.core.market import Ticker
from qari.core.orders import Balance
from qari.engine.gate_facts import gather_gate_context, read_journal_facts
from qari.risk.candidate import CandidateLevels
from qari.risk.kill_switch import RealisedR
from qari.risk.profile import TradingProfile
from qari.trading.position import ExitReason, PositionState
from qari.trading.records import PositionRecord

NOW = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)
SYMBOLS = ("SOL/USDT", "ETH/USDT", "DOGE/USDT")


class Venue:
    exchange_id = "sandbox"

    async def load_markets(self) -> dict[str, InstrumentRules]:
        return {
            s: InstrumentRules(
                s, s.split("/")[0], "USDT", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(5)
            )
            for s in SYMBOLS
        }

    async def fetch_balances(self) -> dict[str, Balance]:
        return {"USDT": Balance("USDT", Decimal(5000), Decimal(0))}

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return Ticker(symbol, Decimal(100), Decimal("99.99"), Decimal("100.01"))


def _position(symbol: str, state: PositionState) -> PositionRecord:
    return position_record(symbol, state, NOW, opened_at=NOW - dt.timedelta(days=1))


async def test_gate_context_when_journal_read_for_the_unit_then_same_as_read_per_candidate() -> None:
    # Arrange: an open ETH position, a SOL stop-loss 2 h ago (cooldown) with its -1R (kill switch)
    store = MemoryTradingStore()
    await store.add_position(_position("ETH/USDT", PositionState.OPEN))
    stopped = await store.add_position(_position("SOL/USDT", PositionState.OPEN))
    stopped.state = PositionState.CLOSED
    stopped.exit_reason = ExitReason.STOP_LOSS.value
    stopped.closed_at = NOW - dt.timedelta(hours=2)
    stopped.realised_pnl_quote = Decimal(-10)
    stopped.realised_r = Decimal(-1)
    await store.save_position(stopped, realised=RealisedR(stopped.closed_at, Decimal(-1)))
    profile = TradingProfile(user_id=1, exchange_id="sandbox")
    journal = await read_journal_facts(store, profile, SYMBOLS, NOW)

    for symbol in SYMBOLS:
        candidate = CandidateLevels(
            symbol, Decimal("99.5"), Decimal("100.5"), Decimal(95), Decimal(110), Decimal(120)
        )

        # Act
        contexts = [
            await gather_gate_context(
                exchange=Venue(),  # type: ignore[arg-type]
                store=store,
                profile=profile,
                candidate=candidate,
                now=NOW,
                lock_acquired=True,
                fee_rate=Decimal("0.001"),
                daily_closes={},
                journal=facts,
            )
            for facts in (None, journal)
        ]

        # Assert
        assert contexts[0] == contexts[1]
    assert journal.last_stop_loss_at == {"SOL/USDT": stopped.closed_at, "ETH/USDT": None, "DOGE/USDT": None}
    assert [p.symbol for p in journal.open_positions] == ["ETH/USDT"]
    assert [e.r for e in journal.r_entries] == [Decimal(-1)]
