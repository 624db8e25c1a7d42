"""The analyst's flow in Chromium against a real server: sign in, upload, analyse, edit
themes, filter, search, read, sign off and export; axe checks and screenshots on the way.

The tests run in order and share one signed-in page.
"""

from __future__ import annotations

import re

import pytest

from .conftest import PASSWORD, check_accessibility, screenshot

pytestmark = pytest.mark.e2e


def _question_link(page):
    return page.get_by_role("link", name="q2", exact=True).first


def test_sign_in(page, server):
    page.goto(server["url"] + "/")
    assert "/sign-in/" in page.url
    check_accessibility(page)
    page.get_by_label("Email address").fill("lead@example.org")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("The email address or password is not right").count() >= 1
    check_accessibility(page)
    screenshot(page, "sign-in")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Consultations").wait_for()
    check_accessibility(page)


def test_upload_and_run_analysis(page, server):
    page.get_by_role("link", name="Upload a new consultation").click()
    check_accessibility(page)
    page.get_by_role("button", name="Upload and check the columns").click()  # nothing chosen
    assert page.get_by_text("Choose one or more files to import").count() >= 1
    check_accessibility(page)
    page.get_by_label("Short name").fill("demo")
    data = server["data"]
    page.set_input_files("#files", [str(data / "questions.csv"), str(data / "responses.csv")])
    screenshot(page, "upload")
    page.get_by_role("button", name="Upload and check the columns").click()
    page.get_by_role("heading", name="Check how the columns will be read").wait_for()
    page.get_by_role("button", name="Import").click()
    page.locator("#job-progress").wait_for()
    assert "/jobs/" in page.url
    check_accessibility(page)
    seen = set()
    for _ in range(600):  # up to 5 minutes on a busy machine
        state = page.locator("#job-state").inner_text()
        seen.add(int(page.locator("#job-percent").inner_text() or 0))
        if state in ("done", "failed", "cancelled"):
            break
        if len(seen) == 3:
            screenshot(page, "job-progress")
        page.wait_for_timeout(500)
    assert state == "done", page.content()[:2000]
    assert len(seen) >= 2  # the bar moved while the page polled
    page.get_by_role("link", name="Back to the consultation").click()
    page.get_by_role("heading", name="demo").wait_for()
    check_accessibility(page)
    screenshot(page, "overview")


def test_question_page_filter_and_search(page, server):
    _question_link(page).click()
    page.locator("table.heard-theme-table").wait_for()
    check_accessibility(page)
    screenshot(page, "question", full_page=False)
    total = int(page.locator("#result-count strong").inner_text())
    page.locator("#stance-disagree").check()
    page.get_by_role("button", name="Apply filters").click()
    filtered = int(page.locator("#result-count strong").inner_text())
    assert 0 < filtered < total
    page.locator("#f-evidence").check()  # narrows the stance filter further
    page.get_by_role("button", name="Apply filters").click()
    both = int(page.locator("#result-count strong").inner_text())
    assert both <= filtered
    assert "stance=disagree" in page.url and "evidence=1" in page.url
    check_accessibility(page)
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Keywords").fill("traffic")
    page.get_by_role("button", name="Apply filters").click()
    found = int(page.locator("#result-count strong").inner_text())
    assert 0 < found < total
    for text in page.locator(".heard-response p.govuk-body").all_inner_texts()[:5]:
        assert "traffic" in text.lower()
    screenshot(page, "question-search", full_page=False)


def test_response_reader(page, server):
    page.get_by_role("link", name=re.compile(r"^Read response")).first.click()
    page.get_by_role("heading", name="Your coding").wait_for()
    check_accessibility(page)
    page.get_by_role("button", name="Mark as read").click()
    page.get_by_role("button", name="Mark as unread").wait_for()
    page.locator("#rs-disagree").check()
    page.get_by_role("button", name="Save coding").click()
    page.get_by_text("Saved your changes to this response").wait_for()
    screenshot(page, "response")
    page.locator(".govuk-caption-l a").click()
    page.get_by_role("heading", name="All answers").wait_for()
    check_accessibility(page)
    page.go_back()
    page.go_back()


def test_edit_themes(page, server):
    page.goto(server["url"] + "/")
    page.get_by_role("link", name="demo").click()
    _question_link(page).click()
    page.get_by_role("link", name="Edit themes").click()
    page.get_by_role("heading", name="Edit themes").wait_for()
    check_accessibility(page)
    cards = page.locator("section.heard-theme-card")
    assert cards.count() >= 3
    # Rename the first theme.
    first = cards.nth(0)
    first.get_by_label("Name").fill("Renamed in the browser")
    first.get_by_role("button", name=re.compile("^Save")).click()
    page.get_by_text("Saved the theme “Renamed in the browser”").wait_for()
    # Merge the last theme into the first.
    last_label = cards.nth(cards.count() - 1).locator("h2").inner_text().split(": ")[-1]
    page.locator("input[name=source]").last.check()
    page.locator("#merge-target").select_option(label="Renamed in the browser")
    page.get_by_role("button", name="Merge themes").click()
    page.get_by_text(re.compile(r"Merged 1 theme\(s\) into")).wait_for()
    assert page.locator("section.heard-theme-card h2", has_text=last_label).count() == 0
    # Split two responses off the renamed theme.
    page.locator("section.heard-theme-card").nth(0).get_by_role("link", name=re.compile(
        "^Split")).click()
    page.get_by_role("heading", name="Renamed in the browser").wait_for()
    check_accessibility(page)
    page.get_by_label("Name of the new theme").fill("Split off in the browser")
    boxes = page.locator("input[name=response]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    screenshot(page, "theme-split")
    page.get_by_role("button", name="Split into a new theme").click()
    page.get_by_text("Split “Split off in the browser”").wait_for()
    screenshot(page, "themes", full_page=False)
    page.get_by_role("link", name="History").click()
    check_accessibility(page)
    for action in ("rename theme", "merge themes", "split theme", "edit response"):
        assert page.get_by_role("cell", name=action, exact=True).count() >= 1
    screenshot(page, "history")


def test_sign_off_agreement_and_export(page, server):
    page.get_by_role("link", name="demo", exact=True).first.click()
    _question_link(page).click()
    page.get_by_role("button", name="Sign off: themes agreed").click()
    page.get_by_text("Stage is now “Themes agreed”").wait_for()
    check_accessibility(page)
    page.get_by_role("link", name="Agreement").click()
    page.get_by_role("heading", name="Agreement between the analysis and analysts").wait_for()
    assert page.get_by_text("Micro F1").count() == 1
    check_accessibility(page)
    screenshot(page, "agreement")
    page.go_back()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download (CSV)").click()
    path = info.value.path()
    head = open(path, encoding="utf-8-sig").readline()
    assert head.startswith("question_id,question_text")
    assert info.value.suggested_filename == "demo-q2-responses.csv"
