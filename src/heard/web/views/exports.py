"""Downloads: the response-level export (CSV, XLSX) and the report (HTML, DOCX, PDF)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse

from heard.io.reports import FORMATS as REPORT_FORMATS
from heard.io.reports import MEDIA_TYPES, ReportError, build_report, render
from heard.io.writers import write_csv, write_xlsx
from heard.pipeline.results import EXPORT_COLUMNS, export_rows
from heard.store.models import Consultation
from heard.web.access import consultation_view
from heard.web.views.common import problem

FORMATS = {
    "csv": (write_csv, "text/csv; charset=utf-8"),
    "xlsx": (write_xlsx,
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@consultation_view()
def export(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        return problem(request, "Choose format=csv or format=xlsx.", 400)
    key = request.GET.get("question") or None
    if key and not consultation.questions.filter(key=key).exists():
        return problem(request, f"No question {key!r} in this consultation.", 404)
    writer, content_type = FORMATS[fmt]
    handle = tempfile.NamedTemporaryFile(prefix="heard-export-", suffix=f".{fmt}")
    writer(Path(handle.name), EXPORT_COLUMNS, export_rows(consultation, key))
    handle.seek(0)
    name = f"{consultation.name}{'-' + key if key else ''}-responses.{fmt}"
    # The temporary file is deleted when the response closes it.
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


@consultation_view()
def report(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    fmt = request.GET.get("format", "html")
    if fmt not in REPORT_FORMATS:
        return problem(request, "Choose format=html, format=docx or format=pdf.", 400)
    try:
        data = render(build_report(consultation, request.GET.get("question") or None), fmt)
    except ValueError as exc:
        return problem(request, str(exc), 404)
    except ReportError as exc:  # e.g. PDF without WeasyPrint or Pango
        return problem(request, str(exc), 503)
    response = HttpResponse(data, content_type=MEDIA_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{consultation.name}-report.{fmt}"'
    return response
