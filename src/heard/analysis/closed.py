"""Reading closed-question answers as stance: free weak labels for the open follow-up."""

from __future__ import annotations

import re

_NEGATIVE = re.compile(
    r"\b(disagree|oppose|opposed|against|reject|no|not support|do not support|don't support)\b"
)
_POSITIVE = re.compile(r"\b(agree|support|supports|in favour|in favor|yes|approve)\b")
_NEUTRAL = re.compile(r"\b(neither|neutral|don't know|do not know|not sure|unsure|undecided)\b")


def option_stance(option: str | None) -> str | None:
    """'agree', 'disagree' or None (neutral, unknown or empty) for one closed answer."""
    if not option:
        return None
    text = option.casefold().strip()
    if _NEUTRAL.search(text):
        return None
    if _NEGATIVE.search(text):
        return "disagree"
    if _POSITIVE.search(text):
        return "agree"
    return None


def options_stance(options: list[str]) -> str | None:
    """One stance for a set of chosen options, or None when they conflict or say nothing."""
    found = {s for s in (option_stance(o) for o in options) if s}
    return found.pop() if len(found) == 1 else None
