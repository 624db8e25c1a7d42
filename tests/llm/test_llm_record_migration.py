"""Upgrading a store: ledgers older versions kept in ``Run.state`` become LLM records, so the
report still says an LLM was used (and that which responses were sent was not recorded)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from heard.io.reports.model import _method, build_report
from heard.results import llm_use
from heard.store.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("heard", "0003_response_stance_cover")]
AFTER = [("heard", "0004_run_llm")]


def test_old_ledgers_become_records():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    consultation = apps.get_model("heard", "Consultation").objects.create(name="old")
    question = apps.get_model("heard", "Question").objects.create(
        consultation=consultation, key="q2", text="Why?", kind="open")
    respondent = apps.get_model("heard", "Respondent").objects.create(
        consultation=consultation, key="r1")
    for i in range(4):
        apps.get_model("heard", "Response").objects.create(
            question=question, respondent=respondent, key=f"a{i}", text=f"answer {i}")
    ledger = {
        "model": "openai:gpt-4o-mini",
        "totals": {"calls": 3, "attempts": 4, "prompt_tokens": 900, "completion_tokens": 120,
                   "cost": 0.0002, "currency": "USD"},
        "stages": {"labels": {"themes": 2}, "summaries": {"themes": 2}},
        "outcomes": {"llm": 1}, "summaries": {"": {"summary": "Two themes.", "quotes": []}},
        "done": True,
    }
    old_run = apps.get_model("heard", "Run").objects.create(
        consultation=consultation, status="done",
        state={"done": [question.pk], "llm_ledger": {"q2": ledger, "gone": ledger}})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    apps_after = executor.loader.project_state(AFTER).apps
    state = apps_after.get_model("heard", "Run").objects.get(pk=old_run.pk).state
    assert state == {"done": [question.pk]}  # the untyped ledger is gone
    # The rest reads the store through today's models: bring it to the latest schema.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    run = Run.objects.get(pk=old_run.pk)
    use = llm_use(run)
    assert use is not None and use.name == "openai:gpt-4o-mini"
    assert use.stages == ("labels", "summaries")
    [q] = use.questions  # "gone" is no question of this consultation
    assert (q.key, q.calls, q.prompt_tokens, q.completion_tokens, q.responses) == (
        "q2", 3, 900, 120, 4)
    assert not q.sent_recorded and q.sent_text == "not recorded"
    report = build_report(run.consultation)
    text = " ".join(report.method.ai_use)
    assert "gpt-4o-mini from openai" in text and "how many was not recorded" in text
    assert "No large language model was used" not in text
    assert _method(None, report.sections, report.overview, []).ai_use[-1] == (
        "No large language model was used.")
