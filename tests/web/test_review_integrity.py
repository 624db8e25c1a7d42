"""Review counts that describe the themes that exist now: codings made against themes a run
replaced are retired (said, not silently dropped), and a skip in blind review is kept."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from heard.io.reports import build_report
from heard.pipeline.analysis import AnalyseParams, run_analysis, start_run
from heard.results import agreement
from heard.results.agreement import BLIND_REVIEW, codings
from heard.store.models import AuditEvent, Response, Theme
from heard.web import editing
from heard.web.views.review import remaining


def _url(name: str, **kwargs) -> str:
    return reverse(f"heard:{name}", kwargs={"name": "own", **kwargs})


def _code_three(own, analyst) -> list[int]:
    """Two codings in the reader and one in blind review; returns the responses coded."""
    t = own.themes
    coded = [own.responses[2], own.responses[3], own.responses[4]]
    editing.edit_response(coded[0], analyst, theme_ids=[t["transport"].pk])
    editing.edit_response(coded[1], analyst, theme_ids=[t["safety"].pk])
    editing.edit_response(coded[2], analyst, theme_ids=[], action=BLIND_REVIEW)
    return [r.pk for r in coded]


def _in_queue(question, response_id: int) -> bool:
    left = remaining(question)
    if response_id in set(left.singles):
        return True
    group = Response.objects.get(pk=response_id).group_id
    return group is not None and min(
        Response.objects.filter(group_id=group).values_list("id", flat=True)) in left.groups


@pytest.fixture
def home(settings, tmp_path):
    settings.HEARD_HOME = tmp_path / "home"


# ---------------------------------------------------------------- themes replaced


def test_rediscovery_retires_the_codings_made_against_the_old_themes(as_role, users, own,
                                                                      home):
    coded = _code_three(own, users["analyst"])
    before = agreement(own.question, n_boot=20)
    assert (before.reviewed, before.blind, before.retired_responses) == (3, 1, 0)
    assert not any(_in_queue(own.question, rid) for rid in coded)
    old_themes = set(own.question.themes.values_list("id", flat=True))

    run = start_run(own.consultation, AnalyseParams(embedder="static", rediscover=True,
                                                    question="q1_why"))
    run_analysis(run)
    assert not old_themes & set(Theme.objects.values_list("id", flat=True))  # all replaced

    # Agreement counts only codings made against the themes that exist now: none yet.
    after = agreement(own.question, n_boot=20)
    assert (after.reviewed, after.blind, after.overall, after.per_theme) == (0, 0, {}, [])
    assert after.retired_responses == 3
    assert [(r.run_id, r.responses, r.source) for r in after.retired] == [
        (run.pk, 3, "discovery")]
    assert codings(own.question) == {}
    # The coded responses are back in blind review's queue.
    assert all(_in_queue(own.question, rid) for rid in coded)

    # The run says what became of them: one event, with the counts.
    event = AuditEvent.objects.get(action="retire codings")
    assert event.run_id == run.pk and event.user is None
    assert event.after["coded_responses"] == 3 and event.after["blind"] == 1
    assert event.after["codings"] == 3 and event.after["analyst_coded"] == 3
    assert event.before["theme_count"] == len(old_themes)
    assert set(AuditEvent.objects.filter(retired_by=event).values_list(
        "target_id", flat=True)) == set(coded)

    # The pages say so.
    lead = as_role("lead")
    page = lead.get(_url("agreement", qid=own.question.pk)).content.decode()
    assert "No analyst has coded a response of this question yet" in page
    assert re.search(r"Not counted: analysts' codings of <strong>3</strong> responses", page)
    assert f"run {run.pk}</a>" in page and "themes discovered afresh" in page
    page = lead.get(_url("blind-review", qid=own.question.pk)).content.decode()
    assert f"Analysts' codings of 3 responses were retired when run {run.pk} replaced" in page
    history = html.unescape(lead.get(_url("history")).content.decode())
    assert f"Run {run.pk}</a>" in history
    assert f"Themes discovered afresh: {len(old_themes)} themes replaced by" in history
    assert ("Analysts' codings of 3 responses retired (1 last coded in blind review)"
            in history)
    assert "3 responses lost the themes analysts had chosen for them" in history
    report = build_report(own.consultation, "q1_why").sections[0].agreement
    assert not report.reviewed
    assert "Codings of 3 responses made against themes since replaced" in report.summary
    assert history.count(f"Retired by run {run.pk}: made against themes since replaced") == 3

    # Neither the retirement nor a retired coding can be reverted: the themes they name are
    # gone, and reverting would strip the response of the themes it has now.
    retired = AuditEvent.objects.filter(retired_by=event).first()
    for undoable in (event, retired):
        assert f'/history/{undoable.pk}/revert/"' not in history
        page = lead.get(_url("revert", event_id=undoable.pk)).content.decode()
        assert 'id="revert-refused"' in page
        with pytest.raises(editing.EditError):
            editing.revert(undoable, users["lead"])

    # Coding a response again against the new themes counts, and leaves the rest retired.
    new_theme = own.question.themes.order_by("pk").first()
    editing.edit_response(Response.objects.get(pk=coded[0]), users["analyst"],
                          theme_ids=[new_theme.pk])
    again = agreement(own.question, n_boot=20)
    assert (again.reviewed, again.retired_responses) == (1, 2)
    assert not _in_queue(own.question, coded[0])


def test_a_theme_edit_made_before_a_rediscovery_cannot_be_reverted(as_role, users, own,
                                                                    home):
    """Found: reverting a rename of a theme a later run had replaced brought the old theme
    back among the new ones."""
    renamed = editing.update_theme(own.themes["transport"], None, users["analyst"],
                                   label="Buses and trains")
    deleted = editing.delete_theme(own.themes["safety"], None, users["analyst"])
    assert editing.revert_refusal(renamed) == ""
    run = start_run(own.consultation, AnalyseParams(embedder="static", rediscover=True,
                                                    question="q1_why"))
    run_analysis(run)
    themes_now = set(own.question.themes.values_list("id", "label"))
    lead = as_role("lead")
    history = html.unescape(lead.get(_url("history")).content.decode())
    for event in (renamed, deleted):
        assert "replaced the themes this change was made to" in editing.revert_refusal(event)
        assert f'/history/{event.pk}/revert/"' not in history
        with pytest.raises(editing.EditError):
            editing.revert(event, users["lead"])
    assert set(own.question.themes.values_list("id", "label")) == themes_now


def test_a_remap_keeps_the_codings_made_against_the_themes_it_keeps(as_role, users, own,
                                                                     home):
    _code_three(own, users["analyst"])
    before = agreement(own.question, n_boot=20)
    as_role("analyst").post(_url("remap", qid=own.question.pk))
    run_analysis(AuditEvent.objects.get(action="re-map").run)
    after = agreement(own.question, n_boot=20)
    assert (after.reviewed, after.blind, after.retired) == (3, 1, [])
    assert (after.overall, after.without_other) == (before.overall, before.without_other)
    assert not AuditEvent.objects.filter(action="retire codings").exists()
    page = as_role("lead").get(_url("agreement", qid=own.question.pk)).content.decode()
    assert 'id="agreement-retired"' not in page


# ---------------------------------------------------------------- skip


def _shown(page: str) -> int:
    return int(re.search(r'name="response" value="(\d+)"', page).group(1))


def _left(page: str) -> int:
    return int(re.search(r"<strong>(\d+)</strong> responses? left", page).group(1))


def test_a_skip_is_kept_for_that_analyst_until_the_rest_is_done(client, users, own):
    url = _url("blind-review", qid=own.question.pk)
    client.force_login(users["analyst"])
    page = client.get(url).content.decode()
    first, total = _shown(page), _left(page)
    assert total == 26
    reply = client.post(url, {"response": first, "skip": "1",
                              "theme": [own.themes["cost"].pk]})
    assert reply.status_code == 302
    assert codings(own.question) == {}  # a skip codes nothing

    page = client.get(url).content.decode()
    second = _shown(page)
    assert second != first
    assert _left(page) == total  # still to review: skipped, not done
    assert "<strong>1</strong> of them skipped by you" in page
    assert client.get(url).content.decode().count(f'value="{second}"') == 1  # a reload: same
    # Signed in again (a new session), the skip still holds.
    client.logout()
    client.force_login(users["analyst"])
    assert _shown(client.get(url).content.decode()) == second

    # It does not come back while anything else is left.
    skipped = [first]
    seen = {first}
    for _ in range(total - 1):
        page = client.get(url).content.decode()
        shown = _shown(page)
        assert shown not in seen
        seen.add(shown)
        if len(skipped) < 2:  # skip a second one, code the rest
            client.post(url, {"response": shown, "skip": "1"})
            skipped.append(shown)
            continue
        response = Response.objects.get(pk=shown)
        client.post(url, {"response": shown, "version": response.version, "theme": []})
    # Only the skipped ones are left: they come back, longest skipped first.
    page = client.get(url).content.decode()
    assert (_shown(page), _left(page)) == (skipped[0], 2)
    assert 'id="skipped-before"' in page and "they come back now" in page
    # Skipping it again sends it behind the other one.
    client.post(url, {"response": skipped[0], "skip": "1"})
    assert _shown(client.get(url).content.decode()) == skipped[1]
    response = Response.objects.get(pk=skipped[1])
    client.post(url, {"response": skipped[1], "version": response.version, "theme": []})
    page = client.get(url).content.decode()
    assert (_shown(page), _left(page)) == (skipped[0], 1)


def test_a_skip_is_one_analysts_own(client, users, own):
    url = _url("blind-review", qid=own.question.pk)
    client.force_login(users["analyst"])
    first = _shown(client.get(url).content.decode())
    client.post(url, {"response": first, "skip": "1"})
    client.force_login(users["lead"])
    page = client.get(url).content.decode()
    assert _left(page) == 26 and "skipped by you" not in page
    # A response of another question cannot be skipped here.
    other = own.closed.responses.first()
    assert client.post(url, {"response": other.pk, "skip": "1"}).status_code == 404
