"""Import from the browser: the same import (and messages) as `heard import`, run as a
background job, then (if asked) the analysis.

After the files are chosen, a preview shows how each column will be read (its role, the
reason, sample values) and lets the user change a role. The roles changed become a mapping
file, the same override `heard import --mapping` reads, so both imports take one path.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from heard.io.detect import ROLE_LABELS, ImportPlan, plan_import, plan_problems, role_problems
from heard.io.documents import split_inputs
from heard.io.errors import InputError
from heard.io.mapping import load_mapping, mapping_toml, read_mapping_settings, with_roles
from heard.paths import private_dir
from heard.pipeline.import_jobs import (
    enqueue_import,
    public_message,
    remove_abandoned_uploads,
    upload_paths,
    uploads_root,
)
from heard.pipeline.names import NAME_RULE, is_valid_name
from heard.store.models import Consultation, Membership
from heard.web.access import can_create_consultations, consultation_view
from heard.web.editing import TITLE_MAX


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


TOKEN = re.compile(r"[0-9a-f]{32}")


def _form(request: HttpRequest, existing: Consultation | None, name: str) -> dict:
    """The form's values, to show again (on an error, or in the preview's hidden fields)."""
    return {
        "consultation": existing, "name": name,
        "title": request.POST.get("title", "").strip(),
        "description": request.POST.get("description", "").strip(),
        "analyse": request.POST.get("analyse", "1" if request.method == "GET" else "") == "1",
        "roles": ROLE_LABELS, "title_max": TITLE_MAX,
    }


def _name_errors(name: str, existing: Consultation | None, title: str) -> list[dict]:
    errors: list[dict] = []
    if existing is None and not is_valid_name(name):
        errors.append({"field": "name", "text": f"Enter another name: {NAME_RULE}."})
    elif existing is None and Consultation.objects.filter(name=name).exists():
        errors.append({"field": "name", "text": f"A consultation called {name} exists already."})
    if len(title) > TITLE_MAX:
        errors.append({"field": "title", "text": f"Enter a title of at most {TITLE_MAX} "
                       "characters."})
    return errors


def _upload_folder(token: str) -> Path | None:
    """A folder of this server's uploads named by the form, or None."""
    if not TOKEN.fullmatch(token or ""):
        return None
    folder = uploads_root() / token
    return folder if folder.is_dir() else None


def _plan(folder: Path, mapping: Path | None) -> ImportPlan | None:
    """The import plan of the upload's spreadsheets (None when it holds only documents)."""
    tables, _ = split_inputs(upload_paths(folder))
    return plan_import(tables, load_mapping(mapping) if mapping else None) if tables else None


def _preview(request: HttpRequest, form: dict, folder: Path, mapping: Path | None,
             plan: ImportPlan, errors: list[str], chosen: dict[str, str] | None = None
             ) -> HttpResponse:
    """The column plan of the upload: each column's role (changeable), reason and samples."""
    tables = []
    editable = len(plan.tables) == 1 and plan.tables[0].shape == "wide"
    for table in plan.tables:
        columns = []
        for column in table.columns:
            profile = column.profile
            columns.append({
                "name": column.name, "role": (chosen or {}).get(column.name, column.role),
                "reason": column.reason, "samples": profile.samples if profile else [],
                "filled": profile.non_empty if profile else None,
                "distinct": profile.distinct if profile else None,
                "follows": column.paired_with,
            })
        tables.append({"label": public_message(table.table.label, folder, uploads_root()),
                       "shape": table.shape, "export": table.export, "columns": columns})
    return render(request, "heard/upload.html", {
        **form, "preview": True, "tables": tables, "editable": editable,
        "upload": folder.name, "mapping_upload": mapping.parent.name if mapping else "",
        "errors": [{"field": "plan", "text": text} for text in errors],
    }, status=400 if errors else 200)


def _chosen_roles(request: HttpRequest) -> dict[str, str]:
    """column -> role as chosen in the preview's selects."""
    roles = {}
    for index in range(int(request.POST.get("columns", "0") or 0)):
        name = request.POST.get(f"column-{index}")
        role = request.POST.get(f"role-{index}")
        if name is not None and role in ROLE_LABELS:
            roles[name] = role
    return roles


def _confirm(request: HttpRequest, name: str, existing: Consultation | None) -> HttpResponse:
    """The preview was shown: apply the roles chosen there, check the plan, queue the import."""
    form = _form(request, existing, name)
    folder = _upload_folder(request.POST.get("upload", ""))
    uploaded = _upload_folder(request.POST.get("mapping_upload", ""))
    mapping = next(uploaded.iterdir(), None) if uploaded else None
    if folder is None or (request.POST.get("mapping_upload") and mapping is None):
        return render(request, "heard/upload.html", {**form, "errors": [{
            "field": "files", "text": "The uploaded files are no longer on the server. "
            "Choose them again."}]}, status=400)
    errors = _name_errors(name, existing, form["title"])
    if errors:
        return render(request, "heard/upload.html", {**form, "errors": errors}, status=400)
    try:
        plan = _plan(folder, mapping)
        chosen = _chosen_roles(request)
        problems: list[str] = role_problems(chosen)
        if plan is not None and not problems:
            detected = {c.name: c.role for t in plan.tables for c in t.columns}
            changes = {n: r for n, r in chosen.items() if n in detected and detected[n] != r}
            if changes:
                settings_ = with_roles(read_mapping_settings(mapping), changes)
                chosen_file = private_dir(uploads_root() / uuid.uuid4().hex) / "mapping.toml"
                chosen_file.write_text(mapping_toml(settings_), encoding="utf-8")
                if uploaded is not None:
                    shutil.rmtree(uploaded, ignore_errors=True)
                uploaded, mapping = chosen_file.parent, chosen_file
                plan = _plan(folder, mapping)
            assert plan is not None
            problems = plan_problems(plan)
    except InputError as exc:
        problems = [public_message(exc.describe(), folder, uploads_root())]
        plan = None
    if problems:
        if plan is None:
            return render(request, "heard/upload.html", {**form, "errors": [
                {"field": "files", "text": text} for text in problems]}, status=400)
        return _preview(request, form, folder, mapping, plan, problems, chosen)
    return _enqueue(request, form, existing, folder, mapping)


def _enqueue(request: HttpRequest, form: dict, existing: Consultation | None, folder: Path,
             mapping: Path | None) -> HttpResponse:
    """Create the consultation (when new) and queue the import of the upload."""
    with transaction.atomic():
        consultation = existing
        if consultation is None:
            consultation = Consultation.objects.create(
                name=form["name"], title=form["title"], description=form["description"])
            Membership.objects.create(user=request.user, consultation=consultation,
                                      role=Membership.Role.ADMIN)
        run = enqueue_import(consultation, folder, mapping=mapping, analyse=form["analyse"],
                             user=request.user)
    target = reverse("heard:job", kwargs={"name": consultation.name, "run_id": run.pk})
    return redirect(f"{target}?follow=1")


def _import(request: HttpRequest, name: str, existing: Consultation | None) -> HttpResponse:
    """Check the form and save the files, then show how their columns will be read.

    Confirming the preview (with any role changed) queues the import as a background job
    (a request without ``preview``, a script posting files, queues it at once):
    the import itself (and the analysis, if asked) runs in a worker, and the job page shows
    its progress and outcome, so no request thread waits on a large file or on OCR.
    """
    if request.POST.get("upload"):
        return _confirm(request, name, existing)
    form = _form(request, existing, name)
    files = request.FILES.getlist("files")
    errors = _name_errors(name, existing, form["title"])
    if not files:
        errors.append({"field": "files", "text": "Choose one or more files to import."})
    elif sum(f.size for f in files) > settings.UPLOAD_MAX_BYTES:
        errors.append({"field": "files", "text": "The files are larger than this server accepts "
                       f"({settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB)."})
    if errors:
        return render(request, "heard/upload.html", {**form, "errors": errors}, status=400)
    remove_abandoned_uploads()
    folder = _save_uploads(files)
    mapping = None
    if request.FILES.get("mapping"):
        mapping = next(_save_uploads([request.FILES["mapping"]]).iterdir())
    if request.POST.get("preview") != "1":  # a script posting files: queue it as it is
        return _enqueue(request, form, existing, folder, mapping)
    try:
        plan = _plan(folder, mapping)
    except InputError as exc:
        for path in (folder, mapping.parent if mapping else None):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
        text = public_message(f"Cannot import: {exc.describe()}", folder, uploads_root())
        return render(request, "heard/upload.html", {**form, "errors": [
            {"field": "files", "text": text}]}, status=400)
    if plan is None:  # documents only: nothing to plan
        return _enqueue(request, form, existing, folder, mapping)
    return _preview(request, form, folder, mapping, plan, [])


@require_http_methods(["GET", "POST"])
def upload_new(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not can_create_consultations(request.user):
        raise PermissionDenied("Only an admin of every consultation can start a new one.")
    if request.method == "POST":
        return _import(request, request.POST.get("name", "").strip(), None)
    return render(request, "heard/upload.html", {**_form(request, None, ""), "errors": []})


@consultation_view(Membership.Role.ADMIN)
@require_http_methods(["GET", "POST"])
def upload_more(request: HttpRequest, consultation: Consultation) -> HttpResponse:
    if request.method == "POST":
        return _import(request, consultation.name, consultation)
    return render(request, "heard/upload.html", {**_form(request, consultation,
                                                         consultation.name), "errors": []})
