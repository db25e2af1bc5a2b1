"""Issue 16: schemathesis over the app's own `/openapi.json`, authenticated as the operator (so the
admin operations are reached too), against uvicorn on 127.0.0.1 in this process. Fails on any 5xx and
on any response that the schema does not describe (status code, content type, body).

The bounded run (fixed seed, derandomised) is part of `make test`; `test_api_fuzz_soak` runs many
more examples per operation under `make soak`. Figures are printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import free_port
from tests.helpers import DEFAULT_PASSWORD

from qari.config import load_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Logout would end the fuzzing session itself; the live-event stream never ends (tested on its own).
EXCLUDED = ("/api/v1/auth/logout", "/api/v1/events/stream")
BOUNDED_EXAMPLES = int(os.environ.get("QARI_FUZZ_EXAMPLES", "50"))
SOAK_EXAMPLES = int(os.environ.get("QARI_FUZZ_SOAK_EXAMPLES", "400"))
FIGURES: Counter[str] = Counter()
OPERATIONS: set[str] = set()


@contextlib.contextmanager
def _serve(tmp: Path, database_url: str | None) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port, in a thread of this process."""
    from qari.web.app import create_app

    port = free_port()
    app = create_app(
        load_settings(
            data_dir=tmp / "var",
            master_key_file=tmp / "keys" / "master.key",
            engine_mode="off",
            register_rate="1000/minute",
            public_url=f"http://127.0.0.1:{port}",  # the one-click sandbox key comes from this server
            database_url=database_url,
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        print(
            f"\nFUZZ figures ({'postgres' if database_url else 'sqlite'}): {len(OPERATIONS)} operations, "
            f"{FIGURES['requests']} requests, {FIGURES['5xx']} 5xx, {FIGURES['failures']} failing operations"
        )
        OPERATIONS.clear()
        FIGURES.clear()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(tmp_path_factory.mktemp("fuzz"), None) as base_url:
        yield base_url


@pytest.fixture
def pg_fuzz_server(tmp_path: Path, pg_url: str) -> Iterator[str]:
    """The app on a fresh PostgreSQL database (the suite's `pg_url`: `make test` starts the server)."""
    with _serve(tmp_path, pg_url) as base_url:
        yield base_url


def _login(base_url: str) -> dict[str, str]:
    """Register and log in the server's first account, so the operator's operations are fuzzed too."""
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base_url) as http:
        created = http.post("/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD})
        assert created.status_code == 202, created.text
        login = http.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
        assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="module")
def fuzz_auth(fuzz_server: str) -> dict[str, str]:
    return _login(fuzz_server)


def _fuzz(base_url: str, auth: dict[str, str], *, max_examples: int, derandomize: bool) -> list[str]:
    """Every operation in turn (schemathesis' pytest plugin predates pytest 9); returns the failures."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in EXCLUDED:
            continue
        OPERATIONS.add(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            derandomize=derandomize,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # report the first failure as found, unshrunk
        )
        def run(case: Any) -> None:
            FIGURES["requests"] += 1
            response = case.call(base_url=base_url, headers=auth, timeout=30)
            if response.status_code >= 500:
                FIGURES["5xx"] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # one line per failing operation; go on
            FIGURES["failures"] += 1
            first = [line for line in str(failure).splitlines() if line.strip()][:8]
            problems.append(
                f"{operation.label}: " + " | ".join(line.strip() for line in first if line.strip())
            )
    return problems


def test_api_fuzz(fuzz_server: str, fuzz_auth: dict[str, str]) -> None:
    problems = _fuzz(fuzz_server, fuzz_auth, max_examples=BOUNDED_EXAMPLES, derandomize=True)
    assert not problems, "\n".join(problems)


@pytest.mark.soak
def test_api_fuzz_soak(fuzz_server: str, fuzz_auth: dict[str, str]) -> None:
    problems = _fuzz(fuzz_server, fuzz_auth, max_examples=SOAK_EXAMPLES, derandomize=False)
    assert not problems, "\n".join(problems)


@pytest.mark.soak
@pytest.mark.postgres
def test_api_fuzz_soak_postgres(pg_fuzz_server: str) -> None:
    """PostgreSQL refuses more than SQLite (NUL characters, 32-bit integers)."""
    problems = _fuzz(pg_fuzz_server, _login(pg_fuzz_server), max_examples=SOAK_EXAMPLES, derandomize=False)
    assert not problems, "\n".join(problems)
