"""Gather the GateContext for one candidate: every fact read once, here, so the checks stay pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from qari.core.errors import QariError
from qari.core.instrument import InstrumentRules
from qari.core.market import CandleSeries
from qari.core.time import last_closed_open_ms, to_ms
from qari.ports import ExchangeClient, TradingStore
from qari.risk.candidate import TradeCandidate, entry_price
from qari.risk.context import GateContext
from qari.risk.kill_switch import KillSwitchState, RealisedR, RLimits, evaluate_kill_switch, week_window
from qari.risk.profile import TradingProfile
from qari.risk.sizing import SizingPlan, size_trade
from qari.risk.stops import StopBand
from qari.trading.position import Leg2State, PositionState
from qari.trading.records import PositionRecord

QUOTE = "USDT"
CORRELATION_DAYS = 31


async def closed_candles(
    exchange: ExchangeClient, symbol: str, timeframe: str, now: dt.datetime, limit: int
) -> CandleSeries:
    """Closed candles only: the forming candle is dropped (no look-ahead)."""
    rows = await exchange.fetch_ohlcv(symbol, timeframe, None, limit + 1)
    last_open = last_closed_open_ms(to_ms(now), timeframe)
    return CandleSeries.from_rows(symbol, timeframe, [r for r in rows if int(r[0]) <= last_open][-limit:])


async def kill_switch_for(store: TradingStore, profile: TradingProfile, now: dt.datetime) -> KillSwitchState:
    entries = await store.r_entries(profile.user_id, week_window(now)[0])
    return _kill_switch(entries, profile, now)


def _kill_switch(entries: Sequence[RealisedR], profile: TradingProfile, now: dt.datetime) -> KillSwitchState:
    limits = RLimits.for_user(profile.daily_loss_limit_r, profile.weekly_loss_limit_r)
    return evaluate_kill_switch(entries, now, limits, platform_switch=profile.platform_kill_switch)


@dataclass(frozen=True, slots=True)
class JournalFacts:
    """The journal's facts for a run of gate evaluations of one user on one venue (a unit of work):
    read together once, instead of three reads per candidate. Whoever holds it re-reads what its own
    steps change: `open_positions` after an entry, everything after a position closed."""

    open_positions: tuple[PositionRecord, ...]
    last_stop_loss_at: Mapping[str, dt.datetime | None]
    r_since: dt.datetime
    r_entries: tuple[RealisedR, ...]

    def with_open_positions(self, positions: Sequence[PositionRecord]) -> JournalFacts:
        return JournalFacts(tuple(positions), self.last_stop_loss_at, self.r_since, self.r_entries)


async def read_journal_facts(
    store: TradingStore, profile: TradingProfile, symbols: Sequence[str], now: dt.datetime
) -> JournalFacts:
    """`open_positions`, the last stop-loss of every symbol and the kill switch's ledger in one session."""
    since = week_window(now)[0]
    async with store.reads():
        positions = await store.open_positions(profile.user_id, profile.exchange_id)
        stops = await store.last_stop_losses_at(profile.user_id, symbols)
        entries = await store.r_entries(profile.user_id, since)
    return JournalFacts(tuple(positions), stops, since, tuple(entries))


async def _journal_for(
    store: TradingStore,
    profile: TradingProfile,
    symbol: str,
    now: dt.datetime,
    journal: JournalFacts | None,
) -> tuple[Sequence[PositionRecord], dt.datetime | None, KillSwitchState]:
    if journal is not None and symbol in journal.last_stop_loss_at and week_window(now)[0] == journal.r_since:
        kill_switch = _kill_switch(journal.r_entries, profile, now)
        return journal.open_positions, journal.last_stop_loss_at[symbol], kill_switch
    async with store.reads():  # the journal's facts from one session
        open_positions = await store.open_positions(profile.user_id, profile.exchange_id)
        last_stop_loss_at = await store.last_stop_loss_at(profile.user_id, symbol)
        kill_switch = await kill_switch_for(store, profile, now)
    return open_positions, last_stop_loss_at, kill_switch


def rounded_levels(
    candidate: TradeCandidate, rules: InstrumentRules | None
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Entry (zone middle), stop, PT1, PT2 on the market's tick; entries and stops round down."""
    entry = entry_price(candidate)
    stop, pt1, pt2 = Decimal(candidate.stop), Decimal(candidate.pt1), Decimal(candidate.pt2)
    if rules is None:
        return entry, stop, pt1, pt2
    return (
        rules.round_price(entry, ROUND_DOWN),
        rules.round_price_down(stop),
        rules.round_price_down(pt1),
        rules.round_price_down(pt2),
    )


async def gather_gate_context(
    *,
    exchange: ExchangeClient,
    store: TradingStore,
    profile: TradingProfile,
    candidate: TradeCandidate,
    now: dt.datetime,
    lock_acquired: bool,
    fee_rate: Decimal,
    markets: Mapping[str, InstrumentRules] | None = None,
    daily_closes: Mapping[str, tuple[float, ...]] | None = None,
    journal: JournalFacts | None = None,
) -> tuple[GateContext, SizingPlan | None]:
    """`journal`: the journal's facts read for the unit (`read_journal_facts`); read here without it."""
    symbol = candidate.symbol
    reachable = True
    rules: InstrumentRules | None = None
    free_quote = Decimal(0)
    bid = ask = None
    try:
        known = markets if markets is not None else await exchange.load_markets()
        rules = known.get(symbol)
        balances = await exchange.fetch_balances()
        free_quote = balances[QUOTE].free if QUOTE in balances else Decimal(0)
        ticker = await exchange.fetch_ticker(symbol)
        bid, ask = ticker.bid, ticker.ask
    except QariError:
        reachable = False
    entry, stop, _pt1, pt2 = rounded_levels(candidate, rules)
    sizing = None
    if rules is not None and entry > 0:
        sizing = size_trade(
            mode=profile.allocation_mode,
            value=profile.allocation_value,
            free_quote=free_quote,
            entry_price=entry,
            stop_price=stop,
            rules=rules,
            fee_rate=fee_rate,
        )
    open_positions, last_stop_loss_at, kill_switch = await _journal_for(store, profile, symbol, now, journal)
    filled = frozenset(p.symbol for p in open_positions if p.state is not PositionState.PENDING)
    pending = frozenset(p.symbol for p in open_positions if p.state is PositionState.PENDING)
    reserved = sum(
        (p.leg2_qty * p.entry_price for p in open_positions if p.leg2_state is Leg2State.RESERVED), Decimal(0)
    )
    closes: Mapping[str, tuple[float, ...]] = {} if daily_closes is None else daily_closes
    if reachable and daily_closes is None:
        fetched: dict[str, tuple[float, ...]] = {}
        for sym in {symbol, *filled}:
            try:
                series = await closed_candles(exchange, sym, "1d", now, CORRELATION_DAYS)
                fetched[sym] = tuple(float(c) for c in series.close)
            except QariError:
                continue  # correlation is judged on what could be read
        closes = fetched
    ctx = GateContext(
        now=now,
        user_id=profile.user_id,
        symbol=symbol,
        entry_price=entry,
        stop_price=stop,
        pt2_price=pt2,
        engine_enabled=profile.engine_enabled,
        auto_trading=profile.auto_trading,
        plan=profile.plan,
        plan_active_until=profile.plan_active_until,
        waiver=profile.waiver,
        instrument=rules,
        platform_blacklist=profile.platform_blacklist,
        personal_blacklist=profile.personal_blacklist,
        open_position_symbols=filled,
        resting_entry_symbols=pending,
        open_positions=len(open_positions),
        capacity=profile.capacity,
        free_quote=free_quote,
        reserved_quote=reserved,
        sizing=sizing,
        best_bid=bid,
        best_ask=ask,
        spread_limit_bps=profile.spread_limit_bps,
        lock_acquired=lock_acquired,
        last_stop_loss_at=last_stop_loss_at,
        cooldown=profile.cooldown,
        candidate_daily_closes=closes.get(symbol, ()),
        open_daily_closes={s: closes[s] for s in filled if s in closes and s != symbol},
        fee_rate=fee_rate,
        kill_switch=kill_switch,
        r_limits=RLimits.for_user(profile.daily_loss_limit_r, profile.weekly_loss_limit_r),
        stop_band=StopBand(),
        key_status=profile.key_status,
        permissions_verified_at=profile.permissions_verified_at,
        exchange_reachable=reachable,
    )
    return ctx, sizing
