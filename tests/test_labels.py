"""Key phrases, labels and descriptions."""

from __future__ import annotations

from heard.analysis.labels import describe, key_phrases, make_label

TEXTS = [
    "We must protect children from gambling adverts.",
    "Protect children: they see gambling adverts every match.",
    "It is vital to protect children and vulnerable people.",
    "Football clubs rely on sponsorship money.",
    "Without sponsorship money, football clubs would struggle.",
    "Lower league football clubs need sponsorship money.",
]
LABELS = ["kids", "kids", "kids", "money", "money", "money"]


def test_key_phrases_are_distinctive_and_verbatim():
    phrases = key_phrases(TEXTS, LABELS, top_n=5)
    assert set(phrases) == {"kids", "money"}
    assert phrases["kids"][0] == "protect children"
    assert "sponsorship money" in phrases["money"] or "football clubs" in phrases["money"]
    lowered = " ".join(TEXTS).lower()
    for ps in phrases.values():
        assert len(ps) <= 5
        for p in ps:
            assert p.lower() in lowered  # occurs in the texts as written
            assert p.split()[0].lower() not in {"the", "and", "of", "to"}


def test_key_phrases_weights_and_unlabelled():
    labels = ["a", "a", "a", None, "b", "b"]
    out = key_phrases(TEXTS, labels, top_n=3, weights=[1, 1, 1, 1, 5, 5])
    assert set(out) == {"a", "b"}
    assert key_phrases(TEXTS, [None] * 6) == {}
    assert key_phrases(["the and of", "to be"], ["x", "y"]) == {"x": [], "y": []}


def test_fragments_of_longer_wording_are_passed_over():
    texts = [
        "Give blue badge holders an exemption from the filters.",
        "Carers and blue badge holders need an exemption too.",
        "I want holders an exemption, like the trial had.",
        "Please give badge holders an exemption now.",
        "Disabled drivers and blue badge holders suffer.",
        "Buses are too slow.",
        "Buses never come on time.",
        "Fewer buses run now.",
    ]
    labels = ["badge"] * 5 + ["bus"] * 3
    unfiltered = key_phrases(texts, labels, top_n=10, fragment_sample=0)["badge"]
    assert unfiltered[0] == "badge holders"  # mostly after "blue": a fragment
    phrases = key_phrases(texts, labels, top_n=10)["badge"]
    assert "blue badge holders" in phrases
    assert "badge holders" not in phrases and "blue badge" not in phrases


def test_make_label():
    assert make_label(["protect children", "vulnerable people"]) == (
        "Protect children and vulnerable people"
    )
    assert make_label(["children", "protect children"]).startswith("Protect children")
    assert make_label([]) == "Unlabelled theme"
    long = make_label(["one two three four five six seven eight nine ten"])
    assert len(long.split()) <= 8
    # Overlapping second phrase is not repeated.
    assert make_label(["sponsorship money", "money"]) == "Sponsorship money"
    # A lead that already joins two things is not joined to a third.
    assert make_label(["scrap the scheme and spend", "fixing roads"]) == (
        "Scrap the scheme and spend"
    )
    assert make_label(["fixing roads", "scheme and spend", "bus lanes"]) == (
        "Fixing roads and bus lanes"
    )
    # Weak edge words (adverbs, bare opinion verbs) are passed over when others exist.
    assert make_label(["prevent", "especially", "gambling harm"]) == "Gambling harm"
    assert make_label(["sports", "normalized", "betting"]) == "Sports and betting"
    assert make_label(["ban"]) == "Ban"  # nothing better to say
    # A multi-word phrase in the top five leads over lone words.
    assert make_label(["ban", "adverts", "kids", "tv", "ban gambling adverts"]) == (
        "Ban gambling adverts"
    )


def test_describe():
    text = describe(["a", "b", "c"], "It is vital.")
    assert text == "Responses mentioning a, b and c. Typical: \u201cIt is vital.\u201d"
    assert describe([]) == "No description available."
