"""The question page (themes, chart, filters, search, responses), sign-off and agreement."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from heard.pipeline.analysis import run_embedder
from heard.pipeline.jobs import live_job
from heard.results import Figure, in_tree_order, plain_summary, question_results
from heard.results import agreement as read_agreement
from heard.store.models import (
    Assignment,
    Consultation,
    DuplicateGroup,
    Membership,
    Question,
    Respondent,
    Response,
    Run,
)
from heard.web import editing
from heard.web.access import consultation_view
from heard.web.filters import ResponseFilter, selection_query, semantic_search
from heard.web.ledger import question_summaries
from heard.web.views.common import can, question_of, report_edit_error

PAGE_SIZE = 25


def _embedder_name(consultation: Consultation) -> str:
    return run_embedder(consultation.runs.filter(kind="analyse", status=Run.Status.DONE).first())


def _linked_summary(summary) -> list[list[dict]]:
    """The question in plain words; each number links to the responses it counts."""
    return [
        [{"text": part.text, "count": part.count, "href": "?" + selection_query(part.selection)}
         if isinstance(part, Figure) else {"text": part} for part in sentence.parts]
        for sentence in plain_summary(summary)
    ]


def _filter_options(question: Question) -> dict:
    """What the filter form offers: respondent details and closed questions' options."""
    siblings = question.consultation.questions.exclude(pk=question.pk)
    demographics = [
        (q.key, q.text or q.key, q.options)
        for q in siblings.filter(kind=Question.Kind.DEMOGRAPHIC) if q.options
    ]
    closed = [
        (q.key, q.text or q.key, q.options)
        for q in siblings.filter(kind=Question.Kind.CLOSED) if q.options
    ]
    return {"demographics": demographics, "closed_questions": closed}


@consultation_view()
def question(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    q = question_of(consultation, qid)
    flt = ResponseFilter.from_query(request.GET)
    responses = flt.apply(q)
    scores: dict[int, float] = {}
    search_error = ""
    meaning = None
    if flt.similar:
        try:
            meaning = semantic_search(responses, flt.similar, _embedder_name(consultation))
        except Exception as exc:  # the embedding model may be missing on this machine
            search_error = f"Search by meaning is not available here: {exc}"
        scores = dict(meaning.ranked) if meaning else {}
        # With no hits, a filter that still compiles to SQL (``id IN ()`` cannot, and the
        # counts are one SQL query).
        responses = (responses.filter(id__in=list(scores)) if scores
                     else responses.filter(pk__isnull=True))
    listing = Response.objects.select_related("respondent", "group").prefetch_related(
        Prefetch("assignments", queryset=Assignment.objects.filter(is_active=True)
                 .select_related("theme"), to_attr="active_assignments")
    )
    if scores:
        summary = question_results(q, responses)
        ordered = sorted(listing.filter(id__in=list(scores)), key=lambda r: -scores[r.id])
        page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        # One query gives the counts and the ids of the requested page.
        wanted = request.GET.get("page", "1")
        number = int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1
        summary = question_results(q, responses, offset=(number - 1) * PAGE_SIZE,
                                       limit=PAGE_SIZE)
        last = max(1, -(-summary.total // PAGE_SIZE))
        if number > last:
            number = last
            summary = question_results(q, responses, offset=(number - 1) * PAGE_SIZE,
                                           limit=PAGE_SIZE)
        paginator = Paginator(range(summary.total), PAGE_SIZE)
        page = paginator.get_page(number)
        page.object_list = list(listing.filter(id__in=summary.page_ids).order_by("id"))
    for r in page.object_list:
        r.score = scores.get(r.id)
    themes = in_tree_order(list(q.themes.all()))
    return render(request, "heard/question.html", {
        "consultation": consultation,
        "question": q,
        "summary": summary,
        "plain_summary": [] if flt.active else _linked_summary(summary),
        "filter": flt,
        "themes": themes,
        "llm_summaries": question_summaries(q, themes),
        "page": page,
        "query": request.GET.urlencode(),
        "stances": Response.Stance.choices,
        "outcome_rows": [("other", "Other"), ("empty", "No substantive answer"),
                         ("unprocessable", "Unprocessable"), ("pending", "Not analysed yet")],
        "respondent_kinds": Respondent.Kind.choices,
        "selected_demo": set(request.GET.getlist("demo")),
        "selected_closed": set(request.GET.getlist("closed")),
        "campaigns": DuplicateGroup.objects.filter(question=q, kind="campaign")[:50],
        "search_error": search_error,
        "meaning": meaning,
        "next_stage": editing.next_stage(q),
        "can_edit": can(request, Membership.Role.ANALYST),
        "can_lead": can(request, Membership.Role.LEAD),
        **_filter_options(q),
    })


@consultation_view(Membership.Role.LEAD)
@require_POST
def stage(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    q = question_of(consultation, qid)
    wanted = request.POST.get("stage", "")
    running = live_job(consultation) if wanted != "draft" else None
    if running is not None:
        label = (running.state or {}).get("label") or f"run {running.pk}"
        messages.error(request, f"Sign-off waits until the running job has finished "
                       f"({label}, job {running.pk}): its results may still change. "
                       "Sign off once it is done.")
        return redirect("heard:question", name=consultation.name, qid=q.pk)
    try:
        editing.set_stage(q, request.user, wanted)
        messages.success(request, f"Stage is now “{q.get_stage_display()}”.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return redirect("heard:question", name=consultation.name, qid=q.pk)


@consultation_view(Membership.Role.LEAD)
def agreement(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    q = question_of(consultation, qid)
    return render(request, "heard/agreement.html", {
        "consultation": consultation, "question": q, "agreement": read_agreement(q),
        "measures": [("micro_f1", "Micro F1"), ("macro_f1", "Macro F1"),
                     ("micro_precision", "Micro precision"), ("micro_recall", "Micro recall"),
                     ("samples_f1", "F1 per response (mean)")],
        "can_edit": can(request, Membership.Role.ANALYST),
    })
