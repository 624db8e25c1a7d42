"""Delete a consultation and everything that belongs to it (`heard delete`).

The rows go in one transaction, leaf tables first, each with a single
``DELETE … WHERE id IN (SELECT …)``. Django's cascade would first load every
row into memory, which does not scale to a million answers. After the commit, the
stored originals of documents (``HEARD_HOME/documents``) and their rendered pages that
no other consultation uses are removed, and so are the cached vectors of answers that
no other consultation has, and the uploaded files (``HEARD_HOME/uploads``) that only this
consultation imported. On SQLite, deleted content is overwritten (``secure_delete``)
and the keyword index merged, so the text does not linger in free pages; then the file is
shrunk (VACUUM) and the write-ahead log emptied.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

#: (model name, lookup to the consultation), leaf tables first. A test checks it covers every
#: model that points at a consultation's rows.
DELETE_ORDER: tuple[tuple[str, str], ...] = (
    ("RunLease", "consultation"),
    ("Assignment", "response__question__consultation"),
    ("Assignment", "theme__question__consultation"),
    ("ReviewSkip", "response__question__consultation"),
    ("Response", "question__consultation"),
    ("DuplicateGroup", "question__consultation"),
    ("Theme", "question__consultation"),
    ("AuditEvent", "consultation"),
    ("RunLLMQuestion", "llm__run__consultation"),
    ("RunLLM", "run__consultation"),
    ("Run", "consultation"),
    ("Respondent", "consultation"),
    ("Question", "consultation"),
    ("ImportBatch", "consultation"),
    ("Membership", "consultation"),
)

_STORED_NAME = re.compile(r"documents/([0-9a-f]{16,64})(\.[a-z0-9]{1,5})")


class DeleteRefused(Exception):
    """The consultation cannot be deleted now; the message says why and what to do."""


@dataclass
class DeleteResult:
    consultation: str
    rows: dict[str, int] = field(default_factory=dict)
    documents_removed: int = 0
    pages_removed: int = 0
    vectors_removed: int = 0
    uploads_removed: int = 0
    store_bytes_before: int = 0
    store_bytes_after: int = 0
    compacted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _model(name: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model("heard", name)


def _delete_matching(model: type[models.Model], lookup: str, consultation_id: int) -> int:
    ids = model.objects.filter(**{f"{lookup}_id": consultation_id}).values("pk")
    sql, params = ids.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({sql})", params)
        return max(cursor.rowcount, 0)


def active_jobs(consultation, stale_after: float) -> list[str]:
    """Queued jobs, and running ones whose worker is still alive."""
    from heard.store.models import Run

    cutoff = timezone.now() - timedelta(seconds=stale_after)
    runs = Run.objects.filter(consultation=consultation).filter(
        models.Q(status=Run.Status.PENDING)
        | models.Q(status=Run.Status.RUNNING, heartbeat_at__gte=cutoff)
    )
    return [f"run {run.pk} ({run.kind}, {run.status})" for run in runs]


def _document_names(consultation=None) -> set[str]:
    from heard.store.models import Response

    rows = Response.objects.filter(source__has_key="document")
    if consultation is not None:
        rows = rows.filter(question__consultation=consultation)
    return {name for name in rows.values_list("source__document", flat=True)
            if isinstance(name, str)}


def _answer_hashes(consultation_id: int) -> set[str]:
    from heard.store.models import Response

    rows = Response.objects.filter(question__consultation_id=consultation_id)
    return set(rows.exclude(content_hash="").values_list("content_hash", flat=True).distinct())


def _drop_unused_vectors(hashes: set[str]) -> int:
    """Delete cached vectors of ``hashes`` that no stored answer has any more."""
    from heard.store.models import EmbeddingCache, Response

    ordered, removed = sorted(hashes), 0
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        used = set(Response.objects.filter(content_hash__in=chunk)
                   .values_list("content_hash", flat=True))
        unused = [h for h in chunk if h not in used]
        if unused:
            removed += EmbeddingCache.objects.filter(content_hash__in=unused).delete()[0]
    return removed


def _remove_files(home: Path, names: set[str], result: DeleteResult) -> None:
    """Remove stored originals named ``documents/<sha>.<ext>`` and their cached pages."""
    folder = home / "documents"
    pages = home / "cache" / "pages"
    for name in sorted(names):
        match = _STORED_NAME.fullmatch(name)
        if not match:
            continue
        original = folder / f"{match[1]}{match[2]}"
        if original.is_file():
            original.unlink()
            result.documents_removed += 1
        if pages.is_dir():
            for page in pages.glob(f"{match[1]}-p*.png"):
                page.unlink()
                result.pages_removed += 1


def _source_hashes(consultation_id: int | None, exclude: bool = False) -> set[str]:
    """sha256 of every file imported into the consultation (or, with ``exclude``, into
    every other consultation)."""
    from heard.store.models import ImportBatch

    batches = ImportBatch.objects.all()
    batches = (batches.exclude(consultation_id=consultation_id) if exclude
               else batches.filter(consultation_id=consultation_id))
    return {s.get("sha256", "") for sources in batches.values_list("sources", flat=True)
            for s in sources or []} - {""}


def _file_hashes(path: Path) -> set[str]:
    """The file's sha256, and those of the files inside it when it is a ZIP archive."""
    from heard.io import limits
    from heard.io.readers import sha256_file

    hashes = {sha256_file(path)}
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if member.is_dir() or member.file_size > limits.limit("member_bytes"):
                        continue
                    digest = hashlib.sha256()
                    with archive.open(member) as stream:
                        while chunk := stream.read(1 << 20):
                            digest.update(chunk)
                    hashes.add(digest.hexdigest())
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError):
            pass
    return hashes


def upload_folders(home: Path, consultation_id: int) -> list[Path]:
    """The folders under ``HEARD_HOME/uploads`` that hold files imported into this
    consultation and into no other (the raw answers as they were uploaded)."""
    uploads = home / "uploads"
    if not uploads.is_dir():
        return []
    mine = _source_hashes(consultation_id) - _source_hashes(consultation_id, exclude=True)
    found = []
    for folder in sorted(uploads.iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
        if any(_file_hashes(file) & mine for file in files):
            found.append(folder)
    return found


def _store_files() -> list[Path]:
    if connection.vendor != "sqlite":
        return []
    name = Path(connection.settings_dict["NAME"])
    return [name.with_name(name.name + suffix) for suffix in ("", "-wal", "-shm")]


def _store_bytes() -> int:
    return sum(p.stat().st_size for p in _store_files() if p.is_file())


def shrink_store() -> bool:
    """Give the freed space back to the file system; False when the store was too busy.

    SQLite: VACUUM rewrites the file without free pages, and a checkpoint empties the
    write-ahead log. (PostgreSQL reuses the space of deleted rows by itself; VACUUM FULL
    is a job for its administrator.)"""
    if connection.vendor != "sqlite":
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError:  # another process kept the store busy past the timeout
        return False
    return True


@contextmanager
def _overwriting_deletes():
    """On SQLite, overwrite deleted content with zeros rather than leave it in free pages."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA secure_delete = {int(before)}")


def _compact_keyword_index() -> None:
    """SQLite's FTS5 index keeps deleted words in old segments until they are merged:
    merge them now, so the deleted answers' words leave the file too."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'heard_response_fts'")
        if cursor.fetchone():
            cursor.execute("INSERT INTO heard_response_fts(heard_response_fts) VALUES ('optimize')")


def delete_consultation(
    consultation, home: Path, *, stale_after: float | None = None, clear_cache: bool = False
) -> DeleteResult:
    """Delete ``consultation`` with its questions, respondents, answers, runs, themes,
    campaigns, audit trail and memberships; then its documents and cached vectors.

    Refuses (``DeleteRefused``) while one of its jobs is queued or running. With
    ``clear_cache`` the whole embedding cache is emptied, including vectors of clauses and
    quote sentences, which are keyed by text alone and shared between consultations.
    """
    from heard.store.models import Consultation, EmbeddingCache

    if stale_after is None:
        from heard.pipeline.jobs import STALE_AFTER as stale_after
    busy = active_jobs(consultation, stale_after)
    from heard.pipeline.leases import current

    lease = current(consultation)
    if lease is not None:
        busy.append(f"run {lease.run_id or '?'} (analysing now)")
    if busy:
        raise DeleteRefused(
            f"{consultation.name!r} has jobs that are queued or running: {', '.join(busy)}. "
            "Cancel them in the web app, or wait for them to finish, then delete again."
        )
    result = DeleteResult(consultation.name, store_bytes_before=_store_bytes())
    documents = _document_names(consultation)
    uploads = upload_folders(home, consultation.pk)
    own_hashes = set() if clear_cache else _answer_hashes(consultation.pk)
    with _overwriting_deletes(), transaction.atomic():
        for name, lookup in DELETE_ORDER:
            count = _delete_matching(_model(name), lookup, consultation.pk)
            result.rows[name] = result.rows.get(name, 0) + count
        Consultation.objects.filter(pk=consultation.pk).delete()
        result.rows["Consultation"] = 1
        _compact_keyword_index()
        if clear_cache:
            result.vectors_removed = EmbeddingCache.objects.all().delete()[0]
        else:
            result.vectors_removed = _drop_unused_vectors(own_hashes)
    _remove_files(home, documents - _document_names(), result)
    for folder in uploads:
        shutil.rmtree(folder, ignore_errors=True)
        result.uploads_removed += 1
    result.compacted = shrink_store()
    result.store_bytes_after = _store_bytes()
    return result
