"""The LLM use of a run, typed: what the LLM stage cost, and which responses it sent.

Read from the run's record (``RunLLM`` and one ``RunLLMQuestion`` per question), written by
``heard.pipeline.llm_stage``. Every surface that says whether and how an LLM was used (the
CLI, the job page, the report's method section) reads it here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from heard.store.models import Consultation, Run, RunLLM

__all__ = ["LLMUse", "QuestionUse", "llm_use", "llm_uses"]


@dataclass(frozen=True)
class QuestionUse:
    """What the LLM stage did for one question of one run."""

    key: str
    question_id: int
    calls: int
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    currency: str
    responses: int
    sent_ids: tuple[int, ...]
    sent_recorded: bool = True  # False for runs made before Heard recorded what was sent
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    redaction: dict[str, int] = field(default_factory=dict)
    injection_flags: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stages: dict[str, Any] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return len(self.sent_ids)

    @property
    def share(self) -> float:
        """Share of the question's responses whose text was sent."""
        return self.sent / self.responses if self.responses else 0.0

    @property
    def cost_text(self) -> str:
        return f"{self.cost:.4f} {self.currency}"

    @property
    def sent_text(self) -> str:
        return f"{self.sent} of {self.responses}" if self.sent_recorded else "not recorded"


@dataclass(frozen=True)
class LLMUse:
    """The LLM stage of one run: model, stages, and per question what it cost and sent."""

    run_id: int
    provider: str
    model: str
    stages: tuple[str, ...]
    currency: str
    budget: float | None
    questions: tuple[QuestionUse, ...]

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def calls(self) -> int:
        return sum(q.calls for q in self.questions)

    @property
    def prompt_tokens(self) -> int:
        return sum(q.prompt_tokens for q in self.questions)

    @property
    def completion_tokens(self) -> int:
        return sum(q.completion_tokens for q in self.questions)

    @property
    def cost(self) -> float:
        return sum(q.cost for q in self.questions)

    @property
    def cost_text(self) -> str:
        return f"{self.cost:.4f} {self.currency}"

    @property
    def responses(self) -> int:
        return sum(q.responses for q in self.questions)

    @property
    def sent(self) -> int:
        return sum(q.sent for q in self.questions)

    @property
    def share(self) -> float:
        """Share of the covered questions' responses whose text was sent."""
        return self.sent / self.responses if self.responses else 0.0

    @property
    def sent_recorded(self) -> bool:
        return all(q.sent_recorded for q in self.questions)

    @property
    def sent_text(self) -> str:
        return f"{self.sent} of {self.responses}" if self.sent_recorded else "not recorded"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with totals."""
        out = asdict(self)
        out["questions"] = [{**asdict(q), "sent": q.sent, "share": round(q.share, 6)}
                            for q in self.questions]
        out.update(name=self.name, calls=self.calls, prompt_tokens=self.prompt_tokens,
                   completion_tokens=self.completion_tokens, cost=round(self.cost, 6),
                   responses=self.responses, sent=self.sent, share=round(self.share, 6),
                   sent_recorded=self.sent_recorded)
        return out


def _use(record: RunLLM) -> LLMUse:
    rows = record.questions.select_related("question").order_by("question__position",
                                                                 "question_id")
    return LLMUse(
        run_id=record.run_id,
        provider=record.provider,
        model=record.model,
        stages=tuple(record.stages or ()),
        currency=record.currency,
        budget=record.budget,
        questions=tuple(
            QuestionUse(
                key=row.question.key, question_id=row.question_id, calls=row.calls,
                attempts=row.attempts, prompt_tokens=row.prompt_tokens,
                completion_tokens=row.completion_tokens, cost=row.cost,
                currency=record.currency, responses=row.responses,
                sent_ids=tuple(row.sent_ids or ()), sent_recorded=row.sent_recorded,
                outcomes=dict(row.outcomes or {}),
                failures=list(row.failures or []), redaction=dict(row.redaction or {}),
                injection_flags=list(row.injection_flags or []), notes=list(row.notes or []),
                stages=dict(row.stages or {}),
            )
            for row in rows
        ),
    )


def llm_use(run: Run) -> LLMUse | None:
    """The LLM record of ``run``, or None when the run used no LLM."""
    record = RunLLM.objects.filter(run=run).first()
    return _use(record) if record is not None else None


def llm_uses(consultation: Consultation) -> list[LLMUse]:
    """Every recorded LLM use in ``consultation``'s runs, oldest run first."""
    records = RunLLM.objects.filter(run__consultation=consultation).order_by("run__created_at",
                                                                           "run_id")
    return [_use(r) for r in records]
