"""`heard report`: the consultation report as HTML, DOCX or PDF."""

from __future__ import annotations

import time
from pathlib import Path

import click

from heard.cli.common import console, get_consultation, open_store


@click.command("report")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "docx", "pdf"]),
    default="html",
    show_default=True,
    help="Output format.",
)
@click.option("--question", "-q", default=None, help="Only this question (its key, e.g. q2).")
@click.option(
    "--group-by",
    default=None,
    metavar="ATTRIBUTE",
    help="Respondent attribute for the breakdown by group, or 'kind'. "
    "Default: the demographic with the fewest values (2 to 6).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write. Default: NAME-report.FORMAT in the current folder.",
)
def report_cmd(
    name: str, fmt: str, question: str | None, group_by: str | None, output: Path | None
) -> None:
    """Write the report of consultation NAME: numbers, themes, quotes, stance, method.

    \b
    Examples:
      heard report demo                          # demo-report.html
      heard report demo --format docx -o demo.docx
      heard report demo --format pdf --question q2
    """
    open_store()
    from heard.io.reports import ReportError, build_report, render

    consultation = get_consultation(name)
    started = time.perf_counter()
    try:
        content = build_report(consultation, question, group_by=group_by)
        data = render(content, fmt)
    except (ValueError, ReportError) as exc:
        raise click.ClickException(str(exc)) from None
    target = output or Path(f"{name}-report.{fmt}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    console.print(
        f"Wrote {target} ({len(data) / 1024:.0f} KB, {fmt.upper()}) "
        f"in {time.perf_counter() - started:.1f} s."
    )
