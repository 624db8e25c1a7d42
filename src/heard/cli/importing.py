"""`heard import`, `heard status` and `heard delete`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table as RichTable

from heard.cli.common import (
    console,
    err_console,
    get_consultation,
    open_store,
    print_json,
    progress_bar,
    shown,
)
from heard.io.errors import InputError

IMPORT_HELP = """Load consultation responses from PATH… into the consultation NAME.

\b
PATH may be a CSV (any common encoding and delimiter), XLSX (every sheet),
JSONL or Parquet file, or a folder in the evaluation layout (questions.csv +
responses.csv). Wide files (a row per respondent) and long files (a row per
answer) are both understood, as are Qualtrics, Citizen Space, regulations.gov
and Polis exports.

\b
PATH may also be a folder or .zip archive of documents (PDF, DOCX, ODT, TXT,
HTML, EML, MSG, PNG/JPEG/TIFF scans), alone or beside a spreadsheet. They are
linked to respondents by a manifest.csv (file,respondent_id[,question_id]), a
file-name pattern, or the spreadsheet's attachment column (docs/documents.md).

\b
Examples:
  heard import answers.csv --consultation parking --dry-run   # preview, change nothing
  heard import answers.csv --consultation parking             # load it
  heard import answers.csv -c parking --title "Parking charges 2026"
  heard import survey.xlsx --consultation parking --mapping columns.toml
  heard import ../shared/data/gambling_xs --consultation gambling
  heard import comments.csv --consultation marchon             # a Polis export
  heard import letters/ --consultation parking --dry-run       # a folder of documents

\b
The import is all or nothing: on any error nothing is stored and the message
names the file, row and column. Importing the same files twice into one
consultation is refused. See docs/import.md for the mapping file.
"""


def _preview(result) -> None:
    """The column table of every input table."""
    for table in result.plan.tables:
        title = shown(f"{table.table.label}: {table.shape} form, {table.export} export")
        grid = RichTable(title=title, title_justify="left")
        for header in ("column", "type", "reason", "filled", "distinct", "sample values"):
            grid.add_column(header, overflow="fold")
        for column in table.columns:
            profile = column.profile
            role = column.role
            if column.paired_with:
                role += f" (why? for {column.paired_with})"
            grid.add_row(
                shown(column.name[:50]),
                shown(role),
                shown(column.reason),
                str(profile.non_empty) if profile else "",
                str(profile.distinct) if profile else "",
                shown(" | ".join(profile.samples)) if profile else "",
            )
        console.print(grid)


def _report(result) -> None:
    """Counts per question and the validation findings."""
    report = result.report
    grid = RichTable(title="Answers per question", title_justify="left")
    for header in ("question", "type", "answers", "empty"):
        grid.add_column(header, overflow="fold")
    for question in report.questions.values():
        grid.add_row(shown(question.key[:60]), question.kind, str(question.responses),
                     str(question.empty))
    console.print(grid)
    console.print(
        f"Rows read: {report.rows_read}   skipped: {report.rows_skipped}   "
        f"respondents: {report.respondents}   answers: {report.responses}"
    )
    duplicates = sum(report.duplicate_ids.values())
    if duplicates:
        examples = shown(", ".join(str(e["id"]) for e in report.duplicate_examples[:5]))
        console.print(f"[yellow]Duplicate ids: {duplicates} repeats[/] (e.g. {examples}); "
                      "their answers are kept under one respondent.")
    for reason, count in sorted(report.suspicious.items()):
        examples = [e for e in report.suspicious_examples if e["reason"] == reason][:3]
        where = shown("; ".join(f"{e['file']} row {e['row']} column {e['column']!r}"
                                for e in examples))
        console.print(f"[yellow]Suspicious cells ({reason}): {count}[/] e.g. {where}")
    if report.suspicious.get("formula"):
        console.print("  Formula-like cells are stored as plain text and never evaluated.")
    for example in report.skipped_examples[:5]:
        console.print(f"[yellow]Skipped[/] {shown(example['file'])} row {example['row']}: "
                      f"{shown(example['reason'])}")
    for warning in report.warnings:
        console.print(f"[yellow]Warning:[/] {shown(warning)}")
    for note in report.notes:
        console.print(f"Note: {shown(note)}")


def _documents_preview(documents: dict) -> None:
    """Each document: its respondent, how it was linked, and where its text went."""
    grid = RichTable(title="Documents", title_justify="left")
    for header in ("file", "respondent", "linked by", "question ← heading", "pages", "outcome"):
        grid.add_column(header, overflow="fold")
    for row in documents["documents"][:200]:
        for number, part in enumerate(row["responses"] or [{}]):
            heading = part.get("heading")
            target = f"{part.get('question', '')}" + (f" ← {heading[:50]!r}" if heading else "")
            pages = part.get("pages")
            grid.add_row(
                shown((part.get("file") or row["file"]) if number == 0
                      else f"  {part.get('file', '')}"),
                shown(row["respondent"][:40]) if number == 0 else "",
                row["link"] if number == 0 else "",
                shown(target), f"{pages[0]}–{pages[1]}" if pages else "", part.get("outcome", ""),
            )
    console.print(grid)
    if len(documents["documents"]) > 200:
        console.print(f"… and {len(documents['documents']) - 200} more documents (see --json).")


def _documents_summary(documents: dict) -> None:
    links = ", ".join(f"{k}: {v}" for k, v in sorted(documents["links"].items()))
    methods = ", ".join(f"{k}: {v}" for k, v in sorted(documents["methods"].items()))
    console.print(f"Documents: {documents['files']} files ({documents['parts']} with attachments"
                  f"), linked by {links or '-'}; read by {methods or '-'}; "
                  f"{len(documents['splits'])} split by question headings.")
    for item in documents["unprocessable"][:20]:
        console.print(f"[yellow]Unprocessable[/] {shown(item['file'])}: "
                      f"{shown(item['reason'])}",
                      highlight=False)
    if len(documents["unprocessable"]) > 20:
        console.print(f"… and {len(documents['unprocessable']) - 20} more unprocessable.")
    for item in documents["needs_check"][:10]:
        console.print(f"[yellow]Check by eye[/] {shown(item['file'])}: low OCR confidence "
                      "on pages "
                      f"{item['pages']}", highlight=False)
    for item in documents["skipped"][:10]:
        console.print(f"Skipped {shown(item['file'])}: {shown(item['reason'])}",
                      highlight=False)


@click.command(name="import", help=IMPORT_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--consultation", "-c", required=True, help="Short name of the consultation.")
@click.option("--mapping", "mapping_file", type=click.Path(path_type=Path),
              help="TOML file that overrides the column detection (docs/import.md).")
@click.option("--title", help="The consultation's title, heading the web app and reports "
              "(default: its short name).")
@click.option("--description", help="A sentence or two on what the consultation asked.")
@click.option("--dry-run", is_flag=True, help="Preview columns and checks; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_cmd(
    paths: tuple[Path, ...], consultation: str, mapping_file: Path | None, title: str | None,
    description: str | None, dry_run: bool, as_json: bool,
) -> None:
    from heard.io.detect import plan_import
    from heard.io.documents import split_inputs
    from heard.io.mapping import load_mapping

    try:
        mapping = load_mapping(mapping_file) if mapping_file else None
        table_paths, documents = split_inputs(list(paths))
        plan = plan_import(table_paths, mapping)
        open_store()
        from heard.pipeline.importing import run_import

        with progress_bar() as progress:
            task = progress.add_task("Importing rows", total=None)
            result = run_import(
                table_paths, consultation, mapping=mapping, dry_run=dry_run, plan=plan,
                on_rows=lambda n: progress.advance(task, n), documents=documents,
                title=title, description=description,
            )
    except InputError as exc:
        err_console.print(f"[bold red]Cannot import:[/] {shown(exc.describe())}", highlight=False,
                          markup=True)
        sys.exit(1)
    if as_json:
        print_json({
            "consultation": consultation,
            "dry_run": dry_run,
            "batch": result.batch_id,
            "respondents_created": result.respondents_created,
            "responses_stored": 0 if dry_run else result.responses_stored,
            "report": result.report.to_dict(),
            **({"documents": result.documents} if result.documents is not None else {}),
        })
        return
    if dry_run:
        _preview(result)
        if result.documents is not None:
            _documents_preview(result.documents)
    _report(result)
    if result.documents is not None:
        _documents_summary(result.documents)
    if dry_run:
        console.print("[bold]Dry run:[/] nothing was stored. Run again without --dry-run to "
                      "import, or add --mapping FILE to change a column's type.")
    else:
        console.print(
            f"[green]Imported[/] {result.responses_stored} answers from "
            f"{result.respondents_created} new respondents into {shown(repr(consultation))}. "
            f"Next: heard status {shown(consultation)}"
        )


@click.command(name="status", help="""Counts for the consultation NAME.

\b
Shows respondents, answers and empty answers per question, and rows read
versus answers stored for each import.

\b
Examples:
  heard status parking
  heard status parking --json
""")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status_cmd(name: str, as_json: bool) -> None:
    open_store()
    from heard.pipeline.importing import consultation_status

    status = consultation_status(get_consultation(name))
    if as_json:
        print_json(status)
        return
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(status["respondent_kinds"].items()))
    console.print(f"[bold]{shown(status['consultation'])}[/]: {status['respondents']} "
                  f"respondents ({shown(kinds)}), {status['responses']} answers, "
                  f"{status['empty']} empty")
    grid = RichTable(title="Questions", title_justify="left")
    for header in ("id", "type", "answers", "no substantive answer", "text"):
        grid.add_column(header, overflow="fold")
    for question in status["questions"]:
        kind = question["type"]
        if question.get("paired_closed"):
            kind += f" (follows {question['paired_closed']})"
        grid.add_row(shown(question["id"][:40]), shown(kind), str(question["responses"]),
                     str(question["empty"]), shown(question["text"][:80]))
    console.print(grid)
    if status["demographics"]:
        console.print("Respondent details: "
                      + shown(", ".join(d["id"] for d in status["demographics"])))
    imports = RichTable(title="Imports", title_justify="left")
    for header in ("#", "files", "rows read", "rows skipped", "answers stored", "when"):
        imports.add_column(header, overflow="fold")
    for batch in status["imports"]:
        imports.add_row(str(batch["id"]), shown(", ".join(batch["files"])),
                        str(batch["rows_read"]),
                        str(batch["rows_skipped"]), str(batch["responses_stored"]),
                        batch["created_at"][:19])
    console.print(imports)


@click.command(name="delete", help="""Delete the consultation NAME and everything in it.

\b
Removes its questions, respondents, answers, analysis runs, themes, campaigns,
audit trail and memberships, the stored originals of its documents, and the
cached vectors of its answers (those no other consultation shares). This cannot
be undone: export first if you may need the results.

\b
Examples:
  heard delete parking                 # shows what will go, then asks
  heard delete parking --yes           # no question (scripts)
  heard delete parking --clear-cache   # also empty the whole embedding cache
""")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--clear-cache", is_flag=True,
              help="Also empty the embedding cache of every consultation (clause and quote "
                   "vectors are shared by text); later runs embed again.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def delete_cmd(name: str, yes: bool, clear_cache: bool, as_json: bool) -> None:
    open_store()
    from django.conf import settings
    from django.db import connection

    from heard.pipeline.deleting import DeleteRefused, delete_consultation
    from heard.pipeline.importing import consultation_status

    consultation = get_consultation(name)
    if not yes:
        status = consultation_status(consultation)
        click.confirm(
            f"Delete {name!r}: {status['respondents']} respondents, {status['responses']} "
            f"answers, {consultation.runs.count()} runs and their results? This cannot be "
            "undone", abort=True, err=True,
        )
    try:
        result = delete_consultation(consultation, Path(settings.HEARD_HOME),
                                     clear_cache=clear_cache)
    except DeleteRefused as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        print_json(result.to_dict())
        return
    rows = result.rows
    console.print(
        f"[green]Deleted[/] {shown(repr(name))}: {rows.get('Respondent', 0)} respondents, "
        f"{rows.get('Response', 0)} answers, {rows.get('Run', 0)} runs, "
        f"{rows.get('Theme', 0)} themes; {result.documents_removed} stored documents and "
        f"{result.vectors_removed} cached vectors and {result.uploads_removed} uploads removed; "
        f"store {result.store_bytes_before / 1e6:.1f} MB → {result.store_bytes_after / 1e6:.1f} MB."
    )
    if not result.compacted and connection.vendor == "sqlite":
        console.print("[yellow]The store file was busy and kept its size:[/] the deleted "
                      "content is overwritten; to shrink the file, stop `heard serve` and run "
                      "`sqlite3 $HEARD_HOME/heard.sqlite3 VACUUM`.")
