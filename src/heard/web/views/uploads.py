"""Import from the browser: the same import (and messages) as `heard import`, run as a
background job, then (if asked) the analysis."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from heard.paths import private_dir
from heard.pipeline.import_jobs import enqueue_import, uploads_root
from heard.pipeline.names import NAME_RULE, is_valid_name
from heard.store.models import Consultation, Membership
from heard.web.access import can_create_consultations, consultation_view


def _save_uploads(files) -> Path:
    """Save uploaded files in a new private folder under the uploads root; returns it."""
    folder = private_dir(uploads_root() / uuid.uuid4().hex)
    for upload in files:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.name).name).lstrip(".") or "upload"
        target = folder / safe
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return folder


def _import(request: HttpRequest, name: str, existing: Consultation | None) -> HttpResponse:
    """Check the form, save the files and queue their import as a background job.

    The import itself (and the analysis, if asked) runs in a worker; the job page shows its
    progress and outcome, so no request thread waits on a large file or on OCR.
    """
    files = request.FILES.getlist("files")
    errors: list[dict] = []
    if existing is None and not is_valid_name(name):
        errors.append({"field": "name", "text": f"Enter another name: {NAME_RULE}."})
    elif existing is None and Consultation.objects.filter(name=name).exists():
        errors.append({"field": "name", "text": f"A consultation called {name} exists already."})
    if not files:
        errors.append({"field": "files", "text": "Choose one or more files to import."})
    elif sum(f.size for f in files) > settings.UPLOAD_MAX_BYTES:
        errors.append({"field": "files", "text": "The files are larger than this server accepts "
                       f"({settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB)."})
    if errors:
        return render(request, "heard/upload.html", {
            "consultation": existing, "errors": errors, "name": name,
            "analyse": request.POST.get("analyse", "1") == "1",
        }, status=400)
    folder = _save_uploads(files)
    mapping = None
    if request.FILES.get("mapping"):
        mapping = next(_save_uploads([request.FILES["mapping"]]).iterdir())
    with transaction.atomic():
        consultation = existing
        if consultation is None:
            consultation = Consultation.objects.create(name=name)
            Membership.objects.create(user=request.user, consultation=consultation,
                                      role=Membership.Role.ADMIN)
        run = enqueue_import(consultation, folder, mapping=mapping,
                             analyse=request.POST.get("analyse") == "1", user=request.user)
    target = reverse("heard:job", kwargs={"name": consultation.name, "run_id": run.pk})
    return redirect(f"{target}?follow=1")


@require_http_methods(["GET", "POST"])
def upload_new(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not can_create_consultations(request.user):
        raise PermissionDenied("Only an admin of every consultation can start a new one.")
    if request.method == "POST":
        return _import(request, request.POST.get("name", "").strip(), None)
    return render(request, "heard/upload.html", {"consultation": None, "errors": [],
                                                 "name": "", "analyse": True})


@consultation_view(Membership.Role.ADMIN)
@require_http_methods(["GET", "POST"])
def upload_more(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    if request.method == "POST":
        return _import(request, consultation.name, consultation)
    return render(request, "heard/upload.html", {"consultation": consultation, "errors": [],
                                                 "name": consultation.name, "analyse": True})
