"""The consultation list, a consultation's overview, and its members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from heard.pipeline.analysis import AnalyseParams
from heard.pipeline.jobs import enqueue_analysis
from heard.results import consultation_results, consultation_summaries, llm_use
from heard.store.models import Consultation, Membership, Question, Run
from heard.web import editing
from heard.web.access import can_create_consultations, consultation_view, visible_consultations
from heard.web.ledger import llm_choice
from heard.web.views.common import can, report_edit_error
from heard.web.views.jobs import _last_params, already_running


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "heard/home.html", {
        "consultations": [
            (summary, _overview_url(summary.name))
            for summary in consultation_summaries(visible_consultations(request.user))
        ],
        "can_create": can_create_consultations(request.user),
    })


def _overview_url(name: str) -> str | None:
    """The overview's address; None when the name cannot be part of one (the page then shows
    the name without a link rather than fail for everyone)."""
    try:
        return reverse("heard:overview", args=[name])
    except NoReverseMatch:
        return None


@consultation_view()
def overview(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    runs = list(Run.objects.filter(consultation=consultation).order_by("-created_at")[:5])
    for run in runs:
        run.llm_use = llm_use(run)
    return render(request, "heard/overview.html", {
        "consultation": consultation,
        "results": consultation_results(consultation),
        "runs": runs,
        "can_run": can(request, "lead"),
        "llm_choice": llm_choice() if can(request, "lead") else None,
        "can_admin": can(request, "admin"),
        "title_max": editing.TITLE_MAX,
        "theme_sources": theme_sources(request, consultation) if can(request, "lead") else [],
    })


@consultation_view(Membership.Role.LEAD)
@require_POST
def details(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    """A lead changes the consultation's title and description (audited, revertible)."""
    try:
        event = editing.set_details(consultation, request.user,
                                    title=request.POST.get("title", ""),
                                    description=request.POST.get("description", ""))
    except editing.EditError as exc:
        report_edit_error(request, exc)
    else:
        if event is not None:
            messages.success(request, "Saved the title and description.")
    return redirect("heard:overview", name=consultation.name)


def theme_sources(request: HttpRequest, consultation: Consultation) -> list[dict]:
    """Open questions with themes in the other consultations this user can see, grouped by
    consultation: the starting codebooks offered for this consultation's questions."""
    questions = (
        Question.objects.filter(consultation__in=visible_consultations(request.user),
                                kind=Question.Kind.OPEN)
        .exclude(consultation=consultation)
        .annotate(n_themes=Count("themes")).filter(n_themes__gt=0)
        .select_related("consultation").order_by("consultation__name", "id")
    )
    groups: dict[int, dict] = {}
    for question in questions:
        other = question.consultation
        groups.setdefault(other.pk, {"consultation": other, "questions": []})[
            "questions"].append(question)
    return list(groups.values())


@consultation_view(Membership.Role.LEAD)
@require_POST
def start_from_themes(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    """Queue the mapping of one question to another consultation's themes (copied with their
    hierarchy as its codebook), through the analysis every run takes."""
    target = consultation.questions.filter(
        pk=_number(request.POST.get("target")), kind=Question.Kind.OPEN).first()
    source = Question.objects.filter(
        pk=_number(request.POST.get("source")), kind=Question.Kind.OPEN,
        consultation__in=visible_consultations(request.user),
    ).exclude(consultation=consultation).select_related("consultation").first()
    if target is None or source is None or not source.themes.exists():
        messages.error(request, "Choose a question of this consultation and, from another "
                       "consultation you can open, a question with themes.")
        return redirect("heard:overview", name=consultation.name)
    if (busy := already_running(request, consultation)) is not None:
        return busy
    other = source.consultation
    params = AnalyseParams(embedder=_last_params(consultation).get("embedder", "auto"),
                           question=target.key, codebook_from=f"{other.name}:{source.key}")
    run = enqueue_analysis(
        consultation, params, user=request.user,
        label=f"Map {target.key} to the themes of {other.title or other.name} ({source.key})",
    )
    return redirect("heard:job", name=consultation.name, run_id=run.pk)


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@consultation_view(Membership.Role.ADMIN)
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    User = get_user_model()
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "remove":
            membership_id = request.POST.get("membership", "")
            membership = Membership.objects.filter(
                pk=membership_id, consultation=consultation
            ).first() if membership_id.isdigit() else None
            if membership and membership.user_id == request.user.pk:
                error = "You cannot remove your own access."
            elif membership:
                membership.delete()
                messages.success(request, f"Removed {membership.user.email or membership.user}.")
                return redirect("heard:members", name=consultation.name)
        else:
            email = request.POST.get("email", "").strip()
            role = request.POST.get("role", "")
            user = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()
            if role not in Membership.Role.values:
                error = "Choose a role."
            elif user is None:
                error = (f"No account for {email or 'that address'}. Ask your IT team to create "
                         "it with `heard user add EMAIL`.")
            else:
                Membership.objects.update_or_create(
                    user=user, consultation=consultation, defaults={"role": role}
                )
                messages.success(request, f"{user.email or user} is now {role}.")
                return redirect("heard:members", name=consultation.name)
    return render(request, "heard/members.html", {
        "consultation": consultation,
        "memberships": consultation.memberships.select_related("user"),
        "everywhere": Membership.objects.filter(consultation=None).select_related("user"),
        "roles": Membership.Role.choices,
        "error": error,
    }, status=400 if error else 200)
