"""Import from the browser: the same import (and messages) as `heard import`, then analyse."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from heard.io.errors import InputError
from heard.pipeline.analysis import AnalyseParams
from heard.pipeline.jobs import enqueue_analysis
from heard.store.models import Consultation, Membership
from heard.web.access import can_create_consultations, consultation_view

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def _save_uploads(files) -> Path:
    folder = Path(settings.HEARD_HOME) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    for upload in files:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.name).name).lstrip(".") or "upload"
        with open(folder / safe, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return folder


def _import(request: HttpRequest, name: str, existing: Consultation | None) -> HttpResponse:
    """Validate, import and (if asked) queue the analysis; re-show the form on errors."""
    from heard.io.mapping import load_mapping
    from heard.pipeline.importing import run_import

    files = request.FILES.getlist("files")
    errors: list[dict] = []
    if existing is None and not NAME.match(name):
        errors.append({"field": "name", "text": "Enter a short name of lower-case letters, "
                       "digits, - or _ (for example: parking-2025)."})
    elif existing is None and Consultation.objects.filter(name=name).exists():
        errors.append({"field": "name", "text": f"A consultation called {name} exists already."})
    if not files:
        errors.append({"field": "files", "text": "Choose one or more files to import."})
    elif sum(f.size for f in files) > settings.UPLOAD_MAX_BYTES:
        errors.append({"field": "files", "text": "The files are larger than this server accepts "
                       f"({settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB)."})
    if not errors:
        folder = _save_uploads(files)
        try:
            mapping = None
            if request.FILES.get("mapping"):
                mapping_folder = _save_uploads([request.FILES["mapping"]])
                mapping = load_mapping(next(mapping_folder.iterdir()))
            paths = sorted(folder.iterdir())
            result = run_import([folder] if len(paths) > 1 else paths, name,
                                mapping=mapping)
        except InputError as exc:
            errors.append({"field": "files", "text": f"Cannot import: {exc.describe()}"})
            shutil.rmtree(folder, ignore_errors=True)
        else:
            consultation = Consultation.objects.get(name=name)
            if existing is None:
                Membership.objects.get_or_create(
                    user=request.user, consultation=consultation,
                    defaults={"role": Membership.Role.ADMIN},
                )
            messages.success(request, f"Imported {result.responses_stored} answers from "
                             f"{result.respondents_created} new respondents.")
            for warning in result.report.warnings:
                messages.warning(request, warning)
            if request.POST.get("analyse") == "1":
                run = enqueue_analysis(
                    consultation, AnalyseParams(), user=request.user,
                    label="Analyse the imported responses",
                )
                return redirect("heard:job", name=name, run_id=run.pk)
            return redirect("heard:overview", name=name)
    return render(request, "heard/upload.html", {
        "consultation": existing, "errors": errors, "name": name,
        "analyse": request.POST.get("analyse", "1") == "1",
    }, status=400)


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
