"""The theme hierarchy as drawn in Chromium matches the stored parent of every theme: in the
question page's theme filter, the response's coding list and the theme editor, after an
analyst has moved a sub-theme to another parent.

Each view lists themes in tree order, a sub-theme indented under its parent; the test reads
the list as a screen shows it (order and indentation) and rebuilds each theme's parent from
it, then compares with `heard themes --json`, which reads the store.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from .conftest import HEARD, check_accessibility, signed_in_page

pytestmark = pytest.mark.e2e

NAME = "tree"


def _heard(server, *args: str) -> str:
    done = subprocess.run([*HEARD, *args], env=server["env"], check=True,
                          capture_output=True, text=True)
    return done.stdout


def _stored(server, question: str) -> list[tuple[str, str | None]]:
    """(label, parent's label or None) of each theme, in the store's tree order."""
    (q,) = json.loads(_heard(server, "themes", NAME, "--question", question, "--json"))
    labels = {t["key"]: t["label"] for t in q["themes"]}
    return [(t["label"], labels.get(t["parent"])) for t in q["themes"]]


def _drawn(items) -> list[tuple[str, str | None]]:
    """(label, parent's label or None) as drawn: an indented item belongs to the nearest
    item above it that is not indented."""
    out: list[tuple[str, str | None]] = []
    parent = None
    for label, indented in items:
        if indented:
            assert parent is not None, f"sub-theme {label!r} drawn before any parent"
            out.append((label, parent))
        else:
            parent = label
            out.append((label, None))
    return out


def _theme_checkboxes(page) -> list[tuple[str, bool]]:
    """(label, indented) of the theme checkboxes of the first form that has them."""
    form = page.locator("form").filter(has=page.locator("input[name=theme]")).first
    return [
        (item.locator("label").inner_text().strip(),
         "heard-indent" in (item.get_attribute("class") or ""))
        for item in form.locator(".govuk-checkboxes__item").all()
        if item.locator("input[name=theme]").count()
    ]


@pytest.fixture(scope="module")
def tree(server):
    """A consultation of its own, analysed offline; (question, sub-theme to move, its new
    parent): a sub-theme with a label of its own, from a parent with several."""
    _heard(server, "import", str(server["data"]), "--consultation", NAME)
    _heard(server, "analyse", NAME, "--embedder", "static")
    for q in json.loads(_heard(server, "themes", NAME, "--json")):
        labels = [t["label"] for t in q["themes"]]
        parents = [t for t in q["themes"] if t["parent"] is None]
        for parent in parents:
            children = [t for t in q["themes"] if t["parent"] == parent["key"]]
            unique = [t for t in children if labels.count(t["label"]) == 1]
            if len(children) >= 2 and unique and len(parents) >= 2:
                target = next(p for p in parents if p is not parent)
                return q["question"], unique[0]["label"], target["label"]
    pytest.skip("the sample analysis made no parent with two sub-themes beside another parent")


@pytest.fixture(scope="module")
def tree_page(browser, server):
    with signed_in_page(browser, server["url"]) as page:
        yield page


def _question_url(server, page, question: str) -> str:
    page.goto(f"{server['url']}/c/{NAME}/")
    page.get_by_role("link", name=question, exact=True).first.click()
    page.locator("table.heard-theme-table").wait_for()
    return page.url


def test_editor_moves_a_sub_theme_and_every_view_draws_the_stored_tree(tree_page, server, tree):
    page = tree_page
    question, moving, target = tree
    question_url = _question_url(server, page, question)
    assert (moving, target) not in _stored(server, question)
    page.goto(question_url + "themes/")
    card = page.locator("section.heard-theme-card").filter(
        # a sub-theme's heading starts with "Sub-theme of <parent>: " for screen readers
        has=page.get_by_role("heading", name=re.compile(re.escape(moving) + "$"))
    ).first
    card.get_by_label("Place under").select_option(label=target)
    card.get_by_role("button", name=f"Move {moving}").click()
    page.get_by_role("heading", name="Edit themes").wait_for()
    after = _stored(server, question)
    assert (moving, target) in after

    # the editor: order and indentation, and the screen-reader text naming the parent
    cards = page.locator("section.heard-theme-card")
    drawn = []
    for card in cards.all():
        heading = card.locator("h2").first
        hidden = heading.locator(".govuk-visually-hidden")
        prefix = hidden.inner_text() if hidden.count() else ""
        label = heading.inner_text().replace(prefix, "", 1).strip()
        indented = "heard-indent" in (card.get_attribute("class") or "")
        drawn.append((label, indented))
        if indented:
            assert prefix.startswith("Sub-theme of ")
    assert _drawn(drawn) == after
    headings = [h.inner_text() for h in page.locator("section.heard-theme-card h2").all()]
    for (_, parent), heading in zip(after, headings, strict=True):
        if parent is not None:
            assert f"Sub-theme of {parent}:" in heading
    check_accessibility(page)

    # the question page's theme filter
    page.goto(question_url)
    assert _drawn(_theme_checkboxes(page)) == after
    check_accessibility(page)

    # the coding list of a response of this question
    page.locator("a[href*='/responses/']").first.click()
    page.get_by_role("heading", name="Your coding").wait_for()
    assert _drawn(_theme_checkboxes(page)) == after
    check_accessibility(page)
