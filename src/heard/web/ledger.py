"""What the optional LLM stage spent on a run, and the theme summaries it wrote.

Both come from the run's ledger (``run.state["llm_ledger"]``, read with
:func:`heard.pipeline.llm_stage.run_ledger`); a run without one used no LLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from heard.pipeline.llm_stage import run_ledger
from heard.store.models import Question, Response, Run, Theme


@dataclass
class Usage:
    """Calls, tokens and cost of one question's LLM stage, or of a whole run."""

    label: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    currency: str
    model: str = ""

    @property
    def cost_text(self) -> str:
        return f"{self.cost:.4f} {self.currency}".strip()


@dataclass
class RunUsage:
    """A run's LLM use: per question and in total."""

    total: Usage
    questions: list[Usage] = field(default_factory=list)

    @property
    def models(self) -> str:
        return ", ".join(sorted({q.model for q in self.questions if q.model}))


def _usage(label: str, totals: dict[str, Any], currency: str, model: str = "") -> Usage:
    return Usage(
        label=label,
        calls=int(totals.get("calls") or 0),
        prompt_tokens=int(totals.get("prompt_tokens") or 0),
        completion_tokens=int(totals.get("completion_tokens") or 0),
        cost=float(totals.get("cost") or 0.0),
        currency=currency,
        model=model,
    )


def run_usage(run: Run) -> RunUsage | None:
    """The LLM use recorded in ``run``'s ledger, or None when the run used no LLM."""
    ledger = run_ledger(run)
    entries = {k: v for k, v in ledger["questions"].items() if isinstance(v, dict)}
    if not entries:
        return None
    currencies = {(e.get("totals") or {}).get("currency") or "" for e in entries.values()}
    currencies.discard("")
    questions = [
        _usage(key, entry.get("totals") or {},
               (entry.get("totals") or {}).get("currency") or "", str(entry.get("model") or ""))
        for key, entry in entries.items()
    ]
    currency = currencies.pop() if len(currencies) == 1 else ""
    return RunUsage(total=_usage("Total", ledger["totals"], currency), questions=questions)


@dataclass
class Quote:
    """A quote the LLM cited in a summary, checked against the response it names."""

    text: str
    response_id: int | None


@dataclass
class ThemeSummary:
    """An LLM-written summary of one theme (``theme`` is None for the whole question)."""

    theme: Theme | None
    text: str
    model: str
    quotes: list[Quote]


@dataclass
class QuestionSummaries:
    """The LLM-written summaries of a question, from one run."""

    run: Run
    model: str
    question: ThemeSummary | None
    themes: list[ThemeSummary]


def latest_run_for(question: Question) -> Run | None:
    """The most recent finished analysis that covered ``question``."""
    runs = Run.objects.filter(consultation_id=question.consultation_id, kind="analyse",
                              status=Run.Status.DONE).order_by("-created_at", "-id")
    for run in runs[:50]:
        only = (run.params or {}).get("question")
        if run.question_id not in (None, question.pk) or only not in (None, "", question.key):
            continue
        return run
    return None


def question_summaries(question: Question, themes: list[Theme]) -> QuestionSummaries | None:
    """The summaries in the ledger of the latest run that covered ``question`` (None if it
    has none). Summaries are keyed by theme key; a theme since deleted is left out, and a
    quote links to its response only if that response belongs to this question."""
    run = latest_run_for(question)
    if run is None:
        return None
    entry = run_ledger(run)["questions"].get(question.key)
    summaries = entry.get("summaries") if isinstance(entry, dict) else None
    if not isinstance(summaries, dict) or not summaries:
        return None
    model = str(entry.get("model") or "an LLM")
    cited = {
        int(q["response_id"])
        for item in summaries.values() if isinstance(item, dict)
        for q in item.get("quotes") or []
        if isinstance(q, dict) and str(q.get("response_id", "")).isdigit()
    }
    ours = set(Response.objects.filter(question=question, id__in=cited)
               .values_list("id", flat=True))

    def build(theme: Theme | None, item: Any) -> ThemeSummary | None:
        if not isinstance(item, dict) or not str(item.get("summary") or "").strip():
            return None
        quotes = []
        for q in item.get("quotes") or []:
            if not isinstance(q, dict) or not q.get("text"):
                continue
            rid = str(q.get("response_id", ""))
            quotes.append(Quote(str(q["text"]),
                                int(rid) if rid.isdigit() and int(rid) in ours else None))
        return ThemeSummary(theme, str(item["summary"]).strip(), model, quotes)

    per_theme = [s for t in themes if (s := build(t, summaries.get(t.key))) is not None]
    overall = build(None, summaries.get(""))
    if overall is None and not per_theme:
        return None
    return QuestionSummaries(run=run, model=model, question=overall, themes=per_theme)
