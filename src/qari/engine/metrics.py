"""In-process engine metrics: cycle time, gate outcomes, order latency and errors.

One `EngineMetrics` per engine (no module globals). Counters and timings are keyed by a name and
sorted label pairs; `snapshot()` feeds /healthz and `prometheus_text()` a scrape endpoint.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]


def _labels(labels: dict[str, str] | None) -> Labels:
    return tuple(sorted((labels or {}).items()))


@dataclass(slots=True)
class Timing:
    """Count, sum, min, max and a bounded window of recent values for quantiles."""

    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = 0.0
    last: float = 0.0
    window: deque[float] = field(default_factory=lambda: deque(maxlen=512))

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.last = value
        self.window.append(value)

    def quantile(self, q: float) -> float:
        if not self.window:
            return 0.0
        ordered = sorted(self.window)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def as_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "mean": self.total / self.count if self.count else 0.0,
            "min": self.minimum if self.count else 0.0,
            "max": self.maximum,
            "last": self.last,
            "p50": self.quantile(0.5),
            "p95": self.quantile(0.95),
        }


@dataclass(slots=True)
class EngineMetrics:
    counters: dict[tuple[str, Labels], int] = field(default_factory=dict)
    timings: dict[tuple[str, Labels], Timing] = field(default_factory=dict)

    def inc(self, name: str, labels: dict[str, str] | None = None, amount: int = 1) -> None:
        key = (name, _labels(labels))
        self.counters[key] = self.counters.get(key, 0) + amount

    def observe(self, name: str, seconds: float, labels: dict[str, str] | None = None) -> None:
        key = (name, _labels(labels))
        timing = self.timings.get(key)
        if timing is None:
            timing = self.timings[key] = Timing()
        timing.observe(seconds)

    def counter(self, name: str, labels: dict[str, str] | None = None) -> int:
        return self.counters.get((name, _labels(labels)), 0)

    def timing(self, name: str, labels: dict[str, str] | None = None) -> Timing:
        return self.timings.get((name, _labels(labels))) or Timing()

    def snapshot(self) -> dict[str, object]:
        counters: dict[str, int] = {}
        for (name, labels), value in sorted(self.counters.items()):
            counters[_key(name, labels)] = value
        timings = {_key(name, labels): t.as_dict() for (name, labels), t in sorted(self.timings.items())}
        return {"counters": counters, "timings": timings}

    def prometheus_text(self) -> str:
        lines: list[str] = []
        for (name, labels), value in sorted(self.counters.items()):
            lines.append(f"qari_{name}_total{_prom_labels(labels)} {value}")
        for (name, labels), t in sorted(self.timings.items()):
            base = f"qari_{name}_seconds"
            lines.append(f"{base}_count{_prom_labels(labels)} {t.count}")
            lines.append(f"{base}_sum{_prom_labels(labels)} {t.total:.6f}")
        return "\n".join(lines) + "\n"


def _key(name: str, labels: Labels) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"


def _prom_labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in labels
    )
    return "{" + ",".join(escaped) + "}"
