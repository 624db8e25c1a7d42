"""Token counts, batches built by token count, cost estimates and the ledger of what was spent.

Token counts are estimated as one token per four bytes of UTF-8 (rounded up) plus a small
overhead per message. On English consultation text this is within about 10% of the GPT
tokenisers (BPE vocabularies average 4 to 4.5 characters per token on English prose) and it
over-counts, so batches stay inside the context window; see docs/llm.md. It needs no
tokeniser download, and the ledger records the provider's own counts after each call.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from heard.llm.config import Price

__all__ = ["BYTES_PER_TOKEN", "MESSAGE_OVERHEAD", "CallRecord", "Estimate", "Ledger",
           "count_tokens", "pack_batches", "truncate_to_tokens"]

BYTES_PER_TOKEN = 4.0
MESSAGE_OVERHEAD = 4  # role and separators per chat message


def count_tokens(text: str) -> int:
    """Estimated tokens in ``text`` (one per four UTF-8 bytes, rounded up)."""
    if not text:
        return 0
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """``text`` cut (at a word boundary where possible) to about ``max_tokens`` tokens."""
    if count_tokens(text) <= max_tokens:
        return text, False
    limit = int(max_tokens * BYTES_PER_TOKEN)
    raw = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    cut = raw.rfind(" ")
    if cut > len(raw) * 0.8:
        raw = raw[:cut]
    return raw.rstrip() + " …", True


def pack_batches(
    costs: Sequence[int],
    *,
    budget: int,
    max_items: int,
) -> list[list[int]]:
    """Group item positions into batches whose summed ``costs`` stay within ``budget``.

    Items keep their order; an item larger than the budget gets a batch of its own (the
    caller truncates it first, so this only happens with a tiny budget).
    """
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, cost in enumerate(costs):
        if current and (used + cost > budget or len(current) >= max_items):
            batches.append(current)
            current, used = [], 0
        current.append(i)
        used += cost
    if current:
        batches.append(current)
    return batches


@dataclass
class Estimate:
    """What a run would cost, computed without calling the LLM."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    currency: str = "USD"
    notes: list[str] = field(default_factory=list)

    def add(self, calls: int, prompt: int, completion: int, price: Price) -> None:
        self.calls += calls
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost += price.cost(prompt, completion)
        self.currency = price.currency

    def merge(self, other: Estimate) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost += other.cost
        self.currency = other.currency
        self.notes.extend(n for n in other.notes if n not in self.notes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallRecord:
    """One request to the LLM (retries included) as the ledger keeps it."""

    task: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    attempts: int
    mode: str
    status: str  # "ok" | "invalid" | "truncated" | "too_long" | "error"
    items: int = 0


@dataclass
class Ledger:
    """Tokens and cost actually used (from the API's usage fields), and every item's outcome.

    ``outcomes`` counts what happened to each response sent (or meant) for the LLM:
    ``llm`` (the LLM's result was used), ``offline`` (kept its offline result, with the
    reason in ``failures``), ``budget`` (not sent: the budget ran out).
    """

    model: str = ""
    currency: str = "USD"
    calls: list[CallRecord] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redaction: Counter = field(default_factory=Counter)
    injection_flags: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def cost(self) -> float:
        return sum(c.cost for c in self.calls)

    def record(self, call: CallRecord) -> None:
        self.calls.append(call)

    def mark_sent(self, item_ids: Sequence[str]) -> None:
        self.sent.update(item_ids)

    def fail(self, item_id: str, stage: str, reason: str) -> None:
        self.failures.append({"id": item_id, "stage": stage, "reason": reason})

    def totals(self) -> dict[str, Any]:
        return {
            "calls": len(self.calls),
            "attempts": sum(c.attempts for c in self.calls),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": round(self.cost, 6),
            "currency": self.currency,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with the run."""
        by_task: dict[str, dict[str, int]] = {}
        for c in self.calls:
            row = by_task.setdefault(c.task, {"calls": 0, "prompt_tokens": 0,
                                              "completion_tokens": 0})
            row["calls"] += 1
            row["prompt_tokens"] += c.prompt_tokens
            row["completion_tokens"] += c.completion_tokens
        return {
            "model": self.model,
            "totals": self.totals(),
            "by_task": by_task,
            "outcomes": dict(self.outcomes),
            "failures": self.failures,
            "notes": self.notes,
            "redaction": dict(self.redaction),
            "injection_flags": self.injection_flags,
            "stages": self.stages,
            "sent": sorted(self.sent),
        }
