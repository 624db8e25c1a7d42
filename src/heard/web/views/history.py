"""The history of every change in a consultation, and reverting one (after confirming)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from heard.store.models import AuditEvent, Consultation, Membership
from heard.web import editing
from heard.web.access import consultation_view
from heard.web.changes import describe
from heard.web.views.common import can, report_edit_error


def _needs(event: AuditEvent) -> str:
    """Sign-offs and the consultation's title are a lead's to change, and to undo; any
    other change, an analyst's."""
    before = event.before or {}
    lead = "stage" in before or "consultation" in before
    return Membership.Role.LEAD if lead else Membership.Role.ANALYST


def _revertible(request: HttpRequest, event: AuditEvent) -> bool:
    return not editing.revert_refusal(event) and can(request, _needs(event))


@consultation_view()
def history(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    events = AuditEvent.objects.filter(consultation=consultation).select_related(
        "user", "run", "retired_by")
    page = Paginator(events.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    changes = describe(list(page.object_list))
    for change in changes:
        change.can_revert = _revertible(request, change.event)
    return render(request, "heard/history.html", {
        "consultation": consultation, "page": page, "changes": changes,
    })


@consultation_view(Membership.Role.ANALYST)
@require_http_methods(["GET", "POST"])
def revert(request: HttpRequest, consultation: Consultation, event_id: int) -> HttpResponse:
    """GET: what reverting would undo, and a button to confirm. POST (from that page, with
    ``confirm``): revert. A POST without ``confirm`` shows the page instead."""
    event = get_object_or_404(AuditEvent.objects.select_related("user", "run", "retired_by"),
                              pk=event_id, consultation=consultation)
    if _needs(event) == Membership.Role.LEAD and not can(request, Membership.Role.LEAD):
        return HttpResponse("Only a lead can undo a sign-off or a change of title.", status=403)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            editing.revert(event, request.user)
            messages.success(request, f"Reverted “{event.action}”.")
        except editing.EditError as exc:
            report_edit_error(request, exc)
        return redirect("heard:history", name=consultation.name)
    change = describe([event])[0]
    later = AuditEvent.objects.filter(
        consultation=consultation, target_type=event.target_type, target_id=event.target_id,
        created_at__gt=event.created_at, reverted=False,
    ).count()
    return render(request, "heard/history_revert.html", {
        "consultation": consultation, "change": change, "later": later,
        "can_revert": _revertible(request, event), "refusal": editing.revert_refusal(event),
    })
