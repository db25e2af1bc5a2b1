"""Safety net over every id-addressed API route: another user's ids never answer with their data."""

from __future__ import annotations

import re

import httpx
from tests.helpers import register_and_login

DENIED = {401, 403, 404, 405, 409, 422}


async def test_id_routes_when_other_users_ids_then_denied_and_no_data(client: httpx.AsyncClient) -> None:
    owner = await register_and_login(client, "owner@example.com")
    intruder = await register_and_login(client, "intruder@example.com")
    created = await client.post("/api/v1/exchange/connections/sandbox", headers=owner)
    # Without a reachable sandbox the owner has no connection; ids 1-3 still probe every route's scoping
    # (tests/integration/exchanges covers the connected case against a live sandbox).
    owner_ids = [1, 2, 3] + ([created.json()["id"]] if created.status_code == 201 else [])

    paths = (await client.get("/openapi.json")).json()["paths"]
    routes = {
        p: ops for p, ops in paths.items() if p.startswith("/api/v1/") and "{" in p and "/admin/" not in p
    }
    assert routes, "expected id-addressed routes under /api/v1"
    checked = 0
    for template, operations in routes.items():
        for method in operations:
            for owner_id in owner_ids:
                path = re.sub(r"\{[^}]+\}", str(owner_id), template)
                response = await client.request(method.upper(), path, headers=intruder, json={})
                assert response.status_code in DENIED, (method, template, response.status_code, response.text)
                assert "owner@example.com" not in response.text
                checked += 1
    assert checked >= len(routes)
    if created.status_code == 201:
        still = await client.get(f"/api/v1/exchange/connections/{created.json()['id']}", headers=owner)
        assert still.status_code == 200
