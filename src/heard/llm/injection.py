"""Flags responses that try to instruct the model instead of answering the consultation.

Flagged responses are still analysed, as data, but each goes to the LLM in a batch of its
own, so that whatever it makes a model do cannot touch another response's result; the run
lists them. The patterns are deliberately broad: a false flag costs only a small extra call.
"""

from __future__ import annotations

import re

__all__ = ["PATTERNS", "detect_injection"]

PATTERNS: list[tuple[str, re.Pattern]] = [
    ("override", re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}\b(?:previous|prior|"
        r"above|earlier|all|any|your|the|system)\b[^.\n]{0,30}\b(?:instructions?|prompts?|"
        r"rules?|directions?|guidelines?|context|messages?)", re.I)),
    ("new_instructions", re.compile(
        r"\b(?:new|updated|real|actual|following)\s+(?:instructions?|task|rules?|system prompt)"
        r"\s*[:\-]", re.I)),
    ("role_play", re.compile(
        r"\b(?:you are now|from now on,? you|act as (?:an?|the)|pretend (?:to be|you are)|"
        r"roleplay as|role-play as|you must now|your new role)\b", re.I)),
    ("system_prompt", re.compile(
        r"(?:^|\W)(?:system\s*(?:prompt|message)\s*:|<\|?(?:system|im_start|im_end)\|?>|"
        r"\[/?(?:INST|SYS)\]|###\s*(?:system|instruction)|\bassistant\s*:|\bsystem\s*:)",
        re.I)),
    ("reveal", re.compile(
        r"\b(?:reveal|print|show|repeat|output)\b[^.\n]{0,30}\b(?:system prompt|your "
        r"(?:instructions|prompt)|hidden prompt)", re.I)),
    ("output_control", re.compile(
        r"\b(?:label|classify|tag|mark|assign|map|categori[sz]e|rate|score)\b[^.\n]{0,40}"
        r"\b(?:every|all|each|other|the rest of the)\b[^.\n]{0,20}\b(?:responses?|answers?|"
        r"items?|comments?|submissions?)\b[^.\n]{0,20}\b(?:as|to|with)\b", re.I)),
    ("json_break", re.compile(
        r"(?:\"\s*\}\s*\]|\}\s*\]\s*\}|\"(?:themes|items|id|label)\"\s*:|"
        r"<{2,}\s*(?:END|BEGIN)|END[_ ]OF[_ ]DATA|```)", re.I)),
    ("tool_call", re.compile(
        r"\b(?:call|invoke|execute)\s+(?:the\s+|a\s+)?(?:tool|function|shell command)\b",
        re.I)),
]


def detect_injection(text: str) -> list[str]:
    """The kinds of injection attempt found in ``text`` (empty when none)."""
    if not text:
        return []
    return [kind for kind, pattern in PATTERNS if pattern.search(text)]
