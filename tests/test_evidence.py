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
        (
            "I work in broadcasting and for ten years have seen the budgets.",
            "lived experience",
            "I work in",
        ),
        (
            "As a recovering addict since 2019, these adverts hurt.",
            "lived experience",
            "recovering addict",
        ),
        ("My son started betting last winter after the adverts.", "lived experience", "My son"),
        (
            "In my experience as a nurse, it harms patients twice a week.",
            "lived experience",
            "In my experience",
        ),
        # figures: a quantity with a unit, a period or a countable noun
        ("Our care agency makes about 739 visits a week.", "figure", "739 visits a week"),
        ("Each visit now takes 12 minutes longer.", "figure", "12 minutes"),
        ("The journey went from about 9 to 34 minutes.", "figure", "from about 9 to 34"),
        ("Traffic dropped from 1,430 to 300.", "figure", "from 1,430 to 300"),
        ("The filter recorded 392 cyclists on a weekday.", "figure", "392 cyclists"),
        ("It issued 14,070 penalty charge notices.", "figure", "14,070 penalty charge notices"),
        ("My monitor shows 25 hours a week above the guideline.", "figure", "25 hours a week"),
        ("Levels reached 48 micrograms near the school.", "figure", "48 micrograms"),
        ("I take the train 3 times a week.", "figure", "3 times a week"),
        ("It only detains about 100 people.", "figure", "100 people"),
        ("Drivers do 40 mph here. The limit should be lower.", "figure", "40 mph"),
        # records with a reporting verb
        ("Our delivery logs show longer drops.", "source", "logs show"),
        ("Council traffic counts show a fall.", "source", "counts show"),
        (
            "Readings from my own monitor on the main road show a rise.",
            "source",
            "Readings from my own monitor on the main road show",
        ),
        ("The latest monitoring report shows a rise.", "source", "report shows"),
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
        # numbers that are not figures: a year, an age, an address, a route, a phone
        # number, list numbering, a discourse count, a future period
        "Things were better in 2019 before the change.",
        "I am 45 years old and even an 8-year-old can see it.",
        "I live at 23 Mill Lane near the park.",
        "Write to us at 21701 Stevens Creek Blvd.",
        "The number 47 bus and route 12 buses are always full.",
        "Type 2 diabetes, Version 5010 transactions and the 2.0 API features are labels.",
        "Call 0207 123 4567 offices for help.",
        "1. Patients first\n2. Staff second",
        "There are 3 reasons to oppose this and 2 things to fix.",
        "In 5 years the town will be different.",
        # a figure the writer proposes rather than reports
        "The speed limit should be 20 mph near schools.",
        "Minimum wage needs to go to $15 per hour.",
        "On behalf of the 1,500 members we represent, thank you.",
    ],
)
def test_ordinary_words_are_not_evidence(text: str) -> None:
    assert not detect_evidence([text])[0][0], detect_evidence([text])[0][1]


@pytest.mark.parametrize(
    ("text", "specific"),
    [
        ("My son lost his job in 2019.", "in 2019"),
        ("My father collapsed last winter and nobody came.", "last winter"),
        ("I have worked as a nurse for twenty years.", "for twenty years"),
        ("My mother waited three hours in the corridor.", "three hours"),
        ("I drive my kids to school twice a week.", "twice a week"),
        ("As a nurse caring for stroke patients for over a decade, I see it.", "a decade"),
        ("My daughter was hurt here two years ago.", "two years ago"),
    ],
)
def test_experience_counts_with_specifics(text: str, specific: str) -> None:
    [(rich, reason)] = detect_evidence([text], experience_needs_specifics=True)
    assert rich, reason
    assert "lived experience" in reason and specific in reason


@pytest.mark.parametrize(
    "text",
    [
        "My children can finally walk to school on their own.",
        "I look after my elderly mother, who lives nearby.",
        "I'm a parent at the local primary school.",
        "As a resident of Orchard Close, I object to this plan.",
        "We moved here a few years ago and my house is quieter.",
    ],
)
def test_bare_experience_counts_unless_specifics_are_asked_for(text: str) -> None:
    [(rich, reason)] = detect_evidence([text])
    assert rich and reason.startswith("lived experience: "), reason
    [(strict, strict_reason)] = detect_evidence([text], experience_needs_specifics=True)
    assert not strict, strict_reason
    assert strict_reason.startswith("lived experience without specifics: ")


def test_experience_without_specifics_is_named_as_context() -> None:
    [(rich, reason)] = detect_evidence(
        ["My children walk to school with their friends."], experience_needs_specifics=True
    )
    assert not rich
    assert reason == "lived experience without specifics: 'My children'"


def test_plain_opinion_is_not_evidence_rich() -> None:
    [(rich, reason)] = detect_evidence(["I think they should just ban them, it is wrong."])
    assert not rich
    assert reason.startswith("no ")


def test_threshold_requires_more_cues() -> None:
    text = "My son lost money last year."
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
