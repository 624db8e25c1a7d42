"""The LLM stage as a stage of the run: the CLI and the job worker give the same record, and a
resumed run never calls the LLM twice for a question (fake LLM server on 127.0.0.1)."""

from __future__ import annotations

import pytest

from heard.pipeline import jobs
from heard.pipeline.analysis import AnalyseParams, AnalysisError, run_analysis, start_run
from heard.results import llm_use
from heard.store.models import Consultation, Run, RunLLMQuestion
from tests.conftest import heard
from tests.llm.fake_llm import FakeLLM

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture
def server(monkeypatch):
    with FakeLLM("openai") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield fake


@pytest.fixture
def demo(tmp_path):
    """The same sample consultation imported twice, as ``a`` and ``b``."""
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "60", "--seed", "4")
    heard("import", str(data), "--consultation", "a")
    heard("import", str(data), "--consultation", "b")


def _summary(run: Run) -> dict:
    use = llm_use(run)
    assert use is not None
    return {
        "name": use.name, "stages": use.stages, "calls": use.calls,
        "prompt_tokens": use.prompt_tokens, "completion_tokens": use.completion_tokens,
        "questions": [(q.key, q.calls, q.responses, q.sent, q.outcomes) for q in use.questions],
    }


def test_cli_and_worker_give_the_same_record(demo, server):
    heard("analyse", "a", "--embedder", "static", "--llm", "openai:fake-model")
    via_cli = Run.objects.get(consultation__name="a")
    calls_cli = server.stats["calls"]
    b = Consultation.objects.get(name="b")
    job = jobs.enqueue_analysis(b, AnalyseParams(embedder="static", llm="openai:fake-model"))
    assert jobs.work(once=True, poll=0.01) == 1
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert _summary(via_cli) == _summary(job)
    assert llm_use(via_cli).calls == calls_cli
    assert llm_use(job).calls == server.stats["calls"] - calls_cli
    # which responses were sent: the same answers, by their keys in the source
    for q_cli, q_job in zip(llm_use(via_cli).questions, llm_use(job).questions, strict=True):
        keys = [
            sorted(Run.objects.get(pk=run.pk).consultation.questions.get(key=q.key)
                   .responses.filter(id__in=q.sent_ids).values_list("respondent__key",
                                                                   flat=True))
            for run, q in ((via_cli, q_cli), (job, q_job))
        ]
        assert keys[0] == keys[1] and keys[0]


def _llm_questions(stages: list[str]) -> list[str]:
    return list(dict.fromkeys(s.split(":")[0] for s in stages if ": llm" in s))


def test_cancel_finishes_the_question_the_llm_is_on(demo, server):
    consultation = Consultation.objects.get(name="a")
    run = start_run(consultation, AnalyseParams(embedder="static", llm="openai:fake-model"))
    seen: list[str] = []

    def cancel_during_first_llm_question(stage: str, fraction: float) -> None:
        seen.append(stage)
        if len(_llm_questions(seen)) == 1 and stage.endswith("llm labels"):
            Run.objects.filter(pk=run.pk).update(cancel_requested=True)

    run = run_analysis(run, progress=cancel_during_first_llm_question)
    assert run.status == "cancelled"
    first = RunLLMQuestion.objects.get(llm__run=run)  # finished and recorded; no other began
    assert first.stages["summaries"]["themes"] > 0
    assert first.calls == server.stats["calls"] > 0  # nothing paid for is unrecorded


def test_resume_does_not_call_the_llm_twice(demo, server):
    consultation = Consultation.objects.get(name="a")
    params = AnalyseParams(embedder="static", llm="openai:fake-model")
    run = start_run(consultation, params)
    seen: list[str] = []

    def die_at_second_llm_question(stage: str, fraction: float) -> None:
        seen.append(stage)
        if len(_llm_questions(seen)) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        run_analysis(run, progress=die_at_second_llm_question)
    run.refresh_from_db()
    assert run.status == "failed"
    first = RunLLMQuestion.objects.get(llm__run=run)
    calls_before = server.stats["calls"]
    assert first.calls == calls_before > 0

    again = start_run(consultation, params)
    assert again.pk == run.pk  # the same parameters resume the same run
    resumed: list[str] = []
    run = run_analysis(again, progress=lambda stage, f: resumed.append(stage))
    assert run.status == "done"
    assert first.question.key not in _llm_questions(resumed)  # its LLM stage is not redone
    use = llm_use(run)
    assert len(use.questions) == consultation.questions.filter(kind="open").count()
    assert RunLLMQuestion.objects.get(pk=first.pk).calls == first.calls
    assert use.calls == server.stats["calls"] > calls_before  # each call recorded once


def test_llm_progress_follows_the_offline_stages(demo, server):
    consultation = Consultation.objects.get(name="a")
    run = start_run(consultation, AnalyseParams(embedder="static", llm="openai:fake-model"))
    reported: list[tuple[str, float]] = []
    run_analysis(run, progress=lambda stage, f: reported.append((stage, f)))
    llm = [(s, f) for s, f in reported if ": llm" in s]
    offline = [(s, f) for s, f in reported if s != "done" and ": llm" not in s
               and s != "llm done"]
    assert llm and offline
    assert max(f for _, f in offline) <= min(f for _, f in llm)
    fractions = [f for _, f in llm]
    assert fractions == sorted(fractions) and reported[-1] == ("done", 1.0)
    assert {s.split(": ")[1] for s, _ in llm} == {"llm labels", "llm condense", "llm mapping",
                                                   "llm summaries"}


def test_bad_llm_fails_the_run_with_a_clear_message(demo, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    consultation = Consultation.objects.get(name="a")
    run = start_run(consultation, AnalyseParams(embedder="static", llm="openai:gpt-4o-mini"))
    with pytest.raises(AnalysisError, match="OPENAI_API_KEY"):
        run_analysis(run)
    run.refresh_from_db()
    assert run.status == "failed" and "OPENAI_API_KEY" in run.error
    assert not RunLLMQuestion.objects.exists()
    bad = start_run(consultation, AnalyseParams(llm="openai:x", llm_stages=("poems",)))
    with pytest.raises(AnalysisError, match="Unknown LLM stage"):
        run_analysis(bad)
