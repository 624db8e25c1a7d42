"""Bulk loading: awkward values survive the import on either store, and on PostgreSQL the
COPY path stores exactly what the INSERT path stores (ids in the same order included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from heard.io.mapping import load_mapping
from heard.pipeline import importing
from heard.store import bulk

# Every kind of value the COPY text format has to escape, and some it must not touch.
AWKWARD = [
    "tab\there",
    "line one\nline two\n\nline four",
    "back\\slash and \\N and \\t and a trailing \\",
    "NUL \x00 inside",
    "unicode: café, Cymraeg ŵ ŷ, 中文, emoji 😀, right-to-left עברית",
    '"double" and \'single\' quotes, {"json": [1, 2]}',
    "\\.",  # the old end-of-data marker of COPY
    "",
]

only_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="COPY is the PostgreSQL bulk path; SQLite keeps the prepared INSERT",
)


def _write_inputs(tmp_path: Path, respondents: int = 13) -> tuple[Path, Path]:
    """A wide JSONL table (two open questions, one demographic) and a mapping for it."""
    rows = []
    for i in range(respondents):
        rows.append(
            {
                "id": f"r{i:03d}" + ("\tkey" if i == 4 else ""),
                "why": AWKWARD[i % len(AWKWARD)],
                "what else": f"{AWKWARD[(i + 3) % len(AWKWARD)]} #{i}",
                "area": ["North\\East", "South\tWest", "Llŷn", "中部"][i % 4],
            }
        )
    data = tmp_path / "awkward.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    mapping = tmp_path / "awkward.toml"
    mapping.write_text(
        'id = "id"\n[columns]\nwhy = "open"\n"what else" = "open"\narea = "demographic"\n',
        encoding="utf-8",
    )
    return data, mapping


def _import(data: Path, mapping: Path, name: str):
    return importing.run_import([data], name, mapping=load_mapping(mapping))


def _stored(name: str) -> dict:
    """What one consultation holds, with ids turned into positions so that two
    consultations can be compared."""
    from heard.store.models import Respondent, Response

    respondents = list(
        Respondent.objects.filter(consultation__name=name)
        .order_by("id")
        .values_list("id", "key", "kind", "organisation", "attributes")
    )
    position = {rid: n for n, (rid, *_) in enumerate(respondents)}
    responses = [
        (position[respondent_id], *rest)
        for respondent_id, *rest in Response.objects.filter(question__consultation__name=name)
        .order_by("id")
        .values_list(
            "respondent_id",
            "question__key",
            "key",
            "text",
            "options",
            "content_hash",
            "is_empty",
            "source",
            "outcome",
            "outcome_reason",
            "stance",
            "language",
            "evidence_rich",
            "group_id",
            "is_read",
            "is_flagged",
        )
    ]
    return {"respondents": [r[1:] for r in respondents], "responses": responses}


@pytest.mark.django_db
def test_awkward_values_round_trip(tmp_path, monkeypatch):
    from heard.analysis.text import clean_text
    from heard.store.models import Respondent, Response

    monkeypatch.setattr(importing, "BATCH_SIZE", 5)  # several batches
    data, mapping = _write_inputs(tmp_path)
    result = _import(data, mapping, "awkward")
    assert (result.respondents_created, result.responses_stored) == (13, 26)

    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        respondent = Respondent.objects.get(key=row["id"])
        assert respondent.attributes == {"area": row["area"]}
        texts = dict(
            Response.objects.filter(respondent=respondent).values_list("question__key", "text")
        )
        # Stored text is cleaned as everywhere else: NULs removed, trimmed.
        assert texts == {"why": clean_text(row["why"]), "what else": clean_text(row["what else"])}
    assert "\\." in Response.objects.values_list("text", flat=True)
    assert not any("\x00" in text for text in Response.objects.values_list("text", flat=True))
    empty = Response.objects.filter(text="")
    assert empty.exists() and all(r.is_empty for r in empty)
    # Respondents got ids in the order they were read, and answers point at them.
    keys = list(Respondent.objects.order_by("id").values_list("key", flat=True))
    assert keys == [row["id"] for row in rows]


@pytest.mark.django_db
def test_nul_in_a_text_is_removed_and_flagged(tmp_path):
    from heard.store.models import ImportBatch, Response

    data = tmp_path / "nul.jsonl"
    data.write_text(json.dumps({"id": "a", "comment": "before\x00after"}) + "\n", "utf-8")
    mapping = tmp_path / "nul.toml"
    mapping.write_text('id = "id"\n[columns]\ncomment = "open"\n', encoding="utf-8")
    importing.run_import([data], "nul", mapping=load_mapping(mapping))
    assert Response.objects.get().text == "beforeafter"
    report = ImportBatch.objects.get().report
    assert report["suspicious"]["counts"] == {"control characters": 1}


@only_postgres
@pytest.mark.django_db
def test_copy_stores_what_insert_stores(tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 4)
    copies: list[str] = []
    real_copy_rows = bulk._copy_rows

    def counting_copy_rows(cursor, sql, rows):
        copies.append(sql.split("(")[0].strip())
        return real_copy_rows(cursor, sql, rows)

    monkeypatch.setattr(bulk, "_copy_rows", counting_copy_rows)
    data, mapping = _write_inputs(tmp_path, respondents=21)

    monkeypatch.setattr(bulk, "USE_COPY", False)
    _import(data, mapping, "by-insert")
    assert copies == []

    monkeypatch.setattr(bulk, "USE_COPY", True)
    _import(data, mapping, "by-copy")
    # 42 answers in batches of 4: each batch copies its new respondents and its answers.
    assert copies.count('COPY "heard_respondent"') == 11
    assert copies.count('COPY "heard_response"') == 11

    by_insert, by_copy = _stored("by-insert"), _stored("by-copy")
    assert len(by_copy["responses"]) == 42
    assert by_copy == by_insert


@only_postgres
@pytest.mark.django_db
def test_copy_of_a_long_table_keeps_respondents_across_batches(tmp_path, monkeypatch):
    """A respondent's answers spread over several batches reuse the id reserved first."""
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)
    data = tmp_path / "long.csv"
    lines = ["person,qid,words,age"]
    for i in range(20):
        lines.append(f'p{i % 6},q{i // 6},"answer {i}\twith\\tab",{20 + i % 6}')
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "long.toml"
    mapping.write_text(
        'shape = "long"\n[long]\nrespondent = "person"\nquestion = "qid"\n'
        'text = "words"\n[columns]\nage = "demographic"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(bulk, "USE_COPY", False)
    _import(data, mapping, "long-insert")
    monkeypatch.setattr(bulk, "USE_COPY", True)
    _import(data, mapping, "long-copy")
    assert _stored("long-copy") == _stored("long-insert")
    assert len(_stored("long-copy")["respondents"]) == 6


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_copy_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    """The database refuses a late batch (here, a value longer than the column allows);
    the rows copied in earlier batches are rolled back with it."""
    from heard.store.models import Consultation, ImportBatch, Respondent, Response

    monkeypatch.setattr(importing, "BATCH_SIZE", 4)
    real_copy_rows = bulk._copy_rows
    calls = []

    def copy_rows(cursor, sql, rows):
        calls.append(sql)
        if len(calls) == 5:  # the third batch's respondents
            rows = [(*row[:3], "x" * 400, *row[4:]) for row in rows]  # organisation > 300
        return real_copy_rows(cursor, sql, rows)

    monkeypatch.setattr(bulk, "_copy_rows", copy_rows)
    rows = [{"id": f"ok{i}", "comment": f"fine {i}"} for i in range(11)]
    data = tmp_path / "late-failure.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(DatabaseError):
        importing.run_import([data], "atomic")
    assert len(calls) == 5
    assert Consultation.objects.filter(name="atomic").count() == 0
    assert ImportBatch.objects.count() == Respondent.objects.count() == 0
    assert Response.objects.count() == 0


@only_postgres
@pytest.mark.django_db
def test_bulk_update_rows_through_copy(monkeypatch):
    from heard.store.models import Consultation, Question, Respondent, Response

    copies: list[str] = []
    real_copy_rows = bulk._copy_rows
    monkeypatch.setattr(
        bulk,
        "_copy_rows",
        lambda cur, sql, rows: copies.append(sql) or real_copy_rows(cur, sql, rows),
    )
    c = Consultation.objects.create(name="upd")
    q = Question.objects.create(consultation=c, key="q1")
    rs = Respondent.objects.create(consultation=c, key="r")
    ids = [
        Response.objects.create(question=q, respondent=rs, key=str(i), text="t").id
        for i in range(len(AWKWARD))
    ]
    clean = [value.replace("\x00", "") for value in AWKWARD]
    rows = [(rid, [value, "x"], value[:300]) for rid, value in zip(ids, clean, strict=True)]
    assert bulk.bulk_update_rows(Response, ["options", "outcome_reason"], rows, batch_size=3) == 8
    assert len(copies) == 3
    got = dict(Response.objects.filter(id__in=ids).values_list("id", "options"))
    assert got == {rid: [value, "x"] for rid, value in zip(ids, clean, strict=True)}
    reasons = dict(Response.objects.filter(id__in=ids).values_list("id", "outcome_reason"))
    assert reasons == {rid: value for rid, value in zip(ids, clean, strict=True)}


@pytest.mark.django_db
def test_nul_in_ids_options_and_attributes_is_removed_and_flagged(tmp_path):
    """PostgreSQL cannot store NUL anywhere in text or JSON: every cell loses it, on either
    store alike, and the report names each cell."""
    from heard.store.models import ImportBatch, Respondent, Response

    data = tmp_path / "nul-everywhere.jsonl"
    data.write_text(json.dumps({"id": "r\x001", "area": "North\x00", "choice": "Y\x00es",
                                "comment": "fine"}) + "\n", "utf-8")
    mapping = tmp_path / "nul.toml"
    mapping.write_text('id = "id"\n[columns]\ncomment = "open"\narea = "demographic"\n'
                       'choice = "closed"\n', encoding="utf-8")
    importing.run_import([data], "nul", mapping=load_mapping(mapping))
    respondent = Respondent.objects.get()
    assert (respondent.key, respondent.attributes) == ("r1", {"area": "North"})
    assert Response.objects.get(question__key="choice").options == ["Yes"]
    report = ImportBatch.objects.get().report
    assert report["suspicious"]["counts"] == {"control characters": 3}
    flagged = {e["column"] for e in report["suspicious"]["examples"]}
    assert flagged == {"id", "area", "choice"}


@pytest.mark.django_db
def test_long_respondent_ids_fit_and_stay_distinct(tmp_path):
    from heard.store.models import Respondent, Response

    long_a, long_b = "a" * 250 + "1", "a" * 250 + "2"
    data = tmp_path / "long-ids.jsonl"
    data.write_text("\n".join(json.dumps({"id": key, "comment": f"from {key[-1]}"})
                              for key in (long_a, long_b, long_a)) + "\n", "utf-8")
    mapping = tmp_path / "long.toml"
    mapping.write_text('id = "id"\n[columns]\ncomment = "open"\n', encoding="utf-8")
    importing.run_import([data], "long", mapping=load_mapping(mapping))
    keys = list(Respondent.objects.values_list("key", flat=True))
    assert len(keys) == 2 and len(set(keys)) == 2 and all(len(k) <= 200 for k in keys)
    assert Response.objects.count() == 3


def test_nul_in_a_key_name_is_a_clear_error(tmp_path):
    from heard.io.errors import InputError
    from heard.io.readers import read_jsonl

    data = tmp_path / "nul-key.jsonl"
    data.write_text(json.dumps({"id": "1", "com\x00ment": "text"}) + "\n", "utf-8")
    with pytest.raises(InputError) as error:
        read_jsonl(data)
    message = error.value.describe()
    assert "nul-key.jsonl" in message and "NUL" in message and "com\u2400ment" in message
