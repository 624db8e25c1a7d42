"""The analysis run: drives the pure core over one consultation in the store.

Per open question the stages are: prepare → duplicates → embed → themes → map → stance →
evidence → save. Each question is saved in one transaction, and the run records which
questions are done, so a killed run resumes where it stopped. Every response ends with an
outcome: mapped, other, empty or unprocessable, with a reason.

A run with ``first_pass`` starts with a quick pass: each question that has no themes yet
is analysed with the static embedder and saved at once, so its themes are on screen in
seconds. The normal pass follows, question by question, and replaces them; its results are
those of a run without the first pass. A question whose first-pass themes an analyst
edited meanwhile keeps those themes (the normal pass maps to them, as for any kept themes).
"""

from __future__ import annotations

import csv
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from heard import __version__
from heard.analysis.executor import DEFAULT_CHUNK_SIZE, Executor, InProcess, SpreadEmbedder
from heard.pipeline.leases import ensure_free, holds_run_lease
from heard.store.audit import mapping_before, record_mapping_change, retire_codings
from heard.store.bulk import bulk_update_rows
from heard.store.models import (
    Assignment,
    AuditEvent,
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
#: What a run never overwrites on a response an analyst has coded: their decisions.
ANALYST_FIELDS = ("stance", "stance_confidence", "evidence_rich", "evidence_reason")

ProgressFn = Callable[[str, float], None]
#: Share of the progress bar the offline stages fill when the run ends with the LLM stage.
OFFLINE_SHARE_WITH_LLM = 0.8
#: Key of ``Run.params`` recording how the run was spread (not an analysis parameter).
SCALE_KEY = "scale"
#: Key of ``Run.params`` recording the embedder "auto" resolved to (not a parameter either).
EMBEDDER_USED_KEY = "embedder_used"
_RECORDS = (SCALE_KEY, EMBEDDER_USED_KEY)
#: The embedder of a run's quick first pass.
FIRST_PASS_EMBEDDER = "static"
#: Share of the offline progress bar the first pass fills: about its share of the time
#: (5–11% in benchmarks/bench_first_insight.py), so that the time left holds in both passes.
FIRST_PASS_SHARE = 0.1
#: Seconds between two writes of embedding progress to the run.
PROGRESS_EVERY = 0.5


class AnalysisError(Exception):
    """A problem the user can fix (bad codebook, unknown question…)."""


class RunCancelled(Exception):
    pass


class EditedMeanwhile(Exception):
    """An analyst edited the themes a pass was about to replace."""


@dataclass(frozen=True)
class AnalyseParams:
    """What a run does; stored with the run (JSON) so that a resumed run does the same.

    ``llm`` names a model (``provider:model`` or a profile of this installation's llm.toml);
    with it, the run ends with the LLM stage (``llm_stages``, in order), spending at most
    ``llm_budget``. Without it nothing leaves the machine.

    ``first_pass``: start with a quick pass over the questions that have no themes yet
    (the static embedder), saved question by question, then refine them with ``embedder``.
    """

    seed: int = 0
    embedder: str = "auto"
    question: str | None = None
    codebook: str | None = None
    codebook_from: str | None = None  # "CONSULTATION" or "CONSULTATION:QUESTION"
    examples: str | None = None
    rediscover: bool = False
    llm: str | None = None
    llm_stages: tuple[str, ...] = ("labels", "condense", "mapping", "summaries")
    llm_budget: float | None = None
    llm_config: str | None = None
    first_pass: bool = False

    def __post_init__(self) -> None:
        # JSON gives a list back; the stored form and this one must compare equal.
        object.__setattr__(self, "llm_stages", tuple(self.llm_stages))

    def as_dict(self) -> dict:
        return {**asdict(self), "llm_stages": list(self.llm_stages)}


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

    Raises :class:`~heard.pipeline.leases.LeaseHeld` while another run holds the lease, and
    :class:`AnalysisError` for a bad codebook or examples file, before any run is recorded."""
    ensure_free(consultation)
    _inputs(consultation, params)
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


def _inputs(
    consultation: Consultation, params: AnalyseParams
) -> tuple[list[Question], dict[str, list], dict[str, dict[str, list[str]]]]:
    """The questions a run analyses, its codebook and its examples, read and checked."""
    questions = _questions(consultation, params.question)
    open_questions = [q for q in questions if q.kind == Question.Kind.OPEN]
    codebook = _read_codebook(Path(params.codebook), open_questions) if params.codebook else {}
    if params.codebook_from:
        codebook.update(codebook_from(params.codebook_from, open_questions))
    examples = _read_examples(Path(params.examples)) if params.examples else {}
    if examples:
        _check_example_themes(
            Path(params.examples), examples, _known_themes(open_questions, codebook, params)
        )
    return questions, codebook, examples


def _analysis_params(stored: dict) -> dict:
    """A run's stored params without the record of where it ran."""
    return {k: v for k, v in stored.items() if k not in _RECORDS}


def resolve_embedder(consultation: Consultation, name: str, sample: int = 2000) -> str:
    """The embedder to use: ``name``, or for "auto" the one that suits the language of the
    consultation's open answers (:func:`heard.analysis.embeddings.choose_embedder`)."""
    if name != "auto":
        return name
    from heard.analysis.embeddings import choose_embedder

    texts = (
        Response.objects.filter(
            question__consultation=consultation, question__kind=Question.Kind.OPEN,
            is_empty=False,
        )
        .order_by("id")
        .values_list("text", flat=True)[:sample]
    )
    return choose_embedder(list(texts))


def run_embedder(run: Run | None) -> str:
    """The embedder key a run used (for reading its cached vectors): what "auto" resolved to."""
    if run is None:
        return "minilm"
    params = run.params or {}
    used = params.get(EMBEDDER_USED_KEY) or params.get("embedder") or "minilm"
    return "minilm" if used == "auto" else used


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
    questions, codebook, examples = _inputs(consultation, params)
    open_questions = [q for q in questions if q.kind == Question.Kind.OPEN]

    embedder_key = resolve_embedder(consultation, params.embedder)
    embedder = SpreadEmbedder(get_embedder(embedder_key), embedder_key, executor, chunk_size)
    run.params = {**_analysis_params(run.params), EMBEDDER_USED_KEY: embedder_key}
    if executor.remote:
        run.params[SCALE_KEY] = {**executor.describe(), "chunk_size": chunk_size}
    run.status = Run.Status.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.versions = _versions(embedder.name)
    run.error = ""
    run.save()
    done = set(run.state.get("done", []))
    first_saved: dict[str, str] = dict(run.state.get("first_pass", {}))  # question id -> when
    first = [
        q for q in open_questions
        if params.first_pass and embedder_key != FIRST_PASS_EMBEDDER and q.id not in done
        and (str(q.id) in first_saved or _wants_first_pass(q, params, codebook))
    ]
    # With an LLM, the offline stages fill the first part of the bar and the LLM stage the rest.
    offline_share = 1.0 if params.llm is None else OFFLINE_SHARE_WITH_LLM
    first_share = FIRST_PASS_SHARE if first else 0.0
    tracker = RunProgress(run, len(open_questions))

    def step(stage: str, overall: float, *, cancel_here: bool = True) -> None:
        if cancel_here:
            _check_cancel(run)
        tracker.update(stage, overall)
        report(stage, overall)

    def pass_progress(name: str, position: int, question: Question, start: float,
                      share: float) -> ProgressFn:
        tracker.begin(name, position, question)

        def stage_progress(stage: str, fraction: float) -> None:
            overall = start + share * (position + fraction) / max(len(open_questions), 1)
            step(f"{question.key}: {stage}", offline_share * overall)

        return stage_progress

    try:
        llm = _llm_client(params)
        _record_closed_outcomes(consultation, questions)
        if first:
            fast = SpreadEmbedder(
                get_embedder(FIRST_PASS_EMBEDDER), FIRST_PASS_EMBEDDER, executor, chunk_size
            )
            for position, question in enumerate(open_questions):
                if question not in first or str(question.id) in first_saved:
                    continue
                started = timezone.now().isoformat()
                timings = analyse_question(
                    question, tracker.counting(fast), params,
                    progress=pass_progress("first", position, question, 0.0, first_share),
                    run=run, executor=executor, chunk_size=chunk_size,
                )
                first_saved[str(question.id)] = started
                run.state = {**run.state, "first_pass": first_saved}
                run.timings = {**run.timings, f"{question.key} (first pass)": timings}
                run.save(update_fields=["state", "timings"])
        for position, question in enumerate(open_questions):
            if question.id in done:
                continue
            saved_at = first_saved.get(str(question.id))
            normal = partial(
                analyse_question,
                question,
                tracker.counting(embedder),
                params,
                codebook=codebook.get(question.key),
                examples=examples.get(question.key, {}),
                progress=pass_progress(
                    "refine" if saved_at else "", position, question, first_share,
                    1.0 - first_share,
                ),
                run=run,
                executor=executor,
                chunk_size=chunk_size,
            )
            if saved_at is None:
                timings = normal()
            else:
                # first-pass themes are replaced, unless an analyst edits them meanwhile
                edited = partial(_edited_since, question, saved_at)
                try:
                    timings = normal(keep_themes=edited(), edited=edited)
                except EditedMeanwhile:  # while this pass ran: map to the edited themes
                    timings = normal(keep_themes=True)
            done.add(question.id)
            run.state = {**run.state, "done": sorted(done)}
            run.timings = {**run.timings, question.key: timings}
            run.save(update_fields=["state", "timings"])
        tracker.begin("", 0, None)
        if llm is not None:
            from heard.pipeline.llm_stage import run_llm_stage

            # Paid calls are never thrown away: the LLM stage stops for a cancel only
            # between questions, each of which it saves with its record.
            run_llm_stage(
                run, open_questions, llm, params.llm_stages,
                progress=lambda stage, f: step(
                    stage, offline_share + (1 - offline_share) * f, cancel_here=False
                ),
                between_questions=lambda: _check_cancel(run),
            )
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


def _wants_first_pass(question: Question, params: AnalyseParams, codebook: dict) -> bool:
    """A question gets a first pass when the normal pass will discover its themes."""
    if codebook.get(question.key) is not None:
        return False
    return params.rediscover or not question.themes.exists()


def _edited_since(question: Question, saved_at: str) -> bool:
    """Whether a person changed the question's themes or responses after ``saved_at``."""
    when = parse_datetime(saved_at)
    return AuditEvent.objects.filter(
        consultation_id=question.consultation_id, user__isnull=False, created_at__gte=when,
        target_type__in=("theme", "response"), before__question_id=question.id,
    ).exclude(action__in=("flag response", "unflag response")).exists()


class RunProgress:
    """What a run is doing, for the people watching it: the pass, the question, the stage
    and, while embedding, how many answers are done. Kept in ``run.state["progress"]`` and
    written with the run's stage and progress (embedding counts at most every
    ``PROGRESS_EVERY`` seconds); :func:`heard.pipeline.jobs.progress_line` words it."""

    def __init__(self, run: Run, questions: int) -> None:
        self.run = run
        self.questions = questions
        self.now: dict = {}
        self.stage = ""
        self._written = 0.0

    def begin(self, name: str, position: int, question: Question | None) -> None:
        self.now = {"pass": name}
        if question is not None:
            self.now.update(index=position + 1, of=self.questions, question=question.key[:80],
                            text=(question.text or "")[:80])

    def update(self, stage: str, overall: float, done: int | None = None,
               total: int | None = None) -> None:
        self.stage = stage
        self.now["stage"] = stage.rpartition(": ")[2]
        if done is None:
            self.now.pop("done", None)
            self.now.pop("total", None)
        else:
            self.now.update(done=done, total=total)
        run = self.run
        key, _, short = stage.rpartition(": ")  # a long question key is cut, not the stage
        run.stage = (f"{key[: max(0, 38 - len(short))]}: {short}" if key else stage)[:40]
        run.progress = overall
        run.state = {**run.state, "progress": dict(self.now)}
        Run.objects.filter(pk=run.pk).update(stage=run.stage, progress=overall, state=run.state)
        self._written = time.monotonic()

    def counting(self, embedder):
        """``embedder`` reporting how many texts it has embedded (never changes vectors)."""
        return _CountingEmbedder(embedder, self)

    def embedded(self, done: int, total: int) -> None:
        if done < total and time.monotonic() - self._written < PROGRESS_EVERY:
            return
        self.update(self.stage, self.run.progress, done, total)


class _CountingEmbedder:
    """Passes every call through, with a progress callback that records counts."""

    def __init__(self, embedder, tracker: RunProgress) -> None:
        self.embedder, self.tracker = embedder, tracker
        self.name, self.dim = embedder.name, embedder.dim
        self.key = getattr(embedder, "key", None)

    def embed(self, texts, *, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        def both(done: int, total: int) -> None:
            self.tracker.embedded(done, total)
            if progress is not None:
                progress(done, total)

        return self.embedder.embed(texts, progress=both)


def _llm_client(params: AnalyseParams):
    """The LLM client for ``params.llm`` (None without one); a bad name, stage or config
    fails the run before any work, with a message that says what to set."""
    if params.llm is None:
        return None
    from heard.pipeline.llm_stage import LLMStageError, check_stages, open_client

    try:
        check_stages(params.llm_stages)
        return open_client(params.llm, config_path=params.llm_config, budget=params.llm_budget)
    except LLMStageError as exc:
        raise AnalysisError(f"LLM {params.llm}: {exc}") from None


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
    keep_themes: bool | None = None,
    edited: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """Analyse one open question and save the results; returns timings per stage.

    Load from the store, run :func:`heard.analysis.analyse.analyse_texts` (the one
    composition every caller uses), save. ``embedder`` should be a :class:`SpreadEmbedder`
    on ``executor`` for the embedding to be spread too. The question's themes are kept (and
    mapped to) when it has some, unless the run rediscovers or maps to a codebook;
    ``keep_themes`` decides instead when given (a first pass's themes are replaced);
    when themes are to be replaced and ``edited()`` says an analyst has changed them since,
    nothing is saved and :class:`EditedMeanwhile` is raised.
    """
    from heard.analysis.analyse import analyse_texts
    from heard.pipeline.embedding_cache import StoreCachedEmbedder

    step = progress or (lambda stage, fraction: None)
    step("load", 0.0)
    data = load_question(question)
    existing = list(question.themes.select_related("parent"))
    if keep_themes is None:
        keep_themes = not params.rediscover and codebook is None
    keep_themes = keep_themes and bool(existing) and codebook is None
    if codebook is None and keep_themes:
        codebook = [_spec_from_theme(t) for t in existing]
    labelled = {**_indexed_examples(examples or {}, data), **_human_examples(question, data)}
    result = analyse_texts(
        data.texts,
        ids=data.ids,
        question=question.text,
        codebook=codebook,
        examples=labelled,
        weak_labels=_weak_labels(question, data),
        unprocessable=data.unprocessable,
        embedder=StoreCachedEmbedder(embedder),
        seed=params.seed,
        executor=executor,
        chunk_size=chunk_size,
        progress=step,
    )
    clock = time.perf_counter()
    step("save", 0.9)
    remapped = mapping_before(run, question)
    _save(question, run, data, result, keep_themes, edited)
    record_mapping_change(run, question, remapped)
    step("save", 1.0)
    return {**result.timings, "save": round(time.perf_counter() - clock, 3)}


def _known_themes(
    questions: list[Question], codebook: dict[str, list], params: AnalyseParams
) -> dict[str, set[str]]:
    """Theme keys per question known before a run: its codebook's, else the themes it keeps
    (none for a question whose themes are discovered afresh)."""
    out = {key: {str(spec.key) for spec in specs} for key, specs in codebook.items()}
    if not params.rediscover:
        for question in questions:
            if question.key not in out and question.themes.exists():
                out[question.key] = set(question.themes.values_list("key", flat=True))
    return out


def _indexed_examples(examples: dict[str, list[str]], data: QuestionData) -> dict[int, list[str]]:
    """An examples file's codings (by response or respondent key) by response index."""
    index_of = {k: i for i, k in enumerate(data.respondent_keys) if k}
    index_of.update({k: i for i, k in enumerate(data.keys) if k})
    return {index_of[k]: list(v) for k, v in examples.items() if k in index_of}


def _weak_labels(question: Question, data: QuestionData) -> list[str | None] | None:
    """Stance from the paired closed question's answers, per response (or None)."""
    from heard.analysis.closed import options_stance

    closed = question.paired_closed
    if closed is None:
        return None
    answers = dict(Response.objects.filter(question=closed).values_list("respondent_id", "options"))
    weak = [options_stance(answers.get(rid) or []) for rid in data.respondent_ids]
    return weak if any(weak) else None


def _human_examples(question: Question, data: QuestionData) -> dict[int, list[str]]:
    """Analysts' corrections, by response index: the themes a human set are examples.

    Every response with a per-response coding (as agreement counts them: the analyst saw
    its themes and saved them) is an example with the themes it has, so one an analyst
    coded with no theme, or whose themes they all removed, is an example with no theme (an
    empty list), even where the analysis had already left it as "Other".
    """
    from heard.store.audit import coding_events

    touched = set(
        Assignment.objects.filter(
            theme__question=question, origin=Assignment.Origin.HUMAN
        ).values_list("response_id", flat=True)
    )
    touched |= set(coding_events(question).values_list("target_id", flat=True))
    if not touched:
        return {}
    index_of = {rid: i for i, rid in enumerate(data.ids)}
    out: dict[int, list[str]] = {index_of[rid]: [] for rid in touched if rid in index_of}
    for rid, key in Assignment.objects.filter(
        response_id__in=touched, is_active=True, theme__question=question
    ).values_list("response_id", "theme__key"):
        if rid in index_of:
            out[index_of[rid]].append(key)
    return out


def _spec_from_theme(theme: Theme):
    """A stored theme as a codebook theme. Its side goes where a codebook's position column
    goes (the description's "(Agreement)"), which the mapper reads as the theme's side."""
    from heard.analysis.analyse import codebook_theme
    from heard.analysis.labels import SIDE_POSITIONS
    from heard.analysis.mapping import theme_side

    spec = codebook_theme(theme.key, theme.label, theme.description,
                          None if theme_side(theme) else SIDE_POSITIONS.get(theme.side))
    spec.parent = theme.parent.key if theme.parent_id else None
    spec.key_phrases = list(theme.key_phrases or [])
    spec.side = theme.side
    return spec


# ---------------------------------------------------------------- save


@transaction.atomic
def _save(question, run, data: QuestionData, result, keep_themes: bool,
          edited: Callable[[], bool] | None = None) -> None:
    """Write one question's result: groups, themes, assignments, per-response fields."""
    if not keep_themes and edited is not None and edited():
        raise EditedMeanwhile()
    DuplicateGroup.objects.filter(question=question).delete()
    new_groups = [
        DuplicateGroup(
            question=question,
            run=run,
            key=g.key[:64],
            kind=g.kind,
            canonical_text=data.texts[g.canonical],
            size=len(g.members),
        )
        for g in result.groups
    ]
    DuplicateGroup.objects.bulk_create(new_groups, batch_size=2000)

    if keep_themes:
        theme_by_key = {t.key: t for t in question.themes.all()}
        Assignment.objects.filter(theme__question=question, origin=Assignment.Origin.AI).delete()
    else:
        # analysts' codings were made against the themes about to go: they stop counting
        retire_codings(question, run, themes=len(result.themes),
                       from_codebook=result.from_codebook)
        Assignment.objects.filter(theme__question=question).delete()
        question.themes.all().delete()
        origin = Theme.Origin.CODEBOOK if result.from_codebook else Theme.Origin.AI
        theme_by_key = {}
        ordered = sorted(result.themes, key=lambda s: (s.parent is not None,))
        for position, spec in enumerate(ordered):
            quotes = [
                {"response_id": data.ids[index], "text": text}
                for index, text in (spec.quotes or [])
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
                side=getattr(spec, "side", 0),
                parent=theme_by_key.get(spec.parent) if spec.parent else None,
            )

    human_touched = set(
        Assignment.objects.filter(
            theme__question=question, origin=Assignment.Origin.HUMAN
        ).values_list("response_id", flat=True)
    )
    # An analyst's coding outlives re-runs: their stance and evidence flag stay, and a
    # response they gave a theme is mapped, whatever the run would have said.
    human_themed = set(
        Assignment.objects.filter(
            theme__question=question, origin=Assignment.Origin.HUMAN, is_active=True
        ).values_list("response_id", flat=True)
    )
    coded = set(
        Response.objects.filter(question=question, edited_at__isnull=False)
        .values_list("id", flat=True)
    )
    kept_fields = [f for f in RESULT_FIELDS if f not in ANALYST_FIELDS]
    assignments = []
    updates = []
    coded_updates = []
    for rid, r in zip(data.ids, result.responses, strict=True):
        group = new_groups[r.group] if r.group is not None else None
        outcome, reason = r.outcome, r.reason[:300]
        if rid in human_themed and outcome == Response.Outcome.OTHER:
            outcome, reason = Response.Outcome.MAPPED, ""
        row = (rid, r.language, group.id if group else None, outcome, reason)
        if rid in coded:
            coded_updates.append(row)
        else:
            updates.append((*row, r.stance, r.stance_confidence, r.evidence_rich,
                            r.evidence_reason[:300]))
        if rid in human_touched:
            continue
        for key in r.themes:
            theme = theme_by_key.get(key)
            if theme is not None:
                assignments.append(
                    Assignment(
                        response_id=rid,
                        theme=theme,
                        confidence=r.confidence,
                        origin=Assignment.Origin.AI,
                        ai_original=True,
                        run=run,
                    )
                )
    bulk_update_rows(Response, RESULT_FIELDS, updates)
    bulk_update_rows(Response, kept_fields, coded_updates)
    Assignment.objects.bulk_create(assignments, batch_size=5000, ignore_conflicts=True)


# ---------------------------------------------------------------- input files


def _read_codebook(path: Path, questions: list[Question]) -> dict[str, list]:
    """codebook.csv (question_id, theme, label, description[, position]) → ThemeSpecs."""
    from heard.analysis.analyse import codebook_theme

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
        if row["theme"].strip().lower() == NO_THEME:
            raise AnalysisError(
                f"{path}, row {line}, column theme: {NO_THEME!r} is kept for answers about "
                "none of the themes (in an examples file). Give this theme another key."
            )
        out.setdefault(qid, []).append(
            codebook_theme(
                row["theme"], row["label"], row.get("description") or "", row.get("position")
            )
        )
    return out


def codebook_from(source: str, questions: list[Question]) -> dict[str, list]:
    """Themes of another consultation as the starting codebook, hierarchy and all.

    ``source`` is ``NAME:QUESTION`` (that question's themes, for the one question analysed)
    or ``NAME`` (each question takes the themes of the question with its key in NAME).
    """
    name, _, key = source.partition(":")
    other = Consultation.objects.filter(name=name).first()
    if other is None:
        raise AnalysisError(f"No consultation {name!r} to take themes from.")
    theirs = {q.key: q for q in other.questions.filter(kind=Question.Kind.OPEN)}
    with_themes = ", ".join(k for k, q in theirs.items() if q.themes.exists()) or "none"
    if key:
        if key not in theirs:
            raise AnalysisError(f"{name} has no open question {key!r}. Its questions with "
                                f"themes: {with_themes}.")
        if len(questions) != 1:
            raise AnalysisError(
                f"{name}:{key} gives one question's themes: choose the question that starts "
                f"from them with --question (open questions here: "
                f"{', '.join(q.key for q in questions)}).")
        pairs = [(questions[0], theirs[key])]
    else:
        pairs = [(q, theirs[q.key]) for q in questions if q.key in theirs]
    out: dict[str, list] = {}
    for question, source_question in pairs:
        themes = list(source_question.themes.select_related("parent"))
        if themes:
            out[question.key] = [_spec_from_theme(t) for t in themes]
    if not out:
        raise AnalysisError(f"{source} has no themes for the questions analysed here. Its "
                            f"questions with themes: {with_themes}.")
    return out


#: the theme cell of an examples file row that marks an answer about none of the themes
NO_THEME = "none"


def _read_examples(path: Path) -> dict[str, dict[str, list[str]]]:
    """gold_themes.csv layout (response_id, question_id, theme) → {question: {key: [themes]}}.

    A theme cell reading ``none`` (any case) marks an answer about none of the question's
    themes: its entry is an empty list, which the mapper learns "no theme" from. An empty
    theme cell, or a response marked ``none`` that also has a theme, is an error naming the
    file, row and column.
    """
    out: dict[str, dict[str, list[str]]] = {}
    none_row: dict[tuple[str, str], int] = {}
    theme_row: dict[tuple[str, str], int] = {}
    for line, row in _read_csv(path, required=("response_id", "question_id", "theme")):
        qid, rid = (row["question_id"] or "").strip(), (row["response_id"] or "").strip()
        theme = (row["theme"] or "").strip()
        if not theme:
            raise AnalysisError(
                f"{path}, row {line}, column theme: empty. Write a theme key, or "
                f"{NO_THEME} for an answer about none of the themes."
            )
        keys = out.setdefault(qid, {}).setdefault(rid, [])
        if theme.lower() == NO_THEME:
            none_row.setdefault((qid, rid), line)
        else:
            theme_row.setdefault((qid, rid), line)
            keys.append(theme)
        both = (qid, rid) in none_row and (qid, rid) in theme_row
        if both:
            raise AnalysisError(
                f"{path}, row {line}, column theme: response {rid!r} of question {qid!r} is "
                f"marked {NO_THEME} (row {none_row[(qid, rid)]}) and given a theme (row "
                f"{theme_row[(qid, rid)]}). Keep one of them."
            )
    return out


def _check_example_themes(
    path: Path, examples: dict[str, dict[str, list[str]]], themes: dict[str, set[str]]
) -> None:
    """Every theme an examples file names is one of its question's (``themes``, for the
    questions whose themes are known before the run)."""
    columns = ("question_id", "response_id", "theme")
    rows = {tuple((r[c] or "").strip() for c in columns): line
            for line, r in _read_csv(path, required=columns)}
    for qid, coded in examples.items():
        known = themes.get(qid)
        if known is None:
            continue
        for rid, keys in coded.items():
            for key in keys:
                if key not in known:
                    raise AnalysisError(
                        f"{path}, row {rows.get((qid, rid, key), '?')}, column theme: unknown "
                        f"theme {key!r} for question {qid!r}. Its themes: "
                        f"{', '.join(sorted(known))} (or {NO_THEME} for an answer about none "
                        "of them)."
                    )


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
