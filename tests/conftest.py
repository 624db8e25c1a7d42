"""Shared test setup: no network beyond loopback, the shared data sets, a fresh HEARD_HOME."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HEARD_SHARED_DATA", PROJECT.parent / "shared" / "data"))

_LOOPBACK = ("127.", "::1", "localhost")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        if not host.startswith(_LOOPBACK):
            raise RuntimeError(f"Network access blocked in tests: {address!r}")


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


def shared_dataset(name: str) -> Path:
    """Path of a shared data set, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data set {name!r} not found at {SHARED_DATA} (set HEARD_SHARED_DATA)")
    return path


@pytest.fixture
def heard_home(tmp_path, monkeypatch) -> Path:
    """A fresh HEARD_HOME for subprocess CLI runs."""
    home = tmp_path / "heard-home"
    monkeypatch.setenv("HEARD_HOME", str(home))
    return home


def heard(*args: str) -> str:
    """Run the `heard` command in this process; it must succeed. Returns its output."""
    from click.testing import CliRunner

    from heard.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
