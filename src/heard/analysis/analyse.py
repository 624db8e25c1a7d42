"""The one composition of the analysis core: ``analyse_texts``.

Every caller runs this function: ``heard analyse`` and the job worker (through the
pipeline, which loads a question from the store and saves what comes back), every
``heard evaluate`` mode, and a notebook with a list of strings. It knows nothing of
Django, HTTP or Ray. The stages, in order:

1. **prepare**: clean each text as import stores it, detect its language, and set
   aside empty and non-substantive answers ("No substantive answer", with a reason).
2. **duplicates**: exact, near-verbatim and campaign groups; each group is analysed
   once, through one representative that carries the group's weight.
3. **embed** the representatives (the embedder may cache; see ``embedder``).
4. **stance** (:class:`~heard.analysis.stance.StanceClassifier`), using the paired
   closed question's answers as weak labels when given; only where the question asks
   for a position (:func:`~heard.analysis.stance.asks_for_position`) or a paired closed
   question gives one. Otherwise every stance is "" (not asked).
5. **themes**: with a codebook, map each representative to zero or more of its leaf
   themes (:class:`~heard.analysis.mapping.ThemeMapper`, few-shot when examples are
   given; where the answers state their side, a theme with a side, from the codebook or,
   with examples, from the examples' stances, is weighed by the answer's stance); without
   one, discover a two-level hierarchy
   (:class:`~heard.analysis.clustering.ThemeDiscoverer`); where the answers state their
   side (:func:`~heard.analysis.stance.stance_axis`), a theme whose answers are really
   divided becomes one theme per side.
6. **evidence**: the evidence-rich flag with its reason.
7. **spread** each representative's results to every member of its group.

Every text comes out with one outcome: ``mapped``, ``other``, ``empty`` or
``unprocessable``, each with a reason where it is not ``mapped``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from heard.analysis.clustering import ThemeSpec
from heard.analysis.duplicates import Group
from heard.analysis.embeddings import Embedder
from heard.analysis.executor import DEFAULT_CHUNK_SIZE, Executor, InProcess

if TYPE_CHECKING:
    from heard.analysis.stance import StanceClassifier

__all__ = [
    "OUTCOMES",
    "QuestionResult",
    "ResponseResult",
    "agree_probability",
    "analyse_texts",
    "codebook_theme",
    "leaf_keys",
    "read_stance",
]

#: The outcomes a response can have, in the order reports list them.
OUTCOMES = ("mapped", "other", "empty", "unprocessable")

ProgressFn = Callable[[str, float], None]


@dataclass
class ResponseResult:
    """What the analysis concluded about one response."""

    outcome: str  # one of OUTCOMES
    reason: str = ""  # why it is not mapped ("" when mapped)
    themes: list[str] = field(default_factory=list)  # leaf theme keys, most likely first
    confidence: float | None = None
    stance: str = ""  # "agree" | "disagree" | "unclear" | "" (not analysed)
    stance_confidence: float | None = None
    evidence_rich: bool | None = None
    evidence_reason: str = ""
    language: str = ""  # ISO 639-1 code, "" when unknown
    group: int | None = None  # index into QuestionResult.groups


@dataclass
class QuestionResult:
    """The analysis of one question's responses: plain data, aligned with the input.

    ``responses[i]`` belongs to ``texts[i]`` (and ``ids[i]``). ``themes`` holds the
    hierarchy: a theme whose ``parent`` is set is a sub-theme, and responses are mapped to
    leaves only (a parent's responses are its children's). Quote indices and group
    members are indices into the input.
    """

    ids: list[Any]
    themes: list[ThemeSpec]
    responses: list[ResponseResult]
    groups: list[Group]
    from_codebook: bool
    embedder: str
    seed: int
    stance_asked: bool = True  # False: the question asks for no position; stance is ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def labels(self) -> list[list[str]]:
        """The leaf themes of each response (empty for other, empty and unprocessable)."""
        return [r.themes for r in self.responses]

    def theme_counts(self) -> dict[str, int]:
        """Distinct responses per theme, every theme listed; a parent counts its family."""
        parent = {t.key: t.parent for t in self.themes}
        counts = dict.fromkeys(parent, 0)
        for r in self.responses:
            keys: set[str] = set()
            for key in r.themes:
                while key and key not in keys:
                    keys.add(key)
                    key = parent.get(key)
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
        return counts

    def outcome_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for r in self.responses:
            counts[r.outcome] += 1
        return counts

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per response, e.g. for ``pandas.DataFrame(result.rows())``."""
        out = []
        for key, r in zip(self.ids, self.responses, strict=True):
            out.append(
                {
                    "id": key,
                    "outcome": r.outcome,
                    "reason": r.reason,
                    "themes": list(r.themes),
                    "confidence": r.confidence,
                    "stance": r.stance,
                    "stance_confidence": r.stance_confidence,
                    "evidence_rich": r.evidence_rich,
                    "evidence_reason": r.evidence_reason,
                    "language": r.language,
                    "group": r.group,
                }
            )
        return out


def leaf_keys(themes: Sequence[Any]) -> list[str]:
    """Keys of the themes no other theme names as its parent, in the given order."""
    parents = {getattr(t, "parent", None) for t in themes}
    return [t.key for t in themes if t.key not in parents]


def codebook_theme(
    key: str, label: str, description: str = "", position: str | None = None
) -> ThemeSpec:
    """A codebook row as a theme: every reader of a codebook file builds themes here.

    A position column ("Agreement", "Disagreement", …) is kept in the description,
    where analysts see it and where the mapper reads it.
    """
    description = (description or "").strip()
    if position and position.strip():
        description = f"{description} ({position.strip()})".strip()
    return ThemeSpec(key=key.strip(), label=(label or key).strip(), description=description)


def _as_spec(theme: Any) -> ThemeSpec:
    if isinstance(theme, ThemeSpec):
        return theme
    if isinstance(theme, Mapping):
        theme = _Row(theme)
    return ThemeSpec(
        key=str(theme.key),
        label=str(getattr(theme, "label", "") or theme.key),
        description=str(getattr(theme, "description", "") or ""),
        parent=getattr(theme, "parent", None) or None,
        key_phrases=list(getattr(theme, "key_phrases", None) or []),
    )


class _Row:
    def __init__(self, row: Mapping[str, Any]) -> None:
        self.__dict__.update(row)


def _resolve_embedder(embedder: str | Embedder) -> tuple[Embedder, str | None]:
    """The embedder, and the name ``get_embedder`` knows it by (for remote workers)."""
    if isinstance(embedder, str):
        from heard.analysis.embeddings import get_embedder

        return get_embedder(embedder), embedder
    return embedder, getattr(embedder, "key", None)


def analyse_texts(
    texts: Sequence[str | None],
    *,
    ids: Sequence[Any] | None = None,
    question: str = "",
    codebook: Sequence[Any] | None = None,
    examples: Mapping[int, Sequence[str]] | None = None,
    weak_labels: Sequence[str | None] | None = None,
    unprocessable: Mapping[int, str] | None = None,
    embedder: str | Embedder = "auto",
    seed: int = 0,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressFn | None = None,
) -> QuestionResult:
    """Analyse one question's responses; see the module docstring for the stages.

    Parameters
    ----------
    texts: the responses, one string each (``None`` counts as empty).
    ids: your identifiers for the responses, carried into the result (default 0..n-1).
    question: the question's text; it anchors stance and helps the mapper read answers.
    codebook: themes to map to (objects or mappings with ``key``, ``label``,
        ``description`` and optionally ``parent``). Only leaves are mapped to; a parent
        keeps its place in the hierarchy. Without a codebook, themes are discovered.
    examples: labelled responses, ``{index: [theme keys]}``: analysts' codings or a
        labelled sample (few-shot). A label that is not a leaf of the codebook is ignored.
    weak_labels: per response, the answer to a paired closed question read as
        "agree" / "disagree" / None; used as free labels for stance.
    unprocessable: ``{index: reason}`` for responses that could not be read (e.g. an
        unreadable document); they keep that outcome.
    embedder: ``"auto"`` (MiniLM for English, the multilingual model when the responses
        are not in English: :func:`heard.analysis.embeddings.choose_embedder`), a name for
        :func:`heard.analysis.embeddings.get_embedder` or an embedder object (which may
        cache; give it a ``key`` attribute naming it for remote workers).
    seed: the same seed gives the same result.
    executor, chunk_size: where chunked work (embedding, hashing, prediction) runs;
        the result does not depend on them.
    progress: ``progress(stage, fraction)``; it may raise to cancel.
    """
    from heard.analysis import duplicates, evidence, prepare
    from heard.analysis.embeddings import EMBEDDERS, choose_embedder
    from heard.analysis.executor import map_chunks, spread_signer
    from heard.analysis.text import clean_text

    step = progress or (lambda stage, fraction: None)
    executor = executor or InProcess()
    n = len(texts)
    ids = list(range(n)) if ids is None else list(ids)
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} texts")
    if weak_labels is not None and len(weak_labels) != n:
        raise ValueError(f"{len(weak_labels)} weak labels for {n} texts")
    unprocessable = dict(unprocessable or {})
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    # 1. prepare
    step("prepare", 0.0)
    cleaned = [clean_text(t) for t in texts]
    prepared = prepare.prepare(cleaned)
    if isinstance(embedder, str) and embedder.strip().lower() == "auto":
        # multilingual when the responses are not in English (see choose_embedder)
        embedder = choose_embedder(languages=[p.language for p in prepared if p.substantive])
    model, model_key = _resolve_embedder(embedder)
    if executor.remote and model_key not in EMBEDDERS:
        raise ValueError("a remote executor needs an embedder known by name (e.g. 'minilm')")
    responses: list[ResponseResult] = []
    for i, p in enumerate(prepared):
        language = p.language if p.language != "und" else ""
        if i in unprocessable:
            responses.append(ResponseResult("unprocessable", unprocessable[i] or "unreadable"))
        elif not p.substantive:
            responses.append(ResponseResult("empty", p.reason or "no substantive answer"))
        else:
            responses.append(ResponseResult("mapped", language=language))
    sub_index = [i for i, r in enumerate(responses) if r.outcome == "mapped"]
    lap("prepare")

    # 2. duplicates: one representative per group, weighted by the group's size
    step("duplicates", 0.1)
    sub_texts = [cleaned[i] for i in sub_index]
    local_groups = duplicates.find_groups(
        sub_texts, seed=seed, sign=spread_signer(executor, seed, chunk_size)
    )
    rep_local, rep_weights = duplicates.representatives(local_groups, len(sub_texts))
    owner = duplicates.expand(list(range(len(rep_local))), local_groups, len(sub_texts))
    rep_index = [sub_index[int(j)] for j in rep_local]
    rep_texts = [cleaned[i] for i in rep_index]
    groups = [
        Group(g.key, g.kind, sub_index[g.canonical], [sub_index[m] for m in g.members])
        for g in local_groups
    ]
    for number, g in enumerate(groups):
        for i in g.members:
            responses[i].group = number
    lap("duplicates")

    # 3. embed the representatives
    step("embed", 0.2)
    vectors = (
        np.asarray(model.embed(rep_texts), dtype=np.float32)
        if rep_texts
        else np.zeros((0, model.dim), dtype=np.float32)
    )
    lap("embed")

    # 4. stance, when the question asks for a position (or a paired closed question gives one)
    step("stance", 0.5)
    weak = [weak_labels[i] for i in rep_index] if weak_labels is not None else None
    stance_labels, stance_conf, stance_model = read_stance(
        rep_texts,
        vectors,
        model.embed,
        question=question,
        weak_labels=weak,
        seed=seed,
        executor=executor,
        embedder_key=model_key or "",
        chunk_size=chunk_size,
    )
    from heard.analysis.stance import stance_axis

    agree = None  # each answer's probability of agreeing, where stance is read
    side = None  # the signed stance discovery keeps the sides apart by
    stance_asked = stance_model is not None
    if stance_asked:
        agree = agree_probability(stance_labels, stance_conf)
        side = stance_axis(stance_model, rep_texts, vectors, proba=agree)
    lap("stance")

    # 5. themes: map to a codebook's leaves, or discover
    step("themes", 0.6)
    if codebook is not None:
        specs = [_as_spec(t) for t in codebook]
        rep_labels, rep_conf, rep_reasons = _map(
            specs,
            model,
            rep_texts,
            vectors,
            _examples_for(examples or {}, owner, sub_index, leaf_keys(specs)),
            seed,
            # themes are weighed by stance only where the answers state their side (the
            # gate of stance_axis): a stance read without them costs more than it gives
            agree if side is not None else None,
        )
    else:
        specs, rep_labels, rep_conf, rep_reasons = _discover(
            model, rep_texts, vectors, rep_weights, rep_index, seed, side,
            prepare.main_language([prepared[i].language for i in rep_index]),
        )
    lap("themes")

    # 6. evidence
    step("evidence", 0.85)
    flags = map_chunks(executor, evidence.detect_evidence, rep_texts, chunk_size)
    lap("evidence")

    # 7. spread each representative's results to its group
    for local, i in enumerate(sub_index):
        pos = owner[local]
        themes = list(rep_labels[pos])
        r = responses[i]
        r.outcome = "mapped" if themes else "other"
        r.reason = "" if themes else rep_reasons[pos]
        r.themes = themes
        r.confidence = float(rep_conf[pos])
        r.stance = str(stance_labels[pos])
        r.stance_confidence = None if stance_conf[pos] is None else float(stance_conf[pos])
        r.evidence_rich = bool(flags[pos][0])
        r.evidence_reason = flags[pos][1]
    step("done", 1.0)
    return QuestionResult(
        ids=ids,
        themes=specs,
        responses=responses,
        groups=groups,
        from_codebook=codebook is not None,
        embedder=model.name,
        seed=seed,
        stance_asked=stance_asked,
        timings=timings,
    )


def _examples_for(
    examples: Mapping[int, Sequence[str]],
    owner: Sequence[int],
    sub_index: Sequence[int],
    leaves: Sequence[str],
) -> list[tuple[int, list[str]]]:
    """Labelled responses as (representative position, leaf keys).

    A coded copy of a campaign letter codes its group's representative; codings of
    several copies are joined. Empty and unprocessable responses teach nothing. An empty
    list marks a response about none of the themes (an example with no theme); one whose
    keys are all outside ``leaves`` (a parent theme) is not an example.
    """
    allowed = set(leaves)
    local_of = {i: local for local, i in enumerate(sub_index)}
    out: dict[int, list[str]] = {}
    for index, keys in sorted(examples.items()):
        local = local_of.get(int(index))
        if local is None or (keys and not allowed.intersection(keys)):
            continue
        position = owner[local]
        kept = out.setdefault(position, [])
        for key in keys:
            if key in allowed and key not in kept:
                kept.append(key)
    return sorted(out.items())


def read_stance(
    texts: Sequence[str],
    vectors: np.ndarray,
    embed: Callable[[list[str]], np.ndarray],
    *,
    question: str = "",
    weak_labels: Sequence[str | None] | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    embedder_key: str = "",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[list[str], list[float | None], StanceClassifier | None]:
    """Stage 4: each answer's stance and its confidence, and the fitted classifier.

    Stance is read only where the question asks for a position
    (:func:`~heard.analysis.stance.asks_for_position`) or ``weak_labels`` (a paired
    closed question's answers) give one; otherwise every stance is "" (not asked) and
    the classifier is None.
    """
    from heard.analysis.executor import predict_chunks
    from heard.analysis.stance import StanceClassifier, asks_for_position

    labels: list[str] = [""] * len(texts)
    confidence: list[float | None] = [None] * len(texts)
    weak = list(weak_labels) if weak_labels is not None and any(weak_labels) else None
    asked = bool(texts) and (weak is not None or asks_for_position(question or None, texts))
    classifier = None
    if asked:
        classifier = StanceClassifier(embed, seed=seed, question=question or None)
        classifier.fit(list(texts), vectors, weak_labels=weak)
        # prediction goes to the executor (recomputing is bit-identical there)
        ((labels, confidence),) = predict_chunks(
            executor or InProcess(),
            classifier,
            ("predict",),
            texts,
            vectors,
            embedder_key=embedder_key,
            chunk_size=chunk_size,
        )
    return list(labels), list(confidence), classifier


def agree_probability(labels: Sequence[str], confidence: Sequence[float | None]) -> np.ndarray:
    """Each answer's probability of agreeing, from its stance and that stance's confidence."""
    out = np.full(len(labels), 0.5)
    for i, (label, conf) in enumerate(zip(labels, confidence, strict=True)):
        if conf is not None and label in ("agree", "disagree"):
            out[i] = conf if label == "agree" else 1.0 - conf
    return out


def _map(specs, model, rep_texts, vectors, examples, seed, agree=None):
    """Leaf themes, confidence and the reason for "Other" per representative.

    ``agree``: each representative's probability of agreeing, for themes with a side.
    """
    from heard.analysis.mapping import ThemeMapper

    leaves = leaf_keys(specs)
    leaf_specs = [s for s in specs if s.key in set(leaves)]
    if not rep_texts or not leaf_specs:
        reason = "the codebook has no themes" if not leaf_specs else ""
        return [[] for _ in rep_texts], [0.0] * len(rep_texts), [reason] * len(rep_texts)
    mapper = ThemeMapper(model.embed, seed=seed)
    mapper.fit(
        leaf_specs, texts=rep_texts, vectors=vectors, examples=examples or None, agree=agree
    )
    proba = np.asarray(mapper.predict_proba(rep_texts, vectors, agree))
    labels = mapper.decide(proba)  # one prediction: labels from the same probabilities
    keys = [s.key for s in leaf_specs]
    column = {k: j for j, k in enumerate(keys)}
    conf, reasons = [], []
    for row, chosen in zip(proba, labels, strict=True):
        best = int(np.argmax(row))
        if chosen:
            conf.append(float(max(row[column[k]] for k in chosen)))
            reasons.append("")
        else:
            conf.append(float(row[best]))
            reasons.append(
                f"no theme is a confident match (best: {keys[best]}, p={row[best]:.2f})"
            )
    return labels, conf, reasons


def _discover(model, rep_texts, vectors, rep_weights, rep_index, seed, side=None,
              language=None):
    """Discovered themes (quote indices into the input) and per-representative results.

    ``side``: the signed stance per representative, or None (see ``stance_axis``);
    ``language``: the answers' language as preparation detected it.
    """
    from heard.analysis.clustering import ThemeDiscoverer

    def embed_more(more: list[str]) -> np.ndarray:  # clauses and quote sentences
        return np.asarray(model.embed(more), dtype=np.float32)

    discoverer = ThemeDiscoverer(seed=seed, embed=embed_more).fit(
        rep_texts, vectors, weights=np.asarray(rep_weights, dtype=float), stance=side,
        language=language,
    )
    specs = list(discoverer.themes_)
    for spec in specs:
        spec.quotes = [(rep_index[i], text) for i, text in (spec.quotes or [])]
    labels = [list(x) for x in discoverer.labels_]
    conf = [float(c) for c in discoverer.confidence_]
    reasons = [reason for _, reason in discoverer.outcomes_]
    return specs, labels, conf, reasons
