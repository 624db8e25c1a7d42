"""Start Django for non-web callers (CLI, pipeline, benchmarks) and bring the schema up to date."""

from __future__ import annotations

import os

_ready = False


def setup_django() -> None:
    """Configure Django once per process; safe to call repeatedly."""
    global _ready
    if _ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heard.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    _ready = True


def open_store(migrate: bool = True) -> None:
    """Set up Django and create or upgrade the schema when needed (quietly)."""
    setup_django()
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        _private_sqlite(db["NAME"])
    if migrate:
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            call_command("migrate", interactive=False, verbosity=0)


def _private_sqlite(name: str) -> None:
    """The SQLite file and its -wal and -shm companions, readable by this account only.

    SQLite gives the companions the database file's mode, so creating the file 0600 before
    the first connection keeps all three private; existing ones are corrected.
    """
    from pathlib import Path

    from heard.paths import create_private_file, heard_home, private_dir, private_file

    if name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    private_dir(heard_home())
    create_private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)
