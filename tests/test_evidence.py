"""detect_evidence names the cue it found; EvidenceClassifier learns from labels."""

from __future__ import annotations

import pytest

from heard.analysis.evidence import EvidenceClassifier, detect_evidence


@pytest.mark.parametrize(
    ("text", "cue", "word"),
    [
        ("Problem gambling rose 12% last year and costs £1.2bn.", "figure", "12%"),
        ("According to the Gambling Commission this is rising.", "source", "According to"),
        ("ONS figures show a rise.", "source", "ONS figures"),
        ("The WHO report says so.", "source", "WHO report"),
        ("A 2023 study found that ads increase betting.", "source", "study found"),
        ("See https://example.org/report for details.", "source", "https://example.org"),
        ("I work in broadcasting and see the budgets.", "lived experience", "I work in"),
        ("As a recovering addict, these adverts hurt.", "lived experience", "recovering addict"),
        ("My son started betting after seeing the adverts.", "lived experience", "My son"),
        ("In my experience as a nurse, it harms.", "lived experience", "In my experience"),
    ],
)
def test_cue_found_and_named(text: str, cue: str, word: str) -> None:
    [(rich, reason)] = detect_evidence([text])
    assert rich
    assert cue in reason and word in reason


@pytest.mark.parametrize(
    "text",
    [
        "Who decides this? Who knows.",  # the pronoun is not the World Health Organization
        "I was a fan once.",  # "I was a…" is not lived experience by itself
        "It is 100% wrong.",  # a figure of speech
        "Live your life according to your wishes.",
        "Burning a flag as an expression of anger is free speech.",
        "The nhs data and the ons are mentioned in lower case.",
    ],
)
def test_ordinary_words_are_not_evidence(text: str) -> None:
    assert not detect_evidence([text])[0][0], detect_evidence([text])[0][1]


def test_plain_opinion_is_not_evidence_rich() -> None:
    [(rich, reason)] = detect_evidence(["I think they should just ban them, it is wrong."])
    assert not rich
    assert reason.startswith("no ")


def test_threshold_requires_more_cues() -> None:
    text = "My son lost money."
    assert detect_evidence([text])[0][0]
    assert not detect_evidence([text], threshold=2.0)[0][0]
    both = "My son lost £500 in one week."
    assert detect_evidence([both], threshold=2.0)[0][0]


def test_learned_classifier_uses_labels() -> None:
    rich = [f"My family lost £{i}00 when my brother was betting every week." for i in range(1, 9)]
    poor = [f"Ban them all, adverts are simply wrong and bad number {w}." for w in "abcdefgh"]
    m = EvidenceClassifier(seed=0).fit(rich + poor, [True] * 8 + [False] * 8)
    out = m.predict(["My brother lost £900 betting.", "Adverts are wrong, ban them."])
    assert out[0][0] and not out[1][0]
    assert "lived experience" in out[0][1]
    with pytest.raises(ValueError):
        EvidenceClassifier().fit(["a", "b"], [True, True])


def test_evidence_classifier_contract() -> None:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    m = EvidenceClassifier(C=0.5)
    assert clone(m).get_params()["C"] == 0.5
    with pytest.raises(NotFittedError):
        m.predict(["text"])
    with pytest.raises(ValueError, match="C must be positive"):
        EvidenceClassifier(C=0).fit(["a", "b"], [True, False])
