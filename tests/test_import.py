"""`heard import` and `heard status` on fixtures, generated files and the shared data sets."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from heard.cli.importing import import_cmd, status_cmd
from tests.conftest import shared_dataset

FIXTURES = Path(__file__).parent / "fixtures"


def run_import(*args: str) -> str:
    result = CliRunner().invoke(import_cmd, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def status(name: str) -> dict:
    result = CliRunner().invoke(status_cmd, [name, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def by_id(data: dict) -> dict[str, dict]:
    return {q["id"]: q for q in data["questions"]}


# --- encodings, delimiters, formats --------------------------------------------------------

ROWS = [
    ("r1", "Le café est fermé trop tôt", "Nord"),
    ("r2", "Prices are too high", "Sud"),
    ("r3", "", "Nord"),
]


def _csv_text(delimiter: str = ",", newline: str = "\n") -> str:
    lines = [delimiter.join(["id", "Pourquoi ? (why)", "Region"])]
    lines += [delimiter.join(row) for row in ROWS]
    return newline.join(lines) + newline


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("utf-16-le", ","), ("cp1252", "|")],
)
def test_csv_encodings_and_delimiters(tmp_path, encoding, delimiter):
    path = tmp_path / "answers.csv"
    path.write_bytes(_csv_text(delimiter).encode(encoding))
    run_import(str(path), "-c", "enc")
    data = status("enc")
    question = by_id(data)["Pourquoi ? (why)"]
    assert (data["respondents"], question["responses"], question["empty"]) == (3, 3, 1)
    from heard.store.models import Respondent, Response

    assert Response.objects.get(respondent__key="r1").text == "Le café est fermé trop tôt"
    assert Respondent.objects.get(key="r1").attributes == {"Region": "Nord"}


@pytest.mark.django_db
def test_mixed_line_endings_import_fine(tmp_path):
    path = tmp_path / "endings.csv"
    path.write_bytes(b'id,answer text here\r\n1,"first\r\nline two"\n2,second answer\r3,third\n')
    run_import(str(path), "-c", "endings")
    from heard.store.models import Response

    texts = list(Response.objects.order_by("respondent__key").values_list("text", flat=True))
    assert texts == ["first\nline two", "second answer", "third"]


def _write_formats(tmp_path: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import Workbook

    records = [{"id": f"x{i}", "comment": f"Answer number {i} about the plan"} for i in range(4)]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    parquet = tmp_path / "b.parquet"
    pq.write_table(
        pa.Table.from_pylist([{**r, "id": f"p{i}"} for i, r in enumerate(records)]), parquet
    )
    xlsx = tmp_path / "c.xlsx"
    workbook = Workbook()
    first = workbook.active
    first.title = "Wave 1"
    first.append(["id", "comment"])
    for i in range(3):
        first.append([f"w1-{i}", f"Sheet one answer {i}"])
    second = workbook.create_sheet("Wave 2")
    second.append(["id", "comment"])
    second.append(["w2-0", '=HYPERLINK("http://example.org","click")'])
    workbook.create_sheet("Notes")  # empty sheet: ignored
    workbook.save(xlsx)
    return [jsonl, parquet, xlsx]


@pytest.mark.django_db
def test_jsonl_parquet_and_xlsx_sheets(tmp_path):
    paths = _write_formats(tmp_path)
    output = run_import(*map(str, paths), "-c", "formats")
    data = status("formats")
    assert data["respondents"] == 4 + 4 + 3 + 1
    assert by_id(data)["comment"]["responses"] == 12
    from heard.store.models import ImportBatch, Response

    formula = Response.objects.get(respondent__key="w2-0")
    assert formula.text.startswith("=HYPERLINK(")  # kept as text, never evaluated
    assert formula.source == {"file": "c.xlsx[Wave 2]", "row": 2, "column": "comment"}
    report = ImportBatch.objects.get().report
    assert report["suspicious"]["counts"] == {"formula": 1}
    assert "formula" in output.lower()


# --- validation report, pairing, mapping -----------------------------------------------------


@pytest.mark.django_db
def test_validation_report_flags_cells_and_duplicates(tmp_path):
    path = tmp_path / "odd.csv"
    rows = [
        ["id", "answer"],
        ["1", "=1+2"],
        ["2", "@SUM(A1)"],
        ["3", "ok\x07bell"],
        ["4", "cafÃ© mojibake"],
        ["1", "a second row for id 1"],
        ["5", "x" * 10_000_000],  # a 10 MB cell: kept, flagged as huge
        ["6", "- a bullet point, not a formula"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    output = run_import(str(path), "-c", "odd")
    from heard.store.models import ImportBatch, Respondent, Response

    report = ImportBatch.objects.get().report
    assert report["suspicious"]["counts"] == {
        "formula": 2,
        "control characters": 1,
        "mojibake": 1,
        "huge": 1,
    }
    assert report["duplicate_ids"]["count"] == 1
    assert report["duplicate_ids"]["examples"][0]["id"] == "1"
    assert Respondent.objects.count() == 6
    assert Response.objects.count() == 7
    assert len(Response.objects.get(respondent__key="5").text) == 10_000_000
    assert "Duplicate ids" in output and "huge" in output


@pytest.mark.django_db
def test_qualtrics_export(tmp_path):
    run_import(str(FIXTURES / "qualtrics_export.csv"), "-c", "qualtrics")
    data = status("qualtrics")
    questions = by_id(data)
    assert set(questions) == {"Q1", "Q2_TEXT"}
    assert questions["Q1"]["type"] == "closed"
    assert questions["Q2_TEXT"]["text"] == "Please explain why you gave that answer."
    assert questions["Q2_TEXT"]["paired_closed"] == "Q1"
    assert (questions["Q2_TEXT"]["responses"], questions["Q2_TEXT"]["empty"]) == (6, 1)
    assert {d["id"] for d in data["demographics"]} == {"Q3", "Q4"}
    from heard.store.models import Question, Respondent, Response

    assert Respondent.objects.filter(key="R_1aaaaaaaaaaaaa1").exists()
    assert Question.objects.get(key="Q1").options == [
        "Agree",
        "Disagree",
        "Neither agree nor disagree",
    ]
    assert Response.objects.filter(question__key="Q1", options=["Agree"]).count() == 3
    attributes = Respondent.objects.get(key="R_1aaaaaaaaaaaaa2").attributes
    assert attributes == {"Q3": "55-64", "Q4": "South ward"}  # no IP address, no dates


@pytest.mark.django_db
def test_citizen_space_export_detected_and_with_mapping(tmp_path):
    output = run_import(str(FIXTURES / "citizen_space_export.csv"), "-c", "library", "--dry-run")
    assert "citizen space" in output and "Dry run" in output
    run_import(
        str(FIXTURES / "citizen_space_export.csv"),
        "-c",
        "library",
        "--mapping",
        str(FIXTURES / "mapping_citizen_space.toml"),
    )
    data = status("library")
    questions = by_id(data)
    reasons = questions["Please give reasons for your answer"]
    assert reasons["paired_closed"] == "Do you agree that opening hours should be extended?"
    assert (reasons["responses"], reasons["empty"]) == (6, 1)
    assert data["respondent_kinds"] == {"individual": 4, "organisation": 2}
    from heard.store.models import Respondent

    organisation = Respondent.objects.get(key="ANON-1A2B-3C4D-5G")
    assert organisation.organisation == "Friends of Westside Library"
    assert "What is your email address?" not in organisation.attributes


@pytest.mark.django_db
def test_mapping_overrides_detection_and_long_form(tmp_path):
    data = tmp_path / "long.csv"
    data.write_text(
        "person,qid,words,age\np1,q1,Too expensive,18-24\np1,q2,Yes,18-24\np2,q1,,65+\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "long.toml"
    mapping.write_text(
        'shape = "long"\n[long]\nrespondent = "person"\nquestion = "qid"\n'
        'text = "words"\n[columns]\nage = "demographic"\n',
        encoding="utf-8",
    )
    run_import(str(data), "-c", "long", "--mapping", str(mapping))
    result = status("long")
    assert result["respondents"] == 2
    assert {q["id"]: (q["responses"], q["empty"]) for q in result["questions"]} == {
        "q1": (2, 1),
        "q2": (1, 0),
    }
    from heard.store.models import Respondent

    assert Respondent.objects.get(key="p2").attributes == {"age": "65+"}


@pytest.mark.django_db
def test_dry_run_changes_nothing(tmp_path):
    output = run_import(str(FIXTURES / "qualtrics_export.csv"), "-c", "dry", "--dry-run")
    assert "qualtrics export" in output and "Dry run: nothing was stored" in output
    assert "metadata" in output
    from heard.store.models import Consultation, Response

    assert Consultation.objects.count() == 0 and Response.objects.count() == 0


@pytest.mark.django_db
def test_stored_fields(tmp_path):
    path = tmp_path / "fields.csv"
    text = 'id,answer text\n7,"  Caf\u0065\u0301 \r\nclosed  "\n8,   \n'
    path.write_text(text, encoding="utf-8")
    run_import(str(path), "-c", "fields")
    from heard.analysis.text import content_hash
    from heard.store.models import Response

    first, blank = Response.objects.order_by("respondent__key")
    assert first.text == "Café \nclosed"  # NFC, unified line ends, trimmed
    assert first.content_hash == content_hash(first.text)
    assert first.language == "" and not first.is_empty
    assert first.source == {"file": "fields.csv", "row": 2, "column": "answer text"}
    assert blank.is_empty and blank.text == ""


# --- the shared data sets --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "responses", "questions"), [("gambling_xs", 200, 2), ("gambling_1000", 1000, 1)]
)
def test_evaluation_layout(name, responses, questions):
    folder = shared_dataset(name)
    run_import(str(folder), "-c", name.replace("_", "-"))
    data = status(name.replace("_", "-"))
    assert data["responses"] == responses and len(data["questions"]) == questions
    assert data["rows_read"] == responses == data["responses_stored"]
    with (folder / "responses.csv").open(encoding="utf-8", newline="") as handle:
        ids = {row["response_id"] for row in csv.DictReader(handle)}
    assert data["respondents"] == len(ids)
    if name == "gambling_xs":
        assert data["respondents"] == 100  # q1 and q2 answers share a respondent
        assert {d["id"] for d in data["demographics"]} == {
            "Do you consider yourself to have a health condition or a disability?",
            "Do you live in:",
        }


@pytest.mark.django_db
def test_polis_comments():
    path = shared_dataset("polis/march-on.operation-marchin-orders") / "comments.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    run_import(str(path), "-c", "marchon")
    data = status("marchon")
    assert data["responses"] == len(rows)
    assert data["respondents"] == len({row["author-id"] for row in rows})
    assert [q["id"] for q in data["questions"]] == ["comments"]
    from heard.store.models import Response

    sample = rows[1]
    stored = Response.objects.get(key=sample["comment-id"])
    assert stored.respondent.key == sample["author-id"]
    assert stored.source["moderated"] == int(sample["moderated"])
    assert stored.source["agrees"] == int(sample["agrees"])


@pytest.mark.django_db
def test_regulations_gov_export():
    path = shared_dataset("cms_rfi") / "CMS-2025-0050-0031.csv"
    output = run_import(str(path), "-c", "cms")
    data = status("cms")
    # 983 rows: the agency's notice is skipped and reported; the 982 comments are stored.
    assert (data["rows_read"], data["rows_skipped"], data["responses"]) == (983, 1, 982)
    assert data["respondents"] == 982
    assert "Notice" in " ".join(output.split())
    assert "attachment" in output
    from heard.store.models import ImportBatch, Respondent

    report = ImportBatch.objects.get().report
    assert report["skipped"][0]["row"] == 2
    organisation = Respondent.objects.get(key="CMS-2025-0050-0003")
    assert organisation.kind == "organisation"
    assert organisation.attributes["Category"] == "Private Industry - Health Care"
    assert Respondent.objects.get(key="CMS-2025-0050-0002").kind == "individual"
    assert sum(data["respondent_kinds"].values()) == 982


# --- the installed command -------------------------------------------------------------------


def test_installed_command_uses_heard_home(tmp_path, heard_home):
    heard = Path(sys.executable).with_name("heard")
    env = {**os.environ, "HEARD_HOME": str(heard_home)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    path = FIXTURES / "citizen_space_export.csv"
    first = subprocess.run(
        [str(heard), "import", str(path), "-c", "sub"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr + first.stdout
    assert (heard_home / "heard.sqlite3").exists()
    again = subprocess.run(
        [str(heard), "import", str(path), "-c", "sub"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 1 and "already imported" in again.stderr
    assert "Traceback" not in again.stderr
    shown = subprocess.run(
        [str(heard), "status", "sub", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(shown.stdout)
    assert data["respondents"] == 6 and data["rows_read"] == 6


@pytest.mark.django_db(transaction=True)
def test_evaluation_layout_detects_closed_questions_kinds_and_pairs(tmp_path):
    from heard.cli import main
    from heard.store.models import Question, Respondent

    data = tmp_path / "sample"
    runner = CliRunner()
    assert runner.invoke(main, ["sample-data", str(data), "--responses", "120"]).exit_code == 0
    result = runner.invoke(main, ["import", str(data), "--consultation", "ltn"])
    assert result.exit_code == 0, result.output
    kinds = dict(Question.objects.values_list("key", "kind"))
    assert kinds["q1"] == "closed"
    assert kinds["q2"] == "open"
    q1 = Question.objects.get(key="q1")
    assert "Strongly agree" in q1.options
    assert Question.objects.get(key="q2").paired_closed_id == q1.id
    assert all(r.options == [r.text.strip()] for r in q1.responses.exclude(text=""))
    by_kind = dict(
        (k, Respondent.objects.filter(kind=k).count())
        for k in ("individual", "organisation", "unknown")
    )
    assert by_kind["individual"] > by_kind["organisation"] > 0
    assert not Respondent.objects.filter(organisation="Individual").exists()
