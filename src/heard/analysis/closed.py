"""Reading stance labels as people write them, and closed answers as weak labels.

``support/oppose``, ``for/against``, ``pro/con``, ``yes/no``, ``agree/disagree`` (any
case, with "strongly", "tend to" and the like) all read as agree / disagree; "neither",
"neutral", "don't know", "unclear", "mixed" read as unclear.
"""

from __future__ import annotations

import re

_NEUTRAL = re.compile(
    r"\b(neither|neutral|don't know|do not know|dont know|not sure|unsure|undecided|unclear"
    r"|mixed|no opinion|no position|none|n/a|other|not applicable|prefer not|no preference)\b"
)
_NEGATIVE = re.compile(
    r"\b(disagree|disagrees|oppose|opposed|opposes|against|reject|rejects|con|cons|no|nay"
    r"|not support|do not support|don't support|negative)\b"
)
_POSITIVE = re.compile(
    r"\b(agree|agrees|support|supports|supportive|in favour|in favor|favour|favor|for|pro"
    r"|pros|yes|yea|approve|approves|positive)\b"
)


#: An open question asking this follows up the closed question just before it ("Please
#: explain why you gave this answer"): its answers' stance is read from that question's ticks.
FOLLOWUP_WORDS = re.compile(
    r"\b(why|explain|reason|reasons|comment|comments|please give|tell us more|details|elaborate"
    r"|specify)\b",
    re.IGNORECASE,
)


def follows_up(open_text: str) -> bool:
    """Whether an open question reads as the 'why' follow-up of the closed one before it."""
    return bool(FOLLOWUP_WORDS.search(open_text or ""))


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


def normalise_stance(label: str | None) -> str | None:
    """'agree', 'disagree' or 'unclear' for a stance label as written; None if unreadable.

    "Support", "FOR", "pro", "Yes", "Strongly agree" → agree; "oppose", "Against",
    "con", "no" → disagree; "unclear", "neutral", "Don't know", "mixed" → unclear.
    """
    if label is None or not str(label).strip():
        return None
    text = str(label).casefold().strip()
    if _NEUTRAL.search(text):
        return "unclear"
    return option_stance(text)


def options_stance(options: list[str]) -> str | None:
    """One stance for a set of chosen options, or None when they conflict or say nothing."""
    found = {s for s in (option_stance(o) for o in options) if s}
    return found.pop() if len(found) == 1 else None


def closed_answers(answers: list[str]) -> str | None:
    """Why one question's answers read as a closed question's options (a few distinct short
    values, repeated), or None when they read as free text.

    The import (a long table's questions) and ``heard evaluate`` (which scores open questions
    only) decide with this one rule.
    """
    values = [a.strip() for a in answers if a and a.strip()]
    if not values:
        return None
    distinct = len(set(values))
    mean_length = sum(len(v) for v in values) / len(values)
    few_options = distinct <= max(12, len(values) // 20)
    if mean_length < 40 and few_options and distinct < len(values):
        return f"{distinct} distinct short answers"
    return None
