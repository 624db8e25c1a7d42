"""The response reader and the respondent view."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from heard.results import in_tree_order
from heard.store.models import Assignment, Consultation, Membership, Respondent, Response
from heard.web import documents, editing
from heard.web.access import consultation_view
from heard.web.views.common import can, report_edit_error, response_of, safe_next


def _quotes_for(response: Response) -> list[str]:
    quotes = []
    for theme in response.question.themes.all():
        for quote in theme.quotes or []:
            if quote.get("response_id") == response.id and quote.get("text"):
                quotes.append(quote["text"])
    return quotes


@consultation_view()
@require_http_methods(["GET", "POST"])
def reader(request: HttpRequest, consultation: Consultation, response_id: int) -> HttpResponse:
    response = response_of(consultation, response_id)
    back = safe_next(request, reverse("heard:question", args=[consultation.name,
                                                              response.question_id]))
    if request.method == "POST":
        if not can(request, Membership.Role.ANALYST):
            return HttpResponse("Viewers cannot edit responses.", status=403)
        evidence = request.POST.get("evidence", "keep")
        try:
            editing.edit_response(
                response, request.user,
                theme_ids=[int(t) for t in request.POST.getlist("theme") if t.isdigit()],
                stance=request.POST.get("stance"),
                evidence_rich={"yes": True, "no": False, "": None}.get(evidence, "keep"),
            )
            messages.success(request, "Saved your changes to this response.")
        except editing.EditError as exc:
            report_edit_error(request, exc)
        url = reverse("heard:response", args=[consultation.name, response.pk])
        return redirect(f"{url}?next={back}")
    active = set(
        Assignment.objects.filter(response=response, is_active=True).values_list(
            "theme_id", flat=True)
    )
    themes = in_tree_order(list(response.question.themes.all()))
    return render(request, "heard/response.html", {
        "consultation": consultation,
        "response": response,
        "question": response.question,
        "themes": themes,
        "active": active,
        "quotes": _quotes_for(response),
        "stances": Response.Stance.choices,
        "back": back,
        "can_edit": can(request, Membership.Role.ANALYST),
        "others": response.respondent.responses.exclude(pk=response.pk).count(),
        "document": documents.document_view(response),
    })


def _not_found(message: str) -> HttpResponse:
    return HttpResponseNotFound(message, content_type="text/plain; charset=utf-8")


@consultation_view()
def page_image(request: HttpRequest, consultation: Consultation, response_id: int,
               page: int) -> HttpResponse:
    """Page ``page`` of the response's stored original, as a PNG image."""
    response = response_of(consultation, response_id)
    path = documents.stored_original(response.source)
    if path is None:
        return _not_found("This response has no stored original document.")
    try:
        image = documents.page_png(path, page)
    except documents.PageUnavailable as exc:
        return _not_found(str(exc))
    reply = FileResponse(image.open("rb"), content_type="image/png")
    reply["Cache-Control"] = "private, max-age=3600"
    return reply


@consultation_view()
def original(request: HttpRequest, consultation: Consultation, response_id: int) -> HttpResponse:
    """The stored original document of the response, as a download."""
    response = response_of(consultation, response_id)
    path = documents.stored_original(response.source)
    if path is None:
        return _not_found("This response has no stored original document.")
    view = documents.document_view(response)
    name = view.download_name if view else path.name
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type=kind)


@consultation_view(Membership.Role.ANALYST)
@require_POST
def mark_read(request: HttpRequest, consultation: Consultation, response_id: int) -> HttpResponse:
    response = response_of(consultation, response_id)
    read = request.POST.get("read", "1") == "1"
    editing.set_read(response, read)
    messages.success(request, "Marked as read." if read else "Marked as unread.")
    return redirect(safe_next(request, reverse("heard:response",
                                               args=[consultation.name, response.pk])))


@consultation_view(Membership.Role.ANALYST)
@require_POST
def flag(request: HttpRequest, consultation: Consultation, response_id: int) -> HttpResponse:
    response = response_of(consultation, response_id)
    flagged = request.POST.get("flagged", "1") == "1"
    try:
        editing.set_flag(response, request.user, flagged)
        messages.success(request, "Flagged for a colleague." if flagged else "Flag removed.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return redirect(safe_next(request, reverse("heard:response",
                                               args=[consultation.name, response.pk])))


@consultation_view()
def respondent(request: HttpRequest, consultation: Consultation,
               respondent_id: int) -> HttpResponse:
    person = get_object_or_404(Respondent, pk=respondent_id, consultation=consultation)
    answers = (
        person.responses.select_related("question")
        .prefetch_related("assignments__theme")
        .order_by("question__position", "question_id")
    )
    for answer in answers:
        answer.theme_labels = [a.theme.label for a in answer.assignments.all() if a.is_active]
    return render(request, "heard/respondent.html", {
        "consultation": consultation, "respondent": person, "answers": answers,
        "attributes": sorted((person.attributes or {}).items()),
    })
