"""The analysis estimators follow scikit-learn's contract: parameters kept as given,
checked at fit, a clear error before fit, and one return type for predict."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from heard.analysis.clustering import ThemeDiscoverer
from tests._fake_embed import fake_embed

TEXTS = [
    "The bus service is too infrequent and buses are always late in the evening.",
    "Protected cycle lanes would make cycling to school safer for children.",
    "Local shops will lose business when the high street closes to cars.",
    "Parking charges are far too high for people who work in the centre.",
] * 6


def test_discoverer_params_round_trip_and_clone():
    est = ThemeDiscoverer(seed=3, max_themes=6, remove_top=1)
    params = est.get_params()
    assert params["seed"] == 3 and params["max_themes"] == 6
    assert params["center"] is False  # kept as given, not derived from remove_top
    copy = clone(est)
    assert copy.get_params() == params
    est.set_params(max_labels=2)
    assert est.max_labels == 2


@pytest.mark.parametrize(
    "bad",
    [{"max_labels": 0}, {"clause_weight": 1.5}, {"k_rule": "elbow"}, {"seed": "x"}],
)
def test_discoverer_checks_parameters_at_fit(bad):
    est = ThemeDiscoverer(**bad)  # constructing never fails
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        est.fit(TEXTS, fake_embed(TEXTS))


def test_discoverer_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedError):
        ThemeDiscoverer().predict(TEXTS, fake_embed(TEXTS))


def test_discoverer_predict_returns_lists_of_keys():
    vectors = fake_embed(TEXTS)
    est = ThemeDiscoverer(seed=0, min_themes=2).fit(TEXTS, vectors)
    predicted = est.predict(TEXTS, vectors)
    assert isinstance(predicted, list) and len(predicted) == len(TEXTS)
    keys = {t.key for t in est.themes_}
    assert all(isinstance(p, list) and set(p) <= keys for p in predicted)
    assert np.asarray(est.transform(TEXTS, vectors)).shape[0] == len(TEXTS)
