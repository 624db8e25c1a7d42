"""A consultation's title and description, the closed questions on its overview, the upload's
column plan, and starting a question from another consultation's themes."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from heard.io.reports import build_report, render
from heard.pipeline import jobs
from heard.results import closed_results
from heard.store.models import AuditEvent, Consultation, Membership, Run, Theme
from tests.conftest import heard

from .conftest import build_consultation

CSV = (
    b"ResponseId,Region,Agree,Why\n"
    b"r1,North,Agree,The buses are far too slow in the morning and always late\n"
    b"r2,South,Disagree,Parking is already too expensive for people who work in town\n"
    b"r3,North,Agree,Cleaner air near the school gates would help the children\n"
    b"r4,South,Agree,More cycle lanes please because the roads feel unsafe at night\n"
)


def _page(reply) -> str:
    return html.unescape(reply.content.decode())


# ---------------------------------------------------------------- title and description


def test_lead_edits_title_and_description_audited_and_revertible(as_role, own):
    client = as_role("lead")
    url = reverse("heard:details", kwargs={"name": "own"})
    reply = client.post(url, {"title": "Millbrook low traffic neighbourhood",
                              "description": "Trial scheme, 18 months."})
    assert reply.status_code == 302
    own.consultation.refresh_from_db()
    assert own.consultation.title == "Millbrook low traffic neighbourhood"
    overview = _page(client.get(reverse("heard:overview", kwargs={"name": "own"})))
    assert "<title>Millbrook low traffic neighbourhood – Heard</title>" in overview
    assert re.search(r"<h1[^>]*>Millbrook low traffic neighbourhood</h1>", overview)
    assert "Trial scheme, 18 months." in overview
    assert "Millbrook low traffic neighbourhood" in _page(client.get(reverse("heard:home")))
    event = AuditEvent.objects.get(action="edit title and description")
    assert event.before["consultation"]["title"] == "Own consultation"
    history = _page(client.get(reverse("heard:history", kwargs={"name": "own"})))
    assert "Title “Own consultation” → “Millbrook low traffic neighbourhood”" in history
    client.post(reverse("heard:revert", kwargs={"name": "own", "event_id": event.pk}),
                {"confirm": "1"})
    own.consultation.refresh_from_db()
    assert own.consultation.title == "Own consultation" and own.consultation.description == ""


def test_title_edit_refuses_a_long_title_and_analysts(as_role, own):
    url = reverse("heard:details", kwargs={"name": "own"})
    assert as_role("analyst").post(url, {"title": "X"}).status_code == 403
    client = as_role("lead")
    reply = client.post(url, {"title": "x" * 301, "description": ""}, follow=True)
    assert "at most 300 characters" in _page(reply)
    own.consultation.refresh_from_db()
    assert own.consultation.title == "Own consultation"
    # an analyst may not undo a lead's change of title either
    client.post(url, {"title": "New", "description": ""})
    event = AuditEvent.objects.get(action="edit title and description")
    revert = reverse("heard:revert", kwargs={"name": "own", "event_id": event.pk})
    assert as_role("analyst").post(revert).status_code == 403


def test_reports_use_the_title_and_fall_back_to_the_name(own):
    report = build_report(own.consultation)
    assert report.title == "Own consultation"
    page = render(report, "html").decode()
    assert "<h1>Own consultation</h1>" in page and "<title>Own consultation:" in page
    own.consultation.title = ""
    own.consultation.save()
    report = build_report(own.consultation)
    assert report.title == "own" and "Consultation own" not in render(report, "html").decode()
    from io import BytesIO

    from docx import Document

    assert Document(BytesIO(render(report, "docx"))).core_properties.title.startswith("own:")


def test_import_sets_title_and_description(db, tmp_path):
    data = tmp_path / "answers.csv"
    data.write_bytes(CSV)
    heard("import", str(data), "-c", "ltn", "--title", "Millbrook LTN", "--description",
          "Should the trial be made permanent?")
    ltn = Consultation.objects.get(name="ltn")
    assert (ltn.title, ltn.description) == ("Millbrook LTN", "Should the trial be made permanent?")
    assert build_report(ltn).title == "Millbrook LTN"


# ---------------------------------------------------------------- closed questions


def test_overview_cli_and_report_show_the_same_closed_counts(as_role, own):
    page = _page(as_role("viewer").get(reverse("heard:overview", kwargs={"name": "own"})))
    model = closed_results(own.closed)
    assert model.chosen and model.answered == 30
    shown = re.findall(r"<li>(\w+): <strong>(\d+)</strong> \((\d+)%\)</li>", page)
    assert [(o, int(n)) for o, n, _ in shown] == model.chosen
    assert [int(p) for _, _, p in shown] == [round(s * 100) for _, _, s in model.option_shares]
    cli = {q["id"]: q for q in json.loads(heard("show", "own", "--json"))["questions"]}
    assert cli["q1"]["options"] == dict(model.chosen) and cli["q1"]["answered"] == model.answered
    report = build_report(own.consultation)
    section = next(s for s in report.sections if s.key == "q1")
    rows = section.chart.table.rows
    assert [(r[0], int(r[1].replace(",", ""))) for r in rows] == model.chosen


# ---------------------------------------------------------------- upload preview


@pytest.fixture
def boss(db, settings, tmp_path):
    from django.contrib.auth import get_user_model

    settings.HEARD_HOME = tmp_path
    user = get_user_model().objects.create_user("boss@example.org", "boss@example.org", "x" * 12)
    Membership.objects.create(user=user, consultation=None, role="admin")
    return user


def _preview(client, **extra):
    return client.post(reverse("heard:upload-new"), {
        "name": "parks", "title": "Parks 2026", "description": "", "analyse": "", "preview": "1",
        "files": SimpleUploadedFile("answers.csv", CSV), **extra,
    })


def _form_fields(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    for name, chosen in re.findall(
            r'<select class="govuk-select" id="[^"]+" name="(role-\d+)">.*?'
            r'<option value="(\w+)" selected>', page):
        fields[name] = chosen
    return fields


@pytest.mark.django_db(transaction=True)  # the worker closes connections between jobs
def test_upload_preview_shows_the_plan_and_a_changed_role_reaches_the_import(client, boss):
    client.force_login(boss)
    reply = _preview(client)
    page = _page(reply)
    assert reply.status_code == 200 and "Check how the columns will be read" in page
    assert not Consultation.objects.exists() and not Run.objects.exists()  # nothing yet
    fields = _form_fields(page)
    columns = {fields[f"column-{i}"]: f"role-{i}" for i in range(int(fields["columns"]))}
    assert fields[columns["ResponseId"]] == "id" and fields[columns["Why"]] == "open"
    assert "The buses are far too slow" in page  # sample values
    # Region would be a respondent detail; read it as a closed question instead.
    fields[columns["Region"]] = "closed"
    reply = client.post(reverse("heard:upload-new"), fields)
    assert reply.status_code == 302, _page(reply)[:2000]
    parks = Consultation.objects.get(name="parks")
    assert parks.title == "Parks 2026"
    run = Run.objects.get(kind="import")
    assert run.params["mapping"]  # the chosen plan travels as a mapping file
    jobs.work(once=True)
    run.refresh_from_db()
    assert run.status == "done", run.error
    kinds = dict(parks.questions.values_list("key", "kind"))
    assert kinds["Region"] == "closed" and kinds["Why"] == "open"
    assert parks.respondents.filter(key="r1").exists()


def test_upload_preview_explains_bad_choices(client, boss):
    client.force_login(boss)
    fields = _form_fields(_page(_preview(client)))
    n = int(fields["columns"])
    everything_ignored = {**fields, **{f"role-{i}": "ignore" for i in range(n)}}
    reply = client.post(reverse("heard:upload-new"), everything_ignored)
    assert reply.status_code == 400
    assert "no column is read as a question" in _page(reply)
    two_ids = {**fields, "role-0": "id", "role-1": "id"}
    reply = client.post(reverse("heard:upload-new"), two_ids)
    assert reply.status_code == 400 and "Choose one." in _page(reply)
    assert not Consultation.objects.exists() and not Run.objects.exists()
    gone = {**fields, "upload": "0" * 32}
    reply = client.post(reverse("heard:upload-new"), gone)
    assert reply.status_code == 400 and "no longer on the server" in _page(reply)


def test_upload_preview_of_an_unreadable_file_names_it(client, boss, tmp_path):
    client.force_login(boss)
    reply = _preview(client, files=SimpleUploadedFile("answers.csv", b"\x00\x01\x02" * 10))
    assert reply.status_code == 400
    assert "answers.csv" in _page(reply) and str(tmp_path) not in _page(reply)
    assert not Consultation.objects.exists()
    assert not any((tmp_path / "uploads").iterdir())  # the refused upload is not kept


# ---------------------------------------------------------------- themes of another consultation


def test_only_visible_consultations_offer_their_themes(as_role, own, other):
    hidden = build_consultation("hidden", n=5)
    lead = as_role("lead")
    page = _page(lead.get(reverse("heard:overview", kwargs={"name": "own"})))
    # no other consultation this lead can open has themes: nothing to offer
    assert "Start from the themes of another consultation" not in page
    Membership.objects.create(user=own.consultation.memberships.get(role="lead").user,
                              consultation=other.consultation, role="viewer")
    page = _page(lead.get(reverse("heard:overview", kwargs={"name": "own"})))
    assert "Start from the themes of another consultation" in page
    assert "Other consultation" in page and "Hidden consultation" not in page
    # a question id from a consultation this lead cannot see is refused
    url = reverse("heard:start-from-themes", kwargs={"name": "own"})
    reply = lead.post(url, {"target": own.question.pk, "source": hidden.question.pk},
                      follow=True)
    assert "Choose a question" in _page(reply)
    assert not Run.objects.filter(kind="analyse", status="pending").exists()


@pytest.mark.django_db(transaction=True)  # the worker closes connections between jobs
def test_a_question_maps_to_the_themes_of_another_consultation(client, settings, tmp_path):
    from django.contrib.auth import get_user_model

    settings.HEARD_HOME = tmp_path
    source, target = build_consultation("source", n=10), build_consultation("target", n=15)
    Theme.objects.filter(question=target.question).delete()
    lead = get_user_model().objects.create_user("lead@example.org", "lead@example.org", "x" * 12)
    for built in (source, target):
        Membership.objects.create(user=lead, consultation=built.consultation, role="lead")
    client.force_login(lead)
    reply = client.post(reverse("heard:start-from-themes", kwargs={"name": "target"}),
                        {"target": target.question.pk, "source": source.question.pk})
    run = Run.objects.get(consultation=target.consultation, status="pending")
    assert reply.status_code == 302 and f"/jobs/{run.pk}/" in reply["Location"]
    assert run.params["codebook_from"] == "source:q1_why"
    assert "Source consultation" in run.state["label"]
    jobs.work(once=True)
    run.refresh_from_db()
    assert run.status == "done", run.error
    copied = {t.key: t for t in target.question.themes.select_related("parent")}
    original = {t.key: t for t in source.question.themes.select_related("parent")}
    assert {k: t.label for k, t in copied.items()} == {k: t.label for k, t in original.items()}
    assert copied["charges"].parent.key == "cost" and copied["trade"].parent.key == "cost"
    assert {t.origin for t in copied.values()} == {Theme.Origin.CODEBOOK}
    assert all(t.run_id == run.pk for t in copied.values())
    # every response got an outcome from the mapping
    assert not target.question.responses.filter(outcome="pending").exists()


def test_cli_codebook_from_names_what_is_missing(own, other):
    from click.testing import CliRunner

    from heard.cli import main

    out = CliRunner().invoke(main, ["analyse", "other", "--codebook-from", "own:q9"])
    assert out.exit_code != 0 and "own has no open question 'q9'" in out.output
    assert "q1_why" in out.output
    out = CliRunner().invoke(main, ["analyse", "other", "--codebook-from", "nowhere"])
    assert out.exit_code != 0 and "No consultation 'nowhere'" in out.output


def test_chosen_roles_round_trip_through_a_mapping_file(tmp_path):
    """The preview's roles are written as the mapping file `heard import --mapping` reads,
    keeping what an uploaded mapping said (its [documents] too)."""
    from heard.io.mapping import load_mapping, mapping_toml, read_mapping_settings, with_roles

    uploaded = tmp_path / "uploaded.toml"
    uploaded.write_text('id = "ResponseId"\n[columns]\n"Why \\"so\\"" = "open"\n'
                        '[documents]\npattern = "{respondent}_{anything}"\n', encoding="utf-8")
    settings = with_roles(read_mapping_settings(uploaded), {
        "ResponseId": "ignore", "Ref": "id", "Region": "closed", "Responding as": "kind"})
    written = tmp_path / "chosen.toml"
    written.write_text(mapping_toml(settings), encoding="utf-8")
    mapping = load_mapping(written)
    assert (mapping.id, mapping.kind) == ("Ref", "Responding as")
    assert mapping.columns == {'Why "so"': "open", "ResponseId": "ignore", "Region": "closed"}
    assert read_mapping_settings(written)["documents"] == {"pattern": "{respondent}_{anything}"}


def test_uploads_shown_in_a_preview_and_abandoned_are_removed_a_day_later(client, boss,
                                                                          tmp_path):
    import os

    from heard.pipeline.import_jobs import remove_abandoned_uploads

    client.force_login(boss)
    fields = _form_fields(_page(_preview(client)))
    abandoned = tmp_path / "uploads" / fields["upload"]
    assert abandoned.is_dir()
    assert remove_abandoned_uploads() == 0  # still fresh: the user may confirm it
    queued = client.post(reverse("heard:upload-new"), {
        "name": "queued", "analyse": "", "files": SimpleUploadedFile("answers.csv", CSV)})
    assert queued.status_code == 302
    day_ago = abandoned.stat().st_mtime - 2 * 24 * 3600
    for folder in (tmp_path / "uploads").iterdir():
        os.utime(folder, (day_ago, day_ago))
    assert remove_abandoned_uploads() == 1
    assert not abandoned.exists()
    assert len(list((tmp_path / "uploads").iterdir())) == 1  # the queued import's files stay


def test_upload_more_previews_then_imports_into_the_same_consultation(as_role, own, settings,
                                                                      tmp_path):
    settings.HEARD_HOME = tmp_path
    client = as_role("admin")
    url = reverse("heard:upload", kwargs={"name": "own"})
    page = _page(client.post(url, {"analyse": "", "preview": "1",
                                   "files": SimpleUploadedFile("more.csv", CSV)}))
    assert "Check how the columns will be read" in page and 'name="name"' not in page
    reply = client.post(url, _form_fields(page))
    run = Run.objects.get(kind="import")
    assert reply.status_code == 302 and run.consultation == own.consultation
    assert run.params["mapping"] == ""  # nothing changed: no mapping file
    assert Consultation.objects.count() == 1
