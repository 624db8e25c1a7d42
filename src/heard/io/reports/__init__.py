"""Consultation reports: one content model built from the store, rendered as HTML, DOCX or PDF.

``build_report`` reads the store once into a plain :class:`~heard.io.reports.model.Report`;
``render`` turns that into bytes in one of :data:`FORMATS`. The renderers only lay out what
the model holds, so the three formats cannot disagree about the content.
"""

from __future__ import annotations

from heard.io.reports.model import Report, build_report

FORMATS = ("html", "docx", "pdf")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class ReportError(Exception):
    """A report cannot be written (for example a missing system library); says what to do."""


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` ("html", "docx" or "pdf") as bytes."""
    if fmt == "html":
        from heard.io.reports.html import render_html

        return render_html(report).encode("utf-8")
    if fmt == "docx":
        from heard.io.reports.docx import render_docx

        return render_docx(report)
    if fmt == "pdf":
        from heard.io.reports.pdf import render_pdf

        return render_pdf(report)
    raise ValueError(f"Unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}.")


__all__ = ["FORMATS", "MEDIA_TYPES", "Report", "ReportError", "build_report", "render"]
