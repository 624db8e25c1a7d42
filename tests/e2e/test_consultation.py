"""A consultation's own pages in Chromium against a real server: its title, the closed
questions' counts, the upload's column plan, and themes taken from another consultation;
axe on every page opened."""

from __future__ import annotations

import re
import subprocess

import pytest

from .conftest import HEARD, PASSWORD, check_accessibility, screenshot

pytestmark = pytest.mark.e2e

WIDE_CSV = (
    "ResponseId,Region,Agree,Why\n"
    "r1,North,Agree,The buses are far too slow in the morning and always late\n"
    "r2,South,Disagree,Parking is already too expensive for people who work in town\n"
    "r3,North,Agree,Cleaner air near the school gates would help the children\n"
    "r4,South,Agree,More cycle lanes please because the roads feel unsafe at night\n"
)


@pytest.fixture(scope="module")
def consultations(server):
    """"ltn-2026" analysed (the source of themes) and "ltn-2027" imported, from the CLI."""
    env, data = server["env"], server["data"]

    def heard(*args: str) -> None:
        subprocess.run([*HEARD, *args], env=env, check=True, capture_output=True)

    heard("import", str(data), "-c", "ltn-2026", "--title", "Millbrook LTN 2026")
    heard("analyse", "ltn-2026", "--embedder", "static", "--question", "q2")
    heard("import", str(data), "-c", "ltn-2027")
    return server


def _signed_in(page, server) -> None:
    page.goto(server["url"] + "/")
    if "/sign-in/" in page.url:
        page.get_by_label("Email address").fill("lead@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Consultations").wait_for()


def _wait_for_job(page) -> str:
    page.locator("#job-progress").wait_for()
    for _ in range(600):  # up to 5 minutes on a busy machine
        state = page.locator("#job-state").inner_text()
        if state in ("done", "failed", "cancelled"):
            return state
        page.wait_for_timeout(500)
    return state


def test_title_heads_the_pages_and_a_lead_changes_it(page, consultations):
    _signed_in(page, consultations)
    assert page.get_by_role("link", name="Millbrook LTN 2026").count() == 1  # home list
    check_accessibility(page)
    page.goto(consultations["url"] + "/c/ltn-2027/")
    page.get_by_role("heading", name="ltn-2027", level=1).wait_for()  # no title: the name
    page.get_by_text("Change the title and description").click()
    page.get_by_label("Title", exact=True).fill("Millbrook LTN 2027")
    page.get_by_label("Description").fill("Should the trial become permanent?")
    check_accessibility(page)
    screenshot(page, "consultation-title")
    page.get_by_role("button", name="Save title and description").click()
    page.get_by_role("heading", name="Millbrook LTN 2027", level=1).wait_for()
    assert page.title().startswith("Millbrook LTN 2027")
    description = page.locator(".heard-description").inner_text()
    assert description == "Should the trial become permanent?"
    check_accessibility(page)
    page.goto(consultations["url"] + "/c/ltn-2027/history/")
    assert page.get_by_role("cell", name="edit title and description", exact=True).count() == 1
    assert page.get_by_text("Title “(none)” → “Millbrook LTN 2027”").count() == 1
    check_accessibility(page)


def test_overview_shows_closed_question_counts(page, consultations):
    _signed_in(page, consultations)
    page.goto(consultations["url"] + "/c/ltn-2027/")
    closed = page.locator("table", has=page.get_by_text("Closed questions"))
    options = closed.locator(".heard-options li").all_inner_texts()
    assert options, closed.inner_text()
    counts = [int(re.search(r": (\d+) \(", o).group(1)) for o in options]
    answered = int(closed.locator("tbody tr td").nth(1).inner_text())
    assert sum(counts) == answered  # one option per respondent in the sample data
    assert all(re.search(r"\(\d+%\)$", o) for o in options)
    screenshot(page, "overview-closed-counts")
    check_accessibility(page)


def _choose_q2(select, group: str | None = None) -> None:
    """Choose q2 (of the consultation whose option group is ``group``, when given)."""
    scope = select.locator(f"optgroup[label='{group}']") if group else select
    option = scope.locator("option", has_text=re.compile(r"^q2:")).first
    select.select_option(option.get_attribute("value"))


def test_a_question_starts_from_the_themes_of_another_consultation(page, consultations):
    _signed_in(page, consultations)
    page.goto(consultations["url"] + "/c/ltn-2027/")
    page.get_by_text("Start from the themes of another consultation").click()
    _choose_q2(page.get_by_label("Question of this consultation"))
    source = page.get_by_label("Themes of")
    assert "Millbrook LTN 2026" in source.inner_html()  # grouped by consultation
    _choose_q2(source, "Millbrook LTN 2026")  # other consultations of this server have a q2
    check_accessibility(page)
    screenshot(page, "themes-from-another")
    page.get_by_role("button", name="Map to these themes").click()
    assert _wait_for_job(page) == "done", page.content()[:2000]
    check_accessibility(page)
    page.goto(consultations["url"] + "/c/ltn-2026/")
    themes_2026 = int(page.locator("table").first.locator("tr", has_text="q2")
                      .locator("td").nth(2).inner_text())
    page.goto(consultations["url"] + "/c/ltn-2027/")
    row = page.locator("table").first.locator("tr", has_text="q2")
    assert int(row.locator("td").nth(2).inner_text()) == themes_2026 > 0


def test_upload_preview_changes_a_column_role(page, consultations, tmp_path):
    _signed_in(page, consultations)
    data = tmp_path / "parks.csv"
    data.write_text(WIDE_CSV, encoding="utf-8")
    page.goto(consultations["url"] + "/upload/")
    page.get_by_label("Short name").fill("parks")
    page.get_by_label("Title (optional)").fill("Parks and open spaces")
    page.set_input_files("#files", [str(data)])
    page.get_by_role("button", name="Upload and check the columns").click()
    page.get_by_role("heading", name="Check how the columns will be read").wait_for()
    region = page.get_by_label("Read Region as")
    assert region.input_value() == "demographic"
    assert page.get_by_label("Read ResponseId as").input_value() == "id"
    assert page.get_by_text("The buses are far too slow").count() >= 1  # sample values
    screenshot(page, "upload-preview")
    check_accessibility(page)
    # A bad plan is explained, and nothing is imported.
    for column in ("ResponseId", "Region", "Agree", "Why"):
        page.get_by_label(f"Read {column} as").select_option("ignore")
    page.get_by_role("button", name="Import").click()
    assert page.get_by_text("no column is read as a question").count() >= 1
    check_accessibility(page)
    page.get_by_label("Read ResponseId as").select_option("id")
    page.get_by_label("Read Agree as").select_option("closed")
    page.get_by_label("Read Why as").select_option("open")
    page.get_by_label("Read Region as").select_option("closed")
    page.get_by_role("button", name="Import").click()
    assert _wait_for_job(page) == "done", page.content()[:2000]
    page.get_by_role("link", name="Back to the consultation").click()
    page.get_by_role("heading", name="Parks and open spaces", level=1).wait_for()
    closed = page.locator("table", has=page.get_by_text("Closed questions"))
    assert closed.locator("th", has_text="Region").count() == 1
    assert "North: 2 (50%)" in closed.inner_text()
    check_accessibility(page)
