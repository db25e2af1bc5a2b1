from __future__ import annotations

import socket

import pytest


@pytest.fixture
def free_port_number() -> int:
    """A local port with nothing listening on it (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
