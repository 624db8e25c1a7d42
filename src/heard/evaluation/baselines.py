"""Mapping baselines shown beside Heard in every ``heard evaluate`` mapping run.

Both are pure functions of (training texts or vectors, their theme sets, test rows) and
use one decision rule: one-vs-rest logistic regression, a theme where its probability
reaches ``threshold``, and a response with none above it gets its most probable theme
(top-1 fallback).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BASELINE_NAMES", "embed_logreg", "tfidf_logreg"]

#: the mapping baselines, by the name ``heard evaluate`` shows
BASELINE_NAMES: tuple[str, ...] = ("tfidf-logreg", "embed-logreg")


def _fit_predict(
    make_model: Any, X_train: Any, train_labels: Sequence[set[str]], X_test: Any, n_test: int,
    threshold: float,
) -> list[list[str]]:
    """One-vs-rest fit and the shared decision rule (themes over threshold, else top-1)."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    if not n_test:
        return []
    classes = sorted({t for labels in train_labels for t in labels})
    if not classes:
        return [[] for _ in range(n_test)]
    if len(classes) == 1:
        return [[classes[0]] for _ in range(n_test)]
    y = MultiLabelBinarizer(classes=classes).fit_transform(list(train_labels))
    # a theme whose examples are all its own (positive everywhere) cannot be fitted
    keep = [j for j in range(len(classes)) if 0 < y[:, j].sum() < len(y)]
    if not keep:
        return [[classes[int(np.argmax(y.sum(0)))]] for _ in range(n_test)]
    model = OneVsRestClassifier(make_model()).fit(X_train, y[:, keep])
    proba = np.asarray(model.predict_proba(X_test))
    out = []
    for row in proba:
        picked = [classes[keep[j]] for j in np.flatnonzero(row >= threshold)]
        out.append(picked or [classes[keep[int(np.argmax(row))]]])
    return out


def tfidf_logreg(
    train_texts: list[str],
    train_labels: Sequence[set[str]],
    test_texts: list[str],
    *,
    seed: int = 0,
    threshold: float = 0.5,
) -> list[list[str]]:
    """TF-IDF word (1-2) and character (2-5) n-grams with one-vs-rest logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

    def make() -> Any:
        return LogisticRegression(C=10.0, max_iter=1000, random_state=seed)

    if not test_texts or not train_texts:
        return _fit_predict(make, None, train_labels, None, len(test_texts), threshold)
    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )
    X_train = features.fit_transform(train_texts)
    X_test = features.transform(test_texts)
    return _fit_predict(make, X_train, train_labels, X_test, len(test_texts), threshold)


def embed_logreg(
    train_vectors: np.ndarray,
    train_labels: Sequence[set[str]],
    test_vectors: np.ndarray,
    *,
    seed: int = 0,
    threshold: float = 0.5,
) -> list[list[str]]:
    """The embedder's vectors with one-vs-rest logistic regression (same rule as TF-IDF)."""
    from sklearn.linear_model import LogisticRegression

    def make() -> Any:
        return LogisticRegression(C=10.0, max_iter=1000, random_state=seed)

    return _fit_predict(
        make, np.asarray(train_vectors), train_labels, np.asarray(test_vectors),
        len(test_vectors), threshold,
    )
