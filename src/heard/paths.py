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


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) readable by this account only (0700), and return it.

    ``mkdir``'s mode is masked by the umask and an existing folder keeps its own, so the mode
    is set afterwards as well.
    """
    if not path.parent.exists():
        private_dir(path.parent)  # mkdir(parents=True) would ignore the mode for parents
    path.mkdir(exist_ok=True, mode=0o700)
    _narrow(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file readable and writable by this account only (0600)."""
    _narrow(path, 0o600)
    return path


def create_private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (then only its mode is fixed)."""
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    return private_file(path)


def _narrow(path: Path, mode: int) -> None:
    """Take away the group's and others' access; a path owned by another account (which
    this one cannot change) is left as it is."""
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(mode)
        except PermissionError:
            pass
