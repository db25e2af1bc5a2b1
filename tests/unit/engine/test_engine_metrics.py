from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from qari.adapters.probe import exposition
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


def test_metrics_when_exported_then_prometheus_client_renders_them_with_quoted_labels() -> None:
    metrics = EngineMetrics()
    kind = f'a"b-{uuid.uuid4().hex[:6]}'
    metrics.inc("errors", {"kind": kind})
    metrics.observe("order_latency", 0.5, {"exchange": "bybit-test"})

    text = exposition()[0].decode()

    assert f'qari_errors_total{{exchange="",kind="{kind.replace(chr(34), chr(92) + chr(34))}"}} 1.0' in text
    assert 'qari_order_latency_seconds_count{exchange="bybit-test"} 1.0' in text


_CHILD = """
import os
import subprocess
import sys
import uuid
from pathlib import Path

from qari.adapters.probe import exposition
from qari.engine.metrics import EngineMetrics
EngineMetrics().inc("gate_blocked", {"check": "G10"}, 2)
"""


def test_metrics_when_several_processes_share_a_multiproc_dir_then_one_scrape_sums_them(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    for _ in range(3):
        subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True, timeout=60)
    scrape = subprocess.run(
        [sys.executable, "-c", "from qari.adapters.probe import exposition; print(exposition()[0].decode())"],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout

    assert 'qari_gate_blocked_total{check="G10"} 6.0' in scrape
