"""Small template helpers: percentages, quote highlighting, stage names, export formats."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from heard.io.writers import EXPORT_FORMATS, ExportFormat

register = template.Library()


@register.filter
def pct(value: float, digits: int = 0) -> str:
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def width(value: int, maximum: int) -> str:
    """A bar's width in percent of the largest bar (as a CSS value)."""
    return f"{(value / maximum * 100) if maximum else 0:.1f}%"


@register.filter
def get(mapping: dict, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def export_formats() -> list[ExportFormat]:
    """The response-level export formats, for download links."""
    return list(EXPORT_FORMATS.values())


@register.simple_tag
def highlight(text: str, quotes: list[str]):
    """The text, escaped, with each quote used for a theme wrapped in <mark>."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        start = text.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote)))
    spans.sort()
    out, pos = [], 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(escape(text[pos:start]))
        out.append(f'<mark class="heard-quote">{escape(text[start:end])}</mark>')
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))
