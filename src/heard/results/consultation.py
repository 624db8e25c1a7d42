"""Read a consultation's results: its questions, respondents, groups and campaigns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from heard.results.model import (
    ConsultationResults,
    ConsultationSummary,
    Demographic,
    GroupBreakdown,
    QuestionResults,
)
from heard.results.questions import ASKED, BASE_OUTCOMES, closed_results, question_results
from heard.store.models import Assignment, Consultation, Question, Respondent, Run

NOT_GIVEN = "Not given"
MAX_GROUPS = 6


class UnknownQuestion(ValueError):
    """A question asked for by key is not an open or closed question of the consultation."""


def consultation_results(consultation: Consultation, question: str | None = None
                         ) -> ConsultationResults:
    """The consultation's results; with ``question``, that question's only.

    Raises :class:`UnknownQuestion` (a ValueError) naming the questions there are when
    ``question`` is not one of them.
    """
    questions = list(consultation.questions.select_related("stage_changed_by", "paired_closed"))
    if question is not None:
        chosen = [q for q in questions if q.key == question and q.kind in ASKED]
        if not chosen:
            known = ", ".join(q.key for q in questions if q.kind in ASKED)
            raise UnknownQuestion(
                f"No question {question!r} in {consultation.name}. Questions: {known}")
        questions = chosen
    open_ = [question_results(q) for q in questions if q.kind == Question.Kind.OPEN]
    campaigns = sorted((c for q in open_ for c in q.campaigns), key=lambda c: -c.size)
    respondents = dict(
        consultation.respondents.values_list("kind").annotate(n=Count("id")).order_by()
    )
    return ConsultationResults(
        name=consultation.name,
        title=consultation.title,
        description=consultation.description,
        respondents=sum(respondents.values()),
        respondent_kinds=respondents,
        open=open_,
        closed=[closed_results(q) for q in questions if q.kind == Question.Kind.CLOSED],
        demographics=[Demographic(q.key, q.text, list(q.options or []))
                      for q in questions if q.kind == Question.Kind.DEMOGRAPHIC],
        campaigns=campaigns,
        order=[q.key for q in questions if q.kind in ASKED],
    )


def consultation_summaries(consultations: Iterable[Consultation]) -> list[ConsultationSummary]:
    """The consultation list: questions asked (open and closed) and respondents of each."""
    ids = [c.pk for c in consultations]
    rows = {
        c.pk: c for c in Consultation.objects.filter(pk__in=ids).annotate(
            n_questions=Count("questions", filter=Q(questions__kind__in=ASKED), distinct=True),
            n_respondents=Count("respondents", distinct=True),
        )
    }
    return [ConsultationSummary(c.name, c.title, c.n_questions, c.n_respondents, c.updated_at)
            for c in (rows[i] for i in ids)]


def latest_run(consultation: Consultation) -> Run | None:
    """The most recent finished analysis run (what a report describes)."""
    return (
        Run.objects.filter(consultation=consultation, kind="analyse", status=Run.Status.DONE)
        .order_by("-finished_at", "-created_at")
        .first()
    )


# ---------------------------------------------------------------- groups of respondents


@dataclass(frozen=True)
class Grouping:
    """How respondents are split: by their kind or by one attribute."""

    name: str
    attribute: str | None  # None: Respondent.kind

    def expression(self, prefix: str):
        if self.attribute is None:
            return F(f"{prefix}kind")
        return KeyTextTransform(self.attribute, f"{prefix}attributes")

    def value_label(self, value) -> str:
        if value in (None, ""):
            return NOT_GIVEN
        if self.attribute is None:
            return dict(Respondent.Kind.choices).get(value, str(value))
        return str(value)


KIND = Grouping("Respondent type", None)


def ordered_groups(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Groups by size, with "Not given" last."""
    return sorted(counts.items(), key=lambda kv: (kv[0] == NOT_GIVEN, -kv[1], kv[0]))


def respondent_counts(consultation: Consultation, grouping: Grouping) -> list[tuple[str, int]]:
    """Respondents per group, largest first ("Not given" last)."""
    out: dict[str, int] = defaultdict(int)
    for row in (consultation.respondents.annotate(g=grouping.expression(""))
                .values("g").annotate(n=Count("id"))):
        out[grouping.value_label(row["g"])] += row["n"]
    return ordered_groups(dict(out))


def choose_grouping(consultation: Consultation, attribute: str | None = None) -> Grouping | None:
    """The respondent split with the fewest values (2 to 6): kind, or a demographic attribute."""
    if attribute:
        return KIND if attribute == "kind" else Grouping(attribute, attribute)
    candidates: list[tuple[int, int, Grouping]] = []
    kinds = [k for k, n in respondent_counts(consultation, KIND) if k != "Unknown" and n]
    if len(kinds) >= 2:
        candidates.append((len(kinds), 0, KIND))
    keys: list[str] = []
    for attrs in consultation.respondents.values_list("attributes", flat=True)[:500]:
        for key in attrs or {}:
            if key not in keys:
                keys.append(key)
    for position, key in enumerate(keys[:30], start=1):
        grouping = Grouping(key, key)
        values = [v for v, _ in respondent_counts(consultation, grouping) if v != NOT_GIVEN]
        if 2 <= len(values) <= MAX_GROUPS:
            candidates.append((len(values), position, grouping))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


def group_breakdown(question: QuestionResults, grouping: Grouping) -> GroupBreakdown:
    """Per group: responses in the base, and distinct responses per theme (a parent: its family).

    The groups are the largest ``MAX_GROUPS`` ("Not given" last).
    """
    totals: dict[str, int] = defaultdict(int)
    for row in (
        Question.objects.get(pk=question.id).responses.filter(outcome__in=BASE_OUTCOMES)
        .annotate(g=grouping.expression("respondent__")).values("g").annotate(n=Count("id"))
    ):
        totals[grouping.value_label(row["g"])] += row["n"]
    groups = ordered_groups(dict(totals))[:MAX_GROUPS]
    key_of = {t.id: t.key for t in question.themes}
    parents = {t.parent for t in question.themes if t.parent}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    assignments = Assignment.objects.filter(
        theme__question_id=question.id, is_active=True, response__outcome__in=BASE_OUTCOMES
    ).annotate(g=grouping.expression("response__respondent__"))
    for row in assignments.values("theme_id", "g").annotate(n=Count("response_id", distinct=True)):
        if key_of[row["theme_id"]] not in parents:
            counts[key_of[row["theme_id"]]][grouping.value_label(row["g"])] += row["n"]
    if parents:
        for row in (assignments.filter(Q(theme__parent__isnull=False)
                                       | Q(theme__key__in=parents))
                    .annotate(family=Coalesce("theme__parent_id", "theme_id"))
                    .values("family", "g").annotate(n=Count("response_id", distinct=True))):
            counts[key_of[row["family"]]][grouping.value_label(row["g"])] += row["n"]
    return GroupBreakdown(grouping.name, groups, {k: dict(v) for k, v in counts.items()})


