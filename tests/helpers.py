"""Helpers for every area's tests (import as `from tests.helpers import register_and_login`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

DEFAULT_PASSWORD = "Correct-Horse-Battery-9"


async def register_and_login(
    client: httpx.AsyncClient, email: str | None = None, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    """Register (if new) and log in; returns bearer auth headers (bearer requests need no CSRF token).

    The first account registered in an app is the operator.
    """
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert response.status_code in (201, 202, 409), response.text
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # keep the client cookie-free so only the bearer header authenticates
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def declared_answer(operation: dict[str, Any], status: int) -> bool:
    """`status` is documented for `operation` and names its body's shape: no body (204), a media type
    that is not JSON (an event stream), or a JSON schema naming a component (or a list or null of one)."""
    response = operation.get("responses", {}).get(str(status))
    if response is None:
        return False
    content = response.get("content")
    if not content:
        return status == 204
    if "application/json" not in content:
        return True
    schema = content["application/json"].get("schema", {})
    options = schema.get("anyOf", [schema])
    return all(
        "$ref" in s or s.get("type") == "null" or (s.get("type") == "array" and "$ref" in s.get("items", {}))
        for s in options
    )
