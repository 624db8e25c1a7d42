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
        from pathlib import Path

        Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    if migrate:
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            call_command("migrate", interactive=False, verbosity=0)
