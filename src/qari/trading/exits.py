"""Exit maths: PT1 40 %, PT2 30 %, break-even after PT1, structural trailing on the last 30 %.

Everything here works on what can actually be sold: held quantity net of base-asset fees, rounded
down to the lot size and capped by the free base balance, so an exit can never ask for more than
the account holds. Exits below the venue minimum are folded into the next exit (or the whole
remainder) instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from qari.core.instrument import InstrumentRules
from qari.risk.checks.risk_reward import reward_risk
from qari.risk.context import MIN_REWARD_RISK
from qari.risk.stops import StopBand, stop_distance

PT1_SHARE = Decimal("0.40")
PT2_SHARE = Decimal("0.30")


@dataclass(frozen=True, slots=True)
class FillAmount:
    qty_base: Decimal
    price: Decimal


def blended_entry(fills: Iterable[FillAmount]) -> Decimal | None:
    items = [f for f in fills if f.qty_base > 0]
    qty = sum((f.qty_base for f in items), Decimal(0))
    if qty <= 0:
        return None
    return sum((f.qty_base * f.price for f in items), Decimal(0)) / qty


def sellable_qty(held_base: Decimal, free_base: Decimal | None, rules: InstrumentRules) -> Decimal:
    """What an exit may sell: the position's net holding, capped by the free balance, lot-rounded down."""
    qty = held_base if free_base is None else min(held_base, free_base)
    return rules.round_qty_down(max(qty, Decimal(0)))


def is_placeable(qty: Decimal, price: Decimal, rules: InstrumentRules) -> bool:
    return qty > 0 and qty >= rules.min_qty and qty * price >= rules.min_notional


def target_exit_qty(
    share: Decimal, entered_base: Decimal, sellable: Decimal, price: Decimal, rules: InstrumentRules
) -> Decimal:
    """Quantity to sell for a partial target: `share` of the entered quantity, never more than sellable.

    If the slice is below the venue minimum, or the remainder it would leave could not be sold or
    protected, the whole sellable quantity goes instead. Returns 0 when nothing placeable is held.
    """
    if not is_placeable(sellable, price, rules):
        return Decimal(0)
    qty = min(rules.round_qty_down(entered_base * share), sellable)
    rest = sellable - qty
    if not is_placeable(qty, price, rules) or (rest > 0 and not is_placeable(rest, price, rules)):
        return sellable
    return qty


def break_even_stop(entry: Decimal, fee_rate: Decimal, rules: InstrumentRules) -> Decimal:
    """The stop after PT1: the blended entry plus round-trip fees, rounded up to the tick."""
    return rules.round_price_up(entry * (1 + 2 * fee_rate))


def trailed_stop(
    current_stop: Decimal, higher_low: float | Decimal | None, last_price: Decimal, rules: InstrumentRules
) -> Decimal:
    """Raise the stop to just below the latest 15m higher low; never lower it, never above price."""
    if higher_low is None:
        return current_stop
    candidate = rules.round_price_down(Decimal(str(higher_low)) - rules.tick_size)
    if candidate <= current_stop or candidate >= last_price:
        return current_stop
    return candidate


def leg2_qty_within_risk(
    *,
    reserved_qty: Decimal,
    price: Decimal,
    stop: Decimal,
    planned_risk: Decimal,
    risk_taken: Decimal,
    rules: InstrumentRules,
) -> Decimal:
    """Leg 2's quantity at `price`, shrunk so the whole trade never risks more than the planned 1R."""
    per_unit = price - stop
    if per_unit <= 0:
        return Decimal(0)
    room = planned_risk - risk_taken
    if room <= 0:
        return Decimal(0)
    return rules.round_qty_down(min(reserved_qty, room / per_unit))


def leg2_allowed(price: Decimal, stop: Decimal, pt1: Decimal, band: StopBand) -> str | None:
    """None if Leg 2 may go at `price`; otherwise why the reservation is released instead."""
    if price >= pt1:
        return f"price {price} already at/above PT1 {pt1}"
    if price <= stop:
        return f"price {price} at/below the stop {stop}"
    distance = stop_distance(price, stop)
    if not band.contains(distance):
        return f"stop would be {distance * 100:.1f} % below Leg 2, outside the band"
    return None


def leg2_blend_refusal(
    *,
    cost_quote: Decimal,
    bought_qty: Decimal,
    qty: Decimal,
    price: Decimal,
    stop: Decimal,
    pt2: Decimal,
    fee_rate: Decimal,
    band: StopBand,
    min_reward_risk: Decimal = MIN_REWARD_RISK,
) -> str | None:
    """None if the trade still meets the plan's rules once Leg 2 is added; otherwise why it is skipped.

    G13 checks reward/risk on the planned entry only; Leg 2 bought higher blends the entry upwards, so
    the blended entry must again clear R/R >= 2 to PT2 (fees included) and keep the stop in the band.
    """
    total = bought_qty + qty
    if total <= 0:
        return None
    blended = (cost_quote + qty * price) / total
    ratio = reward_risk(blended, stop, pt2, fee_rate)
    if ratio is None or ratio < min_reward_risk:
        shown = "none" if ratio is None else f"{ratio:.2f}"
        return f"the blended entry {blended:.8g} would leave reward/risk {shown} < {min_reward_risk} to PT2"
    distance = stop_distance(blended, stop)
    if not band.contains(distance):
        return f"the stop would be {distance * 100:.1f} % below the blended entry, outside the band"
    return None


def realised_r(pnl_quote: Decimal, one_r_quote: Decimal) -> Decimal:
    if one_r_quote <= 0:
        return Decimal(0)
    return (pnl_quote / one_r_quote).quantize(Decimal("0.0001"))
