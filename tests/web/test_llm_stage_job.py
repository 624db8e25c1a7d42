"""An analysis started from the web app with the installation's LLM: the job worker runs the
LLM stage inside the run, against a fake LLM server on 127.0.0.1."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from docx import Document

from heard.pipeline import jobs
from heard.results import llm_use
from heard.store.models import AuditEvent, Run, Theme
from heard.web import editing
from tests.llm.fake_llm import FakeLLM

pytestmark = pytest.mark.django_db(transaction=True)  # the worker closes connections

STAGES = {"llm": "1", "llm_labels": "1", "llm_condense": "1", "llm_mapping": "1",
          "llm_summaries": "1"}


@pytest.fixture
def server(monkeypatch):
    with FakeLLM("openai") as fake:
        fake.merge_first_two = True
        monkeypatch.setenv("HEARD_LLM", "openai:fake-model")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield fake


def _url(name: str, **kwargs) -> str:
    return reverse(f"heard:{name}", kwargs={"name": "own", **kwargs})


def test_start_form_offers_the_installation_llm(as_role, own, server):
    page = as_role("lead").get(_url("overview")).content.decode()
    form = page[page.index('id="analyse-form"'):]
    assert 'name="llm"' in form and "Use openai:fake-model" in form
    assert server.url in form  # where the responses would go
    assert 'name="llm_summaries"' in form
    # an analyst cannot start an analysis, so is not offered one
    assert 'id="analyse-form"' not in as_role("analyst").get(_url("overview")).content.decode()


def test_no_llm_offered_without_configuration(as_role, own, monkeypatch):
    monkeypatch.delenv("HEARD_LLM", raising=False)
    page = as_role("lead").get(_url("overview")).content.decode()
    assert 'id="analyse-form"' in page and 'name="llm"' not in page
    reply = as_role("lead").post(_url("analyse"), STAGES, follow=True)
    assert "No LLM is configured" in reply.content.decode()
    assert not Run.objects.filter(status="pending").exists()


def test_web_run_with_llm_is_recorded_reported_and_audited(as_role, own, server):
    lead = as_role("lead")
    reply = lead.post(_url("analyse"), {**STAGES, "llm_budget": "5"})
    run = Run.objects.get(status="pending")
    assert reply.url == _url("job", run_id=run.pk)
    assert run.params["llm"] == "openai:fake-model" and run.params["llm_budget"] == 5.0
    assert run.params["llm_stages"] == ["labels", "condense", "mapping", "summaries"]

    assert jobs.work(once=True, poll=0.01) == 1
    run.refresh_from_db()
    assert run.status == "done", run.error

    use = llm_use(run)
    assert use is not None and use.name == "openai:fake-model"
    assert use.stages == ("labels", "condense", "mapping", "summaries")
    assert use.calls == server.stats["calls"] > 0
    assert use.prompt_tokens == server.stats["prompt_tokens"]
    [question] = use.questions
    assert question.key == own.question.key and question.responses == 30
    assert 0 < question.sent <= 30
    assert set(question.sent_ids) <= {r.pk for r in own.responses}
    assert use.budget == 5.0

    job = lead.get(_url("job", run_id=run.pk)).content.decode()
    assert "LLM stage (openai:fake-model; stages: labels, condense, mapping, summaries)" in job
    assert f">{question.sent} of 30<" in job and use.cost_text in job

    report = lead.get(_url("report") + "?format=html").content.decode()
    share = f"{round(100 * question.sent / 30)}%"
    assert f"run #{run.pk}: fake-model from openai" in report
    assert f"{question.sent} of 30 responses ({share})" in report
    assert "No large language model was used" not in report
    assert "no response left it" not in report
    docx = Document(io.BytesIO(lead.get(_url("report") + "?format=docx").content))
    text = "\n".join(p.text for p in docx.paragraphs)
    assert f"{question.sent} of 30 responses ({share})" in text
    cells = {c.text for t in docx.tables for row in t.rows for c in row.cells}
    assert {"openai:fake-model", f"{question.sent} of 30", share} <= cells

    # The LLM stage merged the first two themes it was shown: an audit event of the run.
    merge = AuditEvent.objects.get(run=run, action="merge themes")
    assert merge.user is None and merge.actor == f"LLM stage of run {run.pk}"
    merged_away = merge.before["themes"][1]
    assert not Theme.objects.filter(pk=merged_away["id"]).exists()
    assert AuditEvent.objects.filter(run=run, action="rename theme").exists()  # relabels
    history = lead.get(_url("history")).content.decode()
    assert f"LLM stage of run {run.pk}" in history and "merge themes" in history
    assert f"“{merged_away['label']}” merged into" in history
    # An analyst can undo it like their own edits.
    editing.revert(merge, None)
    assert Theme.objects.filter(pk=merged_away["id"]).exists()


def test_report_without_llm_says_so(as_role, own):
    report = as_role("viewer").get(_url("report") + "?format=html").content.decode()
    assert "No large language model was used." in report
    assert "no response left it" in report
