"""Writers for response-level exports: CSV, XLSX and JSON, safe to open in Excel.

Every export format is one entry of :data:`EXPORT_FORMATS` (its writer, file extension, HTTP
content type and label); `heard export` and the web app's download offer exactly those
formats, so adding a format means adding one entry. :func:`write_export` writes one, with the
free-text columns PII-redacted on request (``heard export --redact``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heard.privacy.redaction import redact_rows

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise_cell(value: Any) -> Any:
    """Prefix text that a spreadsheet would treat as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise_cell(value)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> int:
    """UTF-8 with BOM (so Excel reads it as UTF-8); returns the number of rows written."""
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
            count += 1
    return count


def write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> int:
    """A streaming XLSX writer; every value is written as data, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        cells = []
        for c in columns:
            value = _cell(row.get(c))
            if isinstance(value, str):
                value = _XLSX_ILLEGAL.sub("", value)[:32767]
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    workbook.save(path)
    return count


def write_json(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> int:
    """JSON Lines: one object per response (streams for large consultations)."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


Writer = Callable[[Path, Sequence[str], Iterable[dict]], int]


@dataclass(frozen=True)
class ExportFormat:
    """One response-level export format: ``write(path, columns, rows)`` returns the row count."""

    name: str
    write: Writer
    extension: str
    content_type: str
    label: str

    def file_name(self, stem: str) -> str:
        return f"{stem}.{self.extension}"


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("csv", write_csv, "csv", "text/csv; charset=utf-8", "CSV"),
    ExportFormat("xlsx", write_xlsx, "xlsx",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
    ExportFormat("json", write_json, "jsonl", "application/x-ndjson; charset=utf-8",
                 "JSON Lines"),
)}

# Columns of the response-level export that hold free text a respondent wrote.
FREE_TEXT_COLUMNS = ("text", "evidence_reason")


def write_export(fmt: ExportFormat, path: Path, columns: Sequence[str], rows: Iterable[dict],
                 *, redact: bool = False) -> int:
    """Write ``rows`` in ``fmt``; with ``redact``, PII in the free-text columns becomes
    placeholders such as ``[EMAIL]`` (the same redaction as LLM calls and reports)."""
    if redact:
        rows = redact_rows(rows, FREE_TEXT_COLUMNS)
    return fmt.write(path, columns, rows)
