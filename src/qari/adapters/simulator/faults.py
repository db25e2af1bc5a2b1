"""Faults on demand: each rule fires on matching requests either with a probability or a number of
times (one-shot = 1), so resilience tests are deterministic (seeded random numbers)."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Literal

FaultKind = Literal["timeout", "http_5xx", "rate_limit", "maintenance", "reject_order"]
KINDS: tuple[str, ...] = ("timeout", "http_5xx", "rate_limit", "maintenance", "reject_order")


@dataclass(slots=True)
class FaultRule:
    id: int
    kind: str
    probability: float | None = None  # None: fire on every match while `remaining` lasts
    remaining: int | None = 1  # None: unlimited
    paths: tuple[str, ...] = ()  # path prefixes like "/v5/order"; empty = every Bybit path
    delay_ms: int = 15_000  # timeout: how long the answer is held back
    after: bool = False  # timeout: carry the request out first, then hold the answer (outcome unknown)
    status: int = 502  # http_5xx: the status sent
    # Fire on order creation only, in whichever protocol the venue speaks (its create paths and method):
    # a path prefix cannot single it out on OKX (`/trade/order` also starts `/trade/orders-pending`).
    orders_only: bool = False

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["paths"] = list(self.paths)
        return data


class FaultInjector:
    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._seq = 0
        self._random = random.Random(seed)

    def add(self, kind: str, **options: object) -> FaultRule:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
        self._seq += 1
        rule = FaultRule(self._seq, kind, **options)  # type: ignore[arg-type]
        if rule.probability is not None and not 0 <= rule.probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) < before

    def clear(self) -> None:
        self._rules.clear()

    def pick(self, path: str, *, is_order_create: bool) -> FaultRule | None:
        """The first rule that fires for this request (consuming one use of it), if any."""
        for rule in self._rules:
            if rule.paths and not path.startswith(rule.paths):
                continue
            if (rule.kind == "reject_order" or rule.orders_only) and not is_order_create:
                continue
            if rule.probability is not None and self._random.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return rule
        return None
