"""The report as a tagged PDF (PDF/UA-1), printed by WeasyPrint from the report's HTML.

WeasyPrint is pure Python but draws text with the system's Pango library. It is an
optional extra (``pip install 'heard[pdf]'``); without it, or without Pango, the user gets a
message naming what to install. The print HTML uses PNG charts with alt text, which become
tagged figures, and it fetches nothing: only ``data:`` URLs are allowed.
"""

from __future__ import annotations

import base64
import logging

from heard.io.reports.html import render_html
from heard.io.reports.model import Report

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "PDF reports need WeasyPrint and the Pango text library. Install them with "
    "`pip install 'heard[pdf]'` and, on Debian or Ubuntu, "
    "`apt-get install libpango-1.0-0 libpangoft2-1.0-0` "
    "(on macOS: `brew install pango`). HTML and DOCX reports work without them."
)


def _weasyprint():
    from heard.io.reports import ReportError

    try:
        import weasyprint
    except ImportError as exc:
        raise ReportError(f"{INSTALL_HINT} ({exc})") from None
    except OSError as exc:  # WeasyPrint is there but cannot load Pango
        raise ReportError(f"{INSTALL_HINT} (missing system library: {exc})") from None
    return weasyprint


def _offline_fetcher(url: str, *args, **kwargs) -> dict:
    """Resolve only base64 data: URLs, so that printing a report never reaches the network."""
    from heard.io.reports import ReportError

    head, _, payload = url.partition(",")
    if not (head.startswith("data:") and head.endswith(";base64")):
        raise ReportError(f"The report refers to an external resource ({url[:80]}).")
    body = base64.b64decode(payload)
    mime_type = head[len("data:") : -len(";base64")]
    try:  # WeasyPrint 68 and later
        from weasyprint.urls import URLFetcherResponse
    except ImportError:
        return {"string": body, "mime_type": mime_type, "redirected_url": url}
    return URLFetcherResponse(url, body=body, headers={"Content-Type": mime_type})


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (PDF/UA-1: tagged, with alt text and document language).

    Should WeasyPrint fail to lay out the tagged PDF (it has had faults with tagged tables
    split across pages), the report is printed untagged rather than not at all, and the
    fault is logged; if that fails too, :class:`ReportError` says what to download instead.
    """
    from heard.io.reports import ReportError

    weasyprint = _weasyprint()
    html = render_html(report, print_version=True)
    document = weasyprint.HTML(string=html, url_fetcher=_offline_fetcher, base_url=".")
    try:
        return document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    except ReportError:
        raise
    except Exception as exc:  # a layout fault of the tagging; the untagged PDF may still print
        log.warning("Tagged PDF failed (%s: %s); writing an untagged PDF instead",
                    type(exc).__name__, exc, exc_info=True)
        tagged_error = exc
    try:
        return document.write_pdf()
    except ReportError:
        raise
    except Exception as exc:
        raise ReportError(
            f"The PDF could not be laid out ({type(tagged_error).__name__}: {tagged_error}). "
            "The HTML and Word reports hold the same content; download one of them instead."
        ) from exc
