"""The stance baselines: prototype difference and the oracle majority."""

from __future__ import annotations

import numpy as np

from heard.evaluation.stance_baselines import oracle_majority, prototype_difference


def test_oracle_majority_is_the_most_frequent_gold_label() -> None:
    assert oracle_majority(["agree", "disagree", "agree"]) == ["agree"] * 3
    assert oracle_majority(["disagree", "agree"]) == ["agree", "agree"]  # tie: sorted first
    assert oracle_majority([]) == []


def test_prototype_difference_splits_at_the_median() -> None:
    anchors = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        return anchors

    vectors = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.1, 0.9]], np.float32)
    labels = prototype_difference(vectors, "We should ban cars?", embed)
    assert seen == [["I agree: We should ban cars", "I disagree: We should ban cars"]]
    assert labels == ["agree", "disagree", "agree", "disagree"]
    assert prototype_difference(np.zeros((0, 2)), None, embed) == []
