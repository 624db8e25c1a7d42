"""Analysts' changes to themes, responses and stages: each one audited and revertible.

Every change runs in one transaction and writes an :class:`AuditEvent` whose ``before``
and ``after`` hold snapshots of the themes and responses it touched. Reverting restores
the ``before`` snapshot (recreating deleted themes with their ids) and is itself audited.
Theme changes check ``Theme.version`` (optimistic locking): when someone else saved the
theme first, :class:`EditConflict` says who, and the analyst reloads.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify

from heard.store.audit import record_event, responses_snapshot, theme_responses, theme_snapshot
from heard.store.models import Assignment, AuditEvent, Consultation, Question, Response, Theme

STAGES = [value for value, _ in Question._meta.get_field("stage").choices]


class EditError(Exception):
    """A change that cannot be made as asked; the message says why."""


class EditConflict(EditError):
    """The theme changed since the editor loaded it."""


# ---------------------------------------------------------------- snapshots


def _lock(theme: Theme, version: int | None) -> None:
    """Bump the theme's version if it is still ``version``; else raise EditConflict."""
    query = Theme.objects.filter(pk=theme.pk)
    if version is not None:
        query = query.filter(version=version)
    if not query.update(version=F("version") + 1, updated_at=timezone.now()):
        latest = AuditEvent.objects.filter(target_type="theme", target_id=theme.pk).first()
        who = f" by {latest.user}" if latest and latest.user else ""
        raise EditConflict(
            f"Theme “{theme.label}” was changed{who} after you opened it. "
            "Reload the page to see the latest version, then make your change again."
        )
    theme.version = (version or theme.version) + 1


def _refresh_outcomes(response_ids: Iterable[int]) -> None:
    """Mapped when a response has an active theme, else Other (empty answers stay empty)."""
    ids = list(set(response_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        themed = set(
            Assignment.objects.filter(response_id__in=chunk, is_active=True).values_list(
                "response_id", flat=True
            )
        )
        Response.objects.filter(id__in=themed).exclude(outcome=Response.Outcome.MAPPED).update(
            outcome=Response.Outcome.MAPPED, outcome_reason=""
        )
        Response.objects.filter(id__in=set(chunk) - themed, outcome=Response.Outcome.MAPPED).update(
            outcome=Response.Outcome.OTHER, outcome_reason="no theme after an analyst's edit"
        )


def _new_key(question: Question, label: str) -> str:
    base = ("a-" + (slugify(label)[:60] or "theme")).strip("-")
    key, n = base, 2
    while Theme.objects.filter(question=question, key=key).exists():
        key, n = f"{base}-{n}", n + 1
    return key


def _next_position(question: Question) -> int:
    return (question.themes.aggregate(m=Max("position"))["m"] or 0) + 1


# ---------------------------------------------------------------- theme changes


@transaction.atomic
def update_theme(theme: Theme, version: int | None, user, *, label: str | None = None,
                 description: str | None = None) -> AuditEvent:
    """Rename and/or describe a theme."""
    before = theme_snapshot(theme)
    _lock(theme, version)
    if label is not None:
        label = label.strip()
        if not label:
            raise EditError("Enter a name for the theme.")
        theme.label = label[:200]
    if description is not None:
        theme.description = description.strip()
    theme.save(update_fields=["label", "description", "updated_at"])
    action = "rename theme" if label is not None and label != before["label"] else "edit theme"
    return record_event(theme.question, user, action, theme, {"themes": [before]},
                        {"themes": [theme_snapshot(theme)]})


@transaction.atomic
def add_theme(question: Question, user, label: str, description: str = "",
              parent: Theme | None = None) -> tuple[Theme, AuditEvent]:
    label = label.strip()
    if not label:
        raise EditError("Enter a name for the theme.")
    if parent is not None and (parent.question_id != question.id or parent.parent_id):
        raise EditError("A theme can only sit under a top-level theme of the same question.")
    theme = Theme.objects.create(
        question=question, key=_new_key(question, label), label=label[:200],
        description=description.strip(), parent=parent, position=_next_position(question),
        origin=Theme.Origin.ANALYST,
    )
    event = record_event(question, user, "add theme", theme, {"themes": []},
                         {"themes": [theme_snapshot(theme)]})
    return theme, event


@transaction.atomic
def delete_theme(theme: Theme, version: int | None, user) -> AuditEvent:
    """Delete a theme; responses left with no theme go to Other. Sub-themes move up."""
    question = theme.question
    _lock(theme, version)
    children = list(theme.children.all())
    touched = theme_responses([theme.id])
    before = {"themes": [theme_snapshot(t) for t in [theme, *children]],
              "responses": responses_snapshot(touched)}
    Theme.objects.filter(parent=theme).update(parent=None)
    theme.delete()
    _refresh_outcomes(touched)
    after = {"themes": [theme_snapshot(t) for t in Theme.objects.filter(
        id__in=[c.id for c in children])], "responses": responses_snapshot(touched)}
    return record_event(question, user, "delete theme", theme, before, after)


@transaction.atomic
def merge_themes(target: Theme, version: int | None, sources: list[Theme], user) -> AuditEvent:
    """Fold ``sources`` into ``target``: their responses join it and the sources go.

    An assignment keeps its origin and ``ai_original`` flag when it moves, so agreement
    treats a merge as a change of wording, not a disagreement with the analysis.
    """
    sources = [s for s in sources if s.pk != target.pk]
    if not sources:
        raise EditError("Choose at least one other theme to merge into this one.")
    if any(s.question_id != target.question_id for s in sources):
        raise EditError("Themes of different questions cannot be merged.")
    if target.parent_id in {s.pk for s in sources}:
        raise EditError("A theme cannot be merged into one of its own sub-themes.")
    question = target.question
    _lock(target, version)
    for source in sources:
        _lock(source, None)
    ids = [target.id, *(s.id for s in sources)]
    touched = theme_responses(ids)
    grandchildren = list(Theme.objects.filter(parent_id__in=[s.id for s in sources]))
    before = {"themes": [theme_snapshot(t) for t in [target, *sources, *grandchildren]],
              "responses": responses_snapshot(touched)}
    existing = {a.response_id: a for a in Assignment.objects.filter(theme=target)}
    for assignment in Assignment.objects.filter(theme__in=sources).order_by("-is_active"):
        mine = existing.get(assignment.response_id)
        if mine is None:
            assignment.theme = target
            assignment.save(update_fields=["theme"])
            existing[assignment.response_id] = assignment
        else:
            mine.ai_original = mine.ai_original or assignment.ai_original
            mine.is_active = mine.is_active or assignment.is_active
            mine.save(update_fields=["ai_original", "is_active"])
            assignment.delete()
    Theme.objects.filter(parent__in=sources).update(parent=target if not target.parent_id
                                                    else target.parent)
    labels = ", ".join(f"“{s.label}”" for s in sources)
    Theme.objects.filter(pk__in=[s.pk for s in sources]).delete()
    _refresh_outcomes(touched)
    target.refresh_from_db()
    after = {"themes": [theme_snapshot(target)] + [theme_snapshot(t) for t in
                                                    Theme.objects.filter(id__in=[g.id for g in
                                                                                 grandchildren])],
             "responses": responses_snapshot(touched), "merged": labels}
    return record_event(question, user, "merge themes", target, before, after)


@transaction.atomic
def split_theme(theme: Theme, version: int | None, response_ids: list[int], user, label: str,
                description: str = "") -> tuple[Theme, AuditEvent]:
    """Move the chosen responses of ``theme`` to a new sibling theme."""
    question = theme.question
    chosen = set(
        Assignment.objects.filter(theme=theme, is_active=True, response_id__in=response_ids)
        .values_list("response_id", flat=True)
    )
    if not chosen:
        raise EditError("Select at least one response of this theme to form the new theme.")
    if not label.strip():
        raise EditError("Enter a name for the new theme.")
    _lock(theme, version)
    before = {"themes": [theme_snapshot(theme)], "responses": responses_snapshot(chosen)}
    new = Theme.objects.create(
        question=question, key=_new_key(question, label), label=label.strip()[:200],
        description=description.strip(), parent=theme.parent,
        position=theme.position, origin=Theme.Origin.ANALYST,
    )
    # The analysis did not propose the new theme: record the move as a human relabel.
    Assignment.objects.filter(theme=theme, response_id__in=chosen).update(
        is_active=False, origin=Assignment.Origin.HUMAN
    )
    Assignment.objects.bulk_create(
        [Assignment(response_id=rid, theme=new, origin=Assignment.Origin.HUMAN) for rid in chosen]
    )
    theme.refresh_from_db()
    after = {"themes": [theme_snapshot(theme), theme_snapshot(new)],
             "responses": responses_snapshot(chosen)}
    return new, record_event(question, user, "split theme", theme, before, after)


@transaction.atomic
def move_theme(theme: Theme, version: int | None, user, *, parent: Theme | None | str = "keep",
               direction: str = "") -> AuditEvent:
    """Put a theme under another top-level theme (or at the top), or move it up or down."""
    question = theme.question
    _lock(theme, version)
    siblings_before = list(Theme.objects.filter(question=question))
    before = {"themes": [theme_snapshot(t) for t in siblings_before]}
    if parent != "keep":
        if parent is not None:
            if parent.pk == theme.pk or parent.question_id != question.id or parent.parent_id:
                raise EditError("A theme can only move under a top-level theme of its question.")
            if theme.children.exists():
                raise EditError("This theme has sub-themes; the hierarchy has two levels only.")
        theme.parent = parent
        theme.save(update_fields=["parent"])
    if direction in ("up", "down"):
        siblings = list(Theme.objects.filter(question=question, parent=theme.parent_id))
        index = next(i for i, t in enumerate(siblings) if t.pk == theme.pk)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(siblings):
            siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, sibling in enumerate(siblings):
            if sibling.position != position:
                Theme.objects.filter(pk=sibling.pk).update(position=position)
    after = {"themes": [theme_snapshot(t) for t in Theme.objects.filter(question=question)]}
    return record_event(question, user, "move theme", theme, before, after)


# ---------------------------------------------------------------- responses


@transaction.atomic
def edit_response(response: Response, user, *, theme_ids: list[int] | None = None,
                  stance: str | None = None, evidence_rich: bool | None | str = "keep"
                  ) -> AuditEvent:
    """Set a response's themes, stance and evidence flag, as an analyst's decision."""
    question = response.question
    before = {"responses": responses_snapshot([response.id])}
    if theme_ids is not None:
        valid = set(question.themes.filter(id__in=theme_ids).values_list("id", flat=True))
        current = {a.theme_id: a for a in Assignment.objects.filter(response=response)}
        for theme_id, assignment in current.items():
            assignment.is_active = theme_id in valid
            assignment.origin = Assignment.Origin.HUMAN
            assignment.save(update_fields=["is_active", "origin"])
        Assignment.objects.bulk_create(
            [Assignment(response=response, theme_id=t, origin=Assignment.Origin.HUMAN)
             for t in valid - set(current)]
        )
        _refresh_outcomes([response.id])
        Theme.objects.filter(id__in=valid | set(current)).update(version=F("version") + 1)
    fields = []
    if stance is not None and stance in [*Response.Stance.values, ""]:
        response.stance = stance
        response.stance_confidence = None
        fields += ["stance", "stance_confidence"]
    if evidence_rich != "keep":
        response.evidence_rich = evidence_rich
        response.evidence_reason = "set by an analyst"
        fields += ["evidence_rich", "evidence_reason"]
    if fields:
        response.save(update_fields=fields)
    after = {"responses": responses_snapshot([response.id])}
    return record_event(question, user, "edit response", response, before, after)


@transaction.atomic
def set_flag(response: Response, user, flagged: bool) -> AuditEvent:
    before = {"responses": responses_snapshot([response.id])}
    Response.objects.filter(pk=response.pk).update(is_flagged=flagged)
    after = {"responses": responses_snapshot([response.id])}
    action = "flag response" if flagged else "unflag response"
    return record_event(response.question, user, action, response, before, after)


def set_read(response: Response, read: bool = True) -> None:
    """Reading is progress, not an edit: it is not audited."""
    Response.objects.filter(pk=response.pk).update(is_read=read)


# ---------------------------------------------------------------- stages


def next_stage(question: Question) -> str | None:
    index = STAGES.index(question.stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


@transaction.atomic
def set_stage(question: Question, user, stage: str) -> AuditEvent:
    """Sign off a question's stage (forward one step) or reopen it (any earlier stage)."""
    if stage not in STAGES:
        raise EditError(f"Unknown stage {stage!r}.")
    current = STAGES.index(question.stage)
    wanted = STAGES.index(stage)
    if wanted == current or wanted > current + 1:
        raise EditError("Stages are signed off one at a time, in order.")
    before = {"stage": {"stage": question.stage, "at": _iso(question.stage_changed_at),
                        "by": question.stage_changed_by_id}}
    question.stage = stage
    question.stage_changed_at = timezone.now()
    question.stage_changed_by = user
    question.save(update_fields=["stage", "stage_changed_at", "stage_changed_by"])
    after = {"stage": {"stage": stage, "at": _iso(question.stage_changed_at), "by": user.pk}}
    action = "sign off stage" if wanted > current else "reopen stage"
    return record_event(question, user, action, question, before, after)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------- revert


def _restore_themes(snapshots: list[dict]) -> None:
    ordered = sorted(snapshots, key=lambda s: s["parent_id"] is not None)
    for snap in ordered:
        fields = {k: v for k, v in snap.items() if k != "id"}
        if fields["parent_id"] and not Theme.objects.filter(pk=fields["parent_id"]).exists():
            fields["parent_id"] = None
        updated = Theme.objects.filter(pk=snap["id"]).update(
            **fields, version=F("version") + 1, updated_at=timezone.now()
        )
        if not updated:
            Theme.objects.create(id=snap["id"], **fields)


def _restore_responses(snapshot: dict[str, dict]) -> None:
    ids = [int(k) for k in snapshot]
    live_themes = set(
        Theme.objects.filter(
            id__in={a[0] for s in snapshot.values() for a in s["assignments"]}
        ).values_list("id", flat=True)
    )
    for start in range(0, len(ids), 900):
        Assignment.objects.filter(response_id__in=ids[start : start + 900]).delete()
    rows = []
    for rid, snap in snapshot.items():
        Response.objects.filter(pk=int(rid)).update(
            outcome=snap["outcome"], outcome_reason=snap["outcome_reason"],
            stance=snap["stance"], evidence_rich=snap["evidence_rich"],
            is_flagged=snap["is_flagged"],
        )
        for theme_id, origin, ai, active, conf in snap["assignments"]:
            if theme_id in live_themes:
                rows.append(Assignment(response_id=int(rid), theme_id=theme_id, origin=origin,
                                       ai_original=ai, is_active=active, confidence=conf))
    Assignment.objects.bulk_create(rows, batch_size=2000)


TITLE_MAX = Consultation._meta.get_field("title").max_length


@transaction.atomic
def set_details(consultation: Consultation, user, *, title: str, description: str
                ) -> AuditEvent | None:
    """Change the consultation's title and description (None when nothing changed)."""
    title, description = title.strip(), description.strip()
    if len(title) > TITLE_MAX:
        raise EditError(f"Enter a title of at most {TITLE_MAX} characters.")
    before = {"title": consultation.title, "description": consultation.description}
    after = {"title": title, "description": description}
    if before == after:
        return None
    consultation.title, consultation.description = title, description
    consultation.save(update_fields=["title", "description", "updated_at"])
    return AuditEvent.objects.create(
        consultation=consultation, user=user if user.is_authenticated else None,
        action="edit title and description", target_type="consultation",
        target_id=consultation.pk, before={"consultation": before},
        after={"consultation": after},
    )


@transaction.atomic
def revert(event: AuditEvent, user) -> AuditEvent:
    """Undo one change: restore what it changed to its state before the change."""
    if event.reverted:
        raise EditError("This change has already been reverted.")
    before, after = event.before, event.after
    if "consultation" in before:
        consultation = Consultation.objects.get(pk=event.consultation_id)
        for field, value in before["consultation"].items():
            setattr(consultation, field, value)
        consultation.save(update_fields=[*before["consultation"], "updated_at"])
        return _undo(event, user)
    question = Question.objects.get(pk=before["question_id"])
    before_themes = before.get("themes", [])
    _restore_themes(before_themes)
    if "responses" in before:
        _restore_responses(before["responses"])
    created = {t["id"] for t in after.get("themes", [])} - {t["id"] for t in before_themes}
    Theme.objects.filter(id__in=created).delete()
    if "stage" in before:
        stage = before["stage"]
        Question.objects.filter(pk=question.pk).update(
            stage=stage["stage"], stage_changed_at=stage["at"], stage_changed_by_id=stage["by"]
        )
    return _undo(event, user)


def _undo(event: AuditEvent, user) -> AuditEvent:
    """Mark ``event`` reverted and record the revert."""
    before, after = event.before, event.after
    event.reverted = True
    event.save(update_fields=["reverted"])
    undo = AuditEvent.objects.create(
        consultation_id=event.consultation_id,
        user=user if user is not None and user.is_authenticated else None,
        action=f"revert: {event.action}",
        target_type=event.target_type,
        target_id=event.target_id,
        before=after,
        after={**before, "reverts": event.pk},
    )
    return undo
