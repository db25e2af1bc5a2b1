"""`qari signer`: the process that holds the master key (see adapters/signer).

Started by a role (`qari serve`, `web`, `worker`, `scheduler`: `start_or_reach`), the token arrives
through an inherited pipe named by QARI_SIGNER_TOKEN_FD, never on the command line or in the
environment, and the signer exits when its parent does, so a killed role leaves none. Started on its
own (systemd, by hand) with QARI_SIGNER_TOKEN_FILE, it reads its token from that 0600 file (writing a
fresh one when there is none) and serves until SIGTERM; the roles of that machine reach it through
QARI_SIGNER_SOCKET.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qari.config import ConfigError, Settings, get_settings
from qari.logging import configure_logging

if TYPE_CHECKING:
    from qari.adapters.signer.client import SignerClient

START_TIMEOUT = 60.0
DRAIN_GRACE = 45.0  # longer than a worker's drain (30 s) and uvicorn's graceful shutdown


class SignerExitedError(ConfigError):
    """The signer exited at start; it has printed its one-line reason to the shared stderr."""


SUN_PATH_MAX = 107  # Linux's sockaddr_un.sun_path: 108 bytes with the final NUL


def socket_path(settings: Settings, role: str | None = None) -> Path:
    """Where a started signer listens: `<data dir>/signer.sock` for `qari serve` / `web`; a role that
    may run several times on one machine (`worker`) names its own (`signer-worker-<pid>.sock`)."""
    name = "signer.sock" if role is None else f"signer-{role}-{os.getpid()}.sock"
    path = settings.data_dir.resolve() / name
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        return path
    # A deep data dir cannot hold a Unix socket ("AF_UNIX path too long"): a private (0700)
    # directory in the machine's temp dir does, removed when this process ends.
    private = Path(tempfile.mkdtemp(prefix="qari-"))
    atexit.register(shutil.rmtree, private, True)
    return private / name


def token_file(settings: Settings, socket: Path) -> Path:
    return settings.signer_token_file or socket.with_name(socket.name + ".token")


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
    """Hold the master key and perform private exchange calls for the roles (`qari serve`, `web`,
    `worker`, `scheduler` start one; or start it once per machine with QARI_SIGNER_TOKEN_FILE)."""
    from qari.adapters.signer.protocol import TOKEN_FD_ENV
    from qari.signer.server import read_token

    fd = os.environ.pop(TOKEN_FD_ENV, None)
    try:
        settings = get_settings()
        path = socket or settings.signer_socket or socket_path(settings)
        parent: int | None = os.getppid()
        if fd is not None and fd.isdigit():
            token = read_token(int(fd))
        elif settings.signer_token_file is not None:
            token, parent = standing_token(settings.signer_token_file), None  # serves until SIGTERM
        else:
            typer.echo(
                f"qari: the signer is started by `qari serve` or a role ({TOKEN_FD_ENV} is not set), "
                "or on its own with QARI_SIGNER_TOKEN_FILE",
                err=True,
            )
            sys.exit(2)
        configure_logging(settings.log_level, json_lines=settings.log_json)
        asyncio.run(_run(settings, path, token, sandbox_url, parent))
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
    except OSError as e:  # e.g. a socket path too long for AF_UNIX, or a read-only data dir
        typer.echo(
            f"qari: the signer cannot listen on {socket or 'the data dir'}: {e.strerror or e}", err=True
        )
        sys.exit(2)


def standing_token(path: Path) -> str:
    """The token of a signer started on its own: read from `path` (0600), or a fresh one written there."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
    return read_token_file(path)


def read_token_file(path: Path) -> str:
    """A signer token file's token; `ConfigError` when it is missing, open to others or too short."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        token = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"the signer token file {path} cannot be read: {e.strerror or e}") from None
    if mode & 0o077:
        raise ConfigError(f"the signer token file {path} is readable by others; run: chmod 600 {path}")
    if len(token) < 32:
        raise ConfigError(f"the signer token file {path} holds no token (32 characters or more)")
    return token


async def _run(
    settings: Settings, path: Path, token: str, sandbox_url: str | None, parent: int | None
) -> None:
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
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)  # how the role that started it stops it
        if parent is None:
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        else:
            # A service manager's SIGTERM reaches the whole group at once: keep signing while the role
            # drains its units in flight; stop when it is gone (below) or after the grace.
            loop.add_signal_handler(signal.SIGTERM, lambda: loop.call_later(DRAIN_GRACE, stop.set))
        try:
            # Orphaned (the role that started it is gone, so is its reason to sign) or told to stop.
            while (parent is None or os.getppid() == parent) and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_ino == mine:
                    path.unlink()
            await server.close()
    finally:
        await engine.dispose()


@dataclass(slots=True)
class SignerLink:
    """The signer a role uses: its own child (`child`), or one already running on this machine."""

    client: SignerClient
    child: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        """Stop the child (a reached signer is not this role's to stop)."""
        if self.child is None or self.child.poll() is not None:
            return
        self.child.send_signal(signal.SIGINT)
        try:
            self.child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()


def start_or_reach(
    settings: Settings, *, role: str | None = None, extra_args: tuple[str, ...] = ()
) -> tuple[SignerLink, Settings]:
    """The one way a role gets its signer, then forgets the master key.

    With QARI_SIGNER_SOCKET, the signer already running there (its token from QARI_SIGNER_TOKEN_FILE);
    else a `qari signer` child started now (`role` names its socket, see `socket_path`). Returns the
    link and the settings without the key; the environment entry and the cached settings are dropped
    too. Raises `SignerExitedError` / `ConfigError` (one line) when there is no signer to use.
    """
    if settings.signer_socket is not None:
        link = SignerLink(reach(settings, settings.signer_socket))
    else:
        child, client = spawn(settings, path=socket_path(settings, role), extra_args=extra_args)
        link = SignerLink(client, child)
    os.environ.pop("QARI_MASTER_KEY", None)
    get_settings.cache_clear()
    return link, settings.model_copy(update={"master_key": None})


def reach(settings: Settings, path: Path) -> SignerClient:
    """A client of the signer running at `path`, once it answers (it may still be starting)."""
    from qari.adapters.signer.client import SignerClient
    from qari.adapters.signer.protocol import SignerRefusedError, SignerUnavailableError

    deadline = time.monotonic() + START_TIMEOUT
    tokens = token_file(settings, path)
    while not tokens.exists() and time.monotonic() < deadline:  # a signer starting now writes it
        time.sleep(0.2)
    client = SignerClient(path, read_token_file(tokens))
    while True:
        try:
            asyncio.run(client.call("ping"))
            return client
        except SignerRefusedError as e:  # another token: retrying cannot help
            raise ConfigError(f"the signer on QARI_SIGNER_SOCKET {path} refused this role: {e}") from None
        except SignerUnavailableError as e:
            if time.monotonic() > deadline:
                raise ConfigError(f"no signer answers on QARI_SIGNER_SOCKET {path}: {e}") from None
            time.sleep(0.2)


def spawn(
    settings: Settings, *, path: Path | None = None, extra_args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], SignerClient]:
    """Start `qari signer` as a child with a fresh token; returns (child, SignerClient) once it answers.

    Raises `SignerExitedError` when it exits first, `ConfigError` when it does not answer.
    """
    from qari.adapters.signer.client import SignerClient
    from qari.adapters.signer.protocol import TOKEN_FD_ENV, SignerError

    token = secrets.token_urlsafe(32)
    path = path or socket_path(settings)
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
                child.kill()
                raise ConfigError(f"the signer did not answer within {START_TIMEOUT:.0f} s") from None
            time.sleep(0.1)
