"""The theme editor: rename, describe, add, merge, split, delete and move themes."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from heard.results import in_tree_order, question_results
from heard.store.models import Assignment, Consultation, Membership, Response, Theme
from heard.web import editing
from heard.web.access import consultation_view
from heard.web.filters import ResponseFilter
from heard.web.views.common import question_of, report_edit_error, theme_of, version_of

ANALYST = Membership.Role.ANALYST
SPLIT_PAGE = 200


def _back(consultation: Consultation, theme_or_qid) -> HttpResponse:
    qid = theme_or_qid.question_id if isinstance(theme_or_qid, Theme) else theme_or_qid
    return redirect("heard:themes", name=consultation.name, qid=qid)


@consultation_view(ANALYST)
def editor(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    question = question_of(consultation, qid)
    themes = in_tree_order(list(question.themes.select_related("parent")))
    return render(request, "heard/themes.html", {
        "consultation": consultation,
        "question": question,
        "themes": themes,
        "counts": {t.id: t.count for t in question_results(question).themes},
        "top_level": [t for t in themes if t.parent_id is None],
    })


@consultation_view(ANALYST)
@require_POST
def add(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    question = question_of(consultation, qid)
    parent_id = request.POST.get("parent", "")
    parent = question.themes.filter(pk=parent_id).first() if parent_id.isdigit() else None
    try:
        theme, _ = editing.add_theme(question, request.user, request.POST.get("label", ""),
                                     request.POST.get("description", ""), parent)
        messages.success(request, f"Added the theme “{theme.label}”.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return _back(consultation, qid)


@consultation_view(ANALYST)
@require_POST
def edit(request: HttpRequest, consultation: Consultation, theme_id: int) -> HttpResponse:
    theme = theme_of(consultation, theme_id)
    try:
        editing.update_theme(theme, version_of(request), request.user,
                             label=request.POST.get("label"),
                             description=request.POST.get("description"))
        messages.success(request, f"Saved the theme “{theme.label}”.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return _back(consultation, theme)


@consultation_view(ANALYST)
@require_POST
def move(request: HttpRequest, consultation: Consultation, theme_id: int) -> HttpResponse:
    theme = theme_of(consultation, theme_id)
    parent: Theme | None | str = "keep"
    if "parent" in request.POST:
        value = request.POST["parent"]
        parent = theme.question.themes.filter(pk=value).first() if value.isdigit() else None
    try:
        editing.move_theme(theme, version_of(request), request.user, parent=parent,
                           direction=request.POST.get("direction", ""))
        messages.success(request, f"Moved the theme “{theme.label}”.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return _back(consultation, theme)


@consultation_view(ANALYST)
@require_POST
def merge(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    question = question_of(consultation, qid)
    target_id = request.POST.get("target", "")
    target = question.themes.filter(pk=target_id).first() if target_id.isdigit() else None
    ids = [int(i) for i in request.POST.getlist("source") if i.isdigit()]
    sources = list(question.themes.filter(pk__in=ids))
    if target is None:
        messages.error(request, "Choose the theme to merge into.")
        return _back(consultation, qid)
    try:
        editing.merge_themes(target, version_of(request), sources, request.user)
        messages.success(request, f"Merged {len(sources)} theme(s) into “{target.label}”.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return _back(consultation, qid)


@consultation_view(ANALYST)
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, consultation: Consultation, theme_id: int) -> HttpResponse:
    theme = theme_of(consultation, theme_id)
    if request.method == "POST":
        try:
            editing.delete_theme(theme, version_of(request), request.user)
            messages.success(request, f"Deleted the theme “{theme.label}”; its "
                             "responses without another theme are now in Other.")
        except editing.EditError as exc:
            report_edit_error(request, exc)
        return _back(consultation, theme.question_id)
    count = Assignment.objects.filter(theme=theme, is_active=True).count()
    return render(request, "heard/theme_delete.html", {
        "consultation": consultation, "theme": theme, "question": theme.question,
        "count": count,
    })


def _split_candidates(theme: Theme, search: str) -> QuerySet[Response]:
    """The theme's responses (a parent: its family's, each once) matching ``search``,
    most confident first."""
    family = editing.theme_family(theme)
    in_family = Q(assignments__theme_id__in=family, assignments__is_active=True)
    return (
        ResponseFilter(themes=[theme.id], keywords=search).apply(theme.question)
        .annotate(confidence=Max("assignments__confidence", filter=in_family))
        .order_by(F("confidence").desc(nulls_last=True), "id")
    )


def _chosen(request: HttpRequest, theme: Theme) -> list[int]:
    """The responses the analyst chose: ticked ones, or with "select all" every response
    matching the search, checked against the count the page showed."""
    if request.POST.get("all") != "1":
        return [int(i) for i in request.POST.getlist("response") if i.isdigit()]
    search = request.POST.get("q", "").strip()[:200]
    ids = list(_split_candidates(theme, search).values_list("id", flat=True))
    expected = request.POST.get("matching", "")
    if not expected.isdigit() or int(expected) != len(ids):
        raise editing.EditError(
            f"The responses matching this search changed since the page loaded: {len(ids)} "
            f"match now, the page showed {expected or 'none'}. Check the list and select "
            "again."
        )
    return ids


@consultation_view(ANALYST)
@require_http_methods(["GET", "POST"])
def split(request: HttpRequest, consultation: Consultation, theme_id: int) -> HttpResponse:
    """Split chosen responses off a theme; the list can be searched and selected whole.

    A parent lists its family's responses, and its new theme becomes a sub-theme of it.
    """
    theme = theme_of(consultation, theme_id)
    error = ""
    if request.method == "POST":
        try:
            new, _ = editing.split_theme(
                theme, version_of(request), _chosen(request, theme),
                request.user, request.POST.get("label", ""), request.POST.get("description", ""),
            )
            messages.success(request, f"Split “{new.label}” from “{theme.label}”.")
            return _back(consultation, theme)
        except editing.EditConflict as exc:
            report_edit_error(request, exc)
            return _back(consultation, theme)
        except editing.EditError as exc:
            error = str(exc)
    search = (request.POST.get("q") if request.method == "POST" else request.GET.get("q")) or ""
    search = search.strip()[:200]
    candidates = _split_candidates(theme, search)
    members = list(candidates[:SPLIT_PAGE])
    matching = candidates.count()
    children = list(theme.children.all())
    if children:  # which sub-theme each listed response is in
        where: dict[int, list[str]] = {}
        for rid, label in Assignment.objects.filter(
            theme__in=children, is_active=True, response_id__in=[r.id for r in members]
        ).values_list("response_id", "theme__label"):
            where.setdefault(rid, []).append(label)
        for response in members:
            response.sub_themes = where.get(response.id, [])
    return render(request, "heard/theme_split.html", {
        "consultation": consultation, "theme": theme, "question": theme.question,
        "members": members, "error": error, "search": search, "children": children,
        "matching": matching,
        "total": _split_candidates(theme, "").count() if search else matching,
        "label": request.POST.get("label", ""), "description": request.POST.get("description", ""),
        "chosen": {int(i) for i in request.POST.getlist("response") if i.isdigit()},
        "all_chosen": request.POST.get("all") == "1",
    }, status=400 if error else 200)
