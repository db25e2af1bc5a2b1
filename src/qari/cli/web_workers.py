"""`qari web` with several uvicorn worker processes (QARI_WEB_WORKERS): one listening socket bound by
the parent, each worker a spawned interpreter that builds its own app (`worker_app`, a factory uvicorn
imports by name) with its own database pool.

The parent keeps the `qari signer` child it started; each worker reaches it through a `SignerClient`
that travels inside uvicorn's configuration, which `multiprocessing` pickles to the worker over a pipe:
the signer's token is never on a command line or in the environment. Workers hold no master key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import uvicorn

from qari.config import Settings, get_settings
from qari.logging import configure_logging

if TYPE_CHECKING:
    from fastapi import FastAPI

    from qari.adapters.signer.client import SignerClient

WORKER_HEALTHCHECK_SECONDS = 60

# Set in a worker process by `_WorkerConfig.load_app` just before uvicorn calls `worker_app`.
_signer: SignerClient | None = None


class _WorkerConfig(uvicorn.Config):
    """uvicorn's configuration plus the signer client each worker's app is handed."""

    def __init__(self, *args: Any, signer: SignerClient | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signer = signer

    def load_app(self) -> Any:
        global _signer
        _signer = self.signer
        return super().load_app()


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's `factory=True`): settings from the inherited
    environment (`QARI_ENGINE_MODE=off`, no master key), the parent's signer."""
    from qari.cli.serve import quiet_http_logs
    from qari.web.app import create_app

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    quiet_http_logs(settings.log_level.upper() == "DEBUG")
    app = create_app(settings)
    app.state.signer = _signer
    return app


def run(settings: Settings, signer: SignerClient, *, workers: int, access_log: bool) -> None:
    """Serve `worker_app` from `workers` processes until SIGTERM/SIGINT (uvicorn's supervisor)."""
    from uvicorn.supervisors import Multiprocess

    config = _WorkerConfig(
        f"{__name__}:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=access_log,
        # A worker answers the supervisor's pings once its interpreter has imported qari (seconds on
        # a busy machine) and from a thread while serving; uvicorn's 5 s restarted workers still starting.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        signer=signer,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
