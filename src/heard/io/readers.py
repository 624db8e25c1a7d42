"""Stream tables out of CSV, XLSX, JSONL and Parquet files.

Every reader yields a :class:`Table`: its column names and an iterator of rows, each row a
list of strings as long as the columns. Rows are read lazily, so a large file never sits in
memory whole. Problems raise :class:`~heard.io.errors.InputError` naming file, row and column.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from heard.io import limits
from heard.io.errors import InputError

# Cells up to this size are read; the csv module's default limit (128 KiB) is far too small
# for real consultation answers, and a cell above 1 MiB is flagged as suspicious anyway.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(CSV_FIELD_LIMIT)

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DELIMITERS = (",", ";", "\t", "|")
QUALTRICS_IMPORT_ID = '{"ImportId"'
_CHUNK = 1 << 20


@dataclass
class Table:
    """One rectangular table: a CSV file, one XLSX sheet, a JSONL or a Parquet file."""

    file: Path
    format: str
    columns: list[str]
    open_rows: Callable[[], Iterator[tuple[int, list[str]]]]
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    header_texts: dict[str, str] = field(default_factory=dict)
    export: str | None = None  # set by the reader when the layout itself says (Qualtrics)

    @property
    def label(self) -> str:
        """File name, with the sheet for XLSX."""
        return f"{self.file.name}[{self.sheet}]" if self.sheet else self.file.name

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every data row, read afresh on each call."""
        return self.open_rows()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_format(path: Path) -> str:
    """The format named by the file's extension, or a clear error."""
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise InputError(
            f"unknown file type {path.suffix or '(no extension)'!r}",
            file=path,
            hint=f"Heard reads {known}. Save the data in one of these formats, or rename the file "
            "if its extension is wrong.",
        )
    return fmt


def read_tables(path: Path) -> list[Table]:
    """All tables in one file (one per non-empty sheet for XLSX)."""
    if not path.exists():
        raise InputError("file not found", file=path, hint="Check the path and spelling.")
    fmt = file_format(path)
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=path, hint="Export the data again.")
    if fmt == "csv":
        return [read_csv(path)]
    if fmt == "xlsx":
        return read_xlsx(path)
    if fmt == "jsonl":
        return [read_jsonl(path)]
    return [read_parquet(path)]


# --- encodings -----------------------------------------------------------------------------


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def detect_encoding(path: Path) -> str:
    """The file's text encoding: BOMs first, then strict UTF-8, UTF-16, cp1252, then a guess.

    Refuses binary files and files that mix UTF-8 with another encoding.
    """
    with path.open("rb") as handle:
        head = handle.read(_CHUNK)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without a BOM: every other byte of ASCII text is NUL.
    sample = head[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
            return "utf-16-le"
        if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
            return "utf-16-be"
    if _looks_binary(head):
        raise InputError(
            "this looks like a binary file, not text (it is full of NUL and control bytes)",
            file=path,
            hint="Export the data as CSV, XLSX, JSONL or Parquet with the matching extension.",
        )
    utf8_error = _first_utf8_error(path)
    if utf8_error is None:
        return "utf-8"
    data = path.read_bytes()
    position = utf8_error
    has_utf8_multibyte = _has_valid_utf8_multibyte(data[:position])
    if has_utf8_multibyte:
        raise InputError(
            "the file mixes encodings: it is UTF-8 up to here, then has bytes that are not UTF-8",
            file=path,
            row=_line_of(data, position),
            hint="Re-save the whole file as UTF-8 (in Excel: Save As > CSV UTF-8), or fix the "
            "characters on that line.",
        )
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 * _CHUNK]).best()
    if best is None:
        raise InputError(
            "cannot tell this file's text encoding",
            file=path,
            hint="Re-save it as UTF-8 CSV.",
        )
    return best.encoding


_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def _looks_binary(head: bytes) -> bool:
    """Binary data, not text with stray NULs: more than 1 byte in 10 is NUL or a control
    byte that text never has. (Stray NULs are removed at import, and flagged.)"""
    controls = sum(head.count(b) for b in _BINARY_BYTES)  # NUL among them
    return controls * 10 > len(head)


def _first_utf8_error(path: Path) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None when the file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0]) if not final else 0
                return max(0, offset - pending + exc.start)
            if final:
                return None
            offset += len(chunk)


def _has_valid_utf8_multibyte(data: bytes) -> bool:
    text = data.decode("utf-8", errors="ignore")
    return any(ord(char) > 127 for char in text)


# --- CSV -------------------------------------------------------------------------------------


def _sniff_delimiter(first_line: str) -> str:
    """The delimiter that splits the header line into the most cells (',' on a tie)."""
    best, best_count = ",", 0
    for delimiter in DELIMITERS:
        count = len(next(csv.reader([first_line], delimiter=delimiter), []))
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return open(path, encoding=encoding, newline="")


# Characters that make two headers look alike: controls (but tab and line breaks) and
# Unicode "format" characters (zero-width spaces and joiners, bidi controls, BOM, soft hyphen).
_KEEP_CONTROLS = {"\t", "\n", "\r", "\x00"}


def _invisible(char: str) -> bool:
    return char not in _KEEP_CONTROLS and unicodedata.category(char) in ("Cc", "Cf")


def clean_header(name: str) -> tuple[str, list[str]]:
    """(the header without invisible characters, the code points removed)."""
    removed = [f"U+{ord(c):04X}" for c in name if _invisible(c)]
    if not removed:
        return name.strip(), []
    return "".join(c for c in name if not _invisible(c)).strip(), removed


def _check_header(columns: list[str], path: Path, sheet: str | None = None) -> list[str]:
    where = f"{path}[{sheet}]" if sheet else path
    limits.check("columns", len(columns), file=where, row=1)
    names: list[str] = []
    cleaned: dict[int, list[str]] = {}
    for position, cell in enumerate(columns, start=1):
        name, removed = clean_header(str(cell) if cell is not None else "")
        if removed:
            cleaned[position] = removed
        names.append(name)
    while names and not names[-1]:
        names.pop()  # trailing empty header cells (common in spreadsheets)
    if not names:
        raise InputError("the header row is empty", file=where, row=1)
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if "\x00" in name:
            raise InputError(
                f"the header of column {position} contains a NUL character",
                file=where,
                row=1,
                column=name.replace("\x00", "\u2400"),
                hint="Remove the NUL (a zero byte) from the column's name.",
            )
        if not name:
            raise InputError(
                f"column {position} has no name in the header",
                file=where,
                row=1,
                hint="Give every column a header, or delete the empty column.",
            )
        if name in seen:
            invisible = sorted({c for p in (seen[name], position) for c in cleaned.get(p, [])})
            note = (f"; they differ only by invisible characters ({', '.join(invisible)}), "
                    "which Heard removes from headers" if invisible else "")
            raise InputError(
                f"two columns are called {name!r} (columns {seen[name]} and {position}){note}",
                file=where,
                row=1,
                column=name,
                hint="Rename one of them so every header is unique.",
            )
        seen[name] = position
    return names


def read_csv(path: Path) -> Table:
    """A CSV table: encoding detected, delimiter sniffed, Qualtrics' 3 header rows understood."""
    encoding = detect_encoding(path)
    try:
        with _open_text(path, encoding) as handle:
            first_line = handle.readline()
            handle.seek(0)
            delimiter = _sniff_delimiter(first_line)
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            try:  # Qualtrics puts two more header rows below; errors here show up later
                extra_headers = [next(reader, None), next(reader, None)]
            except csv.Error:
                extra_headers = [None, None]
    except csv.Error as exc:
        raise InputError(f"the header cannot be read as CSV ({exc})", file=path, row=1) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not valid {encoding}: {exc.reason}", file=path) from None
    if header is None:
        raise InputError("the file has no header row", file=path)
    columns = _check_header(header, path)
    header_rows = 1
    header_texts: dict[str, str] = {}
    export = None
    third = extra_headers[1]
    if third and any(cell.startswith(QUALTRICS_IMPORT_ID) for cell in third[:5]):
        # Qualtrics: ids, then question text, then ImportId JSON.
        header_rows = 3
        export = "qualtrics"
        texts = extra_headers[0] or []
        header_texts = {name: texts[i] for i, name in enumerate(columns) if i < len(texts)}

    def open_rows() -> Iterator[tuple[int, list[str]]]:
        return _csv_rows(path, encoding, delimiter, columns, header_rows)

    table = Table(
        file=path,
        format="csv",
        columns=columns,
        open_rows=open_rows,
        encoding=encoding,
        delimiter=delimiter,
        header_texts=header_texts,
        export=export,
    )
    if next(table.rows(), None) is None:
        raise InputError(
            "the file has a header but no data rows", file=path, hint="Export the data again."
        )
    return table


def _max_rows(width: int) -> int:
    """The last row number a table of ``width`` columns may have, under both limits."""
    return min(limits.limit("rows"), limits.limit("cells") // max(width, 1)) + 1


def _refuse_rows(file: str | Path, width: int, row: int) -> None:
    """Raise the limit (rows or cells) that row number ``row`` goes over."""
    if row - 1 > limits.limit("rows"):
        raise limits.LimitExceeded("rows", f"more than {row - 2:,}", file=file, row=row)
    raise limits.LimitExceeded("cells", f"more than {(row - 2) * width:,}", file=file, row=row)


def _csv_rows(
    path: Path, encoding: str, delimiter: str, columns: list[str], header_rows: int
) -> Iterator[tuple[int, list[str]]]:
    width = len(columns)
    max_rows = _max_rows(width)
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        row_number = 0
        while True:
            row_number += 1
            if row_number > max_rows:
                _refuse_rows(path, width, row_number)
            start_line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                hint = (
                    "A quoted cell is never closed: add the missing closing quote (\")."
                    if "end of data" in str(exc) or "EOF" in str(exc)
                    else "Check the quotes in this row; a quote inside a cell must be doubled."
                )
                raise InputError(
                    f"the CSV cannot be parsed here ({exc}); the record starts on line "
                    f"{start_line}",
                    file=path,
                    row=row_number,
                    hint=hint,
                ) from None
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"the text is not valid {encoding}: {exc.reason}",
                    file=path,
                    row=row_number,
                    hint="Re-save the file as UTF-8.",
                ) from None
            if row_number <= header_rows:
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip() and width > 1):
                continue  # blank line
            if len(cells) > width:
                extra = cells[width:]
                if any(cell.strip() for cell in extra):
                    raise InputError(
                        f"this row has {len(cells)} cells but the header has {width}",
                        file=path,
                        row=row_number,
                        hint="A cell probably holds an unquoted delimiter "
                        f"({delimiter!r}); quote that cell, or add the missing header.",
                    )
                cells = cells[:width]
            elif len(cells) < width:
                raise InputError(
                    f"this row has {len(cells)} cells but the header has {width}",
                    file=path,
                    row=row_number,
                    column=columns[len(cells)],
                    hint="A line break inside an unquoted cell splits a row; quote that cell, "
                    "or fill in the missing cells.",
                )
            yield row_number, cells


# --- XLSX ------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(path: Path) -> list[Table]:
    """One table per sheet that has a header and at least one data row."""
    workbook = _open_workbook(path)
    tables = []
    try:
        for sheet in workbook.worksheets:
            rows = _sheet_rows(sheet, path)
            header = next(rows, None)
            if header is None or not any(v not in (None, "") for v in header):
                continue
            columns = _check_header(list(header), path, sheet.title)
            if not any(any(v not in (None, "") for v in row) for row in rows):
                continue
            tables.append(_xlsx_table(path, sheet.title, columns))
    finally:
        workbook.close()
    if not tables:
        raise InputError(
            "the workbook has no sheet with a header row and data",
            file=path,
            hint="Put the header in row 1 and the answers below it.",
        )
    return tables


def _open_workbook(path: Path):
    """The workbook in read-only mode, after checking the archive's declared sizes (a
    gigabyte of shared strings is refused before openpyxl loads them)."""
    import zipfile

    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            limits.check_zip_members(archive, path)
        return load_workbook(path, read_only=True, data_only=False)
    except limits.LimitExceeded:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputError(
            f"this is not a readable XLSX workbook ({type(exc).__name__}: {exc})",
            file=path,
            hint="Open it in a spreadsheet program and save it again as .xlsx.",
        ) from None


def _sheet_rows(sheet, path: Path) -> Iterator[tuple]:
    """The sheet's rows, read sparsely: the dimension a sheet declares (``A1:XFD1048576``)
    is checked against the limits and then ignored, so empty rows cost nothing."""
    where = f"{path}[{sheet.title}]"
    declared_rows, declared_columns = sheet.max_row or 0, sheet.max_column or 0
    limits.check("columns", declared_columns, file=where)
    limits.check("sheet_cells", declared_rows * declared_columns, file=where)
    sheet.reset_dimensions()
    max_columns = limits.limit("columns")
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if len(values) > max_columns:
            raise limits.LimitExceeded("columns", len(values), file=where, row=number)
        yield values


def _xlsx_table(path: Path, sheet_name: str, columns: list[str]) -> Table:
    width = len(columns)

    def open_rows() -> Iterator[tuple[int, list[str]]]:
        workbook = _open_workbook(path)
        max_rows = _max_rows(width)
        try:
            sheet = workbook[sheet_name]
            for number, values in enumerate(_sheet_rows(sheet, path), start=1):
                if number == 1:
                    continue
                if number > max_rows:
                    _refuse_rows(f"{path}[{sheet_name}]", width, number)
                cells = [_cell_text(v) for v in values]
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > width:
                    if any(c.strip() for c in cells[width:]):
                        raise InputError(
                            "this row has cells to the right of the last headed column",
                            file=f"{path}[{sheet_name}]",
                            row=number,
                            hint="Add a header for that column or delete those cells.",
                        )
                    cells = cells[:width]
                cells += [""] * (width - len(cells))
                yield number, cells
        finally:
            workbook.close()

    return Table(file=path, format="xlsx", columns=columns, open_rows=open_rows, sheet=sheet_name)


# --- JSONL -----------------------------------------------------------------------------------


def _json_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_json_cell(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _jsonl_records(path: Path, encoding: str) -> Iterator[tuple[int, dict]]:
    max_rows = limits.limit("rows")
    with path.open(encoding=encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if number > max_rows:
                _refuse_rows(path, 1, number + 1)
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"this line is not valid JSON ({exc.msg} at character {exc.colno})",
                    file=path,
                    row=number,
                    hint="Each line of a JSONL file must be one JSON object.",
                ) from None
            except RecursionError:
                raise InputError(
                    "this line nests arrays or objects too deeply to read",
                    file=path,
                    row=number,
                    hint="Each line should be one flat JSON object of answers, "
                    'e.g. {"id": 1, "q1": "…"}.',
                ) from None
            except ValueError as exc:  # e.g. an integer of more than 4,300 digits
                raise InputError(
                    f"this line has a value that cannot be read ({str(exc)[:100]})",
                    file=path,
                    row=number,
                    hint="Write very long numbers as strings (in quotes).",
                ) from None
            if not isinstance(record, dict):
                raise InputError(
                    f"this line is a JSON {type(record).__name__}, not an object",
                    file=path,
                    row=number,
                    hint='Write each answer as an object, e.g. {"id": 1, "q1": "…"}.',
                )
            yield number, record


def read_jsonl(path: Path) -> Table:
    """JSON Lines: the columns are the keys in the order first seen."""
    encoding = detect_encoding(path)
    columns: dict[str, None] = {}
    count = 0
    for number, record in _jsonl_records(path, encoding):
        count += 1
        for key in record:
            columns.setdefault(str(key), None)
        if len(columns) > limits.limit("columns"):
            raise limits.LimitExceeded("columns", f"{len(columns):,} keys by this line",
                                       file=path, row=number)
        limits.check("cells", count * len(columns), file=path, row=number)
    if count == 0:
        raise InputError("the file has no JSON records", file=path)
    names = [clean_header(name)[0] for name in columns]
    if len(set(names)) < len(names):
        _check_header(list(columns), path)  # names the keys that differ by invisible chars
    for position, name in enumerate(names, start=1):
        if "\x00" in name:
            raise InputError(
                f"key {position} of the records contains a NUL character",
                file=path,
                column=name.replace("\x00", "\u2400"),
                hint="Remove the NUL (a zero byte, \\u0000) from the key's name.",
            )

    keys = list(columns)

    def open_rows() -> Iterator[tuple[int, list[str]]]:
        for number, record in _jsonl_records(path, encoding):
            try:
                cells = [_json_cell(record.get(key)) for key in keys]
            except RecursionError:
                raise InputError("this line nests arrays or objects too deeply to read",
                                 file=path, row=number,
                                 hint="Each line should be one flat JSON object of answers.",
                                 ) from None
            yield number, cells

    return Table(file=path, format="jsonl", columns=names, open_rows=open_rows, encoding=encoding)


# --- Parquet ---------------------------------------------------------------------------------


def read_parquet(path: Path) -> Table:
    """A Parquet file, read in record batches."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for damaged files
        raise InputError(
            f"this is not a readable Parquet file ({exc})",
            file=path,
            hint="Write the file again; it may be truncated or not Parquet at all.",
        ) from None
    raw_names = list(parquet.schema_arrow.names)
    columns = _check_header(raw_names, path)
    fields = raw_names[: len(columns)]  # the names in the file (headers are cleaned)
    if parquet.metadata.num_rows == 0:
        raise InputError("the Parquet file has no rows", file=path)
    limits.check("rows", parquet.metadata.num_rows, file=path)
    limits.check("cells", parquet.metadata.num_rows * len(columns), file=path)

    def open_rows() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=5000):
                data = batch.to_pydict()
                values = [data[name] for name in fields]
                for index in range(batch.num_rows):
                    number += 1
                    yield number, [_json_cell(column[index]) for column in values]
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"the Parquet data cannot be read ({exc})", file=path, row=number + 1
            ) from None

    return Table(file=path, format="parquet", columns=columns, open_rows=open_rows)
