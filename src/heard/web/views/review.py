"""Blind review: a random response not yet coded, with the analysis's themes hidden.

The analyst codes it ("Save and continue"): the coding is a per-response coding
(:mod:`heard.results.agreement`), and the next random response opens, with the analysis's
themes of the one just saved shown beside the analyst's for comparison. "Skip" is kept for
that analyst (:class:`heard.store.models.ReviewSkip`): the responses they skipped come back
only once nothing else is left, longest skipped first.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Min, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from heard.results import in_tree_order
from heard.results.agreement import (
    BLIND_REVIEW,
    coded_response_ids,
    coding_of,
    retired_codings,
    theme_names,
)
from heard.store.models import Consultation, Membership, Question, Response, ReviewSkip
from heard.web import editing
from heard.web.access import consultation_view
from heard.web.views.common import question_of, report_edit_error, version_of


@dataclass(frozen=True)
class Remaining:
    """What is left to review blind in one question.

    Responses in the base (mapped or Other) with no per-response coding; the copies of one
    text (a duplicate group or campaign) count once, by their first response, and a group is
    done once any of its responses is coded, so one campaign cannot fill the sample.
    """

    singles: QuerySet  # ids of responses in no group, by id
    groups: list[int]  # the first response id of each group left, by that id

    @property
    def total(self) -> int:
        return self.singles.count() + len(self.groups)


def remaining(question: Question) -> Remaining:
    base = Response.objects.filter(
        question=question, outcome__in=[Response.Outcome.MAPPED, Response.Outcome.OTHER]
    )
    coded = coded_response_ids(question)
    done_groups = base.filter(id__in=coded, group__isnull=False).values("group_id")
    left = base.exclude(id__in=coded)
    singles = left.filter(group__isnull=True).order_by("id").values_list("id", flat=True)
    groups = sorted(row["first"] for row in left.filter(group__isnull=False)
                    .exclude(group_id__in=done_groups).values("group_id")
                    .annotate(first=Min("id")).order_by())
    return Remaining(singles, groups)


def skipped_by(question: Question, user) -> list[int]:
    """The responses of ``question`` that ``user`` skipped in blind review, longest skipped
    first."""
    return list(ReviewSkip.objects.filter(user=user, response__question=question)
                .order_by("skipped_at", "id").values_list("response_id", flat=True))


def pick(left: Remaining, seed: str, skipped: Sequence[int] = ()) -> tuple[int | None, int]:
    """A response left to review, and how many are left (skipped ones included).

    A random one (stable for a seed) among those not in ``skipped``; once only skipped ones
    are left, the one skipped longest ago (``skipped`` is in the order they were skipped).
    """
    total = left.total
    if not total:
        return None, 0
    skip = set(skipped)
    singles = left.singles.exclude(id__in=skip) if skip else left.singles
    groups = [g for g in left.groups if g not in skip]
    n_singles = singles.count()
    fresh = n_singles + len(groups)
    if fresh:
        k = random.Random(f"{seed}:{fresh}").randrange(fresh)
        return (singles[k] if k < n_singles else groups[k - n_singles]), total
    still = _skipped_left(left, skip)
    return next(r for r in skipped if r in still), total


def _skipped_left(left: Remaining, skipped: set[int]) -> set[int]:
    """Those of ``skipped`` still left to review."""
    return set(left.singles.filter(id__in=skipped)) | (skipped & set(left.groups))


def _comparison(question: Question, response_id: int) -> dict | None:
    """The analyst's themes for a response just coded, beside the analysis's."""
    response = Response.objects.filter(pk=response_id, question=question).first()
    coding = response and coding_of(response)
    if coding is None:
        return None
    labels = theme_names(question)
    rows = [
        {"label": labels.get(t, "A deleted theme"), "analyst": t in coding.human,
         "analysis": t in coding.ai}
        for t in sorted(coding.ai | coding.human, key=lambda t: labels.get(t, ""))
    ]
    return {"response": response, "rows": rows,
            "agreed": coding.ai == coding.human, "differ": len(coding.ai ^ coding.human)}


@consultation_view(Membership.Role.ANALYST)
@require_http_methods(["GET", "POST"])
def blind_review(request: HttpRequest, consultation: Consultation, qid: int) -> HttpResponse:
    q = question_of(consultation, qid)
    url = reverse("heard:blind-review", args=[consultation.name, q.pk])
    if request.method == "POST" and request.POST.get("skip") == "1":
        return _skip(request, q, url)
    if request.method == "POST":
        rid = request.POST.get("response", "")
        response = get_object_or_404(Response.objects.select_related("question"),
                                     pk=int(rid) if rid.isdigit() else 0, question=q)
        evidence = request.POST.get("evidence", "keep")
        try:
            event = editing.edit_response(
                response, request.user, version=version_of(request),
                theme_ids=[int(t) for t in request.POST.getlist("theme") if t.isdigit()],
                stance=request.POST.get("stance"),
                evidence_rich={"yes": True, "no": False}.get(evidence, "keep"),
                copies=request.POST.get("copies") == "1", action=BLIND_REVIEW,
            )
        except editing.EditError as exc:
            report_edit_error(request, exc)
            return redirect(url)
        ReviewSkip.objects.filter(user=request.user, response=response).delete()
        n = event.after.get("copies")
        messages.success(request, f"Saved your coding of response {response.key or response.pk}"
                         + (f" and its {n} cop{'y' if n == 1 else 'ies'}." if n else "."))
        return redirect(f"{url}?{urlencode({'last': response.pk})}")
    queue = remaining(q)
    skipped = skipped_by(q, request.user)
    chosen, left = pick(queue, f"{q.pk}:{request.user.pk}", skipped)
    response = (Response.objects.select_related("group").get(pk=chosen)
                if chosen is not None else None)
    last = request.GET.get("last", "")
    retired = retired_codings(q)
    return render(request, "heard/blind_review.html", {
        "consultation": consultation,
        "question": q,
        "response": response,
        "left": left,
        "skipped": len(_skipped_left(queue, set(skipped))),
        "again": chosen is not None and chosen in skipped,
        "retired": sum(r.responses for r in retired),
        "retired_runs": sorted({r.run_id for r in retired if r.run_id}),
        "themes": in_tree_order(list(q.themes.all())),
        "stances": Response.Stance.choices,
        "ask_stance": bool(q.paired_closed_id) or q.responses.exclude(stance="").exists(),
        "copies": editing.copies_of(response).count() if response else 0,
        "comparison": _comparison(q, int(last)) if last.isdigit() else None,
    })


def _skip(request: HttpRequest, question: Question, url: str) -> HttpResponse:
    """Keep the analyst's skip of a response: it comes back after everything else."""
    rid = request.POST.get("response", "")
    response = get_object_or_404(Response, pk=int(rid) if rid.isdigit() else 0,
                                 question=question)
    ReviewSkip.objects.update_or_create(user=request.user, response=response,
                                        defaults={"skipped_at": timezone.now()})
    messages.success(request, f"Skipped response {response.key or response.pk}: it comes back "
                              "when you have been through the others.")
    return redirect(url)
