"""The results model's plain data: what every surface shows, counted once.

See :mod:`heard.results` for the definitions (the denominator of a share, what a parent
theme counts). Nothing here queries the store; the readers in this package fill these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OUTCOME_LABELS: dict[str, str] = {
    "mapped": "Mapped to themes",
    "other": "Other",
    "empty": "No substantive answer",
    "unprocessable": "Unprocessable",
    "pending": "Not analysed yet",
}
STANCE_LABELS: dict[str, str] = {"agree": "Agree", "disagree": "Disagree", "unclear": "Unclear"}


def share(part: int, whole: int) -> float:
    """``part / whole``, 0.0 when ``whole`` is 0."""
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class Outcomes:
    """How many responses ended in each outcome (every response has exactly one)."""

    mapped: int = 0
    other: int = 0
    empty: int = 0  # "No substantive answer"
    unprocessable: int = 0
    pending: int = 0  # not analysed yet

    @property
    def total(self) -> int:
        return self.mapped + self.other + self.empty + self.unprocessable + self.pending

    @property
    def base(self) -> int:
        """The denominator of theme shares: substantive, processable, analysed responses."""
        return self.mapped + self.other

    def get(self, key: str, default: int = 0) -> int:
        return getattr(self, key, default) if key in OUTCOME_LABELS else default

    def as_dict(self) -> dict[str, int]:
        return {key: self.get(key) for key in OUTCOME_LABELS}


@dataclass
class ThemeResult:
    """One theme of a question; a parent counts its own distinct responses (see the package)."""

    id: int
    key: str
    label: str
    description: str
    level: int  # 0 for a top-level theme, 1 for a sub-theme
    parent: str | None  # the parent's key
    count: int  # distinct responses in the base with this theme (a parent: or a sub-theme)
    share: float  # count / Outcomes.base
    stance: dict[str, int]  # of those responses, by stance (responses without one left out)
    evidence_rich: int  # of those responses, flagged evidence-rich
    quotes: list[dict] = field(default_factory=list)  # stored quotes: [{response_id, text}]

    @property
    def stance_shares(self) -> list[tuple[str, str, int, float]]:
        """(value, label, count, share of the responses with a stance), in a fixed order."""
        whole = sum(self.stance.values())
        return [(value, label, self.stance.get(value, 0), share(self.stance.get(value, 0), whole))
                for value, label in STANCE_LABELS.items()]


@dataclass(frozen=True)
class Campaign:
    """An organised campaign (form letter): its canonical text and how many sent it."""

    id: int
    question: str  # the question's key
    question_id: int
    kind: str  # display name of the duplicate group's kind
    size: int
    text: str


@dataclass
class QuestionResults:
    """An open question's results, over all its responses or a filtered subset."""

    id: int
    key: str
    text: str
    kind: str
    stage: str
    stage_label: str
    stage_changed_by: str
    stage_changed_at: datetime | None
    paired: str  # key of the paired closed question, or ""
    outcomes: Outcomes
    themes: list[ThemeResult]  # parents before their children, in the analysts' order
    stance: dict[str, int]  # over the base
    evidence_rich: int  # over the base
    campaign_responses: int  # responses that belong to a campaign
    campaigns: list[Campaign] = field(default_factory=list)  # the question's campaigns
    duplicate_groups: int = 0  # exact, near and campaign groups of the whole question
    in_duplicate_groups: int = 0
    page_ids: list[int] = field(default_factory=list)  # ids of one requested page

    @property
    def total(self) -> int:
        return self.outcomes.total

    @property
    def base(self) -> int:
        return self.outcomes.base

    @property
    def other_share(self) -> float:
        return share(self.outcomes.other, self.base)

    @property
    def has_stance(self) -> bool:
        """False where the question asks for no position: no response was given a stance."""
        return any(self.stance.values())

    @property
    def max_count(self) -> int:
        return max([t.count for t in self.themes] + [1])

    @property
    def roots(self) -> list[ThemeResult]:
        return [t for t in self.themes if t.parent is None]

    def children(self, theme: ThemeResult) -> list[ThemeResult]:
        return [t for t in self.themes if t.parent == theme.key]


@dataclass
class ClosedResults:
    """A closed question: how many answered, and how many chose each option."""

    id: int
    key: str
    text: str
    options: list[str]  # the known options, as imported
    outcomes: Outcomes
    answered: int  # responses that chose at least one option
    chosen: list[tuple[str, int]]  # (option, respondents), known options first
    kind: str = "closed"

    @property
    def total(self) -> int:
        return self.outcomes.total

    @property
    def option_shares(self) -> list[tuple[str, int, float]]:
        """(option, respondents, share of those who answered), in ``chosen`` order."""
        return [(option, n, share(n, self.answered)) for option, n in self.chosen]


@dataclass(frozen=True)
class Demographic:
    key: str
    text: str
    options: list[Any]


@dataclass
class GroupBreakdown:
    """Themes by a respondent attribute: each group's base and its responses per theme."""

    name: str  # what the groups are, e.g. "Respondent type" or "region"
    groups: list[tuple[str, int]]  # (group, responses in the base), largest first
    counts: dict[str, dict[str, int]]  # theme key -> group -> distinct responses

    def count(self, theme: str, group: str) -> int:
        return self.counts.get(theme, {}).get(group, 0)

    def share(self, theme: str, group: str) -> float:
        return share(self.count(theme, group), dict(self.groups).get(group, 0))


@dataclass(frozen=True)
class Highlight:
    """An evidence-rich response (not a campaign copy) with its reason and themes."""

    response_id: int
    text: str
    reason: str
    themes: list[str]


@dataclass(frozen=True)
class RetiredCodings:
    """Analysts' codings one run retired when it replaced the themes they were made against
    (rediscovered them, or mapped to a codebook, as ``source`` says): ``responses`` is how
    many responses they leave uncounted (coded then, not coded since)."""

    run_id: int | None
    at: datetime
    responses: int
    source: str = "discovery"


@dataclass(frozen=True)
class Agreement:
    """The analysis's themes against the analysts' over the responses of one question that
    analysts coded one at a time (per-response coding: :mod:`heard.results.agreement`).

    ``reviewed`` is the number of those responses (``blind`` of them last coded in blind
    review, a random sample); ``kept``, ``removed`` and ``added`` count
    the analysis's themes the analysts kept and removed, and the themes they added, over
    them. ``overall`` and ``intervals`` (95% bootstrap) score them with "Other" as a label
    (a response with no theme); ``without_other`` and ``intervals_without_other`` score the
    themes only. ``per_theme`` has one row per theme used (and "Other"). ``retired`` lists
    the codings runs retired by replacing the themes (not counted in any of the above).
    """

    reviewed: int
    kept: int
    removed: int
    added: int
    blind: int = 0
    overall: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    without_other: dict[str, float] = field(default_factory=dict)
    intervals_without_other: dict[str, tuple[float, float]] = field(default_factory=dict)
    per_theme: list[dict] = field(default_factory=list)
    retired: list[RetiredCodings] = field(default_factory=list)

    @property
    def retired_responses(self) -> int:
        """Responses coded against themes a run has since replaced, not coded again."""
        return sum(r.responses for r in self.retired)

    @property
    def f1(self) -> float | None:
        """Micro-F1 with "Other"; None when no response has been coded."""
        return self.overall.get("micro_f1") if self.reviewed else None

    @property
    def f1_without_other(self) -> float | None:
        return self.without_other.get("micro_f1") if self.reviewed else None

    @property
    def ai_proposed(self) -> int:
        return self.kept + self.removed

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.added)


@dataclass
class ConsultationResults:
    """A consultation at a glance: respondents, its questions and campaigns."""

    name: str
    title: str
    description: str
    respondents: int
    respondent_kinds: dict[str, int]  # kind value -> respondents
    open: list[QuestionResults]
    closed: list[ClosedResults]
    demographics: list[Demographic]
    campaigns: list[Campaign]  # largest first
    order: list[str] = field(default_factory=list)  # open and closed keys, in their order

    @property
    def questions(self) -> int:
        """Questions asked (open and closed); demographic columns are not questions."""
        return len(self.open) + len(self.closed)

    @property
    def responses(self) -> int:
        return sum(q.total for q in [*self.open, *self.closed])

    @property
    def answered(self) -> int:
        """Responses with an answer: every response but "No substantive answer"."""
        return sum(q.total - q.outcomes.empty for q in [*self.open, *self.closed])

    @property
    def campaign_responses(self) -> int:
        return sum(c.size for c in self.campaigns)


@dataclass(frozen=True)
class ConsultationSummary:
    """One row of the consultation list."""

    name: str
    title: str
    questions: int  # open and closed
    respondents: int
    updated_at: datetime | None
