"""The validation report of an import: counts, empty answers, duplicate ids, suspicious cells."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

LONG_CELL = 20_000  # characters; longer cells are flagged (but kept)
HUGE_CELL = 1_000_000  # characters; flagged with a stronger warning
MAX_EXAMPLES = 20  # examples kept per kind of finding

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# UTF-8 read as cp1252/latin-1: "Ã©", "â€™", "Ã¼"… and the replacement character.
_MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc\u2013-\u203a"
    "\u20ac\u2122]|â€|Â[\u00a0-\u00bf]|\ufffd"
)
_FORMULA_START = ("=", "+", "-", "@")
_NUMBER = re.compile(r"^[+-]?\d[\d,.\s]*%?$")


def suspicious_reasons(text: str) -> list[str]:
    """Why a cell looks suspicious (formula-like, very long, control characters, mojibake)."""
    reasons = []
    stripped = text.lstrip()
    if stripped[:1] in _FORMULA_START and not _NUMBER.match(stripped) and len(stripped) > 1:
        if stripped[0] in "=@" or stripped[1:2] not in (" ", "-", "+"):
            reasons.append("formula")
    if len(text) > HUGE_CELL:
        reasons.append("huge")
    elif len(text) > LONG_CELL:
        reasons.append("very long")
    if _CONTROL.search(text):
        reasons.append("control characters")
    if _MOJIBAKE.search(text):
        reasons.append("mojibake")
    return reasons


@dataclass
class QuestionCount:
    key: str
    text: str
    kind: str
    responses: int = 0
    empty: int = 0


@dataclass
class ValidationReport:
    """Collected while rows stream past; stored as ``ImportBatch.report``."""

    questions: dict[str, QuestionCount] = field(default_factory=dict)
    rows_read: int = 0
    rows_skipped: int = 0
    respondents: int = 0
    duplicate_ids: Counter = field(default_factory=Counter)
    duplicate_examples: list[dict] = field(default_factory=list)
    suspicious: Counter = field(default_factory=Counter)
    suspicious_examples: list[dict] = field(default_factory=list)
    skipped_examples: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)

    def question(self, key: str, text: str, kind: str) -> QuestionCount:
        if key not in self.questions:
            self.questions[key] = QuestionCount(key, text, kind)
        return self.questions[key]

    def check_cell(self, text: str, where: dict) -> None:
        for reason in suspicious_reasons(text):
            self.suspicious[reason] += 1
            if sum(1 for e in self.suspicious_examples if e["reason"] == reason) < MAX_EXAMPLES:
                # NUL shown as ␀: the report is stored as JSON, and PostgreSQL refuses \u0000
                sample = text[:60].replace("\x00", "\u2400") + ("…" if len(text) > 60 else "")
                self.suspicious_examples.append({**where, "reason": reason, "sample": sample})

    def duplicate(self, key: str, where: dict) -> None:
        self.duplicate_ids[key] += 1
        if len(self.duplicate_examples) < MAX_EXAMPLES:
            self.duplicate_examples.append({**where, "id": key})

    def skipped(self, reason: str, where: dict) -> None:
        self.rows_skipped += 1
        if len(self.skipped_examples) < MAX_EXAMPLES:
            self.skipped_examples.append({**where, "reason": reason})

    @property
    def responses(self) -> int:
        return sum(q.responses for q in self.questions.values())

    def to_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_skipped": self.rows_skipped,
            "respondents": self.respondents,
            "responses": self.responses,
            "questions": [
                {"key": q.key, "text": q.text, "type": q.kind, "responses": q.responses,
                 "empty": q.empty}
                for q in self.questions.values()
            ],
            "duplicate_ids": {
                "count": sum(self.duplicate_ids.values()),
                "distinct": len(self.duplicate_ids),
                "examples": self.duplicate_examples,
            },
            "suspicious": {"counts": dict(self.suspicious), "examples": self.suspicious_examples},
            "skipped": self.skipped_examples,
            "warnings": self.warnings,
            "notes": self.notes,
            "tables": self.tables,
        }
