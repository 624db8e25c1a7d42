"""StanceClassifier: weak labels learn the mapping; zero-shot reads cues; unclear when unsure."""

from __future__ import annotations

import numpy as np

from heard.analysis.stance import StanceClassifier, lexical_cues
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
    m = StanceClassifier(fake_embed, seed=0, min_confidence=0.55).fit(texts, vec, weak)
    assert m.mode_ == "weak"
    labels, conf = m.predict(texts[80:], vec[80:])
    assert np.mean([a == b for a, b in zip(labels, gold[80:], strict=True)]) > 0.9
    assert ((conf >= 0.5) & (conf <= 1.0)).all()


def test_too_few_weak_labels_fall_back_to_zero_shot() -> None:
    texts, gold = corpus(20)
    m = StanceClassifier(fake_embed).fit(texts, fake_embed(texts), ["agree"] + [None] * 19)
    assert m.mode_ == "zero-shot"


def test_zero_shot_reads_lexical_cues_and_marks_unclear() -> None:
    texts = [
        "I strongly support this proposal, it is long overdue.",
        "I oppose this. It is excessive overreach and a nanny state measure.",
        "The weather.",
    ]
    m = StanceClassifier(fake_embed, question="Should the park open later?").fit(texts)
    labels, conf = m.predict(texts)
    assert labels[0] == "agree" and labels[1] == "disagree"
    assert conf[2] < min(conf[0], conf[1])
    m.min_confidence = (conf[2] + min(conf[0], conf[1])) / 2
    assert m.predict(texts)[0] == ["agree", "disagree", "unclear"]


def test_lexical_cues_weigh_the_clause_after_a_contrast() -> None:
    cues = lexical_cues(["Some good points, but I oppose it."])
    assert cues[0, 3] > 0 and cues[0, 2] == 0


def test_deterministic() -> None:
    texts, gold = corpus()
    vec = fake_embed(texts)
    a = StanceClassifier(fake_embed, seed=1).fit(texts, vec, gold).predict_proba(texts, vec)
    b = StanceClassifier(fake_embed, seed=1).fit(texts, vec, gold).predict_proba(texts, vec)
    np.testing.assert_array_equal(a, b)


def test_zero_shot_self_trains_and_bounds_the_unclear_share() -> None:
    # Half the texts state a side with a cue; the rest only share its vocabulary.
    texts, gold = corpus(120)
    cued = [
        (("I strongly support this. " if g == "agree" else "I oppose this. ") + t)
        if i % 4 < 2 else t
        for i, (t, g) in enumerate(zip(texts, gold, strict=True))
    ]
    vec = fake_embed(cued)
    m = StanceClassifier(fake_embed, seed=0, unclear_share=0.1).fit(cued, vec)
    assert m.mode_ == "self-trained"
    labels, _ = m.predict(cued, vec)
    assert abs(np.mean([x == "unclear" for x in labels]) - 0.1) < 0.05
    plain = [i for i in range(120) if i % 4 >= 2 and labels[i] != "unclear"]
    assert np.mean([labels[i] == gold[i] for i in plain]) > 0.8
