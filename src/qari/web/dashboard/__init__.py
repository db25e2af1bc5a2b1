"""The web dashboard: a static single-page app served by the platform itself.

Every page is the same `index.html`; the browser-side router picks the view from the path. The pages
talk only to the documented `/api/v1` API. The charting library (TradingView Lightweight Charts,
Apache-2.0) arrives with the `lightweight-charts` PyPI package, which ships the standalone build; it
is served from the package's own files so the dashboard needs no CDN and works offline.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
CHART_LIBRARY_FILE = "lightweight-charts.js"
# The pages may only talk to this server: the browser itself refuses anything else.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def chart_library_path() -> Path | None:
    """Where the installed `lightweight-charts` package keeps its JS build, found without importing it
    (importing would pull in its desktop-window dependencies)."""
    spec = importlib.util.find_spec("lightweight_charts")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "js" / CHART_LIBRARY_FILE
        if candidate.is_file():
            return candidate
    return None


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at `/` and `/app/...` with its assets under `/app/static/`."""
    index_html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/app/overview", status_code=307)

    @app.get("/app/vendor/lightweight-charts.js", include_in_schema=False)
    async def chart_library() -> Response:
        path = chart_library_path()
        if path is None:
            raise HTTPException(404, "the lightweight-charts package is not installed; run make run again")
        return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount("/app/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")

    @app.get("/app", include_in_schema=False)
    @app.get("/app/{page:path}", include_in_schema=False)
    async def page(page: str = "") -> HTMLResponse:
        return HTMLResponse(index_html, headers=PAGE_HEADERS)
