"""Tidy extracted text: headers and footers, hyphenation, line wrapping and whitespace.

Work is line-based and page-aware, so that page numbers survive for provenance:
:func:`clean_pages` returns ``(page number, line)`` pairs.
"""

from __future__ import annotations

import re
from collections import Counter

EDGE_LINES = 3  # lines at the top and bottom of a page that may be a header or footer
MAX_EDGE_LENGTH = 120  # longer lines are body text, never a header or footer
REPEAT_SHARE = 0.6  # a line repeated on this share of pages (and on 3 or more) is removed
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_PAGE_NUMBER = re.compile(
    r"^\W*(page|tudalen)?\s*\d{1,4}(\s*(of|/|o)\s*\d{1,4})?\W*$", re.IGNORECASE
)
_HYPHEN_END = re.compile(r"(\w)[-\u2010]$")
_LIST_ITEM = re.compile(r"^([-•*·–▪]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s")
_SENTENCE_END = re.compile(r"[.!?:;)\"'”’]$")


def normalise_line(line: str) -> str:
    """One line: no soft hyphens or control characters, single spaces, trimmed."""
    line = line.replace("\u00ad", "").replace("\ufb01", "fi").replace("\ufb02", "fl")
    line = "".join(ch for ch in line if ch >= " " or ch == "\t")
    return _SPACES.sub(" ", line).strip()


def _signature(line: str) -> str:
    return re.sub(r"\d+", "#", line.casefold())


def remove_headers_footers(pages: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Drop lines repeated at the top or bottom of most pages, and bare page numbers.

    Digits are ignored when comparing ("Page 3 of 9" repeats as "Page # of #"). Needs three
    or more pages to judge repetition; page numbers alone are dropped from any page edge.
    """
    def edges(lines: list[str]) -> set[int]:
        filled = [i for i, line in enumerate(lines) if line and len(line) <= MAX_EDGE_LENGTH]
        return set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])

    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_signature(lines[i]) for i in edges(lines)})
    threshold = max(3, REPEAT_SHARE * len(pages))
    repeated = {sig for sig, n in counts.items() if n >= threshold} if len(pages) >= 3 else set()
    removed: dict[str, None] = {}
    out = []
    for lines in pages:
        drop = {
            i for i in edges(lines)
            if _signature(lines[i]) in repeated
            or (len(pages) > 1 and _PAGE_NUMBER.match(lines[i]))
        }
        for i in sorted(drop):
            removed.setdefault(lines[i], None)
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out, list(removed)


def dehyphenate(lines: list[str]) -> list[str]:
    """Join words split with a hyphen at a line end ("consul-" + "tation")."""
    out = list(lines)
    for i in range(len(out) - 1):
        line = out[i]
        if not _HYPHEN_END.search(line):
            continue
        j = i + 1
        while j < len(out) and not out[j]:
            j += 1
        if j >= len(out) or j - i > 1:
            continue
        following = out[j]
        if following[:1].islower():
            head, _, rest = following.partition(" ")
            out[i] = line[:-1] + head
            out[j] = rest
    return out


def clean_pages(pages: list[tuple[int | None, str]]) -> tuple[list[tuple[int | None, str]],
                                                              list[str]]:
    """(page, line) pairs with headers/footers removed and hyphenation undone; and the
    removed header/footer lines."""
    numbers = [number for number, _ in pages]
    split = [[normalise_line(line) for line in text.splitlines()] for _, text in pages]
    split, removed = remove_headers_footers(split)
    out: list[tuple[int | None, str]] = []
    for number, lines in zip(numbers, split, strict=True):
        for line in dehyphenate(lines):
            out.append((number, line))
        out.append((number, ""))
    return out, removed


def reflow(lines: list[str]) -> str:
    """Paragraphs from wrapped lines: lines in a paragraph are joined with a space, except
    list items and lines that end a sentence before a short line; blank lines separate
    paragraphs."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(line)
    out = []
    for paragraph in paragraphs:
        if not paragraph:
            continue
        text = paragraph[0]
        for previous, line in zip(paragraph, paragraph[1:], strict=False):
            if _LIST_ITEM.match(line) or (
                _SENTENCE_END.search(previous) and len(previous) < 50
            ):
                text += "\n" + line
            else:
                text += " " + line
        out.append(text)
    return "\n\n".join(out)
