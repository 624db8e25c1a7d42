"""Imports started from the web app, run as durable background jobs.

The request only saves the uploaded files (under ``HEARD_HOME/uploads``, private) and
queues a ``Run`` of kind ``import``; a worker (``heard worker`` or the thread in
``heard serve``) imports them with :func:`~heard.pipeline.importing.run_import`, so no
request thread waits on a large file or on OCR. The outcome (counts, warnings, or the error
naming the file, row and column) is kept on the run and shown on its job page. Messages name
uploaded files by their own names, never by where the server keeps them.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from heard.io.errors import InputError
from heard.store.models import Consultation, Run

log = logging.getLogger(__name__)

KIND = "import"


def uploads_root() -> Path:
    return Path(settings.HEARD_HOME) / "uploads"


def enqueue_import(consultation: Consultation, folder: Path, *, mapping: Path | None,
                   analyse: bool, user=None) -> Run:
    """Queue the import of the files saved in ``folder`` (a folder under the uploads root)."""
    root = uploads_root()
    return Run.objects.create(
        consultation=consultation,
        kind=KIND,
        status=Run.Status.PENDING,
        params={"folder": str(folder.relative_to(root)),
                "mapping": str(mapping.relative_to(root)) if mapping else "",
                "analyse": analyse},
        state={"label": "Import the uploaded files",
               "files": sorted(p.name for p in folder.iterdir())},
        created_by=user if user is not None and user.is_authenticated else None,
    )


def upload_paths(folder: Path) -> list[Path]:
    """What an upload folder is imported as: its one file, or the folder when it holds more
    (the upload preview plans the same paths the job imports)."""
    paths = sorted(folder.iterdir())
    return [folder] if len(paths) > 1 else paths


PREVIEW_KEPT = 24 * 3600  # seconds an upload shown in a preview waits for its confirmation


def remove_abandoned_uploads(kept_for: float = PREVIEW_KEPT) -> int:
    """Remove upload folders older than ``kept_for`` seconds that no import job refers to
    (files shown in a preview and never confirmed); returns how many went."""
    root = uploads_root()
    if not root.is_dir():
        return 0
    wanted = {Path(relative).parts[0]
              for params in Run.objects.filter(kind=KIND).exclude(
                  status__in=[Run.Status.DONE, Run.Status.FAILED, Run.Status.CANCELLED]
              ).values_list("params", flat=True)
              for relative in (params.get("folder"), params.get("mapping")) if relative}
    cutoff = time.time() - kept_for
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.name not in wanted and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def public_message(text: str, *folders: Path) -> str:
    """``text`` with the server's folders removed, so only the files' own names show."""
    for folder in sorted({str(f) for f in folders}, key=len, reverse=True):
        text = text.replace(folder + "/", "").replace(folder, "the upload")
    return text


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not relative or root.resolve() not in path.parents:
        raise InputError("the uploaded files are no longer on the server; upload them again")
    return path


def run_import_job(run: Run) -> None:
    """Import the run's uploaded files, then record the outcome (and queue the analysis)."""
    from heard.io.mapping import load_mapping
    from heard.pipeline.importing import run_import

    root = uploads_root()
    folder = root / run.params.get("folder", "")
    Run.objects.filter(pk=run.pk).update(started_at=timezone.now(), stage="importing")
    state = dict(run.state or {})
    try:
        folder = _inside(root, run.params.get("folder", ""))
        mapping = None
        if run.params.get("mapping"):
            mapping_path = _inside(root, run.params["mapping"])
            mapping = load_mapping(mapping_path)
        if not folder.is_dir():
            raise InputError("the uploaded files are no longer on the server; upload them again")
        result = run_import(upload_paths(folder), run.consultation.name, mapping=mapping)
    except InputError as exc:
        message = public_message(f"Cannot import: {exc.describe()}", folder, root,
                                 Path(settings.HEARD_HOME))
        Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, error=message,
                                             finished_at=timezone.now(), stage="")
        return
    finally:
        _remove(run)
    state["messages"] = [
        f"Imported {result.responses_stored} answers from {result.respondents_created} new "
        "respondents."
    ] + [public_message(w, folder, root) for w in result.report.warnings]
    if run.params.get("analyse"):
        from heard.pipeline.analysis import AnalyseParams
        from heard.pipeline.jobs import enqueue_analysis

        analysis = enqueue_analysis(run.consultation, AnalyseParams(first_pass=True),
                                    user=run.created_by,
                                    label="Analyse the imported responses")
        state["next_run"] = analysis.pk
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, progress=1.0, stage="",
                                         state=state, finished_at=timezone.now())


def _remove(run: Run) -> None:
    """The raw upload is not kept once imported (the store holds what was read)."""
    root = uploads_root()
    for key in ("folder", "mapping"):
        relative = run.params.get(key)
        if not relative:
            continue
        path = root / Path(relative).parts[0]
        if root.resolve() in path.resolve().parents:
            shutil.rmtree(path, ignore_errors=True)
