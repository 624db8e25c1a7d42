"""Run one evaluation mode on a labelled folder and score it.

Every mode runs :func:`heard.analysis.analyse.analyse_texts` on each question, the same
composition ``heard analyse`` runs (cleaning, duplicates and representatives, the same
codebook themes, mapping to leaves, stance, evidence), so a figure here is a figure of
the product. Nothing touches the store. Each mode returns an
:class:`~heard.evaluation.report.EvalResult`.
"""

from __future__ import annotations

import hashlib
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from heard import __version__
from heard.analysis import metrics as M
from heard.evaluation.baselines import embed_logreg, tfidf_logreg
from heard.evaluation.dataset import EvalDataset, load_dataset
from heard.evaluation.report import EvalResult

MODES: tuple[str, ...] = (
    "discover",
    "codebook",
    "fewshot",
    "stance",
    "evidence",
    "campaigns",
    "stability",
    "corrections",
)
#: gold files each mode needs (keys of heard.evaluation.dataset.FILES)
MODE_NEEDS: dict[str, tuple[str, ...]] = {
    "discover": ("gold_themes",),
    "codebook": ("codebook", "gold_themes"),
    "fewshot": ("codebook", "gold_themes"),
    "stance": ("gold_stance",),
    "evidence": ("gold_evidence",),
    "campaigns": ("gold_campaigns",),
    "stability": (),
    "corrections": ("codebook", "gold_themes"),
}
#: baseline name -> the mode it runs beside
BASELINES: dict[str, str] = {
    "tfidf-logreg": "fewshot",
    "embed-logreg": "fewshot",
    "bertopic": "discover",
}
#: the supervised mapping baselines, run in every fewshot and corrections run
MAPPING_BASELINES: tuple[str, ...] = ("tfidf-logreg", "embed-logreg")
#: responses an analyst corrects, per question, in ``--mode corrections``
CORRECTION_STEPS: tuple[int, ...] = (0, 20, 50, 100, 200)

_SEP = "\x1f"  # joins question id and theme into one label across questions
_OTHER = "__other__"  # the cluster of responses given no theme
_SINGLE = "\x1esingle"  # prefix of a response that stands as its own campaign cluster


class EvaluationError(RuntimeError):
    """A mode cannot run: a bad option or a missing optional component."""


@dataclass
class EvalOptions:
    """Parameters of one ``heard evaluate`` run."""

    mode: str
    k: int = 10
    #: fewshot: gold answers with no theme also drawn, per question, as "no theme" examples
    none_examples: int = 0
    repeats: int = 5
    seed: int = 0
    embedder: str = "auto"
    baselines: tuple[str, ...] = ()
    question: str | None = None
    n_boot: int = 1000
    cache: bool = True
    log: Callable[[str], None] = field(default=lambda message: None, repr=False)

    def check(self) -> None:
        """Fail with a clear message on a bad combination of options."""
        if self.mode not in MODES:
            raise EvaluationError(f"Unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")
        for name in self.baselines:
            if name not in BASELINES:
                raise EvaluationError(
                    f"Unknown baseline {name!r}; choose one of {', '.join(BASELINES)}"
                )
            if BASELINES[name] != self.mode and not (
                name in MAPPING_BASELINES and self.mode == "corrections"
            ):
                raise EvaluationError(
                    f"Baseline {name!r} runs with --mode {BASELINES[name]}, not {self.mode}"
                )
        if self.k < 1:
            raise EvaluationError("--k must be at least 1")
        if self.none_examples < 0:
            raise EvaluationError("--none-examples cannot be negative")
        if self.none_examples and self.mode != "fewshot":
            raise EvaluationError("--none-examples is read only with --mode fewshot")
        if self.repeats < 1:
            raise EvaluationError("--repeats must be at least 1")
        if self.n_boot < 0:
            raise EvaluationError("the number of bootstrap draws cannot be negative")


def evaluate(path: str | Path, options: EvalOptions) -> EvalResult:
    """Read ``path``, run ``options.mode`` and return the scored result."""
    options.check()
    start = time.perf_counter()
    data = load_dataset(path, needs=MODE_NEEDS[options.mode], question=options.question)
    ctx = _Context(data, options)
    result = _RUNNERS[options.mode](ctx)
    result.warnings = data.warnings + ctx.warnings + result.warnings
    result.params = {
        "k": options.k if options.mode == "fewshot" else None,
        **({"none_examples": options.none_examples} if options.none_examples else {}),
        "repeats": options.repeats if options.mode in ("fewshot", "corrections") else None,
        "seed": options.seed,
        "embedder": ctx.embedder_choice if ctx.embedder_used else None,
        "baseline": list(options.baselines),
        "question": options.question,
        "bootstrap_draws": options.n_boot,
    }
    result.versions = {
        "heard": __version__,
        "embedder": ctx.embedder_name,
        "python": platform.python_version(),
        **_library_versions(),
    }
    result.wall_s = time.perf_counter() - start
    result.peak_rss_mb = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _library_versions(
    names: Sequence[str] = ("numpy", "scikit-learn", "scipy"),
) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------------------
# shared state of one run


class _Context:
    """The data set, the options, and the embedder and vectors computed once per run."""

    def __init__(self, data: EvalDataset, options: EvalOptions) -> None:
        self.data = data
        self.options = options
        self._embedder: Any = None
        self._vectors: np.ndarray | None = None
        self._memo: _MemoEmbedder | None = None
        self.embedder_used = False
        self.embedder_choice = options.embedder  # "auto" resolves to a name on first use
        self.warnings: list[str] = []

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from heard.analysis.embeddings import (
                EmbedderUnavailable,
                choose_embedder,
                get_embedder,
            )

            name = self.options.embedder
            if name == "auto":  # multilingual when the responses are not in English
                name = choose_embedder(self.data.texts)
                self.options.log(f"embedder: {name} (chosen from the responses' language)")
            try:
                self._embedder = get_embedder(name)
            except EmbedderUnavailable as exc:
                if self.options.embedder != "auto":
                    raise
                self.warnings.append(f"{exc} Using minilm (English) instead.")
                name = "minilm"
                self._embedder = get_embedder(name)
            self.embedder_choice = name
            self.embedder_used = True
        return self._embedder

    @property
    def embedder_name(self) -> str | None:
        return self._embedder.name if self._embedder is not None else None

    def vectors(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """Embeddings of the responses (all, or ``rows``); embedded once per run."""
        if self._vectors is None:
            self._vectors = _cached_embeddings(
                self.embedder, self.data.texts, cache=self.options.cache, log=self.options.log
            )
        return self._vectors if rows is None else self._vectors[list(rows)]

    def texts(self, rows: Sequence[int]) -> list[str]:
        return [self.data.texts[i] for i in rows]

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of other texts (clauses, quote sentences), cached like the responses."""
        return _cached_embeddings(
            self.embedder, list(texts), cache=self.options.cache, log=self.options.log
        )

    @property
    def memo(self) -> _MemoEmbedder:
        """The embedder ``analyse_texts`` gets: the run's vectors first, like the store's
        content-hash cache in ``heard analyse``; other texts through :meth:`embed_cached`."""
        if self._memo is None:
            self._memo = _MemoEmbedder(self, self.data.texts, self.vectors())
        return self._memo

    def analyse(
        self,
        question_id: str,
        *,
        seed: int | None = None,
        codebook: Sequence[Any] | None = None,
        examples: dict[int, list[str]] | None = None,
    ) -> Any:
        """``analyse_texts`` on one question's responses (``examples`` by row position),
        with the ticks of a closed question it follows up as weak labels, as in a run."""
        from heard.analysis.analyse import analyse_texts

        rows = self.data.rows(question_id)
        weak = [self.data.weak.get(self.data.keys[i]) for i in rows]
        return analyse_texts(
            self.texts(rows),
            ids=[self.data.keys[i][1] for i in rows],
            question=self.data.questions.get(question_id, ""),
            codebook=codebook,
            examples=examples,
            weak_labels=weak if any(weak) else None,
            embedder=self.memo,
            seed=self.options.seed if seed is None else seed,
        )


class _MemoEmbedder:
    """Vectors by content hash (as the store caches them); misses are embedded and kept."""

    def __init__(self, ctx: _Context, texts: Sequence[str], vectors: np.ndarray) -> None:
        from heard.analysis.text import content_hash

        self.ctx = ctx
        self.name = ctx.embedder.name
        self.dim = ctx.embedder.dim
        self.key = ctx.embedder_choice  # the resolved name ("auto" is chosen by now)
        self.cache: dict[str, np.ndarray] = {}
        for text, vector in zip(texts, vectors, strict=True):
            self.cache.setdefault(content_hash(text), vector)

    def embed(self, texts: Sequence[str], *, progress: Any = None) -> np.ndarray:
        from heard.analysis.embeddings import embed_with_cache
        from heard.analysis.text import content_hash

        texts = list(texts)
        hashes = [content_hash(t) for t in texts]
        missing = list(dict.fromkeys(h for h in hashes if h not in self.cache))
        if missing:
            first = {h: t for t, h in zip(texts, hashes, strict=True)}
            fresh = self.ctx.embed_cached([first[h] for h in missing])
            self.cache.update(zip(missing, fresh, strict=True))
        return embed_with_cache(self.ctx.embedder, texts, hashes, self.cache)


def _cached_embeddings(
    embedder: Any, texts: list[str], *, cache: bool, log: Callable[[str], None]
) -> np.ndarray:
    """Vectors for ``texts``; kept under HEARD_HOME/cache/evaluate keyed by model and content."""
    parts = getattr(embedder, "parts", None)
    if parts:  # a concatenation is cached as its parts, which other runs share
        return embedder.combine(
            [_cached_embeddings(part, texts, cache=cache, log=log) for part in parts]
        )
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1e")
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.name)
    file: Path | None = None
    if cache:
        from heard.paths import heard_home

        file = heard_home() / "cache" / "evaluate" / f"{safe_name}-{digest.hexdigest()[:24]}.npy"
        if file.is_file():
            vectors = np.load(file)
            if vectors.shape[0] == len(texts):
                log(f"embeddings read from the cache ({file.name})")
                return vectors
    log(f"embedding {len(texts):,} responses with {embedder.name}")
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if file is not None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(file)
        except OSError as exc:  # a read-only home must not stop an evaluation
            log(f"could not write the embedding cache: {exc}")
    return vectors


def _qualify(question_id: str, labels: Sequence[str]) -> set[str]:
    return {f"{question_id}{_SEP}{label}" for label in labels}


def _split(label: str) -> tuple[str, str]:
    question_id, _, theme = label.partition(_SEP)
    return question_id, theme


def _first_of_text(data: EvalDataset, rows: Sequence[int]) -> list[int]:
    """Positions (into ``rows``) of the first response of each distinct text per question."""
    from heard.analysis.text import content_hash

    seen: set[tuple[str, str]] = set()
    keep = []
    for pos, i in enumerate(rows):
        key = (data.keys[i][0], content_hash(data.texts[i]))
        if key not in seen:
            seen.add(key)
            keep.append(pos)
    return keep


# ---------------------------------------------------------------------------
# mapping modes: codebook and fewshot


def _mapping_scores(
    gold: list[set[str]], pred: list[set[str]], labels: list[str], *, n_boot: int, seed: int
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Flat mapping metrics with bootstrap CIs, and per-theme scores."""
    scores = M.multilabel_scores(gold, pred, labels)
    out: dict[str, float] = {
        k: scores[k]
        for k in (
            "micro_f1",
            "micro_precision",
            "micro_recall",
            "macro_f1",
            "samples_f1",
            "jaccard",
        )
    }
    ci = M.bootstrap_multilabel(gold, pred, labels, n_boot=n_boot, seed=seed)
    for key in ("micro_f1", "macro_f1", "samples_f1"):
        if key in ci:
            out[f"{key}_ci_low"], out[f"{key}_ci_high"] = ci[key]
    per_theme = []
    for s in M.per_label_scores(gold, pred, labels):
        question_id, theme = _split(s.label)
        per_theme.append(
            {
                "question_id": question_id,
                "theme": theme,
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "support": s.support,
                "predicted": s.predicted,
            }
        )
    return out, per_theme


def _codebook_specs(data: EvalDataset, question_id: str) -> list[Any]:
    """The question's codebook as ``heard analyse --codebook`` reads it."""
    from heard.analysis.analyse import codebook_theme

    return [
        codebook_theme(t.theme, t.label, t.description, t.position)
        for t in data.codebook.get(question_id, [])
    ]


def _all_labels(data: EvalDataset) -> list[str]:
    return sorted(
        label
        for q in data.question_ids
        for label in _qualify(q, [t.theme for t in data.codebook.get(q, [])])
    )


def run_codebook(ctx: _Context) -> EvalResult:
    """Zero-shot mapping from the codebook (labels and descriptions, no examples)."""
    data, opts = ctx.data, ctx.options
    gold: list[set[str]] = []
    pred: list[set[str]] = []
    scored: list[int] = []
    predictions: dict[tuple[str, str], list[str]] = {}
    for q in data.question_ids:
        rows = data.rows(q)
        opts.log(f"mapping {len(rows):,} responses to {q}'s codebook")
        result = ctx.analyse(q, codebook=_codebook_specs(data, q))
        for i, labels in zip(rows, result.labels, strict=True):
            gold.append(_qualify(q, data.themes_of(i)))
            pred.append(_qualify(q, labels))
            scored.append(i)
            predictions[data.keys[i]] = list(labels)
    out = _mapping_result(ctx, "codebook", gold, pred, scored)
    out.predictions = predictions
    return out


def _mapping_result(
    ctx: _Context, mode: str, gold: list[set[str]], pred: list[set[str]], scored: list[int]
) -> EvalResult:
    data, opts = ctx.data, ctx.options
    labels = _all_labels(data)
    metrics, per_theme = _mapping_scores(gold, pred, labels, n_boot=opts.n_boot, seed=opts.seed)
    _add_dedup(metrics, data, scored, gold, pred, labels)
    metrics["n_scored"] = float(len(scored))
    metrics["n_unlabelled"] = float(sum(1 for g in gold if not g))
    metrics["n_themes"] = float(len(labels))
    metrics["other_share"] = sum(1 for p in pred if not p) / len(pred) if pred else 0.0
    return EvalResult(
        mode=mode,
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=metrics,
        per_theme=per_theme,
    )


def _add_dedup(
    metrics: dict[str, float],
    data: EvalDataset,
    scored: list[int],
    gold: list[set[str]],
    pred: list[set[str]],
    labels: list[str],
) -> None:
    """Micro/macro F1 on the first response of each distinct text (campaign copies once)."""
    keep = _first_of_text(data, scored)
    s = M.multilabel_scores([gold[j] for j in keep], [pred[j] for j in keep], labels)
    metrics["micro_f1_dedup"] = s["micro_f1"]
    metrics["macro_f1_dedup"] = s["macro_f1"]
    metrics["n_scored_dedup"] = float(len(keep))


def draw_examples(
    gold: Sequence[set[str]],
    themes: Sequence[str],
    k: int,
    rng: np.random.Generator,
    text_keys: Sequence[str] | None = None,
) -> list[int]:
    """Indices of about ``k`` gold examples per theme (fewer when a theme has fewer).

    A response drawn for one theme also counts toward its other gold themes. With
    ``text_keys`` (e.g. content hashes) no two examples share a text, so one campaign
    cannot fill the sample.
    """
    chosen: list[int] = []
    used_text: set[str] = set()
    count = dict.fromkeys(themes, 0)
    for theme in sorted(themes):
        need = k - count[theme]
        if need <= 0:
            continue
        candidates = [
            i
            for i, g in enumerate(gold)
            if theme in g
            and i not in chosen
            and (text_keys is None or text_keys[i] not in used_text)
        ]
        if not candidates:
            continue
        picks = rng.choice(len(candidates), size=min(need, len(candidates)), replace=False)
        for p in sorted(int(x) for x in picks):
            i = candidates[p]
            if text_keys is not None:
                if text_keys[i] in used_text:
                    continue
                used_text.add(text_keys[i])
            chosen.append(i)
            for t in gold[i]:
                if t in count:
                    count[t] += 1
    return sorted(chosen)


def draw_none_examples(
    gold: Sequence[set[str]],
    n: int,
    rng: np.random.Generator,
    chosen: Sequence[int] = (),
    text_keys: Sequence[str] | None = None,
) -> list[int]:
    """Indices of up to ``n`` gold answers with no theme, as "no theme" examples.

    Drawn after :func:`draw_examples` (``chosen``), from the answers with no gold theme and
    a text none of ``chosen`` shares (with ``text_keys``), one per text; fewer when fewer
    exist, none when ``n`` is 0. Give it a generator of its own (:func:`none_rng`), so the
    theme examples of a draw are the same with or without them.
    """
    if n <= 0:
        return []
    taken = set(chosen)
    used = {text_keys[i] for i in taken} if text_keys is not None else set()
    candidates: list[int] = []
    for i, g in enumerate(gold):
        if g or i in taken or (text_keys is not None and text_keys[i] in used):
            continue
        if text_keys is not None:
            used.add(text_keys[i])
        candidates.append(i)
    if not candidates:
        return []
    picks = rng.choice(len(candidates), size=min(n, len(candidates)), replace=False)
    return sorted(candidates[int(p)] for p in picks)


def none_rng(seed: int) -> np.random.Generator:
    """The generator that draws a repeat's examples with no theme, apart from the one that
    draws its theme examples (which stay as they are without ``--none-examples``)."""
    return np.random.default_rng([seed, 1])


def mapping_baselines(
    texts: Sequence[str],
    vectors: np.ndarray,
    train_gold: Sequence[set[str]],
    train: Sequence[int],
    test: Sequence[int],
    *,
    seed: int,
) -> dict[str, list[list[str]]]:
    """Both supervised baselines on the same training rows and test rows as Heard."""
    train_texts, test_texts = [texts[j] for j in train], [texts[j] for j in test]
    return {
        "tfidf-logreg": tfidf_logreg(train_texts, list(train_gold), test_texts, seed=seed),
        "embed-logreg": embed_logreg(
            vectors[list(train)], list(train_gold), vectors[list(test)], seed=seed
        ),
    }


def run_fewshot(ctx: _Context) -> EvalResult:
    """k gold examples per theme train the mapper; the rest is scored. Repeated draws."""
    from heard.analysis.text import content_hash

    data, opts = ctx.data, ctx.options
    labels = _all_labels(data)
    runs: list[dict[str, float]] = []
    theme_runs: list[list[dict[str, Any]]] = []
    base_runs: dict[str, list[dict[str, float]]] = {name: [] for name in MAPPING_BASELINES}
    for r in range(opts.repeats):
        seed = opts.seed + r
        rng, no_theme_rng = np.random.default_rng(seed), none_rng(seed)
        gold: list[set[str]] = []
        pred: list[set[str]] = []
        base_pred: dict[str, list[set[str]]] = {name: [] for name in MAPPING_BASELINES}
        scored: list[int] = []
        n_train = n_none = 0
        for q in data.question_ids:
            rows = data.rows(q)
            texts = ctx.texts(rows)
            q_gold = [data.themes_of(i) for i in rows]
            themes = [t.theme for t in data.codebook.get(q, [])]
            keys = [content_hash(t) for t in texts]
            train = draw_examples(q_gold, themes, opts.k, rng, keys)
            none = draw_none_examples(q_gold, opts.none_examples, no_theme_rng, train, keys)
            train = sorted(train + none)
            n_train += len(train)
            n_none += len(none)
            opts.log(f"repeat {r + 1}/{opts.repeats}: {q}, {len(train)} examples"
                     + (f" ({len(none)} with no theme)" if opts.none_examples else ""))
            result = ctx.analyse(
                q,
                seed=seed,
                codebook=_codebook_specs(data, q),
                examples={j: sorted(q_gold[j]) for j in train},
            )
            train_set = set(train)
            test = [j for j in range(len(rows)) if j not in train_set]
            for j in test:
                gold.append(_qualify(q, q_gold[j]))
                pred.append(_qualify(q, result.labels[j]))
                scored.append(rows[j])
            for name, b in mapping_baselines(
                texts, ctx.vectors(rows), [q_gold[j] for j in train], train, test, seed=seed
            ).items():
                base_pred[name].extend(_qualify(q, x) for x in b)
        metrics, per_theme = _mapping_scores(gold, pred, labels, n_boot=opts.n_boot, seed=seed)
        _add_dedup(metrics, data, scored, gold, pred, labels)
        metrics["n_scored"] = float(len(scored))
        metrics["n_train"] = float(n_train)
        if opts.none_examples:
            metrics["n_train_none"] = float(n_none)
        metrics["other_share"] = sum(1 for p in pred if not p) / len(pred) if pred else 0.0
        runs.append(metrics)
        theme_runs.append(per_theme)
        for name, bp in base_pred.items():
            bm, _ = _mapping_scores(gold, bp, labels, n_boot=opts.n_boot, seed=seed)
            _add_dedup(bm, data, scored, gold, bp, labels)
            base_runs[name].append(bm)
    result = EvalResult(
        mode="fewshot",
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=_aggregate(runs),
        per_theme=_aggregate_themes(theme_runs),
        baselines={name: _aggregate(v) for name, v in base_runs.items()},
    )
    result.metrics["n_themes"] = float(len(labels))
    result.details["repeats"] = runs
    return result


def run_corrections(ctx: _Context) -> EvalResult:
    """Simulated analyst corrections: the curve of micro-F1 against responses corrected.

    Per question and repeat, a random order of its responses is drawn; after N
    corrections (``CORRECTION_STEPS``, at most half the question) the first N responses
    in that order carry their gold themes and the mapper is refitted with them as
    examples (N = 0: the codebook alone). Every step is scored on the same responses,
    those beyond the largest N, so the points of the curve are comparable; the two
    baselines learn from the same corrections.
    """
    data, opts = ctx.data, ctx.options
    labels = _all_labels(data)
    names = ("heard", *MAPPING_BASELINES)
    curve: dict[str, dict[int, list[float]]] = {
        name: {n: [] for n in CORRECTION_STEPS} for name in names
    }
    for r in range(opts.repeats):
        seed = opts.seed + r
        rng = np.random.default_rng(seed)
        gold: list[set[str]] = []
        pred = {name: {n: [] for n in CORRECTION_STEPS} for name in names}
        for q in data.question_ids:
            rows = data.rows(q)
            texts, vectors = ctx.texts(rows), ctx.vectors(rows)
            q_gold = [data.themes_of(i) for i in rows]
            order = [int(j) for j in rng.permutation(len(rows))]
            largest = min(max(CORRECTION_STEPS), len(rows) // 2)
            test = sorted(order[largest:])
            gold.extend(_qualify(q, q_gold[j]) for j in test)
            for n in CORRECTION_STEPS:
                corrected = sorted(order[: min(n, largest)])
                opts.log(f"repeat {r + 1}/{opts.repeats}: {q}, {len(corrected)} corrected")
                result = ctx.analyse(
                    q,
                    seed=seed,
                    codebook=_codebook_specs(data, q),
                    examples={j: sorted(q_gold[j]) for j in corrected} or None,
                )
                got = [result.labels[j] for j in test]
                pred["heard"][n].extend(_qualify(q, x) for x in got)
                if not corrected:  # nothing to learn from: the baselines say nothing
                    for name in MAPPING_BASELINES:
                        pred[name][n].extend(set() for _ in test)
                    continue
                base = mapping_baselines(
                    texts, vectors, [q_gold[j] for j in corrected], corrected, test, seed=seed
                )
                for name, b in base.items():
                    pred[name][n].extend(_qualify(q, x) for x in b)
        for name in names:
            for n in CORRECTION_STEPS:
                scores = M.multilabel_scores(gold, pred[name][n], labels)
                curve[name][n].append(scores["micro_f1"])
    metrics: dict[str, float] = {}
    baselines: dict[str, dict[str, float]] = {name: {} for name in MAPPING_BASELINES}
    for name in names:
        target = metrics if name == "heard" else baselines[name]
        for n in CORRECTION_STEPS:
            mean, sd = M.mean_sd(curve[name][n])
            target[f"micro_f1_at_{n}"] = mean
            if opts.repeats > 1:
                target[f"micro_f1_at_{n}_sd"] = sd
    heard_curve = [metrics[f"micro_f1_at_{n}"] for n in CORRECTION_STEPS]
    pairs = zip(heard_curve, heard_curve[1:], strict=False)
    metrics["curve_rises"] = float(all(b >= a for a, b in pairs))
    return EvalResult(
        mode="corrections",
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=metrics,
        baselines=baselines,
        details={"steps": list(CORRECTION_STEPS), "curve": curve},
    )


_SD_KEYS = ("micro_f1", "macro_f1", "samples_f1", "jaccard")


def _aggregate(runs: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over repeats, plus the sample SD of the headline ones."""
    if not runs:
        return {}
    out: dict[str, float] = {}
    for key in runs[0]:
        mean, sd = M.mean_sd([run[key] for run in runs])
        out[key] = mean
        if key in _SD_KEYS and len(runs) > 1:
            out[f"{key}_sd"] = sd
    return out


def _aggregate_themes(theme_runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per-theme scores averaged over repeats (support: mean test support, rounded)."""
    out = []
    for rows in zip(*theme_runs, strict=True):
        first = rows[0]
        out.append(
            {
                "question_id": first["question_id"],
                "theme": first["theme"],
                **{k: float(np.mean([r[k] for r in rows])) for k in ("precision", "recall", "f1")},
                "support": round(float(np.mean([r["support"] for r in rows]))),
                "predicted": round(float(np.mean([r["predicted"] for r in rows]))),
            }
        )
    return out


# ---------------------------------------------------------------------------
# discovery and stability


def _partition(labels: Sequence[Sequence[str]]) -> list[str]:
    """One cluster per response: its first theme, or the "Other" cluster."""
    return [labels_i[0] if labels_i else _OTHER for labels_i in labels]


def discovery_scores(
    data: EvalDataset, found: dict[str, list[list[str]]]
) -> tuple[dict[str, float], list[dict[str, Any]], dict[str, Any]]:
    """Score discovered themes (``found[question_id][j]`` for the j-th row of the question).

    Matching, purity and code recall pool the questions (a theme only matches within its
    question). ARI and NMI are computed per question on the responses with exactly one gold
    theme, then averaged weighted by those responses.
    """
    gold_all: list[set[str]] = []
    found_all: list[set[str]] = []
    ari_nmi: list[tuple[int, dict[str, float]]] = []
    n_themes = 0
    for q in data.question_ids:
        rows = data.rows(q)
        labels = found[q]
        n_themes += len({t for x in labels for t in x})
        q_gold = [data.themes_of(i) for i in rows]
        gold_all.extend(_qualify(q, g) for g in q_gold)
        found_all.extend(_qualify(q, x) for x in labels)
        single = [j for j, g in enumerate(q_gold) if len(g) == 1]
        if single:
            part = _partition(labels)
            ari_nmi.append(
                (
                    len(single),
                    M.partition_scores(
                        [next(iter(q_gold[j])) for j in single], [part[j] for j in single]
                    ),
                )
            )
    gold_sets, found_sets = M.sets_by_label(gold_all), M.sets_by_label(found_all)
    metrics: dict[str, float] = {}
    metrics.update(M.matching_scores(gold_sets, found_sets))
    labelled = [j for j, g in enumerate(gold_all) if g]
    metrics.update(
        M.purity_scores([gold_all[j] for j in labelled], [found_all[j] for j in labelled])
    )
    n_single = sum(n for n, _ in ari_nmi)
    for key in ("ari", "nmi"):
        metrics[key] = sum(n * s[key] for n, s in ari_nmi) / n_single if n_single else 0.0
    metrics["n_themes"] = float(n_themes)
    metrics["n_gold_themes"] = float(len(gold_sets))
    metrics["other_share"] = sum(1 for x in found_all if not x) / len(found_all)
    metrics["n_single_label"] = float(n_single)
    matches = M.match_themes(gold_sets, found_sets)
    by_gold = {m.gold: m for m in matches}
    per_theme = []
    for label in sorted(gold_sets):
        q, theme = _split(label)
        m = by_gold.get(label)
        gold_set = gold_sets[label]
        found_set = found_sets.get(m.found, set()) if m else set()
        overlap = len(gold_set & found_set)
        per_theme.append(
            {
                "question_id": q,
                "theme": theme,
                "matched": _split(m.found)[1] if m else None,
                "precision": overlap / len(found_set) if found_set else 0.0,
                "recall": overlap / len(gold_set),
                "f1": m.f1 if m else 0.0,
                "support": len(gold_set),
                "predicted": len(found_set),
            }
        )
    return metrics, per_theme, {"matches": [m.__dict__ for m in matches]}


def _discover(ctx: _Context, question_id: str, seed: int) -> tuple[list[list[str]], list[dict]]:
    """Blind discovery on one question; returns leaf labels per row and theme summaries."""
    rows = ctx.data.rows(question_id)
    ctx.options.log(f"discovering themes in {question_id} ({len(rows):,} responses, seed {seed})")
    result = ctx.analyse(question_id, seed=seed)
    sizes = result.theme_counts()
    themes = [
        {
            "question_id": question_id,
            "key": t.key,
            "label": t.label,
            "parent": t.parent,
            "size": sizes.get(t.key, 0),
            "key_phrases": list(t.key_phrases),
        }
        for t in result.themes
    ]
    return result.labels, themes


def run_discover(ctx: _Context) -> EvalResult:
    """Blind discovery per question (gold hidden), then matched to the gold themes."""
    data, opts = ctx.data, ctx.options
    found: dict[str, list[list[str]]] = {}
    themes: list[dict] = []
    for q in data.question_ids:
        found[q], q_themes = _discover(ctx, q, opts.seed)
        themes.extend(q_themes)
    metrics, per_theme, details = discovery_scores(data, found)
    details["themes"] = themes
    result = EvalResult(
        mode="discover",
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=metrics,
        per_theme=per_theme,
        details=details,
        predictions={
            data.keys[i]: list(labels)
            for q in data.question_ids
            for i, labels in zip(data.rows(q), found[q], strict=True)
        },
    )
    if "bertopic" in opts.baselines:
        result.baselines["bertopic"], b_details = run_bertopic_baseline(ctx)
        details["bertopic"] = b_details
        result.warnings.extend(b_details.pop("warnings"))
    return result


#: the cluster BERTopic's outlier topic (-1) becomes when scored
BERTOPIC_OUTLIER = "outlier"
#: BERTopic's defaults (0.16 and 0.17): UMAP neighbours and HDBSCAN min_topic_size
_BERTOPIC_NEIGHBOURS, _BERTOPIC_MIN_TOPIC = 15, 10

_BERTOPIC_INSTALL = (
    "pip install 'heard[bertopic]' && pip install --no-deps 'bertopic>=0.16,<0.18' "
    "(the second step skips BERTopic's sentence-transformers requirement, so no torch)"
)


def run_bertopic_baseline(ctx: _Context) -> tuple[dict[str, float], dict[str, Any]]:
    """Score BERTopic per question on the same responses and embeddings as Heard.

    The outlier topic (-1) is scored as one more cluster, named ``outlier``: it can be
    matched to a gold theme and counts in purity, as it would for a reader of BERTopic's
    output. ``outlier_share`` is its share of responses; ``n_themes`` leaves it out.
    """
    data = ctx.data
    start = time.perf_counter()
    found: dict[str, list[list[str]]] = {}
    topics: dict[str, dict[str, Any]] = {}
    warnings_: list[str] = []
    for q in data.question_ids:
        labels, note = bertopic_labels(ctx, q, ctx.options.seed)
        found[q] = labels
        n_out = sum(1 for x in labels if x == [BERTOPIC_OUTLIER])
        topics[q] = {
            "n_topics": len({t for x in labels for t in x} - {BERTOPIC_OUTLIER}),
            "outlier_share": n_out / len(labels) if labels else 0.0,
        }
        if note:
            warnings_.append(note)
    metrics, _, _ = discovery_scores(data, found)
    n_out = sum(1 for q in found for x in found[q] if x == [BERTOPIC_OUTLIER])
    n_all = sum(len(found[q]) for q in found)
    metrics["n_themes"] = float(sum(t["n_topics"] for t in topics.values()))
    metrics["outlier_share"] = n_out / n_all if n_all else 0.0
    metrics["fit_s"] = time.perf_counter() - start
    versions = _library_versions(("bertopic", "umap-learn", "hdbscan", "numba"))
    return metrics, {"questions": topics, "versions": versions, "warnings": warnings_}


def bertopic_labels(
    ctx: _Context, question_id: str, seed: int
) -> tuple[list[list[str]], str | None]:
    """Baseline: BERTopic with default settings on our precomputed embeddings (offline).

    Returns one label per row of the question (``t<N>`` or ``outlier``) and a warning
    when the question is too small to fit. No embedding model is loaded (the light
    install, without sentence-transformers); UMAP is seeded with ``seed``.
    """
    import warnings

    try:
        from bertopic import BERTopic
        from hdbscan import HDBSCAN  # noqa: F401  (BERTopic's default clusterer)
        from umap import UMAP
    except ImportError as exc:
        raise EvaluationError(
            f"The bertopic baseline needs {exc.name or 'bertopic'}, which is not installed: "
            + _BERTOPIC_INSTALL
        ) from None
    rows = ctx.data.rows(question_id)
    texts, vectors = ctx.texts(rows), ctx.vectors(rows)
    if len(rows) <= _BERTOPIC_NEIGHBOURS:
        # UMAP's spectral layout needs more points than neighbours; no topic of 10 anyway
        return [[BERTOPIC_OUTLIER] for _ in rows], (
            f"bertopic: {question_id} has {len(rows)} responses, too few to fit; "
            "all counted as outliers"
        )
    ctx.options.log(f"bertopic baseline on {question_id} ({len(rows):,} responses, seed {seed})")
    # BERTopic's own default UMAP, plus the seed (which makes UMAP single-threaded)
    umap_model = UMAP(
        n_neighbors=_BERTOPIC_NEIGHBOURS,
        n_components=5,
        min_dist=0.0,
        metric="cosine",
        low_memory=False,
        random_state=seed,
    )
    model = BERTopic(
        embedding_model=None,
        umap_model=umap_model,
        min_topic_size=_BERTOPIC_MIN_TOPIC,
        verbose=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UMAP: "n_jobs overridden by random_state"
        topics, _ = model.fit_transform(texts, embeddings=np.asarray(vectors, dtype=np.float32))
    return [[f"t{t}"] if t != -1 else [BERTOPIC_OUTLIER] for t in topics], None


def run_stability(ctx: _Context) -> EvalResult:
    """ARI between discovery runs with seeds S, S+1 and S+2 (all pairs)."""
    data, opts = ctx.data, ctx.options
    seeds = [opts.seed, opts.seed + 1, opts.seed + 2]
    per_question: dict[str, dict[str, float]] = {}
    all_pairs: list[float] = []
    weighted, n_total, n_themes = 0.0, 0, []
    for q in data.question_ids:
        parts = []
        for s in seeds:
            labels, _ = _discover(ctx, q, s)
            parts.append(_partition(labels))
            n_themes.append(len({t for x in labels for t in x}))
        pairs = [
            M.partition_scores(parts[a], parts[b])["ari"]
            for a in range(len(parts))
            for b in range(a + 1, len(parts))
        ]
        all_pairs.extend(pairs)
        n = len(parts[0])
        per_question[q] = {"ari_min": min(pairs), "ari_mean": float(np.mean(pairs))}
        weighted += n * float(np.mean(pairs))
        n_total += n
    metrics = {
        "stability_ari_min": min(all_pairs) if all_pairs else 0.0,
        "stability_ari_mean": weighted / n_total if n_total else 0.0,
        # themes found over all questions, averaged over the runs
        "n_themes": float(sum(n_themes)) / len(seeds),
    }
    return EvalResult(
        mode="stability",
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=metrics,
        details={"seeds": seeds, "questions": per_question},
    )


# ---------------------------------------------------------------------------
# stance, evidence, campaigns


def _stance_scores(gold: list[str], pred: list[str], suffix: str = "") -> dict[str, float]:
    """Accuracy and macro-F1 over the gold labels (and over every label seen, as before)."""
    if not gold:
        keys = ("stance_accuracy", "stance_macro_f1", "stance_macro_f1_all_labels",
                "stance_unclear_share")
        return {f"{key}{suffix}": 0.0 for key in keys}
    gold_labels = sorted(set(gold))
    s = M.classification_scores(gold, pred, labels=gold_labels)
    every = M.classification_scores(gold, pred)
    return {
        f"stance_accuracy{suffix}": s["accuracy"],
        f"stance_macro_f1{suffix}": s["macro_f1"],
        f"stance_macro_f1_all_labels{suffix}": every["macro_f1"],
        f"stance_unclear_share{suffix}": (
            sum(p == "unclear" for p in pred) / len(pred) if pred else 0.0
        ),
    }


def run_stance(ctx: _Context) -> EvalResult:
    """Zero-shot stance per question, scored on the responses with a gold stance.

    The baselines run beside Heard on the same responses: the prototype difference
    (zero-shot) and the oracle majority (the most frequent gold label of the scored set).
    """
    from heard.evaluation import stance_baselines as B

    data, opts = ctx.data, ctx.options
    assert data.gold_stance is not None
    gold: list[str] = []
    pred: list[str] = []
    proto: list[str] = []
    scored: list[int] = []
    read: list[bool] = []  # the response's question is one Heard reads stance for
    asks: dict[str, bool] = {}
    for q in data.question_ids:
        rows = data.rows(q)
        opts.log(f"stance for {q} ({len(rows):,} responses)")
        question = data.questions[q] or None
        result = ctx.analyse(q)
        asks[q] = result.stance_asked
        base = B.prototype_difference(ctx.vectors(rows), question, ctx.embedder.embed)
        for j, (i, r) in enumerate(zip(rows, result.responses, strict=True)):
            if data.keys[i] in data.gold_stance:
                gold.append(data.gold_stance[data.keys[i]])
                # an empty or unreadable answer takes no position
                pred.append(str(r.stance or "unclear").casefold())
                proto.append(base[j])
                scored.append(i)
                read.append(result.stance_asked)
    # Headline figures: the questions Heard reads stance for, Heard and baselines on the same
    # responses. A question judged to ask for no position shows no stance in the product;
    # the "_all_questions" figures score its gold-labelled responses as "unclear".
    on = [j for j in range(len(gold)) if read[j]]
    keep = [j for j in _first_of_text(data, scored) if read[j]]

    def scores(predicted: list[str]) -> dict[str, float]:
        return {
            **_stance_scores([gold[j] for j in on], [predicted[j] for j in on]),
            **_stance_scores([gold[j] for j in keep], [predicted[j] for j in keep], "_dedup"),
        }

    every = _stance_scores(gold, pred, "_all_questions")
    metrics = {
        **scores(pred),
        "stance_accuracy_all_questions": every["stance_accuracy_all_questions"],
        "stance_macro_f1_all_questions": every["stance_macro_f1_all_questions"],
        "stance_coverage": len(on) / len(gold) if gold else 0.0,
        "n_scored": float(len(on)),
        "n_scored_dedup": float(len(keep)),
        "n_questions_without_position": float(sum(not v for v in asks.values())),
    }
    majority = B.oracle_majority([gold[j] for j in on])
    full_majority = [""] * len(gold)
    for j, label in zip(on, majority, strict=True):
        full_majority[j] = label
    labels, matrix = M.confusion([gold[j] for j in on], [pred[j] for j in on])
    return EvalResult(
        mode="stance",
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=metrics,
        baselines={
            B.PROTOTYPE: scores(proto),
            B.MAJORITY: scores(full_majority),
        },
        details={
            "confusion": {"labels": labels, "matrix": matrix},
            "stance_label_mapping": dict(sorted(data.stance_mapping.items())),
            "asks_for_position": asks,
        },
    )


def run_evidence(ctx: _Context) -> EvalResult:
    """The evidence-rich flag against gold YES/NO."""
    data = ctx.data
    assert data.gold_evidence is not None
    flags = [False] * len(data.keys)
    for q in data.question_ids:
        for i, r in zip(data.rows(q), ctx.analyse(q).responses, strict=True):
            flags[i] = bool(r.evidence_rich)
    scored = [i for i, key in enumerate(data.keys) if key in data.gold_evidence]
    gold = [data.gold_evidence[data.keys[i]] for i in scored]
    pred = [flags[i] for i in scored]
    s = M.binary_scores(gold, pred)
    labels, matrix = M.confusion(gold, pred, [True, False])
    metrics = {f"evidence_{k}": v for k, v in s.items()}
    metrics["evidence_flagged_share"] = sum(pred) / len(pred) if pred else 0.0
    metrics["evidence_gold_share"] = sum(gold) / len(gold) if gold else 0.0
    metrics["n_scored"] = float(len(scored))
    return EvalResult(
        mode="evidence",
        dataset=data.name,
        n_responses=len(data.keys),
        metrics=metrics,
        details={"confusion": {"labels": ["YES" if x else "NO" for x in labels], "matrix": matrix}},
    )


def run_campaigns(ctx: _Context) -> EvalResult:
    """Duplicate and campaign groups per question against gold campaign ids (B-cubed)."""
    data, opts = ctx.data, ctx.options
    assert data.gold_campaigns is not None
    gold: list[str] = []
    pred: list[str] = []
    n_groups = 0
    # Score the questions the gold file covers: campaigns are labelled on open answers, and
    # a closed question's identical options would otherwise count as false groups.
    covered = {key[0] for key in data.gold_campaigns}
    questions = [q for q in data.question_ids if q in covered] or list(data.question_ids)
    for q in questions:
        rows = data.rows(q)
        opts.log(f"campaign groups in {q} ({len(rows):,} responses)")
        member: dict[int, str] = {}
        for g in ctx.analyse(q).groups:
            if len(g.members) > 1:
                n_groups += 1
            for j in g.members:
                member.setdefault(j, f"{q}{_SEP}{g.key}")
        for j, i in enumerate(rows):
            key = data.keys[i]
            # a response in no (gold or found) group is a cluster of its own
            gold.append(
                f"{q}{_SEP}{data.gold_campaigns[key]}"
                if key in data.gold_campaigns
                else f"{_SINGLE}{_SEP}{q}{_SEP}{key[1]}"
            )
            pred.append(member.get(j, f"{_SINGLE}{_SEP}{q}{_SEP}{key[1]}"))
    metrics = M.bcubed(gold, pred)
    metrics["n_groups_found"] = float(n_groups)
    metrics["n_gold_campaigns"] = float(len(set(data.gold_campaigns.values())))
    metrics["grouped_share"] = sum(1 for p in pred if not p.startswith(_SINGLE)) / len(pred)
    metrics["gold_grouped_share"] = sum(1 for g in gold if not g.startswith(_SINGLE)) / len(gold)
    return EvalResult(
        mode="campaigns",
        dataset=data.name,
        n_responses=len(gold),
        metrics=metrics,
        details={"questions_scored": questions},
    )


_RUNNERS: dict[str, Callable[[_Context], EvalResult]] = {
    "discover": run_discover,
    "codebook": run_codebook,
    "fewshot": run_fewshot,
    "stance": run_stance,
    "evidence": run_evidence,
    "campaigns": run_campaigns,
    "stability": run_stability,
    "corrections": run_corrections,
}
