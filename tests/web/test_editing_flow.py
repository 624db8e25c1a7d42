"""The server's rules for editing themes: split with search and select-all (a parent too),
search by meaning's count, the history's details, revert after confirmation, and re-map."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from heard.analysis.text import content_hash
from heard.store.models import (
    Assignment,
    AuditEvent,
    EmbeddingCache,
    Question,
    Response,
    Run,
    Theme,
)
from heard.web import editing, filters

from .conftest import TEXTS


def _url(name, **kwargs):
    return reverse(f"heard:{name}", kwargs={"name": "own", **kwargs})


def _active(theme: Theme) -> set[int]:
    return set(Assignment.objects.filter(theme=theme, is_active=True)
               .values_list("response_id", flat=True))


# ---------------------------------------------------------------- split


def test_split_search_lists_only_matching_responses(as_role, own):
    theme = own.themes["transport"]  # texts 1 ("More buses…") and 3 ("I agree…")
    page = as_role("analyst").get(_url("theme-split", theme_id=theme.pk), {"q": "buses"})
    html = page.content.decode()
    members = page.context["members"]
    assert members and all("buses" in r.text.lower() for r in members)
    assert page.context["matching"] == len(members) == 6
    assert page.context["total"] == len(_active(theme)) == 12
    assert "Showing 6 of 6 responses matching “buses” (12 in the theme)" in html
    assert "Select all (6 shown)" in html


def test_select_all_splits_the_search_result_only(as_role, own):
    theme = own.themes["transport"]
    buses = {r.pk for r in own.responses if r.text.startswith("More buses")}
    reply = as_role("analyst").post(_url("theme-split", theme_id=theme.pk), {
        "label": "Buses", "all": "1", "q": "buses", "matching": str(len(buses)),
        "version": theme.version,
    })
    assert reply.status_code == 302
    new = Theme.objects.get(label="Buses")
    assert _active(new) == buses
    assert _active(theme) & buses == set() and len(_active(theme)) == 12 - len(buses)


def test_select_all_refuses_when_the_matching_set_changed(as_role, own):
    theme = own.themes["transport"]
    before = _active(theme)
    reply = as_role("analyst").post(_url("theme-split", theme_id=theme.pk), {
        "label": "Buses", "all": "1", "q": "buses", "matching": "5", "version": theme.version,
    })
    assert reply.status_code == 400
    assert "6 match now, the page showed 5" in reply.content.decode()
    assert not Theme.objects.filter(label="Buses").exists() and _active(theme) == before


def test_split_of_a_parent_lists_its_family_and_makes_a_sub_theme(as_role, own):
    parent, charges, trade = (own.themes[k] for k in ("cost", "charges", "trade"))
    family = _active(charges) | _active(trade)
    client = as_role("analyst")
    page = client.get(_url("theme-split", theme_id=parent.pk))
    html = page.content.decode()
    assert {r.pk for r in page.context["members"]} == family and len(family) == 12
    assert "Showing 12 of 12 responses" in html and "is a parent theme" in html
    assert reverse("heard:theme-split", args=["own", charges.pk]) in html
    assert "(Local trade)" in html  # each row says which sub-theme it is in
    chosen = sorted(_active(charges))[:2] + sorted(_active(trade))[:1]
    reply = client.post(_url("theme-split", theme_id=parent.pk),
                        {"label": "Fees", "response": chosen, "version": parent.version})
    assert reply.status_code == 302
    new = Theme.objects.get(label="Fees")
    assert new.parent_id == parent.pk and _active(new) == set(chosen)
    assert not (_active(charges) | _active(trade)) & set(chosen)
    event = AuditEvent.objects.get(action="split theme")
    history = client.get(_url("history")).content.decode()
    assert "3 responses split from “Cost” into “Fees”" in history
    editing.revert(event, None)
    assert not Theme.objects.filter(label="Fees").exists()
    assert _active(charges) | _active(trade) == family


def test_split_refuses_responses_of_other_themes(as_role, own):
    theme = own.themes["transport"]
    stranger = next(iter(_active(own.themes["charges"])))
    reply = as_role("analyst").post(_url("theme-split", theme_id=theme.pk),
                                    {"label": "X", "response": [stranger],
                                     "version": theme.version})
    assert reply.status_code == 400 and b"Select at least one response" in reply.content


# ---------------------------------------------------------------- search by meaning


class _Axis:
    """An embedder whose phrase vector is the first axis."""

    name, dim = "axis-v1", 2

    def embed(self, texts):
        return np.array([[1.0, 0.0]] * len(texts), dtype=np.float32)


def _store(hash_: str, vector) -> None:
    EmbeddingCache.objects.create(model="axis-v1", content_hash=hash_,
                                  vector=np.asarray(vector, dtype=np.float32).tobytes())


@pytest.fixture
def vectors(own, monkeypatch):
    """Every distinct text has a vector: "More buses…" on the phrase's axis, the rest not;
    campaign copies have none of their own (the analysis embedded their representative)."""
    monkeypatch.setattr("heard.analysis.embeddings.get_embedder", lambda name: _Axis())
    for r in own.responses:
        if r.group_id is None:
            _store(r.content_hash, [1.0, 0.1] if r.text.startswith("More buses")
                   else [0.0, 1.0])
    _store(content_hash(TEXTS[1]), [1.0, 0.0])  # the campaign's representative text
    return own


def test_meaning_search_counts_matches_and_includes_campaign_copies(vectors):
    own = vectors
    copies = {r.pk for r in own.responses if r.group_id is not None}
    buses = {r.pk for r in own.responses if r.text.startswith("More buses")}
    assert copies and copies <= buses and buses - copies
    found = filters.semantic_search(own.question.responses.all(), "bus services", "axis")
    assert {rid for rid, _ in found.ranked} == buses
    assert found.matching == len(buses) and found.searched == len(own.responses)
    top = filters.semantic_search(own.question.responses.all(), "bus services", "axis", limit=2)
    assert top.matching == len(buses) and top.shown == 2


def test_question_page_says_how_many_match_by_meaning(as_role, vectors):
    own = vectors
    Run.objects.filter(consultation=own.consultation).update(params={"embedder": "axis"})
    reply = as_role("viewer").get(reverse("heard:question", args=["own", own.question.pk]),
                                  {"similar": "bus services"})
    html = reply.content.decode()
    n = sum(r.text.startswith("More buses") for r in own.responses)
    assert reply.context["meaning"].matching == n
    assert f"<strong>{n}</strong> responses similar in meaning to “bus services”" in html
    assert f"of {len(own.responses)} compared" in html
    assert "100" not in html.split('id="result-count"')[1].split("</p>")[0]


# ---------------------------------------------------------------- history


def test_history_shows_question_and_before_after(as_role, users, own):
    analyst = users["analyst"]
    editing.update_theme(own.themes["safety"], None, analyst, label="Road safety",
                         description="Danger on roads")
    editing.move_theme(own.themes["trade"], None, analyst, parent=None)
    response = own.responses[2]  # safety only
    editing.edit_response(response, analyst,
                          theme_ids=[own.themes["safety"].pk, own.themes["transport"].pk],
                          stance="agree")
    editing.set_stage(own.question, users["lead"], "themes_agreed")
    html = as_role("analyst").get(_url("history")).content.decode()
    assert reverse("heard:question", args=["own", own.question.pk]) in html
    assert "Why do you say that?" in html
    assert "Label “Safety” → “Road safety”" in html
    assert "Description of “Road safety”: (none) → “Danger on roads”" in html
    assert "“Local trade” moved from “Cost” to the top level" in html
    assert (f"Response #{response.pk}: coding {{“Road safety”}} → "
            f"{{“Public transport”, “Road safety”}}; stance unclear → agree") in html
    assert "Sign-off: Draft → Themes agreed" in html


def test_revert_asks_for_confirmation_first(as_role, users, own):
    theme = own.themes["safety"]
    event = editing.update_theme(theme, None, users["analyst"], label="Road safety")
    client = as_role("analyst")
    history = client.get(_url("history")).content.decode()
    assert f'action="{_url("revert", event_id=event.pk)}"' not in history  # no one-click form
    page = client.get(_url("revert", event_id=event.pk))
    html = page.content.decode()
    assert page.status_code == 200 and "Revert “rename theme”?" in html
    assert "Label “Safety” → “Road safety”" in html and "Yes, revert this change" in html
    for attempt in (client.get, client.post):  # neither opening nor a bare POST reverts
        attempt(_url("revert", event_id=event.pk))
        theme.refresh_from_db()
        assert theme.label == "Road safety"
    assert client.post(_url("revert", event_id=event.pk), {"confirm": "1"}).status_code == 302
    theme.refresh_from_db()
    event.refresh_from_db()
    assert theme.label == "Safety" and event.reverted
    assert as_role("viewer").get(_url("revert", event_id=event.pk)).status_code == 403


# ---------------------------------------------------------------- re-map


def _pairs(question: Question) -> set[tuple[int, int]]:
    return set(Assignment.objects.filter(theme__question=question, is_active=True)
               .values_list("response_id", "theme_id"))


def test_remap_is_recorded_and_sends_sign_off_back(as_role, users, own, settings, tmp_path):
    from heard.pipeline.analysis import run_analysis

    settings.HEARD_HOME = tmp_path / "home"
    editing.set_stage(own.question, users["lead"], "themes_agreed")
    client = as_role("analyst")
    reply = client.post(_url("remap", qid=own.question.pk), follow=True)
    html = reply.content.decode()
    assert "Its sign-off went back from “Themes agreed” to “Draft”" in html
    own.question.refresh_from_db()
    assert own.question.stage == "draft"
    event = AuditEvent.objects.get(action="re-map")
    run = Run.objects.get(pk=event.run_id)
    assert event.user == users["analyst"] and event.before["question_id"] == own.question.pk
    history = client.get(_url("history")).content.decode()
    assert "Sign-off: Themes agreed → Draft" in history and "The re-map job is" in history
    # The job runs (static embedder, the fixture's themes kept); it counts what changed.
    before = _pairs(own.question)
    run_analysis(run)
    after = _pairs(own.question)
    event.refresh_from_db()
    changed = event.after["changed"]
    assert changed["added"] + changed["removed"] > 0  # the corrections moved something
    assert changed["added"] == len(after - before) and changed["removed"] == len(before - after)
    assert changed["responses"] == len({r for r, _ in after ^ before})
    history = client.get(_url("history")).content.decode()
    assert (f"{changed['added'] + changed['removed']} assignment(s) changed: "
            f"{changed['added']} added, {changed['removed']} removed") in history
    page = client.get(_url("revert", event_id=event.pk)).content.decode()
    assert "A re-map cannot be reverted" in page
    client.post(_url("revert", event_id=event.pk), {"confirm": "1"})
    event.refresh_from_db()
    assert not event.reverted


def test_remap_of_a_draft_question_keeps_the_stage(as_role, own):
    reply = as_role("analyst").post(_url("remap", qid=own.question.pk), follow=True)
    assert "Re-mapping q1_why with its current themes." in reply.content.decode()
    assert "sign-off went back" not in reply.content.decode()
    own.question.refresh_from_db()
    assert own.question.stage == "draft"
    assert AuditEvent.objects.get(action="re-map").after["sign_off"] == "draft"



def test_theme_editor_links_each_theme_to_its_responses(as_role, own):
    html = as_role("analyst").get(_url("themes", qid=own.question.pk)).content.decode()
    question = reverse("heard:question", args=["own", own.question.pk])
    cost = own.themes["cost"]
    # A parent counts its family's responses (the results model's definition).
    assert f'href="{question}?theme={cost.pk}">12 responses' in html
    assert f'href="{question}?theme={own.themes["safety"].pk}">12 responses' in html


def test_a_remap_keeps_the_analysts_coding(as_role, users, own, settings, tmp_path):
    """Stance and evidence flag set by an analyst survive a re-run, and a response they gave
    a theme is mapped, whatever the run would have said of it."""
    from heard.pipeline.analysis import run_analysis

    settings.HEARD_HOME = tmp_path / "home"
    response = own.question.responses.filter(is_empty=False).order_by("pk").first()
    theme = own.question.themes.order_by("pk").last()
    stance = "agree" if response.stance != "agree" else "disagree"
    evidence = not response.evidence_rich
    editing.edit_response(response, users["analyst"], theme_ids=[theme.pk], stance=stance,
                          evidence_rich=evidence)
    Response.objects.filter(pk=response.pk).update(outcome=Response.Outcome.OTHER)
    as_role("analyst").post(_url("remap", qid=own.question.pk))
    run_analysis(Run.objects.filter(kind="analyse").latest("pk"))
    response.refresh_from_db()
    assert (response.stance, response.evidence_rich) == (stance, evidence)
    assert response.evidence_reason == "set by an analyst"
    assert response.outcome == Response.Outcome.MAPPED
    assert set(Assignment.objects.filter(response=response, is_active=True)
               .values_list("theme_id", flat=True)) == {theme.pk}
