"""Helpers shared by the views."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from heard.store.models import Consultation, Question, Response, Theme
from heard.web.access import RANK
from heard.web.editing import EditConflict, EditError


def question_of(consultation: Consultation, qid: int) -> Question:
    return get_object_or_404(Question, pk=qid, consultation=consultation)


def theme_of(consultation: Consultation, theme_id: int) -> Theme:
    return get_object_or_404(
        Theme.objects.select_related("question"), pk=theme_id,
        question__consultation=consultation,
    )


def response_of(consultation: Consultation, response_id: int) -> Response:
    return get_object_or_404(
        Response.objects.select_related("question", "respondent", "group"),
        pk=response_id, question__consultation=consultation,
    )


def can(request: HttpRequest, role: str) -> bool:
    return RANK[request.role] >= RANK[role]


def version_of(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


def report_edit_error(request: HttpRequest, exc: EditError) -> None:
    level = messages.WARNING if isinstance(exc, EditConflict) else messages.ERROR
    messages.add_message(request, level, str(exc), extra_tags="conflict" if level ==
                         messages.WARNING else "")


def safe_next(request: HttpRequest, default: str) -> str:
    """A local URL to go back to (never another site)."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would take anything else for a view's name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    """A page explaining why a request cannot be done; every value in it is escaped."""
    return render(request, "heard/problem.html", {
        "message": message, "consultation": getattr(request, "consultation", None),
    }, status=status)
