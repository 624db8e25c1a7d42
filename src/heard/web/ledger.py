"""The optional LLM stage in the web app: the LLM this installation offers on the
start-analysis form, and the theme summaries the stage wrote for a question.

They come from the run's LLM record (:class:`~heard.store.models.RunLLMQuestion`, read with
:func:`heard.pipeline.llm_stage.question_record`); what a run spent is read with
:func:`heard.pipeline.llm_stage.llm_use`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heard.llm.config import LLMConfigError, installation_llm
from heard.pipeline.llm_stage import LLM_STAGES, question_record
from heard.store.models import Question, Response, Run, Theme


@dataclass(frozen=True)
class LLMChoice:
    """The LLM this installation offers on the start-analysis form (or why it cannot)."""

    name: str = ""
    describe: str = ""
    problem: str = ""
    stages: tuple[str, ...] = LLM_STAGES


def llm_choice() -> LLMChoice | None:
    """None when no LLM is configured (``HEARD_LLM`` or ``llm`` in llm.toml)."""
    try:
        config = installation_llm()
    except LLMConfigError as exc:
        return LLMChoice(problem=str(exc))
    if config is None:
        return None
    return LLMChoice(name=config.name, describe=config.describe())


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
    """The summaries in the LLM record of the latest run that covered ``question`` (None if it
    has none). Summaries are keyed by theme key; a theme since deleted is left out, and a
    quote links to its response only if that response belongs to this question."""
    run = latest_run_for(question)
    if run is None:
        return None
    record = question_record(run, question)
    summaries = record.summaries if record is not None else None
    if not isinstance(summaries, dict) or not summaries:
        return None
    model = record.llm.name
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
