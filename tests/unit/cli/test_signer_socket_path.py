"""The signer's socket path fits a Unix socket address however deep the data directory is."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

from qari.cli.signer import SUN_PATH_MAX, socket_path
from qari.config import load_settings


def test_socket_path_when_data_dir_is_deep_then_a_private_short_directory_that_can_listen(
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # a data dir as deep as pytest-xdist's temp dirs
    settings = load_settings(data_dir=deep, master_key_file=tmp_path / "keys" / "master.key")
    path = socket_path(settings, "scheduler")
    assert len(os.fsencode(path)) <= SUN_PATH_MAX
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))  # the old path raised "AF_UNIX path too long" here


def test_socket_path_when_data_dir_is_short_then_inside_it(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var", master_key_file=tmp_path / "keys" / "master.key")
    assert socket_path(settings) == (tmp_path / "var").resolve() / "signer.sock"
