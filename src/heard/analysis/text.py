"""Text normalisation and content hashing shared by import, duplicates and caches."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, lower case, unified quotes, single spaces, no surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text or "")
    text = (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )
    text = _SPACE.sub(" ", text.casefold())
    return _strip_edges(text)


def _strip_edges(text: str) -> str:
    """Drop leading and trailing characters that are not letters or digits (linear time)."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def content_hash(text: str) -> str:
    """A stable 40-hex-digit hash of the normalised text (equal for exact copies)."""
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()


def clean_text(text: str | None) -> str:
    """What is stored: NFC, no NULs, unified line endings, trimmed."""
    if text is None:
        return ""
    text = unicodedata.normalize("NFC", str(text)).replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
