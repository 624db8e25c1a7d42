"""Verbatim quotes for a theme: representative, diverse, short, and exact substrings."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["clause_spans", "lead_span", "select_quotes", "sentence_spans", "verify_quote"]

Embed = Callable[[list[str]], np.ndarray]

# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space, or at a line break.
_SENT_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")
_CLAUSE_END = re.compile(r"(?<=[,;:\u2014\u2013])\s+")
_WORD = re.compile(r"\S+")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    for m in pattern.finditer(text, start, end):
        spans.append(_trim(text, pos, m.start() if m.group().isspace() else m.end()))
        pos = m.end()
    spans.append(_trim(text, pos, end))
    return [(a, b) for a, b in spans if b > a]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``."""
    return _split(text or "", _SENT_END, 0, len(text or ""))


def _n_words(text: str, start: int, end: int) -> int:
    return len(_WORD.findall(text, start, end))


def clause_spans(text: str, max_words: int = 40) -> list[tuple[int, int]]:
    """Sentences, with any sentence over ``max_words`` words cut into runs of whole clauses."""
    out: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        if _n_words(text, a, b) <= max_words:
            out.append((a, b))
            continue
        cur: tuple[int, int] | None = None
        for c in _split(text, _CLAUSE_END, a, b):
            if cur and _n_words(text, cur[0], c[1]) <= max_words:
                cur = (cur[0], c[1])
            else:
                if cur:
                    out.append(cur)
                cur = c
        if cur:
            out.append(cur)
    # A clause still too long is cut at the last whole word within the limit.
    fixed = []
    for a, b in out:
        words = list(_WORD.finditer(text, a, b))
        fixed.append((a, words[max_words - 1].end()) if len(words) > max_words else (a, b))
    return fixed


def lead_span(text: str, max_words: int = 40) -> tuple[int, int]:
    """The response's opening, cut at the last sentence (or clause) end within the limit."""
    spans = clause_spans(text, max_words)
    if not spans:
        return (0, 0)
    start, end = spans[0]
    for _, b in spans[1:]:
        if _n_words(text, start, b) > max_words:
            break
        end = b
    return start, end


def verify_quote(text: str, quote: str) -> bool:
    """True if ``quote`` is a non-empty exact substring of ``text``."""
    return bool(quote and quote.strip()) and quote in (text or "")


def _normalised(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def select_quotes(
    texts: Sequence[str],
    vectors: np.ndarray,
    centroid: np.ndarray,
    members: Sequence[int],
    *,
    n: int = 5,
    embed: Embed | None = None,
    max_words: int = 40,
    min_words: int = 4,
    candidates: int = 25,
    redundancy: float = 0.9,
) -> list[tuple[int, str]]:
    """Up to ``n`` quotes ``(index, exact substring)`` for a theme.

    The ``candidates`` members closest to ``centroid`` are considered. With ``embed``,
    each candidate's sentence closest to the centroid is the quote; without it, the
    response's opening cut at a sentence boundary. Quotes are then picked greedily by
    closeness to the centroid, skipping any whose vector has cosine above
    ``redundancy`` with a quote already picked, or whose text repeats one.
    """
    members = np.asarray(list(members), dtype=int)
    if members.size == 0 or n <= 0:
        return []
    c = _normalised(centroid)
    vecs = _normalised(np.asarray(vectors)[members])
    order = np.argsort(-(vecs @ c), kind="stable")
    pool = [int(members[k]) for k in order[:candidates] if (texts[members[k]] or "").strip()]

    spans: list[tuple[int, tuple[int, int]]] = []
    if embed is not None:
        sent: list[tuple[int, tuple[int, int]]] = []
        for i in pool:
            cs = clause_spans(texts[i], max_words)
            long_enough = [s for s in cs if _n_words(texts[i], *s) >= min_words]
            sent.extend((i, s) for s in (long_enough or cs))
        if sent:
            sv = _normalised(embed([texts[i][a:b] for i, (a, b) in sent]))
            sims = sv @ c
            best: dict[int, tuple[float, int]] = {}
            for k, (i, _) in enumerate(sent):
                if i not in best or sims[k] > best[i][0]:
                    best[i] = (float(sims[k]), k)
            ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
            spans = [(i, sent[k][1]) for i, (_, k) in ranked]
            qvecs = [sv[k] for _, (_, k) in ranked]
    if not spans:
        spans = [(i, lead_span(texts[i], max_words)) for i in pool]
        qvecs = list(_normalised(np.asarray(vectors)[pool])) if pool else []

    picked: list[tuple[int, str]] = []
    picked_vecs: list[np.ndarray] = []
    seen: set[str] = set()
    for (i, (a, b)), v in zip(spans, qvecs, strict=True):
        quote = texts[i][a:b]
        key = " ".join(quote.lower().split())
        if not verify_quote(texts[i], quote) or key in seen:
            continue
        if any(float(v @ p) > redundancy for p in picked_vecs):
            continue
        picked.append((i, quote))
        picked_vecs.append(v)
        seen.add(key)
        if len(picked) >= n:
            break
    return picked
