"""The response reader and the respondent view."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from heard.results import in_tree_order
from heard.store.models import Assignment, Consultation, Membership, Respondent, Response
from heard.web import documents, editing
from heard.web.access import consultation_view
from heard.web.filters import ResponseFilter, semantic_search
from heard.web.views.common import can, report_edit_error, response_of, safe_next, version_of


def _quotes_for(response: Response) -> list[str]:
    quotes = []
    for theme in response.question.themes.all():
        for quote in theme.quotes or []:
            if quote.get("response_id") == response.id and quote.get("text"):
                quotes.append(quote["text"])
    return quotes


@dataclass(frozen=True)
class Position:
    """Where a response sits in the question page's list it was opened from."""

    index: int | None  # 1-based; None when the response is no longer in the list
    total: int
    previous: int | None
    next: int | None
    filtered: bool


def list_position(consultation: Consultation, response: Response, back: str) -> Position:
    """The response's place in the list of its question page, under the filter and search in
    ``back`` (the page it was opened from, carried in ``next``); the page's order: by id,
    or best match first for a search by meaning."""
    question = response.question
    page = reverse("heard:question", args=[consultation.name, question.pk])
    parts = urlsplit(back)
    flt = ResponseFilter.from_query(QueryDict(parts.query if parts.path == page else ""))
    listed = flt.apply(question)
    rid = response.pk
    if flt.similar:
        from heard.web.views.questions import _embedder_name

        try:
            ids = [i for i, _ in semantic_search(listed, flt.similar,
                                                 _embedder_name(consultation))]
        except Exception:  # the embedding model may be missing; the page says so too
            ids = []
        at = ids.index(rid) if rid in ids else None
        return Position(
            index=None if at is None else at + 1, total=len(ids),
            previous=ids[at - 1] if at else None,
            next=ids[at + 1] if at is not None and at + 1 < len(ids) else None,
            filtered=True,
        )
    ordered = listed.order_by("id").values_list("id", flat=True)
    inside = listed.filter(pk=rid).exists()
    return Position(
        index=listed.filter(id__lt=rid).count() + 1 if inside else None,
        total=listed.count(),
        previous=listed.filter(id__lt=rid).order_by("-id").values_list("id", flat=True).first(),
        next=ordered.filter(id__gt=rid).first(),
        filtered=flt.active,
    )


def _reader_url(consultation: Consultation, response_id: int, back: str) -> str:
    url = reverse("heard:response", args=[consultation.name, response_id])
    return f"{url}?{urlencode({'next': back})}"


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
        copies = request.POST.get("copies") == "1"
        try:
            event = editing.edit_response(
                response, request.user, version=version_of(request),
                theme_ids=[int(t) for t in request.POST.getlist("theme") if t.isdigit()],
                stance=request.POST.get("stance"),
                evidence_rich={"yes": True, "no": False, "": None}.get(evidence, "keep"),
                copies=copies,
            )
            n = event.after.get("copies")
            messages.success(request, f"Saved your coding of this response and its {n} "
                             f"cop{'y' if n == 1 else 'ies'}." if n else
                             "Saved your changes to this response.")
        except editing.EditError as exc:
            report_edit_error(request, exc)
            return redirect(_reader_url(consultation, response.pk, back))
        following = (list_position(consultation, response, back).next
                     if request.POST.get("then") == "next" else None)
        return redirect(_reader_url(consultation, following or response.pk, back))
    active = set(
        Assignment.objects.filter(response=response, is_active=True).values_list(
            "theme_id", flat=True)
    )
    themes = in_tree_order(list(response.question.themes.all()))
    position = list_position(consultation, response, back)
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
        "copies": editing.copies_of(response).count(),
        "position": position,
        "previous_url": position.previous and _reader_url(consultation, position.previous,
                                                          back),
        "next_url": position.next and _reader_url(consultation, position.next, back),
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
