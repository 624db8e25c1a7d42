"""Through the store and the CLI: `heard llm check`, `analyse --estimate`, `analyse --llm`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from heard.cli import main
from heard.results import llm_use
from heard.store.models import Question, Response, Run, Theme
from tests.llm.fake_llm import FakeLLM

pytestmark = pytest.mark.django_db(transaction=True)


def heard(*args: str, env: dict | None = None) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def server():
    with FakeLLM("openai") as fake:
        yield fake


@pytest.fixture
def llm_env(server, monkeypatch) -> dict:
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def test_llm_check_reports_modes(server, llm_env):
    out = heard("llm", "check", "--llm", "openai:fake-model", "--json")
    data = json.loads(out)
    assert data["usable_mode"] == "json_schema"
    assert all(m["ok"] for m in data["modes"])
    server.json_schema = False
    data = json.loads(heard("llm", "check", "--llm", "openai:fake-model", "--json"))
    assert [m["ok"] for m in data["modes"]] == [False, True, True]


def test_llm_check_explains_missing_settings(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["llm", "check", "--llm", "openai:gpt-4o-mini"])
    assert result.exit_code != 0 and "OPENAI_API_KEY" in result.output


def test_analyse_with_llm(tmp_path, server, llm_env):
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "100", "--seed", "2")
    heard("import", str(data), "--consultation", "demo")
    out = heard("analyse", "demo", "--llm", "openai:fake-model", "--estimate")
    assert "prompt tokens" in out and server.stats["calls"] == 0
    assert not Run.objects.exists()  # the estimate spends and saves nothing
    counts_before = Response.objects.count()
    out = heard("analyse", "demo", "--llm", "openai:fake-model")
    assert "LLM openai:fake-model" in out
    run = Run.objects.get()
    assert run.params["llm"] == "openai:fake-model"
    use = llm_use(run)
    assert use is not None and use.name == "openai:fake-model"
    assert [q.key for q in use.questions] == list(
        Question.objects.filter(kind="open").values_list("key", flat=True))
    assert use.prompt_tokens == server.stats["prompt_tokens"] > 0
    assert use.calls == server.stats["calls"]
    # the record names the responses whose text went out, and they are this question's
    for q in use.questions:
        assert 0 < q.sent < q.responses
        assert set(Response.objects.filter(id__in=q.sent_ids).values_list(
            "question__key", flat=True)) == {q.key}
    assert f"{use.sent} of {use.responses} responses sent" in out
    # offline results stay the base: every response still has exactly one outcome
    assert Response.objects.count() == counts_before
    assert not Response.objects.filter(outcome=Response.Outcome.PENDING).exists()
    assert Theme.objects.filter(label__startswith="About ").exists()
    out = heard("llm", "ledger", "demo")
    assert "prompt" in out and "Total" in out
