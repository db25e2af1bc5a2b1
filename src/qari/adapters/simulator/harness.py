"""Run the sandbox over real HTTP inside a process (tests, benchmarks), and point ccxt at it.

    with SandboxServer.start(stepped_start_ms=START) as sandbox:      # uvicorn on a free loopback port
        key, secret = sandbox.create_key(balances={"USDT": "10000"})
        ex = sandbox.ccxt(key, secret)                                 # async ccxt, spot only
        ...
        sandbox.advance(60_000); sandbox.inject_fault("timeout", delay_ms=2000)
        session = sandbox.pybit(key, secret)                           # pybit HTTP, same venue

`SandboxServer.start(**build_venue_kwargs)` takes the arguments of `app.build_venue` (synthetic market
by default; `protocol="binance"` for Binance spot, and `.ccxt()` is then ccxt's `binance`). The admin
helpers talk to `{base_url}/admin/...` over HTTP like any other client would, with the server's admin
token (`.admin_headers`).

`SandboxProcess.start(...)` takes the same arguments but serves the venue from a child process, as a real
exchange is another host: a benchmark then measures the engine, not the venue sharing its interpreter.
The options must be JSON-serialisable there (paths as strings).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

from qari.adapters.simulator.app import build_venue, create_sandbox_app
from qari.adapters.simulator.venue import SandboxVenue

SPOT_TRADE = {"Spot": ["SpotTrade"]}
FIXTURE_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class _SandboxAdmin:
    """The admin API and client helpers, over HTTP: the same for an in-process and a child-process venue."""

    base_url: str
    admin_token: str
    protocol: str = "bybit"
    _http: httpx.Client

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    # ------------------------------------------------------------------------------------- admin
    def admin(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self._http.request(
            method, f"/admin{path}", json=json, params=params, headers=self.admin_headers
        )
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def create_key(
        self,
        *,
        permissions: dict[str, list[str]] | None = None,
        balances: dict[str, str | Decimal | int] | None = None,
        ips: list[str] | None = None,
        read_only: int = 0,
        account_id: str | None = None,
        passphrase: str = "",
    ) -> tuple[str, str]:
        body = {
            "permissions": SPOT_TRADE if permissions is None else permissions,
            "balances": {k: str(v) for k, v in (balances or {}).items()},
            "ips": ips or ["*"],
            "read_only": read_only,
            "account_id": account_id,
            "passphrase": passphrase,
        }
        data = self.admin("POST", "/keys", body)
        return data["api_key"], data["api_secret"]

    def revoke_key(self, api_key: str) -> None:
        self.admin("DELETE", f"/keys/{api_key}")

    def set_balances(self, api_key: str, balances: dict[str, str | Decimal | int]) -> dict[str, Any]:
        result: dict[str, Any] = self.admin(
            "PUT", f"/balances/{api_key}", {"balances": {k: str(v) for k, v in balances.items()}}
        )
        return result

    def balances(self, api_key: str) -> dict[str, dict[str, Decimal]]:
        raw = self.admin("GET", f"/balances/{api_key}")
        return {coin: {k: Decimal(v) for k, v in row.items()} for coin, row in raw.items()}

    def orders(
        self, api_key: str, symbol: str | None = None, open_only: bool = False
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"open_only": open_only}
        if symbol:
            params["symbol"] = symbol
        result: list[dict[str, Any]] = self.admin("GET", f"/orders/{api_key}", params=params)
        return result

    def now_ms(self) -> int:
        return int(self.admin("GET", "/clock")["now_ms"])

    def advance(self, ms: int) -> int:
        return int(self.admin("POST", "/clock", {"advance_ms": ms})["now_ms"])

    def set_time(self, ms: int) -> int:
        return int(self.admin("POST", "/clock", {"set_ms": ms})["now_ms"])

    def inject_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("POST", "/faults", {"kind": kind, **options})
        return result

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def prices(self) -> dict[str, Decimal]:
        return {k: Decimal(v) for k, v in self.admin("GET", "/market").items()}

    # ----------------------------------------------------------------------------------- clients
    def ccxt(self, api_key: str | None = None, secret: str | None = None, **options: Any) -> Any:
        """An async ccxt of the protocol spoken here (bybit, binance); the caller awaits `.close()`."""
        make = {"binance": ccxt_binance, "okx": ccxt_okx}.get(self.protocol, ccxt_bybit)
        return make(self.base_url, api_key, secret, **options)

    def pybit(self, api_key: str, secret: str, **options: Any) -> Any:
        """pybit's `HTTP` session pointed here (EXCHANGES.md §4.1)."""
        from pybit.unified_trading import HTTP

        session = HTTP(api_key=api_key, api_secret=secret, **options)
        session.endpoint = self.base_url
        return session


class SandboxServer(_SandboxAdmin):
    def __init__(
        self, venue: SandboxVenue, *, host: str = "127.0.0.1", root: str = "", admin_token: str | None = None
    ) -> None:
        self.venue = venue
        self.protocol = venue.protocol
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.port = int(self._sock.getsockname()[1])
        self.base_url = f"http://{host}:{self.port}{root}"
        app = create_sandbox_app(venue, admin_token=admin_token)
        self.admin_token = str(app.state.admin_token)
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="sandbox", daemon=True
        )
        self._http = httpx.Client(base_url=self.base_url, timeout=30)

    @classmethod
    @contextmanager
    def start(cls, venue: SandboxVenue | None = None, **venue_options: Any) -> Iterator[SandboxServer]:
        """Serve `venue`, or one built from `venue_options` (a stepped clock at the fixture start)."""
        venue_options.setdefault("stepped_start_ms", FIXTURE_START_MS)
        server = cls(venue or build_venue(**venue_options))
        server._thread.start()
        deadline = time.monotonic() + 10
        while not server._server.started:
            if time.monotonic() > deadline or not server._thread.is_alive():
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        try:
            yield server
        finally:
            server.stop()

    def stop(self) -> None:
        self._http.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def account_of(self, api_key: str) -> str:
        return self.venue.keys[api_key].account_id


class SandboxProcess(_SandboxAdmin):
    """The sandbox served by uvicorn in a child process (`python -m qari.adapters.simulator.harness`)."""

    def __init__(
        self, process: subprocess.Popen[str], base_url: str, admin_token: str, protocol: str = "bybit"
    ) -> None:
        self.process = process
        self.base_url = base_url
        self.admin_token = admin_token
        self.protocol = protocol
        self._http = httpx.Client(base_url=base_url, timeout=30)

    @classmethod
    @contextmanager
    def start(cls, **venue_options: Any) -> Iterator[SandboxProcess]:
        venue_options.setdefault("stepped_start_ms", FIXTURE_START_MS)
        options = {k: str(v) if isinstance(v, os.PathLike) else v for k, v in venue_options.items()}
        token = secrets.token_urlsafe(32)
        process = subprocess.Popen(  # noqa: S603 - this interpreter, this module, our own options
            [sys.executable, "-m", "qari.adapters.simulator.harness", json.dumps(options)],
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
                "QARI_SANDBOX_ADMIN_TOKEN": token,
            },
        )
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # the child's first line: its base URL, once listening
        if not line.startswith("http://"):
            process.kill()
            process.wait(10)
            raise RuntimeError(f"the sandbox process did not start (exit code {process.poll()})")
        server = cls(process, line, token, str(venue_options.get("protocol", "bybit")))
        try:
            yield server
        finally:
            server.stop()

    def stop(self) -> None:
        self._http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """User + system CPU time the venue process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def point_at(exchange: Any, base_url: str) -> None:
    """Rewrite every ccxt API URL to `base_url` + its original path (EXCHANGES.md §4.1)."""

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        return base_url + urlsplit(str(value).replace("{hostname}", "h")).path

    exchange.urls["api"] = rewrite(exchange.urls["api"])


def _ccxt_spot(
    ccxt_id: str,
    base_url: str,
    api_key: str | None,
    secret: str | None,
    options: dict[str, Any],
    venue_options: dict[str, Any] | None = None,
) -> Any:
    """An async ccxt instance of `ccxt_id` for spot against the sandbox: markets of type spot only, no
    currencies call, every API URL pointed at `base_url`."""
    import ccxt.async_support as ccxt_async

    config: dict[str, Any] = {
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            **(venue_options or {}),
            **options.pop("options", {}),
        },
        **options,
    }
    if api_key is not None:
        config["apiKey"] = api_key
        config["secret"] = secret
    exchange = getattr(ccxt_async, ccxt_id)(config)
    exchange.has["fetchCurrencies"] = False
    point_at(exchange, base_url)
    return exchange


def ccxt_bybit(base_url: str, api_key: str | None = None, secret: str | None = None, **options: Any) -> Any:
    """An async ccxt `bybit` for spot against the sandbox (EXCHANGES.md §4.2 settings)."""
    unified = {"enableUnifiedAccount": True, "enableUnifiedMargin": False}
    return _ccxt_spot("bybit", base_url, api_key, secret, options, unified)


def ccxt_binance(base_url: str, api_key: str | None = None, secret: str | None = None, **options: Any) -> Any:
    """An async ccxt `binance` for spot against the sandbox (Binance protocol)."""
    return _ccxt_spot("binance", base_url, api_key, secret, options)


def ccxt_okx(base_url: str, api_key: str | None = None, secret: str | None = None, **options: Any) -> Any:
    """An async ccxt `okx` for spot against the sandbox (OKX protocol); pass `password=` (the passphrase)."""
    return _ccxt_spot("okx", base_url, api_key, secret, options)


def _serve_child(options: dict[str, Any]) -> None:
    """Child side of `SandboxProcess`: listen on a free loopback port, print the base URL, serve."""
    if options.get("data_dir") is not None:
        options["data_dir"] = Path(options["data_dir"])
    server = SandboxServer(build_venue(**options), admin_token=os.environ.get("QARI_SANDBOX_ADMIN_TOKEN"))
    server._sock.listen(2048)  # connections made as soon as the URL is printed wait in the backlog
    print(server.base_url, flush=True)
    server._server.run(sockets=[server._sock])


if __name__ == "__main__":
    _serve_child(json.loads(sys.argv[1]))
