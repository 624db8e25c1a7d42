"""The optional LLM stage: improves what the offline analysis saved for a question.

Call :func:`enhance_question` after the offline stages of a question (or :func:`enhance_run`
after a whole run). It reads the question's themes, AI assignments with their confidence,
and responses from the store, runs :func:`heard.llm.enhance.enhance`, and saves the result
in one transaction. The ledger (tokens, cost, outcomes, failures, redaction counts, flagged
responses, summaries) is stored in ``run.state["llm_ledger"][question.key]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from heard.llm.budget import Estimate, Ledger
from heard.llm.config import LLMConfig
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
from heard.llm.providers import LLMClient
from heard.store.models import Assignment, Question, Response, Run, Theme

__all__ = ["LedgerEntry", "enhance_question", "enhance_run", "estimate_question",
           "estimate_questions", "load_input", "run_ledger"]

LEDGER_KEY = "llm_ledger"
ASSUMED_UNCERTAIN = 0.25  # share of responses assumed uncertain when estimating a fresh run


@dataclass
class LedgerEntry:
    """What the LLM stage did for one question."""

    question: str
    ledger: Ledger
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.ledger.as_dict(), "summaries": self.summaries, "done": True}


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


def _open_questions(run: Run) -> list[Question]:
    questions = run.consultation.questions.filter(kind=Question.Kind.OPEN)
    key = (run.params or {}).get("question")
    return list(questions.filter(key=key) if key else questions)


def estimate_questions(
    questions: list[Question], config: LLMConfig, options: EnhanceOptions
) -> Estimate:
    """The summed estimate over ``questions`` (nothing is called or saved)."""
    total = Estimate(currency=config.price.currency)
    for question in questions:
        total.merge(estimate_question(question, config, options))
    return total


def run_ledger(run: Run) -> dict[str, Any]:
    """The stored ledger of a run: per question, and totals."""
    per_question = (run.state or {}).get(LEDGER_KEY, {})
    totals = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
    for entry in per_question.values():
        for k in totals:
            totals[k] += entry.get("totals", {}).get(k, 0)
    return {"questions": per_question, "totals": totals}


def enhance_question(
    question: Question,
    run: Run,
    client: LLMClient,
    options: EnhanceOptions,
    *,
    progress: Callable[[str], None] | None = None,
) -> LedgerEntry:
    """Run the LLM stages on one analysed question, save, and store the ledger with the run."""
    client.ledger = Ledger(model=f"{client.config.provider}:{client.config.model}",
                           currency=client.config.price.currency)
    data = load_input(question)
    before = {i.id: list(i.themes) for i in data.items}
    result = enhance(data, client, options, progress=progress)
    _save(question, run, data, before, result, client.config, options)
    entry = LedgerEntry(question.key, result.ledger, result.summaries)
    state = dict(run.state or {})
    ledgers = dict(state.get(LEDGER_KEY, {}))
    ledgers[question.key] = entry.as_dict()
    state[LEDGER_KEY] = ledgers
    Run.objects.filter(pk=run.pk).update(state=state)
    run.state = state
    return entry


def enhance_run(
    run: Run,
    client: LLMClient,
    options: EnhanceOptions,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[LedgerEntry]:
    """Enhance every open question of a finished run (questions already done are skipped)."""
    entries = []
    done = (run.state or {}).get(LEDGER_KEY, {})
    for question in _open_questions(run):
        if done.get(question.key, {}).get("done"):
            continue
        client.spent = run_ledger(run)["totals"]["cost"]

        def step(stage: str, _q: Question = question) -> None:
            if progress:
                progress(f"{_q.key}: {stage}")

        entries.append(enhance_question(question, run, client, options, progress=step))
    return entries


@transaction.atomic
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
                position=position, origin=Theme.Origin.AI,
            )
        elif (row.label, row.description) != (spec.label, spec.description):
            row.label, row.description = spec.label[:200], spec.description
            row.version += 1
            row.save(update_fields=["label", "description", "version", "updated_at"])
    merged_into = {k: t.key for t in result.themes for k in t.merged_from}
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
