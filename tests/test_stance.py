"""StanceClassifier: relative to the proposal, no topic words; weak labels; the sklearn contract."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from heard.analysis.stance import (
    StanceClassifier,
    action_stem,
    asks_for_position,
    explicit_position,
    stance_axis,
)
from tests._fake_embed import fake_embed

PRO = ["splendid wonderful marvellous", "excellent splendid brilliant", "wonderful brilliant"]
CON = ["dreadful terrible awful", "horrible dreadful appalling", "terrible appalling"]


def corpus(n: int = 120) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(0)
    texts, gold = [], []
    for i in range(n):
        side = "agree" if i % 2 == 0 else "disagree"
        words = (PRO if side == "agree" else CON)[i % 3].split() + ["scheme", "council", "plans"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        gold.append(side)
    return texts, gold


def test_weak_labels_learn_the_mapping() -> None:
    texts, gold = corpus()
    vec = fake_embed(texts)
    weak = [g if i < 80 else None for i, g in enumerate(gold)]
    weak[0] = "disagree"  # a little noise
    m = StanceClassifier(fake_embed, seed=0).fit(texts, vec, weak)
    assert m.mode_ == "weak"
    labels, conf = m.predict(texts[80:], vec[80:])
    assert np.mean([a == b for a, b in zip(labels, gold[80:], strict=True)]) > 0.9
    assert ((conf >= 0.5) & (conf <= 1.0)).all()


def test_weak_labels_as_people_write_them() -> None:
    texts, gold = corpus()
    spelled = {"agree": "Support", "disagree": "AGAINST"}
    weak = [spelled[g] if i < 80 else None for i, g in enumerate(gold)]
    m = StanceClassifier(fake_embed, seed=0).fit(texts, fake_embed(texts), weak)
    assert m.mode_ == "weak"
    labels, _ = m.predict(texts[80:], fake_embed(texts[80:]))
    assert np.mean([a == b for a, b in zip(labels, gold[80:], strict=True)]) > 0.9


def test_too_few_weak_labels_fall_back_to_zero_shot() -> None:
    texts, _ = corpus(20)
    m = StanceClassifier(fake_embed).fit(texts, fake_embed(texts), ["agree"] + [None] * 19)
    assert m.mode_ in ("zero-shot", "self-trained")


@pytest.mark.parametrize(
    ("question", "stem"),
    [
        ("We should ban human cloning", "ban"),
        ("Should gambling advertisements be completely banned during sports?", "ban"),
        ("What are your general thoughts on banning gambling adverts?", "ban"),
        ("Homeschooling should be banned", "ban"),
        ("Please explain your answer.", None),
    ],
)
def test_action_stem(question: str, stem: str | None) -> None:
    assert action_stem(question) == stem


def test_explicit_position_is_relative_to_the_proposal() -> None:
    stem = action_stem("We should ban human cloning")
    assert explicit_position("We should ban human cloning because it is risky.", stem) == (1, 0)
    assert explicit_position("Cloning should not be banned, it saves lives.", stem) == (0, 1)
    assert explicit_position("I strongly support this.", None) == (1, 0)
    assert explicit_position("I do not support this at all.", None) == (0, 1)
    # no topic word carries a side by itself
    assert explicit_position("The black market and the nanny state.", None) == (0, 0)


@pytest.mark.parametrize(
    "text",
    [
        "We shouldn't ban it, people need it.",
        "They mustn't ban anything of the kind.",
        "There is no need to ban it.",
        "A government that cares won't ban it.",
        "We cannot ban it.",
    ],
)
def test_negated_modals_state_the_other_side(text: str) -> None:
    assert explicit_position(text, action_stem("We should ban human cloning")) == (0, 1)


def test_questions_in_an_answer_state_no_side() -> None:
    stem = action_stem("Should gambling adverts be banned?")
    assert explicit_position("Wouldn't a strict ban help? Nobody knows.", stem) == (0, 0)
    assert explicit_position("Should we ban them? Yes, we should ban them.", stem) == (2, 0)


def test_zero_shot_reads_explicit_statements_and_marks_conflicts_unclear() -> None:
    question = "We should ban private cars in the centre"
    texts = [
        "We should ban them, the air is filthy.",
        "Cars should not be banned, people need them.",
        "I agree with some of it, but I disagree with the rest.",
    ]
    m = StanceClassifier(fake_embed).fit(texts, question=question)
    labels, conf = m.predict(texts)
    assert labels == ["agree", "disagree", "unclear"]
    assert conf[2] < min(conf[0], conf[1])


def half_stated(n: int = 120) -> tuple[list[str], list[str], np.ndarray]:
    """Half the texts state a side; the rest only share its vocabulary."""
    texts, gold = corpus(n)
    cued = [
        (("I strongly support this. " if g == "agree" else "I oppose this. ") + t)
        if i % 4 < 2 else t
        for i, (t, g) in enumerate(zip(texts, gold, strict=True))
    ]
    return cued, gold, fake_embed(cued)


def test_zero_shot_self_trains_from_explicit_statements() -> None:
    cued, gold, vec = half_stated()
    # the prior reads nothing from hashed words, so it is left out here
    m = StanceClassifier(fake_embed, seed=0, prior_weight=0.0)
    m.fit(cued, vec, question="Should the park open?")
    assert m.mode_ == "self-trained"
    labels, _ = m.predict(cued, vec)
    plain = [i for i in range(120) if i % 4 >= 2]
    assert np.mean([labels[i] == gold[i] for i in plain]) > 0.8


def test_self_trained_threshold_matches_the_estimated_share() -> None:
    # Three times as many answers state agreement as disagreement.
    texts, gold = corpus(120)
    cued = [
        ("I strongly support this. " + t if g == "agree" else "I oppose this. " + t)
        if (i % 4 == 0 or i % 12 == 1)
        else t
        for i, (t, g) in enumerate(zip(texts, gold, strict=True))
    ]
    vec = fake_embed(cued)
    m = StanceClassifier(fake_embed, seed=0, prior_weight=0.0).fit(cued, vec, question="Q?")
    assert m.mode_ == "self-trained" and m.model_ is not None
    share = float(np.mean(1 / (1 + np.exp(-m.model_.decision_function(vec.astype(float))))))
    labels, _ = m.predict(cued, vec)
    assert abs(np.mean([x == "agree" for x in labels]) - share) < 0.05
    # the threshold is fixed at fit: scores do not depend on how answers are batched
    whole = m.decision_function(cued, vec)
    halves = np.concatenate(
        [m.decision_function(cued[:50], vec[:50]), m.decision_function(cued[50:], vec[50:])]
    )
    np.testing.assert_array_equal(whole, halves)
    off = StanceClassifier(fake_embed, seed=0, prior_weight=0.0, match_share=False)
    assert off.fit(cued, vec, question="Q?").threshold_ == 0.0


def test_zero_shot_reads_an_answer_through_its_clauses() -> None:
    cued, _, vec = half_stated()
    two = "It is splendid and wonderful for everyone here. The council plans are dreadful."
    one = "splendid wonderful brilliant scheme"
    other = fake_embed(["completely unrelated words entirely"])
    m = StanceClassifier(fake_embed, seed=0).fit(cued, vec, question="Should the park open?")
    assert m.mode_ == "self-trained" and m.clause_weight == 1.0
    # an answer of two points is read as the mean of its clauses, not its own vector
    np.testing.assert_array_equal(
        m.decision_function([two], fake_embed([two])), m.decision_function([two], other)
    )
    # an answer of one point keeps its own vector
    assert m.decision_function([one], fake_embed([one])) != m.decision_function([one], other)
    # and the whole answer alone, with clause_weight 0
    whole = StanceClassifier(fake_embed, seed=0, clause_weight=0.0)
    whole.fit(cued, vec, question="Should the park open?")
    assert whole.decision_function([two], fake_embed([two])) != whole.decision_function(
        [two], other
    )


def test_clauses_of_the_fitted_answers_are_embedded_once() -> None:
    cued, _, _ = half_stated()
    points = [f"{t}. It is a plan for everyone living here." for t in cued]
    seen: list[str] = []

    def counting(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return fake_embed(texts)

    vec = fake_embed(points)
    m = StanceClassifier(counting, seed=0).fit(points, vec, question="Should the park open?")
    assert m.mode_ == "self-trained"
    fitted = len(seen)
    scores = m.decision_function(points, vec)
    assert len(seen) == fitted  # the fitted answers' clauses come from the fit
    new = "It is dreadful and terrible. Nobody in the town wants this plan at all."
    m.decision_function([new], fake_embed([new]))
    assert len(seen) > fitted  # a new answer's clauses are embedded
    # a copy shipped to a worker (a shallow copy, then pickled) carries no memo, and
    # scores the same
    shipped = copy.copy(m)
    shipped.embed = fake_embed
    shipped = pickle.loads(pickle.dumps(shipped))
    assert "_clause_memo" not in shipped.__dict__
    np.testing.assert_allclose(shipped.decision_function(points, vec), scores, atol=1e-9)


def test_weak_labels_read_the_answer_itself() -> None:
    texts, gold = corpus()
    vec = fake_embed(texts)
    m = StanceClassifier(fake_embed, seed=0).fit(texts, vec, gold)
    assert m.mode_ == "weak"
    two = "It is splendid and wonderful for everyone here. The council plans are dreadful."
    other = fake_embed(["completely unrelated words entirely"])
    assert m.decision_function([two], fake_embed([two])) != m.decision_function([two], other)


def test_self_trained_prior_is_the_tone_not_the_agree_anchor() -> None:
    cued, _, vec = half_stated()

    def scores(question: str, **params: object) -> np.ndarray:
        m = StanceClassifier(fake_embed, seed=0, **params).fit(cued, vec, question=question)
        assert m.mode_ == "self-trained"
        return m.decision_function(cued, vec)

    # Rewording the proposal moves "I agree: <proposal>", not the tone or the statements.
    a, b = "Should the park open?", "Should the big park open this summer?"
    np.testing.assert_array_equal(scores(a), scores(b))
    assert not np.array_equal(
        scores(a, anchor_self_trained=True), scores(b, anchor_self_trained=True)
    )
    # Zero-shot (no statements of a side) keeps the anchor: it is all there is.
    texts, _ = corpus(40)
    zero = StanceClassifier(fake_embed, seed=0).fit(texts, fake_embed(texts), question=a)
    assert zero.mode_ == "zero-shot" and zero.anchor_scale_ == 1.0


def test_zero_shot_self_trains_on_the_ends_of_its_prior() -> None:
    # No answer states a side. The anchors see the side weakly (dimension 0); the answers
    # share a stronger sign of it that no anchor sentence names (dimension 1).
    rng = np.random.default_rng(0)
    n, dim = 200, 16
    side = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    rows = rng.normal(scale=0.5, size=(n, dim))
    rows[:, 0] += 0.3 * side
    rows[:, 1] += 1.5 * side
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    texts = [f"answer number {i}" for i in range(n)]
    table = dict(zip(texts, rows, strict=True))

    def embed(batch: list[str]) -> np.ndarray:
        out = np.zeros((len(batch), dim))
        for i, text in enumerate(batch):
            if text in table:
                out[i] = table[text]
            else:  # "I agree: …" on +0, "I disagree: …" on -0, the tone sentences on 2
                out[i, 0 if "agree" in text else 2] = -1.0 if "disagree" in text else 1.0
        return out.astype(np.float32)

    gold = ["agree" if s > 0 else "disagree" for s in side]
    vec = embed(texts)

    def accuracy(**params: object) -> tuple[float, StanceClassifier]:
        m = StanceClassifier(embed, seed=0, **params).fit(texts, vec, question="Q?")
        labels, _ = m.predict(texts, vec)
        return float(np.mean([a == b for a, b in zip(labels, gold, strict=True)])), m

    alone, prior_only = accuracy(prior_share=0.0)
    trained, m = accuracy()
    assert prior_only.model_ is None and m.model_ is not None and m.prior_share == 0.35
    assert m.mode_ == "zero-shot"  # still not a side the answers state (no stance axis)
    assert stance_axis(m, texts, vec) is None
    assert trained > alone + 0.05  # 0.80 against 0.71 when written
    # the threshold is the median, fixed at fit
    labels, _ = m.predict(texts, vec)
    assert abs(np.mean([x == "agree" for x in labels]) - 0.5) <= 0.01
    np.testing.assert_array_equal(
        m.decision_function(texts, vec),
        np.concatenate([m.decision_function(texts[:70], vec[:70]),
                        m.decision_function(texts[70:], vec[70:])]),
    )


def test_standardised_regression_reads_the_vectors_as_they_are() -> None:
    texts, gold = corpus()
    vec = fake_embed(texts)
    weak = [g if i < 80 else None for i, g in enumerate(gold)]
    m = StanceClassifier(fake_embed, seed=0, standardise=True, standardise_scale=1.0)
    m.fit(texts, vec, weak)
    assert m.mode_ == "weak" and m.model_ is not None
    # the same regression, fitted by hand on the standardised dimensions
    x = vec.astype(np.float64)
    features = (x - x.mean(axis=0)) / ((x.std(axis=0) + 1e-6) * np.sqrt(x.shape[1]))
    rows = np.arange(80)
    y = np.array([1 if g == "agree" else 0 for g in gold[:80]])
    ref = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(
        features[rows].astype(np.float32), y
    )
    np.testing.assert_allclose(
        m.decision_function(texts, vec), ref.decision_function(features), atol=1e-4
    )
    labels, _ = m.predict(texts[80:], vec[80:])
    assert np.mean([a == b for a, b in zip(labels, gold[80:], strict=True)]) > 0.9
    # off, the regression reads the unit vectors
    plain = StanceClassifier(fake_embed, seed=0, standardise=False).fit(texts, vec, weak)
    assert not np.allclose(plain.decision_function(texts, vec), m.decision_function(texts, vec))


def test_the_weak_regression_is_standardised_by_default() -> None:
    texts, gold = corpus()
    vec = fake_embed(texts)
    weak = [g if i < 80 else None for i, g in enumerate(gold)]
    # weak labels: the default standardises the regression, at a spread of 1/sqrt(dim)
    m = StanceClassifier(fake_embed, seed=0).fit(texts, vec, weak)
    assert m.mode_ == "weak" and (m.standardise, m.standardise_scale) == ("weak", 1.0)
    x = vec.astype(np.float64)
    features = (x - x.mean(axis=0)) / ((x.std(axis=0) + 1e-6) * np.sqrt(x.shape[1]))
    y = np.array([1 if g == "agree" else 0 for g in gold[:80]])
    ref = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(
        features[:80].astype(np.float32), y
    )
    np.testing.assert_allclose(
        m.decision_function(texts, vec), ref.decision_function(features), atol=1e-4
    )
    # a larger scale is a weaker penalty in effect: the same answers read with more confidence
    wide = StanceClassifier(fake_embed, seed=0, standardise_scale=2.0).fit(texts, vec, weak)
    assert np.abs(wide.decision_function(texts, vec)).mean() > np.abs(
        m.decision_function(texts, vec)
    ).mean()
    # self-trained: "weak" leaves the regression on the unit vectors, as without it
    cued, _, cued_vec = half_stated()
    q = "Should the park open?"
    only_weak = StanceClassifier(fake_embed, seed=0)
    off = StanceClassifier(fake_embed, seed=0, standardise=False)
    every = StanceClassifier(fake_embed, seed=0, standardise=True)
    for model in (only_weak, off, every):
        model.fit(cued, cued_vec, question=q)
        assert model.mode_ == "self-trained"
    np.testing.assert_array_equal(
        only_weak.decision_function(cued, cued_vec), off.decision_function(cued, cued_vec)
    )
    assert not np.allclose(
        every.decision_function(cued, cued_vec), off.decision_function(cued, cued_vec)
    )


def test_deterministic() -> None:
    texts, gold = corpus()
    vec = fake_embed(texts)
    a = StanceClassifier(fake_embed, seed=1).fit(texts, vec, gold).predict_proba(texts, vec)
    b = StanceClassifier(fake_embed, seed=1).fit(texts, vec, gold).predict_proba(texts, vec)
    np.testing.assert_array_equal(a, b)


def test_estimator_contract() -> None:
    m = StanceClassifier(fake_embed, seed=3, min_confidence=0.7)
    params = m.get_params()
    assert params["seed"] == 3 and params["min_confidence"] == 0.7
    assert params["embed"] is fake_embed
    m.set_params(C=0.5)
    assert m.C == 0.5
    assert clone(m).get_params()["C"] == 0.5
    with pytest.raises(NotFittedError, match="not fitted"):
        m.predict(["text"], fake_embed(["text"]))
    texts, _ = corpus(20)
    labels, conf = m.fit(texts, fake_embed(texts)).predict(texts, fake_embed(texts))
    assert isinstance(labels, list) and isinstance(conf, np.ndarray)
    assert set(labels) <= {"agree", "disagree", "unclear"}


@pytest.mark.parametrize(
    "bad",
    [
        {"min_confidence": 0.2},
        {"C": 0},
        {"min_weak": 0},
        {"prior_weight": -1},
        {"clause_weight": 1.5},
        {"prior_share": 0.6},
        {"standardise": "zero-shot"},
        {"standardise_scale": 0},
    ],
)
def test_parameters_are_checked_at_fit(bad: dict) -> None:
    m = StanceClassifier(fake_embed, **bad)  # storing never fails
    with pytest.raises(ValueError):
        m.fit(["a text"], fake_embed(["a text"]))


def test_fit_needs_an_embedder_and_matching_vectors() -> None:
    with pytest.raises(ValueError, match="embed"):
        StanceClassifier().fit(["a"])
    with pytest.raises(ValueError, match="one row per text"):
        StanceClassifier(fake_embed).fit(["a", "b"], fake_embed(["a"]))


@pytest.mark.parametrize(
    ("question", "answers", "expected"),
    [
        ("To what extent do you agree or disagree that it should be permanent?", [], True),
        ("Please explain why you gave this answer.", ["Because."], True),
        ("We should abolish capital punishment", ["It is cruel."], True),
        ("What are your general thoughts on banning adverts?", ["Fine."], True),
        ("Is there anything we could change to improve the scheme?", ["More bins."], False),
        ("Do you have any suggestions?", ["Open later.", "More staff."], False),
        ("Comment", ["Please fund rural clinics.", "Our platform offers APIs."], False),
        ("Comment", ["I support the rule.", "I oppose it.", "I agree.", "Data."], True),
        ("Any suggestions?", ["I support it."] * 5 + ["More bins."], True),
    ],
)
def test_asks_for_position(question: str, answers: list[str], expected: bool) -> None:
    assert asks_for_position(question, answers) is expected


def test_stance_axis_only_where_answers_state_their_side() -> None:
    cued, gold, vec = half_stated()
    m = StanceClassifier(fake_embed, seed=0, prior_weight=0.0)
    m.fit(cued, vec, question="Should the park open?")
    axis = stance_axis(m, cued, vec)
    assert axis is not None and axis.shape == (120,)
    assert np.all(np.abs(axis) <= 1.0)
    signs = np.sign(axis[[i for i in range(120) if i % 4 < 2]])
    wanted = [1.0 if gold[i] == "agree" else -1.0 for i in range(120) if i % 4 < 2]
    assert np.mean(signs == wanted) > 0.9
    # probabilities already predicted give the same axis without predicting again
    again = stance_axis(m, cued, vec, proba=m.predict_proba(cued, vec))
    assert again is not None and np.array_equal(again, axis)
    sure = stance_axis(m, cued, vec, min_confidence=0.99)
    assert sure is not None and (sure == 0).sum() >= (axis == 0).sum()
    # No statements of a side: tone alone is not used to split themes.
    texts, _ = corpus(120)
    zero = StanceClassifier(fake_embed, seed=0).fit(texts, fake_embed(texts))
    assert zero.mode_ == "zero-shot"
    assert stance_axis(zero, texts, fake_embed(texts)) is None
