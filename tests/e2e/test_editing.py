"""Editing themes in Chromium against a real server: split a parent with search and
select-all, search by meaning, read the history's details, revert after confirming, and
re-map (recorded, sign-off back to Draft); axe checks on every page.

The tests run in order and share one signed-in page on their own analysed consultation.
"""

from __future__ import annotations

import re

import pytest

from .conftest import (
    analysed_sample_server,
    check_accessibility,
    screenshot,
    signed_in_page,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def editing_server(tmp_path_factory):
    """`heard serve` with one consultation analysed offline (static embedder)."""
    home = tmp_path_factory.mktemp("heard-e2e-editing")
    with analysed_sample_server(home, responses=160, seed=4) as url:
        yield url


@pytest.fixture(scope="module")
def editor(browser, editing_server):
    with signed_in_page(browser, editing_server) as page:
        yield page


def _count(page, selector: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", page.locator(selector).inner_text())]


def _open_question(page, url: str) -> None:
    page.goto(url + "/c/demo/")
    page.get_by_role("link", name="q2", exact=True).first.click()
    page.locator("#result-count").wait_for()


def test_split_a_parent_with_search_and_select_all(editor, editing_server):
    page = editor
    _open_question(page, editing_server)
    page.get_by_role("link", name="Edit themes").click()
    titles = page.locator("section.heard-theme-card h2").all_inner_texts()
    # The first top-level theme followed by a sub-theme is a parent.
    index = next(i for i, t in enumerate(titles[:-1])
                 if not t.startswith("Sub-theme") and titles[i + 1].startswith("Sub-theme"))
    page.locator("section.heard-theme-card").nth(index).get_by_role(
        "link", name=re.compile("^Split")).click()
    page.locator("#split-parent").wait_for()  # says it is a parent and links its sub-themes
    check_accessibility(page)
    shown, total = _count(page, "#split-count")[:2]
    assert 0 < shown == total  # the family's responses, not "0 of 0"
    words = re.findall(r"[a-z]{5,}", page.locator("label[for^=sr-]").first.inner_text().lower())
    page.get_by_label("Search this theme's responses").fill(words[0])
    page.get_by_role("button", name="Search").click()
    found = _count(page, "#split-count")[0]
    assert 0 < found <= total
    for text in page.locator("label[for^=sr-]").all_inner_texts():
        assert words[0] in text.lower()
    check_accessibility(page)
    screenshot(page, "split-search")
    page.get_by_label(f"Select all ({found} shown)").check()
    page.get_by_label("Name of the new theme").fill(f"About {words[0]}")
    page.get_by_role("button", name="Split into a new theme").click()
    page.get_by_text(f"Split “About {words[0]}”").wait_for()
    card = page.locator("section.heard-theme-card", has_text=f"About {words[0]}")
    assert "Sub-theme of" in card.locator("h2").inner_text()
    check_accessibility(page)


def test_search_by_meaning_counts_real_matches(editor, editing_server):
    page = editor
    _open_question(page, editing_server)
    page.get_by_label("Similar in meaning to").fill("the road closure delays ambulances")
    page.get_by_role("button", name="Apply filters").click()
    text = page.locator("#result-count").inner_text()
    assert "similar in meaning to" in text
    matching = int(page.locator("#result-count strong").inner_text())
    compared = int(re.search(r"of (\d+) compared", text).group(1))
    assert 0 < matching <= compared and matching != 100
    listed = page.locator(".heard-response").count()
    assert listed == min(matching, 25)  # one page of the matches
    check_accessibility(page)


def test_history_details_and_revert_confirmation(editor, editing_server):
    page = editor
    page.goto(editing_server + "/c/demo/history/")
    row = page.locator("tr", has=page.get_by_role("cell", name="split theme", exact=True))
    assert row.get_by_role("link", name="q2").count() == 1
    assert re.search(r"\d+ responses? split from “.+” into “About ", row.inner_text())
    check_accessibility(page)
    row.get_by_role("link", name=re.compile("^Revert")).click()
    page.get_by_role("heading", name="Revert “split theme”?").wait_for()
    assert "split from" in page.locator("#revert-details").inner_text()
    check_accessibility(page)
    screenshot(page, "history-revert")
    page.get_by_role("link", name="No, keep it").click()
    row = page.locator("tr", has=page.get_by_role("cell", name="split theme", exact=True))
    assert "reverted" not in row.inner_text()
    row.get_by_role("link", name=re.compile("^Revert")).click()
    page.get_by_role("button", name="Yes, revert this change").click()
    page.get_by_text("Reverted “split theme”").wait_for()
    assert page.get_by_role("cell", name="revert: split theme", exact=True).count() == 1
    check_accessibility(page)


def test_remap_is_recorded_and_resets_sign_off(editor, editing_server):
    page = editor
    _open_question(page, editing_server)
    page.get_by_role("button", name="Sign off: themes agreed").click()
    page.get_by_text("Stage is now “Themes agreed”").wait_for()
    page.get_by_role("button", name="Re-map using our corrections").click()
    page.get_by_text("Its sign-off went back from “Themes agreed” to “Draft”").wait_for()
    check_accessibility(page)
    for _ in range(600):  # up to 5 minutes on a busy machine
        state = page.locator("#job-state").inner_text()
        if state in ("done", "failed", "cancelled"):
            break
        page.wait_for_timeout(500)
    assert state == "done"
    page.goto(editing_server + "/c/demo/history/")
    row = page.locator("tr", has=page.get_by_role("cell", name="re-map", exact=True))
    text = row.inner_text()
    assert "lead@example.org" in text and "q2" in text
    assert re.search(r"\d+ assignment\(s\) changed: \d+ added, \d+ removed", text), text
    assert "Sign-off: Themes agreed → Draft" in text
    assert row.get_by_role("link", name=re.compile("^Revert")).count() == 0
    check_accessibility(page)
    screenshot(page, "history-remap")
    _open_question(page, editing_server)
    assert "Draft" in page.locator(".govuk-caption-l").inner_text()
