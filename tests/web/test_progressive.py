"""Progressive results: a quick first pass on screen, then the normal pass; the live job is
linked from every page of its consultation, worded readably, and holds sign-off back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from heard.pipeline import jobs
from heard.pipeline.analysis import AnalyseParams, run_analysis, start_run
from heard.store.models import Assignment, Consultation, Response, Run, Theme
from tests.conftest import heard


def _url(name, **kwargs):
    return reverse(f"heard:{name}", kwargs={"name": "own", **kwargs})


def _running(consultation, **state) -> Run:
    return Run.objects.create(
        consultation=consultation, kind="analyse", status=Run.Status.RUNNING,
        started_at=timezone.now() - timedelta(seconds=30), progress=0.4, stage="q2: embed",
        state={"label": "Analyse the imported responses", "done": [], **state},
    )


# ---------------------------------------------------------------- the words


def test_progress_line_names_pass_question_stage_counts_and_time_left(own):
    run = _running(own.consultation, progress={
        "pass": "refine", "index": 2, "of": 4, "question": "q2",
        "text": "Please explain why you gave this answer.", "stage": "embed",
        "done": 6000, "total": 10000,
    })
    run.progress = 0.5
    line = jobs.progress_line(run, now=run.started_at + timedelta(seconds=40))
    parts = line.split(" · ")
    assert parts[0] == "Refining"
    assert parts[1] == "question 2 of 4 (Please explain why you gave this answer.)"
    assert parts[2] == "embedding 6,000 of 10,000 answers"
    # 40 s for half the work: about 40 s left
    assert parts[3] == "about 40 s left"
    assert jobs.progress_line(run, now=run.started_at + timedelta(seconds=100)).endswith(
        "about 2 min left")


def test_progress_line_is_empty_while_pending_and_long_texts_are_cut(own):
    pending = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    assert jobs.progress_line(pending) == ""
    run = _running(own.consultation, progress={
        "pass": "first", "index": 1, "of": 3, "question": "x" * 80, "text": "y" * 80,
        "stage": "themes"})
    line = jobs.progress_line(run)
    assert line.startswith("First pass (quick) · question 1 of 3 (" + "y" * 49 + "…)")
    assert "finding themes" in line


def test_job_json_and_page_separate_status_from_the_line(as_role, own):
    run = _running(own.consultation, progress={
        "pass": "first", "index": 1, "of": 2, "question": "q1_why", "text": "Why?",
        "stage": "embed", "done": 10, "total": 30})
    client = as_role("analyst")
    payload = client.get(_url("job-json", run_id=run.pk)).json()
    assert payload["status"] == "running"
    assert payload["line"].startswith("First pass (quick) · question 1 of 2 (Why?) · embedding "
                                      "10 of 30 answers")
    page = client.get(_url("job", run_id=run.pk)).content.decode()
    assert '<strong id="job-state">running</strong> · ' in page
    assert 'id="job-waiting" hidden' in page  # running: no "Waiting for a worker"
    pending = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    page = client.get(_url("job", run_id=pending.pk)).content.decode()
    assert 'id="job-waiting">Waiting for a worker' in page


# ---------------------------------------------------------------- the pages during a run


def test_consultation_pages_link_the_live_job(as_role, own):
    client = as_role("viewer")
    assert 'id="live-job"' not in client.get(_url("overview")).content.decode()
    run = _running(own.consultation)
    job_url = _url("job", run_id=run.pk)
    for page in (_url("overview"), _url("question", qid=own.question.pk), _url("history")):
        html = client.get(page).content.decode()
        assert 'id="live-job"' in html and f'href="{job_url}"' in html, page
    # not on the job's own page
    assert 'id="live-job"' not in client.get(job_url).content.decode()


def test_sign_off_is_disabled_and_refused_while_a_job_runs(as_role, own):
    client = as_role("lead")
    run = _running(own.consultation)
    html = client.get(_url("question", qid=own.question.pk)).content.decode()
    assert 'id="sign-off" disabled' in html
    assert 'id="sign-off-waits"' in html
    reply = client.post(_url("stage", qid=own.question.pk), {"stage": "themes_agreed"},
                        follow=True)
    own.question.refresh_from_db()
    assert own.question.stage == "draft"
    assert "Sign-off waits until the running job has finished" in reply.content.decode()
    assert f"job {run.pk}" in reply.content.decode()
    run.status = Run.Status.DONE
    run.save()
    html = client.get(_url("question", qid=own.question.pk)).content.decode()
    assert 'id="sign-off" disabled' not in html
    client.post(_url("stage", qid=own.question.pk), {"stage": "themes_agreed"})
    own.question.refresh_from_db()
    assert own.question.stage == "themes_agreed"


def test_question_without_themes_says_the_analysis_is_running(as_role, own):
    Assignment.objects.filter(theme__question=own.question).delete()
    Theme.objects.filter(question=own.question).delete()
    client = as_role("analyst")
    html = client.get(_url("question", qid=own.question.pk)).content.decode()
    assert "No themes yet. Run the analysis" in html
    run = _running(own.consultation)
    html = client.get(_url("question", qid=own.question.pk)).content.decode()
    assert "No themes yet" not in html
    assert "The analysis is running" in html and _url("job", run_id=run.pk) in html


def test_first_pass_themes_are_marked_until_refined(as_role, own):
    client = as_role("analyst")
    run = _running(own.consultation, first_pass={str(own.question.pk): timezone.now().isoformat()})
    html = client.get(_url("question", qid=own.question.pk)).content.decode()
    assert "First pass: refining" in html
    run.state = {**run.state, "done": [own.question.pk]}
    run.save()
    html = client.get(_url("question", qid=own.question.pk)).content.decode()
    assert "First pass: refining" not in html


def test_web_runs_ask_for_a_first_pass(as_role, own):
    client = as_role("lead")
    client.post(_url("analyse"))
    assert Run.objects.filter(kind="analyse", status="pending").get().params["first_pass"]


# ---------------------------------------------------------------- the run itself


def _results(consultation: Consultation) -> tuple:
    themes = sorted(Theme.objects.filter(question__consultation=consultation)
                    .values_list("question__key", "key", "label", "parent__key"))
    assignments = sorted(Assignment.objects.filter(theme__question__consultation=consultation)
                         .values_list("response_id", "theme__key", "origin"))
    fields = sorted(Response.objects.filter(question__consultation=consultation).values_list(
        "id", "outcome", "outcome_reason", "stance", "evidence_rich", "group__key"))
    return themes, assignments, fields


@pytest.fixture
def demo(tmp_path, transactional_db):
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "240", "--seed", "4")
    heard("import", str(data), "--consultation", "demo")
    return Consultation.objects.get(name="demo")


@pytest.mark.django_db(transaction=True)
def test_first_pass_shows_every_question_then_the_normal_result(demo):
    open_questions = list(demo.questions.filter(kind="open"))
    run = start_run(demo, AnalyseParams(seed=2, embedder="minilm", first_pass=True))
    seen: dict[str, int] = {}

    def watch(stage: str, fraction: float) -> None:
        state = Run.objects.get(pk=run.pk).state
        if state.get("progress", {}).get("pass") == "refine" and "refine" not in seen:
            # the normal pass starts only once every question has its first-pass themes
            seen["refine"] = Theme.objects.filter(question__in=open_questions).values(
                "question").distinct().count()
            seen["first_pass"] = len(state["first_pass"])
            seen["marked"] = len(jobs.first_pass_only(Run.objects.get(pk=run.pk)))

    run_analysis(run, progress=watch)
    assert seen == {"refine": len(open_questions), "first_pass": len(open_questions),
                    "marked": len(open_questions)}
    run.refresh_from_db()
    assert run.status == "done" and not jobs.first_pass_only(run)
    assert any(k.endswith("(first pass)") for k in run.timings)
    progressive = _results(demo)
    # the same seed and embedder without a first pass: the same themes and mapping
    heard("analyse", "demo", "--seed", "2", "--embedder", "minilm", "--rediscover")
    assert _results(demo) == progressive


@pytest.mark.django_db(transaction=True)
def test_the_normal_pass_keeps_first_pass_themes_an_analyst_edited(demo):
    from django.contrib.auth import get_user_model

    from heard.web import editing

    analyst = get_user_model().objects.create_user("a@example.org", "a@example.org", "pw")
    first_q, *others = list(demo.questions.filter(kind="open"))
    run = start_run(demo, AnalyseParams(seed=0, embedder="minilm", first_pass=True))
    before: dict[str, set[int]] = {}

    def edit_once(stage: str, fraction: float) -> None:
        state = Run.objects.get(pk=run.pk).state
        if state.get("progress", {}).get("pass") == "refine" and not before:
            for q in (first_q, *others):
                before[q.key] = set(Theme.objects.filter(question=q).values_list("pk", flat=True))
            theme = Theme.objects.filter(question=first_q).first()
            editing.update_theme(theme, None, analyst, label="Named by an analyst")

    run_analysis(run, progress=edit_once)
    kept = set(Theme.objects.filter(question=first_q).values_list("pk", flat=True))
    assert kept == before[first_q.key]
    assert Theme.objects.filter(question=first_q, label="Named by an analyst").exists()
    # the others' first-pass themes were replaced by the normal pass
    for q in others:
        now = set(Theme.objects.filter(question=q).values_list("pk", flat=True))
        assert not now & before[q.key]


def test_run_progress_counts_embedding_without_changing_vectors(own):
    import numpy as np

    from heard.analysis.embeddings import get_embedder
    from heard.analysis.executor import InProcess, SpreadEmbedder
    from heard.pipeline.analysis import RunProgress

    run = _running(own.consultation)
    tracker = RunProgress(run, 3)
    tracker.begin("refine", 1, own.question)
    tracker.update("A question key far longer than the stage column allows: embed", 0.3)
    run.refresh_from_db()
    assert len(run.stage) <= 40 and run.stage.endswith(": embed")
    texts = [f"answer number {i} about buses and parking" for i in range(3000)]
    spread = SpreadEmbedder(get_embedder("static"), "static", InProcess(), chunk_size=1024)
    vectors = tracker.counting(spread).embed(texts)
    assert np.array_equal(vectors, get_embedder("static").embed(texts))
    run.refresh_from_db()
    assert run.state["progress"] == {
        "pass": "refine", "index": 2, "of": 3, "question": "q1_why",
        "text": "Why do you say that?", "stage": "embed", "done": 3000, "total": 3000}
    assert "question 2 of 3 (Why do you say that?) · embedding 3,000 of 3,000 answers" in (
        jobs.progress_line(run))
