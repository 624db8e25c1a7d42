"""Read one question's results from the store: outcomes, themes, stance, evidence, options."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Length

from heard.results.model import (
    Campaign,
    ClosedResults,
    Highlight,
    Outcomes,
    QuestionResults,
    ThemeResult,
    share,
)
from heard.store.models import Assignment, DuplicateGroup, Question, Response

BASE_OUTCOMES = (Response.Outcome.MAPPED, Response.Outcome.OTHER)
ASKED = (Question.Kind.OPEN, Question.Kind.CLOSED)  # demographic columns are not questions
STAGE_LABELS: dict[str, str] = dict(Question._meta.get_field("stage").choices)


def effective_outcome(outcome: str, is_empty: bool) -> str:
    """The outcome a response counts under: a blank answer not yet analysed is already empty."""
    if outcome == Response.Outcome.PENDING and is_empty:
        return Response.Outcome.EMPTY
    return outcome


def outcome_filter(outcomes: list[str]) -> Q:
    """Responses whose effective outcome (see :func:`effective_outcome`) is one of ``outcomes``."""
    pending, empty = Response.Outcome.PENDING, Response.Outcome.EMPTY
    q = Q(outcome__in=[o for o in outcomes if o != pending])
    if pending in outcomes:
        q |= Q(outcome=pending, is_empty=False)
    if empty in outcomes:
        q |= Q(outcome=pending, is_empty=True)
    return q


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def question_results(
    question: Question,
    responses: QuerySet[Response] | None = None,
    *,
    offset: int | None = None,
    limit: int = 25,
) -> QuestionResults:
    """The results of ``question`` over ``responses`` (default: all of its responses).

    One SQL statement counts everything. The filtered responses drive it (``CROSS JOIN``
    keeps them as the outer loop in SQLite; PostgreSQL plans it as an ordinary join), so a
    narrow filter stays fast on a question with hundreds of thousands of responses. With
    ``offset``, the ids of one page of ``limit`` responses (in id order) come back too.
    """
    if responses is None:
        responses = question.responses.all()
    themes = list(question.themes.all())
    inner, params = (
        responses.order_by()
        .values("id", "outcome", "is_empty", "stance", "evidence_rich", "group_id")
        .query.sql_with_params()
    )
    true = "true" if connection.vendor == "postgresql" else "1"
    base = "r.outcome IN ('mapped', 'other')"
    parents = {t.parent_id for t in themes if t.parent_id}
    family = ", ".join(str(t.id) for t in themes if t.id in parents or t.parent_id) or "-1"
    # The filter runs once (a materialised CTE); every count reads its result. A response
    # has one stance and one evidence flag, so counting distinct responses per (theme,
    # stance, evidence) and adding the groups up counts each response once.
    sql = f"""
        WITH r AS MATERIALIZED ({inner})
        SELECT 'o', CAST(NULL AS BIGINT), r.outcome, r.is_empty, r.stance, r.evidence_rich,
               COUNT(*) FROM r
        GROUP BY r.outcome, r.is_empty, r.stance, r.evidence_rich
        UNION ALL
        SELECT 'c', NULL, NULL, NULL, NULL, NULL, COUNT(*)
        FROM r CROSS JOIN heard_duplicategroup g WHERE g.id = r.group_id AND g.kind = 'campaign'
        UNION ALL
        SELECT 't', a.theme_id, NULL, NULL, r.stance, r.evidence_rich,
               COUNT(DISTINCT a.response_id)
        FROM r CROSS JOIN heard_assignment a
        WHERE a.response_id = r.id AND a.is_active = {true} AND {base}
        GROUP BY a.theme_id, r.stance, r.evidence_rich
        UNION ALL
        SELECT 'p', COALESCE(t.parent_id, t.id), NULL, NULL, r.stance, r.evidence_rich,
               COUNT(DISTINCT a.response_id)
        FROM r CROSS JOIN heard_assignment a CROSS JOIN heard_theme t
        WHERE a.response_id = r.id AND a.is_active = {true} AND t.id = a.theme_id
        AND a.theme_id IN ({family}) AND {base}
        GROUP BY COALESCE(t.parent_id, t.id), r.stance, r.evidence_rich
    """
    if offset is not None:
        sql += (" UNION ALL SELECT 'l', l.id, NULL, NULL, NULL, NULL, 0 FROM "
                f"(SELECT r.id FROM r ORDER BY r.id LIMIT {int(limit)} OFFSET {int(offset)}) l")
    outcomes: dict[str, int] = defaultdict(int)
    stance: dict[str, int] = defaultdict(int)
    evidence = campaign_responses = 0
    own: dict[int, dict] = defaultdict(lambda: {"n": 0, "stance": defaultdict(int), "rich": 0})
    families: dict[int, dict] = defaultdict(
        lambda: {"n": 0, "stance": defaultdict(int), "rich": 0}
    )
    page_ids: list[int] = []
    for kind, theme_id, outcome, is_empty, stance_value, rich, n in _rows(sql, params):
        if kind == "o":
            outcome = effective_outcome(outcome, bool(is_empty))
            outcomes[outcome] += n
            if outcome in BASE_OUTCOMES:
                if stance_value:
                    stance[stance_value] += n
                if rich:
                    evidence += n
        elif kind == "c":
            campaign_responses = n
        elif kind == "l":
            page_ids.append(theme_id)
        else:
            entry = (own if kind == "t" else families)[theme_id]
            entry["n"] += n
            if stance_value:
                entry["stance"][stance_value] += n
            if rich:
                entry["rich"] += n
    counted = Outcomes(**{k: v for k, v in outcomes.items() if k in Outcomes.__dataclass_fields__})
    rows = _theme_rows(themes, own, families, counted.base)
    groups = DuplicateGroup.objects.filter(question=question)
    sizes = groups.aggregate(n=Count("id"), members=Sum("size"))
    campaigns = [
        Campaign(gid, question.key, question.id, DuplicateGroup.Kind.CAMPAIGN.label, size, text)
        for gid, size, text in groups.filter(kind=DuplicateGroup.Kind.CAMPAIGN)
        .order_by("-size", "id").values_list("id", "size", "canonical_text")
    ]
    return QuestionResults(
        id=question.id,
        key=question.key,
        text=question.text,
        kind=question.kind,
        stage=question.stage,
        stage_label=STAGE_LABELS.get(question.stage, question.stage),
        stage_changed_by=(question.stage_changed_by.get_username()
                          if question.stage_changed_by_id else ""),
        stage_changed_at=question.stage_changed_at,
        paired=question.paired_closed.key if question.paired_closed_id else "",
        outcomes=counted,
        themes=rows,
        stance=dict(stance),
        evidence_rich=evidence,
        campaign_responses=campaign_responses,
        campaigns=campaigns,
        duplicate_groups=sizes["n"],
        in_duplicate_groups=sizes["members"] or 0,
        page_ids=sorted(page_ids),
    )


def _theme_rows(themes: list, own: dict, families: dict, base: int) -> list[ThemeResult]:
    """Parents before their children; a parent takes its family's distinct counts."""
    children: dict[int | None, list] = defaultdict(list)
    for theme in themes:
        children[theme.parent_id].append(theme)
    key_of = {t.id: t.key for t in themes}
    rows: list[ThemeResult] = []

    def add(theme, level: int) -> None:
        source = families if children.get(theme.id) else own
        entry = source.get(theme.id) or {"n": 0, "stance": {}, "rich": 0}
        rows.append(ThemeResult(
            id=theme.id, key=theme.key, label=theme.label, description=theme.description,
            level=level, parent=key_of.get(theme.parent_id), count=entry["n"],
            share=share(entry["n"], base), stance=dict(entry["stance"]),
            evidence_rich=entry["rich"], quotes=list(theme.quotes or []),
        ))
        for kid in children.get(theme.id, []):
            add(kid, level + 1)

    for root in children.get(None, []):
        add(root, 0)
    return rows


def quote_texts(theme: ThemeResult, limit: int) -> list[str]:
    """The theme's stored quotes, or else its most confident responses' texts (up to 3x)."""
    texts = [q.get("text", "") for q in theme.quotes if isinstance(q, dict)]
    if texts:
        return texts
    return list(
        Response.objects.filter(assignments__theme_id=theme.id, assignments__is_active=True)
        .exclude(text="")
        .order_by(F("assignments__confidence").desc(nulls_last=True), "id")
        .values_list("text", flat=True)[: limit * 3]
    )


def highlights(question: QuestionResults, limit: int) -> list[Highlight]:
    """Evidence-rich responses with the longest reasons, no campaign copies, no repeats."""
    candidates = (
        Response.objects.filter(question_id=question.id, evidence_rich=True,
                                outcome__in=BASE_OUTCOMES)
        .exclude(group__kind=DuplicateGroup.Kind.CAMPAIGN)
        .annotate(reason_length=Length("evidence_reason"))
        .order_by("-reason_length", "id")
        .values_list("id", "text", "evidence_reason", "content_hash")[: limit * 5]
    )
    picked: list[tuple[int, str, str]] = []
    hashes: set[str] = set()
    for rid, text, reason, content_hash in candidates:
        if content_hash and content_hash in hashes:
            continue
        hashes.add(content_hash)
        picked.append((rid, text, reason))
        if len(picked) >= limit:
            break
    labels: dict[int, list[str]] = defaultdict(list)
    for rid, label in Assignment.objects.filter(
        response_id__in=[p[0] for p in picked], is_active=True
    ).values_list("response_id", "theme__label"):
        labels[rid].append(label)
    return [Highlight(rid, text, reason, labels[rid]) for rid, text, reason in picked]


def closed_results(question: Question) -> ClosedResults:
    """Respondents choosing each option (several per respondent where allowed)."""
    counts: dict[str, int] = defaultdict(int)
    outcomes: dict[str, int] = defaultdict(int)
    answered = 0
    for row in question.responses.values("options", "outcome", "is_empty").annotate(n=Count("id")):
        outcomes[effective_outcome(row["outcome"], row["is_empty"])] += row["n"]
        chosen = row["options"] or []
        if isinstance(chosen, str):
            chosen = [chosen]
        if chosen:
            answered += row["n"]
        for option in chosen:
            counts[str(option)] += row["n"]
    known = [str(o) for o in question.options or []]
    order = [o for o in known if o in counts] + sorted(
        (o for o in counts if o not in known), key=lambda o: -counts[o]
    )
    return ClosedResults(
        id=question.id, key=question.key, text=question.text, options=known,
        outcomes=Outcomes(**outcomes), answered=answered,
        chosen=[(o, counts[o]) for o in order],
    )

