"""Clause splitting and the clause blend that theme discovery clusters on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from heard.analysis.clauses import blend_clauses, clause_pieces, split_clauses
from heard.analysis.clustering import ThemeDiscoverer
from tests.test_clustering import make_corpus

_HASH = HashingVectorizer(n_features=256, alternate_sign=False, norm="l2")


def embed(texts: list[str]) -> np.ndarray:
    """A deterministic bag-of-words embedder (unit rows) that takes any text."""
    return _HASH.transform(texts).toarray().astype(np.float32)


class CountingEmbed:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return embed(texts)


def test_split_clauses_on_sentences_contrast_and_short_bits() -> None:
    assert split_clauses("Buses are late every morning. The trains are mostly fine.") == [
        "Buses are late every morning.",
        "The trains are mostly fine.",
    ]
    # a clause under 25 characters joins its neighbour
    assert split_clauses("Buses are late every morning. However, trains run.") == [
        "Buses are late every morning. trains run."
    ]
    assert split_clauses("Buses are late every morning, but the trains are mostly fine.") == [
        "Buses are late every morning",
        "the trains are mostly fine.",
    ]
    assert split_clauses("Too short. Also short.") == ["Too short. Also short."]
    assert split_clauses("") == []
    long = " ".join(f"Sentence number {i} says one thing." for i in range(20))
    assert len(split_clauses(long, max_clauses=8)) == 8


def test_clause_pieces_index_distinct_clauses_of_multi_clause_texts() -> None:
    texts = [
        "Parking costs far too much now. The buses never come on time.",
        "One point only, made at some length here.",
        "The buses never come on time. Cycle lanes are full of potholes.",
    ]
    clauses, owner, piece = clause_pieces(texts)
    assert clauses == [
        "Parking costs far too much now.",
        "The buses never come on time.",
        "Cycle lanes are full of potholes.",
    ]
    assert owner.tolist() == [0, 0, 2, 2]
    assert piece.tolist() == [0, 1, 1, 2]


def test_blend_mixes_answer_and_clause_mean() -> None:
    texts = [
        "Parking costs far too much now. The buses never come on time and drivers are rude.",
        "One point only, made at some length here.",
        "",
    ]
    x = embed(texts)
    counting = CountingEmbed()
    out = blend_clauses(texts, x, counting, weight=0.5)
    assert len(counting.calls) == 1 and len(counting.calls[0]) == 2  # distinct clauses, once
    c = embed(split_clauses(texts[0]))
    mean = c.sum(axis=0) / np.linalg.norm(c.sum(axis=0))
    want = 0.5 * x[0] + 0.5 * mean
    np.testing.assert_allclose(out[0], want / np.linalg.norm(want), atol=1e-6)
    np.testing.assert_allclose(out[1], x[1], atol=1e-7)  # one clause: its own vector
    np.testing.assert_array_equal(out[2], np.zeros_like(x[2]))  # empty stays empty
    assert not np.allclose(out[0], x[0])
    np.testing.assert_allclose(blend_clauses(texts, x, counting, weight=0.0), x, atol=1e-7)
    assert len(counting.calls) == 1  # weight 0 embeds nothing
    np.testing.assert_allclose(np.linalg.norm(out[:2], axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        blend_clauses(texts, x, counting, weight=1.5)


def test_discoverer_clusters_the_blend_and_assigns_consistently() -> None:
    texts, _ = make_corpus(120)
    texts += [f"{texts[i]} {texts[i + 1]}" for i in range(0, 30, 3)]  # two-point answers
    x = embed(texts)
    model = ThemeDiscoverer(seed=0, min_themes=2, embed=embed).fit(texts, x)
    assert model.clause_weight_ == 0.5
    # predict() on the fitted texts blends once, exactly as fit did
    assert model.predict(texts, x) == model.labels_
    plain = ThemeDiscoverer(seed=0, min_themes=2).fit(texts, x)
    assert plain.clause_weight_ == 0.0  # no embed: the answers' own vectors
    off = ThemeDiscoverer(seed=0, min_themes=2, embed=embed, clause_weight=0.0).fit(texts, x)
    assert off.labels_ == plain.labels_
    np.testing.assert_allclose(off.centroids_, plain.centroids_, atol=1e-6)
