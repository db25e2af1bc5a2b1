"""Crash safety: the engine runs as its own process against the sandbox and is killed with SIGKILL at
random moments (>= 20 times) and restarted. Afterwards the venue holds no duplicate order, every
filled position has a stop resting on the venue, and every fill is in the journal."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.integration.engine.support import MARKET_DATA_DIR as MARKET_DATA
from tests.integration.engine.support import audit, sandbox_account, stepped_sandbox_engine
from tests.market_data import needs_market_data

from qari.adapters.simulator.harness import SandboxServer
from qari.core.time import from_ms, to_ms

PAIRS = ("SUI/USDT", "INJ/USDT", "DOGE/USDT", "APT/USDT", "TAO/USDT")
START = dt.datetime(2024, 8, 8, 16, 30, tzinfo=dt.UTC)  # an INJ setup at 17:00 fills at 19:37
STEP = 1800  # 30-minute cycles: fewer ticks to the first fill
SCRIPT = Path(__file__).with_name("engine_process.py")
SRC = Path(__file__).resolve().parents[3] / "src"
KILLS = 20
SHORT_KILLS = 5
WARM_UP_LIMIT = 240.0  # seconds for the first engine to open a position and fill an entry

pytestmark = needs_market_data


class Engines:
    """A zygote process that forks engine processes on demand; each child is killed with SIGKILL."""

    def __init__(self, sandbox: SandboxServer, db: Path, account: tuple[str, ...], log: Path) -> None:
        key, secret, *passphrase = account
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{SRC.parent}"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                "--zygote",
                # `--name=value`: a random token or key may begin with "-", which argparse would
                # take for an option and leave the argument without its value
                f"--base-url={sandbox.base_url}",
                f"--admin-token={sandbox.admin_token}",
                f"--db={db}",
                f"--key={key}",
                f"--secret={secret}",
                f"--pairs={','.join(PAIRS)}",
                f"--step={STEP}",
                f"--protocol={sandbox.protocol}",
                f"--passphrase={''.join(passphrase)}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("a"),
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.log = log

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def _expect(self, prefix: str, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no {prefix!r} from the engine: {self.log.read_text()[-3000:]}"
                ) from None
            if line.startswith(prefix):
                return int(line.split()[1])

    def spawn(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write("spawn\n")
        self.proc.stdin.flush()
        pid = self._expect("child", 30)
        assert self._expect("ready", 90) == pid
        return pid

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


def _wait_for_fill(sandbox: SandboxServer, key: str) -> None:
    account = sandbox.account_of(key)
    deadline = time.monotonic() + WARM_UP_LIMIT
    while not sandbox.venue.exchange.executions(account):
        assert time.monotonic() < deadline, "no entry filled while warming up"
        time.sleep(0.5)
    time.sleep(1.0)  # let the engine start protecting it, so kills land in the middle of that too


async def _final_run(sandbox: SandboxServer, db: Path, account: tuple[str, ...], tmp: Path) -> None:
    """One clean start (start-up reconciliation) and two cycles, then a graceful stop."""
    key = account[0]
    now = from_ms(sandbox.now_ms())
    run = await stepped_sandbox_engine(
        sandbox, tmp, accounts={1: account}, start=now, pairs=PAIRS, step=STEP, database=db.name
    )
    try:
        await run.engine.run(until=now + dt.timedelta(seconds=2 * STEP))
    finally:
        await run.engine.stop()
    result = await audit(sandbox.venue.exchange, sandbox.account_of(key), run.sessions, 1)
    assert result.duplicate_link_ids == []
    assert result.unprotected == []
    assert result.missing_fills == []
    assert result.entries_filled >= 1, "no entry filled during the run: the test proved nothing"


# The issue's >= 20 SIGKILLs on every protocol; the Binance and OKX ones in `make soak`, and a shorter run
# of theirs in `make test` (the suite's time budget).
CASES = [
    pytest.param("bybit", KILLS, id="bybit-20"),
    pytest.param("binance", KILLS, id="binance-20", marks=pytest.mark.soak),
    pytest.param("okx", KILLS, id="okx-20", marks=pytest.mark.soak),
    pytest.param("binance", SHORT_KILLS, id="binance-5"),
    pytest.param("okx", SHORT_KILLS, id="okx-5"),
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("protocol", "kills_wanted"), CASES)
def test_engine_when_sigkilled_at_random_moments_then_no_duplicates_all_protected_all_journaled(
    tmp_path: Path, protocol: str, kills_wanted: int
) -> None:
    rng = random.Random(20261122)
    db = tmp_path / "engine.db"
    log = tmp_path / "engine.log"
    with SandboxServer.start(
        data_dir=MARKET_DATA, symbols=[*PAIRS, "BTC/USDT"], stepped_start_ms=to_ms(START), protocol=protocol
    ) as sandbox:
        account = sandbox_account(sandbox, {"USDT": "10000"})
        engines = Engines(sandbox, db, account, log)
        kills = 0
        try:
            for life in range(kills_wanted + 1):
                pid = engines.spawn()
                # The first engine lives long enough to open positions; the others die at random moments.
                if life == 0:
                    _wait_for_fill(sandbox, account[0])
                else:
                    time.sleep(rng.uniform(0.2, 2.0))
                os.kill(pid, signal.SIGKILL)
                kills += 1
        finally:
            engines.close()
        assert kills > kills_wanted
        assert sandbox.now_ms() > to_ms(START), "the engine never moved the market"
        asyncio.run(_final_run(sandbox, db, account, tmp_path))
