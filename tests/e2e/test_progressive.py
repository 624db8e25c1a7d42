"""Progressive results in Chromium: a wide CSV uploaded through the web app shows the first
question's themes while the analysis still runs, every page of the consultation links the
running job, and sign-off waits for it."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from heard.demo.generator import write_wide_csv

from .conftest import HEARD, check_accessibility, screenshot, signed_in_page

pytestmark = pytest.mark.e2e

RESPONDENTS = 1500  # enough answers that the normal pass outlasts the first one


@pytest.fixture(scope="module")
def wide_file(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    subprocess.run([*HEARD, "sample-data", str(folder / "long"), "--responses",
                    str(RESPONDENTS * 4), "--seed", "5"], env=server["env"], check=True,
                   capture_output=True)
    write_wide_csv(folder / "long", folder / "wide.csv")
    return folder / "wide.csv"


@pytest.fixture(scope="module")
def lead(browser, server):
    with signed_in_page(browser, server["url"], timeout_ms=30_000) as page:
        yield page


def _job(page, url: str) -> dict:
    return json.loads(page.request.get(url).text())


def test_first_question_themes_appear_before_the_run_finishes(lead, server, wide_file):
    page = lead
    page.goto(server["url"] + "/upload/")
    page.get_by_label("Short name").fill("wide")
    page.set_input_files("#files", [str(wide_file)])
    page.get_by_role("button", name="Upload and check the columns").click()
    page.get_by_role("heading", name="Check how the columns will be read").wait_for()
    page.get_by_role("button", name="Import").click()
    page.locator("#job-progress").wait_for()
    # the import's page follows on to the analysis it queued
    page.wait_for_url(re.compile(r"/jobs/\d+/$"), timeout=300_000)
    job_path = re.search(r"/c/wide/jobs/\d+/", page.url).group(0)
    job_json = server["url"] + job_path.rstrip("/") + ".json"
    assert _job(page, job_json)["next_run"] is None  # this is the analysis itself

    # The status line is readable: the status word, then what the job does, with counts.
    page.locator("#job-stage").filter(has_text=re.compile(r"question \d of 3")).wait_for(
        timeout=300_000)
    status = page.locator("#job-status").inner_text()
    assert re.match(r"Status: running · \d+% · (First pass \(quick\)|Refining) · question",
                    status), status
    assert not page.locator("#job-waiting").is_visible()
    check_accessibility(page)
    screenshot(page, "job-first-pass")

    # Poll as an analyst would: the first question's themes come before the run ends.
    seen_themes_while_running = False
    for _ in range(1200):
        job = _job(page, job_json)
        if job["ready"]:
            page.goto(f"{server['url']}/c/wide/q/{job['ready'][0]}/")
            rows = page.locator("table.heard-theme-table tbody tr:not(.heard-outcome)")
            running = _job(page, job_json)["status"] == "running"
            if rows.count() and not page.locator("#no-themes").count() and running:
                seen_themes_while_running = True
                break
        if job["finished"]:
            break
        page.wait_for_timeout(250)
    assert seen_themes_while_running, "themes appeared only after the run had finished"

    # While the job runs: the banner links it, sign-off is disabled, the pass is named.
    banner = page.locator("#live-job")
    assert banner.is_visible()
    assert page.locator("#live-job-link").get_attribute("href") == job_path
    assert page.locator("#sign-off").is_disabled()
    assert page.locator("#sign-off-waits").is_visible()
    if page.locator("#first-pass-note").count():
        assert "First pass: refining" in page.locator("#first-pass-note").inner_text()
    check_accessibility(page)
    screenshot(page, "question-first-pass")
    page.goto(server["url"] + "/c/wide/")
    assert page.locator("#live-job-link").get_attribute("href") == job_path
    for other in page.locator("a[href*='/c/wide/q/']").all():
        href = other.get_attribute("href")
        if href and not href.endswith(f"/q/{job['ready'][0]}/"):
            page.goto(server["url"] + href)
            break
    # a question not analysed yet says so, with the job's link (or has first-pass themes)
    if page.locator("#no-themes").count():
        assert "The analysis is running" in page.locator("#no-themes").inner_text()
        assert page.locator("#no-themes a").get_attribute("href") == job_path

    # When the job is done: no banner, no first-pass note, sign-off open again.
    for _ in range(2400):
        if _job(page, job_json)["finished"]:
            break
        page.wait_for_timeout(500)
    assert _job(page, job_json)["status"] == "done"
    page.goto(f"{server['url']}/c/wide/q/{job['ready'][0]}/")
    assert not page.locator("#live-job").count()
    assert not page.locator("#first-pass-note").count()
    assert page.locator("#sign-off").is_enabled()
    check_accessibility(page)
