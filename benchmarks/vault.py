"""Vault and log-masking figures: seal/open throughput and the cost of masking a log line."""

from __future__ import annotations

import os
import secrets
import time

from qari.adapters.vault import SecretVault
from qari.logging import _SecretRegistry


def main() -> None:
    vault = SecretVault(os.urandom(32))
    bind = {"user_id": 1, "exchange": "bybit", "key_id": "K", "purpose": "api_secret"}
    n = 20_000
    start = time.perf_counter()
    sealed = [vault.seal("x" * 64, **bind) for _ in range(n)]
    seal_s = time.perf_counter() - start
    start = time.perf_counter()
    for item in sealed:
        vault.open(item, **bind)
    open_s = time.perf_counter() - start
    print(f"seal: {n / seal_s:,.0f}/s  open: {n / open_s:,.0f}/s")

    registry = _SecretRegistry()
    for _ in range(10_000):
        registry.add(secrets.token_urlsafe(16))
    line = 'INFO uvicorn.access: 127.0.0.1:5000 - "GET /api/v1/me HTTP/1.1" 200 user=7 ' * 2
    runs = 2_000
    start = time.perf_counter()
    for _ in range(runs):
        registry.mask(line)
    print(
        f"mask one {len(line)}-char log line with 10,000 registered secrets: "
        f"{(time.perf_counter() - start) / runs * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
