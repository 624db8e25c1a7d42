"""Import planned tables into the store in one transaction, and report a consultation's status.

Rows stream from the readers; respondents and responses are written in batches (``COPY`` on
PostgreSQL, one prepared ``INSERT`` on SQLite; see ``heard.store.bulk``), so memory stays flat
and there are no per-row queries. Either the whole import lands or, on any error, nothing
changes. The same files cannot be imported twice into one consultation: the batch's
fingerprint (sha256 over the files' bytes) is unique there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction

from heard.analysis.text import clean_text, content_hash
from heard.io.detect import ImportPlan, RespondentInfo, TablePlan, iter_rows, plan_import
from heard.io.errors import InputError
from heard.io.mapping import Mapping
from heard.io.report import ValidationReport
from heard.pipeline.names import check_name
from heard.store.bulk import RowInserter

BATCH_SIZE = 5000
PROGRESS_STEP = 500
MAX_OPTIONS = 100  # distinct values kept as a closed/demographic question's known options
_ATTACHMENT_ONLY = re.compile(r"\b(see|please see|refer to|view)\b.{0,40}\battach", re.I)


class AlreadyImported(InputError):
    """These exact files were imported into this consultation before."""


@dataclass
class ImportResult:
    consultation: str
    plan: ImportPlan
    report: ValidationReport
    dry_run: bool
    batch_id: int | None = None
    respondents_created: int = 0
    responses_stored: int = 0
    notes: list[str] = field(default_factory=list)
    documents: dict | None = None  # the documents' report (docs/documents.md), when any


@dataclass
class _QuestionInfo:
    key: str
    text: str
    kind: str
    position: int
    paired_with: str | None = None
    options: dict[str, None] = field(default_factory=dict)
    from_long: bool = False  # kind is decided from the answers once they are read


def _questions_of(plan: ImportPlan) -> dict[str, _QuestionInfo]:
    """Questions known before the rows are read, in order (long tables add more as they go)."""
    questions: dict[str, _QuestionInfo] = {}

    def add(key: str, text: str, kind: str, paired: str | None = None) -> None:
        if key not in questions:
            questions[key] = _QuestionInfo(key, text, kind, len(questions), paired)

    for table in plan.tables:
        if table.shape == "long" and table.long:
            if table.long.fixed_question:
                add(*table.long.fixed_question, "open")
            for key, text in table.long.question_texts.items():
                add(key, text, "open")
                questions[key].from_long = True
        else:
            for column in table.questions():
                add(column.question_key, column.question_text, column.role, column.paired_with)
        for column in table.demographics():
            add(column.question_key or column.name, column.question_text or column.name,
                "demographic")
    return questions


def _table_label(table: TablePlan, multiple_sheets: bool) -> str:
    return f"{table.table.file.name}[{table.table.sheet}]" if multiple_sheets else str(
        table.table.file.name
    )


class _Writer:
    """Buffers respondents and responses and writes them in batches (or only counts them)."""

    def __init__(self, consultation, batch, questions: dict[str, _QuestionInfo], write: bool):
        self.consultation = consultation
        self.batch = batch
        self.questions = questions
        self.write = write
        self.respondent_ids: dict[str, int | None] = {}
        self.pending_respondents: dict[str, RespondentInfo] = {}
        self.pending_answers: list[tuple[str, object]] = []
        self.question_ids: dict[str, int] = {}
        self.respondents_created = 0
        self.responses_stored = 0
        if consultation is not None:
            from heard.store.models import Respondent

            self.respondent_ids = dict(
                Respondent.objects.filter(consultation=consultation).values_list("key", "id")
            )
        self.last_respondent_id = 0
        self._inserters: dict[str, RowInserter] = {}

    def ensure_questions(self) -> None:
        """Create the questions not in the store yet (and remember every question's id)."""
        if not self.write:
            return
        from heard.store.models import Question

        existing = dict(
            Question.objects.filter(consultation=self.consultation).values_list("key", "id")
        )
        offset = Question.objects.filter(consultation=self.consultation).count()
        new = [
            Question(
                consultation=self.consultation,
                key=info.key,
                text=info.text,
                kind=info.kind,
                position=offset + info.position,
            )
            for key, info in self.questions.items()
            if key not in existing and key not in self.question_ids
        ]
        for question in Question.objects.bulk_create(new):
            existing[question.key] = question.id
        self.question_ids.update(existing)

    def add(self, info: RespondentInfo, answer) -> None:
        if info.key not in self.respondent_ids and info.key not in self.pending_respondents:
            self.pending_respondents[info.key] = info
        else:
            pending = self.pending_respondents.get(info.key)
            if pending is not None:
                for name, value in info.attributes.items():
                    pending.attributes.setdefault(name, value)
        self.pending_answers.append((info.key, answer))
        if len(self.pending_answers) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        new_keys = [k for k in self.pending_respondents if k not in self.respondent_ids]
        if self.write and self.pending_respondents:
            self._insert_respondents()
        else:
            for key in new_keys:
                self.respondent_ids[key] = None
        self.respondents_created += len(new_keys)
        self.pending_respondents.clear()
        if self.write and self.pending_answers:
            self._insert_responses()
        self.responses_stored += len(self.pending_answers)
        self.pending_answers.clear()

    def _insert_respondents(self) -> None:
        from heard.store.models import Respondent

        inserter = self._inserters.setdefault(
            "respondent",
            RowInserter(Respondent, ["consultation", "key", "kind", "organisation", "attributes",
                                     "import_batch"]),
        )
        new_ids = inserter.insert(
            ((self.consultation.id, info.key, info.kind, info.organisation, info.attributes,
              self.batch.id) for info in self.pending_respondents.values()),
            return_ids=True,
        )
        if new_ids is not None:  # COPY: the ids were reserved in row order
            self.respondent_ids.update(zip(self.pending_respondents, new_ids, strict=True))
            return
        fresh = Respondent.objects.filter(import_batch=self.batch, id__gt=self.last_respondent_id)
        for key, respondent_id in fresh.values_list("key", "id"):
            self.respondent_ids[key] = respondent_id
            self.last_respondent_id = max(self.last_respondent_id, respondent_id)

    def _insert_responses(self) -> None:
        from heard.store.models import Response

        if any(a.question not in self.question_ids for _, a in self.pending_answers):
            self.ensure_questions()
        inserter = self._inserters.setdefault(
            "response",
            RowInserter(Response, ["question", "respondent", "key", "text", "options",
                                   "content_hash", "is_empty", "source", "import_batch"]),
        )
        rows = []
        for respondent_key, answer in self.pending_answers:
            text = clean_text(answer.text)
            rows.append((
                self.question_ids[answer.question], self.respondent_ids[respondent_key],
                answer.response_key[:200], text, answer.options, content_hash(text), not text,
                answer.source, self.batch.id,
            ))
        inserter.insert(rows)


def _stream(
    plan: ImportPlan,
    report: ValidationReport,
    questions: dict[str, _QuestionInfo],
    writer: _Writer,
    on_rows: Callable[[int], None] | None,
) -> None:
    """Read every row of every table into the writer, checking as it goes."""
    sheets_per_file: dict[Path, int] = {}
    for table in plan.tables:
        sheets_per_file[table.table.file] = sheets_per_file.get(table.table.file, 0) + 1
    attachment_only = 0
    rows_since_progress = 0
    for table in plan.tables:
        label = _table_label(table, sheets_per_file[table.table.file] > 1)
        rows_before = report.rows_read
        seen_wide: set[str] = set()
        seen_answers: set[tuple[str, str, str]] = set()
        demographic_columns = {c.name: c.question_key or c.name for c in table.demographics()}
        for info, answers in iter_rows(table, report, label):
            if table.shape == "wide":
                if info.key in seen_wide:
                    report.duplicate(info.key, {"file": label, "row": answers[0].source["row"]
                                                if answers else None})
                seen_wide.add(info.key)
            for name, value in info.attributes.items():
                key = demographic_columns.get(name)
                if key and len(questions[key].options) <= MAX_OPTIONS:
                    questions[key].options.setdefault(value, None)
            for answer in answers:
                if answer.question not in questions:
                    questions[answer.question] = _QuestionInfo(
                        answer.question, answer.question, "open", len(questions)
                    )
                counts = report.question(answer.question, questions[answer.question].text,
                                         questions[answer.question].kind)
                counts.responses += 1
                stripped = answer.text.strip()
                if not stripped:
                    counts.empty += 1
                elif table.export == "regulations.gov" and len(stripped) < 200 and (
                    _ATTACHMENT_ONLY.search(stripped)
                ):
                    attachment_only += 1
                if table.shape == "long":
                    pair = (info.key, answer.question, answer.response_key)
                    if pair in seen_answers:
                        report.duplicate(f"{info.key} / {answer.question}", dict(answer.source))
                    seen_answers.add(pair)
                question = questions[answer.question]
                if question.kind == "closed" and stripped and len(question.options) <= MAX_OPTIONS:
                    question.options.setdefault(stripped, None)
                writer.add(info, answer)
            rows_since_progress += 1
            if on_rows and rows_since_progress >= PROGRESS_STEP:
                on_rows(rows_since_progress)
                rows_since_progress = 0
        report.tables.append(
            {"file": label, "format": table.table.format, "shape": table.shape,
             "export": table.export, "rows": report.rows_read - rows_before,
             "encoding": table.table.encoding, "delimiter": table.table.delimiter}
        )
    writer.flush()
    if on_rows and rows_since_progress:
        on_rows(rows_since_progress)
    report.respondents = writer.respondents_created
    if attachment_only:
        report.notes.append(
            f"{attachment_only} comments only point to an attachment (e.g. 'see attached'); "
            "their text is in the attached files, which are not imported."
        )
    if report.rows_skipped:
        report.notes.append(f"{report.rows_skipped} rows were skipped (see 'skipped').")
    for info in questions.values():
        if info.kind == "closed" and len(info.options) > MAX_OPTIONS:
            report.warnings.append(
                f"closed question {info.key!r} has more than {MAX_OPTIONS} distinct answers; "
                "is it really open? Set its type in a mapping file."
            )


def run_import(
    paths: list[Path],
    consultation: str,
    *,
    mapping: Mapping | None = None,
    dry_run: bool = False,
    plan: ImportPlan | None = None,
    on_rows: Callable[[int], None] | None = None,
    documents=None,
    title: str | None = None,
    description: str | None = None,
) -> ImportResult:
    """Import the files at ``paths`` into ``consultation`` (created when new).

    Raises InputError (naming file, row and column) on bad input, and AlreadyImported when
    these exact files are already in the consultation. With ``dry_run`` nothing is written.
    Folders and archives of documents (``documents``, or found among ``paths``) are read as
    responses too (docs/documents.md). ``title`` and ``description``, when given, are set
    on the consultation with the import.
    """
    from heard.store.models import Consultation, ImportBatch

    if documents is None and plan is None:
        from heard.io.documents import split_inputs

        paths, documents = split_inputs(paths)
    plan = plan or plan_import(paths, mapping)
    if documents is not None:
        _add_document_sources(plan, documents)
    title_max = Consultation._meta.get_field("title").max_length
    if title is not None and len(title.strip()) > title_max:
        raise InputError(f"the title is {len(title.strip())} characters long",
                         hint=f"Give a title of at most {title_max} characters.")
    report = ValidationReport()
    questions = _questions_of(plan)
    existing = Consultation.objects.filter(name=consultation).first()
    if existing is None:
        check_name(consultation)  # a new consultation's name follows the one rule
    if existing and ImportBatch.objects.filter(
        consultation=existing, fingerprint=plan.fingerprint
    ).exists():
        raise _already(plan, consultation)
    result = ImportResult(consultation=consultation, plan=plan, report=report, dry_run=dry_run)
    if dry_run:
        writer = _Writer(existing, None, questions, write=False)
        _stream(plan, report, questions, writer, on_rows)
        if documents is not None:
            result.documents = _stream_documents(plan, documents, mapping, report, questions,
                                                 writer, existing, None)
        result.respondents_created = writer.respondents_created
        return result
    read_documents = None
    if documents is not None:
        # Extraction and OCR can take minutes: done before the transaction, so the store's
        # write lock is held only while rows are written.
        read_documents = _read_documents(plan, documents, mapping, questions, existing,
                                         store=True)
    try:
        with transaction.atomic():
            record, _ = Consultation.objects.get_or_create(name=consultation)
            details = {k: v.strip() for k, v in (("title", title), ("description", description))
                       if v is not None}
            if details:
                Consultation.objects.filter(pk=record.pk).update(**details)
            batch = ImportBatch.objects.create(
                consultation=record,
                fingerprint=plan.fingerprint,
                sources=[
                    {"path": str(s.path), "sha256": s.sha256, "format": s.format}
                    for s in plan.sources
                ],
                mapping=mapping.to_dict() if mapping else {},
            )
            writer = _Writer(record, batch, questions, write=True)
            writer.ensure_questions()
            with deferred_search_index(batch.id):
                _stream(plan, report, questions, writer, on_rows)
                if documents is not None:
                    result.documents = _stream_documents(plan, documents, mapping, report,
                                                         questions, writer, record, batch,
                                                         read_documents)
            writer.ensure_questions()
            _classify_long_questions(batch, questions, writer.question_ids)
            _finish_questions(record, questions, writer.question_ids)
            batch.report = report.to_dict()
            if result.documents is not None:
                batch.report["documents"] = result.documents
            batch.rows_read = report.rows_read
            batch.responses_stored = writer.responses_stored
            batch.save(update_fields=["report", "rows_read", "responses_stored"])
    except IntegrityError as exc:
        if "fingerprint" in str(exc) or "import_once" in str(exc):
            raise _already(plan, consultation) from None
        raise
    result.batch_id = batch.id
    result.respondents_created = writer.respondents_created
    result.responses_stored = writer.responses_stored
    return result


_FTS_INSERT_TRIGGER = re.compile(
    r"AFTER\s+INSERT\s+ON\s+\"?(?P<table>\w+)\"?\s+BEGIN\s+INSERT\s+INTO\s+\"?(?P<fts>\w+)\"?"
    r"\s*\(\s*rowid\s*,\s*(?P<column>\w+)\s*\)\s+VALUES\s*\(\s*new\.id\s*,\s*new\.(?P=column)"
    r"\s*\)\s*;\s*END\s*$",
    re.IGNORECASE,
)


@contextmanager
def deferred_search_index(batch_id: int):
    """On SQLite, fill the responses' full-text index once per import, not once per row.

    A row-by-row AFTER INSERT trigger into an FTS5 table made inserts about five times
    slower. Inside the import's transaction (DDL is transactional in SQLite, and the import
    holds the write lock), such a trigger is dropped, the index is filled with one
    INSERT … SELECT over this batch's responses, and the trigger is created again. Triggers
    of any other form are left alone.
    """
    from django.db import connection

    from heard.store.models import Response

    if connection.vendor != "sqlite":
        yield
        return
    table = Response._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [table],
        )
        triggers = [
            (name, sql, match)
            for name, sql in cursor.fetchall()
            if (match := _FTS_INSERT_TRIGGER.search(sql or "")) and match["table"] == table
        ]
        for name, _, _ in triggers:
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        quote = connection.ops.quote_name
        for _, sql, match in triggers:
            column = quote(match["column"])
            cursor.execute(
                f"INSERT INTO {quote(match['fts'])} (rowid, {column}) "
                f"SELECT id, {column} FROM {quote(table)} WHERE import_batch_id = %s",
                [batch_id],
            )
            cursor.execute(sql)


def _already(plan: ImportPlan, consultation: str) -> AlreadyImported:
    files = ", ".join(s.path.name for s in plan.sources)
    return AlreadyImported(
        f"these files were already imported into {consultation!r}; nothing was changed",
        file=files,
        hint="Import each export once. To load it again, delete the consultation first "
        "(`heard delete NAME`), or "
        "use a new --consultation name.",
    )


def _classify_long_questions(batch, questions: dict[str, _QuestionInfo], ids: dict[str, int]):
    """In a long table every answer sits in one text column: read each question's answers
    to tell closed questions (few distinct short answers) from open ones, then pair an open
    'why' question with the closed question just before it."""
    from heard.analysis.closed import follows_up
    from heard.io.detect import answers_role
    from heard.store.bulk import bulk_update_rows
    from heard.store.models import Question, Response

    ordered = sorted(questions.values(), key=lambda q: q.position)
    for info in ordered:
        if not info.from_long or info.key not in ids:
            continue
        rows = list(
            Response.objects.filter(question_id=ids[info.key], import_batch=batch)
            .values_list("id", "text")
        )
        role, _reason = answers_role([text for _, text in rows])
        if role != "closed":
            continue
        info.kind = "closed"
        Question.objects.filter(id=ids[info.key]).update(kind="closed")
        for _, text in rows:
            if text.strip():
                info.options[text.strip()] = None
        bulk_update_rows(
            Response, ["options"], ((rid, [text.strip()]) for rid, text in rows if text.strip())
        )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if (
            after.from_long
            and before.kind == "closed"
            and after.kind == "open"
            and not after.paired_with
            and follows_up(after.text)
        ):
            after.paired_with = before.key


def _finish_questions(consultation, questions: dict[str, _QuestionInfo], ids: dict[str, int]):
    """Store known options and closed/open pairs."""
    from heard.store.models import Question

    for info in questions.values():
        question_id = ids.get(info.key)
        if question_id is None:
            continue
        updates: dict = {}
        if info.kind in ("closed", "demographic") and info.options:
            if len(info.options) <= MAX_OPTIONS:
                updates["options"] = sorted(info.options)
        if info.paired_with and info.paired_with in ids:
            updates["paired_closed_id"] = ids[info.paired_with]
        if updates:
            Question.objects.filter(id=question_id).update(**updates)


def consultation_status(consultation) -> dict:
    """Counts for `heard status`: respondents, responses per question, empty, read vs stored.

    The counts come from the results model; "empty" is "No substantive answer" there.
    """
    from heard.results import consultation_results
    from heard.store.models import ImportBatch

    results = consultation_results(consultation)
    keys = {q.id: q.key for q in [*results.open, *results.closed]}
    paired = dict(consultation.questions.filter(paired_closed__isnull=False)
                  .values_list("key", "paired_closed_id"))
    rows = {}
    for q in [*results.open, *results.closed]:
        rows[q.key] = {"id": q.key, "text": q.text, "type": q.kind, "responses": q.total,
                       "empty": q.outcomes.empty, "outcomes": q.outcomes.as_dict()}
        if q.key in paired:
            rows[q.key]["paired_closed"] = keys.get(paired[q.key])
    batches = ImportBatch.objects.filter(consultation=consultation).order_by("created_at")
    imports = [
        {
            "id": batch.id,
            "files": [Path(s["path"]).name for s in batch.sources],
            "rows_read": batch.rows_read,
            "rows_skipped": batch.report.get("rows_skipped", 0),
            "responses_stored": batch.responses_stored,
            "created_at": batch.created_at.isoformat(),
        }
        for batch in batches
    ]
    return {
        "consultation": consultation.name,
        "respondents": results.respondents,
        "respondent_kinds": results.respondent_kinds,
        "responses": results.responses,
        "empty": sum(row["empty"] for row in rows.values()),
        "rows_read": sum(i["rows_read"] for i in imports),
        "rows_skipped": sum(i["rows_skipped"] for i in imports),
        "responses_stored": sum(i["responses_stored"] for i in imports),
        "questions": [rows[key] for key in results.order],
        "demographics": [{"id": d.key, "text": d.text, "options": d.options[:20]}
                         for d in results.demographics],
        "imports": imports,
    }


# --- documents (docs/documents.md) -----------------------------------------------------------


def _add_document_sources(plan: ImportPlan, documents) -> None:
    """The documents count in the import's sources and fingerprint."""
    from heard.io.detect import SourceFile

    known = {(str(s.path), s.sha256) for s in plan.sources}
    for label, sha in documents.sources():
        if (label, sha) not in known:
            plan.sources.append(SourceFile(Path(label), sha, "document"))


def _column_links(plan: ImportPlan, options) -> list[tuple[str, str]]:
    """(respondent key, cell) from a spreadsheet column that lists each respondent's files."""
    from heard.io.documents import find_link_column

    links = []
    for table in plan.tables:
        column = find_link_column(table.table.columns, options)
        if column is None:
            continue
        index = table.table.columns.index(column)
        if table.shape == "long" and table.long:
            id_index = table.table.columns.index(table.long.respondent)
        else:
            id_index = table.table.columns.index(table.id_column) if table.id_column else None
        prefix = f"{table.table.sheet}:" if table.table.sheet is not None else ""
        for row_number, cells in table.table.rows():
            if not cells[index].strip():
                continue
            key = cells[id_index].strip() if id_index is not None else ""
            links.append((key or f"{table.table.file.stem}:{prefix}row-{row_number}",
                          cells[index]))
    return links


@dataclass
class _ReadDocuments:
    """Documents turned into responses (lazily, or read in full ahead of the transaction)."""

    options: object
    known: dict[str, str]
    responses: object  # an iterator of DocResponse, or a list once read ahead
    report: object  # the DocumentReport filled while ``responses`` is consumed


def _read_documents(plan, documents, mapping, questions, consultation, *,
                    store: bool) -> _ReadDocuments:
    """The documents' responses; with ``store`` the originals are copied into the store's
    folder and everything is read now (extraction and OCR happen here)."""
    from django.conf import settings

    from heard.io.documents import document_responses, load_options

    options = load_options(mapping.path if mapping else None)
    known: dict[str, str] = {}
    if consultation is not None:
        from heard.store.models import Question

        known.update(Question.objects.filter(consultation=consultation, kind="open")
                     .values_list("key", "text"))
    known.update({k: q.text for k, q in questions.items() if q.kind == "open"})
    known.update(options.questions)
    known.pop(options.question, None)
    store_dir = Path(settings.HEARD_HOME) / "documents" if store else None
    responses, doc_report = document_responses(
        documents, options, list(known.items()), _column_links(plan, options), store_dir
    )
    return _ReadDocuments(options, known, list(responses) if store else responses, doc_report)


def _stream_documents(plan, documents, mapping, report, questions, writer, consultation,
                      batch, read: _ReadDocuments | None = None) -> dict:
    """Read every document into the writer as responses; returns the documents' report."""
    from heard.io.detect import Answer, question_key

    read = read or _read_documents(plan, documents, mapping, questions, consultation,
                                   store=batch is not None)
    options, known, doc_report = read.options, read.known, read.report
    for item in read.responses:
        if item.question not in questions:
            text = known.get(item.question) or (
                options.question_text if item.question == options.question else item.question
            )
            questions[item.question] = _QuestionInfo(item.question, text, "open",
                                                     len(questions))
        counts = report.question(item.question, questions[item.question].text, "open")
        counts.responses += 1
        counts.empty += not item.text.strip()
        info = RespondentInfo(key=question_key(item.respondent))
        writer.add(info, Answer(item.question, item.text, [], item.key, item.source))
    writer.flush()
    report.respondents = writer.respondents_created
    if batch is not None:
        _mark_unprocessable(batch)
    if doc_report.unprocessable:
        report.warnings.append(
            f"{len(doc_report.unprocessable)} documents could not be read; they are stored as "
            "'unprocessable' with the reason (see documents.unprocessable)"
        )
    if doc_report.needs_check:
        report.notes.append(f"{len(doc_report.needs_check)} document parts have pages with low "
                            "OCR confidence; they are flagged needs_check for a person to read")
    report.warnings.extend(doc_report.warnings)
    return doc_report.to_dict()


def _mark_unprocessable(batch) -> None:
    """Documents that could not be read get the 'unprocessable' outcome and their reason."""
    from heard.store.bulk import bulk_update_rows
    from heard.store.models import Response

    rows = Response.objects.filter(import_batch=batch, source__outcome="unprocessable")
    bulk_update_rows(Response, ["outcome", "outcome_reason"], (
        (rid, "unprocessable", str(source.get("reason", ""))[:300])
        for rid, source in rows.values_list("id", "source")
    ))
