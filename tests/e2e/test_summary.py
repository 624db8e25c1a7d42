"""The question's summary in plain words, in Chromium against a real server: each number is
a link to the responses it counts, and the report downloads in every format.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from .conftest import check_accessibility, screenshot, signed_in_page

pytestmark = pytest.mark.e2e

HEARD = [sys.executable, "-m", "heard"]


@pytest.fixture(scope="module")
def analysed(server):
    """A consultation imported and analysed from the command line, next to the server."""
    data = server["data"]
    for args in (["import", str(data / "questions.csv"), str(data / "responses.csv"),
                  "--consultation", "brief"],
                 ["analyse", "brief", "--embedder", "static", "--seed", "1"]):
        subprocess.run([*HEARD, *args], env=server["env"], check=True, capture_output=True)
    return "brief"


@pytest.fixture(scope="module")
def signed_in(browser, server, analysed):
    with signed_in_page(browser, server["url"]) as page:
        yield page


def _question_page(page, server, name: str) -> str:
    page.goto(f"{server['url']}/c/{name}/")
    page.get_by_role("link", name="q2", exact=True).first.click()
    page.locator("#plain-summary").wait_for()
    return page.url


def test_each_number_of_the_summary_opens_its_responses(signed_in, server, analysed):
    page = signed_in
    url = _question_page(page, server, analysed)
    check_accessibility(page)
    screenshot(page, "question-summary", full_page=False)
    summary = page.locator("#plain-summary")
    sentences = summary.locator("p").all_inner_texts()
    assert sentences and any("%" in s for s in sentences)
    assert any(re.search(r"agreed|disagreed", s) for s in sentences)  # the sample asks q1
    links = summary.locator("a[data-count]")
    count = links.count()
    assert count >= 3
    for i in range(count):
        link = page.locator("#plain-summary a[data-count]").nth(i)
        wanted = int(link.get_attribute("data-count"))
        link.click()
        page.locator("#result-count").wait_for()
        shown = int(page.locator("#result-count strong").inner_text())
        assert shown == wanted, (i, page.url)
        if i == 0:
            check_accessibility(page)
        page.goto(url)


def test_the_report_downloads_in_every_format(signed_in, server, analysed):
    from docx import Document

    page = signed_in
    page.goto(f"{server['url']}/c/{analysed}/")
    check_accessibility(page)
    contents = {}
    for fmt in ("HTML", "DOCX", "PDF"):
        with page.expect_download() as info:
            page.get_by_role("link", name=f"Download report ({fmt})").click()
        download = info.value
        assert download.suggested_filename == f"{analysed}-report.{fmt.lower()}"
        contents[fmt] = open(download.path(), "rb").read()
    assert "In brief" in contents["HTML"].decode("utf-8")
    paragraphs = [p.text for p in Document(io.BytesIO(contents["DOCX"])).paragraphs]
    assert "In brief" in paragraphs
    assert contents["PDF"].startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=contents["PDF"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    assert "In brief" in text
