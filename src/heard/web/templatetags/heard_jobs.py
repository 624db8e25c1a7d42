"""The consultation's live job, for the banner on its pages and the question page."""

from __future__ import annotations

from django import template

from heard.pipeline import jobs
from heard.store.models import Consultation, Run

register = template.Library()


@register.simple_tag
def live_job(consultation: Consultation | None) -> dict | None:
    """The queued or running job of ``consultation``, worded (None when there is none)."""
    if not isinstance(consultation, Consultation):
        return None
    run = jobs.live_job(consultation)
    if run is None:
        return None
    label = (run.state or {}).get("label") or f"Run {run.pk}"
    return {
        "run": run,
        "label": label,
        "waiting": run.status == Run.Status.PENDING,
        "line": jobs.progress_line(run),
        "first_pass": jobs.first_pass_only(run),
    }
