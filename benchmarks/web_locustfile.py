"""Locust user for `benchmarks/web_load.py`: one logged-in user's bearer token (QARI_BENCH_TOKEN), GETs
of one endpoint (QARI_BENCH_PATH) back to back, no think time. FastHttpUser (geventhttpclient) keeps
one keep-alive connection per simulated user, so `-u 200` is 200 connections."""

from __future__ import annotations

import os
from typing import ClassVar

from locust import FastHttpUser, constant, task


class ApiReader(FastHttpUser):
    wait_time = constant(0)
    path = os.environ.get("QARI_BENCH_PATH", "/api/v1/me")
    headers: ClassVar[dict[str, str]] = {"Authorization": f"Bearer {os.environ.get('QARI_BENCH_TOKEN', '')}"}

    @task
    def read(self) -> None:
        self.client.get(self.path, headers=self.headers)
