"""One APIRouter per resource, registered explicitly (no folder scanning)."""

from fastapi import APIRouter

from qari.web.routes import (
    admin,
    auth,
    events,
    exchange,
    me,
    notifications,
    portfolio,
    scans,
    settings,
    system,
    trading,
)

api_router = APIRouter(prefix="/api/v1")
for module in (auth, me, admin, settings, exchange, system, trading, notifications, events, portfolio, scans):
    api_router.include_router(module.router)
