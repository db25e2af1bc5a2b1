"""/metrics: the engine's counters in Prometheus' text format, rendered by prometheus_client."""

from __future__ import annotations

import httpx

from qari.engine.metrics import EngineMetrics


async def test_metrics_when_scraped_then_prometheus_text_with_the_engine_counters(
    client: httpx.AsyncClient,
) -> None:
    EngineMetrics().inc("gate_blocked", {"check": "G99"}, 3)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert 'qari_gate_blocked_total{check="G99"} 3.0' in response.text
