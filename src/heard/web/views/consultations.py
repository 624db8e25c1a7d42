"""The consultation list, a consultation's overview, and its members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from heard.pipeline.llm_stage import llm_use
from heard.store.models import Consultation, DuplicateGroup, Membership, Question, Run
from heard.web.access import can_create_consultations, consultation_view, visible_consultations
from heard.web.ledger import llm_choice
from heard.web.views.common import can


@login_required
def home(request: HttpRequest) -> HttpResponse:
    consultations = visible_consultations(request.user).annotate(
        n_questions=Count("questions", distinct=True),
        n_respondents=Count("respondents", distinct=True),
    )
    return render(request, "heard/home.html", {
        "consultations": consultations,
        "can_create": can_create_consultations(request.user),
    })


@consultation_view()
def overview(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    questions = (
        consultation.questions.annotate(
            n_responses=Count("responses", distinct=True),
            n_empty=Count("responses", filter=Q(responses__is_empty=True), distinct=True),
        )
        .select_related("stage_changed_by")
        .order_by("position", "id")
    )
    open_qs = [q for q in questions if q.kind == Question.Kind.OPEN]
    theme_counts = dict(
        consultation.questions.filter(kind=Question.Kind.OPEN)
        .annotate(n=Count("themes")).values_list("id", "n")
    )
    campaigns = list(
        DuplicateGroup.objects.filter(question__consultation=consultation, kind="campaign")
        .select_related("question").order_by("-size")[:20]
    )
    for q in open_qs:
        q.n_themes = theme_counts.get(q.id, 0)
    runs = list(Run.objects.filter(consultation=consultation).order_by("-created_at")[:5])
    for run in runs:
        run.llm_use = llm_use(run)
    return render(request, "heard/overview.html", {
        "consultation": consultation,
        "open_questions": open_qs,
        "closed_questions": [q for q in questions if q.kind == Question.Kind.CLOSED],
        "demographics": [q for q in questions if q.kind == Question.Kind.DEMOGRAPHIC],
        "respondents": consultation.respondents.count(),
        "campaigns": campaigns,
        "runs": runs,
        "can_run": can(request, "lead"),
        "llm_choice": llm_choice() if can(request, "lead") else None,
        "can_admin": can(request, "admin"),
    })


@consultation_view(Membership.Role.ADMIN)
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    User = get_user_model()
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "remove":
            membership = Membership.objects.filter(
                pk=request.POST.get("membership", "0") or 0, consultation=consultation
            ).first()
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
