"""The one rule for consultation names, used by `heard import`, the web upload and the store.

A name appears in web addresses (``/c/<name>/``), file names of exports and command lines,
so it is kept plain: lower-case letters, digits, ``-`` and ``_``.
"""

from __future__ import annotations

import re

from heard.io.errors import InputError

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
NAME_RULE = (
    "a consultation's name is 1 to 100 lower-case letters (a-z), digits, - or _, "
    "starting with a letter or digit (for example: parking-2025)"
)


class BadName(InputError):
    """A consultation name that breaks the rule."""


def is_valid_name(name: str) -> bool:
    return NAME_PATTERN.fullmatch(name) is not None


def check_name(name: str) -> str:
    """``name`` when it follows the rule; otherwise BadName saying what the rule is."""
    if not is_valid_name(name):
        raise BadName(f"{name!r} cannot be used: {NAME_RULE}",
                      hint="choose another name, e.g. " + suggest_name(name))
    return name


def suggest_name(name: str) -> str:
    """A name that follows the rule and looks like ``name`` (for hints)."""
    plain = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-_")[:100]
    return plain or "consultation"
