"""The history of every change in a consultation, and reverting one."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from heard.store.models import AuditEvent, Consultation, Membership
from heard.web import editing
from heard.web.access import consultation_view
from heard.web.views.common import can, report_edit_error


def _summary(event: AuditEvent) -> str:
    """One line on what changed."""
    before, after = event.before or {}, event.after or {}
    if "stage" in after and "stage" in before:
        return f"{before['stage']['stage']} → {after['stage']['stage']}"
    if "consultation" in after and "consultation" in before:
        old, new = before["consultation"], after["consultation"]
        return "; ".join(f"{field} “{old[field]}” → “{new[field]}”" for field in new
                         if old.get(field) != new[field])[:300]
    b_themes = {t["id"]: t for t in before.get("themes", [])}
    a_themes = {t["id"]: t for t in after.get("themes", [])}
    parts = []
    for tid, theme in a_themes.items():
        old = b_themes.get(tid)
        if old is None:
            parts.append(f"new theme “{theme['label']}”")
        elif old["label"] != theme["label"]:
            parts.append(f"“{old['label']}” → “{theme['label']}”")
        elif old["description"] != theme["description"]:
            parts.append(f"description of “{theme['label']}”")
    for tid, theme in b_themes.items():
        if tid not in a_themes:
            parts.append(f"removed “{theme['label']}”")
    responses = after.get("responses") or {}
    if responses and not parts:
        parts.append(f"{len(responses)} response(s)")
    elif responses:
        parts.append(f"{len(responses)} response(s) affected")
    return "; ".join(parts)[:300]


def _needs_lead(event: AuditEvent) -> bool:
    """Sign-offs and the consultation's title are a lead's to change, and to undo."""
    return "stage" in event.before or "consultation" in event.before


@consultation_view()
def history(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    events = AuditEvent.objects.filter(consultation=consultation).select_related("user")
    page = Paginator(events.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.summary = _summary(event)
        event.needs = (Membership.Role.LEAD if _needs_lead(event)
                       else Membership.Role.ANALYST)
        event.can_revert = not event.reverted and can(request, event.needs)
    return render(request, "heard/history.html", {"consultation": consultation, "page": page})


@consultation_view(Membership.Role.ANALYST)
@require_POST
def revert(request: HttpRequest, consultation: Consultation, event_id: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent, pk=event_id, consultation=consultation)
    if _needs_lead(event) and not can(request, Membership.Role.LEAD):
        return HttpResponse("Only a lead can undo a sign-off or a change of title.", status=403)
    try:
        editing.revert(event, request.user)
        messages.success(request, f"Reverted “{event.action}”.")
    except editing.EditError as exc:
        report_edit_error(request, exc)
    return redirect("heard:history", name=consultation.name)
