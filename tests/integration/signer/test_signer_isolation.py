"""Issue 16, isolated signer: the web/engine process never holds the master key or an API secret.

Real processes throughout: `qari sandbox` (the exchange), the web/engine process
(`engine_process.py`, which starts `qari signer` exactly as `qari serve` does) and the signer. After a
full trading cycle through the signer, both processes' memory is read via /proc/<pid>/mem.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_port

from qari.adapters.vault.keys import parse_key

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "signer-test-admin-token"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QARI_")}
    return env | {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "QARI_DATA_DIR": str(data_dir)} | extra


@contextmanager
def sandbox_process() -> Iterator[str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "qari", "sandbox", "--port", str(port), "--admin-token", TOKEN],
        env=_env(Path("unused")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/v5/market/time", timeout=1)
                break
            except httpx.HTTPError:
                assert child.poll() is None, child.stderr.read() if child.stderr else b""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=10)


def mint_key(base: str) -> dict[str, str]:
    made = httpx.post(
        f"{base}/admin/keys",
        json={"permissions": {"Spot": ["SpotTrade"]}, "balances": {"USDT": "10000"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    return {"api_key": str(made["api_key"]), "api_secret": str(made["api_secret"])}


def memory_holds(pid: int, needles: list[bytes]) -> list[bool]:
    """Whether each needle occurs in any readable mapping of the process (via /proc, as root). Files
    mapped read-only (code and constants of the interpreter and its libraries) are skipped: nothing the
    process computes or reads is written there."""
    found = [False] * len(needles)
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            span, perms = fields[:2]
            if not perms.startswith("r") or line.endswith(("[vvar]", "[vsyscall]")):
                continue
            if perms[1] != "w" and len(fields) > 5 and fields[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            for i, needle in enumerate(needles):
                found[i] = found[i] or needle in chunk
    return found


def key_forms(key_file: Path) -> list[bytes]:
    """The master key as raw bytes and as written in its file (base64 text)."""
    text = key_file.read_text().strip()
    return [parse_key(text, where="test"), text.encode()]


def test_signer_when_full_cycle_then_engine_memory_has_neither_master_key_nor_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with sandbox_process() as base:
        key = mint_key(base)
        engine = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("engine_process.py"))],
            env=_env(data_dir, SIGNER_TEST_SANDBOX_URL=base, QARI_ENGINE_MODE="off"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert engine.stdin is not None and engine.stdout is not None
            engine.stdin.write(json.dumps(key) + "\n")
            engine.stdin.flush()
            line = engine.stdout.readline()
            assert line, engine.stderr.read() if engine.stderr else ""
            summary = json.loads(line)
            # a full cycle happened, through the signer
            assert summary["buy_sent"] and summary["buy_status"] == "filled", summary
            assert summary["resting_listed"] and summary["exit_sent"] and summary["fills"] >= 2, summary
            assert summary["usdt_after"] != summary["usdt_before"]
            master = key_forms(tmp_path / "var-keys" / "master.key")
            secret = key["api_secret"].encode()
            in_engine = memory_holds(engine.pid, [*master, secret])
            in_signer = memory_holds(int(summary["signer_pid"]), master)
        finally:
            engine.stdin.close() if engine.stdin else None
            engine.wait(timeout=30)
    assert in_engine == [False, False, False], "the web/engine process holds the master key or the secret"
    assert any(in_signer), "the scan finds the master key where it is (the signer): the scan works"


@pytest.mark.parametrize("role", ["serve", "web"])
def test_serve_when_trading_through_the_signer_then_its_memory_has_no_master_key(
    tmp_path: Path, role: str
) -> None:
    """The default path: `qari serve` starts the signer child; a key connected, verified and read
    (balances), two-factor login enrolled and used, the engine cycling: the serve process never
    loaded the master key (the mounted sandbox exchange lives in it, so its paper keys do too).
    `qari web` (issue 18: the API without the engine) starts its signer the same way."""
    import pyotp

    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "qari", role],
        env=_env(tmp_path / "var", QARI_PORT=str(port), QARI_CYCLE_SECONDS="5"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http.get("/healthz")
                break
            except httpx.TransportError:
                assert serve.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        login = {"email": "op@example.com", "password": "correct horse battery staple 77"}
        assert http.post("/api/v1/auth/register", json=login).status_code == 202
        auth = {
            "Authorization": f"Bearer {http.post('/api/v1/auth/login', json=login).json()['access_token']}"
        }
        made = http.post("/api/v1/exchange/connections/sandbox", headers=auth)
        assert (
            made.status_code == 201 and made.json()["status"] == "connected"
        )  # checked + sealed by the signer
        verified = http.post(f"/api/v1/exchange/connections/{made.json()['id']}/verify", headers=auth)
        assert verified.json()["status"] == "connected"
        assert (
            http.get("/api/v1/portfolio", headers=auth).json()["free_usdt"] == "10000"
        )  # signed by the signer
        seed = http.post("/api/v1/auth/totp/setup", headers=auth).json()["secret"]
        enabled = http.post("/api/v1/auth/totp/enable", headers=auth, json={"code": pyotp.TOTP(seed).now()})
        assert enabled.status_code == 204
        wrong = http.post("/api/v1/auth/login", json=login | {"totp_code": "000000"})
        assert wrong.status_code == 401
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        assert len(children) == 1 and "signer" in Path(f"/proc/{children[0]}/cmdline").read_text()
        master = key_forms(tmp_path / "var-keys" / "master.key")
        in_serve = memory_holds(serve.pid, master)
        in_signer = memory_holds(int(children[0]), master)
    finally:
        http.close()
        serve.terminate()
        serve.wait(timeout=30)
    assert in_serve == [False, False], "the web/engine process holds the master key"
    assert any(in_signer)
    # the signer goes with serve (uvicorn re-raises SIGTERM, so serve may die before stopping it itself)
    socket = tmp_path / "var" / "signer.sock"
    deadline = time.monotonic() + 10
    while socket.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not socket.exists()
