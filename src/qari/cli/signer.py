"""`qari signer`: the process that holds the master key (started by `qari serve`; see adapters/signer).

The token arrives through an inherited pipe named by QARI_SIGNER_TOKEN_FD, never on the command line
or in the environment. The signer exits when its parent does, so a killed `qari serve` leaves none.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qari.config import ConfigError, Settings, get_settings
from qari.logging import configure_logging

if TYPE_CHECKING:
    from qari.adapters.signer.client import SignerClient

START_TIMEOUT = 60.0


class SignerExitedError(ConfigError):
    """The signer exited at start; it has printed its one-line reason to the shared stderr."""


def socket_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "signer.sock"


def signer(
    socket: Path | None = typer.Option(
        None, "--socket", help="Unix socket path (default: <data dir>/signer.sock)."
    ),
    sandbox_url: str | None = typer.Option(
        None,
        "--sandbox-url",
        help="Where the sandbox exchange answers (default: the platform's mounted one).",
    ),
) -> None:
    """Hold the master key and perform private exchange calls for `qari serve` (started by it)."""
    from qari.adapters.signer.protocol import TOKEN_FD_ENV
    from qari.signer.server import read_token

    fd = os.environ.pop(TOKEN_FD_ENV, None)
    if fd is None or not fd.isdigit():
        typer.echo(f"qari: the signer is started by `qari serve` ({TOKEN_FD_ENV} is not set)", err=True)
        sys.exit(2)
    token = read_token(int(fd))
    try:
        settings = get_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        asyncio.run(_run(settings, socket or socket_path(settings), token, sandbox_url, os.getppid()))
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    except OSError as e:  # e.g. a socket path too long for AF_UNIX, or a read-only data dir
        typer.echo(
            f"qari: the signer cannot listen on {socket or 'the data dir'}: {e.strerror or e}", err=True
        )
        sys.exit(2)


async def _run(settings: Settings, path: Path, token: str, sandbox_url: str | None, parent: int) -> None:
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.simulator.app import sandbox_base_url
    from qari.adapters.vault.keys import open_vault
    from qari.services.exchange_keys import SANDBOX, Endpoints
    from qari.signer.server import SignerServer

    engine = make_engine(settings.resolved_database_url)
    try:
        sessions = make_sessionmaker(engine)
        vault = await open_vault(settings, sessions)  # VaultStartupError: one line, exit 2
        url = sandbox_url or (sandbox_base_url(settings) if settings.sandbox_mounted else None)
        endpoints = Endpoints(
            base_urls={SANDBOX: url} if url else {}, sandbox_protocol=settings.sandbox_protocol
        )
        server = SignerServer(token=token, vault=vault, sessions=sessions, endpoints=endpoints)
        await server.start(path)
        mine = path.stat().st_ino  # a successor may bind the same path after us: leave its socket be
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        try:
            # Orphaned (the web process is gone, so is its reason to sign) or told to stop: exit.
            while os.getppid() == parent and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_ino == mine:
                    path.unlink()
            await server.close()
    finally:
        await engine.dispose()


def spawn(
    settings: Settings, *, extra_args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], SignerClient]:
    """Start `qari signer` as a child with a fresh token; returns (child, SignerClient) once it answers.

    Raises `SignerExitedError` when it exits first, `ConfigError` when it does not answer.
    """
    from qari.adapters.signer.client import SignerClient
    from qari.adapters.signer.protocol import TOKEN_FD_ENV, SignerError

    token = secrets.token_urlsafe(32)
    path = socket_path(settings)
    read_end, write_end = os.pipe()
    env = dict(os.environ) | {TOKEN_FD_ENV: str(read_end)}
    child = subprocess.Popen(  # noqa: S603 - this interpreter running qari itself
        [sys.executable, "-m", "qari", "signer", "--socket", str(path), *extra_args],
        env=env,
        pass_fds=(read_end,),
    )
    os.close(read_end)
    with os.fdopen(write_end, "w") as pipe:
        pipe.write(token)
    client = SignerClient(path, token)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if child.poll() is not None:
            raise SignerExitedError("the signer did not start")
        try:
            asyncio.run(client.call("ping"))
            return child, client
        except SignerError:
            if time.monotonic() > deadline:
                child.terminate()
                raise ConfigError(f"the signer did not answer within {START_TIMEOUT:.0f} s") from None
            time.sleep(0.1)
