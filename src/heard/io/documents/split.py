"""Split a document by the consultation's question headings.

A line is a heading when it starts with a question label ("Question 3", "Q3", "Q. 3",
"Cwestiwn 3"), tolerant to OCR noise ("Qucstion 3", "Question l"), or when its first words
match the first words of a question's text (fuzzy, so a few misread letters still match).
Labels are numbered by the number in the question's key ("q3", "Question_3") or, failing
that, by the question's position.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

LABEL_WORDS = ("question", "cwestiwn")
TEXT_WORDS = 8  # how many first words of a question's text are compared
TEXT_RATIO = 0.8  # similarity needed for a text match
LABEL_RATIO = 0.75  # similarity of a noisy label word to "question"
_LABEL = re.compile(
    r"^\W{0,3}(?P<word>[a-z0][a-z]{0,9})\s*[.:#]?\s*(?:no\.?\s*)?(?P<number>[0-9lIi|oO]{1,3})"
    r"(?![0-9a-z])(?P<rest>.*)$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_DIGITS = str.maketrans({"l": "1", "I": "1", "i": "1", "|": "1", "o": "0", "O": "0"})


@dataclass
class QuestionRef:
    key: str
    text: str
    number: int | None = None


@dataclass
class Section:
    """A run of lines under one heading (``question`` None for text before any heading)."""

    question: str | None
    heading: str
    how: str  # label | text | preamble
    lines: list[int] = field(default_factory=list)  # indexes into the document's lines


def number_questions(questions: list[tuple[str, str]]) -> list[QuestionRef]:
    """Give each question its label number: from its key when the key has one."""
    refs = []
    for key, text in questions:
        found = re.findall(r"\d+", key)
        refs.append(QuestionRef(key, text, int(found[-1]) if found else None))
    numbers = [r.number for r in refs]
    if any(n is None for n in numbers) or len(set(numbers)) != len(numbers):
        for position, ref in enumerate(refs, start=1):
            ref.number = position
    return refs


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _is_label_word(word: str) -> bool:
    word = word.casefold()
    if word in ("q", "qn", "qu", "ques", "quest") or word in LABEL_WORDS:
        return True
    return len(word) >= 5 and any(difflib.SequenceMatcher(None, word, target).ratio() >= LABEL_RATIO
               for target in LABEL_WORDS)


def _text_match(words: list[str], ref_words: list[str]) -> bool:
    if len(ref_words) < 3 or len(words) < min(3, len(ref_words)):
        return False
    head = " ".join(words[: len(ref_words)])
    target = " ".join(ref_words)
    return difflib.SequenceMatcher(None, head, target).ratio() >= TEXT_RATIO


def match_heading(line: str, refs: list[QuestionRef]) -> tuple[QuestionRef, str, str] | None:
    """(question, how, rest of the line after the label) when ``line`` is a heading."""
    if not line or len(line) > 300:
        return None
    by_number = {r.number: r for r in refs}
    match = _LABEL.match(line)
    if match and _is_label_word(match["word"]):
        raw = match["number"]
        try:
            number = int(raw.translate(_DIGITS))
        except ValueError:
            number = None
        plausible = any(ch.isdigit() for ch in raw) or len(match["word"]) >= 5
        if plausible and number in by_number:
            return by_number[number], "label", match["rest"].strip(" .:-–—)\t")
    words = _words(line)
    for ref in refs:
        ref_words = _words(ref.text)[:TEXT_WORDS]
        if len(words) <= len(_words(ref.text)) + 6 and _text_match(words, ref_words):
            return ref, "text", ""
    return None


def _rest_is_question_text(rest: str, ref: QuestionRef) -> bool:
    """Whether what follows a label is the question's own text (so part of the heading)."""
    rest_words, ref_words = _words(rest), _words(ref.text)
    if not rest_words:
        return True
    if not ref_words:
        return False
    head = " ".join(rest_words[: len(ref_words)])
    return difflib.SequenceMatcher(None, head, " ".join(ref_words)).ratio() >= TEXT_RATIO or (
        len(rest_words) <= len(ref_words) + 3 and rest.rstrip().endswith("?")
    )


def split_sections(lines: list[str], questions: list[tuple[str, str]]) -> list[Section]:
    """Sections of a document under question headings; one preamble section (question None)
    holds any text before the first heading. Each question is taken at its first heading."""
    refs = number_questions(questions)
    sections = [Section(None, "", "preamble")]
    seen: set[str] = set()
    for index, line in enumerate(lines):
        found = match_heading(line, refs) if refs else None
        if found and found[0].key not in seen:
            ref, how, rest = found
            seen.add(ref.key)
            section = Section(ref.key, line, how)
            if how == "label" and rest and not _rest_is_question_text(rest, ref):
                section.heading = line[: len(line) - len(rest)].rstrip()
                section.lines.append(-index - 1)  # the answer starts on the heading's line
            sections.append(section)
            continue
        sections[-1].lines.append(index)
    return sections


def should_split(sections: list[Section], mode: str = "auto") -> bool:
    """auto: two or more questions found, or one by an explicit label; headings: any."""
    found = [s for s in sections if s.question is not None]
    if mode == "none" or not found:
        return False
    if mode == "headings":
        return True
    return len(found) >= 2 or found[0].how == "label"
