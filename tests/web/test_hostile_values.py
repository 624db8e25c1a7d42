"""Every URL pattern, with hostile values in its path, query and form fields: no response
carries a payload as raw HTML, and every page has the security headers.

The consultation also holds hostile text where imports put it (question keys come from CSV
headers, theme labels from analysts, attributes from respondents), so stored payloads are
checked too.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from heard.store.models import Assignment, AuditEvent, Membership, Question, Respondent, Response
from heard.web.middleware import CONTENT_SECURITY_POLICY

from .conftest import PASSWORD, build_consultation

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
]
QUERY_KEYS = ["question", "format", "next", "page", "q", "similar", "theme", "stance",
              "outcome", "demo", "closed", "campaign", "evidence", "flagged", "unread", "mode",
              "follow"]
FORM_KEYS = ["name", "email", "role", "action", "membership", "label", "description", "parent",
             "target", "direction", "theme", "response", "source", "stance", "evidence",
             "flagged", "read", "stage", "version", "next", "analyse", "rediscover", "password"]


def _patterns(resolvers=None, prefix: str = ""):
    """(route, name) of every URL pattern, however deep it is included."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{entry.namespace}:" if entry.namespace else ""
            for route, name in _patterns(entry.url_patterns, prefix + str(entry.pattern)):
                yield route, namespace + name if name else name
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def _fill(route: str, values: dict[str, object]) -> str:
    """The route with each ``<converter:name>`` replaced by its value."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def _hostile_consultation() -> dict[str, object]:
    built = build_consultation("own")
    consultation = built.consultation
    consultation.title = PAYLOADS[1]
    consultation.save()
    hostile = Question.objects.create(consultation=consultation, key=PAYLOADS[0],
                                      text=PAYLOADS[1], kind="open", position=9)
    person = Respondent.objects.create(consultation=consultation, key=PAYLOADS[2],
                                       attributes={"region": PAYLOADS[0]})
    answer = Response.objects.create(question=hostile, respondent=person, key="hostile",
                                     text=PAYLOADS[0] + PAYLOADS[1], outcome="mapped")
    theme = built.themes["safety"]
    theme.label = PAYLOADS[0]
    theme.description = PAYLOADS[1]
    theme.save()
    Assignment.objects.create(response=answer, theme=theme, confidence=0.5)
    event = AuditEvent.objects.filter(consultation=consultation).first()
    run = consultation.runs.first()
    run.error = PAYLOADS[0]
    run.state = {"label": PAYLOADS[1], "messages": [PAYLOADS[2]]}
    run.save()
    return {"name": "own", "qid": built.question.pk, "theme_id": built.themes["cost"].pk,
            "response_id": built.responses[0].pk, "respondent_id": person.pk,
            "run_id": run.pk, "event_id": event.pk if event else 1, "page": 1}


def _check(response, url: str, signed_in: bool) -> None:
    assert response.status_code < 500, (url, response.status_code)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    attachment = "attachment" in response.get("Content-Disposition", "")
    kind = response.get("Content-Type", "")
    # A download (CSV, report) holds the data as data, not as a page; so does JSON, which
    # with nosniff is never read as HTML (and the pages' scripts put it in as text).
    if not attachment and not kind.startswith("application/json"):
        text = body.decode("utf-8", "replace")
        for payload in PAYLOADS:
            assert payload not in text, (url, payload)
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["Referrer-Policy"] == "same-origin", url
    if response.get("Content-Type", "").startswith("text/html"):
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
    if signed_in:
        assert "no-store" in response.get("Cache-Control", ""), url


@pytest.fixture
def crawl(db, client):
    from django.contrib.auth import get_user_model

    values = _hostile_consultation()
    boss = get_user_model().objects.create_user("boss@example.org", "boss@example.org", PASSWORD)
    Membership.objects.create(user=boss, consultation=None, role="admin")
    routes = [(route, name) for route, name in _patterns() if name and
              not route.startswith("oidc/")]
    assert len(routes) >= 30  # the whole app, not a sample
    return client, boss, values, routes


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_pattern_escapes_hostile_values(crawl, payload):
    client, boss, values, routes = crawl
    query = "&".join(f"{key}={payload}" for key in QUERY_KEYS)
    form = {key: payload for key in FORM_KEYS}
    checked = 0
    for signed_in in (False, True):
        for route, _ in routes:
            for path_values in (values, {**values, "name": payload}):
                url = _fill(route, path_values)
                for method in ("get", "post"):
                    if signed_in:  # again each time: the sign-out pattern ends the session
                        client.force_login(boss)
                    if method == "get":
                        response = client.get(url, QUERY_STRING=query)
                    else:
                        response = client.post(url + "?" + query, form)
                    _check(response, url, signed_in and route != "sign-out/")
                    checked += 1
    assert checked == 8 * len(routes)


def test_reflected_question_parameter_is_escaped(crawl):
    """The trial's repro: the export and report 404 pages echoed ?question= as raw HTML, and
    the report's page listed the question keys (from CSV headers) raw as well."""
    client, boss, values, _ = crawl
    client.force_login(boss)
    missing = "<script>alert(2)</script>"
    for name in ("heard:export", "heard:report"):
        url = reverse(name, kwargs={"name": "own"})
        response = client.get(url, {"question": missing})
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")
        text = response.content.decode()
        assert missing not in text and PAYLOADS[0] not in text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text
        if name == "heard:report":  # the stored key is listed, escaped
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_templates_and_scripts_have_no_inline_code():
    """The policy forbids inline script and style, so the templates must not rely on them."""
    from pathlib import Path

    import heard.web

    root = Path(heard.web.__file__).parent
    for template in (root / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\sstyle=", text), template
        assert not re.search(r"\son[a-z]+=", text), template
        assert "javascript:" not in text, template


def test_downloaded_html_report_escapes_stored_values(crawl):
    """The report is a download, but it is HTML a person opens: hostile keys, labels and
    answers stay text in it as well."""
    client, boss, _, _ = crawl
    client.force_login(boss)
    reply = client.get(reverse("heard:report", kwargs={"name": "own"}), {"format": "html"})
    assert reply.status_code == 200
    text = reply.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the hostile key is there
    for payload in PAYLOADS:
        assert payload not in text, payload
