"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import json
import sys
import unicodedata
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=False)
err_console = Console(stderr=True)

# C0 controls (but line feed) and DEL shown as their Unicode control pictures (ESC as ␛),
# so a cell cannot set the terminal's title, write to the clipboard or clear the screen.
_PICTURES = {c: chr(0x2400 + c) for c in range(32) if c != 10} | {0x7F: "\u2421"}


def terminal_safe(value: object) -> str:
    """``value`` as text that is safe to print to a terminal: control characters (escape
    sequences included), C1 controls and invisible format characters (bidi overrides,
    zero-width spaces) are shown visibly instead of acting on the terminal."""
    text = str(value).translate(_PICTURES)
    if text.isascii():
        return text
    return "".join(
        f"<U+{ord(c):04X}>" if 0x80 <= ord(c) <= 0x9F or unicodedata.category(c) == "Cf"
        else c for c in text
    )


def shown(value: object) -> str:
    """User data for a rich ``console.print`` with markup: terminal-safe, markup escaped."""
    return escape(terminal_safe(value))


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
            terminal_safe(f"No consultation called {name!r}. Known consultations: {known}. ")
            + "Load one with `heard import PATH --consultation NAME`."
        ) from None


def get_question(consultation, key: str, kind: str | None = None):
    """The question ``key`` of ``consultation`` (of ``kind`` when given), or a clear error
    listing the ones there are."""
    questions = consultation.questions.all()
    if kind:
        questions = questions.filter(kind=kind)
    found = questions.filter(key=key).first()
    if found is None:
        known = ", ".join(questions.values_list("key", flat=True)[:30]) or "none"
        what = f"{kind} question" if kind else "question"
        raise click.ClickException(terminal_safe(
            f"{consultation.name!r} has no {what} {key!r}. Its {what}s: {known}. "
            f"See them with `heard status {consultation.name}`."))
    return found


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
