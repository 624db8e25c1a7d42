"""Shared types of the documents package: what a document reads as, and why it cannot be read.

A leaf module: it imports nothing else of Heard, so every module of ``io/documents`` can use
these types without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Attachment", "ExtractOptions", "Extracted", "Page", "Unprocessable"]


class Unprocessable(Exception):
    """The document cannot be read; ``reason`` says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Page:
    """The text of one page (``number`` is None for formats without pages)."""

    number: int | None
    text: str
    method: str  # text-layer | ocr | text
    confidence: float | None = None  # OCR: mean word confidence, 0–100


@dataclass
class Attachment:
    name: str
    data: bytes
    unreadable: str = ""  # why it cannot be read, when known at extraction (kept as a response)


@dataclass
class Extracted:
    format: str
    pages: list[Page]
    attachments: list[Attachment] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        methods = sorted({p.method for p in self.pages if p.text.strip()})
        return "+".join(methods) if methods else (self.pages[0].method if self.pages else "")


@dataclass
class ExtractOptions:
    """``ocr_languages``: a Tesseract language string, or "auto" (English, and Welsh when the
    first page reads as Welsh)."""

    ocr: bool = True
    ocr_languages: str = "auto"
