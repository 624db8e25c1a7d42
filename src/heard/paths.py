"""Where Heard keeps its data: ``HEARD_HOME`` or the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path


def heard_home() -> Path:
    """The folder holding the SQLite store, caches and job files.

    ``HEARD_HOME`` wins; otherwise ``$XDG_DATA_HOME/heard`` or ``~/.local/share/heard``.
    """
    if env := os.environ.get("HEARD_HOME"):
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "heard"


def sqlite_path() -> Path:
    return heard_home() / "heard.sqlite3"
