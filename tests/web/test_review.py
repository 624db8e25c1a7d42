"""The server rules of reviewing responses: version-locked coding, applying a coding to all
copies of a letter, blind review, next/previous, and what agreement counts."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from heard.results import agreement
from heard.results.agreement import BLIND_REVIEW, EDIT_RESPONSE_AND_COPIES, codings
from heard.store.models import Assignment, AuditEvent, Response
from heard.web import editing
from heard.web.views.review import pick, remaining


def _url(name: str, **kwargs) -> str:
    return reverse(f"heard:{name}", kwargs={"name": "own", **kwargs})


def _themes(response: Response) -> set[str]:
    return set(Assignment.objects.filter(response=response, is_active=True)
               .values_list("theme__key", flat=True))


# ---------------------------------------------------------------- version lock


def test_a_stale_save_is_refused_naming_who_changed_it_and_when(client, users, own):
    response = own.responses[2]  # the analysis said: safety
    url = _url("response", response_id=response.pk)
    seen = response.version
    client.force_login(users["analyst"])
    client.post(url, {"theme": [own.themes["transport"].pk], "version": seen})
    response.refresh_from_db()
    assert response.version == seen + 1 and response.edited_by == users["analyst"]
    assert _themes(response) == {"transport"}

    client.force_login(users["lead"])  # opened the same version before the analyst saved
    page = client.post(url, {"theme": [own.themes["cost"].pk], "version": seen},
                       follow=True).content.decode()
    assert _themes(response) == {"transport"}  # nothing changed
    from django.utils import timezone

    when = timezone.localtime(response.edited_at).strftime("%H:%M")
    assert f"changed by analyst@example.org at {when}" in page
    assert "Reload the page" in page
    # The reader names the last editor, and a save with the current version goes through.
    assert "Coding last changed" in page and "analyst@example.org" in page
    client.post(url, {"theme": [own.themes["cost"].pk], "version": response.version})
    assert _themes(response) == {"cost"}
    # A revert is a change too: a form opened before it is stale, and names who reverted.
    response.refresh_from_db()
    editing.revert(AuditEvent.objects.first(), users["admin"])
    with pytest.raises(editing.EditConflict, match="admin@example.org"):
        editing.edit_response(response, users["lead"], version=response.version, theme_ids=[])


# ---------------------------------------------------------------- copies


def test_apply_coding_to_all_copies_is_one_audited_change_with_its_count(as_role, own):
    first = own.responses[1]  # a campaign of 5 responses: 1, 6, 11, 16, 21
    members = [r for r in own.responses if r.group_id == first.group_id]
    assert len(members) == 5
    client = as_role("analyst")
    url = _url("response", response_id=first.pk)
    page = client.get(url).content.decode()
    assert "Apply to all 4 copies" in page
    before = AuditEvent.objects.count()
    client.post(url, {"theme": [own.themes["safety"].pk], "stance": "disagree",
                      "evidence": "yes", "copies": "1", "version": first.version})
    for member in members:
        member.refresh_from_db()
        assert _themes(member) == {"safety"}
        assert (member.stance, member.evidence_rich) == ("disagree", True)
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.first()
    assert event.action == EDIT_RESPONSE_AND_COPIES and event.after["copies"] == 4
    assert event.target_id == first.pk
    history = client.get(_url("history")).content.decode()
    assert "1 response and its 4 copies" in history
    # Only the response the analyst coded counts as coded; its copies do not.
    assert set(codings(own.question)) == {first.pk}
    # A copy opened now is stale for whoever loaded it before.
    copy = members[1]
    with pytest.raises(editing.EditConflict, match="analyst@example.org"):
        editing.edit_response(copy, None, version=1, theme_ids=[])


def test_without_the_box_only_the_response_is_coded(as_role, own):
    first = own.responses[1]
    as_role("analyst").post(_url("response", response_id=first.pk),
                            {"theme": [own.themes["safety"].pk], "version": first.version})
    assert _themes(own.responses[6]) == {"transport"}


# ---------------------------------------------------------------- agreement


def test_split_merge_and_copies_do_not_change_agreement(users, own):
    analyst = users["analyst"]
    t = own.themes
    editing.edit_response(own.responses[1], analyst, theme_ids=[t["transport"].pk])  # agrees
    editing.edit_response(own.responses[2], analyst, theme_ids=[t["transport"].pk])  # differs
    editing.edit_response(own.responses[4], analyst, theme_ids=[])  # says Other
    first = agreement(own.question, n_boot=100)
    assert first.reviewed == 3
    # gold {transport},{transport},{Other}; AI {transport},{safety},{trade}
    assert first.overall["micro_f1"] == pytest.approx(2 * 1 / (2 * 1 + 2 + 2))
    # without Other: gold {transport},{transport},{}; tp 1, fp 2 (safety, trade), fn 1
    assert first.without_other["micro_f1"] == pytest.approx(2 / (2 + 2 + 1))
    low, high = first.intervals["micro_f1"]
    assert 0.0 <= low <= first.overall["micro_f1"] <= high <= 1.0
    assert set(first.intervals_without_other) == set(first.intervals)

    transport = t["transport"]
    ids = list(Assignment.objects.filter(theme=transport, is_active=True)
               .values_list("response_id", flat=True))
    editing.split_theme(transport, None, ids[: len(ids) // 2], analyst, "Buses")
    editing.merge_themes(t["safety"], None, [t["trade"]], analyst)
    moved = agreement(own.question, n_boot=100)
    assert (moved.reviewed, moved.overall, moved.without_other, moved.intervals) == (
        first.reviewed, first.overall, first.without_other, first.intervals)
    copy_event = editing.edit_response(own.responses[11], analyst, theme_ids=[], copies=True)
    assert copy_event.after["copies"] == 4
    after = agreement(own.question, n_boot=100)
    # The copies' coding counts once: for the response it was made on.
    assert after.reviewed == 4
    editing.revert(copy_event, analyst)
    after = agreement(own.question, n_boot=100)
    assert (after.reviewed, after.overall, after.without_other) == (
        first.reviewed, first.overall, first.without_other)
    assert after.intervals == first.intervals


def test_a_split_before_coding_is_a_change_of_wording(users, own):
    """Responses moved by a split and then coded as they stand agree with the analysis."""
    analyst = users["analyst"]
    transport = own.themes["transport"]
    moved = [own.responses[1].pk, own.responses[3].pk]
    buses, _ = editing.split_theme(transport, None, moved, analyst, "Buses")
    editing.edit_response(own.responses[1], analyst, theme_ids=[buses.pk])
    editing.edit_response(own.responses[3], analyst, theme_ids=[transport.pk])
    result = agreement(own.question, n_boot=50)
    # 1: AI {transport} became {buses}, analyst {buses}: agrees.
    # 3: AI {transport, safety} became {buses, safety}; analyst {transport}: tp 0, fp 2, fn 1.
    assert result.reviewed == 2
    assert (result.kept, result.removed, result.added) == (1, 2, 1)


def test_coding_a_response_the_analysis_did_not_analyse_scores_nothing(users, own):
    response = own.responses[5]
    Response.objects.filter(pk=response.pk).update(outcome="pending")
    response.refresh_from_db()
    editing.edit_response(response, users["analyst"], theme_ids=[own.themes["cost"].pk])
    assert agreement(own.question).reviewed == 0


def test_a_split_alone_is_not_human_coding(users, own):
    transport = own.themes["transport"]
    ids = list(Assignment.objects.filter(theme=transport).values_list("response_id", flat=True))
    editing.split_theme(transport, None, ids, users["analyst"], "Buses")
    assert agreement(own.question).reviewed == 0


def test_agreement_page_shows_both_figures_and_its_base(as_role, users, own):
    editing.edit_response(own.responses[2], users["analyst"],
                          theme_ids=[own.themes["transport"].pk])
    page = as_role("lead").get(_url("agreement", qid=own.question.pk)).content.decode()
    assert "Based on <strong>1</strong> response coded one at a time" in page
    assert "With “Other”" in page and "Without “Other”" in page
    assert "Micro F1" in page and "0.000" in page
    assert "Splitting, merging or moving themes" in page


# ---------------------------------------------------------------- blind review


def test_blind_review_hides_the_analysis_and_saves_human_coding(as_role, users, own):
    client = as_role("analyst")
    url = _url("blind-review", qid=own.question.pk)
    left = remaining(own.question)
    assert left.total == 26  # 25 responses in no group, and the campaign once
    chosen, total = pick(left, f"{own.question.pk}:{users['analyst'].pk}")
    assert total == 26
    assert pick(left, f"{own.question.pk}:{users['analyst'].pk}")[0] == chosen  # stable
    page = client.get(url).content.decode()
    assert re.search(r"<strong>26</strong> responses left", page)
    shown = Response.objects.get(pk=chosen)
    assert shown.text in page
    assert " checked" not in page  # nothing of the analysis is shown as chosen
    assert 'value="' + str(chosen) + '"' in page

    reply = client.post(url, {"response": chosen, "version": shown.version,
                              "theme": [own.themes["safety"].pk], "stance": "agree"})
    assert reply.status_code == 302 and f"last={chosen}" in reply["Location"]
    event = AuditEvent.objects.first()
    assert event.action == BLIND_REVIEW and event.target_id == chosen
    shown.refresh_from_db()
    assert _themes(shown) == {"safety"} and shown.stance == "agree"
    assert codings(own.question)[chosen].blind
    assert agreement(own.question, n_boot=10).blind == 1
    page = client.get(reply["Location"]).content.decode()
    assert 'id="comparison"' in page and "The analysis" in page
    assert re.search(r"<strong>25</strong> responses left", page)
    assert remaining(own.question).total == 25


def test_blind_review_counts_a_campaign_once_and_ends(users, own):
    analyst = users["analyst"]
    editing.edit_response(own.responses[6], analyst, theme_ids=[])  # one campaign member
    left = remaining(own.question)
    assert left.total == 25 and not left.groups
    for rid in list(left.singles):
        editing.edit_response(Response.objects.get(pk=rid), analyst, theme_ids=[],
                              action=BLIND_REVIEW)
    assert pick(remaining(own.question), "x") == (None, 0)


def test_blind_review_refuses_a_response_someone_else_coded(client, users, own):
    url = _url("blind-review", qid=own.question.pk)
    response = own.responses[3]
    editing.edit_response(response, users["lead"], theme_ids=[])
    client.force_login(users["analyst"])
    page = client.post(url, {"response": response.pk, "version": 1,
                             "theme": [own.themes["cost"].pk]}, follow=True).content.decode()
    assert "changed by lead@example.org" in page
    assert _themes(response) == set()


# ---------------------------------------------------------------- next / previous


def test_next_and_previous_follow_the_question_page_filter(as_role, own):
    client = as_role("viewer")
    question_page = _url("question", qid=own.question.pk) + "?" + urlencode({"stance": "agree"})
    agree = [r.pk for r in own.responses if r.stance == "agree"]  # ids in order
    assert len(agree) == 10
    page = client.get(_url("response", response_id=agree[0]) + "?" +
                      urlencode({"next": question_page})).content.decode()
    assert re.search(r"<strong>1</strong> of <strong>10</strong> matching", page)
    assert 'id="previous-response"' not in page
    link = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert link.startswith(_url("response", response_id=agree[1]))
    page = client.get(link).content.decode()
    assert re.search(r"<strong>2</strong> of <strong>10</strong>", page)
    assert 'id="previous-response"' in page
    # With no filter: every response of the question, in id order.
    page = client.get(_url("response", response_id=own.responses[11].pk)).content.decode()
    assert re.search(r"<strong>12</strong> of <strong>30</strong> responses", page)


def test_save_and_open_the_next_response(as_role, own):
    client = as_role("analyst")
    question_page = _url("question", qid=own.question.pk) + "?" + urlencode(
        {"theme": own.themes["transport"].pk})
    first = own.responses[1]  # transport; the next with transport is 3
    reply = client.post(_url("response", response_id=first.pk),
                        {"theme": [own.themes["safety"].pk], "version": first.version,
                         "then": "next", "next": question_page})
    assert reply["Location"].startswith(_url("response", response_id=own.responses[3].pk))
    page = client.get(reply["Location"]).content.decode()
    # 1 left the filtered list when it lost transport: 3 is now first of the rest.
    assert re.search(r"<strong>1</strong> of <strong>\d+</strong> matching", page)
