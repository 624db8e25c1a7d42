"""Downloads: the response-level export (every format in `EXPORT_FORMATS`) and the report."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse

from heard.io.reports import FORMATS as REPORT_FORMATS
from heard.io.reports import MEDIA_TYPES, ReportError, build_report, render
from heard.io.writers import EXPORT_FORMATS, write_export
from heard.results import EXPORT_COLUMNS, export_rows
from heard.store.models import Consultation
from heard.web.access import consultation_view
from heard.web.views.common import problem


@consultation_view()
def export(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    fmt = EXPORT_FORMATS.get(request.GET.get("format", "csv"))
    if fmt is None:
        choices = " or ".join(f"format={name}" for name in EXPORT_FORMATS)
        return problem(request, f"Choose {choices}.", 400)
    key = request.GET.get("question") or None
    if key and not consultation.questions.filter(key=key).exists():
        return problem(request, f"No question {key!r} in this consultation.", 404)
    handle = tempfile.NamedTemporaryFile(prefix="heard-export-", suffix=f".{fmt.extension}")
    redact = request.GET.get("redact") == "1"
    write_export(fmt, Path(handle.name), EXPORT_COLUMNS, export_rows(consultation, key),
                 redact=redact)
    handle.seek(0)
    stem = f"{consultation.name}{'-' + key if key else ''}-responses{'-redacted' if redact else ''}"
    name = fmt.file_name(stem)
    # The temporary file is deleted when the response closes it.
    return FileResponse(handle, as_attachment=True, filename=name, content_type=fmt.content_type)


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
