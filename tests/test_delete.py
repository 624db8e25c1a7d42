"""`heard delete`: a consultation goes with everything in it, and nothing of any other."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.apps import apps
from django.db import connection, models

from heard.cli import main
from heard.pipeline.deleting import DELETE_ORDER
from heard.store.models import Consultation, EmbeddingCache, Membership, Response, Run

pytestmark = pytest.mark.django_db(transaction=True)

DELETED = {"Consultation", *(name for name, _ in DELETE_ORDER)}


def heard(*args: str, input: str | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def rows_of(name: str) -> dict[str, int]:
    """Rows of every deletable model that belong to the consultation ``name``."""
    counts = {}
    for model_name, lookup in DELETE_ORDER:
        model = apps.get_model("heard", model_name)
        key = f"{model_name}:{lookup}"
        counts[key] = model.objects.filter(**{f"{lookup}__name": name}).count()
    return counts


@pytest.fixture
def two(tmp_path, heard_home, monkeypatch):
    """Two analysed consultations; 'b' shares some answers' wording with 'a'."""
    from django.conf import settings

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    for name, seed in (("a", "3"), ("b", "4")):
        data = tmp_path / name
        heard("sample-data", str(data), "--responses", "200", "--seed", seed)
        heard("import", str(data), "--consultation", name)
        heard("analyse", name, "--embedder", "static", "--seed", "1")
    return tmp_path


def test_every_model_pointing_at_a_consultation_is_deleted():
    """A new model with a foreign key into a consultation's rows must join DELETE_ORDER."""
    targets = {apps.get_model("heard", name) for name in DELETED}
    for model in apps.get_app_config("heard").get_models():
        for field in model._meta.get_fields():
            if (isinstance(field, models.ForeignKey) and field.related_model in targets
                    and model.__name__ not in DELETED):
                pytest.fail(f"{model.__name__}.{field.name} points at "
                            f"{field.related_model.__name__}, which `heard delete` removes")


def test_delete_removes_one_consultation_and_keeps_the_other(two):
    before_b = rows_of("b")
    assert all(before_b[key] > 0 for key in ("Response:question__consultation",
                                             "Theme:question__consultation",
                                             "Run:consultation"))
    assert rows_of("a")["Assignment:response__question__consultation"] > 0
    shared = set(Response.objects.filter(question__consultation__name="a")
                 .values_list("content_hash", flat=True)) & set(
        Response.objects.filter(question__consultation__name="b")
        .values_list("content_hash", flat=True))
    only_a = set(Response.objects.filter(question__consultation__name="a")
                 .values_list("content_hash", flat=True)) - shared
    cached = set(EmbeddingCache.objects.values_list("content_hash", flat=True))
    assert shared & cached and only_a & cached, "both kinds of vectors are cached"

    out = heard("delete", "a", "--yes")
    assert "Deleted 'a'" in out

    assert not Consultation.objects.filter(name="a").exists()
    assert all(count == 0 for count in rows_of("a").values())
    assert rows_of("b") == before_b
    remaining = set(EmbeddingCache.objects.values_list("content_hash", flat=True))
    assert shared & cached <= remaining
    assert not (only_a & remaining)
    if connection.vendor == "sqlite":  # the keyword index followed the rows
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO heard_response_fts(heard_response_fts) "
                           "VALUES ('integrity-check')")
    # b still reads as before
    assert "b" in heard("status", "b")
    heard("themes", "b")


def test_deleted_consultation_can_be_imported_again(two):
    heard("delete", "a", "--yes", "--clear-cache")
    assert EmbeddingCache.objects.count() == 0
    heard("import", str(two / "a"), "--consultation", "a")
    assert Response.objects.filter(question__consultation__name="a").count() == \
        Response.objects.filter(question__consultation__name="b").count()


def test_confirmation_and_unknown_name(tmp_path):
    heard("sample-data", str(tmp_path / "d"), "--responses", "50", "--seed", "1")
    heard("import", str(tmp_path / "d"), "--consultation", "d")
    stored = Response.objects.count()
    out = heard("delete", "d", input="n\n", code=1)
    assert "This cannot be undone" in out and "Aborted" in out
    assert Response.objects.count() == stored
    out = heard("delete", "nope", code=1)
    assert "No consultation called 'nope'" in out and "d" in out
    heard("delete", "d", input="y\n")
    assert Response.objects.count() == 0


def test_refuses_while_a_job_is_queued(tmp_path):
    heard("sample-data", str(tmp_path / "d"), "--responses", "50", "--seed", "1")
    heard("import", str(tmp_path / "d"), "--consultation", "d")
    consultation = Consultation.objects.get(name="d")
    Run.objects.create(consultation=consultation, status=Run.Status.PENDING)
    stored = Response.objects.count()
    out = heard("delete", "d", "--yes", code=1)
    assert "queued or running" in out and "Cancel them" in out
    assert Response.objects.count() == stored
    Run.objects.filter(consultation=consultation).update(status=Run.Status.CANCELLED)
    heard("delete", "d", "--yes")
    assert not Consultation.objects.exists()


def test_global_memberships_stay(tmp_path, django_user_model):
    heard("sample-data", str(tmp_path / "d"), "--responses", "50", "--seed", "1")
    heard("import", str(tmp_path / "d"), "--consultation", "d")
    user = django_user_model.objects.create_user("lead@example.org")
    Membership.objects.create(user=user, consultation=None, role="admin")
    Membership.objects.create(user=user, consultation=Consultation.objects.get(name="d"),
                              role="lead")
    heard("delete", "d", "--yes")
    assert list(Membership.objects.values_list("consultation", "role")) == [(None, "admin")]


def test_stored_documents_go_unless_another_consultation_uses_them(
    tmp_path, heard_home, monkeypatch
):
    from django.conf import settings

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    letters = {
        "R1_letter.txt": "Parking charges should stay the same for residents.",
        "R2_letter.txt": "The new bus lane will cut journey times for everyone.",
    }
    for name, folder_letters in (("x", letters), ("y", dict(list(letters.items())[:1]))):
        folder = tmp_path / name
        folder.mkdir()
        for file_name, text in folder_letters.items():
            (folder / file_name).write_text(text, encoding="utf-8")
        heard("import", str(folder), "-c", name)
    stored = sorted(p.name for p in (heard_home / "documents").iterdir())
    assert len(stored) == 2
    pages = heard_home / "cache" / "pages"
    pages.mkdir(parents=True)
    for original in stored:
        (pages / f"{original.split('.')[0]}-p1.png").write_bytes(b"png")

    out = heard("delete", "x", "--yes", "--json")
    assert '"documents_removed": 1' in out and '"pages_removed": 1' in out
    kept = Response.objects.get(question__consultation__name="y").source["document"]
    assert sorted(p.name for p in (heard_home / "documents").iterdir()) == [
        kept.split("/")[-1]]
    assert [p.name for p in pages.iterdir()] == [f"{kept.split('/')[-1].split('.')[0]}-p1.png"]


def test_deleted_text_is_not_left_in_the_sqlite_file(tmp_path, heard_home):
    """Through the installed command on a real file: the answers' words are overwritten."""
    heard_command = Path(sys.executable).with_name("heard")
    env = {**os.environ, "HEARD_HOME": str(heard_home)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    marker = "Quillworthy-Zebedee"
    for name in ("keep", "gone"):
        table = tmp_path / f"{name}.csv"
        rows = [f"{name}-{n},{marker if name == 'gone' else 'Plain'} remark number {n}"
                for n in range(30)]
        table.write_text("respondent_id,answer\n" + "\n".join(rows) + "\n", encoding="utf-8")
        imported = subprocess.run([str(heard_command), "import", str(table), "-c", name],
                                  env=env, capture_output=True, text=True, timeout=300)
        assert imported.returncode == 0, imported.stderr + imported.stdout
    store = heard_home / "heard.sqlite3"
    assert marker.encode() in store.read_bytes() + _wal(store)
    deleted = subprocess.run([str(heard_command), "delete", "gone", "--yes"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert deleted.returncode == 0, deleted.stderr + deleted.stdout
    left = (store.read_bytes() + _wal(store)).lower()
    assert b"quillworthy" not in left and b"zebedee" not in left
    assert b"Plain remark number 7" in store.read_bytes() + _wal(store)


def _wal(store: Path) -> bytes:
    wal = store.with_name(store.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""
