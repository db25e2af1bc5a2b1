"""Health and metrics of the roles without a web server (`qari worker`, `qari scheduler`).

With `QARI_HEALTH_PORT` set, the role serves on `QARI_HEALTH_HOST` (default 127.0.0.1) and that port:

* `GET /healthz`: liveness, 200 while the process runs (its state in the body), 503 once it failed;
* `GET /readyz`: readiness, 200 while it does its job (a worker consuming; a scheduler leading or
  standing by), 503 while starting or draining after SIGTERM;
* `GET /metrics`: `prometheus_client`'s exposition (`engine/metrics.py`: the whole machine's
  processes with `PROMETHEUS_MULTIPROC_DIR`).

The server is `prometheus_client`'s own threaded WSGI server (what its `start_http_server` runs), in a
daemon thread, so a probe answers even while the role's event loop is busy. `qari web` keeps its
FastAPI `/healthz` and `/metrics`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

import prometheus_client
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

log = logging.getLogger("qari.adapters.probe")

PORT_ENV = "QARI_HEALTH_PORT"
HOST_ENV = "QARI_HEALTH_HOST"
READY = frozenset({"consuming", "leading", "standby"})


class RoleHealth:
    """One process's role and state (`starting`, `consuming`, `standby`, `leading`, `draining`,
    `failed`), shown by the probes and exported as `qari_role_state`."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.state = "starting"
        self.pid = os.getpid()
        self._lock = threading.Lock()
        role_state(role, self.state)

    def set(self, state: str) -> None:
        with self._lock:
            self.state = state
        role_state(self.role, state)
        log.info("role state", extra={"role": self.role, "state": state})

    def body(self) -> dict[str, Any]:
        with self._lock:
            return {"role": self.role, "state": self.state, "pid": self.pid}


_current: RoleHealth | None = None


def current() -> RoleHealth | None:
    """This process's role health, when it is one of the roles."""
    return _current


def set_state(state: str) -> None:
    if _current is not None:
        _current.set(state)


Start = Callable[[str, list[tuple[str, str]]], Any]


def _app(health: RoleHealth) -> Callable[[dict[str, Any], Start], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, content_type = exposition()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path in ("/healthz", "/readyz"):
            state = health.body()
            ok = state["state"] != "failed" if path == "/healthz" else state["state"] in READY
            state["status"] = "ok" if ok else "unavailable"
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")]
            )
            return [json.dumps(state).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: /healthz, /readyz, /metrics\n"]

    return app


def serve(role: str, port: int | None = None, host: str | None = None) -> RoleHealth:
    """Become `role`; with a port (argument or `QARI_HEALTH_PORT`), answer the probes on it."""
    global _current
    _current = health = RoleHealth(role)
    raw = port if port is not None else os.environ.get(PORT_ENV)
    if raw in (None, ""):
        return health
    server: WSGIServer = make_server(
        host or os.environ.get(HOST_ENV, "127.0.0.1"),
        int(raw),
        _app(health),
        ThreadingWSGIServer,
        handler_class=_SilentHandler,
    )
    threading.Thread(target=server.serve_forever, name="qari-health", daemon=True).start()
    log.info("health probes served", extra={"role": role, "port": server.server_port})
    return health


_role_lock = threading.Lock()


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of this process, or of every process sharing
    `PROMETHEUS_MULTIPROC_DIR`; and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST
    return prometheus_client.generate_latest(), prometheus_client.CONTENT_TYPE_LATEST


# Per-role figures (`qari web|scheduler|worker`, docs/deploy.md). Gauges in multi-process mode sum
# over the live processes ("livesum"): `qari_role_state{role="worker",state="consuming"} 3` is three
# workers consuming on the scraped machine; a process that exits calls `process_exited()`.
ROLE_STATE = prometheus_client.Gauge(
    "qari_role_state",
    "QARI processes per role and state (1 per process in its current state)",
    ("role", "state"),
    multiprocess_mode="livesum",
)
TASK_UNITS = prometheus_client.Counter(
    "qari_task_units", "units of work taken by this worker, by kind and outcome", ("kind", "outcome")
)
TASK_UNIT_SECONDS = prometheus_client.Histogram(
    "qari_task_unit_seconds",
    "wall time of a unit of work in a worker (user lock wait included)",
    ("kind",),
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
_role_states: dict[str, str] = {}


def role_state(role: str, state: str) -> None:
    """This process is `role` in `state` (its previous state's gauge drops to 0)."""
    with _role_lock:
        previous = _role_states.get(role)
        if previous is not None:
            ROLE_STATE.labels(role, previous).set(0)
        ROLE_STATE.labels(role, state).set(1)
        _role_states[role] = state


def process_exited() -> None:
    """Drop this process's live gauges from the machine's multi-process directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
