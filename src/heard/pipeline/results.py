"""Read analysis results out of the store: theme tables, summaries and export rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from django.db.models import Count, Q

from heard.store.models import Assignment, Consultation, Question, Response, Theme

EXPORT_COLUMNS = [
    "question_id",
    "question_text",
    "question_type",
    "respondent_id",
    "respondent_type",
    "response_id",
    "text",
    "options",
    "language",
    "outcome",
    "outcome_reason",
    "themes",
    "theme_keys",
    "theme_confidence",
    "stance",
    "stance_confidence",
    "evidence_rich",
    "evidence_reason",
    "campaign_id",
    "campaign_kind",
    "campaign_size",
]


def theme_table(question: Question) -> list[dict]:
    """Themes of a question with counts and shares, parents before their children."""
    total = question.responses.count()
    substantive = question.responses.exclude(outcome=Response.Outcome.EMPTY).count()
    counts = dict(
        Assignment.objects.filter(theme__question=question, is_active=True)
        .values_list("theme_id")
        .annotate(n=Count("response_id", distinct=True))
    )
    themes = list(question.themes.all())
    children = defaultdict(list)
    for t in themes:
        children[t.parent_id].append(t)
    rows = []

    def add(theme: Theme, level: int) -> None:
        n = counts.get(theme.id, 0)
        if children.get(theme.id):
            n = (
                Assignment.objects.filter(Q(theme=theme) | Q(theme__parent=theme), is_active=True)
                .values("response_id")
                .distinct()
                .count()
            )
        rows.append(
            {
                "key": theme.key,
                "label": theme.label,
                "description": theme.description,
                "level": level,
                "parent": theme.parent.key if theme.parent_id else None,
                "count": n,
                "share": n / substantive if substantive else 0.0,
                "quotes": theme.quotes,
            }
        )
        for child in children.get(theme.id, []):
            add(child, level + 1)

    for root in children.get(None, []):
        add(root, 0)
    outcomes = Counter(question.responses.values_list("outcome", flat=True))
    for outcome, label in (("other", "Other"), ("empty", "No substantive answer")):
        if outcomes.get(outcome):
            rows.append(
                {
                    "key": outcome,
                    "label": label,
                    "description": "",
                    "level": 0,
                    "parent": None,
                    "count": outcomes[outcome],
                    "share": outcomes[outcome] / total if total else 0.0,
                    "quotes": [],
                }
            )
    return rows


def question_summary(question: Question) -> dict:
    """Outcomes, stance split, evidence and campaigns of one question."""
    responses = question.responses
    outcomes = Counter(responses.values_list("outcome", flat=True))
    stance = Counter(responses.exclude(stance="").values_list("stance", flat=True))
    groups = list(question.groups.values("kind", "size", "canonical_text")[:1000])
    return {
        "id": question.key,
        "text": question.text,
        "type": question.kind,
        "responses": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "stance": dict(stance),
        "evidence_rich": responses.filter(evidence_rich=True).count(),
        "themes": question.themes.count(),
        "campaigns": [g for g in groups if g["kind"] == "campaign"],
        "duplicate_groups": len(groups),
        "in_duplicate_groups": sum(g["size"] for g in groups),
    }


def export_rows(consultation: Consultation, question: str | None = None) -> Iterator[dict]:
    """Every response with its themes, stance, evidence, campaign and outcome."""
    questions = consultation.questions.all()
    if question:
        questions = questions.filter(key=question)
    for q in questions:
        themes_of: dict[int, list[tuple[str, str, float | None]]] = defaultdict(list)
        for rid, key, label, conf in (
            Assignment.objects.filter(theme__question=q, is_active=True)
            .order_by("response_id", "-confidence")
            .values_list("response_id", "theme__key", "theme__label", "confidence")
            .iterator(chunk_size=5000)
        ):
            themes_of[rid].append((key, label, conf))
        rows = (
            Response.objects.filter(question=q)
            .order_by("id")
            .values_list(
                "id",
                "key",
                "text",
                "options",
                "language",
                "outcome",
                "outcome_reason",
                "stance",
                "stance_confidence",
                "evidence_rich",
                "evidence_reason",
                "respondent__key",
                "respondent__kind",
                "group__key",
                "group__kind",
                "group__size",
            )
        )
        for (
            rid,
            key,
            text,
            options,
            language,
            outcome,
            reason,
            stance,
            stance_conf,
            rich,
            rich_reason,
            rkey,
            rkind,
            gkey,
            gkind,
            gsize,
        ) in rows.iterator(chunk_size=5000):
            assigned = themes_of.get(rid, [])
            yield {
                "question_id": q.key,
                "question_text": q.text,
                "question_type": q.kind,
                "respondent_id": rkey,
                "respondent_type": rkind,
                "response_id": key or str(rid),
                "text": text,
                "options": options,
                "language": language,
                "outcome": outcome,
                "outcome_reason": reason,
                "themes": [label for _, label, _ in assigned],
                "theme_keys": [k for k, _, _ in assigned],
                "theme_confidence": [round(c, 3) for _, _, c in assigned if c is not None],
                "stance": stance,
                "stance_confidence": None if stance_conf is None else round(stance_conf, 3),
                "evidence_rich": {True: "YES", False: "NO"}.get(rich, ""),
                "evidence_reason": rich_reason,
                "campaign_id": gkey or "",
                "campaign_kind": gkind or "",
                "campaign_size": gsize or "",
            }
