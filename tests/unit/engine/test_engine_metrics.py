from __future__ import annotations

from qari.engine.metrics import EngineMetrics


def test_metrics_when_counted_and_timed_then_snapshot_reports_both() -> None:
    metrics = EngineMetrics()

    metrics.inc("gate_blocked", {"check": "G07"})
    metrics.inc("gate_blocked", {"check": "G07"})
    for value in (0.1, 0.2, 0.3):
        metrics.observe("cycle", value)

    snapshot = metrics.snapshot()
    assert snapshot["counters"] == {"gate_blocked{check=G07}": 2}
    cycle = snapshot["timings"]["cycle"]  # type: ignore[index]
    assert cycle["count"] == 3
    assert abs(cycle["mean"] - 0.2) < 1e-9
    assert cycle["max"] == 0.3


def test_metrics_when_rendered_for_prometheus_then_labels_are_quoted() -> None:
    metrics = EngineMetrics()
    metrics.inc("errors", {"kind": 'a"b'})
    metrics.observe("order_latency", 0.5, {"exchange": "bybit"})

    text = metrics.prometheus_text()

    assert 'qari_errors_total{kind="a\\"b"} 1' in text
    assert 'qari_order_latency_seconds_count{exchange="bybit"} 1' in text
