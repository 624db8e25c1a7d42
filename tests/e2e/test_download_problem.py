"""A report that cannot be produced, in Chromium against a real server: a server without the
PDF libraries (WeasyPrint's Pango missing, simulated by a `weasyprint` module that cannot
load it) answers "Download report (PDF)" with a page giving the reason and the other
formats, never a bare 404; the other formats still download."""

from __future__ import annotations

import os
import re

import pytest

from .conftest import analysed_sample_server, check_accessibility, signed_in_page

pytestmark = pytest.mark.e2e

NO_PANGO = '''raise OSError("cannot load library 'libpango-1.0-0': no such file")\n'''


@pytest.fixture(scope="module")
def server_without_pango(tmp_path_factory):
    home = tmp_path_factory.mktemp("heard-e2e-no-pdf")
    shadow = home / "shadow" / "weasyprint"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(NO_PANGO, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(shadow.parent), os.environ.get("PYTHONPATH")]))
    with analysed_sample_server(home, responses=60, seed=5, env={"PYTHONPATH": path}) as url:
        yield url


def test_a_report_that_cannot_be_printed_explains_why(browser, server_without_pango):
    url = server_without_pango
    with signed_in_page(browser, url) as page:
        page.goto(url + "/c/demo/")
        reply = None

        def remember(response):
            nonlocal reply
            if "/report/" in response.url:
                reply = response

        page.on("response", remember)
        page.get_by_role("link", name="Download report (PDF)").click()
        page.get_by_role("heading", name="could not be produced").wait_for()
        assert reply is not None and reply.status == 503
        reason = page.locator("#download-reason").inner_text()
        assert "WeasyPrint" in reason and "libpango" in reason
        check_accessibility(page)
        # the page offers the formats that work, and they do
        with page.expect_download() as info:
            page.get_by_role("link", name=re.compile(r"web page \(HTML\)")).click()
        assert info.value.suggested_filename == "demo-report.html"
