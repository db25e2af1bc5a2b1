"""One APIRouter per resource, registered explicitly (no folder scanning)."""

from fastapi import APIRouter

from qari.web.routes import (
    admin,
    auth,
    decisions,
    events,
    exchange,
    me,
    models,
    notifications,
    operations,
    portfolio,
    sandbox,
    scans,
    settings,
    system,
    trading,
)

api_router = APIRouter(prefix="/api/v1")
ROUTERS = (
    auth,
    me,
    admin,
    settings,
    exchange,
    system,
    trading,
    notifications,
    events,
    portfolio,
    scans,
    decisions,
    models,
    operations,
)
for module in (*ROUTERS, sandbox):
    api_router.include_router(module.router)
