"""The analysis run: drives the pure core over one consultation in the store.

Per open question the stages are: prepare → duplicates → embed → themes → map → stance →
evidence → save. Each question is saved in one transaction, and the run records which
questions are done, so a killed run resumes where it stopped. Every response ends with an
outcome: mapped, other, empty or unprocessable, with a reason.
"""

from __future__ import annotations

import csv
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone

from heard import __version__
from heard.pipeline.executor import (
    DEFAULT_CHUNK_SIZE,
    Executor,
    InProcess,
    SpreadEmbedder,
    map_chunks,
    predict_chunks,
    spread_signer,
)
from heard.pipeline.leases import ensure_free, holds_run_lease
from heard.store.bulk import bulk_update_rows
from heard.store.models import (
    Assignment,
    Consultation,
    DuplicateGroup,
    Question,
    Response,
    Run,
    Theme,
)

RESULT_FIELDS = [
    "language",
    "group",
    "outcome",
    "outcome_reason",
    "stance",
    "stance_confidence",
    "evidence_rich",
    "evidence_reason",
]
STAGES = ("prepare", "duplicates", "embed", "themes", "map", "stance", "evidence", "save")

ProgressFn = Callable[[str, float], None]
#: Key of ``Run.params`` recording how the run was spread (not an analysis parameter).
SCALE_KEY = "scale"


class AnalysisError(Exception):
    """A problem the user can fix (bad codebook, unknown question…)."""


class RunCancelled(Exception):
    pass


@dataclass(frozen=True)
class AnalyseParams:
    seed: int = 0
    embedder: str = "minilm"
    question: str | None = None
    codebook: str | None = None
    examples: str | None = None
    rediscover: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class QuestionData:
    """The responses of one question, in a stable order."""

    ids: list[int]
    texts: list[str]
    keys: list[str]
    respondent_ids: list[int]
    respondent_keys: list[str]
    unprocessable: dict[int, str]  # index -> reason, set at import (e.g. an unreadable file)


# ---------------------------------------------------------------- runs


def start_run(consultation: Consultation, params: AnalyseParams) -> Run:
    """A new run, or the unfinished run with the same parameters (resume).

    Raises :class:`~heard.pipeline.leases.LeaseHeld` while another run holds the lease."""
    ensure_free(consultation)
    unfinished = (
        Run.objects.filter(
            consultation=consultation,
            kind="analyse",
            status__in=[Run.Status.RUNNING, Run.Status.FAILED, Run.Status.PENDING],
        )
        .order_by("-created_at")
        .first()
    )
    if unfinished and _analysis_params(unfinished.params) == params.as_dict():
        return unfinished
    return Run.objects.create(
        consultation=consultation,
        kind="analyse",
        params=params.as_dict(),
        seed=params.seed,
        state={"done": []},
    )


def _analysis_params(stored: dict) -> dict:
    """A run's stored params without the record of where it ran."""
    return {k: v for k, v in stored.items() if k != SCALE_KEY}


def _versions(embedder_name: str) -> dict:
    import onnxruntime
    import sklearn

    return {
        "heard": __version__,
        "embedder": embedder_name,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


@holds_run_lease
def run_analysis(
    run: Run,
    progress: ProgressFn | None = None,
    *,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Run:
    """Run (or resume) an analysis; returns the finished run.

    ``executor`` runs the chunked work (embedding, MinHash, prediction); by default in
    this process. The results do not depend on it or on ``chunk_size``.
    """
    from heard.analysis.embeddings import get_embedder

    params = AnalyseParams(**_analysis_params(run.params))
    executor = executor or InProcess()
    report = progress or (lambda stage, fraction: None)
    consultation = run.consultation
    questions = _questions(consultation, params.question)
    open_questions = [q for q in questions if q.kind == Question.Kind.OPEN]
    codebook = _read_codebook(Path(params.codebook), open_questions) if params.codebook else {}
    examples = _read_examples(Path(params.examples)) if params.examples else {}

    embedder = SpreadEmbedder(get_embedder(params.embedder), params.embedder, executor, chunk_size)
    run.params = _analysis_params(run.params)
    if executor.remote:
        run.params[SCALE_KEY] = {**executor.describe(), "chunk_size": chunk_size}
    run.status = Run.Status.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.versions = _versions(embedder.name)
    run.error = ""
    run.save()
    done = set(run.state.get("done", []))
    try:
        _record_closed_outcomes(consultation, questions)
        for position, question in enumerate(open_questions):
            if question.id in done:
                continue

            def stage_progress(stage: str, fraction: float, _p=position, _q=question) -> None:
                _check_cancel(run)
                overall = (_p + fraction) / max(len(open_questions), 1)
                run.stage = f"{_q.key}: {stage}"
                run.progress = overall
                Run.objects.filter(pk=run.pk).update(stage=run.stage, progress=overall)
                report(run.stage, overall)

            timings = analyse_question(
                question,
                embedder,
                params,
                codebook=codebook.get(question.key),
                examples=examples.get(question.key, {}),
                progress=stage_progress,
                run=run,
                executor=executor,
                chunk_size=chunk_size,
            )
            done.add(question.id)
            run.state = {**run.state, "done": sorted(done)}
            run.timings = {**run.timings, question.key: timings}
            run.save(update_fields=["state", "timings"])
        run.status = Run.Status.DONE
        run.stage = "done"
        run.progress = 1.0
        run.finished_at = timezone.now()
        run.save()
        report("done", 1.0)
    except RunCancelled:
        run.status = Run.Status.CANCELLED
        run.finished_at = timezone.now()
        run.save()
    except Exception as exc:
        run.status = Run.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
        run.save()
        raise
    return run


def _check_cancel(run: Run) -> None:
    if Run.objects.filter(pk=run.pk, cancel_requested=True).exists():
        raise RunCancelled()


def _questions(consultation: Consultation, key: str | None) -> list[Question]:
    questions = list(consultation.questions.all())
    if key is None:
        return questions
    chosen = [q for q in questions if q.key == key]
    if not chosen:
        known = ", ".join(q.key for q in questions)
        raise AnalysisError(f"No question {key!r} in {consultation.name}. Questions: {known}")
    return chosen


def _record_closed_outcomes(consultation: Consultation, questions: list[Question]) -> None:
    """Closed and demographic answers are recorded as given: mapped, or empty."""
    keys = [q.id for q in questions if q.kind != Question.Kind.OPEN]
    if not keys:
        return
    base = Response.objects.filter(question_id__in=keys)
    base.filter(is_empty=True).update(outcome=Response.Outcome.EMPTY, outcome_reason="no answer")
    base.filter(is_empty=False).update(
        outcome=Response.Outcome.MAPPED, outcome_reason="closed answer recorded as given"
    )


# ---------------------------------------------------------------- one question


def load_question(question: Question) -> QuestionData:
    rows = (
        Response.objects.filter(question=question)
        .order_by("id")
        .values_list(
            "id", "text", "key", "respondent_id", "respondent__key", "outcome", "outcome_reason"
        )
    )
    ids, texts, keys, rids, rkeys = [], [], [], [], []
    unprocessable: dict[int, str] = {}
    for index, (rid, text, key, respondent_id, respondent_key, outcome, reason) in enumerate(
        rows.iterator(chunk_size=5000)
    ):
        ids.append(rid)
        texts.append(text or "")
        keys.append(key)
        rids.append(respondent_id)
        rkeys.append(respondent_key)
        if outcome == Response.Outcome.UNPROCESSABLE:
            unprocessable[index] = reason or "unprocessable at import"
    return QuestionData(ids, texts, keys, rids, rkeys, unprocessable)


def analyse_question(
    question: Question,
    embedder,
    params: AnalyseParams,
    *,
    codebook: list | None = None,
    examples: dict[str, list[str]] | None = None,
    progress: ProgressFn | None = None,
    run: Run | None = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, float]:
    """Analyse one open question and save the results; returns timings per stage.

    ``embedder`` should be a :class:`SpreadEmbedder` on ``executor`` for the embedding
    to be spread too; the MinHash and the predictions go to ``executor`` here.
    """
    from heard.analysis import duplicates, evidence, prepare
    from heard.analysis.text import content_hash
    from heard.pipeline.embedding_cache import embed_cached

    step = progress or (lambda stage, fraction: None)
    executor = executor or InProcess()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    step("prepare", 0.0)
    data = load_question(question)
    n = len(data.ids)
    prepared = prepare.prepare(data.texts)
    substantive = [p.substantive and i not in data.unprocessable for i, p in enumerate(prepared)]
    empty_reasons = [p.reason for p in prepared]
    languages = [p.language if p.language != "und" else "" for p in prepared]
    lap("prepare")

    step("duplicates", 0.1)
    sub_index = [i for i in range(n) if substantive[i]]
    sub_texts = [data.texts[i] for i in sub_index]
    groups = duplicates.find_groups(
        sub_texts, seed=params.seed, sign=spread_signer(executor, params.seed, chunk_size)
    )
    rep_local, rep_weights = duplicates.representatives(groups, len(sub_texts))
    rep_index = [sub_index[int(i)] for i in rep_local]
    lap("duplicates")

    step("embed", 0.2)
    rep_texts = [data.texts[i] for i in rep_index]
    hashes = _hashes(question, [data.ids[i] for i in rep_index])
    vectors = embed_cached(embedder, rep_texts, hashes) if rep_texts else np.zeros((0, 1))
    lap("embed")

    step("themes", 0.5)
    human = _human_examples(question, data)
    labelled = {**(examples or {}), **human}
    existing = list(question.themes.all())
    keep_themes = bool(existing) and not params.rediscover and codebook is None
    quotes_by_theme: dict[str, list[tuple[int, str]]] = {}
    if codebook is not None:
        specs = codebook
    elif keep_themes:
        specs = [_spec_from_theme(t) for t in existing]
    else:
        specs = []
    rep_labels: list[list[str]]
    rep_conf: list[float]
    rep_reasons: list[str]
    if specs:
        step("map", 0.6)
        rep_labels, rep_conf, rep_reasons = _map(
            specs, embedder, rep_texts, vectors, labelled, data, rep_index, params.seed
        )
    else:
        from heard.analysis.clustering import ThemeDiscoverer

        def embed_more(more: list[str]) -> np.ndarray:  # clauses and quote sentences
            return embed_cached(embedder, more, [content_hash(t) for t in more])

        discoverer = ThemeDiscoverer(seed=params.seed, embed=embed_more).fit(
            rep_texts, vectors, weights=np.asarray(rep_weights, dtype=float)
        )
        specs = discoverer.themes_
        rep_labels = [list(x) for x in discoverer.labels_]
        rep_conf = [float(c) for c in discoverer.confidence_]
        rep_reasons = [reason for _, reason in discoverer.outcomes_]
        for spec in specs:
            quotes_by_theme[spec.key] = [
                (data.ids[rep_index[i]], text) for i, text in (spec.quotes or [])
            ]
    lap("themes+map")

    step("stance", 0.75)
    from heard.analysis.stance import StanceClassifier

    weak = _weak_labels(question, data, rep_index)
    stance = StanceClassifier(embedder.embed, seed=params.seed)
    stance.fit(rep_texts, vectors, weak_labels=weak, **_question_kw(stance, question))
    stance_labels, stance_conf = ([], [])
    if rep_texts:
        # The mapper (above) predicts in this process instead, from the features it kept
        # at fit: recomputing them on workers costs more and is not bit-identical.
        ((stance_labels, stance_conf),) = predict_chunks(
            executor,
            stance,
            ("predict",),
            rep_texts,
            vectors,
            embedder_key=params.embedder,
            chunk_size=chunk_size,
        )
    lap("stance")

    step("evidence", 0.85)
    evidence_flags = map_chunks(executor, evidence.detect_evidence, rep_texts, chunk_size)
    lap("evidence")

    step("save", 0.9)
    # Spread representative results to every member of its duplicate group.
    member_of = duplicates.expand(list(range(len(rep_local))), groups, len(sub_texts))
    results = _per_response(
        unprocessable=data.unprocessable,
        substantive=substantive,
        empty_reasons=empty_reasons,
        sub_index=sub_index,
        member_of=member_of,
        labels=rep_labels,
        confidence=rep_conf,
        reasons=rep_reasons,
        stance=(stance_labels, stance_conf),
        evidence=evidence_flags,
    )
    _save(
        question,
        run,
        data,
        languages,
        groups,
        sub_index,
        specs,
        quotes_by_theme,
        results,
        keep_themes,
        codebook is not None,
    )
    lap("save")
    step("save", 1.0)
    return timings


def _question_kw(stance, question: Question) -> dict:
    import inspect

    params = inspect.signature(stance.fit).parameters
    return {"question": question.text} if "question" in params else {}


def _hashes(question: Question, ids: list[int]) -> list[str]:
    found = (
        dict(Response.objects.filter(id__in=ids).values_list("id", "content_hash"))
        if len(ids) < 900
        else _hashes_chunked(ids)
    )
    return [found[i] for i in ids]


def _hashes_chunked(ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(Response.objects.filter(id__in=chunk).values_list("id", "content_hash"))
    return found


def _per_response(
    *,
    unprocessable: dict[int, str],
    substantive: list[bool],
    empty_reasons: list[str],
    sub_index: list[int],
    member_of: list[int],
    labels: list[list[str]],
    confidence: list[float],
    reasons: list[str],
    stance: tuple,
    evidence: list[tuple[bool, str]],
) -> list[dict]:
    """One result per response: representatives' results spread to their group members."""
    n = len(substantive)
    stance_labels, stance_conf = stance
    results: list[dict] = [{} for _ in range(n)]
    for i in range(n):
        if i in unprocessable:
            results[i] = {"outcome": "unprocessable", "reason": unprocessable[i]}
        elif not substantive[i]:
            results[i] = {"outcome": "empty", "reason": empty_reasons[i] or "no substantive answer"}
    for local, i in enumerate(sub_index):
        pos = member_of[local]
        themes = labels[pos]
        rich, why = evidence[pos]
        results[i] = {
            "outcome": "mapped" if themes else "other",
            "reason": reasons[pos] if not themes else "",
            "themes": themes,
            "confidence": confidence[pos],
            "stance": stance_labels[pos],
            "stance_confidence": float(stance_conf[pos]),
            "evidence_rich": bool(rich),
            "evidence_reason": why,
        }
    return results


def _map(specs, embedder, rep_texts, vectors, labelled, data, rep_index, seed):
    from heard.analysis.mapping import ThemeMapper

    examples = []
    position = {data.ids[i]: pos for pos, i in enumerate(rep_index)}
    key_to_id = {k: data.ids[i] for i, k in enumerate(data.keys) if k}
    key_to_id.update({k: data.ids[i] for i, k in enumerate(data.respondent_keys) if k})
    for key, themes in labelled.items():
        rid = key_to_id.get(key, key if isinstance(key, int) else None)
        if rid in position:
            examples.append((position[rid], themes))
    mapper = ThemeMapper(embedder.embed, seed=seed)
    mapper.fit(specs, texts=rep_texts, vectors=vectors, examples=examples or None)
    if not rep_texts:
        return [], [], []
    proba = mapper.predict_proba(rep_texts, vectors)
    labels = mapper.predict(rep_texts, vectors)
    keys = [s.key for s in specs]
    conf, reasons = [], []
    for row, chosen in zip(proba, labels, strict=True):
        best = int(np.argmax(row)) if len(row) else -1
        conf.append(
            float(max(row[keys.index(k)] for k in chosen))
            if chosen
            else float(row[best] if best >= 0 else 0.0)
        )
        reasons.append(
            ""
            if chosen
            else f"no theme is a confident match (best: {keys[best]}, p={row[best]:.2f})"
        )
    return labels, conf, reasons


def _weak_labels(question: Question, data: QuestionData, rep_index: list[int]):
    """Stance from the paired closed question's answers, per representative (or None)."""
    from heard.analysis.closed import options_stance

    closed = question.paired_closed
    if closed is None:
        return None
    answers = dict(Response.objects.filter(question=closed).values_list("respondent_id", "options"))
    weak = [options_stance(answers.get(data.respondent_ids[i]) or []) for i in rep_index]
    return weak if any(weak) else None


def _human_examples(question: Question, data: QuestionData) -> dict:
    """Analysts' corrections: the themes a human set on a response are few-shot examples."""
    touched = set(
        Assignment.objects.filter(
            theme__question=question, origin=Assignment.Origin.HUMAN
        ).values_list("response_id", flat=True)
    )
    if not touched:
        return {}
    out: dict[int, list[str]] = {rid: [] for rid in touched}
    for rid, key in Assignment.objects.filter(
        response_id__in=touched, is_active=True, theme__question=question
    ).values_list("response_id", "theme__key"):
        out[rid].append(key)
    return out


def _spec_from_theme(theme: Theme):
    from heard.analysis.clustering import ThemeSpec

    return ThemeSpec(
        key=theme.key,
        label=theme.label,
        description=theme.description,
        parent=theme.parent.key if theme.parent_id else None,
        key_phrases=list(theme.key_phrases or []),
    )


# ---------------------------------------------------------------- save


@transaction.atomic
def _save(
    question,
    run,
    data,
    languages,
    groups,
    sub_index,
    specs,
    quotes_by_theme,
    results,
    keep_themes,
    from_codebook,
) -> None:
    # Duplicate groups.
    DuplicateGroup.objects.filter(question=question).delete()
    group_of: dict[int, DuplicateGroup] = {}
    new_groups = []
    for g in groups:
        members = [data.ids[sub_index[m]] for m in g.members]
        canonical = data.texts[sub_index[g.canonical]]
        new_groups.append(
            (
                DuplicateGroup(
                    question=question,
                    run=run,
                    key=g.key[:64],
                    kind=g.kind,
                    canonical_text=canonical,
                    size=len(members),
                ),
                members,
            )
        )
    DuplicateGroup.objects.bulk_create([g for g, _ in new_groups], batch_size=2000)
    for g, members in new_groups:
        for rid in members:
            group_of[rid] = g

    # Themes.
    if keep_themes:
        theme_by_key = {t.key: t for t in question.themes.all()}
        Assignment.objects.filter(theme__question=question, origin=Assignment.Origin.AI).delete()
    else:
        Assignment.objects.filter(theme__question=question).delete()
        question.themes.all().delete()
        origin = Theme.Origin.CODEBOOK if from_codebook else Theme.Origin.AI
        theme_by_key = {}
        ordered = sorted(specs, key=lambda s: (s.parent is not None,))
        for position, spec in enumerate(ordered):
            quotes = [
                {"response_id": rid, "text": text}
                for rid, text in quotes_by_theme.get(spec.key, [])
            ]
            theme_by_key[spec.key] = Theme.objects.create(
                question=question,
                run=run,
                key=spec.key,
                label=spec.label[:200],
                description=spec.description or "",
                key_phrases=list(spec.key_phrases or []),
                quotes=quotes,
                position=position,
                origin=origin,
                parent=theme_by_key.get(spec.parent) if spec.parent else None,
            )

    # Assignments and per-response fields.
    assignments = []
    human_touched = set(
        Assignment.objects.filter(
            theme__question=question, origin=Assignment.Origin.HUMAN
        ).values_list("response_id", flat=True)
    )
    updates = []
    for i, rid in enumerate(data.ids):
        r = results[i]
        group = group_of.get(rid)
        updates.append(
            (
                rid,
                languages[i] or "",
                group.id if group else None,
                r["outcome"],
                (r.get("reason") or "")[:300],
                r.get("stance") or "",
                r.get("stance_confidence"),
                r.get("evidence_rich"),
                (r.get("evidence_reason") or "")[:300],
            )
        )
        if rid in human_touched:
            continue
        for key in r.get("themes", []):
            theme = theme_by_key.get(key)
            if theme is not None:
                assignments.append(
                    Assignment(
                        response_id=rid,
                        theme=theme,
                        confidence=r.get("confidence"),
                        origin=Assignment.Origin.AI,
                        ai_original=True,
                        run=run,
                    )
                )
    bulk_update_rows(Response, RESULT_FIELDS, updates)
    Assignment.objects.bulk_create(assignments, batch_size=5000, ignore_conflicts=True)


# ---------------------------------------------------------------- input files


def _read_codebook(path: Path, questions: list[Question]) -> dict[str, list]:
    """codebook.csv (question_id, theme, label, description[, position]) → ThemeSpecs."""
    from heard.analysis.clustering import ThemeSpec

    rows = _read_csv(path, required=("question_id", "theme", "label"))
    known = {q.key for q in questions}
    out: dict[str, list] = {}
    for line, row in rows:
        qid = row["question_id"].strip()
        if qid not in known:
            raise AnalysisError(
                f"{path}, row {line}, column question_id: unknown question {qid!r}. "
                f"Open questions here: {', '.join(sorted(known))}."
            )
        description = (row.get("description") or "").strip()
        if row.get("position"):
            description = f"{description} ({row['position'].strip()})".strip()
        out.setdefault(qid, []).append(
            ThemeSpec(key=row["theme"].strip(), label=row["label"].strip(), description=description)
        )
    return out


def _read_examples(path: Path) -> dict[str, dict[str, list[str]]]:
    """gold_themes.csv layout (response_id, question_id, theme) → {question: {key: [themes]}}."""
    out: dict[str, dict[str, list[str]]] = {}
    for _, row in _read_csv(path, required=("response_id", "question_id", "theme")):
        out.setdefault(row["question_id"].strip(), {}).setdefault(
            row["response_id"].strip(), []
        ).append(row["theme"].strip())
    return out


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    if not path.exists():
        raise AnalysisError(f"{path}: file not found.")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise AnalysisError(
                f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}."
            )
        return [(line, row) for line, row in enumerate(reader, start=2)]
