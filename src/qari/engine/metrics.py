"""Engine metrics: cycle time, gate outcomes, order latency and errors.

Every count and timing goes to `prometheus_client` (`qari_<name>_total` counters and
`qari_<name>_seconds` histograms), served at `/metrics` by `adapters/probe.exposition()`; with
`PROMETHEUS_MULTIPROC_DIR` set (web workers, `qari worker` processes on one machine) it uses the
library's multi-process mode, so one scrape sees every process. `EngineMetrics` also keeps this
engine's own figures for /healthz (`snapshot()`) and the benchmarks (`timing()`). The roles' own
figures (`qari_role_state`, `qari_task_units_total`, `qari_task_unit_seconds`) and `exposition()` are
in `adapters/probe.py`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import cast

import prometheus_client

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
        counter = _exported(prometheus_client.Counter, f"qari_{name}", labels)
        cast(prometheus_client.Counter, counter).inc(amount)

    def observe(self, name: str, seconds: float, labels: dict[str, str] | None = None) -> None:
        histogram = _exported(prometheus_client.Histogram, f"qari_{name}_seconds", labels)
        cast(prometheus_client.Histogram, histogram).observe(seconds)
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


def _key(name: str, labels: Labels) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"


# One label schema per exported metric (Prometheus needs fixed label names); labels a call leaves
# out are exported as "".
LABEL_NAMES: dict[str, tuple[str, ...]] = {
    "qari_errors": ("kind", "exchange"),
    "qari_candidates": ("exchange",),
    "qari_entries_paused": ("exchange",),
    "qari_gate_blocked": ("check",),
    "qari_analysis_seconds": ("exchange",),
    "qari_market_data_seconds": ("exchange",),
    "qari_order_latency_seconds": ("exchange",),
}
_exported_metrics: dict[str, prometheus_client.Counter | prometheus_client.Histogram] = {}
_exported_lock = threading.Lock()


_children: dict[tuple[str, Labels], prometheus_client.Counter | prometheus_client.Histogram] = {}


def _exported(
    kind: type[prometheus_client.Counter] | type[prometheus_client.Histogram],
    name: str,
    labels: dict[str, str] | None,
) -> prometheus_client.Counter | prometheus_client.Histogram:
    """The process's one exported metric of that name (the library's registry is per process), with
    its labels: looked up once per name and label values, as prometheus_client advises for hot paths."""
    key = (name, _labels(labels))
    child = _children.get(key)
    if child is None:
        child = _children[key] = _labelled(kind, name, labels)
    return child


def _labelled(
    kind: type[prometheus_client.Counter] | type[prometheus_client.Histogram],
    name: str,
    labels: dict[str, str] | None,
) -> prometheus_client.Counter | prometheus_client.Histogram:
    with _exported_lock:
        metric = _exported_metrics.get(name)
        if metric is None:
            names = LABEL_NAMES.get(name, tuple(sorted(labels or {})))
            metric = _exported_metrics[name] = kind(name, f"QARI engine: {name}", names)
    names = metric._labelnames
    if not names:
        return metric
    given = labels or {}
    return metric.labels(*(given.get(n, "") for n in names))
