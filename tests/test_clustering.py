"""Theme discovery on small synthetic topics (TF-IDF + SVD vectors) and on gambling_1000."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score

from heard.analysis.clustering import ThemeDiscoverer, cut_tree, mix_weights, ward_tree
from heard.analysis.labels import label_side
from heard.analysis.quotes import verify_quote
from tests.conftest import shared_dataset

TOPICS = {
    "transport": (
        ["bus", "train", "cycle lane", "road", "traffic", "parking"],
        [
            "The {a} near my home needs work.",
            "Please fix the {a} and the {b}.",
            "Our {a} is a daily problem. The {b} is worse.",
        ],
    ),
    "housing": (
        ["rent", "landlord", "social housing", "mortgage", "eviction", "deposit"],
        [
            "My {a} keeps going up.",
            "Nobody helps with the {a} or the {b}.",
            "The {a} is unfair to families. We need rules on the {b}.",
        ],
    ),
    "health": (
        ["GP appointment", "hospital", "waiting list", "nurse", "pharmacy", "dentist"],
        [
            "I waited months for a {a}.",
            "The {a} and the {b} are overstretched.",
            "Getting a {a} is hard. The {b} was closed.",
        ],
    ),
}


def make_corpus(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` short answers drawn from three clearly separate topics, with their topic."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    texts, topics = [], []
    for i in range(n):
        topic = names[i % 3]
        words, templates = TOPICS[topic]
        a, b = rng.choice(len(words), 2, replace=False)
        texts.append(templates[rng.integers(len(templates))].format(a=words[a], b=words[b]))
        topics.append(topic)
    return texts, topics


def vectorise(texts: list[str], dim: int = 20) -> np.ndarray:
    """TF-IDF + SVD unit vectors (empty texts get a zero row)."""
    x = TfidfVectorizer().fit_transform([t or "empty" for t in texts])
    v = TruncatedSVD(min(dim, x.shape[1] - 1), random_state=0).fit_transform(x)
    v[[not (t or "").strip() for t in texts]] = 0.0
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(n > 0, n, 1.0)).astype(np.float32)


def leaves(themes: list) -> list:
    """Themes responses are mapped to: those no other theme names as its parent."""
    parents = {t.parent for t in themes}
    return [t for t in themes if t.key not in parents]


def primary(model: ThemeDiscoverer) -> list[str]:
    return [
        labs[0] if labs else out[0]
        for labs, out in zip(model.labels_, model.outcomes_, strict=True)
    ]


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str], np.ndarray]:
    texts, topics = make_corpus(300)
    texts[5] = "   "
    texts[17] = ""
    return texts, topics, vectorise(texts)


@pytest.fixture(scope="module")
def fitted(corpus) -> ThemeDiscoverer:
    texts, _, x = corpus
    return ThemeDiscoverer(seed=0, min_themes=2).fit(texts, x)


def test_every_text_has_one_outcome(corpus, fitted):
    texts, _, _ = corpus
    assert len(fitted.outcomes_) == len(fitted.labels_) == len(fitted.confidence_) == len(texts)
    kinds = [o[0] for o in fitted.outcomes_]
    assert set(kinds) <= {"mapped", "other", "empty"}
    assert all(reason for _, reason in fitted.outcomes_)
    assert kinds[5] == kinds[17] == "empty"
    for labs, (kind, _) in zip(fitted.labels_, fitted.outcomes_, strict=True):
        assert (len(labs) >= 1) == (kind == "mapped")
    assert kinds.count("other") / len(texts) < 0.05
    assert np.all((fitted.confidence_ >= 0) & (fitted.confidence_ <= 1))


def test_recovers_three_topics(corpus, fitted):
    texts, topics, _ = corpus
    keep = [i for i, t in enumerate(texts) if t.strip()]
    pred = primary(fitted)
    # Leaves may split a topic, but never mix two: every leaf is pure.
    for key in {pred[i] for i in keep}:
        assert len({topics[i] for i in keep if pred[i] == key}) == 1


def test_hierarchy_and_labels(fitted):
    leaf_themes = leaves(fitted.themes_)
    parents = {t.parent for t in fitted.themes_ if t.parent}
    assert leaf_themes and parents, "expected a two-level hierarchy"
    # A parent has at least two children: one alone would repeat its only child.
    for p in parents:
        assert sum(t.parent == p for t in fitted.themes_) >= 2
    assert {k for labs in fitted.labels_ for k in labs} <= {t.key for t in leaf_themes}
    top = [t.label.lower() for t in fitted.themes_ if t.parent is None]
    assert len(top) == len(set(top))
    for theme in fitted.themes_:
        assert 1 <= len(theme.label.split()) <= 8
        assert theme.description
        assert theme.key_phrases


def test_quotes_are_exact_substrings(corpus, fitted):
    texts, _, _ = corpus
    for theme in fitted.themes_:
        if theme in leaves(fitted.themes_):
            assert 1 <= len(theme.quotes) <= 5
        for i, quote in theme.quotes:
            assert verify_quote(texts[i], quote)
            assert fitted.labels_[i]  # quoted from a mapped response


def test_deterministic(corpus, fitted):
    texts, _, x = corpus
    again = ThemeDiscoverer(seed=0, min_themes=2).fit(texts, x)
    assert again.labels_ == fitted.labels_
    assert [(t.key, t.label, t.quotes) for t in again.themes_] == [
        (t.key, t.label, t.quotes) for t in fitted.themes_
    ]
    np.testing.assert_array_equal(again.confidence_, fitted.confidence_)


def test_weights_pull_counts(corpus):
    texts, _, x = corpus
    w = np.ones(len(texts))
    w[0] = 500.0
    heavy = ThemeDiscoverer(seed=0, min_themes=2).fit(texts, x, weights=w)
    key0 = heavy.labels_[0][0]
    by_size = sorted(leaves(heavy.themes_), key=lambda t: -t.size)
    assert by_size[0].key == key0 and by_size[0].size >= 500  # the heavy answer's theme leads
    assert sum(t.size for t in by_size) == pytest.approx(
        sum(w[i] for i, labs in enumerate(heavy.labels_) if labs)
    )


def test_substantive_mask_respected(corpus):
    texts, _, x = corpus
    mask = [bool(t.strip()) for t in texts]
    mask[0] = False
    model = ThemeDiscoverer(seed=0).fit(texts, x, substantive=mask)
    assert model.outcomes_[0][0] == "empty" and model.labels_[0] == []


def test_small_and_tiny_inputs():
    texts, _ = make_corpus(50)
    model = ThemeDiscoverer(seed=0).fit(texts, vectorise(texts))
    assert 1 <= len(leaves(model.themes_)) <= 8
    assert all(o[0] in {"mapped", "other"} for o in model.outcomes_)

    tiny = ["Fix the buses.", "Rents are too high.", ""]
    model = ThemeDiscoverer(seed=0).fit(tiny, vectorise(tiny, dim=2))
    assert [o[0] for o in model.outcomes_] == ["mapped", "mapped", "empty"]
    # One leaf and nothing above it: a parent would only repeat it.
    assert [(t.key, t.parent) for t in model.themes_] == [("t1", None)]
    assert model.labels_[:2] == [["t1"], ["t1"]]

    empty = ThemeDiscoverer(seed=0).fit([], np.zeros((0, 4)))
    assert empty.themes_ == [] and empty.outcomes_ == []
    blank = ThemeDiscoverer(seed=0).fit(["", " "], np.zeros((2, 4)))
    assert [o[0] for o in blank.outcomes_] == ["empty", "empty"]


def test_sample_then_assign_and_predict(corpus):
    texts, topics, x = corpus
    model = ThemeDiscoverer(seed=1, sample_size=90, tree_size=60, min_themes=2).fit(texts, x)
    assert len(model.sample_) == 90
    keep = [i for i, t in enumerate(texts) if t.strip()]
    pred = primary(model)
    for key in {pred[i] for i in keep} - {"other"}:  # leaves stay pure when assigned
        assert len({topics[i] for i in keep if pred[i] == key}) == 1
    assert sum(p == "other" for p in pred) / len(pred) < 0.1
    new_texts, _ = make_corpus(9, seed=5)
    assert model.predict(texts[:9], x[:9]) == model.labels_[:9]
    assert model.transform(new_texts, x[:9]).shape == (9, len(model.centroids_))


def test_leaf_count_is_capped_and_rules(corpus):
    texts, _, x = corpus
    model = ThemeDiscoverer(seed=0).fit(texts, x)
    assert max(model.silhouettes_) <= 15  # codebook-sized default cap
    gap = ThemeDiscoverer(seed=0, min_themes=2, k_rule="gap").fit(texts, x)
    assert set(gap.k_scores_) == set(gap.silhouettes_)


def test_text_features_transform_matches_fit(corpus):
    texts, _, x = corpus
    model = ThemeDiscoverer(seed=0, min_themes=2, text_weight=0.3, remove_top=1).fit(texts, x)
    assert model.centroids_.shape[1] > x.shape[1]
    assert model.predict(texts[:30], x[:30]) == model.labels_[:30]


def test_mix_weights_recover_a_blend():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(4, 30))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    x = np.vstack([0.7 * c[0] + 0.3 * c[2], c[1], np.zeros(30)])
    a = mix_weights(x, c)
    np.testing.assert_allclose(a, [[0.7, 0, 0.3, 0], [0, 1, 0, 0], [0, 0, 0, 0]], atol=1e-6)
    assert mix_weights(np.zeros((0, 30)), c).shape == (0, 4)


def test_answers_making_two_points_get_two_themes():
    texts, topics = make_corpus(300)
    # Consecutive answers are on different topics: glue pairs into two-point answers.
    mixed = [f"{texts[i]} {texts[i + 1]}" for i in range(0, 90, 3)]
    x = vectorise(texts + mixed)
    model = ThemeDiscoverer(seed=0, min_themes=2).fit(texts + mixed, x)
    n_single = np.mean([len(labs) for labs in model.labels_[:300]])
    n_mixed = np.mean([len(labs) for labs in model.labels_[300:]])
    assert n_mixed >= 1.5 and n_mixed > n_single + 0.5
    for labs, (kind, reason) in zip(model.labels_, model.outcomes_, strict=True):
        assert len(labs) == len(set(labs)) <= 3
        assert (len(labs) > 1) == ("also" in reason)
        assert (len(labs) >= 1) == (kind == "mapped")
    one = ThemeDiscoverer(seed=0, min_themes=2, max_labels=1).fit(texts + mixed, x)
    assert all(len(labs) <= 1 for labs in one.labels_)
    assert [labs[:1] for labs in model.labels_] == one.labels_  # the nearest theme leads


def test_ward_tree_cut():
    x = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 5.0], [5.0, 5.2], [9.0, 0.0]])
    merges = ward_tree(x, np.ones(5))
    assert merges.shape == (4, 3) and np.all(np.diff(merges[:, 2]) >= 0)
    cuts = cut_tree(merges, 5, [3])
    assert cuts[3].tolist() == [0, 0, 1, 1, 2]


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.quality
def test_gambling_1000_stable_and_pure():
    """A quality floor: it skips only when the shared set is missing, never on an error or a
    slow machine (its time is measured in benchmarks/bench_core.py)."""
    from heard.analysis import embeddings

    folder = shared_dataset("gambling_1000")
    with open(folder / "responses.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    gold: dict[str, set[str]] = {}
    with open(folder / "gold_themes.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            gold.setdefault(row["response_id"], set()).add(row["theme"])
    texts = [r["text"] for r in rows]
    x = embeddings.get_embedder("static").embed(texts)  # shipped: fast, and always there
    runs = [primary(ThemeDiscoverer(seed=s).fit(texts, x)) for s in (0, 1, 2)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert adjusted_rand_score(runs[a], runs[b]) >= 0.9
    # Purity with multi-label gold: a response is pure if its cluster's top label is one of its.
    lab = runs[0]
    ids = [r["response_id"] for r in rows]
    members: dict[str, list[int]] = {}
    for i, c in enumerate(lab):
        members.setdefault(c, []).append(i)
    top = {}
    for c, idx in members.items():
        counts: dict[str, int] = {}
        for i in idx:
            for g in gold.get(ids[i], ()):
                counts[g] = counts.get(g, 0) + 1
        top[c] = max(sorted(counts), key=counts.get) if counts else None
    labelled = [i for i in range(len(ids)) if gold.get(ids[i])]
    purity = sum(top[lab[i]] in gold[ids[i]] for i in labelled) / len(labelled)
    n_leaves = len(set(lab) - {"other", "empty"})
    # Measured with the static embedder, seed 0: 13 leaves, purity 0.94, stability ARI 1.0.
    # The floors sit a little below so that small numeric drift does not fail the test.
    assert 8 <= n_leaves <= 15
    assert purity >= 0.9


def test_stance_keeps_the_sides_apart():
    # Two topics, each argued for and against in the same words: the text alone cannot
    # tell the sides apart, a stance coordinate can.
    texts, topics = make_corpus(240)
    keep = [i for i, t in enumerate(topics) if t != "health"]
    texts, topics = [texts[i] for i in keep], [topics[i] for i in keep]
    x = vectorise(texts)
    side = np.where(np.array(keep) // 3 % 2 == 0, 1.0, -1.0)  # both sides of each topic
    plain = ThemeDiscoverer(seed=0, min_themes=2, max_themes=4).fit(texts, x)
    split = ThemeDiscoverer(seed=0, min_themes=2, max_themes=4, stance_weight=0.3)
    split.fit(texts, x, stance=side)

    def mixed(pred: list[str]) -> int:  # leaves holding answers of both sides
        return sum(len({s for s, p in zip(side, pred, strict=True) if p == k}) > 1
                   for k in set(pred))

    assert mixed(primary(split)) == 0
    assert mixed(primary(plain)) > 0
    # Without a stance the weight is ignored, and assignment without one still works.
    again = ThemeDiscoverer(seed=0, min_themes=2, max_themes=4, stance_weight=0.3)
    assert primary(again.fit(texts, x)) == primary(plain)
    assert len(split.predict(texts[:5], x[:5])) == 5


def test_core_share_finds_leaves_among_the_densest(corpus):
    texts, topics, x = corpus
    model = ThemeDiscoverer(seed=0, min_themes=2, core_share=0.7).fit(texts, x)
    assert len(model.labels_) == len(texts)
    keep = [i for i, t in enumerate(texts) if t.strip()]
    pred = primary(model)
    for key in {pred[i] for i in keep}:  # every answer joins a leaf; leaves stay pure
        assert len({topics[i] for i in keep if pred[i] == key}) == 1
    with pytest.raises(ValueError, match="core_share"):
        ThemeDiscoverer(core_share=0.0).fit(texts, x)


def sided_corpus() -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Two topics argued for and against in the same words; housing is argued one way only."""
    texts, topics = make_corpus(240)
    keep = [i for i, t in enumerate(topics) if t != "health"]
    texts, topics = [texts[i] for i in keep], [topics[i] for i in keep]
    side = np.where(np.array(keep) // 3 % 2 == 0, 1.0, -1.0)
    side[np.array(topics) == "housing"] = 1.0
    return texts, topics, vectorise(texts), side


def test_side_share_splits_only_the_mixed_leaves():
    texts, topics, x, side = sided_corpus()
    side[::10] = 0.0  # some answers state no side
    plain = ThemeDiscoverer(seed=0, min_themes=2, max_themes=4).fit(texts, x)
    model = ThemeDiscoverer(seed=0, min_themes=2, max_themes=4, side_share=0.25)
    model.fit(texts, x, stance=side)
    leaf_themes = leaves(model.themes_)
    by_key = {t.key: t for t in leaf_themes}
    sides = model.leaf_side_
    n_split = int((sides > 0).sum())
    assert n_split >= 1 and (sides < 0).sum() == n_split
    assert len(leaf_themes) == len(leaves(plain.themes_)) + n_split
    pred = primary(model)
    for j, key in enumerate(model.keys_):
        members = [i for i, p in enumerate(pred) if p == key]
        assert len({topics[i] for i in members}) == 1  # leaves stay on one topic
        if sides[j]:  # transport, argued both ways: one side per leaf
            assert {side[i] for i in members} <= {float(sides[j]), 0.0}
        else:  # housing, argued one way: not split
            assert {topics[i] for i in members} == {"housing"}
    # each split leaf's two sides share its parent; labels differ and name the side
    for c in set(model.leaf_content_[sides != 0].tolist()):
        pair = [by_key[model.keys_[j]] for j in np.flatnonzero(model.leaf_content_ == c)]
        assert len({t.parent for t in pair}) == 1 and pair[0].parent
        assert sorted(t.label.split(":", 1)[0] for t in pair) == ["Opponents", "Supporters"]
        assert {t.side: label_side(t.label)[0] for t in pair} == {1: 1, -1: -1}  # kept apart
    assert all(t.side == 0 for t in leaf_themes if ":" not in t.label)
    assert len({t.label.lower() for t in leaf_themes}) == len(leaf_themes)
    # assigning the same answers with their stance gives the fitted leaves
    assert model.assign(texts, x, stance=side).labels == model.labels_
    assert len(model.predict(texts[:5], x[:5])) == 5  # without a stance: the nearer side


def test_side_share_off_without_a_stance_or_a_mixed_leaf():
    texts, _, x, side = sided_corpus()
    plain = ThemeDiscoverer(seed=0, min_themes=2, max_themes=2).fit(texts, x)
    for model, stance in (
        (ThemeDiscoverer(seed=0, min_themes=2, max_themes=2, side_share=0.25), None),
        (ThemeDiscoverer(seed=0, min_themes=2, max_themes=2, side_share=0.6), side),
        (ThemeDiscoverer(seed=0, min_themes=2, max_themes=2, side_share=0.25, side_min=99), side),
        # positions of confidence 0.65 do not count when 0.7 is asked for
        (ThemeDiscoverer(
            seed=0, min_themes=2, max_themes=2, side_share=0.25, side_confidence=0.7
        ), 0.3 * side),
    ):
        model.fit(texts, x, stance=stance)
        assert model.labels_ == plain.labels_
        assert [t.label for t in model.themes_] == [t.label for t in plain.themes_]
    for bad in ({"side_share": 1.5}, {"side_min": 0}, {"side_confidence": 0.4}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ThemeDiscoverer(**bad).fit(texts, x)
    with pytest.raises(ValueError, match="stance has 3 values"):
        ThemeDiscoverer().fit(texts, x, stance=[1.0, -1.0, 0.0])


def question_corpus() -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Three topics; half the answers lean hard on the question's own direction."""
    rng = np.random.default_rng(0)
    q = np.zeros(8)
    q[0] = 1.0
    texts, topics, rows = [], [], []
    for i in range(180):
        t = i % 3
        lean = 3.0 if (i // 3) % 2 else 0.2  # how much of the answer restates the question
        v = lean * q + np.eye(8)[t + 1] + 0.15 * rng.normal(size=8)
        texts.append(f"answer {i}")
        topics.append(str(t))
        rows.append(v / np.linalg.norm(v))
    return texts, topics, np.array(rows), q


def test_question_weight_takes_the_question_out():
    texts, topics, x, q = question_corpus()
    asked: list[str] = []

    def embed(more: list[str]) -> np.ndarray:
        asked.extend(more)
        rng = np.random.default_rng(len(more))
        out = rng.normal(size=(len(more), 8))
        out[[m == "What do you think?" for m in more]] = q
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def mixed(model: ThemeDiscoverer) -> int:  # leaves holding answers of several topics
        pred = primary(model)
        return sum(len({topics[i] for i, p in enumerate(pred) if p == k}) > 1 for k in set(pred))

    args = {"seed": 0, "min_themes": 3, "max_themes": 3, "clause_weight": 0.0, "embed": embed}
    plain = ThemeDiscoverer(**args).fit(texts, x, question="What do you think?")
    assert "What do you think?" not in asked  # off by default: the question is not embedded
    model = ThemeDiscoverer(question_weight=1.0, **args)
    model.fit(texts, x, question="What do you think?")
    assert mixed(plain) > 0 and mixed(model) == 0
    assert model.assign(texts, x).labels == model.labels_  # new answers lose it too
    # without a question's text nothing is taken out
    again = ThemeDiscoverer(question_weight=1.0, **args).fit(texts, x)
    assert primary(again) == primary(plain)
    with pytest.raises(ValueError, match="question_weight"):
        ThemeDiscoverer(question_weight=1.5).fit(texts, x)
