"""Entering a trade: gate the candidate under the user+symbol lock and, if it passes, place Leg 1.

The gate's record, the new position, Leg 1's intent and the position's first event commit together;
Leg 1 is sent only after that commit (ARCHITECTURE rule 6). Everything after that, including the
first look at a Leg 1 that crossed at once, is `qari.engine.management`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from qari.core.instrument import InstrumentRules
from qari.core.orders import OrderType, Side
from qari.decisions import gate_inputs
from qari.engine.gate_facts import JournalFacts, gather_gate_context, rounded_levels
from qari.engine.management import PositionManagement
from qari.engine.orders import OrderManager
from qari.ports import Clock, EntryLock, ExchangeClient, TradingStore
from qari.risk.candidate import TradeCandidate
from qari.risk.gate import GateDecision, evaluate_gate
from qari.risk.profile import TradingProfile
from qari.trading.order import OrderRole
from qari.trading.position import PositionState
from qari.trading.records import GateRecord, PositionRecord

if TYPE_CHECKING:
    from qari.engine.execution import ExecutionConfig


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    decision: GateDecision
    gate_evaluation_id: int
    position: PositionRecord | None


class PositionEntry:
    """Gate → Leg 1 for one user on one venue; hands the new position to `management`."""

    def __init__(
        self,
        exchange: ExchangeClient,
        store: TradingStore,
        locks: EntryLock,
        clock: Clock,
        config: ExecutionConfig,
        orders: OrderManager,
        management: PositionManagement,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.locks = locks
        self.clock = clock
        self.config = config
        self.orders = orders
        self.management = management

    async def enter(
        self,
        profile: TradingProfile,
        candidate: TradeCandidate,
        *,
        layer_results: Sequence[Mapping[str, Any]] = (),
        markets: Mapping[str, InstrumentRules] | None = None,
        daily_closes: Mapping[str, tuple[float, ...]] | None = None,
        journal: JournalFacts | None = None,
        analysis_at: dt.datetime | None = None,
        scoring: Mapping[str, Any] | None = None,
    ) -> EntryOutcome:
        """Gate the candidate under the user+symbol lock and, if it passes, place Leg 1. `journal`: the
        journal's facts as read for the unit (see `gate_facts.JournalFacts`), else read here;
        `scoring`: a Premium user's personal scoring, recorded with the gate's inputs."""
        now = self.clock.now()
        self.orders.guard.know(profile)
        if markets is not None:
            self.management.markets = markets
        async with self.locks.hold(profile.user_id, candidate.symbol) as locked:
            ctx, sizing = await gather_gate_context(
                exchange=self.exchange,
                store=self.store,
                profile=profile,
                candidate=candidate,
                now=now,
                lock_acquired=locked,
                fee_rate=self.config.fee_rate,
                markets=markets,
                daily_closes=daily_closes,
                journal=journal,
            )
            decision = evaluate_gate(ctx)
            blocking = decision.blocking
            record = GateRecord(
                user_id=profile.user_id,
                exchange_id=profile.exchange_id,
                symbol=candidate.symbol,
                passed=decision.passed,
                blocking_code=None if blocking is None else blocking.code,
                reason=decision.headline,
                results=[
                    {"code": r.code, "name": r.name, "passed": r.passed, "reason": r.reason}
                    for r in decision.results
                ],
                candidate=_candidate_dict(candidate, ctx.entry_price),
                at=now,
                inputs=gate_inputs(ctx, analysis_at, scoring),
            )
            if not decision.passed or sizing is None or ctx.instrument is None:
                return EntryOutcome(decision, await self.store.record_gate(record), None)
            # The gate's record, the position, Leg 1's intent and the position's first event commit
            # together; the order is sent only after that commit (ARCHITECTURE rule 6), which journals
            # it as SUBMITTED: nothing else is written before the send, so no second commit is needed.
            async with self.store.batch():
                gate_id = await self.store.record_gate(record)
                entry, stop, pt1, pt2 = rounded_levels(candidate, ctx.instrument)
                position = PositionRecord(
                    user_id=profile.user_id,
                    exchange_id=profile.exchange_id,
                    symbol=candidate.symbol,
                    base=ctx.instrument.base,
                    state=PositionState.PENDING,
                    entry_price=entry,
                    structural_stop=stop,
                    stop_price=stop,
                    pt1=pt1,
                    pt2=pt2,
                    leg1_qty=sizing.leg1_qty,
                    leg2_qty=sizing.leg2_qty,
                    planned_r_quote=sizing.risk_quote,
                    fee_rate=self.config.fee_rate,
                    leg1_expires_at=now + self.config.leg1_ttl,
                    leg2_expires_at=now + self.config.leg2_ttl,
                    opened_at=now,
                    explanation=candidate.explanation,
                    layer_results=[dict(r) for r in layer_results],
                    gate_evaluation_id=gate_id,
                )
                leg1 = await self.orders.prepare(  # journals the new position too
                    position,
                    OrderRole.LEG1,
                    Side.BUY,
                    OrderType.LIMIT,
                    sizing.leg1_qty,
                    price=entry,
                    submitted=True,
                )
                await self.store.record_event(position, "gate_passed", decision.headline, now)
            text = f"Leg 1 limit buy {sizing.leg1_qty} at {entry}; Leg 2 reserved"

            async def placed() -> None:  # committed with Leg 1's answer from the venue
                await self.store.record_event(position, "leg1_placed", text, now)

            await self.orders.submit(leg1, then=placed)
        # Bybit's create answer carries no status, so a Leg 1 that crossed at once is found only by
        # reading the venue: one pass now puts its stop on it. Leg 1 is all the new position's orders.
        await self.management.manage_one(position, [leg1])
        return EntryOutcome(decision, gate_id, position)


def _candidate_dict(candidate: TradeCandidate, entry: Decimal) -> dict[str, Any]:
    return {
        "symbol": candidate.symbol,
        "entry_low": str(candidate.entry_low),
        "entry_high": str(candidate.entry_high),
        "entry": str(entry),
        "stop": str(candidate.stop),
        "pt1": str(candidate.pt1),
        "pt2": str(candidate.pt2),
        "score": float(candidate.score),
        "explanation": candidate.explanation,
    }
