"""`qari vault ...`: master-key operations."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import typer

from qari.config import ConfigError, get_settings

app = typer.Typer(no_args_is_help=True, help="Secret vault operations.")


@app.command("rotate-master")
def rotate_master(
    new_key_file: Path | None = typer.Option(
        None,
        "--new-key-file",
        help="File holding the new key (generated there, mode 0600, if missing). Without it: "
        "QARI_NEW_MASTER_KEY, or a generated key that replaces the current key file.",
    ),
) -> None:
    """Re-wrap every data key under a new master key; the old key is not needed afterwards."""
    from qari.adapters.persistence import migrate
    from qari.adapters.persistence.db import make_engine, make_sessionmaker
    from qari.adapters.vault.keys import FileMasterKey, master_key_source, open_vault
    from qari.adapters.vault.rotation import new_key_from, rotate

    async def run() -> str:
        settings = get_settings()
        url = settings.resolved_database_url
        await asyncio.to_thread(migrate.upgrade, url)
        engine = make_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            current = await open_vault(settings, sessions)
            source = master_key_source(settings)
            current_file = source if isinstance(source, FileMasterKey) else None
            key, key_path = new_key_from(new_key_file, os.environ.get("QARI_NEW_MASTER_KEY"), current_file)
            result = await rotate(sessions, current, key)
        finally:
            await engine.dispose()
        done = (
            f"re-wrapped {result.rewrapped} secret(s): master key version "
            f"{result.old_version} -> {result.new_version}."
        )
        if new_key_file is None and key_path is not None and current_file is not None:
            os.replace(key_path, current_file.path)
            return f"{done} The new key replaced {current_file.path}; the old key is gone."
        if key_path is not None:
            return f"{done} Now set QARI_MASTER_KEY_FILE={key_path} (the old key may be destroyed)."
        return (
            f"{done} Now set QARI_MASTER_KEY to QARI_NEW_MASTER_KEY's value (the old key may be destroyed)."
        )

    try:
        typer.echo(asyncio.run(run()))
    except ConfigError as e:
        typer.echo(f"qari: {e}", err=True)
        sys.exit(2)
