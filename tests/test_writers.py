import csv
import json

import pytest
from openpyxl import load_workbook

from heard.io.writers import neutralise_cell, write_csv, write_json, write_xlsx

COLUMNS = ["id", "text", "themes"]
ROWS = [
    {"id": "1", "text": '=HYPERLINK("http://x","click")', "themes": ["A", "B"]},
    {"id": "2", "text": "+44 20 7946 0000", "themes": []},
    {"id": "3", "text": "-1 is a number", "themes": None},
    {"id": "4", "text": "@mention", "themes": ["C"]},
    {"id": "5", "text": "Plain answer, with a comma\nand a new line", "themes": ["A"]},
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("ok", "ok"),
        (3, 3),
        (None, None),
    ],
)
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


def test_csv_is_excel_safe_and_round_trips(tmp_path):
    path = tmp_path / "out.csv"
    assert write_csv(path, COLUMNS, ROWS) == len(ROWS)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["text"].startswith("'=HYPERLINK")
    assert rows[1]["text"] == "'+44 20 7946 0000"
    assert rows[0]["themes"] == "A; B"
    assert rows[4]["text"] == "Plain answer, with a comma\nand a new line"


def test_xlsx_has_no_formulas(tmp_path):
    path = tmp_path / "out.xlsx"
    assert write_xlsx(path, COLUMNS, ROWS + [{"id": "6", "text": "bad\x01char"}]) == 6
    sheet = load_workbook(path).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == COLUMNS
    assert values[1][1].startswith("'=")
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert values[6][1] == "badchar"


def test_json_lines(tmp_path):
    path = tmp_path / "out.jsonl"
    assert write_json(path, COLUMNS, ROWS) == 5
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["themes"] == ["A", "B"]
    assert lines[0]["text"] == ROWS[0]["text"]


def test_every_export_format_writes_its_rows(tmp_path):
    from heard.io.writers import EXPORT_FORMATS

    assert set(EXPORT_FORMATS) == {"csv", "xlsx", "json"}
    for name, fmt in EXPORT_FORMATS.items():
        assert fmt.name == name and fmt.content_type and fmt.label
        path = tmp_path / fmt.file_name("out")
        assert path.suffix == f".{fmt.extension}"
        assert fmt.write(path, COLUMNS, ROWS) == len(ROWS) and path.stat().st_size > 0


def test_heard_export_offers_the_registered_formats():
    from heard.cli.analysis import export_cmd
    from heard.io.writers import EXPORT_FORMATS

    option = next(p for p in export_cmd.params if p.name == "fmt")
    assert list(option.type.choices) == list(EXPORT_FORMATS)


def test_write_export_redacts_free_text_on_request(tmp_path):
    from heard.io.writers import EXPORT_FORMATS, write_export

    columns = ["id", "text", "evidence_reason", "respondent_id"]
    rows = [{"id": "1", "text": "Mail me at jo.bloggs@example.org or call 07700 900123.",
             "evidence_reason": "cites jo.bloggs@example.org", "respondent_id": "SW1A 1AA"}]
    fmt = EXPORT_FORMATS["json"]
    write_export(fmt, tmp_path / "plain.jsonl", columns, rows)
    write_export(fmt, tmp_path / "safe.jsonl", columns, rows, redact=True)
    plain = json.loads((tmp_path / "plain.jsonl").read_text())
    safe = json.loads((tmp_path / "safe.jsonl").read_text())
    assert plain == rows[0]
    assert safe["text"] == "Mail me at [EMAIL] or call [PHONE]."
    assert safe["evidence_reason"] == "cites [EMAIL]"
    assert safe["respondent_id"] == "SW1A 1AA"  # not free text: left as it is
