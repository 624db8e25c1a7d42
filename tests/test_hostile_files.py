"""The bad-input corpus: every file ends in a clear message (file, row, column where they
apply) or an import, each in a child process killed after 30 s and measured for memory.

The hostile files of the hardening trial are generated here (tmp_path): small files that
declare huge sheets, decompress to gigabytes, expand XML, nest JSON deeply, hide escape
sequences, follow links. The cases of tests/test_bad_input.py run here too, so the whole
corpus is held to the same time and memory limits.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_bad_input import CASES as BAD_INPUT_CASES
from tests.test_bad_input import GOOD_CSV

PEAK_MB = 1024
Build = Callable[[Path], list[str]]


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


# --- spreadsheets built by hand, so they can lie ----------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/>{shared}</Types>'
)
_SHARED_TYPE = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
         '"xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats'
             '.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" '
             'r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/>{shared}</Relationships>')
_SHARED_REL = ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
               '2006/relationships/sharedStrings" Target="sharedStrings.xml"/>')
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _xlsx(path: Path, rows: str, dimension: str | None = None,
          shared_bytes: int = 0) -> Path:
    """A workbook with one sheet of ``rows`` (sheetData XML), a declared dimension, and
    optionally a shared-strings part of ``shared_bytes`` (streamed, never held whole)."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_SHEET_NS}">{dim}'
             f"<sheetData>{rows}</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        shared = bool(shared_bytes)
        archive.writestr("[Content_Types].xml",
                         _CONTENT_TYPES.format(shared=_SHARED_TYPE if shared else ""))
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels",
                         _WORKBOOK_RELS.format(shared=_SHARED_REL if shared else ""))
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared:
            item = "<si><t>" + "x" * 1000 + "</t></si>"
            count = shared_bytes // len(item) + 1
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(f'<sst xmlns="{_SHEET_NS}" count="{count}" uniqueCount="{count}">'
                           .encode())
                block = (item * 1000).encode()
                for _ in range(count // 1000 + 1):
                    part.write(block)
                part.write(b"</sst>")
    return path


def _simple_rows() -> str:
    return ('<row r="1">' + _cell("A1", "id") + _cell("B1", "answer") + "</row>"
            '<row r="2">' + _cell("A2", "1") + _cell("B2", "Buses are late") + "</row>")


def xlsx_declares_whole_sheet(t: Path) -> list[str]:
    rows = _simple_rows() + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return [str(_xlsx(t / "huge-dimension.xlsx", rows, "A1:XFD1048576"))]


def xlsx_declares_tall_sheet(t: Path) -> list[str]:
    return [str(_xlsx(t / "tall.xlsx", _simple_rows(), "A1:Z1048576"))]


def xlsx_far_cell_without_dimension(t: Path) -> list[str]:
    rows = _simple_rows() + '<row r="3"><c r="XFD3"><v>1</v></c></row>'
    return [str(_xlsx(t / "far-cell.xlsx", rows))]


def xlsx_huge_shared_strings(t: Path) -> list[str]:
    return [str(_xlsx(t / "shared.xlsx", _simple_rows(), shared_bytes=70 * 1024 * 1024))]


# --- archives that lie about their sizes -------------------------------------------------------


def _lying_zip(path: Path, members: dict[str, bytes], declared: int) -> Path:
    """A ZIP whose members declare ``declared`` uncompressed bytes each (the real data is
    small): what a bomb looks like to a reader that trusts the header."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = raw.find(signature)
        while start != -1:
            raw[start + offset:start + offset + 4] = struct.pack("<I", declared)
            start = raw.find(signature, start + 4)
    path.write_bytes(bytes(raw))
    return path


def zip_member_declares_2_gib(t: Path) -> list[str]:
    return [str(_lying_zip(t / "letters.zip", {"R1_letter.txt": b"Hello " * 100},
                           2 * 1024**3 - 1))]


def zip_members_total_over_limit(t: Path) -> list[str]:
    members = {f"R{n}_letter.txt": b"Hello " * 100 for n in range(6)}
    return [str(_lying_zip(t / "many.zip", members, 250 * 1024**2))]


def zip_real_bomb_member(t: Path) -> list[str]:
    """A 300 MB member of zeros (really there, about 300 KB compressed)."""
    path = t / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("R1_letter.txt", b"A real letter about buses and trains.")
        with archive.open("R2_zeros.txt", "w", force_zip64=True) as member:
            block = b"\x00" * (1 << 20)
            for _ in range(300):
                member.write(block)
    return [str(path)]


def zip_nested_too_deep(t: Path) -> list[str]:
    data = b"Deep letter about parking."
    name = "R1_letter.txt"
    for depth in range(6):
        buffer = t / f"nest{depth}.zip"
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, data)
        data, name = buffer.read_bytes(), f"level{depth}.zip"
    return [str(_write(t / "nested" / "outer.zip", data))]


# --- documents ------------------------------------------------------------------------------

_ODT_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>{doctype}<office:document-content '
             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
             "<office:text>")
_ODT_TAIL = "</office:text></office:body></office:document-content>"


def _odt(path: Path, body: str, doctype: str = "") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", _ODT_HEAD.format(doctype=doctype) + body + _ODT_TAIL)
    return path


def odt_space_run(t: Path) -> list[str]:
    body = '<text:p>Hello<text:s text:c="400000000"/>world, the buses are late.</text:p>'
    (t / "spaces").mkdir()
    _odt(t / "spaces" / "R1_letter.odt", body)
    return [str(t / "spaces")]


def odt_billion_laughs(t: Path) -> list[str]:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10))
    doctype = f"<!DOCTYPE office:document-content [{entities}]>"
    folder = t / "laughs"
    folder.mkdir()
    _odt(folder / "R1_letter.odt", "<text:p>&a9;</text:p>", doctype)
    return [str(folder)]


def odt_huge_content(t: Path) -> list[str]:
    folder = t / "bigodt"
    folder.mkdir()
    path = folder / "R1_letter.odt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("content.xml", "w", force_zip64=True) as member:
            member.write(_ODT_HEAD.format(doctype="").encode())
            block = ("<text:p>" + "buses " * 1000 + "</text:p>").encode()
            for _ in range(70 * 1024 * 1024 // len(block) + 1):
                member.write(block)
            member.write(_ODT_TAIL.encode())
    return [str(folder)]


def docx_lying_document(t: Path) -> list[str]:
    folder = t / "docx"
    folder.mkdir()
    _lying_zip(folder / "R1_letter.docx", {"[Content_Types].xml": b"<Types/>",
                                            "word/document.xml": b"<w:document/>"},
               200 * 1024**2)
    return [str(folder)]


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def png_huge_dimensions(t: Path) -> list[str]:
    _write(t / "scans" / "R1_scan.png", _png_header(60_000, 60_000))
    return [str(t / "scans")]


def pdf_giant_page(t: Path) -> list[str]:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(14_400, 14_400)
    folder = t / "giant"
    folder.mkdir()
    with open(folder / "R1_scan.pdf", "wb") as handle:
        writer.write(handle)
    return [str(folder)]


def pdf_too_many_pages(t: Path) -> list[str]:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(2_001):
        writer.add_blank_page(72, 72)
    folder = t / "pages"
    folder.mkdir()
    with open(folder / "R1_long.pdf", "wb") as handle:
        writer.write(handle)
    return [str(folder)]


def eml_nested_messages(t: Path) -> list[str]:
    message = b"From: a@example.org\r\nSubject: inner\r\n\r\nThe buses are late.\r\n"
    for depth in range(6):
        message = (b"From: a@example.org\r\nSubject: level %d\r\nMIME-Version: 1.0\r\n"
                   b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n'
                   b"Content-Type: text/plain\r\n\r\nSee attached.\r\n--b%d\r\n"
                   b"Content-Type: message/rfc822\r\n\r\n" % (depth, depth, depth, depth)
                   + message + b"\r\n--b%d--\r\n" % depth)
    _write(t / "mail" / "R1_mail.eml", message)
    return [str(t / "mail")]


def txt_over_size(t: Path) -> list[str]:
    _write(t / "bigtxt" / "R1_letter.txt", b"buses are late " * (4 * 1024 * 1024))
    return [str(t / "bigtxt")]


def symlink_to_system_file(t: Path) -> list[str]:
    folder = t / "linked"
    folder.mkdir()
    _write(folder / "R1_letter.txt", "The bus lane is a good idea.")
    (folder / "R2_letter.txt").symlink_to("/etc/passwd")
    (folder / "etc").symlink_to("/etc", target_is_directory=True)
    return [str(folder)]


def symlink_in_evaluation_folder(t: Path) -> list[str]:
    folder = t / "evallink"
    folder.mkdir()
    _write(t / "elsewhere.csv", "response_id,question_id,text\n1,q1,because\n")
    (folder / "responses.csv").symlink_to(t / "elsewhere.csv")
    return [str(folder)]


# --- tables -----------------------------------------------------------------------------------


def csv_million_columns(t: Path) -> list[str]:
    header = ",".join(f"c{n}" for n in range(1_000_000))
    return [str(_write(t / "wide.csv", header + "\n" + ",".join("1" * 1_000_000) + "\n"))]


def csv_cell_over_field_limit(t: Path) -> list[str]:
    return [str(_write(t / "bigcell.csv", "id,answer\n1,\"" + "x" * (65 * 1024 * 1024)
                       + "\"\n"))]


def csv_row_of_delimiters(t: Path) -> list[str]:
    return [str(_write(t / "commas.csv", "id,answer\n1," + "," * 1_000_000 + "x\n"))]


def parquet_wide(t: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({f"c{n}": [1] for n in range(6_000)})
    pq.write_table(table, t / "wide.parquet")
    return [str(t / "wide.parquet")]


def jsonl_deep_nesting(t: Path) -> list[str]:
    line = '{"id": 1, "answer": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    return [str(_write(t / "deep.jsonl", '{"id": 0, "answer": "fine"}\n' + line))]


def jsonl_nesting_under_the_parser_limit(t: Path) -> list[str]:
    line = '{"id": 1, "answer": ' + "[" * 900 + '"x"' + "]" * 900 + "}\n"
    return [str(_write(t / "deep900.jsonl", '{"id": 0, "answer": "fine"}\n' + line))]


def jsonl_huge_number(t: Path) -> list[str]:
    line = '{"id": 1, "answer": ' + "9" * 5000 + "}\n"
    return [str(_write(t / "number.jsonl", '{"id": 0, "answer": "fine"}\n' + line))]


def jsonl_too_many_keys(t: Path) -> list[str]:
    record = {"id": 1, **{f"k{n}": "x" for n in range(6_000)}}
    return [str(_write(t / "keys.jsonl", json.dumps(record) + "\n"))]


def csv_with_nul(t: Path) -> list[str]:
    return [str(_write(t / "nul.csv", b"id,answer\n1,hel\x00lo there\n2,fine\n"))]


def csv_zero_width_twin_headers(t: Path) -> list[str]:
    return [str(_write(t / "twins.csv", "id,q1,q1\u200b\n1,a,b\n"))]


def csv_invisible_header_only(t: Path) -> list[str]:
    return [str(_write(t / "invisible.csv", "id,\u200b\u2060,answer\n1,a,b\n"))]


def csv_bidi_header(t: Path) -> list[str]:
    text = "id,\u202eWhy?\u202c\n1,Because the buses are late\n2,It costs too much\n"
    return [str(_write(t / "bidi.csv", text))]


def csv_escape_sequences(t: Path) -> list[str]:
    evil = "\x1b]0;owned\x07\x1b]52;c;ZWNobw==\x07\x1b[2J\x1b]8;;http://x\x1b\\\\link"
    return [str(_write(t / "escapes.csv", f'id,answer\n1,"{evil}"\n2,fine\n')), "--dry-run"]


def csv_over_rows_limit(t: Path) -> list[str]:
    rows = "\n".join(f"{n},answer {n}" for n in range(1_500))
    return [str(_write(t / "rows.csv", "id,answer\n" + rows + "\n"))]


def csv_over_cells_limit(t: Path) -> list[str]:
    rows = "\n".join(f"{n},answer {n},x,y" for n in range(1_500))
    return [str(_write(t / "cells.csv", "id,answer,a,b\n" + rows + "\n"))]


def csv_formula_cells(t: Path) -> list[str]:
    return [str(_write(t / "formula.csv", 'id,answer\n1,"\x01=cmd|\' /C calc\'!A0"\n'
                       '2,"\ufeff=HYPERLINK(""http://x"")"\n'))]


def polis_folder(t: Path) -> list[str]:
    folder = t / "polis-export"
    _write(folder / "comments.csv",
           "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
           "1,d,0,10,3,1,1,More buses at night please\n"
           "2,d,1,11,2,0,1,Fewer cars in the centre\n")
    _write(folder / "participants-votes.csv",
           "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1\n10,0,1,2,1,1,1,-1\n")
    _write(folder / "votes.csv", "timestamp,datetime,comment-id,voter-id,vote\n1,d,0,10,1\n")
    _write(folder / "summary.csv", "topic,Transport in town\n")
    return [str(folder)]


def polis_participants_votes(t: Path) -> list[str]:
    header = "participant,group-id,n-comments,n-votes,n-agree,n-disagree," + ",".join(
        str(n) for n in range(895))
    return [str(_write(t / "participants-votes.csv", header + "\n10,0,1,2,1,1"
                       + ",1" * 895 + "\n"))]


def polis_votes(t: Path) -> list[str]:
    return [str(_write(t / "votes.csv", "timestamp,datetime,comment-id,voter-id,vote\n"
                       "1,d,0,10,1\n2,d,0,11,-1\n"))]


def xlsx_lying_sheet(t: Path) -> list[str]:
    path = t / "lying-sheet.xlsx"
    _xlsx(path, _simple_rows())
    raw = path.read_bytes()
    # declare the sheet part as 300 MB (the real one is tiny)
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    _lying_zip(path, members, 300 * 1024**2)
    assert raw != path.read_bytes()
    return [str(path)]


# name -> (build the inputs and return CLI args, words the output must contain,
#          "refused" or "imported", extra environment)
HOSTILE: dict[str, tuple[Build, list[str], str, dict[str, str]]] = {
    "xlsx declaring A1:XFD1048576": (xlsx_declares_whole_sheet,
                                     ["huge-dimension.xlsx", "5,000 columns", "16,384",
                                      "HEARD_MAX_COLUMNS"], "refused", {}),
    "xlsx declaring A1:Z1048576 (read sparsely)": (xlsx_declares_tall_sheet, ["Imported 1"],
                                                   "imported", {}),
    "xlsx far cell without a dimension": (xlsx_far_cell_without_dimension,
                                          ["far-cell.xlsx", "row 3", "16,384"], "refused", {}),
    "xlsx with 70 MB of shared strings": (xlsx_huge_shared_strings,
                                          ["sharedStrings.xml", "HEARD_MAX_XML_BYTES"],
                                          "refused", {}),
    "xlsx whose sheet declares 300 MB": (xlsx_lying_sheet,
                                         ["lying-sheet.xlsx", "HEARD_MAX_MEMBER_BYTES"],
                                         "refused", {}),
    "zip with a 2 GiB member": (zip_member_declares_2_gib,
                                ["letters.zip", "2,147,483,647", "HEARD_MAX_ARCHIVE_BYTES"],
                                "refused", {}),
    "zip members over the total": (zip_members_total_over_limit,
                                   ["many.zip", "HEARD_MAX_ARCHIVE_BYTES"], "refused", {}),
    "zip with a real 300 MB member": (zip_real_bomb_member,
                                      ["bomb.zip/R2_zeros.txt", "Unprocessable", "larger than"],
                                      "imported", {}),
    "zip nested six deep": (zip_nested_too_deep, ["Imported 1"], "imported", {}),
    "odt with text:c=400000000": (odt_space_run, ["Imported 1"], "imported", {}),
    "odt billion laughs": (odt_billion_laughs, ["R1_letter.odt", "Unprocessable"], "imported",
                           {}),
    "odt with 70 MB of content.xml": (odt_huge_content,
                                      ["R1_letter.odt", "Unprocessable", "HEARD_MAX_XML_BYTES"],
                                      "imported", {}),
    "docx declaring 200 MB": (docx_lying_document,
                              ["R1_letter.docx", "Unprocessable", "HEARD_MAX_XML_BYTES"],
                              "imported", {}),
    "png declaring 60000 x 60000": (png_huge_dimensions,
                                    ["R1_scan.png", "Unprocessable",
                                     "HEARD_MAX_RENDER_PIXELS"], "imported", {}),
    "pdf with a 14,400 pt blank page": (pdf_giant_page, ["R1_scan.pdf", "Unprocessable"],
                                        "imported", {}),
    "pdf with 2,001 pages": (pdf_too_many_pages,
                             ["R1_long.pdf", "Unprocessable", "2,000 pages", "HEARD_MAX_PAGES"],
                             "imported", {}),
    "e-mail nested six deep": (eml_nested_messages, ["R1_mail.eml", "nested too deep"],
                               "imported", {}),
    "text document over the size limit": (txt_over_size,
                                          ["R1_letter.txt", "larger than the limit"],
                                          "imported", {}),
    "folder with symbolic links": (symlink_to_system_file,
                                   ["R2_letter.txt", "symbolic link, not followed", "Imported 1"],
                                   "imported", {}),
    "evaluation folder with a linked file": (symlink_in_evaluation_folder,
                                             ["responses.csv", "symbolic link"], "refused", {}),
    "csv with 1,000,000 columns": (csv_million_columns,
                                   ["wide.csv", "row 1", "1,000,000", "HEARD_MAX_COLUMNS"],
                                   "refused", {}),
    "csv cell over 64 MiB": (csv_cell_over_field_limit, ["bigcell.csv", "row 2", "field larger"],
                             "refused", {}),
    "csv row of a million delimiters": (csv_row_of_delimiters,
                                        ["commas.csv", "row 2", "1000002 cells"], "refused",
                                        {}),
    "parquet with 6,000 columns": (parquet_wide, ["wide.parquet", "6,000", "HEARD_MAX_COLUMNS"],
                                   "refused", {}),
    "jsonl with 100,000 nested arrays": (jsonl_deep_nesting,
                                         ["deep.jsonl", "row 2", "too deeply"], "refused", {}),
    "jsonl nested 900 deep": (jsonl_nesting_under_the_parser_limit,
                              ["deep900.jsonl", "row 2", "too deeply"], "refused", {}),
    "jsonl with a 5,000-digit number": (jsonl_huge_number,
                                        ["number.jsonl", "row 2", "as strings"], "refused", {}),
    "jsonl with 6,000 keys": (jsonl_too_many_keys, ["keys.jsonl", "row 1", "HEARD_MAX_COLUMNS"],
                              "refused", {}),
    "csv with a NUL byte": (csv_with_nul, ["Imported 2", "nul.csv row 2", "'answer'"],
                            "imported", {}),
    "headers differing by a zero-width space": (csv_zero_width_twin_headers,
                                                ["twins.csv", "row 1", "'q1'", "U+200B"],
                                                "refused", {}),
    "header of invisible characters only": (csv_invisible_header_only,
                                            ["invisible.csv", "column 2 has no name"], "refused",
                                            {}),
    "header with bidi controls": (csv_bidi_header, ["Imported 2"], "imported", {}),
    "escape sequences in a dry run": (csv_escape_sequences, ["␛]0;owned␇", "Dry run"],
                                      "imported", {}),
    "rows over HEARD_MAX_ROWS": (csv_over_rows_limit,
                                 ["rows.csv", "row 1002", "1,000 rows", "HEARD_MAX_ROWS"],
                                 "refused", {"HEARD_MAX_ROWS": "1000"}),
    "cells over HEARD_MAX_CELLS": (csv_over_cells_limit,
                                   ["cells.csv", "4,000 cells", "HEARD_MAX_CELLS"], "refused",
                                   {"HEARD_MAX_CELLS": "4000"}),
    "formula cells behind control characters": (csv_formula_cells,
                                                ["Imported 2", "Suspicious cells"],
                                                "imported", {}),
    "polis export folder": (polis_folder, ["Imported 2"], "imported", {}),
    "polis participants-votes.csv": (polis_participants_votes,
                                     ["participants-votes.csv", "Polis", "comments.csv"],
                                     "refused", {}),
    "polis votes.csv": (polis_votes, ["votes.csv", "Polis", "comments.csv"], "refused", {}),
}


def test_the_corpus_has_at_least_sixty_files():
    assert len(HOSTILE) + len(BAD_INPUT_CASES) >= 60


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, dict]:
    """Build every input, then run them all in children of one prepared process."""
    root = tmp_path_factory.mktemp("hostile")
    cases = []
    for number, (name, (build, _, outcome, env)) in enumerate(HOSTILE.items()):
        folder = root / f"h{number}"
        folder.mkdir()
        name_of_consultation = f"h{number}" if outcome == "imported" else "bad"
        cases.append({"name": name, "env": env,
                      "args": [*build(folder), "--consultation", name_of_consultation]})
    for number, (name, (build, _)) in enumerate(BAD_INPUT_CASES.items()):
        folder = root / f"b{number}"
        folder.mkdir()
        cases.append({"name": name, "env": {}, "args": [*build(folder), "--consultation", "bad"]})
    _write(root / "seed.csv", GOOD_CSV)
    _write(root / "cases.json", json.dumps(cases))
    env = {**os.environ, "HEARD_HOME": str(root / "home")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    runner = Path(__file__).with_name("_hostile_runner.py")
    done = subprocess.run([sys.executable, str(runner), str(root / "cases.json"),
                           str(root / "results.json")], env=env, capture_output=True, text=True,
                          timeout=1800, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((root / "results.json").read_text(encoding="utf-8"))


def _check(result: dict, words: list[str], outcome: str) -> None:
    assert result.get("signal") == 0, f"killed by signal {result.get('signal')} (30 s limit?)"
    assert result["exception"] is None, result["exception"]
    assert result["peak_rss_mb"] < PEAK_MB, f"peak memory {result['peak_rss_mb']} MB"
    output = " ".join(result["output"].split())
    assert "Traceback" not in output
    assert "\x1b" not in result["output"]
    for word in words:
        assert word in output, f"{word!r} not in {output[:2000]!r}"
    if outcome == "refused":
        assert result["code"] != 0, output
        assert not result["store_changed"]
    else:
        assert result["code"] == 0, output


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file(name, outcomes):
    _, words, outcome, _ = HOSTILE[name]
    _check(outcomes[name], words, outcome)


@pytest.mark.parametrize("name", list(BAD_INPUT_CASES))
def test_bad_input_within_limits(name, outcomes):
    _check(outcomes[name], BAD_INPUT_CASES[name][1], "refused")


def test_pages_are_rendered_within_the_pixel_limit(monkeypatch):
    from heard.io.documents.extract import RENDER_DPI, Unprocessable, render_scale
    from heard.io.limits import limit

    assert render_scale(595, 842) == RENDER_DPI / 72  # A4 at 300 dpi
    scale = render_scale(2384, 3370)  # A0: 300 dpi would be 139 million pixels
    assert scale < RENDER_DPI / 72
    assert 2384 * 3370 * scale * scale <= limit("render_pixels") * 1.0001
    with pytest.raises(Unprocessable, match="HEARD_MAX_RENDER_PIXELS"):
        render_scale(14_400, 14_400)  # 60,000 × 60,000 px at 300 dpi
    monkeypatch.setenv("HEARD_MAX_RENDER_PIXELS", str(1_000_000_000))
    assert render_scale(14_400, 14_400) < RENDER_DPI / 72


def test_limits_come_from_the_environment(monkeypatch):
    from heard.io.limits import LIMITS, limit

    for spec in LIMITS.values():
        monkeypatch.setenv(spec.env, "12_345")
        assert limit(spec.key) == 12_345
        monkeypatch.setenv(spec.env, "nonsense")
        assert limit(spec.key) == spec.default


def test_cleaned_headers_still_find_their_data(tmp_path):
    """Headers lose invisible characters; the cells under them are still read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from heard.io.readers import read_tables

    pq.write_table(pa.table({"id": [1], "q1\u200b": ["hello"]}), tmp_path / "a.parquet")
    _write(tmp_path / "a.jsonl", '{"id": 1, "q1\\u200b": "hello"}\n')
    _write(tmp_path / "a.csv", "id,q1\u200b\n1,hello\n")
    for name in ("a.parquet", "a.jsonl", "a.csv"):
        table = read_tables(tmp_path / name)[0]
        assert table.columns == ["id", "q1"]
        assert [cells for _, cells in table.rows()] == [["1", "hello"]]
