from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REGISTER = "/api/v1/auth/register"


async def test_request_when_malformed_json_then_422_with_message(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER, content=b'{"email": "a@b.co", "password": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


async def test_request_when_json_is_not_an_object_then_422(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json=["a", "b"])
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_request_when_field_missing_then_422_names_field_without_echoing_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(REGISTER, json={"password": "Sup3r-secret-value!"})
    assert response.status_code == 422
    assert "email" in response.json()["detail"]
    assert "Sup3r-secret-value!" not in response.text


async def test_request_when_body_over_limit_then_413_with_message(client: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * 2_000_000 + b'"}'
    response = await client.post(REGISTER, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


async def test_request_when_streamed_body_over_limit_then_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(30):
            yield b"x" * 100_000

    response = await client.post(REGISTER, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


@given(body=st.binary(max_size=300))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_auth_endpoints_when_arbitrary_bytes_then_never_5xx(
    client: httpx.AsyncClient, body: bytes
) -> None:
    for path in (REGISTER, "/api/v1/auth/login"):
        response = await client.post(path, content=body, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500
        assert response.json()["detail"]
