"""Import limits: checked before the work is done, so a small hostile file cannot take the
machine. Each limit has a default and an environment variable that raises or lowers it
(docs/import.md lists them). A file over a limit is refused with :class:`LimitExceeded`,
which names the file, the limit, the value found and how to raise it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from heard.io.errors import InputError


@dataclass(frozen=True)
class Limit:
    key: str
    env: str
    default: int
    what: str  # "columns in one table", shown in messages and the docs

    @property
    def value(self) -> int:
        """The limit in force: the environment variable when set to a positive integer."""
        raw = os.environ.get(self.env, "").strip().replace("_", "")
        if raw:
            try:
                number = int(raw)
            except ValueError:
                number = 0
            if number > 0:
                return number
        return self.default


MIB = 1024 * 1024
LIMITS: dict[str, Limit] = {limit.key: limit for limit in (
    Limit("rows", "HEARD_MAX_ROWS", 5_000_000, "rows in one table"),
    Limit("columns", "HEARD_MAX_COLUMNS", 5_000, "columns in one table"),
    Limit("cells", "HEARD_MAX_CELLS", 100_000_000, "cells (rows × columns) in one table"),
    Limit("sheet_cells", "HEARD_MAX_SHEET_CELLS", 100_000_000,
          "cells a spreadsheet sheet declares (its dimension)"),
    Limit("member_bytes", "HEARD_MAX_MEMBER_BYTES", 256 * MIB,
          "bytes of one file inside a ZIP archive, XLSX, DOCX or ODT, uncompressed"),
    Limit("archive_bytes", "HEARD_MAX_ARCHIVE_BYTES", 1024 * MIB,
          "bytes of all files inside one archive, uncompressed"),
    Limit("xml_bytes", "HEARD_MAX_XML_BYTES", 64 * MIB,
          "bytes of an XML part read whole (shared strings of an XLSX, the text of a DOCX "
          "or ODT), uncompressed"),
    Limit("text_chars", "HEARD_MAX_TEXT_CHARS", 50_000_000,
          "characters of text in one document"),
    Limit("render_pixels", "HEARD_MAX_RENDER_PIXELS", 50_000_000,
          "pixels of one page rendered or scanned for OCR"),
    Limit("pages", "HEARD_MAX_PAGES", 2_000, "pages in one document"),
)}


def limit(key: str) -> int:
    """The value in force of the limit called ``key``."""
    return LIMITS[key].value


def _number(value: int) -> str:
    if value >= MIB and value % 1024 == 0:
        return f"{value:,} ({value / MIB:,.0f} MiB)"
    return f"{value:,}"


def limit_message(key: str, found: int | str) -> tuple[str, str]:
    """(message, hint) for a value over the limit ``key``."""
    spec = LIMITS[key]
    shown = found if isinstance(found, str) else _number(found)
    message = f"over the limit of {_number(spec.value)} {spec.what} (found {shown})"
    hint = (f"If the file is genuine, raise the limit: set {spec.env} to a larger number "
            "in the environment of heard (see docs/import.md), then import again.")
    return message, hint


class LimitExceeded(InputError):
    """An input over one of the import limits."""

    def __init__(self, key: str, found: int | str, *, file: str | Path | None = None,
                 row: int | None = None, column: str | None = None) -> None:
        message, hint = limit_message(key, found)
        self.key = key
        super().__init__(message, file=file, row=row, column=column, hint=hint)


def check(key: str, found: int, *, file: str | Path | None = None, row: int | None = None,
          column: str | None = None) -> None:
    """Raise :class:`LimitExceeded` when ``found`` is over the limit ``key``."""
    if found > limit(key):
        raise LimitExceeded(key, found, file=file, row=row, column=column)


# XML parts that readers parse whole, in memory (others are streamed or ignored).
WHOLE_XML_PARTS = {"xl/sharedStrings.xml", "word/document.xml", "content.xml", "styles.xml",
                   "word/styles.xml", "xl/workbook.xml"}


def check_zip_members(archive, file: str | Path) -> None:
    """Refuse an archive (XLSX, DOCX, ODT, ZIP) whose declared member sizes are over the
    limits, before anything is decompressed. ``zipfile`` never reads a member past its
    declared size, so the declared sizes bound what reading it can cost."""
    total = 0
    for member in archive.infolist():
        where = f"{file}: {member.filename}"
        check("member_bytes", member.file_size, file=where)
        if member.filename in WHOLE_XML_PARTS:
            check("xml_bytes", member.file_size, file=where)
        total += member.file_size
    check("archive_bytes", total, file=file)
