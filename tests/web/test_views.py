"""Behaviour of the web app's pages and actions."""

from __future__ import annotations

import csv
import io

from django.test import override_settings
from django.urls import reverse

from heard.store.models import Assignment, AuditEvent, Question, Response, Theme

from .conftest import PASSWORD


def _url(name, **kwargs):
    return reverse(f"heard:{name}", kwargs={"name": "own", **kwargs})


# ---------------------------------------------------------------- sign in


def test_sign_in_and_out(client, users):
    page = client.get(reverse("heard:sign-in"))
    assert b'<label class="govuk-label" for="email">' in page.content
    reply = client.post(reverse("heard:sign-in"),
                        {"email": "viewer@example.org", "password": PASSWORD})
    assert reply.status_code == 302
    assert client.get(reverse("heard:home")).status_code == 200
    client.post(reverse("heard:sign-out"))
    assert client.get(reverse("heard:home")).status_code == 302


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_sign_in_is_throttled_per_user_and_address(client, users):
    for _ in range(3):
        reply = client.post(reverse("heard:sign-in"),
                            {"email": "viewer@example.org", "password": "wrong"})
        assert reply.status_code == 401
    blocked = client.post(reverse("heard:sign-in"),
                          {"email": "viewer@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many failed attempts" in blocked.content
    # Another account from the same address is not blocked.
    ok = client.post(reverse("heard:sign-in"), {"email": "lead@example.org", "password": PASSWORD})
    assert ok.status_code == 302


def test_sign_in_rejects_offsite_next(client, users):
    reply = client.post(reverse("heard:sign-in") + "?next=https://evil.example/",
                        {"email": "viewer@example.org", "password": PASSWORD,
                         "next": "https://evil.example/"})
    assert reply["Location"] == "/"


def test_csrf_is_enforced(users, own):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["analyst"])
    reply = client.post(_url("theme-add", qid=own.question.pk), {"label": "X"})
    assert reply.status_code == 403
    assert not own.question.themes.filter(label="X").exists()


def test_cookie_settings():
    from django.conf import settings

    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"


# ---------------------------------------------------------------- question page


def test_question_page_counts_hierarchy_and_chart(as_role, own):
    page = as_role("viewer").get(_url("question", qid=own.question.pk)).content.decode()
    assert "<caption" in page and "Themes" in page
    # 30 responses; charges on 0,5,10..., trade on 4,9,...: Cost (parent) counts both once.
    assert "heard-bar" in page and "Skip to main content" in page
    from heard.results import question_results

    results = question_results(own.question)
    by_key = {row.key: row for row in results.themes}
    assert by_key["charges"].count == 6 and by_key["trade"].count == 6
    assert by_key["cost"].count == 12 and by_key["cost"].level == 0
    assert by_key["charges"].level == 1
    assert by_key["transport"].count == 12  # texts 1 and 3
    assert sum(by_key["safety"].stance.values()) == 12
    assert by_key["charges"].evidence_rich == sum(
        1 for i in range(0, 30, 5) if i % 4 == 0)


def _ids(client, own, query):
    from django.http import QueryDict

    from heard.web.filters import ResponseFilter

    flt = ResponseFilter.from_query(QueryDict(query))
    return sorted(int(r.key.rsplit("a", 1)[1]) for r in flt.apply(own.question))


def test_filters_combine(as_role, own):
    t = own.themes
    both = _ids(None, own, f"theme={t['transport'].pk}&theme={t['safety'].pk}&mode=and")
    assert both == [i for i in range(30) if i % 5 == 3]
    either = _ids(None, own, f"theme={t['transport'].pk}&theme={t['safety'].pk}")
    assert either == [i for i in range(30) if i % 5 in (1, 2, 3)]
    parent = _ids(None, own, f"theme={t['cost'].pk}")
    assert parent == [i for i in range(30) if i % 5 in (0, 4)]
    three = _ids(None, own, f"theme={t['cost'].pk}&stance=agree&demo=region=North")
    assert three == [i for i in range(30) if i % 5 in (0, 4) and i % 3 == 0 and i % 2]
    assert _ids(None, own, "evidence=1") == [i for i in range(30) if i % 4 == 0]
    assert _ids(None, own, "campaign=1") == [i for i in range(25) if i % 5 == 1]
    assert _ids(None, own, "closed=q1=Disagree") == [i for i in range(30) if i % 3 == 0]
    assert _ids(None, own, "demo=respondent_type=organisation") == [0, 7, 14, 21, 28]


def test_keyword_search_uses_full_text(as_role, own):
    assert _ids(None, own, "q=cycle") == [i for i in range(30) if i % 5 == 2]
    assert _ids(None, own, "q=cycle+station") == [i for i in range(30) if i % 5 == 2]
    assert _ids(None, own, "q=cyc") == [i for i in range(30) if i % 5 == 2]  # prefix
    assert _ids(None, own, 'q="nothing-like-this') == []
    page = as_role("viewer").get(_url("question", qid=own.question.pk) + "?q=buses")
    assert b"6</strong> responses match" in page.content


def test_keyword_index_follows_edits(own):
    response = own.responses[0]
    Response.objects.filter(pk=response.pk).update(text="zebra crossings please")
    assert _ids(None, own, "q=zebra") == [0]
    assert 0 not in _ids(None, own, "q=parking")


def test_semantic_search_ranks_by_stored_vectors(own, monkeypatch):
    import numpy as np

    from heard.store.models import EmbeddingCache
    from heard.web import filters

    class Fake:
        name, dim = "fake-v1", 2

        def embed(self, texts):
            return np.array([[1.0, 0.0]], dtype=np.float32)

    monkeypatch.setattr("heard.analysis.embeddings.get_embedder", lambda name: Fake())
    for i, response in enumerate(own.responses[:3]):
        vector = np.array([1.0, 0.0] if i == 2 else [0.0, 1.0], dtype=np.float32)
        EmbeddingCache.objects.create(model="fake-v1", content_hash=response.content_hash,
                                      vector=vector.tobytes())
    found = filters.semantic_search(own.question.responses.all(), "danger", "fake")
    assert found.ranked[0][0] == own.responses[2].pk and found.ranked[0][1] > 0.99
    # The other two are orthogonal to the phrase: compared, below the cut, not listed.
    assert found.searched == 3 and found.matching == 1 and len(found.ranked) == 1


# ---------------------------------------------------------------- theme editing


def test_rename_is_audited_and_revertible(as_role, own):
    client = as_role("analyst")
    theme = own.themes["safety"]
    client.post(_url("theme-edit", theme_id=theme.pk),
                {"label": "Road safety", "description": "Danger", "version": theme.version})
    theme.refresh_from_db()
    assert theme.label == "Road safety" and theme.version == 2
    event = AuditEvent.objects.get(action="rename theme")
    assert event.before["themes"][0]["label"] == "Safety"
    assert event.after["themes"][0]["label"] == "Road safety"
    assert event.user.email == "analyst@example.org"
    history = client.get(_url("history")).content.decode()
    assert "“Safety” → “Road safety”" in history
    client.post(_url("revert", event_id=event.pk), {"confirm": "1"})
    theme.refresh_from_db()
    assert theme.label == "Safety"
    event.refresh_from_db()
    assert event.reverted


def test_two_analysts_editing_one_theme(as_role, users, own, client):
    theme = own.themes["safety"]
    loaded_version = theme.version
    first = as_role("analyst")
    first.post(_url("theme-edit", theme_id=theme.pk),
               {"label": "First", "version": loaded_version})
    second = as_role("lead")  # same client object, now another user with the stale form
    reply = second.post(_url("theme-edit", theme_id=theme.pk),
                        {"label": "Second", "version": loaded_version}, follow=True)
    theme.refresh_from_db()
    assert theme.label == "First"
    assert "was changed by analyst@example.org after you opened it" in reply.content.decode()
    assert "Reload the page" in reply.content.decode()


def test_merge_moves_responses_and_keeps_ai_origin(as_role, own):
    t = own.themes
    as_role("analyst").post(_url("theme-merge", qid=own.question.pk),
                            {"target": t["safety"].pk, "source": [t["transport"].pk],
                             "version": t["safety"].version})
    assert not Theme.objects.filter(pk=t["transport"].pk).exists()
    merged = Assignment.objects.filter(theme=t["safety"], is_active=True)
    assert merged.values("response").distinct().count() == 18  # texts 1, 2, 3
    assert all(a.ai_original for a in merged)
    event = AuditEvent.objects.get(action="merge themes")
    from heard.web import editing

    editing.revert(event, None)
    assert Theme.objects.filter(pk=t["transport"].pk, label="Public transport").exists()
    assert Assignment.objects.filter(theme=t["transport"], is_active=True).count() == 12
    assert Assignment.objects.filter(theme=t["safety"], is_active=True).count() == 12


def test_split_forms_a_new_theme(as_role, own):
    t = own.themes["transport"]
    chosen = [r.pk for r in own.responses if int(r.key.rsplit("a", 1)[1]) % 5 == 1][:3]
    reply = as_role("analyst").post(_url("theme-split", theme_id=t.pk),
                                    {"label": "Buses", "response": chosen, "version": t.version})
    assert reply.status_code == 302
    new = Theme.objects.get(label="Buses")
    assert set(Assignment.objects.filter(theme=new, is_active=True)
               .values_list("response_id", flat=True)) == set(chosen)
    assert Assignment.objects.filter(theme=t, is_active=True).count() == 9
    assert new.origin == "analyst" and new.parent_id == t.parent_id


def test_split_without_selection_explains(as_role, own):
    t = own.themes["transport"]
    reply = as_role("analyst").post(_url("theme-split", theme_id=t.pk),
                                    {"label": "Buses", "version": t.version})
    assert reply.status_code == 400
    assert b"Select at least one response" in reply.content


def test_delete_sends_responses_to_other(as_role, own):
    t = own.themes["trade"]
    as_role("analyst").post(_url("theme-delete", theme_id=t.pk), {"version": t.version})
    assert not Theme.objects.filter(pk=t.pk).exists()
    orphans = [r for r in own.responses if int(r.key.rsplit("a", 1)[1]) % 5 == 4]
    for r in orphans:
        r.refresh_from_db()
        assert r.outcome == "other"
    event = AuditEvent.objects.get(action="delete theme")
    from heard.web import editing

    editing.revert(event, None)
    restored = Theme.objects.get(pk=t.pk)
    assert restored.parent_id == own.themes["cost"].pk
    orphans[0].refresh_from_db()
    assert orphans[0].outcome == "mapped"


def test_add_and_move_theme(as_role, own):
    client = as_role("analyst")
    client.post(_url("theme-add", qid=own.question.pk), {"label": "Noise"})
    noise = Theme.objects.get(label="Noise")
    assert noise.origin == "analyst" and noise.parent_id is None
    client.post(_url("theme-move", theme_id=noise.pk),
                {"parent": own.themes["cost"].pk, "version": noise.version})
    noise.refresh_from_db()
    assert noise.parent_id == own.themes["cost"].pk
    # A theme with sub-themes cannot go under another theme (two levels only).
    reply = client.post(_url("theme-move", theme_id=own.themes["cost"].pk),
                        {"parent": own.themes["safety"].pk, "version": 1}, follow=True)
    assert b"two levels only" in reply.content


# ---------------------------------------------------------------- responses


def test_response_reader_highlights_quotes_and_edits(as_role, own):
    client = as_role("analyst")
    response = own.responses[0]
    page = client.get(_url("response", response_id=response.pk)).content.decode()
    assert '<mark class="heard-quote">Parking charges are too high</mark>' in page
    client.post(_url("response", response_id=response.pk),
                {"theme": [own.themes["safety"].pk], "stance": "disagree", "evidence": "no"})
    response.refresh_from_db()
    assert response.stance == "disagree" and response.evidence_rich is False
    active = Assignment.objects.filter(response=response, is_active=True)
    assert [a.theme.key for a in active] == ["safety"]
    removed = Assignment.objects.get(response=response, theme=own.themes["charges"])
    assert not removed.is_active and removed.ai_original and removed.origin == "human"
    client.post(_url("read", response_id=response.pk), {"read": "1"})
    client.post(_url("flag", response_id=response.pk), {"flagged": "1"})
    response.refresh_from_db()
    assert response.is_read and response.is_flagged


def test_viewer_cannot_post_response_edits(as_role, own):
    reply = as_role("viewer").post(_url("response", response_id=own.responses[0].pk),
                                   {"stance": "agree"})
    assert reply.status_code == 403


def test_respondent_view_shows_all_answers(as_role, own):
    person = own.responses[3].respondent
    page = as_role("viewer").get(_url("respondent", respondent_id=person.pk)).content.decode()
    assert "Disagree" in page and own.responses[3].text in page and "region" in page


# ---------------------------------------------------------------- sign-off, agreement


def test_stage_sign_off_in_order(as_role, users, own):
    client = as_role("lead")
    client.post(_url("stage", qid=own.question.pk), {"stage": "final"})
    own.question.refresh_from_db()
    assert own.question.stage == "draft"  # skipping a stage is refused
    client.post(_url("stage", qid=own.question.pk), {"stage": "themes_agreed"})
    own.question.refresh_from_db()
    assert own.question.stage == "themes_agreed"
    assert own.question.stage_changed_by == users["lead"]
    assert AuditEvent.objects.filter(action="sign off stage").count() == 1


def test_agreement_between_ai_and_analysts(as_role, own):
    from heard.results import agreement
    from heard.web import editing

    assert agreement(own.question).reviewed == 0
    # Analyst confirms one response and changes another completely.
    editing.edit_response(own.responses[1], None, theme_ids=[own.themes["transport"].pk])
    editing.edit_response(own.responses[2], None, theme_ids=[own.themes["transport"].pk])
    result = agreement(own.question, n_boot=200)
    assert result.reviewed == 2
    # gold {transport},{transport}; pred {transport},{safety}: tp=1 fp=1 fn=1
    assert abs(result.overall["micro_f1"] - 0.5) < 1e-9
    low, high = result.intervals["micro_f1"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0
    rows = {r["key"]: r for r in result.per_theme}
    assert rows["safety"]["f1"] == 0.0 and rows["transport"]["support"] == 2
    page = as_role("lead").get(_url("agreement", qid=own.question.pk)).content.decode()
    assert "Micro F1" in page and "0.500" in page


# ---------------------------------------------------------------- export, jobs


def test_export_csv_and_xlsx(as_role, own):
    client = as_role("viewer")
    reply = client.get(_url("export") + "?format=csv&question=q1_why")
    body = b"".join(reply.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 30 and rows[0]["themes"] == "Charges"
    assert "attachment" in reply["Content-Disposition"]
    xlsx = client.get(_url("export") + "?format=xlsx")
    assert b"".join(xlsx.streaming_content)[:2] == b"PK"
    lines = client.get(_url("export") + "?format=json&question=q1_why")
    assert lines["Content-Type"].startswith("application/x-ndjson")
    assert 'responses.jsonl"' in lines["Content-Disposition"]
    assert len(b"".join(lines.streaming_content).decode().splitlines()) == 30
    refused = client.get(_url("export") + "?format=pdf")
    assert refused.status_code == 400 and b"format=json" in refused.content
    page = client.get(_url("overview")).content.decode()
    assert all(f"?format={name}" in page for name in ("csv", "xlsx", "json"))


def test_export_redacted(as_role, own):
    from heard.privacy import redact

    client = as_role("viewer")
    plain, redacted = (
        client.get(_url("export") + f"?format=csv&question=q1_why{extra}")
        for extra in ("", "&redact=1"))
    assert 'responses-redacted.csv"' in redacted["Content-Disposition"]
    rows = [list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
            for r in (plain, redacted)]
    assert len(rows[0]) == len(rows[1]) == 30
    assert [redact(r["text"]).text for r in rows[0]] == [r["text"] for r in rows[1]]
    assert [r["themes"] for r in rows[0]] == [r["themes"] for r in rows[1]]
    assert "redact=1" in client.get(_url("overview")).content.decode()


def test_report_downloads(as_role, own):
    client = as_role("viewer")
    reply = client.get(_url("report") + "?format=html")
    assert reply.status_code == 200
    assert "attachment" in reply["Content-Disposition"]
    html = reply.content.decode()
    assert "<svg" in html and "Charges" in html
    docx = client.get(_url("report") + "?format=docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert client.get(_url("report") + "?format=odt").status_code == 400
    assert client.get(_url("report") + "?format=html&question=nope").status_code == 404


def test_remap_queues_a_job_with_progress_json(as_role, own):
    client = as_role("analyst")
    reply = client.post(_url("remap", qid=own.question.pk))
    run = own.consultation.runs.filter(status="pending").get()
    assert reply["Location"] == _url("job", run_id=run.pk)
    assert run.params["question"] == "q1_why" and run.params["rediscover"] is False
    data = client.get(_url("job-json", run_id=run.pk)).json()
    assert data["status"] == "pending" and data["finished"] is False
    page = client.get(_url("job", run_id=run.pk)).content.decode()
    assert 'http-equiv="refresh"' in page and "<progress" in page
    client.post(_url("job-cancel", run_id=run.pk))  # the analyst started it
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_members_page_adds_and_removes(as_role, users, own):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("new@example.org", "new@example.org", "x" * 12)
    client = as_role("admin")
    client.post(_url("members"), {"email": "new@example.org", "role": "analyst"})
    membership = own.consultation.memberships.get(user__email="new@example.org")
    assert membership.role == "analyst"
    client.post(_url("members"), {"action": "remove", "membership": membership.pk})
    assert not own.consultation.memberships.filter(user__email="new@example.org").exists()
    reply = client.post(_url("members"), {"email": "nobody@example.org", "role": "viewer"})
    assert reply.status_code == 400 and b"No account for nobody@example.org" in reply.content


def test_question_kinds_in_overview(as_role, own):
    page = as_role("viewer").get(_url("overview")).content.decode()
    assert "q1_why" in page and "Closed questions" in page
    assert Question.objects.filter(consultation=own.consultation).count() == 3


def test_postgres_query_is_safe_for_any_text():
    from heard.web.filters import pg_tsquery

    assert pg_tsquery("cycle station") == "cycle & station:*"
    assert pg_tsquery("don't 'x' & | ! low-traffic") == "don & t & x & low & traffic:*"
    assert pg_tsquery("!!") == ""
