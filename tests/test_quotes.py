"""Verbatim quote selection."""

from __future__ import annotations

import numpy as np

from heard.analysis.quotes import (
    clause_spans,
    lead_span,
    select_quotes,
    sentence_spans,
    verify_quote,
)

TEXT = (
    "Ban the adverts now. My brother lost his house to betting apps! "
    "Children see these adverts at every match, and they think betting is normal."
)


def test_sentence_spans_are_exact():
    spans = sentence_spans(TEXT)
    assert [TEXT[a:b] for a, b in spans] == [
        "Ban the adverts now.",
        "My brother lost his house to betting apps!",
        "Children see these adverts at every match, and they think betting is normal.",
    ]
    assert sentence_spans("") == []


def test_long_sentences_cut_at_clauses():
    text = ", ".join(["word " * 8] * 10).strip() + "."
    for a, b in clause_spans(text, max_words=20):
        assert len(text[a:b].split()) <= 20
        assert verify_quote(text, text[a:b])
    a, b = lead_span(TEXT, max_words=10)
    assert TEXT[a:b] == "Ban the adverts now."


def test_verify_quote():
    assert verify_quote(TEXT, "Ban the adverts now.")
    assert not verify_quote(TEXT, "ban the adverts now.")
    assert not verify_quote(TEXT, "")
    assert not verify_quote(TEXT, "   ")


def _embed(texts: list[str]) -> np.ndarray:
    """A toy embedder: counts of two cue words."""
    v = np.array([[t.lower().count("advert") + 0.1, t.lower().count("betting") + 0.1]
                  for t in texts])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_select_quotes_with_embed_picks_closest_sentence():
    texts = [TEXT, "Adverts everywhere. I hate adverts.", TEXT]
    vectors = _embed(texts)
    centroid = np.array([1.0, 0.0])
    quotes = select_quotes(texts, vectors, centroid, [0, 1, 2], n=5, embed=_embed)
    assert quotes  # exact substrings, and the duplicate response is not quoted twice
    assert all(verify_quote(texts[i], q) for i, q in quotes)
    assert len({q for _, q in quotes}) == len(quotes)
    assert quotes[0][1] in {"Adverts everywhere.", "I hate adverts.", "Ban the adverts now."}


def test_select_quotes_without_embed_and_diversity():
    texts = ["Same point here.", "Same point here.", "Different view entirely. More words."]
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])
    quotes = select_quotes(texts, vectors, np.array([1.0, 0.0]), [0, 1, 2], n=3)
    assert [i for i, _ in quotes] == [0, 2]
    assert quotes[1][1] == "Different view entirely. More words."
    assert select_quotes(texts, vectors, np.array([1.0, 0.0]), [], n=3) == []
