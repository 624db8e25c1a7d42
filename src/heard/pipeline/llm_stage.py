"""The LLM stage of an analysis run: improves what the offline stages saved.

When ``AnalyseParams.llm`` names a model, :func:`heard.pipeline.analysis.run_analysis` calls
:func:`run_llm_stage` after the offline stages, inside the run, so the CLI, the web app and
``heard worker`` run the same stages. Per open question it reads the themes, AI assignments
with their confidence, and responses from the store, runs :func:`heard.llm.enhance.enhance`,
and saves the result with its record in one transaction.

The record is typed: a :class:`~heard.store.models.RunLLM` per run (provider, model, stages)
and a :class:`~heard.store.models.RunLLMQuestion` per question (calls, tokens, cost, which
responses were sent, outcomes, failures, summaries). A question with a record is done, so a
resumed run never calls the LLM twice for it. Theme merges, relabels and splits made here are
audit events of the run, in the same history as analysts' edits. Read the record with
:func:`heard.results.llm_use` (one run) or :func:`heard.results.llm_uses` (a consultation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.db import transaction

from heard.llm.budget import Estimate, Ledger
from heard.llm.config import LLMConfig, LLMConfigError, resolve_llm
from heard.llm.enhance import (
    SPECIAL_KEYS,
    EnhanceOptions,
    EnhanceResult,
    ItemIn,
    QuestionInput,
    ThemeIn,
    enhance,
    estimate,
)
from heard.llm.providers import LLMClient, LLMError, make_client
from heard.store.audit import record_event, responses_snapshot, theme_responses, theme_snapshot
from heard.store.models import (
    Assignment,
    Question,
    Response,
    Run,
    RunLLM,
    RunLLMQuestion,
    Theme,
)

__all__ = ["LLM_STAGES", "LLMStageError", "check_stages",
           "enhance_question", "estimate_question", "estimate_questions",
           "load_input", "open_client", "options_for", "question_record", "run_llm_stage"]

#: The LLM stages, in the order they run; ``AnalyseParams.llm_stages`` picks among them.
LLM_STAGES = ("labels", "condense", "mapping", "summaries")
ASSUMED_UNCERTAIN = 0.25  # share of responses assumed uncertain when estimating a fresh run
# Where each stage starts within one question's share of the progress bar.
_STAGE_START = {"llm labels": 0.0, "llm condense": 0.25, "llm mapping": 0.5,
                "llm summaries": 0.75}


class LLMStageError(Exception):
    """The LLM cannot be used as asked (unknown stage, bad config, missing client package)."""


def question_record(run: Run, question: Question) -> RunLLMQuestion | None:
    """The LLM stage's record for ``question`` in ``run`` (with its summaries), if any."""
    return (RunLLMQuestion.objects.filter(llm__run=run, question=question)
            .select_related("llm").first())


# ---------------------------------------------------------------- setting up


def check_stages(stages: Sequence[str]) -> tuple[str, ...]:
    """``stages`` in run order; an unknown name raises :class:`LLMStageError`."""
    unknown = [s for s in stages if s not in LLM_STAGES]
    if unknown:
        raise LLMStageError(
            f"Unknown LLM stage(s) {', '.join(unknown)}; choose from {', '.join(LLM_STAGES)}."
        )
    if not stages:
        raise LLMStageError(f"Choose at least one LLM stage: {', '.join(LLM_STAGES)}.")
    return tuple(s for s in LLM_STAGES if s in stages)


def options_for(stages: Sequence[str], config: LLMConfig) -> EnhanceOptions:
    chosen = check_stages(stages)
    return EnhanceOptions(
        labels="labels" in chosen, condense="condense" in chosen,
        mapping="mapping" in chosen, summaries="summaries" in chosen,
        max_share=config.cascade_max_share,
    )


def open_client(spec: str, *, config_path: str | None = None,
                budget: float | None = None) -> LLMClient:
    """A client for ``spec`` (``provider:model`` or a profile), configured from this
    installation's environment and llm.toml; problems raise :class:`LLMStageError`."""
    try:
        config = resolve_llm(spec, config_path=Path(config_path) if config_path else None)
        return make_client(config, budget=budget)
    except (LLMConfigError, LLMError) as exc:
        raise LLMStageError(str(exc)) from None


def load_input(question: Question) -> QuestionInput:
    """The question's offline results as plain data (substantive responses only)."""
    themes = list(question.themes.all())
    has_children = {t.parent_id for t in themes if t.parent_id}
    key_of = {t.id: t.key for t in themes}
    specs = [
        ThemeIn(
            key=t.key,
            label=t.label,
            description=t.description,
            key_phrases=list(t.key_phrases or []),
            parent=key_of.get(t.parent_id) if t.parent_id else None,
            is_leaf=t.id not in has_children,
            side=t.side,
        )
        for t in themes
    ]
    assigned: dict[int, list[tuple[str, float | None, str]]] = {}
    for rid, key, conf, origin in Assignment.objects.filter(
        theme__question=question, is_active=True
    ).values_list("response_id", "theme__key", "confidence", "origin"):
        assigned.setdefault(rid, []).append((key, conf, origin))
    items = []
    rows = Response.objects.filter(
        question=question, outcome__in=[Response.Outcome.MAPPED, Response.Outcome.OTHER]
    ).order_by("id").values_list("id", "text", "stance", "evidence_rich")
    for rid, text, stance, rich in rows.iterator(chunk_size=5000):
        found = assigned.get(rid, [])
        human = any(origin == Assignment.Origin.HUMAN for _, _, origin in found)
        confs = [c for _, c, _ in found if c is not None]
        items.append(
            ItemIn(
                id=str(rid),
                text=text or "",
                themes=[k for k, _, _ in found],
                # an analyst's assignment is never second-guessed: treat it as certain
                confidence=1.0 if human else (max(confs) if confs else None),
                stance=stance or "",
                evidence_rich=rich,
            )
        )
    return QuestionInput(question=question.text, themes=specs, items=items)


def _assumed_input(question: Question) -> QuestionInput:
    """For estimating a run that has not made themes yet: plausible themes and confidences."""
    texts = list(
        Response.objects.filter(question=question, is_empty=False)
        .order_by("id")
        .values_list("text", flat=True)
    )
    unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
    k = max(4, min(30, round(math.sqrt(len(unique)) / 2)))
    themes = [
        ThemeIn(key=f"t{j}", label=f"Theme {j}", description="x" * 120,
                key_phrases=[f"key phrase {n}" for n in range(8)])
        for j in range(k)
    ]
    step = max(1, round(1 / ASSUMED_UNCERTAIN))
    items = [
        ItemIn(id=str(i), text=t, themes=[f"t{i % k}"],
               confidence=0.5 if i % step == 0 else 0.95)
        for i, t in enumerate(unique)
    ]
    return QuestionInput(question=question.text, themes=themes, items=items)


def estimate_question(question: Question, config: LLMConfig, options: EnhanceOptions) -> Estimate:
    """Calls, tokens and cost for one question, without calling the LLM."""
    if question.themes.exists():
        return estimate(load_input(question), config, options)
    est = estimate(_assumed_input(question), config, options)
    est.notes.append(
        f"{question.key}: no themes yet; assumed {ASSUMED_UNCERTAIN:.0%} of unique responses "
        "uncertain and about sqrt(n)/2 themes"
    )
    return est


def estimate_questions(
    questions: list[Question], config: LLMConfig, options: EnhanceOptions
) -> Estimate:
    """The summed estimate over ``questions`` (nothing is called or saved)."""
    total = Estimate(currency=config.price.currency)
    for question in questions:
        total.merge(estimate_question(question, config, options))
    return total


def run_llm_stage(
    run: Run,
    questions: Sequence[Question],
    client: LLMClient,
    stages: Sequence[str],
    *,
    progress: Callable[[str, float], None] | None = None,
    between_questions: Callable[[], None] | None = None,
) -> RunLLM:
    """Run the LLM ``stages`` on each of ``questions`` (already analysed offline) that has no
    record in ``run`` yet. ``progress(stage, fraction)`` reports; ``between_questions()`` runs
    before each question and may raise to stop (a cancel), so a question is either done and
    recorded or not started, and a resumed run never pays for a question twice."""
    report = progress or (lambda stage, fraction: None)
    checkpoint = between_questions or (lambda: None)
    config = client.config
    record, _ = RunLLM.objects.get_or_create(run=run, defaults={
        "provider": config.provider, "model": config.model, "stages": list(stages),
        "budget": client.budget, "currency": config.price.currency,
    })
    options = options_for(stages, config)
    done = dict(record.questions.values_list("question_id", "cost"))
    for position, question in enumerate(questions):
        if question.id in done:
            continue
        checkpoint()
        client.spent = sum(done.values())

        def step(stage: str, _p: int = position, _q: Question = question) -> None:
            fraction = (_p + _STAGE_START.get(stage, 0.0)) / max(len(questions), 1)
            report(f"{_q.key}: {stage}", fraction)

        row = enhance_question(question, run, record, client, options, progress=step)
        done[question.id] = row.cost
    report("llm done", 1.0)
    return record


def enhance_question(
    question: Question,
    run: Run,
    record: RunLLM,
    client: LLMClient,
    options: EnhanceOptions,
    *,
    progress: Callable[[str], None] | None = None,
) -> RunLLMQuestion:
    """Run the LLM stages on one analysed question; save the results and its record."""
    client.ledger = Ledger(model=f"{client.config.provider}:{client.config.model}",
                           currency=client.config.price.currency)
    data = load_input(question)
    before = {i.id: list(i.themes) for i in data.items}
    result = enhance(data, client, options, progress=progress)
    with transaction.atomic():
        _save(question, run, data, before, result, client.config, options)
        return _record(question, record, result.ledger, result.summaries)


def _record(question: Question, record: RunLLM, ledger: Ledger,
            summaries: dict[str, dict[str, Any]]) -> RunLLMQuestion:
    stored = ledger.as_dict()
    totals = stored["totals"]
    return RunLLMQuestion.objects.create(
        llm=record, question=question,
        calls=totals["calls"], attempts=totals["attempts"],
        prompt_tokens=totals["prompt_tokens"], completion_tokens=totals["completion_tokens"],
        cost=totals["cost"],
        responses=Response.objects.filter(question=question).count(),
        sent_ids=sorted(int(i) for i in ledger.sent),
        stages=stored["stages"], by_task=stored["by_task"], outcomes=stored["outcomes"],
        failures=stored["failures"], notes=stored["notes"], redaction=stored["redaction"],
        injection_flags=stored["injection_flags"], summaries=summaries,
    )


def _save(
    question: Question,
    run: Run,
    data: QuestionInput,
    before: dict[str, list[str]],
    result: EnhanceResult,
    config: LLMConfig,
    options: EnhanceOptions,
) -> None:
    themes = {t.key: t for t in question.themes.all()}
    final = {t.key: t for t in result.themes}
    merged_into = {k: t.key for t in result.themes for k in t.merged_from}
    audit = _Audit(question, run, themes, result, merged_into)
    position = max((t.position for t in themes.values()), default=0)
    # New themes (from splits) and new labels.
    for spec in result.themes:
        row = themes.get(spec.key)
        if row is None:
            position += 1
            themes[spec.key] = Theme.objects.create(
                question=question, run=run, key=spec.key[:100], label=spec.label[:200],
                description=spec.description, key_phrases=spec.key_phrases,
                parent=themes.get(spec.parent) if spec.parent else None,
                position=position, origin=Theme.Origin.AI, side=spec.side,
            )
        elif (row.label, row.description) != (spec.label, spec.description):
            row.label, row.description = spec.label[:200], spec.description
            row.version += 1
            row.save(update_fields=["label", "description", "version", "updated_at"])
    # Analysts' assignments on merged-away themes move to the surviving theme.
    for old, new in merged_into.items():
        if old not in themes or new not in themes:
            continue
        taken = Assignment.objects.filter(theme=themes[new]).values_list("response_id",
                                                                         flat=True)
        Assignment.objects.filter(theme=themes[old], origin=Assignment.Origin.HUMAN).exclude(
            response_id__in=list(taken)
        ).update(theme=themes[new])
    # AI assignments of the responses whose themes changed.
    conf_by_id = {i.id: i.confidence for i in data.items}
    changed = [rid for rid, keys in result.item_themes.items() if keys != before.get(rid)]
    model = f"{config.provider}:{config.model}"
    new_rows = []
    for rid in changed:
        settled = rid in result.mapped
        for key in result.item_themes[rid]:
            if key in themes and key in final and key not in SPECIAL_KEYS:
                new_rows.append(Assignment(
                    response_id=int(rid), theme=themes[key],
                    confidence=None if settled else conf_by_id.get(rid),
                    origin=Assignment.Origin.AI, ai_original=True, run=run,
                ))
    ids = [int(r) for r in changed]
    for start in range(0, len(ids), 900):
        Assignment.objects.filter(
            response_id__in=ids[start : start + 900], theme__question=question,
            origin=Assignment.Origin.AI,
        ).delete()
    Assignment.objects.bulk_create(new_rows, batch_size=2000, ignore_conflicts=True)
    for old in merged_into:
        if old in themes:
            themes[old].delete()
    # Outcomes (and, by choice, stance and evidence) of the responses the LLM settled.
    updates = []
    for rid, res in result.mapped.items():
        row: dict[str, Any] = {
            "outcome": Response.Outcome.MAPPED if res.themes else Response.Outcome.OTHER,
            "outcome_reason": "" if res.themes else f"no theme fits (settled by {model})"[:300],
        }
        if options.stance and res.stance:
            row["stance"] = res.stance
            row["stance_confidence"] = None
            row["evidence_rich"] = res.evidence_rich
            row["evidence_reason"] = f"judged by {model}"[:300]
        updates.append((int(rid), row))
    for rid, row in updates:
        Response.objects.filter(pk=rid).update(**row)
    audit.write(themes)


class _Audit:
    """Snapshots taken before the LLM stage changes a question's themes, written as audit
    events of the run once the changes are made (one per merge, relabel and split)."""

    def __init__(self, question: Question, run: Run, themes: dict[str, Theme],
                 result: EnhanceResult, merged_into: dict[str, str]) -> None:
        self.question, self.run = question, run
        self.merges: dict[str, tuple[list[dict], dict, set[int]]] = {}
        for key in dict.fromkeys(merged_into.values()):
            group = [themes[k] for k in [key, *(o for o, n in merged_into.items() if n == key)]
                     if k in themes]
            if len(group) < 2 or group[0].key != key:
                continue
            touched = theme_responses([t.id for t in group])
            self.merges[key] = ([theme_snapshot(t) for t in group],
                                responses_snapshot(touched), touched)
        self.relabels = {
            spec.key: theme_snapshot(themes[spec.key]) for spec in result.themes
            if spec.key in themes and spec.key not in self.merges
            and (themes[spec.key].label, themes[spec.key].description)
            != (spec.label[:200], spec.description)
        }
        self.splits: dict[str, tuple[dict, set[int]]] = {}
        for spec in result.themes:
            if spec.key in themes:
                continue
            members = {int(rid) for rid, keys in result.item_themes.items() if spec.key in keys}
            self.splits[spec.key] = (responses_snapshot(members), members)

    def write(self, themes: dict[str, Theme]) -> None:
        for key, (before_themes, before_responses, touched) in self.merges.items():
            target = themes[key]
            target.refresh_from_db()
            labels = ", ".join(f"“{t['label']}”" for t in before_themes[1:])
            record_event(self.question, None, "merge themes", target,
                         {"themes": before_themes, "responses": before_responses},
                         {"themes": [theme_snapshot(target)],
                          "responses": responses_snapshot(touched), "merged": labels},
                         run=self.run)
        for key, before in self.relabels.items():
            theme = themes[key]
            action = "rename theme" if theme.label != before["label"] else "edit theme"
            record_event(self.question, None, action, theme, {"themes": [before]},
                         {"themes": [theme_snapshot(theme)]}, run=self.run)
        for key, (before_responses, members) in self.splits.items():
            theme = themes[key]
            record_event(self.question, None, "split theme", theme,
                         {"themes": [], "responses": before_responses},
                         {"themes": [theme_snapshot(theme)],
                          "responses": responses_snapshot(members)}, run=self.run)
