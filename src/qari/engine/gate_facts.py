"""Gather the GateContext for one candidate: every fact read once, here, so the checks stay pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

from qari.core.errors import QariError
from qari.core.instrument import InstrumentRules
from qari.core.market import CandleSeries
from qari.core.time import last_closed_open_ms, to_ms
from qari.ports import ExchangeClient, TradingStore
from qari.risk.candidate import TradeCandidate, entry_price
from qari.risk.context import GateContext
from qari.risk.kill_switch import KillSwitchState, RLimits, evaluate_kill_switch, week_window
from qari.risk.profile import TradingProfile
from qari.risk.sizing import SizingPlan, size_trade
from qari.risk.stops import StopBand
from qari.trading.position import Leg2State, PositionState

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
    limits = RLimits.for_user(profile.daily_loss_limit_r, profile.weekly_loss_limit_r)
    entries = await store.r_entries(profile.user_id, week_window(now)[0])
    return evaluate_kill_switch(entries, now, limits, platform_switch=profile.platform_kill_switch)


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
) -> tuple[GateContext, SizingPlan | None]:
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
    async with store.reads():  # the journal's facts from one session
        open_positions = await store.open_positions(profile.user_id, profile.exchange_id)
        last_stop_loss_at = await store.last_stop_loss_at(profile.user_id, symbol)
        kill_switch = await kill_switch_for(store, profile, now)
    filled = frozenset(p.symbol for p in open_positions if p.state is not PositionState.PENDING)
    pending = frozenset(p.symbol for p in open_positions if p.state is PositionState.PENDING)
    reserved = sum(
        (p.leg2_qty * p.entry_price for p in open_positions if p.leg2_state is Leg2State.RESERVED), Decimal(0)
    )
    closes = dict(daily_closes or {})
    if reachable and daily_closes is None:
        for sym in {symbol, *filled}:
            try:
                series = await closed_candles(exchange, sym, "1d", now, CORRELATION_DAYS)
                closes[sym] = tuple(float(c) for c in series.close)
            except QariError:
                continue  # correlation is judged on what could be read
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
