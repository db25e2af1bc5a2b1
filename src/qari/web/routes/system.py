"""API routes: system.

- `GET /api/v1/system/egress-ip`: the IP address exchanges see this server connect from, to whitelist
  on the API key. From `QARI_EGRESS_IP` when set; else detected through a public "what is my IP"
  service when online (cached); else `"unknown"` with a hint.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Literal

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel

from qari.web.deps import CurrentUser, SettingsDep

router = APIRouter(prefix="/system", tags=["system"])

DETECT_URLS = ("https://api.ipify.org", "https://checkip.amazonaws.com")
CACHE_HIT_SECONDS = 3600.0
CACHE_MISS_SECONDS = 300.0


class EgressIp(BaseModel):
    ip: str
    source: Literal["configured", "detected", "unknown"]
    hint: str


async def detect_egress_ip(urls: tuple[str, ...], timeout_s: float = 2.0) -> str | None:
    for url in urls:
        try:
            async with httpx.AsyncClient(timeout=timeout_s) as http:
                response = await http.get(url)
            candidate = response.text.strip()
            ipaddress.ip_address(candidate)
            return candidate
        except (httpx.HTTPError, ValueError):
            continue
    return None


@router.get("/egress-ip", response_model=EgressIp)
async def egress_ip(request: Request, settings: SettingsDep, user: CurrentUser) -> EgressIp:
    if settings.egress_ip:
        return EgressIp(
            ip=settings.egress_ip, source="configured", hint="Whitelist this IP on your exchange API key."
        )
    state = request.app.state
    cached: tuple[float, str | None] | None = getattr(state, "egress_ip_cache", None)
    now = time.monotonic()
    if cached is None or now > cached[0]:
        urls: tuple[str, ...] = getattr(state, "egress_ip_detect_urls", DETECT_URLS)
        found = await detect_egress_ip(urls)
        cached = (now + (CACHE_HIT_SECONDS if found else CACHE_MISS_SECONDS), found)
        state.egress_ip_cache = cached
    if cached[1]:
        return EgressIp(
            ip=cached[1],
            source="detected",
            hint="Detected from this server's outbound connection; set QARI_EGRESS_IP if it differs.",
        )
    return EgressIp(
        ip="unknown",
        source="unknown",
        hint="This server could not detect its public IP (offline?). Set QARI_EGRESS_IP to the address "
        "exchanges see, or leave the key without an IP restriction (less safe).",
    )
