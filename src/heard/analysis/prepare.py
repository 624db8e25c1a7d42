"""Text preparation per response: normalised text, language, substantive or not.

Language detection uses ``py3langid`` (a numpy naive Bayes model shipped inside the
package; nothing is downloaded). Only the first ``max_chars`` characters are read, which
keeps it near 4,000 texts a second on one core. Texts with too few letters, or where the
model is unsure, get "und".

"No substantive answer" is decided conservatively, so that real short answers survive:
"No", "Yes", "Agree", "Y", "None of them" and "Don't know" are substantive. Flagged are:

- ``empty``: nothing but whitespace;
- ``no letters or digits``: only punctuation, symbols or emoji ("-", "...", "👍");
- ``repeated character``: one character three or more times ("aaaa", "xxx", "000");
- ``keyboard mash``: one token that is a run of four or more adjacent keys on a QWERTY
  row ("asdf", "qwerty", "asdfasdf"), or five or more letters with no vowel ("sdfghk");
- ``non-answer``: one of a short list of stock phrases (:data:`NON_ANSWERS`, e.g.
  "n/a", "none", "no comment", "see above", "as above", and "x", a placeholder mark:
  unlike "Y" or "N" it names no answer); "na" alone too, but only in :func:`prepare` and
  only when no answer of the batch is Welsh, where "Na" means "no";
- ``refers to an attachment``: a short text (at most 40 words) in which every sentence
  either points to an attachment ("Please see the attached letter from X.") or is a
  courtesy or signature line ("Thank you.", a name);
- ``cover note``: a short text (at most 80 words) that only presents a submission made
  elsewhere ("X is pleased to submit the following comments in response to the request
  for information.", "Thank you for the opportunity to respond.") and argues nothing: no
  sentence gives a reason, a request or a position.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from heard.analysis.text import normalise_text

# Stock non-answers, compared after normalise_text and folding punctuation to spaces
# (so "N/A." -> "n/a", "No comment!" -> "no comment"). Keep this list short: anything
# that could answer a question ("no", "nothing", "don't know") stays out.
NON_ANSWERS: frozenset[str] = frozenset(
    {
        "n/a",
        "n a",
        "na/",
        "not applicable",
        "none",
        "no comment",
        "no comments",
        "nothing to add",
        "nothing further to add",
        "see above",
        "as above",
        "same as above",
        "see previous answer",
        "see answer above",
        "see my previous answer",
        "see attached",
        "see attachment",
        "attached",
        "test",
        "tbc",
        "x",
    }
)
# "na" alone is "n/a" typed short in English, but "no" in Welsh: :func:`prepare` counts it
# as a non-answer only among answers none of which is Welsh.
_WELSH_NO = "na"

_KEY_PUNCT = re.compile(r"[^\w/]+")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
_NO_VOWEL = re.compile(r"^[bcdfghjklmnpqrstvxz]{5,}$")  # w and y count as vowels (Welsh)
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")
# Cover notes name the call they answer ("Request for Information; Health Technology
# Ecosystem"): its title is one clause, neither split at ";" or ":" nor read as a request.
_COVER_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CALL_TITLE = re.compile(
    r"\b(request for (information|comments?|input|evidence|proposals?)|"
    r"call for (evidence|input|views|comments?)|notice of proposed rulemaking)\b"
)
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_ATTACH = re.compile(r"\b(attach\w*|enclos\w*)\b")
_POINTER = re.compile(
    r"\b(see|find|refer|view|read)\b|\b(is|are) attached\b|\bin the attach|\battached (is|are)\b"
)
_COURTESY = re.compile(r"^(thank|thanks|dear|sincerely|regards|best|kind regards)\b")
# A cover sentence names what is submitted and presents it; it carries no argument.
_SUBMISSION = re.compile(
    r"\b(comments?|comment letter|letter|response|responses|submission|feedback|input|"
    r"insights|attach\w*|enclos\w*|file\(?s?\)?|pdf|document)\b"
)
_PRESENTING = re.compile(
    r"\b(submit\w*|provid\w*|offer\w*|present\w*|pleased|glad|happy|excited|"
    r"appreciat\w*|thank\w*|grateful|see|find|attach\w*|enclos\w*|on behalf of|"
    r"in response to|in regards? to|regarding|related to|re)\b"
)
_THANKS = re.compile(
    r"^(thank|thanks|we appreciate|i appreciate|(we|i) look forward|please (do not|don't) "
    r"hesitate|please contact|(kind |best )?regards|sincerely|respectfully)\b|"
    r"\bappreciates? the opportunity\b|\bthank you for the opportunity\b"
)
_OPPORTUNITY = re.compile(
    r"\bopportunity to (respond|comment|provide|submit|contribute|share|offer)"
)
_ARGUES = re.compile(
    r"\b(because|since|should|must|need|needs|urge|recommend\w*|request\w*|oppose\w*|"
    r"support\w*|concern\w*|believe|agree|disagree|object\w*|however|but|not|"
    r"would|could|will|risk\w*|harm\w*|benefit\w*|cost\w*|extend\w*)\b"
)


@dataclass(frozen=True)
class Prepared:
    """What preparation knows about one response."""

    normalised: str
    language: str  # ISO 639-1 code, or "und"
    language_confidence: float
    substantive: bool
    reason: str  # "" when substantive


def _is_mash(token: str) -> bool:
    """A run of 4+ adjacent keys on one keyboard row (either direction), maybe repeated."""
    if len(token) < 4:
        return False
    for row in _ROWS:
        for line in (row, row[::-1]):
            # the token must be made of one run, possibly repeated ("asdfasdf")
            for size in range(4, len(token) + 1):
                unit = token[:size]
                if unit in line and len(token) % size == 0 and unit * (len(token) // size) == token:
                    return True
    return bool(_NO_VOWEL.match(token))


def _is_attachment_pointer(norm: str) -> bool:
    """Short text whose sentences only point to an attachment or are courtesy lines."""
    if len(_WORD.findall(norm)) > 40 or not _ATTACH.search(norm):
        return False
    pointed = False
    for sentence in filter(None, (s.strip() for s in _SENTENCE.split(norm))):
        words = _WORD.findall(sentence)
        if not words:
            continue
        if _ATTACH.search(sentence) and (_POINTER.search(sentence) or len(words) <= 8):
            pointed = True
        elif _COURTESY.match(sentence) or len(words) <= 4:
            continue
        else:
            return False
    return pointed


def _is_cover_note(norm: str) -> bool:
    """Short text whose sentences only present a submission or thank the reader."""
    if len(_WORD.findall(norm)) > 80:
        return False
    presented = False
    norm = _CALL_TITLE.sub("the consultation", norm)
    for sentence in filter(None, (s.strip() for s in _COVER_SENTENCE.split(norm))):
        words = _WORD.findall(sentence)
        if len(words) <= 4 or _THANKS.search(sentence):
            # a signature, a name, a docket number, a courtesy line
            presented = presented or bool(_OPPORTUNITY.search(sentence))
            continue
        if _ARGUES.search(sentence) or len(words) > 45:
            return False
        if _SUBMISSION.search(sentence) and _PRESENTING.search(sentence):
            presented = True
            continue
        return False
    return presented


def substantive(text: str | None) -> tuple[bool, str]:
    """(is_substantive, reason); the reason is "" for a substantive answer."""
    raw = text or ""
    if not raw.strip():
        return False, "empty"
    if not any(unicodedata.category(ch)[0] in "LN" for ch in raw):
        return False, "no letters or digits"
    norm = normalise_text(raw)
    compact = norm.replace(" ", "")
    if len(compact) >= 3 and len(set(compact)) == 1:
        return False, "repeated character"
    key = _KEY_PUNCT.sub(" ", norm).strip()
    if key in NON_ANSWERS or key.replace(" ", "") in ("n/a", "na/"):
        return False, "non-answer"
    if " " not in key and _is_mash(key):
        return False, "keyboard mash"
    if _is_attachment_pointer(norm):
        return False, "refers to an attachment"
    if _is_cover_note(norm):
        return False, "cover note"
    return True, ""


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> Any:
    """The py3langid model (restricted to ``languages`` when given), read once per process:
    reading it takes about a second, and every question's preparation asks for it."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        model.set_languages(list(languages))
    return model


class LanguageDetector:
    """Offline language identification with py3langid, loaded on first use.

    ``languages`` restricts the candidates (e.g. ``["en", "cy"]``) when the consultation's
    languages are known, which makes short texts more reliable.
    """

    def __init__(
        self,
        *,
        max_chars: int = 500,
        min_letters: int = 10,
        min_confidence: float = 0.5,
        languages: Sequence[str] | None = None,
    ) -> None:
        self.max_chars = max_chars
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.languages = list(languages) if languages else None
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            self._model = _identifier(tuple(self.languages or ()))
        return self._model

    def detect(self, text: str | None) -> tuple[str, float]:
        """(ISO 639-1 code or "und", confidence in 0..1)."""
        head = (text or "")[: self.max_chars]
        if len(_LETTER.findall(head)) < self.min_letters:
            return "und", 0.0
        code, confidence = self._load().classify(head)
        if confidence < self.min_confidence or code == "zxx":
            return "und", float(confidence)
        return str(code), float(confidence)

    def detect_many(self, texts: Sequence[str | None]) -> list[tuple[str, float]]:
        """:meth:`detect` for each text."""
        return [self.detect(t) for t in texts]


def main_language(languages: Sequence[str]) -> str | None:
    """The commonest known language of ``languages`` (ISO 639-1 codes, "und" unknown),
    None when none is known; ties go to the first seen."""
    known = Counter(code for code in languages if code and code != "und")
    return known.most_common(1)[0][0] if known else None


def prepare(
    texts: Sequence[str | None], *, detector: LanguageDetector | None = None
) -> list[Prepared]:
    """Normalised text, language and substantive flag for each response."""
    detector = detector or LanguageDetector()
    out: list[Prepared] = []
    seen: dict[str, Prepared] = {}  # copies (campaigns, duplicates) are prepared once
    for text in texts:
        key = text or ""
        found = seen.get(key)
        if found is None:
            is_sub, reason = substantive(text)
            language, confidence = detector.detect(text) if is_sub else ("und", 0.0)
            found = Prepared(normalise_text(key), language, confidence, is_sub, reason)
            seen[key] = found
        out.append(found)
    if not any(p.language == "cy" for p in seen.values()):
        # no Welsh answer here: a bare "na" is "n/a", not the Welsh "no"
        short = [
            k for k, p in seen.items() if _KEY_PUNCT.sub(" ", p.normalised).strip() == _WELSH_NO
        ]
        for k in short:
            seen[k] = Prepared(seen[k].normalised, "und", 0.0, False, "non-answer")
        if short:
            out = [seen[t or ""] for t in texts]
    return out
