"""Key phrases, labels and descriptions."""

from __future__ import annotations

import numpy as np
import pytest

from heard.analysis.labels import (
    choose_label,
    describe,
    key_phrases,
    label_candidates,
    make_label,
)

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
    assert make_label(["protect children", "vulnerable people"]) == "Protect children"
    assert make_label(["children", "protect children"]) == "Protect children"
    assert make_label([]) == "Unlabelled theme"
    long = make_label(["one two three four five six seven eight nine ten"])
    assert len(long.split()) <= 8
    # never two fragments joined by "and"
    assert " and " not in make_label(["fixing roads", "bus lanes", "scheme"])
    # Weak edge words (adverbs, bare opinion verbs) are passed over when others exist.
    assert make_label(["prevent", "especially", "gambling harm"]) == "Gambling harm"
    assert make_label(["sports", "normalized", "betting"]) == "Sports"
    assert make_label(["ban"]) == "Ban"  # nothing better to say
    # a phrase joining two fragments is passed over for one that says one thing
    assert make_label(["air and safe", "safer streets"]) == "Safer streets"
    assert make_label(["air and safe"]) == "Air and safe"  # nothing better to say
    # A multi-word phrase in the top five leads over lone words.
    assert make_label(["ban", "adverts", "kids", "tv", "ban gambling adverts"]) == (
        "Ban gambling adverts"
    )


def test_describe_is_one_plain_sentence():
    assert describe(["a", "b"], "  “the bus comes too rarely” ") == (
        "The bus comes too rarely."
    )
    assert describe(["a", "b", "c"], "It is vital!") == "It is vital!"
    assert describe(["a", "b", "c"]) == "Responses mentioning a, b and c."
    assert describe([]) == "No description available."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I think that assisted suicide should be allowed because it ends suffering.",
            ["Assisted suicide should be allowed"],
        ),
        ("Homeschooling must stay, as schools vary.", ["Homeschooling must stay"]),
        ("Wir brauchen mehr Radwege, weil Straßen gefährlich sind.", ["Wir brauchen mehr Radwege"]),
        ("Yes. The bus lane must run till 7pm. Shops close!", ["The bus lane must run till 7pm"]),
        ("Assisted suicide is murder and, frankly, wrong.", ["Assisted suicide is murder"]),
        ("This cannot be done without help from a doctor.", []),
        ("Too short.", []),
    ],
)
def test_label_candidates_are_sentence_openings(text, expected):
    assert label_candidates(text) == expected


def test_choose_label_prefers_close_and_distinct():
    centroid = np.array([1.0, 0.0, 0.0])
    others = np.array([[0.0, 1.0, 0.0]])
    candidates = ["Close but shared", "Close and distinct", "Far away"]
    vectors = np.array([[0.8, 0.6, 0.0], [0.8, 0.0, 0.6], [0.0, 0.0, 1.0]])
    assert choose_label(candidates, vectors, centroid, others) == "Close and distinct"
    taken = {"close and distinct"}
    assert choose_label(candidates, vectors, centroid, others, taken=taken) == "Close but shared"


def test_label_candidates_drop_discourse_openings_and_dangling_contractions():
    assert label_candidates("Plus the area feels like a village again.") == [
        "The area feels like a village again"]
    assert label_candidates("I really believe the scheme hasn't reduced traffic.") == [
        "The scheme hasn't reduced traffic"]
    assert label_candidates("And put a zebra crossing on Harbour Road.") == [
        "Put a zebra crossing on Harbour Road"]
    # a cut never leaves a label hanging on a contraction
    assert label_candidates("The air feels cleaner and it's, well, nicer.") == [
        "The air feels cleaner"]


@pytest.mark.parametrize("text", [
    "I strongly agree.", "I strongly agree with this.", "Totally against it.",
    "We support the scheme.", "I am in favour of the idea.", "I do not agree with this.",
])
def test_a_sentence_that_only_states_a_position_is_no_label(text):
    assert label_candidates(text) == []


def test_a_position_with_a_point_keeps_the_point():
    assert label_candidates("I support the new cycle lanes.") == ["I support the new cycle lanes"]
    assert label_candidates("I agree that traffic is worse.") == ["Traffic is worse"]
