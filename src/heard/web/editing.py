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
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from heard.results.agreement import EDIT_RESPONSE, EDIT_RESPONSE_AND_COPIES, coding_record
from heard.store.audit import (
    REMAP_ACTION,
    record_event,
    responses_snapshot,
    theme_responses,
    theme_snapshot,
)
from heard.store.models import (
    RETIRE_CODINGS,
    Assignment,
    AuditEvent,
    Consultation,
    Question,
    Response,
    Theme,
)

STAGES = [value for value, _ in Question._meta.get_field("stage").choices]
SPLIT_THEME = "split theme"


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


def theme_family(theme: Theme) -> list[int]:
    """The theme and its sub-themes: a parent's responses are its family's (the results
    model's definition), each response once."""
    return [theme.id, *theme.children.values_list("id", flat=True)]


@transaction.atomic
def split_theme(theme: Theme, version: int | None, response_ids: list[int], user, label: str,
                description: str = "") -> tuple[Theme, AuditEvent]:
    """Move the chosen responses of ``theme`` to a new theme.

    The new theme is a sibling of ``theme``; splitting a parent makes it a new sub-theme
    of that parent, and the chosen responses leave the sub-themes they were in.
    """
    question = theme.question
    family = theme_family(theme)
    wanted = sorted(set(response_ids))
    chosen: set[int] = set()
    for start in range(0, len(wanted), 900):
        chosen.update(
            Assignment.objects.filter(theme_id__in=family, is_active=True,
                                      response_id__in=wanted[start : start + 900])
            .values_list("response_id", flat=True)
        )
    if not chosen:
        raise EditError("Select at least one response of this theme to form the new theme.")
    if not label.strip():
        raise EditError("Enter a name for the new theme.")
    _lock(theme, version)
    for child_id in family[1:]:
        Theme.objects.filter(pk=child_id).update(version=F("version") + 1)
    before = {"themes": [theme_snapshot(theme)], "responses": responses_snapshot(chosen)}
    new = Theme.objects.create(
        question=question, key=_new_key(question, label), label=label.strip()[:200],
        description=description.strip(), parent=theme if len(family) > 1 else theme.parent,
        position=theme.position, origin=Theme.Origin.ANALYST,
    )
    # The analysis did not propose the new theme: record the move as a human relabel.
    moving = sorted(chosen)
    for start in range(0, len(moving), 900):
        Assignment.objects.filter(
            theme_id__in=family, response_id__in=moving[start : start + 900]
        ).update(is_active=False, origin=Assignment.Origin.HUMAN)
    Assignment.objects.bulk_create(
        [Assignment(response_id=rid, theme=new, origin=Assignment.Origin.HUMAN)
         for rid in moving], batch_size=2000
    )
    theme.refresh_from_db()
    after = {"themes": [theme_snapshot(theme), theme_snapshot(new)],
             "responses": responses_snapshot(chosen)}
    return new, record_event(question, user, SPLIT_THEME, theme, before, after)


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


def _person(user) -> str:
    return (user.email or user.get_username()) if user is not None else "someone"


def _lock_response(response: Response, version: int | None) -> None:
    """Bump the response's version if it is still ``version``; else raise EditConflict
    naming who changed its coding and when."""
    query = Response.objects.filter(pk=response.pk)
    if version is not None:
        query = query.filter(version=version)
    if not query.update(version=F("version") + 1):
        latest = Response.objects.select_related("edited_by").get(pk=response.pk)
        who = f" by {_person(latest.edited_by)}" if latest.edited_by_id else ""
        when = (f" at {timezone.localtime(latest.edited_at):%H:%M}" if latest.edited_at
                else "")
        raise EditConflict(
            f"Response {response.key or response.pk} was changed{who}{when} after you "
            "opened it. Reload the page to see the latest version, then code it again."
        )
    response.version = (version or response.version) + 1


def copies_of(response: Response) -> QuerySet:
    """Ids of the other responses in the response's duplicate group (its copies)."""
    if not response.group_id:
        return Response.objects.none().values_list("id", flat=True)
    return (Response.objects.filter(question_id=response.question_id, group_id=response.group_id)
            .exclude(pk=response.pk).order_by("id").values_list("id", flat=True))


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _set_themes(ids: list[int], valid: set[int]) -> set[int]:
    """Give each response exactly the themes ``valid``, as an analyst's decision; returns
    the themes touched."""
    touched = set(valid)
    for chunk in _chunks(ids):
        current = Assignment.objects.filter(response_id__in=chunk)
        touched |= set(current.values_list("theme_id", flat=True))
        current.filter(theme_id__in=valid).update(is_active=True, origin=Assignment.Origin.HUMAN)
        current.exclude(theme_id__in=valid).update(is_active=False,
                                                   origin=Assignment.Origin.HUMAN)
        have = set(current.filter(theme_id__in=valid).values_list("response_id", "theme_id"))
        Assignment.objects.bulk_create(
            [Assignment(response_id=rid, theme_id=t, origin=Assignment.Origin.HUMAN)
             for rid in chunk for t in sorted(valid) if (rid, t) not in have],
            batch_size=2000,
        )
    _refresh_outcomes(ids)
    return touched


def _analysis_themes(response: Response) -> set[int]:
    """The themes the analysis proposed for the response, carried through the splits that
    moved it: a split moves a response from a theme to a new one as a change of wording
    (as a merge does), so the analysis's theme becomes the new one."""
    ai = set(Assignment.objects.filter(response=response, ai_original=True)
             .values_list("theme_id", flat=True))
    splits = AuditEvent.objects.filter(
        consultation_id=response.question.consultation_id, action=SPLIT_THEME,
        target_type="theme", reverted=False, after__responses__has_key=str(response.pk),
    ).order_by("created_at", "id")
    for source, themes in splits.values_list("target_id", "after__themes"):
        new = [t["id"] for t in themes or [] if t.get("id") != source]
        if source in ai and new:
            ai = (ai - {source}) | {new[0]}
    return ai


@transaction.atomic
def edit_response(response: Response, user, *, version: int | None = None,
                  theme_ids: list[int] | None = None, stance: str | None = None,
                  evidence_rich: bool | None | str = "keep", copies: bool = False,
                  action: str = EDIT_RESPONSE) -> AuditEvent:
    """Set a response's themes, stance and evidence flag, as an analyst's decision.

    One per-response coding (:mod:`heard.results.agreement`), recorded as one audit event
    with the analysis's themes and the analyst's. With ``copies`` the same coding is given
    to every copy in the response's duplicate group, in the same event, which names how
    many copies it changed. ``version`` is the response's version the analyst saw: if the
    response changed since, :class:`EditConflict` says who changed it and when.
    """
    question = response.question
    _lock_response(response, version)
    others = list(copies_of(response)) if copies else []
    ids = [response.id, *others]
    before = {"responses": responses_snapshot(ids)}
    ai = _analysis_themes(response)
    analysed = response.outcome in (Response.Outcome.MAPPED, Response.Outcome.OTHER)
    if theme_ids is not None:
        valid = set(question.themes.filter(id__in=theme_ids).values_list("id", flat=True))
        touched = _set_themes(ids, valid)
        Theme.objects.filter(id__in=touched).update(version=F("version") + 1)
    fields: dict = {"edited_by": user if user is not None and user.is_authenticated else None,
                    "edited_at": timezone.now()}
    if stance is not None and stance in [*Response.Stance.values, ""]:
        fields.update(stance=stance, stance_confidence=None)
    if evidence_rich != "keep":
        fields.update(evidence_rich=evidence_rich, evidence_reason="set by an analyst")
    for chunk in _chunks(others):
        Response.objects.filter(id__in=chunk).update(version=F("version") + 1, **fields)
    Response.objects.filter(pk=response.pk).update(**fields)
    human = set(Assignment.objects.filter(response=response, is_active=True)
                .values_list("theme_id", flat=True))
    after = {"responses": responses_snapshot(ids), "coding": coding_record(ai, human, analysed)}
    if copies:
        action = EDIT_RESPONSE_AND_COPIES
        after["copies"] = len(others)
    response.refresh_from_db()
    return record_event(question, user, action, response, before, after)


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


STAGE_LABELS = dict(Question._meta.get_field("stage").choices)


@transaction.atomic
def record_remap(question: Question, user, run) -> str:
    """Record a re-map of ``question`` (by ``run``) in the history, and send its sign-off
    back to the review stage: the themes were agreed on a mapping that is about to change.

    The run fills in how many assignments changed when it saves the question
    (:func:`heard.store.audit.record_mapping_change`). Returns the message for the analyst.
    """
    was = question.stage
    review = STAGES[0]
    if was != review:
        question.stage = review
        question.stage_changed_at = timezone.now()
        question.stage_changed_by = user if user is not None and user.is_authenticated else None
        question.save(update_fields=["stage", "stage_changed_at", "stage_changed_by"])
    record_event(question, user, REMAP_ACTION, question, {"sign_off": was},
                 {"sign_off": review, "job": run.pk}, run=run)
    message = f"Re-mapping {question.key} with its current themes."
    if was != review:
        message += (f" Its sign-off went back from “{STAGE_LABELS[was]}” to "
                    f"“{STAGE_LABELS[review]}”: review the new mapping, then sign off again.")
    return message


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
            is_flagged=snap["is_flagged"], version=F("version") + 1,
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


def revert_refusal(event: AuditEvent) -> str:
    """Why ``event`` cannot be reverted, in words, or "" when it can."""
    if event.reverted:
        return "This change has already been reverted."
    if event.action == REMAP_ACTION:
        return ("A re-map cannot be reverted: correct the responses, or edit the themes and "
                "re-map again.")
    if event.action == RETIRE_CODINGS:
        return ("Retired codings cannot be brought back: the themes they were made against "
                "no longer exist. Code the responses again against the current themes.")
    if event.retired_by_id is not None:
        return ("This coding was retired when a run replaced the themes it was made against, "
                "so it cannot be reverted: code the response again against the current themes.")
    if _themes_replaced_since(event):
        return ("A later run replaced the themes this change was made to, so reverting it "
                "would bring back a theme that no longer exists. Edit the current themes "
                "instead.")
    return ""


def _themes_replaced_since(event: AuditEvent) -> bool:
    """True when ``event`` changed themes that a later run replaced: none of them exists now,
    and every theme the question has was made after it."""
    ids = {t["id"] for side in (event.before, event.after) for t in side.get("themes", [])}
    question_id = event.before.get("question_id")
    if not ids or question_id is None or Theme.objects.filter(id__in=ids).exists():
        return False
    current = Theme.objects.filter(question_id=question_id)
    return current.exists() and not current.filter(created_at__lte=event.created_at).exists()


@transaction.atomic
def revert(event: AuditEvent, user) -> AuditEvent:
    """Undo one change: restore what it changed to its state before the change."""
    refusal = revert_refusal(event)
    if refusal:
        raise EditError(refusal)
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
        # the reverting analyst is now the last to have changed these responses' coding
        for chunk in _chunks([int(k) for k in before["responses"]]):
            Response.objects.filter(id__in=chunk).update(
                edited_by=user if user is not None and user.is_authenticated else None,
                edited_at=timezone.now())
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
