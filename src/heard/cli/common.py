"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=False)
err_console = Console(stderr=True)


def open_store() -> None:
    from heard.store.setup import open_store as _open

    _open()


def get_consultation(name: str):
    """The consultation called NAME, or a clear error listing the ones that exist."""
    from heard.store.models import Consultation

    try:
        return Consultation.objects.get(name=name)
    except Consultation.DoesNotExist:
        known = ", ".join(Consultation.objects.values_list("name", flat=True)) or "none yet"
        raise click.ClickException(
            f"No consultation called {name!r}. Known consultations: {known}. "
            "Load one with `heard import PATH --consultation NAME`."
        ) from None


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@contextmanager
def progress_bar(transient: bool = True):
    """A rich progress bar on stderr; hidden when stderr is not a terminal."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
        disable=not sys.stderr.isatty(),
    )
    with progress:
        yield progress
