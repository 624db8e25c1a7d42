"""Every view × every role × own and other consultation (the access matrix)."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, reverse

from heard.web.access import RANK
from heard.web.urls import app_patterns

from .conftest import ROLES
from .test_documents_view import with_document

# name: (method, minimum role, url kwargs and POST data built from a consultation fixture)
VIEWS = {
    "overview": ("get", "viewer", lambda b: ({}, {})),
    "question": ("get", "viewer", lambda b: ({"qid": b.question.pk}, {})),
    "response": ("get", "viewer", lambda b: ({"response_id": b.responses[0].pk}, {})),
    "respondent": ("get", "viewer",
                   lambda b: ({"respondent_id": b.responses[0].respondent_id}, {})),
    "history": ("get", "viewer", lambda b: ({}, {})),
    "export": ("get", "viewer", lambda b: ({}, {})),
    "report": ("get", "viewer", lambda b: ({}, {})),
    "job": ("get", "viewer", lambda b: ({"run_id": b.consultation.runs.first().pk}, {})),
    "job-json": ("get", "viewer", lambda b: ({"run_id": b.consultation.runs.first().pk}, {})),
    "themes": ("get", "analyst", lambda b: ({"qid": b.question.pk}, {})),
    "theme-split": ("get", "analyst", lambda b: ({"theme_id": b.themes["safety"].pk}, {})),
    "theme-delete": ("get", "analyst", lambda b: ({"theme_id": b.themes["safety"].pk}, {})),
    "theme-add": ("post", "analyst", lambda b: ({"qid": b.question.pk}, {"label": "New"})),
    "theme-edit": ("post", "analyst",
                   lambda b: ({"theme_id": b.themes["safety"].pk}, {"label": "Safer"})),
    "theme-move": ("post", "analyst",
                   lambda b: ({"theme_id": b.themes["safety"].pk}, {"direction": "up"})),
    "theme-merge": ("post", "analyst", lambda b: (
        {"qid": b.question.pk},
        {"target": b.themes["safety"].pk, "source": [b.themes["transport"].pk]})),
    "read": ("post", "analyst", lambda b: ({"response_id": b.responses[0].pk}, {"read": "1"})),
    "flag": ("post", "analyst", lambda b: ({"response_id": b.responses[0].pk}, {})),
    "response-page": ("get", "viewer",
                      lambda b: ({"response_id": with_document(b).pk, "page": 1}, {})),
    "response-original": ("get", "viewer",
                          lambda b: ({"response_id": with_document(b).pk}, {})),
    "remap": ("post", "analyst", lambda b: ({"qid": b.question.pk}, {})),
    "stage": ("post", "lead", lambda b: ({"qid": b.question.pk}, {"stage": "themes_agreed"})),
    "agreement": ("get", "lead", lambda b: ({"qid": b.question.pk}, {})),
    "blind-review": ("get", "analyst", lambda b: ({"qid": b.question.pk}, {})),
    "analyse": ("post", "lead", lambda b: ({}, {})),
    "details": ("post", "lead", lambda b: ({}, {"title": "Parks 2026"})),
    "start-from-themes": ("post", "lead", lambda b: ({}, {})),
    "members": ("get", "admin", lambda b: ({}, {})),
    "upload": ("get", "admin", lambda b: ({}, {})),
}
# Views whose matrix needs state made first (an event to revert, a job to cancel).
SPECIAL = {"revert", "job-cancel"}
GLOBAL = {"home", "sign-in", "sign-out", "upload-new"}


@pytest.fixture(autouse=True)
def _heard_home(settings, tmp_path):
    """Stored documents go to a fresh HEARD_HOME."""
    settings.HEARD_HOME = tmp_path / "home"


def test_matrix_covers_every_view():
    names = {p.name for p in app_patterns if isinstance(p, URLPattern)}
    assert names == set(VIEWS) | SPECIAL | GLOBAL


def _call(client, name, built, method, make):
    kwargs, data = make(built)
    url = reverse(f"heard:{name}", kwargs={"name": built.consultation.name, **kwargs})
    return client.post(url, data) if method == "post" else client.get(url)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_own_consultation(as_role, own, role, name):
    method, needed, make = VIEWS[name]
    response = _call(as_role(role), name, own, method, make)
    if RANK[role] >= RANK[needed]:
        assert response.status_code in (200, 302), response.content[:500]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_other_consultation_is_invisible(as_role, other, role, name):
    method, _, make = VIEWS[name]
    assert _call(as_role(role), name, other, method, make).status_code == 404


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_anonymous_is_sent_to_sign_in(client, own, name):
    method, _, make = VIEWS[name]
    response = _call(client, name, own, method, make)
    if name == "job-json":
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("heard:sign-in"))


@pytest.mark.parametrize("role", ROLES)
def test_revert_needs_analyst_and_lead_for_sign_off(as_role, users, own, role):
    from heard.web import editing

    rename = editing.update_theme(own.themes["safety"], None, users["admin"], label="Renamed")
    sign_off = editing.set_stage(own.question, users["admin"], "themes_agreed")
    client = as_role(role)
    for event, needed in ((rename, "analyst"), (sign_off, "lead")):
        url = reverse("heard:revert", kwargs={"name": "own", "event_id": event.pk})
        status = client.post(url, {"confirm": "1"}).status_code
        assert status == (302 if RANK[role] >= RANK[needed] else 403)


@pytest.mark.parametrize("role", ROLES)
def test_cancel_job_needs_starter_or_lead(as_role, users, own, role):
    from heard.pipeline.analysis import AnalyseParams
    from heard.pipeline.jobs import enqueue_analysis

    run = enqueue_analysis(own.consultation, AnalyseParams(), user=users["admin"])
    url = reverse("heard:job-cancel", kwargs={"name": "own", "run_id": run.pk})
    status = as_role(role).post(url).status_code
    assert status == {"viewer": 403, "analyst": 403, "lead": 302, "admin": 302}[role]


def test_upload_new_needs_global_admin(client, users, own):
    from django.contrib.auth import get_user_model

    from heard.store.models import Membership

    client.force_login(users["admin"])  # admin of one consultation only
    assert client.get(reverse("heard:upload-new")).status_code == 403
    boss = get_user_model().objects.create_user("boss@example.org", "boss@example.org", "x" * 12)
    Membership.objects.create(user=boss, consultation=None, role="admin")
    client.force_login(boss)
    assert client.get(reverse("heard:upload-new")).status_code == 200


def test_home_lists_only_visible_consultations(as_role, other):
    page = as_role("viewer").get(reverse("heard:home")).content.decode()
    assert "Own consultation" in page
    assert "Other consultation" not in page
