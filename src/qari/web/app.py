"""`create_app(settings)`: the web process. The lifespan owns the database, the vault, the mounted
sandbox and the engine handle; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from qari.adapters.probe import exposition
from qari.config import Settings, get_settings
from qari.logging import install_secret_masking
from qari.web.dashboard import mount_dashboard
from qari.web.errors import ERROR_RESPONSES, BodySizeLimit, RegisterBodySecrets, install_error_handlers
from qari.web.headers import SecurityHeaders
from qari.web.ratelimit import ClientRateLimit
from qari.web.routes import api_router
from qari.web.schemas.engine import Health
from qari.web.session_cache import SessionCache


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    install_secret_masking()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from qari.web import runtime

        async with runtime.started(app, settings):
            yield

    app = FastAPI(title="QARI", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES)
    app.state.settings = settings
    app.state.registration_limit = ClientRateLimit(settings.register_rate, "registrations")
    app.state.session_cache = SessionCache()
    install_error_handlers(app)
    app.add_middleware(RegisterBodySecrets)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost of ours: every reply, the mounted sandbox's too
    app.include_router(api_router)

    # Keys the engine does not report are left out (not null): probes read the JSON as it always was.
    @app.get("/healthz", tags=["system"], response_model=Health, response_model_exclude_unset=True)
    @app.get("/api/v1/health", tags=["system"], response_model=Health, response_model_exclude_unset=True)
    async def healthz() -> dict[str, object]:
        """`ok`, or `degraded` with the reasons (sandbox data unreadable, engine failed or failing)."""
        engine = getattr(app.state, "engine_status", None)
        body: dict[str, object] = {"status": "ok"}
        reasons = _sandbox_problems(app)
        if engine is not None:
            status = engine()
            body["engine"] = status
            reasons += engine_problems(status)
        if reasons:
            body["status"] = "degraded"
            body["reasons"] = reasons
        return body

    @app.get("/metrics", tags=["system"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus scrape: the engine's counters and timings (every process in multi-process mode)."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    if settings.sandbox_mounted:
        from qari.adapters.simulator.app import mount_sandbox
        from qari.web.deps import operator_of_platform

        mount_sandbox(app, settings, authorize=operator_of_platform(app))
    mount_dashboard(app)
    return app


def _sandbox_problems(app: FastAPI) -> list[str]:
    from qari.adapters.simulator.app import sandbox_notice, sandbox_problem

    venue = getattr(app.state, "sandbox_venue", None)
    if venue is None:
        return []
    return [r for r in (sandbox_problem(venue), sandbox_notice(venue)) if r is not None]


FAILING_TICKS = 3  # consecutive failed engine ticks before the health check calls the engine failing


def engine_problems(status: dict[str, object]) -> list[str]:
    """Why the engine is not trading, from its status (`WebEngine.status`)."""
    if status.get("state") == "failed":
        return [f"the engine is not running: {status.get('error') or 'failed to start'}"]
    failing = status.get("failing_ticks")
    if isinstance(failing, int) and failing >= FAILING_TICKS:
        return [f"the engine's last {failing} ticks failed (see the server log)"]
    return []
