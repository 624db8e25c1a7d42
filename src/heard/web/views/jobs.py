"""Starting analyses as background jobs, following their progress, and cancelling them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from heard.pipeline.analysis import AnalyseParams
from heard.pipeline.jobs import (
    enqueue_analysis,
    first_pass_only,
    live_job,
    progress_line,
    questions_ready,
    request_cancel,
)
from heard.pipeline.llm_stage import LLM_STAGES
from heard.results import llm_use
from heard.store.models import Consultation, Membership, Run
from heard.web.access import consultation_view
from heard.web.editing import record_remap
from heard.web.ledger import llm_choice
from heard.web.views.common import question_of

FINISHED = {Run.Status.DONE, Run.Status.FAILED, Run.Status.CANCELLED}


def _job(consultation: Consultation, run_id: int) -> Run:
    return get_object_or_404(Run, pk=run_id, consultation=consultation)


def already_running(request: HttpRequest, consultation: Consultation) -> HttpResponse | None:
    """The live job's page, with a message, when the consultation has a job queued or
    running: a second analysis would only wait behind it and then redo its work."""
    running = live_job(consultation)
    if running is None:
        return None
    label = (running.state or {}).get("label") or f"run {running.pk}"
    messages.info(request, f"{label} (job {running.pk}) has not finished yet, so nothing "
                  "new was started. Start the next analysis once it is done.")
    return redirect("heard:job", name=consultation.name, run_id=running.pk)


def _last_params(consultation: Consultation) -> dict:
    run = consultation.runs.filter(kind="analyse").exclude(params={}).first()
    return dict(run.params) if run else {}


def _llm_params(request: HttpRequest) -> dict | None:
    """``AnalyseParams`` fields for the LLM the lead ticked, or None; a ValueError says
    what is wrong with the form."""
    if request.POST.get("llm") != "1":
        return None
    choice = llm_choice()
    if choice is None or choice.problem:
        raise ValueError("No LLM is configured for this installation"
                         + (f": {choice.problem}" if choice and choice.problem else "."))
    stages = tuple(s for s in LLM_STAGES if request.POST.get(f"llm_{s}") == "1")
    if not stages:
        raise ValueError("Choose at least one LLM stage, or untick the LLM.")
    budget_text = (request.POST.get("llm_budget") or "").strip()
    try:
        budget = float(budget_text) if budget_text else None
    except ValueError:
        raise ValueError(f"LLM budget: {budget_text!r} is not a number, e.g. 2.50.") from None
    if budget is not None and budget <= 0:
        raise ValueError("LLM budget: enter an amount above zero, or leave it empty.")
    return {"llm": choice.name, "llm_stages": stages, "llm_budget": budget}


@consultation_view(Membership.Role.LEAD)
@require_POST
def analyse(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    """Analyse every question (themes kept where they exist, unless asked to start over),
    then, when the lead ticks it, run the installation's LLM stage."""
    if (busy := already_running(request, consultation)) is not None:
        return busy
    rediscover = request.POST.get("rediscover") == "1"
    embedder = _last_params(consultation).get("embedder", "auto")
    try:
        llm = _llm_params(request)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("heard:overview", name=consultation.name)
    params = AnalyseParams(embedder=embedder, rediscover=rediscover, first_pass=True,
                           **(llm or {}))
    label = "Analyse all questions" + (f" with {llm['llm']}" if llm else "")
    run = enqueue_analysis(consultation, params, user=request.user, label=label)
    return redirect("heard:job", name=consultation.name, run_id=run.pk)


@consultation_view(Membership.Role.ANALYST)
@require_POST
def remap(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    """Re-map one question with its current themes, learning from analysts' corrections."""
    question = question_of(consultation, qid)
    if (busy := already_running(request, consultation)) is not None:
        return busy
    if not question.themes.exists():
        messages.error(request, "This question has no themes to map to yet.")
        return redirect("heard:question", name=consultation.name, qid=qid)
    embedder = _last_params(consultation).get("embedder", "auto")
    run = enqueue_analysis(
        consultation, AnalyseParams(embedder=embedder, question=question.key),
        user=request.user, label=f"Re-map {question.key} using our corrections",
    )
    messages.info(request, record_remap(question, request.user, run))
    return redirect("heard:job", name=consultation.name, run_id=run.pk)


def _payload(run: Run) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "stage": run.stage,
        "line": progress_line(run),
        "first_pass": sorted(first_pass_only(run)),
        "ready": sorted(questions_ready(run)),
        "next_run": (run.state or {}).get("next_run"),
        "progress": round(run.progress, 4),
        "percent": int(run.progress * 100),
        "error": run.error,
        "llm": (run.params or {}).get("llm"),
        "finished": run.status in FINISHED,
        "cancel_requested": run.cancel_requested,
    }


@consultation_view()
def job(request: HttpRequest, consultation: Consultation, run_id: int) -> HttpResponse:
    run = _job(consultation, run_id)
    next_run = (run.state or {}).get("next_run")
    if request.GET.get("follow") == "1" and run.status == Run.Status.DONE and next_run:
        # Straight from an upload: once the import is done, show the analysis it queued.
        return redirect("heard:job", name=consultation.name, run_id=next_run)
    return render(request, "heard/job.html", {
        "consultation": consultation, "run": run, "job": _payload(run),
        "label": (run.state or {}).get("label") or f"Run {run.pk}",
        "outcome": (run.state or {}).get("messages", []),
        "next_run": next_run,
        "is_import": run.kind == "import",
        "llm": llm_use(run),
        "llm_asked": (run.params or {}).get("llm"),
        "can_cancel": request.role in (Membership.Role.LEAD, Membership.Role.ADMIN)
        or run.created_by_id == request.user.pk,
    })


@consultation_view(json=True)
def job_json(request: HttpRequest, consultation: Consultation, run_id: int) -> JsonResponse:
    return JsonResponse(_payload(_job(consultation, run_id)))


@consultation_view(Membership.Role.ANALYST)
@require_POST
def cancel(request: HttpRequest, consultation: Consultation, run_id: int) -> HttpResponse:
    run = _job(consultation, run_id)
    if run.created_by_id != request.user.pk and request.role not in (
        Membership.Role.LEAD, Membership.Role.ADMIN
    ):
        return HttpResponse("Only the person who started this job or a lead can cancel it.",
                            status=403)
    if run.status not in FINISHED:
        request_cancel(run)
        messages.success(request, "Cancelling: the job stops at the end of its current step.")
    return redirect("heard:job", name=consultation.name, run_id=run.pk)
