"""Reviewing responses in Chromium against a real server: blind review, next/previous in the
response reader, applying a coding to all copies of a text, and the agreement page; axe on
every page.

The tests run in order and share one signed-in page on their own analysed consultation.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from .conftest import check_accessibility, screenshot, signed_in_page

pytestmark = pytest.mark.e2e

NAME = "review"


def _store(env: dict, code: str):
    """Run ``code`` against the server's store in a separate process; it prints JSON."""
    script = ("from heard.store.setup import open_store\nopen_store()\n"
              "import json\nfrom heard.store.models import *\n" + code)
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def review(server):
    """The sample consultation imported and analysed as ``review``; its q2's ids."""
    env, data = server["env"], server["data"]
    for args in (["import", str(data), "--consultation", NAME], ["analyse", NAME]):
        subprocess.run([sys.executable, "-m", "heard", *args], env=env, check=True,
                       capture_output=True)
    return _store(env, (
        f"q = Question.objects.get(consultation__name={NAME!r}, key='q2')\n"
        "groups = [list(g.members.order_by('id').values_list('id', flat=True))\n"
        "          for g in q.groups.order_by('-size', 'id')]\n"
        "print(json.dumps({'question': q.pk, 'groups': [g for g in groups if len(g) > 1]}))"
    ))


@pytest.fixture(scope="module")
def page(browser, server):
    with signed_in_page(browser, server["url"]) as page:
        yield page


def _left(page) -> int:
    return int(page.locator("#left-to-review strong").inner_text())


def test_blind_review(page, server, review):
    page.goto(f"{server['url']}/c/{NAME}/q/{review['question']}/")
    page.get_by_role("link", name="Start blind review").click()
    page.get_by_role("heading", name="Blind review").wait_for()
    check_accessibility(page)
    left = _left(page)
    assert left > 0
    form = page.locator("#blind-form")
    assert form.locator("input:checked").count() == 0  # the analysis's choices are hidden
    first = form.locator("input[name=response]").get_attribute("value")
    review["blind"] = int(first)
    form.locator("input[name=theme]").first.check()
    screenshot(page, "blind-review")
    page.get_by_role("button", name="Save and continue").click()
    page.locator("#comparison").wait_for()
    assert page.get_by_text(re.compile(r"Saved your coding of response")).count() == 1
    assert page.locator("#comparison").get_by_role("columnheader",
                                                   name="The analysis").count() == 1
    assert _left(page) == left - 1
    assert page.locator("#blind-form input[name=response]").get_attribute("value") != first
    check_accessibility(page)
    screenshot(page, "blind-review-compared")


def test_next_and_previous_follow_the_filter(page, server, review):
    page.goto(f"{server['url']}/c/{NAME}/q/{review['question']}/?stance=agree")
    total = int(page.locator("#result-count strong").inner_text())
    assert total >= 2
    page.get_by_role("link", name=re.compile(r"^Read response")).first.click()
    page.get_by_role("heading", name="Your coding").wait_for()
    position = page.locator("#response-position")
    assert re.sub(r"\s+", " ", position.inner_text()).startswith(f"1 of {total} matching")
    assert page.locator("#previous-response").count() == 0
    check_accessibility(page)
    page.locator("#next-response").click()
    page.get_by_text(re.compile(f"2 of {total} matching")).wait_for()
    assert "stance%3Dagree" in page.url  # the filter rides along in the query string
    page.locator("#previous-response").click()
    page.get_by_text(re.compile(f"1 of {total} matching")).wait_for()
    check_accessibility(page)


def test_apply_coding_to_all_copies(page, server, review):
    # a group of copies other than the one blind review may have coded
    members = next(g for g in review["groups"] if review.get("blind") not in g)
    page.goto(f"{server['url']}/c/{NAME}/responses/{members[0]}/")
    copies = len(members) - 1
    box = page.get_by_label(f"Apply to all {copies} cop{'y' if copies == 1 else 'ies'}")
    check_accessibility(page)
    form = page.locator("#coding-form")
    for checked in form.locator("input[name=theme]:checked").all():
        checked.uncheck()
    form.locator("input[name=theme]").last.check()
    label = form.locator("label[for=" + form.locator("input[name=theme]").last
                         .get_attribute("id") + "]").inner_text()
    box.check()
    screenshot(page, "apply-to-copies")
    page.get_by_role("button", name="Save coding").click()
    page.get_by_text(f"Saved your coding of this response and its {copies} cop").wait_for()
    check_accessibility(page)
    for rid in members[1:]:
        page.goto(f"{server['url']}/c/{NAME}/responses/{rid}/")
        checked = page.locator("#coding-form input[name=theme]:checked")
        assert checked.count() == 1
        assert page.locator("label[for=" + checked.get_attribute("id") + "]").inner_text() \
            == label
    page.goto(f"{server['url']}/c/{NAME}/history/")
    assert page.get_by_role("cell", name=f"1 response and its {copies} copies").count() == 1
    check_accessibility(page)


def test_agreement_page(page, server, review):
    page.goto(f"{server['url']}/c/{NAME}/q/{review['question']}/")
    page.get_by_role("link", name="Agreement", exact=True).click()
    page.get_by_role("heading", name="Agreement between the analysis and analysts").wait_for()
    # One blind review and one coding applied to copies: two responses, not the copies.
    base = re.sub(r"\s+", " ", page.locator("#agreement-base").inner_text())
    assert base.startswith("Based on 2 responses coded one at a time"), base
    table = page.locator("#agreement-overall")
    assert table.get_by_role("columnheader", name="With “Other”").count() == 1
    assert table.get_by_role("columnheader", name="Without “Other”").count() == 1
    row = page.locator("#measure-micro_f1 td")
    value = float(row.nth(0).inner_text())
    low, high = (float(x) for x in row.nth(1).inner_text().split(" – "))
    assert 0.0 <= low <= value <= high <= 1.0
    check_accessibility(page)
    screenshot(page, "agreement-review")
