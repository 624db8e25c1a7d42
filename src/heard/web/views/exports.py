"""Response-level export as CSV or XLSX (written by heard.io.writers)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse

from heard.io.writers import write_csv, write_xlsx
from heard.pipeline.results import EXPORT_COLUMNS, export_rows
from heard.store.models import Consultation
from heard.web.access import consultation_view

FORMATS = {
    "csv": (write_csv, "text/csv; charset=utf-8"),
    "xlsx": (write_xlsx,
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@consultation_view()
def export(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        return HttpResponse("Choose format=csv or format=xlsx.", status=400)
    key = request.GET.get("question") or None
    if key and not consultation.questions.filter(key=key).exists():
        return HttpResponse(f"No question {key!r} in this consultation.", status=404)
    writer, content_type = FORMATS[fmt]
    handle = tempfile.NamedTemporaryFile(prefix="heard-export-", suffix=f".{fmt}")
    writer(Path(handle.name), EXPORT_COLUMNS, export_rows(consultation, key))
    handle.seek(0)
    name = f"{consultation.name}{'-' + key if key else ''}-responses.{fmt}"
    # The temporary file is deleted when the response closes it.
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
