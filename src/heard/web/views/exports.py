"""Downloads: the response-level export (every format in `EXPORT_FORMATS`) and the report.

When a download cannot be produced the answer is a page that says why in plain words and
what to do (another format, or the reference to give an administrator), logged with its
traceback; never a bare error status with an exception's text.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render

from heard.io.reports import FORMATS as REPORT_FORMATS
from heard.io.reports import MEDIA_TYPES, ReportError, build_report
from heard.io.reports import render as render_report
from heard.io.writers import EXPORT_FORMATS, write_export
from heard.results import export_columns, export_rows
from heard.results.consultation import UnknownQuestion
from heard.store.models import Consultation
from heard.web.access import consultation_view
from heard.web.views.common import problem

log = logging.getLogger(__name__)

REPORT_LABELS = {"html": "web page (HTML)", "docx": "Word (DOCX)", "pdf": "PDF"}


def _cannot_download(request: HttpRequest, consultation: Consultation, what: str, reason: str,
                     status: int, others: list[tuple[str, str]]) -> HttpResponse:
    """A page saying the download ``what`` failed, why, and which other downloads to try."""
    return render(request, "heard/download_problem.html", {
        "consultation": consultation, "what": what, "reason": reason, "others": others,
        "reference": getattr(request, "heard_request_id", ""),
    }, status=status)


def _alternatives(request: HttpRequest, current: str, labels: dict[str, str],
                  what: str) -> list[tuple[str, str]]:
    """Links (label, query string) to the same download in each other format."""
    query = request.GET.copy()
    out = []
    for name, label in labels.items():
        if name != current:
            query["format"] = name
            out.append((f"{what} ({label})", query.urlencode()))
    return out


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
    try:
        columns = export_columns(consultation)
        write_export(fmt, Path(handle.name), [name for name, _ in columns],
                     export_rows(consultation, key), redact=redact, dictionary=columns)
    except Exception as exc:
        handle.close()
        log.exception("Export of %s as %s failed", consultation.name, fmt.name,
                      extra={"request": request})
        others = _alternatives(request, fmt.name,
                               {n: f.label for n, f in EXPORT_FORMATS.items()},
                               "Download the responses")
        return _cannot_download(request, consultation, f"The {fmt.label} export",
                                f"{type(exc).__name__}: {exc}", 500, others)
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
        data = render_report(build_report(consultation, request.GET.get("question") or None), fmt)
    except UnknownQuestion as exc:
        return problem(request, str(exc), 404)
    except Exception as exc:
        # A missing library (ReportError) is the server's set-up: 503; anything else is a
        # fault to fix: 500, logged with its traceback and the page's reference.
        status = 503 if isinstance(exc, ReportError) else 500
        if status == 500:
            log.exception("The %s report of %s failed", fmt, consultation.name,
                          extra={"request": request})
        else:
            log.warning("The %s report of %s cannot be written: %s", fmt, consultation.name,
                        exc, extra={"request": request})
        others = _alternatives(request, fmt, REPORT_LABELS, "Download the report")
        reason = str(exc) if isinstance(exc, ReportError) else f"{type(exc).__name__}: {exc}"
        return _cannot_download(request, consultation, f"The {REPORT_LABELS[fmt]} report",
                                reason, status, others)
    response = HttpResponse(data, content_type=MEDIA_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{consultation.name}-report.{fmt}"'
    return response
