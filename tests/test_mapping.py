"""ThemeMapper: multi-label output, thresholds, zero-shot and few-shot, active learning."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass

import numpy as np
import pytest

from heard.analysis.clustering import ThemeSpec
from heard.analysis.mapping import (
    ThemeMapper,
    _decide,
    example_cardinality,
    few_shot_share_offset,
    pool_shares,
    split_clauses,
    transductive_examples,
)
from tests._fake_embed import fake_embed
from tests.conftest import shared_dataset


@dataclass
class Theme:
    key: str
    label: str
    description: str = ""


THEMES = [
    Theme("cost", "Cost", "prices money expensive budget afford taxes bills"),
    Theme("safety", "Safety", "danger accidents injury police crime risk"),
    Theme("nature", "Nature", "trees birds wildlife river parks green"),
]
WORDS = {t.key: t.description.split() for t in THEMES}
FILLER = "people think about this proposal today really quite often".split()


def make_corpus(n: int = 150, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Synthetic responses: one or two themes each, in separate sentences, with filler."""
    rng = np.random.default_rng(seed)
    texts, gold = [], []
    keys = list(WORDS)
    for i in range(n):
        chosen = [keys[i % 3]] + ([keys[(i + 1) % 3]] if i % 4 == 0 else [])
        sentences = []
        for key in chosen:
            words = list(rng.choice(WORDS[key], 3, replace=False)) + list(rng.choice(FILLER, 3))
            rng.shuffle(words)
            sentences.append(" ".join(words).capitalize() + ".")
        texts.append(" However, ".join(sentences))
        gold.append(chosen)
    return texts, gold


def micro_f1(pred: list[list[str]], gold: list[list[str]]) -> float:
    tp = sum(len(set(p) & set(g)) for p, g in zip(pred, gold, strict=True))
    return 2 * tp / max(1, sum(map(len, pred)) + sum(map(len, gold)))


@pytest.fixture(scope="module")
def corpus():
    texts, gold = make_corpus()
    return texts, gold, fake_embed(texts)


def test_split_clauses_splits_on_sentences_and_contrast() -> None:
    parts = split_clauses("Prices are far too high today. However, parks would benefit greatly.")
    assert len(parts) == 2 and parts[1].startswith("parks")


def test_zero_shot_prefers_the_matching_description(corpus) -> None:
    texts, gold, vec = corpus
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec)
    prob = m.predict_proba(texts, vec)
    assert prob.shape == (len(texts), 3)
    assert ((prob >= 0) & (prob <= 1)).all()
    top = [m.keys_[j] for j in prob.argmax(axis=1)]
    assert np.mean([t in g for t, g in zip(top, gold, strict=True)]) > 0.8
    one = ["Trees and birds by the river."]
    single = m.predict(one, fake_embed(one))
    assert single[0][0] == "nature"


def test_predict_is_multi_label_with_thresholds(corpus) -> None:
    texts, gold, vec = corpus
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec)
    pred = m.predict(texts, vec)
    assert m.thresholds_.shape == (3,)
    assert any(len(p) >= 2 for p in pred)
    assert all(len(set(p)) == len(p) for p in pred)
    assert micro_f1(pred, gold) > 0.6


def test_few_shot_improves_over_zero_shot() -> None:
    # Descriptions that point only weakly at the themes: the examples carry the signal.
    texts, gold = make_corpus(180, seed=1)
    vec = fake_embed(texts)
    vague = [Theme("cost", "Cost"), Theme("safety", "Safety"), Theme("nature", "Nature")]
    zero = ThemeMapper(fake_embed, seed=0).fit(vague, texts, vec)
    examples = [(i, gold[i]) for i in range(30)]
    few = ThemeMapper(fake_embed, seed=0).fit(vague, texts, vec, examples)
    rest = slice(30, None)
    f_zero = micro_f1(zero.predict(texts, vec)[rest], gold[rest])
    f_few = micro_f1(few.predict(texts, vec)[rest], gold[rest])
    assert f_few > f_zero + 0.1
    assert f_few > 0.8
    assert few.mode_ == "few-shot" and zero.mode_ == "zero-shot"


def test_deterministic_for_a_seed(corpus) -> None:
    texts, gold, vec = corpus
    ex = [(i, gold[i]) for i in range(12)]
    a = ThemeMapper(fake_embed, seed=3).fit(THEMES, texts, vec, ex).predict_proba(texts, vec)
    b = ThemeMapper(fake_embed, seed=3).fit(THEMES, texts, vec, ex).predict_proba(texts, vec)
    np.testing.assert_array_equal(a, b)


def test_predicts_in_chunks_identically(corpus) -> None:
    texts, gold, vec = corpus
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec)
    whole = m.predict_proba(texts, vec)
    m.batch_size = 7
    np.testing.assert_allclose(m.predict_proba(texts, vec), whole, atol=1e-6)


def test_empty_prediction_means_other(corpus) -> None:
    texts, gold, vec = corpus
    m = ThemeMapper(fake_embed, seed=0, floor=1.01, transduce_top=0).fit(THEMES, texts, vec)
    m.thresholds_[:] = 1.01
    assert m.predict(texts[:3], vec[:3]) == [[], [], []]


def test_suggest_review_returns_distinct_uncertain_non_duplicate_indices(corpus) -> None:
    texts, gold, vec = corpus
    # A campaign: 40 copies of one ambiguous text must not fill the review list.
    camp = "Prices and danger and trees, hard to say really."
    texts2 = texts + [camp] * 40
    vec2 = np.vstack([vec, fake_embed([camp] * 40)])
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts2, vec2)
    unc = m.uncertainty(texts2, vec2)
    assert unc.shape == (len(texts2),) and ((unc >= 0) & (unc <= 1)).all()
    picks = m.suggest_review(texts2, vec2, n=10, exclude=[0, 1])
    assert len(picks) == 10 and len(set(picks)) == 10
    assert 0 not in picks and 1 not in picks
    assert sum(p >= len(texts) for p in picks) <= 1
    assert np.mean(unc[picks]) > np.mean(unc)


def test_rejects_unknown_theme_in_examples(corpus) -> None:
    texts, _, vec = corpus
    with pytest.raises(KeyError):
        ThemeMapper(fake_embed).fit(THEMES, texts, vec, [(0, ["nope"])])


def test_uses_the_clustering_theme_spec(corpus) -> None:
    import heard.analysis.mapping as mapping

    texts, _, vec = corpus
    assert mapping.ThemeSpec is ThemeSpec
    specs = [ThemeSpec(t.key, t.label, t.description) for t in THEMES]
    assert ThemeMapper(fake_embed, seed=0).fit(specs, texts[:20], vec[:20]).keys_ == [
        "cost", "safety", "nature",
    ]


def test_zero_shot_predicts_about_the_cardinality_prior(corpus) -> None:
    texts, _, vec = corpus
    means = []
    for prior in (1.0, 1.5):
        m = ThemeMapper(fake_embed, seed=0, cardinality=prior, transduce_top=0).fit(
            THEMES, texts, vec
        )
        means.append(np.mean([len(p) for p in m.predict(texts, vec)]))
    assert abs(means[1] - 1.5) < 0.15  # (ties of saturated scores limit the lower one)
    assert means[0] < means[1]


def test_pool_shares_follow_the_pool_not_an_equal_split() -> None:
    rng = np.random.default_rng(0)
    truth = np.array([0.6, 0.3, 0.1])
    owner = rng.choice(3, size=2000, p=truth)
    sim = 0.2 + 0.02 * rng.standard_normal((2000, 3))
    sim[np.arange(2000), owner] += 0.05
    sim[:, 2] += 0.01  # a theme close to every answer is not thereby common
    share = pool_shares(sim, 0.01)
    assert share.sum() == pytest.approx(1.0)
    assert np.abs(share - truth).max() < 0.06
    assert pool_shares(np.zeros((0, 3)), 0.01) == pytest.approx(np.full(3, 1 / 3))


def test_zero_shot_share_prior_gives_a_rare_theme_less_often() -> None:
    texts, gold = make_imbalanced(rare_share=0.05, off_share=0.0)
    vec = fake_embed(texts)
    n_rare = sum("nature" in g for g in gold)
    took = {}
    for prior in (0.0, 1.0):
        m = ThemeMapper(
            fake_embed, seed=0, share_prior=prior, share_pseudo=bool(prior), transduce_top=0
        )
        pred = m.fit(THEMES, texts, vec).predict(texts, vec)
        took[prior] = sum("nature" in p for p in pred)
    assert m.shares_.argmin() == m.keys_.index("nature")
    assert took[1.0] < took[0.0] and took[1.0] >= 0.8 * n_rare


def _noise_embed(texts: list[str]) -> np.ndarray:
    """Vectors that carry no meaning: each text a fixed random direction."""
    seeds = [int(hashlib.md5(t.encode()).hexdigest()[:8], 16) for t in texts]
    out = np.stack([np.random.default_rng(s).standard_normal(32) for s in seeds])
    out = out.astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_zero_shot_lexical_overlap_finds_themes_by_their_words(corpus) -> None:
    texts, gold, _ = corpus
    vec = _noise_embed(texts)
    hit = {}
    for weight in (0.0, 2.0):
        m = ThemeMapper(_noise_embed, seed=0, lexical_weight=weight).fit(THEMES, texts, vec)
        top = [m.keys_[j] for j in m.predict_proba(texts, vec).argmax(axis=1)]
        hit[weight] = np.mean([t in g for t, g in zip(top, gold, strict=True)])
    assert hit[2.0] > 0.8 and hit[2.0] > hit[0.0] + 0.3


def test_zero_shot_prototypes_move_towards_their_answers_less_what_all_share() -> None:
    """Theme texts that only half match the answers (another wording, another language)
    are moved towards their answers; the contrast keeps them off what every answer has."""
    rng = np.random.default_rng(0)
    dim, n = 32, 300
    centres = _unit_rows(rng.standard_normal((3, dim)))
    common = _unit_rows(rng.standard_normal((1, dim)))[0]  # what every answer is about
    owner = np.arange(n) % 3
    vec = _unit_rows(centres[owner] + 1.5 * common + 0.4 * rng.standard_normal((n, dim)))
    themes = [Theme(f"t{j}", f"Theme {j}") for j in range(3)]
    written = _unit_rows(0.35 * centres + _unit_rows(rng.standard_normal((3, dim))))
    lookup = {f"Theme {j}": written[j] for j in range(3)}

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([lookup[t] for t in texts]).astype(np.float32)

    texts = [f"answer {i}" for i in range(n)]
    fitted = {}
    for name, params in {
        "text only": {"expand_rounds": 0},
        "plain centroid": {"expand_contrast": 0.0},
        "default": {},
    }.items():
        m = ThemeMapper(embed, seed=0, clauses=False, lexical_weight=0.0, **params)
        fitted[name] = m.fit(themes, texts, vec.astype(np.float32))
    hit = {
        name: np.mean(m.predict_proba(texts, vec).argmax(axis=1) == owner)
        for name, m in fitted.items()
    }
    near = {name: np.mean(np.sum(m.prototypes_ * centres, axis=1)) for name, m in fitted.items()}
    shared = {name: np.mean(m.prototypes_ @ common) for name, m in fitted.items()}
    assert np.allclose(fitted["text only"].prototypes_, written, atol=1e-5)
    assert hit["default"] > hit["text only"] + 0.03
    assert near["default"] > near["text only"] + 0.05
    assert shared["default"] < shared["plain centroid"] - 0.2


def test_transductive_examples_take_each_themes_surest_answers() -> None:
    prob = np.array(
        [
            [0.9, 0.1, 0.0],  # margin 0.8 for theme 0
            [0.6, 0.5, 0.0],  # margin 0.1
            [0.7, 0.2, 0.1],  # margin 0.5
            [0.2, 0.8, 0.3],  # theme 1
            [0.1, 0.3, 0.25],  # theme 1, margin 0.05
        ]
    )
    picks = transductive_examples(prob, top=2)
    assert [i for i, j in picks if j == 0] == [0, 2]  # the two largest margins, not row 1
    assert [i for i, j in picks if j == 1] == [3, 4]
    # theme 2 is no answer's first: it takes its most probable answer not yet taken
    assert [i for i, j in picks if j == 2] == [1]
    assert len({i for i, _ in picks}) == len(picks)
    assert transductive_examples(np.zeros((0, 3)), 2) == []


def test_zero_shot_transduction_fits_the_few_shot_path_on_pool_answers(corpus) -> None:
    texts, gold, vec = corpus
    plain = ThemeMapper(fake_embed, seed=0, transduce_top=0).fit(THEMES, texts, vec)
    m = ThemeMapper(fake_embed, seed=0, transduce_top=10, transduce_min=5).fit(THEMES, texts, vec)
    assert plain.transduced_ is None and m.mode_ == "zero-shot"
    few = m.transduced_
    assert few is not None and few.mode_ == "few-shot" and few.transduce_top == 0
    assert not few.few_shot_cardinality  # one theme per pick says nothing of answers' themes
    assert few.n_examples_ == 30  # ten answers per theme, each its zero-shot top theme
    zero_top = plain.predict_proba(texts, vec).argmax(axis=1)
    assert np.array_equal(m.thresholds_, few.thresholds_)
    assert np.allclose(m.predict_proba(texts, vec), few.predict_proba(texts, vec))
    picks = transductive_examples(plain.predict_proba(texts, vec), 10)
    assert all(zero_top[i] == j for i, j in picks)
    assert micro_f1(m.predict(texts, vec), gold) > 0.6
    # a pool with fewer than transduce_min answers per theme and half stays zero-shot
    small = ThemeMapper(fake_embed, seed=0, transduce_top=10, transduce_min=5).fit(
        THEMES, texts[:27], vec[:27]
    )
    assert small.transduced_ is None


def test_zero_shot_transduction_runs_by_default_only_with_forty_answers_per_theme(
    corpus,
) -> None:
    texts, _, vec = corpus
    # 3 themes: 120 answers give each theme its 20 picks (n / 2k = 20), 114 do not (19)
    for n, runs in ((150, True), (120, True), (114, False)):
        m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts[:n], vec[:n])
        assert (m.transduced_ is not None) is runs, n
        if runs:
            assert m.transduced_.n_examples_ == 60  # 20 per theme, never more
    # one theme per pick: the threshold is matched to the zero-shot decision's themes per
    # answer instead, so the answers carry about as many as the zero-shot mapper gave them
    plain = ThemeMapper(fake_embed, seed=0, transduce_top=0).fit(THEMES, texts, vec)
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec)

    def per_answer(pred: np.ndarray) -> float:
        return float(pred.sum(axis=1)[pred.any(axis=1)].mean())

    zero = per_answer(_decide(plain.predict_proba(texts, vec), plain.thresholds_, plain.floor_))
    prob = m.predict_proba(texts, vec)
    matched = per_answer(_decide(prob, m.thresholds_, m.floor_))
    fixed = per_answer(_decide(prob, np.full(3, 0.4), m.floor_))
    assert 0.3 <= m.threshold_ <= 0.6 and zero > 1.1
    assert abs(matched - zero) < abs(fixed - zero)
    # the few-shot path inside a few-shot fit's zero-shot blend never transduces
    examples = [(i, gold) for i, gold in enumerate(make_corpus()[1][:6])]
    few = ThemeMapper(fake_embed, seed=0, zero_shot_blend=5.0).fit(
        THEMES, texts, vec, examples=examples
    )
    assert few.zero_ is not None and few.zero_.transduced_ is None


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_empty_answer_gets_no_theme(corpus) -> None:
    texts, _, vec = corpus
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec)
    blank = ["", "   "]
    assert m.predict(blank, fake_embed(blank)) == [[], []]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 9])
def test_tiny_pools_fit_and_predict(corpus, n: int) -> None:
    texts, gold, vec = corpus
    for examples in (None, [(i, gold[i]) for i in range(min(n, 4))] or None):
        m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts[:n], vec[:n], examples)
        prob = m.predict_proba(texts[:4], vec[:4])
        assert prob.shape == (4, 3) and np.isfinite(prob).all()


def test_single_theme_and_themes_without_positives(corpus) -> None:
    texts, gold, vec = corpus
    one = ThemeMapper(fake_embed, seed=0).fit(THEMES[:1], texts, vec)
    assert {k for p in one.predict(texts, vec) for k in p} <= {"cost"}
    # few-shot where one theme has no example and another a single one
    ex = [(i, ["cost"]) for i in range(0, 30, 3)] + [(1, ["safety"])]
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec, ex)
    assert np.isfinite(m.predict_proba(texts, vec)).all()
    # zero-shot with many near-empty themes: few pseudo-positives each
    many = THEMES + [ThemeSpec(f"x{j}", f"Unrelated {j}", "zzz qqq") for j in range(40)]
    m = ThemeMapper(fake_embed, seed=0).fit(many, texts[:30], vec[:30])
    assert len(m.predict(texts[:30], vec[:30])) == 30


def _gambling_1000():
    from heard.analysis.embeddings import get_embedder

    root = shared_dataset("gambling_1000")
    embed = get_embedder("minilm").embed  # a required dependency: an error here is a failure
    with (root / "responses.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with (root / "codebook.csv").open(encoding="utf-8") as f:
        themes = [Theme(r["theme"], r["label"], r["description"]) for r in csv.DictReader(f)]
    gold: dict[str, list[str]] = {}
    with (root / "gold_themes.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            gold.setdefault(r["response_id"], []).append(r["theme"])
    texts = [r["text"] for r in rows]
    return embed, themes, texts, [gold.get(r["response_id"], []) for r in rows]


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.quality
def test_gambling_1000_zero_and_few_shot_floors() -> None:
    """A quality floor: it skips only when the shared set is missing, never on a slow machine."""
    embed, themes, texts, gold = _gambling_1000()
    vec = embed(texts)
    zero = ThemeMapper(embed, seed=0).fit(themes, texts, vec)
    assert micro_f1(zero.predict(texts, vec), gold) >= 0.5
    rng = np.random.default_rng(0)
    ex: list[int] = []
    for t in themes:
        cands = [i for i, g in enumerate(gold) if t.key in g and i not in ex]
        ex += list(rng.choice(cands, 10, replace=False))
    few = ThemeMapper(embed, seed=0).fit(themes, texts, vec, [(i, gold[i]) for i in ex])
    rest = [i for i in range(len(texts)) if i not in set(ex)]
    pred = few.predict([texts[i] for i in rest], vec[rest])
    assert micro_f1(pred, [gold[i] for i in rest]) >= 0.7


# --- the estimator contract ----------------------------------------------------------


def test_get_and_set_params_follow_scikit_learn(corpus) -> None:
    m = ThemeMapper(fake_embed, seed=4, C=2.0)
    params = m.get_params()
    assert params["embed"] is fake_embed and params["seed"] == 4 and params["C"] == 2.0
    assert set(params) >= {"floor", "cardinality", "few_shot_C", "unlabelled_weight"}
    assert m.set_params(floor=0.3, C=0.5) is m
    assert m.floor == 0.3 and m.C == 0.5
    with pytest.raises(ValueError):
        m.set_params(no_such_parameter=1)
    # constructor arguments are stored as given, even bad ones: they are checked at fit
    bad = ThemeMapper(fake_embed, C=-1.0)
    assert bad.get_params()["C"] == -1.0


@pytest.mark.parametrize(
    "params, message",
    [
        ({"C": -1.0}, "C must be positive"),
        ({"floor": 2.0}, "floor is a probability"),
        ({"threshold": 1.5}, "threshold is a probability"),
        ({"smoothing": -0.1}, "smoothing is in"),
        ({"neighbours": 0}, "neighbours must be positive"),
        ({"class_weight": "heavy"}, "class_weight"),
        ({"unlabelled_weight": -0.1}, "unlabelled_weight cannot be negative"),
        ({"pseudo_fraction": 0.0}, "pseudo_fraction"),
        ({"expand_rounds": 1.5}, "expand_rounds must be a whole number"),
        ({"expand_top": 0}, "expand_top must be positive"),
    ],
)
def test_bad_parameters_fail_at_fit(corpus, params, message) -> None:
    texts, _, vec = corpus
    with pytest.raises(ValueError, match=message):
        ThemeMapper(fake_embed, **params).fit(THEMES, texts, vec)


def test_fit_without_an_embedder_says_what_is_missing(corpus) -> None:
    texts, _, vec = corpus
    with pytest.raises(TypeError, match="needs embed"):
        ThemeMapper().fit(THEMES, texts, vec)


def test_predict_before_fit_is_a_clear_error(corpus) -> None:
    from sklearn.exceptions import NotFittedError

    texts, _, vec = corpus
    m = ThemeMapper(fake_embed)
    for call in (m.predict, m.predict_proba, m.uncertainty):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call(texts[:3], vec[:3])


def test_predict_returns_one_type_zero_and_few_shot(corpus) -> None:
    texts, gold, vec = corpus
    for examples in (None, [(i, gold[i]) for i in range(0, 60, 3)]):
        out = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec, examples).predict(
            texts, vec
        )
        assert isinstance(out, list) and len(out) == len(texts)
        assert all(isinstance(x, list) and all(isinstance(k, str) for k in x) for x in out)


def test_a_small_corrected_theme_does_not_swallow_the_pool() -> None:
    """Corrections for one new theme only: it takes its own responses, not the rest."""
    texts, gold = make_corpus(300, seed=2)
    vec = fake_embed(texts)
    new = Theme("wildlife", "Wildlife", "birds and wildlife")
    themes = [*THEMES, new]
    birds = [i for i, t in enumerate(texts) if "birds" in t]
    examples = [(i, ["wildlife", *gold[i]]) for i in birds[:21]]
    m = ThemeMapper(fake_embed, seed=0).fit(themes, texts, vec, examples)
    pred = m.predict(texts, vec)
    took = [i for i, p in enumerate(pred) if "wildlife" in p]
    about = [i for i in took if "birds" in texts[i]]
    assert len(took) <= 1.5 * len(birds) < len(texts) / 4
    assert len(about) >= 0.6 * len(took)
    # the other themes, with no example of their own, still follow the codebook
    others = [[k for k in p if k != "wildlife"] for p in pred]
    assert micro_f1(others, gold) >= 0.7


# --- few-shot: calibrated on imbalanced pools ---------------------------------------


def make_imbalanced(
    n: int = 400, rare_share: float = 0.05, off_share: float = 0.1, seed: int = 3
) -> tuple[list[str], list[list[str]]]:
    """One theme per answer; "nature" is rare, and ``off_share`` are about nothing."""
    rng = np.random.default_rng(seed)
    n_rare, n_off = int(n * rare_share), int(n * off_share)
    keys = ["nature"] * n_rare + ["cost", "safety"] * ((n - n_rare - n_off) // 2)
    keys += [""] * (n - len(keys))
    texts, gold = [], []
    for i, key in enumerate(keys):
        words = list(rng.choice(WORDS[key], 3, replace=False)) if key else []
        words += list(rng.choice(FILLER, 4))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + f". Reply {i}.")
        gold.append([key] if key else [])
    return texts, gold


def draw_per_theme(gold: list[list[str]], k: int, seed: int = 0) -> list[int]:
    """``k`` examples per theme, as an analyst labels them: rare themes over-represented."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for key in WORDS:
        cands = [i for i, g in enumerate(gold) if key in g]
        chosen += [int(i) for i in rng.choice(cands, k, replace=False)]
    return sorted(chosen)


def test_few_shot_does_not_over_predict_a_rare_theme() -> None:
    """Examples drawn per theme make a rare theme look common; the pool must not follow."""
    texts, gold = make_imbalanced(off_share=0.0)
    vec = fake_embed(texts)
    ex = draw_per_theme(gold, 10)
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec, [(i, gold[i]) for i in ex])
    rest = [i for i in range(len(texts)) if i not in set(ex)]
    pred = m.predict([texts[i] for i in rest], vec[rest])
    truth = [gold[i] for i in rest]
    took = [j for j, p in enumerate(pred) if "nature" in p]
    right = [j for j in took if "nature" in truth[j]]
    n_rare = sum("nature" in g for g in truth)
    assert len(took) <= 1.5 * n_rare
    assert len(right) >= 0.8 * len(took) and len(right) >= 0.8 * n_rare
    assert micro_f1(pred, truth) > 0.8


def test_few_shot_other_only_when_no_theme_passes() -> None:
    texts, gold = make_imbalanced()
    vec = fake_embed(texts)
    ex = [(i, gold[i]) for i in draw_per_theme(gold, 10)]
    m = ThemeMapper(fake_embed, seed=0, few_shot_floor=0.9).fit(THEMES, texts, vec, ex)
    assert m.floor_ == 0.9 and np.all(m.thresholds_ == m.threshold_)
    prob, pred = m.predict_proba(texts, vec), m.predict(texts, vec)
    for row, keys in zip(prob, pred, strict=True):
        passing = {m.keys_[j] for j in np.flatnonzero(row >= m.threshold_)}
        if row.max() >= m.floor_:
            passing.add(m.keys_[int(row.argmax())])
        assert set(keys) == passing  # "Other" (no key) exactly when nothing passes


def test_examples_marked_with_no_theme_teach_other() -> None:
    """Answers an analyst marks as about none of the themes: others like them get none."""
    texts, gold = make_imbalanced()
    vec = fake_embed(texts)
    ex = draw_per_theme(gold, 10)
    off = [i for i, g in enumerate(gold) if not g]
    marked = off[:10]
    examples = [(i, gold[i]) for i in ex] + [(i, []) for i in marked]
    rest = off[10:]
    on = [i for i, g in enumerate(gold) if g and i not in set(ex)]
    # Raising the themes most of the pool is about (the share prior) gives some answers
    # about nothing one of them: fewer get "Other" with it than without.
    others = {}
    for prior in (0.0, 1.0):
        m = ThemeMapper(fake_embed, seed=0, few_shot_share_prior=prior)
        m.fit(THEMES, texts, vec, examples)
        pred = m.predict([texts[i] for i in rest], vec[rest])
        others[prior] = sum(1 for p in pred if not p)
        assert micro_f1(m.predict([texts[i] for i in on], vec[on]), [gold[i] for i in on]) > 0.9
    assert others[0.0] >= 0.7 * len(rest) and others[1.0] >= 0.5 * len(rest)


def test_none_class_learns_no_theme_from_the_examples_marked_so() -> None:
    """With ``none_class`` a regression of "no theme" gives "Other" to answers like the
    examples marked with no theme, beyond what they teach as negatives alone."""
    texts, gold = make_imbalanced(off_share=0.3)
    vec = fake_embed(texts)
    ex = draw_per_theme(gold, 10)
    off = [i for i, g in enumerate(gold) if not g]
    examples = [(i, gold[i]) for i in ex] + [(i, []) for i in off[:10]]
    rest = off[10:]
    on = [i for i, g in enumerate(gold) if g and i not in set(ex)]
    others, f1 = {}, {}
    for gain in (0.0, 1.0):
        m = ThemeMapper(fake_embed, seed=0, none_class=gain).fit(THEMES, texts, vec, examples)
        assert (m.none_model_ is not None) == bool(gain)
        pred = m.predict([texts[i] for i in rest], vec[rest])
        others[gain] = sum(1 for p in pred if not p)
        f1[gain] = micro_f1(m.predict([texts[i] for i in on], vec[on]), [gold[i] for i in on])
        prob = m.predict_proba([texts[i] for i in rest], vec[rest])
        # an answer the "no theme" regression wins is "Other" with its themes still ranked
        assert all(not p or row.max() >= m.floor_ for p, row in zip(pred, prob, strict=True))
    assert others[1.0] > others[0.0] and others[1.0] >= 0.8 * len(rest)
    assert f1[1.0] > 0.85
    # without examples marked with no theme there is nothing to learn it from
    m = ThemeMapper(fake_embed, seed=0, none_class=1.0)
    m.fit(THEMES, texts, vec, [(i, gold[i]) for i in ex])
    assert m.none_model_ is None


def test_none_class_is_checked() -> None:
    texts, gold = make_corpus(30)
    with pytest.raises(ValueError, match="none_class"):
        ThemeMapper(fake_embed, none_class=-1.0).fit(THEMES, texts, fake_embed(texts),
                                                     [(0, gold[0])])


def test_few_shot_smoothing_mixes_in_the_neighbours() -> None:
    texts, gold = make_imbalanced(200)
    vec = fake_embed(texts)
    ex = [(i, gold[i]) for i in draw_per_theme(gold, 5)]
    # without self-training, so that both share one regression
    plain = {"seed": 0, "few_shot_rounds": 0, "few_shot_share_prior": 0.0}
    alone = ThemeMapper(fake_embed, smoothing=0.0, **plain).fit(THEMES, texts, vec, ex)
    mixed = ThemeMapper(fake_embed, smoothing=0.3, **plain).fit(THEMES, texts, vec, ex)
    assert alone.reference_ is None and mixed.reference_ is not None
    p_alone = alone.predict_proba(texts, vec)
    p_mixed = mixed.predict_proba(texts, vec)
    ref_vectors, ref_prob = mixed.reference_
    np.testing.assert_allclose(ref_prob, p_alone[: len(ref_prob)], atol=1e-5)
    # by hand for one response: 0.7 × its own + 0.3 × its 10 nearest others' mean
    sims = vec[7] @ ref_vectors.T
    sims[7] = -np.inf
    near = np.argsort(-sims, kind="stable")[:10]
    expected = 0.7 * p_alone[7] + 0.3 * ref_prob[near].mean(axis=0)
    np.testing.assert_allclose(p_mixed[7], expected, atol=1e-5)
    # chunked prediction gives the same probabilities
    mixed.batch_size = 13
    np.testing.assert_allclose(mixed.predict_proba(texts, vec), p_mixed, atol=1e-6)


def test_few_shot_reference_sample_is_bounded() -> None:
    texts, gold = make_imbalanced(200)
    vec = fake_embed(texts)
    ex = [(i, gold[i]) for i in draw_per_theme(gold, 5)]
    m = ThemeMapper(fake_embed, seed=0, max_reference=50).fit(THEMES, texts, vec, ex)
    assert m.reference_[0].shape == (50, vec.shape[1])
    assert len(m.predict(texts, vec)) == len(texts)


def test_few_shot_self_training_takes_only_confident_pool_responses() -> None:
    """Pseudo-examples come from the unlabelled pool, each above the set probability."""
    texts, gold = make_imbalanced(300)
    vec = fake_embed(texts)
    ex_rows = draw_per_theme(gold, 3)
    ex = [(i, gold[i]) for i in ex_rows]
    first = ThemeMapper(fake_embed, seed=0, few_shot_rounds=0).fit(THEMES, texts, vec, ex)
    m = ThemeMapper(fake_embed, seed=0, few_shot_rounds=1).fit(THEMES, texts, vec, ex)
    assert len(first.pseudo_) == 0 and 0 < len(m.pseudo_) <= len(texts) - len(ex_rows)
    # every pseudo-example is one the first model was sure of (smoothed, as predicted)
    sure = first.predict_proba(texts, vec) >= m.few_shot_pseudo_threshold
    sure[ex_rows] = False
    assert m.pseudo_.sum() == sure.sum()
    assert (m.pseudo_.sum(axis=0) == sure.sum(axis=0)).all()
    # the pool's wording, learnt from those, lifts a model that had 3 examples per theme
    rest = [i for i in range(len(texts)) if i not in set(ex_rows)]
    truth = [gold[i] for i in rest]
    before = micro_f1(first.predict([texts[i] for i in rest], vec[rest]), truth)
    after = micro_f1(m.predict([texts[i] for i in rest], vec[rest]), truth)
    assert after > before + 0.03


def test_few_shot_rounds_must_be_a_whole_number() -> None:
    texts, gold = make_imbalanced(100)
    with pytest.raises(ValueError, match="few_shot_rounds"):
        ThemeMapper(fake_embed, few_shot_rounds=-1).fit(
            THEMES, texts, fake_embed(texts), [(0, gold[0])]
        )


# --- themes with a side (a codebook's position column) ------------------------------


def test_theme_side_reads_the_position_column_as_people_write_it() -> None:
    from heard.analysis.analyse import codebook_theme
    from heard.analysis.mapping import theme_side

    sides = {
        pos: theme_side(codebook_theme("k", "Label", "About costs", pos))
        for pos in ("Agreement", "Disagreement", "Support", "oppose", "FOR", "against",
                    "pro", "con", "", None)
    }
    assert sides == {
        "Agreement": 1, "Disagreement": -1, "Support": 1, "oppose": -1, "FOR": 1,
        "against": -1, "pro": 1, "con": -1, "": 0, None: 0,
    }
    # a bracket that is not a bare stance word is not a side
    assert theme_side(codebook_theme("k", "Label", "Local shops (for example)")) == 0


def test_a_sided_theme_is_weighed_by_the_answers_stance() -> None:
    texts, gold = make_imbalanced(200)
    vec = fake_embed(texts)
    sided = [
        ThemeSpec(t.key, t.label, f"{t.description} ({side})")
        for t, side in zip(THEMES, ("Agreement", "Disagreement", ""), strict=True)
    ]
    m = ThemeMapper(fake_embed, seed=0, transduce_top=0).fit(sided, texts, vec)  # zero-shot
    assert list(m.sides_) == [1, -1, 0]
    plain = m.predict_proba(texts, vec)
    n = len(texts)
    # an answer as likely to agree as not: nothing changes
    np.testing.assert_allclose(m.predict_proba(texts, vec, np.full(n, 0.5)), plain)
    # a sure supporter keeps the point for, loses the point against; no side: unchanged
    sure = m.predict_proba(texts, vec, np.ones(n))
    np.testing.assert_allclose(sure[:, 0], plain[:, 0])
    assert np.all(sure[:, 1] == 0)
    np.testing.assert_allclose(sure[:, 2], plain[:, 2])
    # a leaning opponent (P(agree) 0.3) keeps 60% of the point for
    lean = m.predict_proba(texts, vec, np.full(n, 0.3))
    np.testing.assert_allclose(lean[:, 0], 0.6 * plain[:, 0], rtol=1e-5)
    np.testing.assert_allclose(lean[:, 1], plain[:, 1])
    # with examples the codebook's side is not used (a side comes from the examples'
    # stances at fit; none were given here)
    ex = [(i, gold[i]) for i in draw_per_theme(gold, 5)]
    few = ThemeMapper(fake_embed, seed=0).fit(sided, texts, vec, ex)
    np.testing.assert_allclose(
        few.predict_proba(texts, vec, np.ones(n)), few.predict_proba(texts, vec)
    )


def _sided_examples(gold: list[list[str]], ex: list[int]) -> np.ndarray:
    """P(agree) per answer: the cost examples agree, the safety examples disagree, the
    nature examples are evenly mixed; every other answer is unread (0.5)."""
    agree = np.full(len(gold), 0.5)
    nature = 0
    for i in ex:
        if gold[i] == ["cost"]:
            agree[i] = 0.95
        elif gold[i] == ["safety"]:
            agree[i] = 0.05
        else:
            agree[i] = (0.95, 0.05)[nature % 2] if nature < 4 else 0.5
            nature += 1
    return agree


def test_with_examples_a_theme_takes_the_side_its_examples_take() -> None:
    from heard.analysis.mapping import example_sides

    texts, gold = make_imbalanced(200)
    vec = fake_embed(texts)
    n = len(texts)
    ex = draw_per_theme(gold, 5)
    agree = _sided_examples(gold, ex)
    examples = [(i, gold[i]) for i in ex]
    m = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec, examples, agree)
    # one-sided examples give a side; evenly mixed ones none
    assert m.example_sides_[0] == pytest.approx(0.9)
    assert m.example_sides_[1] == pytest.approx(-0.9)
    assert m.example_sides_[2] == pytest.approx(0.0, abs=1e-9)
    plain = m.predict_proba(texts, vec)  # stance unknown: nothing is weighed
    cost_answers = [i for i, g in enumerate(gold) if g == ["cost"]]
    assert sum("cost" in got for got in m.decide(plain[cost_answers])) > 0.8 * len(cost_answers)
    # a clearly disagreeing answer is not given the theme whose examples all agree
    against = m.predict_proba(texts, vec, np.zeros(n))
    assert not any("cost" in got for got in m.decide(against))
    np.testing.assert_allclose(against[:, 1], plain[:, 1])  # its own side: unchanged
    # ... and a clear supporter is not given the theme whose examples all disagree
    support = m.predict_proba(texts, vec, np.ones(n))
    assert not any("safety" in got for got in m.decide(support))
    np.testing.assert_allclose(support[:, 0], plain[:, 0])
    # the theme with mixed examples is unchanged whatever the answer's stance, and the
    # same as from a mapper that never saw a stance
    unsided = ThemeMapper(fake_embed, seed=0).fit(THEMES, texts, vec, examples)
    for stance in (against, support):
        np.testing.assert_allclose(stance[:, 2], plain[:, 2])
        np.testing.assert_allclose(stance[:, 2], unsided.predict_proba(texts, vec)[:, 2])
    # a side is shrunk towards none when the examples are few; a theme without examples
    # has none
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    sides = example_sides(y, np.array([1.0, 1.0]), gain=1.0, shrink=2.0)
    assert sides[0] == pytest.approx(0.5) and sides[1] == 0.0
    assert example_sides(y, np.array([0.0, 0.0]), gain=1.0, shrink=0.0).tolist() == [-1.0, 0.0]


def test_the_stance_argument_is_checked() -> None:
    texts, gold = make_imbalanced(60)
    vec = fake_embed(texts)
    with pytest.raises(ValueError, match="agree values for 60"):
        ThemeMapper(fake_embed).fit(THEMES, texts, vec, [(0, gold[0])], np.ones(3))
    with pytest.raises(ValueError, match="side_gain cannot be negative"):
        ThemeMapper(fake_embed, side_gain=-1.0).fit(THEMES, texts, vec, [(0, gold[0])])


def test_few_shot_share_offset_raises_only_themes_the_pool_holds_more_of() -> None:
    prob = np.array([[0.9, 0.2, 0.1], [0.3, 0.4, 0.1]])  # means 0.6, 0.3, 0.1
    offset = few_shot_share_offset(prob, 0.5)
    np.testing.assert_allclose(offset, [0.5 * np.log(3 * 0.6), 0.0, 0.0])
    assert not few_shot_share_offset(np.zeros((4, 3)), 1.0).any()
    # measured against the examples' own shares: equal counts are the equal share
    np.testing.assert_allclose(few_shot_share_offset(prob, 0.5, np.array([4, 4, 4])), offset)
    # examples that follow the pool's shares move nothing
    np.testing.assert_allclose(
        few_shot_share_offset(prob, 1.0, np.array([6, 3, 1])), 0.0, atol=1e-12
    )
    # a theme the examples hold less of than the pool is raised by the ratio
    np.testing.assert_allclose(
        few_shot_share_offset(prob, 1.0, np.array([1, 2, 1])), [np.log(0.6 / 0.25), 0.0, 0.0]
    )
    # a theme with no examples is not moved (its ratio would be unbounded)
    np.testing.assert_allclose(
        few_shot_share_offset(prob, 1.0, np.array([1, 0, 1])), [np.log(0.6 / 0.5), 0.0, 0.0]
    )
    assert not few_shot_share_offset(prob, 1.0, np.zeros(3)).any()


def test_few_shot_share_prior_moves_each_theme_by_its_pool_share() -> None:
    """A theme most answers are about is given more readily; a rare one is not lowered."""
    texts, gold = make_imbalanced(300)
    vec = fake_embed(texts)
    ex = [(i, gold[i]) for i in draw_per_theme(gold, 5)]
    # without self-training the regressions are the same, and only the offset differs
    plain = ThemeMapper(fake_embed, seed=0, few_shot_rounds=0, few_shot_share_prior=0.0)
    plain.fit(THEMES, texts, vec, ex)
    shifted = ThemeMapper(fake_embed, seed=0, few_shot_rounds=0, few_shot_share_prior=1.0)
    shifted.fit(THEMES, texts, vec, ex)
    assert not plain.few_shot_offset_.any()
    p_plain, p_shifted = plain.predict_proba(texts, vec), shifted.predict_proba(texts, vec)
    # the shares come from the fitted model's smoothed probabilities on the pool
    expected = few_shot_share_offset(p_plain, 1.0)
    np.testing.assert_allclose(shifted.few_shot_offset_, expected, atol=1e-4)
    by_key = dict(zip(shifted.keys_, shifted.few_shot_offset_, strict=True))
    assert by_key["cost"] > 0 and by_key["safety"] > 0 and by_key["nature"] == 0.0
    logit = np.log(p_shifted / (1 - p_shifted)) - np.log(p_plain / (1 - p_plain))
    np.testing.assert_allclose(logit, np.broadcast_to(expected, logit.shape), atol=1e-3)
    # the common themes are given at least as often, the rare one no more often
    given_plain = np.array([[key in p for key in plain.keys_] for p in plain.predict(texts, vec)])
    given = np.array([[key in p for key in shifted.keys_] for p in shifted.predict(texts, vec)])
    rare = shifted.keys_.index("nature")
    common = [j for j in range(len(shifted.keys_)) if j != rare]
    assert given[:, common].sum() >= given_plain[:, common].sum()
    assert given[:, rare].sum() <= given_plain[:, rare].sum()
    # self-training picks its pool answers from the shifted probabilities
    trained = ThemeMapper(fake_embed, seed=0, few_shot_rounds=1, few_shot_share_prior=1.0)
    trained.fit(THEMES, texts, vec, ex)
    sure = p_shifted >= trained.few_shot_pseudo_threshold
    sure[[i for i, _ in ex]] = False
    assert trained.pseudo_.sum() == sure.sum() > 0
    assert (trained.pseudo_.sum(axis=0) == sure.sum(axis=0)).all()


def test_few_shot_share_prior_leaves_examples_that_follow_the_pool() -> None:
    """Examples drawn at random (corrections) already follow the pool's shares."""
    texts, gold = make_imbalanced(300, off_share=0.0)
    vec = fake_embed(texts)
    rng = np.random.default_rng(1)
    drawn = sorted(int(i) for i in rng.choice(len(texts), 60, replace=False))
    ex = [(i, gold[i]) for i in drawn]
    params = {"seed": 0, "few_shot_rounds": 0}
    plain = ThemeMapper(fake_embed, few_shot_share_prior=0.0, **params).fit(THEMES, texts, vec, ex)
    shifted = ThemeMapper(fake_embed, few_shot_share_prior=1.0, **params)
    shifted.fit(THEMES, texts, vec, ex)
    # the offset compares the pool's shares with the examples' own, counted by hand
    counts = np.array([sum(key in gold[i] for i in drawn) for key in shifted.keys_])
    p_plain = plain.predict_proba(texts, vec)
    expected = few_shot_share_offset(p_plain, 1.0, counts)
    np.testing.assert_allclose(shifted.few_shot_offset_, expected, atol=1e-4)
    # and is smaller than the shift against an equal share, which raises the common themes
    equal = few_shot_share_offset(p_plain, 1.0)
    assert equal.max() > 0.1 and expected.sum() < equal.sum()


def test_example_cardinality_weighs_each_example_by_its_themes() -> None:
    # drawn per theme, an answer with two themes is twice as likely to be an example
    assert example_cardinality(np.array([[1, 0], [1, 1], [0, 0]])) == pytest.approx(4 / 3)
    assert example_cardinality(np.array([[1, 0, 0], [0, 1, 0]])) == pytest.approx(1.0)
    assert example_cardinality(np.zeros((3, 2))) is None


def test_few_shot_cardinality_gives_the_examples_themes_per_answer() -> None:
    """The threshold is set where answers given a theme carry the examples' count of themes."""
    texts, gold = make_corpus(240, seed=2)  # every fourth answer makes two points
    vec = fake_embed(texts)
    drawn = draw_per_theme(gold, 8)
    params = {"seed": 0, "few_shot_rounds": 0, "few_shot_share_prior": 0.0}
    fixed = ThemeMapper(fake_embed, few_shot_cardinality=False, **params)
    fixed.fit(THEMES, texts, vec, [(i, gold[i]) for i in drawn])
    assert fixed.threshold_ == fixed.threshold
    matched = ThemeMapper(fake_embed, **params)  # the default
    matched.fit(THEMES, texts, vec, [(i, gold[i]) for i in drawn])
    target = example_cardinality(np.array([[key in gold[i] for key in WORDS] for i in drawn]))
    assert 1.0 < target < 2.0
    assert 0.3 <= matched.threshold_ <= 0.6 and (matched.thresholds_ == matched.threshold_).all()
    given = [p for p in matched.predict(texts, vec) if p]
    if 0.3 < matched.threshold_ < 0.6:  # not held at a bound: the pool matches the target
        assert np.mean([len(p) for p in given]) == pytest.approx(target, abs=0.05)
    # examples that each carry one theme ask for one theme per answer: a higher threshold
    single = ThemeMapper(fake_embed, **params)
    single.fit(THEMES, texts, vec, [(i, gold[i][:1]) for i in drawn])
    assert single.threshold_ > matched.threshold_
    assert sum(map(len, single.predict(texts, vec))) < sum(map(len, given))
