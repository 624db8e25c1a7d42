"""Malformed inputs: each gives a clear message (file, row, column) and leaves the store alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.apps import apps

from heard.cli.importing import import_cmd

GOOD_CSV = (
    "id,Why do you say that?,Region\n"
    "1,Because the buses are late every day,North\n"
    "2,It costs too much,South\n"
)


def store_counts() -> dict[str, int]:
    """Rows in every model of the store."""
    return {m.__name__: m.objects.count() for m in apps.get_app_config("heard").get_models()}


@pytest.fixture
def seeded(tmp_path) -> dict[str, int]:
    """A store with one consultation already in it, so 'unchanged' means something."""
    seed = tmp_path / "seed.csv"
    seed.write_text(GOOD_CSV, encoding="utf-8")
    result = CliRunner().invoke(import_cmd, [str(seed), "--consultation", "bad"])
    assert result.exit_code == 0, result.output
    return store_counts()


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def _xlsx_header_only(path: Path) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["id", "answer"])
    workbook.create_sheet("Empty")
    workbook.save(path)
    return path


def _mapping(tmp: Path, text: str) -> list[str]:
    data = _write(tmp / "answers.csv", GOOD_CSV)
    mapping = _write(tmp / "columns.toml", text)
    return [str(data), "--mapping", str(mapping)]


def _many_rows_then_ragged(tmp: Path) -> list[str]:
    lines = ["id,answer"] + [f"{i},answer number {i} with some words" for i in range(6000)]
    lines.append("6000,one,too many")
    return [str(_write(tmp / "big.csv", "\n".join(lines) + "\n"))]


# name -> (build the inputs and return CLI args, words the message must contain)
CASES: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "mixed encodings": (
        lambda t: [str(_write(t / "mixed.csv", "id,answer\n1,café au lait\n".encode()
                              + b"2,caf\xe9 noir\n"))],
        ["mixed.csv", "row 3", "mixes encodings"],
    ),
    "unclosed quote": (
        lambda t: [str(_write(t / "quote.csv", 'id,answer\n1,fine\n2,"never closed\n3,more\n'))],
        ["quote.csv", "row 3", "never closed"],
    ),
    "binary file": (
        lambda t: [str(_write(t / "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20))],
        ["image.csv", "binary"],
    ),
    "empty file": (lambda t: [str(_write(t / "empty.csv", b""))], ["empty.csv", "empty"]),
    "header only": (
        lambda t: [str(_write(t / "header.csv", "id,answer\n"))],
        ["header.csv", "no data rows"],
    ),
    "duplicate headers": (
        lambda t: [str(_write(t / "dup.csv", "id,answer,answer\n1,a,b\n"))],
        ["dup.csv", "row 1", "'answer'", "two columns"],
    ),
    "empty header cell": (
        lambda t: [str(_write(t / "blank.csv", "id,,answer\n1,a,b\n"))],
        ["blank.csv", "column 2 has no name"],
    ),
    "ragged row (too many cells)": (
        lambda t: [str(_write(t / "ragged.csv", "id,answer\n1,fine\n2,one,two\n"))],
        ["ragged.csv", "row 3", "3 cells but the header has 2"],
    ),
    "short row": (
        lambda t: [str(_write(t / "short.csv", "id,answer,region\n1,fine,North\n2,cut\n"))],
        ["short.csv", "row 3", "'region'"],
    ),
    "mapping names a missing column": (
        lambda t: _mapping(t, '[columns]\n"Why do you say tht?" = "open"\n'),
        ["columns.toml", "Why do you say tht?", "Did you mean"],
    ),
    "unknown mapping type": (
        lambda t: _mapping(t, '[columns]\n"Region" = "location"\n'),
        ["columns.toml", "'Region'", "unknown type 'location'"],
    ),
    "mapping is not TOML": (
        lambda t: _mapping(t, "[columns\nRegion = open\n"),
        ["columns.toml", "not valid TOML"],
    ),
    "unknown mapping setting": (
        lambda t: _mapping(t, 'identifier = "id"\n'),
        ["columns.toml", "identifier"],
    ),
    "pair of two open columns": (
        lambda t: _mapping(t, '[columns]\nRegion = "open"\n[pairs]\n"Why do you say that?" = '
                           '"Region"\n'),
        ["columns.toml", "a pair needs an open column and a closed one"],
    ),
    "xlsx with no data": (
        lambda t: [str(_xlsx_header_only(t / "nodata.xlsx"))],
        ["nodata.xlsx", "no sheet with a header row and data"],
    ),
    "xlsx that is not a workbook": (
        lambda t: [str(_write(t / "fake.xlsx", "id,answer\n1,a\n"))],
        ["fake.xlsx", "not a readable XLSX"],
    ),
    "jsonl line that is not JSON": (
        lambda t: [str(_write(t / "lines.jsonl", '{"id": 1, "answer": "a"}\n{"id": 2, answer}\n'))],
        ["lines.jsonl", "row 2", "not valid JSON"],
    ),
    "jsonl line that is a list": (
        lambda t: [str(_write(t / "list.jsonl", '{"id": 1, "answer": "a"}\n[2, "b"]\n'))],
        ["list.jsonl", "row 2", "not an object"],
    ),
    "corrupt parquet": (
        lambda t: [str(_write(t / "broken.parquet", b"PAR1" + b"\x00garbage" * 50))],
        ["broken.parquet", "not a readable Parquet"],
    ),
    "unknown extension": (
        lambda t: [str(_write(t / "answers.docx", "hello"))],
        ["answers.docx", "unknown file type '.docx'"],
    ),
    "path does not exist": (
        lambda t: [str(t / "nowhere.csv")],
        ["nowhere.csv", "file not found"],
    ),
    "long form missing the question column": (
        lambda t: [str(_write(t / "long.csv", "respondent_id,answer_text\nr1,hello\n")),
                   "--mapping", str(_write(t / "long.toml", 'shape = "long"\n[long]\n'
                                            'respondent = "respondent_id"\n'
                                            'question = "question_id"\ntext = "answer_text"\n'))],
        ["long.toml", "'question_id'", "long.csv does not have"],
    ),
    "long form row without respondent id": (
        lambda t: [str(_write(t / "noid.csv", "respondent_id,question_id,text\nr1,q1,a\n,q1,b\n"))],
        ["noid.csv", "row 3", "'respondent_id'", "respondent id is empty"],
    ),
    "evaluation folder without responses.csv": (
        lambda t: [str(_write((t / "evalset").mkdir() or t / "evalset" / "questions.csv",
                              "question_id,text\nq1,Why?\n").parent)],
        ["evalset", "responses.csv is missing"],
    ),
    "evaluation questions.csv without text": (
        lambda t: _eval_no_text(t),
        ["questions.csv", "no 'text' column"],
    ),
    "error after several batches": (
        _many_rows_then_ragged,
        ["big.csv", "row 6002", "3 cells but the header has 2"],
    ),
    "same file imported twice": (
        lambda t: [str(_write(t / "seed.csv", GOOD_CSV))],
        ["seed.csv", "already imported", "nothing was changed"],
    ),
}


def _eval_no_text(tmp: Path) -> list[str]:
    folder = tmp / "evalq"
    folder.mkdir(exist_ok=True)
    _write(folder / "questions.csv", "question_id,wording\nq1,Why?\n")
    _write(folder / "responses.csv", "response_id,question_id,text\n1,q1,because\n")
    return [str(folder)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_and_store_unchanged(name, tmp_path, seeded):
    build, expected = CASES[name]
    args = build(tmp_path)
    result = CliRunner().invoke(import_cmd, [*args, "--consultation", "bad"])
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    message = " ".join(result.output.split())  # rich wraps long lines
    for words in expected:
        assert words in message, f"{words!r} not in {message!r}"
    assert "Hint:" in message or name in {"same file imported twice"}
    assert store_counts() == seeded


def test_there_are_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.mark.django_db(transaction=True)
def test_json_mode_does_not_hide_errors(tmp_path, seeded):
    path = _write(tmp_path / "ragged.csv", "id,answer\n1,fine\n2,one,two\n")
    result = CliRunner().invoke(import_cmd, [str(path), "-c", "bad", "--json"])
    assert result.exit_code == 1
    assert "row 3" in " ".join(result.output.split())  # the console may wrap a long path
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.output)
    assert store_counts() == seeded
