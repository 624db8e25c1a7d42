"""Cross-filters and search for a question's responses, read from the query string.

Parameters (all optional, most repeatable):
``theme`` (theme ids) with ``mode`` = ``and`` | ``or``; ``stance``; ``evidence=1``;
``campaign=1`` or ``campaign=<group id>``; ``unread=1``; ``flagged=1``; ``outcome``;
``demo`` = ``NAME=VALUE`` (a respondent detail, e.g. ``region=North``); ``closed`` =
``QUESTION_ID=OPTION`` (the respondent's answer to a closed question); ``q`` (keywords,
full-text); ``similar`` (a phrase for semantic search over the stored embeddings).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.utils.http import urlencode

from heard.results import Selection, outcome_filter
from heard.store.models import Assignment, DuplicateGroup, Question, Respondent, Response

SEMANTIC_LIMIT = 100  # matches listed, best first
SEMANTIC_POOL = 50_000  # responses compared at most
# Cosine similarity from which a response counts as saying the same thing as the phrase.
SEMANTIC_MIN_SCORE = 0.3
_WORD = re.compile(r"\w[\w'-]*", re.UNICODE)


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        name, sep, option = value.partition("=")
        if sep and name.strip():
            out.append((name.strip(), option.strip()))
    return out


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


@dataclass
class ResponseFilter:
    themes: list[int] = field(default_factory=list)
    mode: str = "or"
    stances: list[str] = field(default_factory=list)
    evidence: bool = False
    campaign: str = ""
    unread: bool = False
    flagged: bool = False
    outcomes: list[str] = field(default_factory=list)
    demographics: list[tuple[str, str]] = field(default_factory=list)
    closed: list[tuple[str, str]] = field(default_factory=list)
    keywords: str = ""
    similar: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> ResponseFilter:
        stances = [s for s in query.getlist("stance") if s in Response.Stance.values]
        outcomes = [o for o in query.getlist("outcome") if o in Response.Outcome.values]
        return cls(
            themes=_ints(query.getlist("theme")),
            mode="and" if query.get("mode") == "and" else "or",
            stances=stances,
            evidence=query.get("evidence") == "1",
            campaign=(query.get("campaign") or "").strip()[:20],
            unread=query.get("unread") == "1",
            flagged=query.get("flagged") == "1",
            outcomes=outcomes,
            demographics=_pairs(query.getlist("demo")),
            closed=_pairs(query.getlist("closed")),
            keywords=(query.get("q") or "").strip()[:200],
            similar=(query.get("similar") or "").strip()[:500],
        )

    @property
    def active(self) -> bool:
        return any([self.themes, self.stances, self.evidence, self.campaign, self.unread,
                    self.flagged, self.outcomes, self.demographics, self.closed,
                    self.keywords, self.similar])

    def apply(self, question: Question, qs: QuerySet[Response] | None = None) -> QuerySet:
        """The responses of ``question`` that pass every filter (semantic search excepted)."""
        qs = qs if qs is not None else Response.objects.filter(question=question)
        if self.themes:
            family = _with_children(question, self.themes)
            if self.mode == "and":
                for theme_id in self.themes:
                    qs = qs.filter(_in_theme(family[theme_id]))
            else:
                qs = qs.filter(_in_theme(sorted({t for ids in family.values() for t in ids})))
        if self.stances:
            qs = qs.filter(stance__in=self.stances)
        if self.evidence:
            qs = qs.filter(evidence_rich=True)
        if self.campaign == "1":
            qs = qs.filter(group__kind="campaign")
        elif self.campaign.isdigit():
            qs = qs.filter(group_id=int(self.campaign))
        if self.unread:
            qs = qs.filter(is_read=False)
        if self.flagged:
            qs = qs.filter(is_flagged=True)
        if self.outcomes:
            qs = qs.filter(outcome_filter(self.outcomes))
        for name, value in self.demographics:
            if name == "respondent_type":
                qs = qs.filter(respondent__kind=value)
            else:
                qs = qs.filter(respondent_id__in=respondents_with(question, name, value))
        for key, option in self.closed:
            answered = Response.objects.filter(
                respondent_id=OuterRef("respondent_id"),
                question__consultation_id=question.consultation_id,
                question__key=key,
            ).filter(Q(text=option) | Q(options__icontains=f'"{option}"'))
            qs = qs.filter(Exists(answered))
        if self.keywords:
            qs = keyword_search(qs, self.keywords)
        return qs


def selection_query(selection: Selection) -> str:
    """The query string that filters a question page to a summary number's responses."""
    return urlencode([("theme", t) for t in selection.themes]
                     + [("stance", s) for s in selection.stances]
                     + [("outcome", o) for o in selection.outcomes])


def _json_path(name: str) -> str:
    """A JSON path naming one key, as an SQL string literal (quotes escaped)."""
    path = '$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + path.replace("'", "''") + "'"


def respondents_with(question: Question, name: str, value: str):
    """Ids of the consultation's respondents whose detail ``name`` equals ``value``.

    On SQLite the lookup uses an index on that JSON key, created the first time the key is
    filtered on (the keys are the consultation's own, so they cannot be in a migration).
    """
    consultation_id = question.consultation_id
    if connection.vendor == "sqlite":
        expression = f"json_extract(attributes, {_json_path(name)})"
        ensure_attribute_index(expression)
        return RawSQL(
            "SELECT id FROM heard_respondent WHERE consultation_id = %s AND "
            + expression.replace("%", "%%") + " = %s",
            (consultation_id, value),
        )
    if connection.vendor == "postgresql":
        return RawSQL(
            "SELECT id FROM heard_respondent WHERE consultation_id = %s "
            "AND attributes ->> %s = %s",
            (consultation_id, name, value),
        )
    return Respondent.objects.filter(
        consultation_id=consultation_id, **{f"attributes__{name}": value}
    ).values("id")


_indexed: set[str] = set()


def ensure_attribute_index(expression: str) -> None:
    if expression in _indexed:
        return
    digest = hashlib.sha1(expression.encode()).hexdigest()[:12]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS heard_respondent_attr_{digest} "
            f"ON heard_respondent (consultation_id, {expression})"
        )
    _indexed.add(expression)


def _with_children(question: Question, theme_ids: list[int]) -> dict[int, list[int]]:
    """Each chosen theme of ``question`` with its sub-themes (a parent stands for them all)."""
    family: dict[int, list[int]] = {}
    for theme_id, parent_id in question.themes.values_list("id", "parent_id"):
        if theme_id in theme_ids:
            family.setdefault(theme_id, []).append(theme_id)
        if parent_id in theme_ids:
            family.setdefault(parent_id, []).append(theme_id)
    return {t: family.get(t, [-1]) for t in theme_ids}


def _in_theme(theme_ids: list[int]) -> Q:
    """Responses with an active assignment to one of these themes."""
    return Q(
        Exists(
            Assignment.objects.filter(
                response_id=OuterRef("pk"), theme_id__in=theme_ids, is_active=True
            )
        )
    )


def fts_query(text: str) -> str:
    """Words of the user's text as an FTS5 query: every word must occur (prefix match last)."""
    words = _WORD.findall(text)
    if not words:
        return ""
    quoted = ['"' + w.replace('"', "") + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def pg_tsquery(text: str) -> str:
    """The same query for PostgreSQL: every word must occur, the last as a prefix."""
    words = [w.lower() for w in re.findall(r"\w+", text)]  # no tsquery operators or quotes
    if not words:
        return ""
    words[-1] += ":*"
    return " & ".join(words)


def keyword_search(qs: QuerySet[Response], text: str) -> QuerySet[Response]:
    """Full-text search: FTS5 on SQLite, to_tsvector/plainto_tsquery on PostgreSQL."""
    vendor = connection.vendor
    if vendor == "sqlite":
        query = fts_query(text)
        if not query:
            return qs
        return qs.filter(
            id__in=RawSQL(
                "SELECT rowid FROM heard_response_fts WHERE heard_response_fts MATCH %s",
                (query,),
            )
        )
    if vendor == "postgresql":
        query = pg_tsquery(text)
        if not query:
            return qs
        return qs.extra(
            where=["to_tsvector('simple', heard_response.text) @@ to_tsquery('simple', %s)"],
            params=[query],
        )
    words = _WORD.findall(text)
    for word in words:
        qs = qs.filter(text__icontains=word)
    return qs


@dataclass
class MeaningMatches:
    """What a search by meaning found: the ``ranked`` best (at most ``limit``), and how many
    responses reached ``min_score`` among the ``searched`` that have a vector."""

    ranked: list[tuple[int, float]]  # (response id, cosine), best first
    matching: int
    searched: int
    limit: int = SEMANTIC_LIMIT
    min_score: float = SEMANTIC_MIN_SCORE

    @property
    def shown(self) -> int:
        return len(self.ranked)


def semantic_search(
    qs: QuerySet[Response], text: str, embedder_name: str, limit: int = SEMANTIC_LIMIT,
    min_score: float = SEMANTIC_MIN_SCORE,
) -> MeaningMatches:
    """The responses in ``qs`` closest in meaning to ``text``.

    A response matches when the cosine between its vector and the phrase's is at least
    ``min_score``; the best ``limit`` matches are ranked. Vectors are those the analysis
    stored (by content hash). A copy in a duplicate group or campaign that has no vector of
    its own shares its group's: the analysis embeds the group's representative text once.
    """
    from heard.analysis.embeddings import get_embedder
    from heard.analysis.text import content_hash
    from heard.pipeline.embedding_cache import load_vectors

    embedder = get_embedder(embedder_name)
    rows = list(qs.exclude(content_hash="").values_list("id", "content_hash", "group_id")
                [:SEMANTIC_POOL])
    if not rows:
        return MeaningMatches([], 0, 0, limit, min_score)
    stored = load_vectors(embedder.name, sorted({h for _, h, _ in rows}), embedder.dim)
    groups = {g for _, h, g in rows if h not in stored and g is not None}
    representative = {
        gid: content_hash(text) for gid, text in
        DuplicateGroup.objects.filter(id__in=groups).values_list("id", "canonical_text")
    }
    stored.update(load_vectors(embedder.name, sorted(set(representative.values()) - set(stored)),
                               embedder.dim))
    vector_of = [(rid, h if h in stored else representative.get(g)) for rid, h, g in rows]
    vector_of = [(rid, h) for rid, h in vector_of if h in stored]
    if not vector_of:
        return MeaningMatches([], 0, 0, limit, min_score)
    ids = [rid for rid, _ in vector_of]
    matrix = np.vstack([stored[h] for _, h in vector_of]).astype(np.float32)
    query = np.asarray(embedder.embed([text]), dtype=np.float32)[0]
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    scores = matrix @ query / np.where(norms == 0, 1.0, norms)
    above = np.flatnonzero(scores >= min_score)
    order = above[np.argsort(-scores[above], kind="stable")][:limit]
    return MeaningMatches([(ids[i], float(scores[i])) for i in order], int(above.size),
                          len(ids), limit, min_score)
