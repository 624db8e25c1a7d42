"""PII redaction before any LLM call, report quote or redacted export: pattern based, offline,
no NER model.

Kinds, in the order they are applied (earlier kinds protect their digits from later ones):
``email``, ``card`` (13 to 19 digits, Luhn-checked), ``ni_number`` (UK National Insurance),
``postcode`` (UK), ``phone`` (UK and international), ``name`` (found from context only:
a title such as "Mrs" or "Cllr", "my name is …", "my husband …", "Dear …", and sign-offs
such as "Kind regards, …" at the end). Each match becomes ``[KIND]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["KINDS", "Redacted", "luhn_ok", "redact", "redact_many", "redact_rows"]

KINDS = ("email", "card", "ni_number", "postcode", "phone", "name")

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+'-]+\s*(?:@|\s\[at\]\s|\s\(at\)\s|\s+at\s+(?=[\w-]+\s+dot\s))\s*"
    r"[A-Za-z0-9-]+(?:\s*(?:\.|\[dot\]|\(dot\)|\sdot\s)\s*[A-Za-z0-9-]+)+"
)
_CARD = re.compile(r"(?<![\d+])(?:\d[ -]?){12,18}\d(?!\d)")
_NI = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-D]\b",
    re.I,
)
_POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRVWXY\d]?)"
    r"\s?\d[ABD-HJLNP-UW-Z]{2})\b",
    re.I,
)
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().\-/]{7,}\d(?![\w])")

_CAP = r"[A-Z][a-zA-Z'’\-]+"
_NAME = rf"(?:{_CAP}|[A-Z]\.)(?:\s+(?:{_CAP}|[A-Z]\.)){{0,2}}"
_TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lady|Lord|Rev|Revd|Reverend|"
    r"Cllr|Councillor|Father|Sister)\.?\s+(" + _NAME + r")"
)
_INTRO = re.compile(
    r"(?i:\bmy name is|\bmy name's|\bi am called|\bi'm called|\bname\s*:|"
    r"\bsigned\s*:?|\bdear|\bcontact\s*:?|\bsubmitted by|\bwritten by)\s+(" + _NAME + r")"
)
_LOWER_INTRO = re.compile(
    r"(?i:\bmy name is|\bmy name's)\s+([a-z][a-z'’\-]+(?:\s+[a-z][a-z'’\-]+)?)(?=\s+(?:and|"
    r"but|from|i|I)\b|[,.;!]|$)"
)
_NOT_LOWER = {"not", "irrelevant", "withheld", "private", "unimportant", "on", "in", "the",
              "a", "an", "confidential", "given", "below", "above", "known"}
_RELATION = re.compile(
    r"(?i:\bmy\s+(?:husband|wife|partner|son|daughter|mother|father|mum|mom|dad|brother|"
    r"sister|grandson|granddaughter|grandmother|grandfather|nan|uncle|aunt|cousin|friend|"
    r"neighbour|neighbor|colleague|boss|manager|carer|gp|doctor|child|niece|nephew)),?\s+"
    r"(" + _NAME + r")"
)
_SIGNOFF = re.compile(
    r"(?i:\b(?:kind regards|best regards|warm regards|regards|yours sincerely|"
    r"yours faithfully|sincerely|best wishes|many thanks|thanks|thank you|cheers|from))"
    r"\s*[,:\-–—]?\s*(" + _NAME + r")\s*[.!]?\s*$"
)
_TRAILER = re.compile(r"(?:^|\n|\s)[-–—]\s*(" + _NAME + r")\s*$")
_NOT_NAMES = {
    "The", "This", "That", "These", "It", "I", "We", "You", "They", "He", "She", "A", "An",
    "Government", "Council", "Minister", "Sir", "Madam", "Yes", "No", "All", "Everyone",
    "Team", "Department", "Committee", "Consultation", "Please", "For", "In", "On", "And",
}


@dataclass
class Redacted:
    """A redacted text and how many of each kind were replaced."""

    text: str
    counts: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.counts)


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` passes the Luhn check used by payment cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _phone(match: re.Match) -> bool:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if not 9 <= len(digits) <= 15:
        return False
    if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", raw.strip()):
        return False  # a date
    lead = raw.lstrip()[:2]
    if lead.startswith(("+", "(")) or lead.startswith("0"):
        return True
    # North American style without a prefix: 555-123-4567, 555.123.4567
    return bool(re.fullmatch(r"\d{3}[\s.\-]\d{3}[\s.\-]\d{4}", raw.strip()))


def _name_ok(name: str) -> bool:
    first = name.split()[0].rstrip(".")
    return first not in _NOT_NAMES


def _sub(pattern: re.Pattern, text: str, kind: str, counts: Counter, check=None,
         group: int = 0) -> str:
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        if check is not None and not check(m):
            continue
        start, end = m.span(group)
        if start < last:
            continue
        out.append(text[last:start])
        out.append(f"[{kind.upper()}]")
        last = end
        counts[kind] += 1
    out.append(text[last:])
    return "".join(out)


def redact(text: str) -> Redacted:
    """Replace the PII found in ``text`` by ``[KIND]`` placeholders."""
    counts: Counter = Counter()
    if not text:
        return Redacted(text or "", counts)
    t = _sub(_EMAIL, text, "email", counts)
    t = _sub(_CARD, t, "card", counts, _card)
    t = _sub(_NI, t, "ni_number", counts)
    t = _sub(_POSTCODE, t, "postcode", counts)
    t = _sub(_PHONE, t, "phone", counts, _phone)
    for pattern in (_TITLE, _INTRO, _RELATION, _SIGNOFF, _TRAILER):
        t = _sub(pattern, t, "name", counts, lambda m: _name_ok(m.group(1)), group=1)
    t = _sub(_LOWER_INTRO, t, "name", counts,
             lambda m: m.group(1).split()[0].lower() not in _NOT_LOWER, group=1)
    return Redacted(t, counts)


def redact_many(texts: Iterable[str]) -> tuple[list[str], Counter]:
    """Redact each text; returns the texts and the total counts per kind."""
    total: Counter = Counter()
    out = []
    for text in texts:
        r = redact(text)
        total.update(r.counts)
        out.append(r.text)
    return out, total


def redact_rows(rows: Iterable[dict], columns: Iterable[str]) -> Iterator[dict]:
    """Each row with the text in ``columns`` redacted; other values are left as they are."""
    names = tuple(columns)
    for row in rows:
        yield {k: redact(v).text if k in names and isinstance(v, str) else v
               for k, v in row.items()}
