"""One rule for consultation names (CLI, web upload, import), a home page that survives a
name made before the rule, and search by meaning when the words match nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.urls import reverse

from heard.pipeline.names import NAME_RULE, BadName, check_name
from heard.store.models import Consultation, Membership

from .conftest import PASSWORD


@pytest.fixture
def boss(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("boss@example.org", "boss@example.org", PASSWORD)
    Membership.objects.create(user=user, consultation=None, role="admin")
    return user


@pytest.mark.parametrize("name", ["parking", "parking-2025", "q1_answers", "7"])
def test_good_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["my consultation", "Parking", "-lead", "", "a/b", "café",
                                  "x" * 101, "q1\u200b", "tab\tname"])
def test_bad_names_are_refused_with_the_rule(name):
    with pytest.raises(BadName) as caught:
        check_name(name)
    assert NAME_RULE in caught.value.describe()


def test_cli_import_refuses_a_name_with_a_space(db, tmp_path):
    from heard.cli import main

    data = tmp_path / "answers.csv"
    data.write_text("id,q1\nr1,Too expensive\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(data), "--consultation", "my consultation"])
    assert result.exit_code != 0
    assert "lower-case letters" in result.output and "my-consultation" in result.output
    assert not Consultation.objects.exists()  # nothing stored


def test_web_upload_refuses_a_bad_name_with_the_rule(client, boss):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(boss)
    reply = client.post(reverse("heard:upload-new"), {
        "name": "My Consultation", "analyse": "0",
        "files": SimpleUploadedFile("answers.csv", b"id,q1\nr1,Too expensive\n"),
    })
    assert reply.status_code == 400
    assert "lower-case letters (a-z), digits, - or _" in reply.content.decode()
    assert not Consultation.objects.exists()


def test_home_page_survives_names_made_before_the_rule(client, boss):
    Consultation.objects.create(name="my consultation", title="Spaced")
    Consultation.objects.create(name="a/b", title="Slashed")
    client.force_login(boss)
    page = client.get(reverse("heard:home"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'href="/c/my%20consultation/"' in text  # still opens
    assert "Slashed" in text and "its name cannot be opened here" in text
    assert client.get("/c/my%20consultation/").status_code == 200


def test_search_by_meaning_with_no_word_hits_shows_no_results(as_role, own):
    """The trial's repro: ?q=<no hits>&similar=<phrase> gave a 500 (EmptyResultSet)."""
    url = reverse("heard:question", args=["own", own.question.pk])
    reply = as_role("viewer").get(url, {"q": "zzzqqqxxx", "similar": "parking costs"})
    assert reply.status_code == 200
    assert reply.context["summary"].total == 0
    assert list(reply.context["page"].object_list) == []
