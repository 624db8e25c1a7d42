"""A download that cannot be produced answers with a page giving the reason and what to do.

Found: a report that failed inside the PDF layout answered 404 with the exception's text
("Table wrapper without a table"), as if the consultation were missing.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from django.urls import reverse

from heard.io import reports
from heard.io.reports import ReportError


def _url(name: str) -> str:
    return reverse(f"heard:{name}", kwargs={"name": "own"})


def _fail(message: str, error: type[Exception] = ValueError):
    def render(report, fmt):
        raise error(message)
    return render


@contextmanager
def _captured(caplog, name: str, level: int):
    """caplog's records of logger ``name``, with the handler on that logger itself: a test
    before this one may have set up Heard's logging, which keeps records from the root."""
    logger = logging.getLogger(name)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(level, logger=name):
            yield
    finally:
        logger.removeHandler(caplog.handler)


@pytest.mark.parametrize("fmt", ["html", "docx", "pdf"])
def test_a_failing_report_answers_with_the_reason_and_other_formats(as_role, own, monkeypatch,
                                                                    caplog, fmt):
    monkeypatch.setattr("heard.web.views.exports.render_report",
                        _fail("Table wrapper without a table"))
    with _captured(caplog, "heard.web.views.exports", logging.ERROR):
        reply = as_role("viewer").get(_url("report") + f"?format={fmt}")
    assert reply.status_code == 500
    page = reply.content.decode()
    assert "could not be produced" in page and 'class="govuk-heading-l"' in page
    assert "ValueError: Table wrapper without a table" in page
    others = [f for f in reports.FORMATS if f != fmt]
    for other in others:
        assert f'href="?format={other}"' in page
    assert reply.get("Content-Disposition") is None  # no half-made file
    logged = [r for r in caplog.records if "report of own failed" in r.getMessage()]
    assert logged and logged[0].exc_info, "logged with its traceback"
    reference = reply["X-Request-Id"]
    assert f"reference <strong>{reference}</strong>" in page  # the id the log line carries


def test_a_missing_pdf_library_is_a_503_saying_what_to_install(as_role, own, monkeypatch):
    monkeypatch.setattr("heard.web.views.exports.render_report",
                        _fail("PDF reports need WeasyPrint and the Pango text library.",
                              ReportError))
    reply = as_role("viewer").get(_url("report") + "?format=pdf")
    assert reply.status_code == 503
    page = reply.content.decode()
    assert "PDF reports need WeasyPrint" in page and "ReportError" not in page
    assert 'href="?format=html"' in page and 'href="?format=docx"' in page


def test_a_failing_export_answers_with_the_reason(as_role, own, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("heard.web.views.exports.write_export", broken)
    reply = as_role("viewer").get(_url("export") + "?format=xlsx&question=q1")
    assert reply.status_code == 500
    page = reply.content.decode()
    assert "OSError: No space left on device" in page
    assert "format=csv" in page and "question=q1" in page


def test_an_unknown_question_is_still_a_404_page_naming_the_questions(as_role, own):
    for key in ("nope", "region"):  # a demographic column is no question
        reply = as_role("viewer").get(_url("report") + f"?format=pdf&question={key}")
        assert reply.status_code == 404
        page = reply.content.decode()
        assert f"No question &#x27;{key}&#x27; in own. Questions: q1, q1_why" in page


def test_the_pdf_is_printed_untagged_when_tagging_fails(monkeypatch, caplog):
    """WeasyPrint has failed on tagged tables split across pages; the PDF still comes out."""
    weasyprint = pytest.importorskip("weasyprint")
    from heard.io.reports import pdf
    from heard.io.reports.pdf import render_pdf

    real = weasyprint.HTML.write_pdf

    def write_pdf(self, *args, **kwargs):
        if kwargs.get("pdf_tags"):
            raise AssertionError("Table wrapper without a table")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", write_pdf)
    monkeypatch.setattr("heard.io.reports.pdf.render_html",
                        lambda report, print_version: "<html lang='en'><p>Hello</p></html>")
    # the module's logger itself is watched: the suite's earlier tests set up logging in
    # several ways, and the warning must be written whatever they did
    warnings: list[str] = []
    monkeypatch.setattr(pdf.log, "warning", lambda msg, *args, **kw: warnings.append(msg % args))
    data = render_pdf(None)
    assert data.startswith(b"%PDF")
    assert any("Table wrapper without a table" in w for w in warnings), warnings

    def always(self, *args, **kwargs):
        raise AssertionError("Table wrapper without a table")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", always)
    with pytest.raises(ReportError, match="HTML and Word reports hold the same content"):
        render_pdf(None)
