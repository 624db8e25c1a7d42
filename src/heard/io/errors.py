"""The error raised for input that Heard cannot import, with where it is and how to fix it."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: names the file, and where known the row and column, and gives a hint.

    ``row`` counts as a spreadsheet shows it: the header is row 1 in CSV and XLSX;
    in JSONL it is the line number; in Parquet the data row number (from 1).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str = "",
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self.describe())

    def where(self) -> str:
        """'file.csv, row 12, column "Q1"' (only the parts that are known)."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def describe(self) -> str:
        """The full message shown to the user."""
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }
