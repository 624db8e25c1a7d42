"""Key phrases, labels and descriptions."""

from __future__ import annotations

import numpy as np
import pytest

from heard.analysis.clustering import ThemeDiscoverer
from heard.analysis.labels import (
    FUNCTION_WORDS,
    SIDE_NAMES,
    STOP_WORDS,
    choose_label,
    commonest_spelling,
    describe,
    fallback_label,
    function_words,
    is_taken,
    key_phrases,
    label_candidates,
    label_side,
    make_label,
    publishable,
    side_label,
    side_language,
    topic_label,
)
from tests._fake_embed import fake_embed

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


# -- key phrases in the answers' language ---------------------------------------------------

_GERMAN = [
    "Ich finde, dass der Radweg zu schmal ist, wenn es regnet.",
    "Es ist klar, dass der Radweg zu schmal ist, wenn viele fahren.",
    "Wenn es dunkel ist, sieht man, dass der Radweg zu schmal ist.",
    "Ich glaube, dass es auf dem Radweg zu eng wird, wenn Lieferwagen parken.",
    "Die Ampel schaltet zu langsam für Fußgänger.",
    "An der Kreuzung schaltet die Ampel zu langsam.",
    "Die Ampel am Bahnhof braucht eine längere Grünphase.",
    "Für Fußgänger ist die Ampel an der Kreuzung zu langsam.",
]
_GERMAN_LABELS = ["radweg"] * 4 + ["ampel"] * 4


def _edges(phrases: list[str]) -> set[str]:
    return {w for p in phrases for w in (p.lower().split()[0], p.lower().split()[-1])}


def test_german_key_phrases_keep_the_nouns_and_drop_the_function_words():
    english = key_phrases(_GERMAN, _GERMAN_LABELS, top_n=10)  # the English list only
    german = key_phrases(_GERMAN, _GERMAN_LABELS, top_n=10, language="de")
    stop = FUNCTION_WORDS["de"].stop
    assert _edges(english["radweg"]) & {"dass", "wenn", "es", "ist"}  # what the list fixes
    for phrases in german.values():
        assert phrases and not _edges(phrases) & stop
    assert any(p.split()[0] == "Radweg" for p in german["radweg"])  # nouns as written
    assert any("Ampel" in p.split() for p in german["ampel"])
    assert any("Kreuzung" in p.split() for p in german["ampel"])


_OTHERS = {
    "fr": (["Le bus est toujours en retard pour aller au travail."] * 3
           + ["Les pistes cyclables sont trop étroites dans le centre."] * 3),
    "es": (["El autobús siempre llega tarde por la mañana."] * 3
           + ["Los carriles bici son muy estrechos en el centro."] * 3),
    "nl": (["De bus is altijd te laat in de ochtend."] * 3
           + ["Het fietspad is veel te smal bij het station."] * 3),
    "cy": (["Mae'r bws yn hwyr bob bore i'r gwaith."] * 3
           + ["Mae'r llwybr beicio yn rhy gul yn y dref."] * 3),
}


@pytest.mark.parametrize("language", sorted(_OTHERS))
def test_key_phrases_never_start_or_end_on_the_languages_function_words(language: str):
    texts = _OTHERS[language]
    out = key_phrases(texts, ["a"] * 3 + ["b"] * 3, top_n=10, language=language)
    stop = FUNCTION_WORDS[language].stop
    for phrases in out.values():
        assert phrases and not _edges(phrases) & stop
    words = {w for p in out["a"] + out["b"] for w in p.lower().split()}
    assert {"bus", "bws", "autobús"} & words  # the nouns stay


def test_english_key_phrases_use_the_english_list_as_before():
    assert FUNCTION_WORDS["en"].stop is STOP_WORDS
    assert function_words(None) == function_words("en") == FUNCTION_WORDS["en"]
    assert key_phrases(TEXTS, LABELS, language="en") == key_phrases(TEXTS, LABELS)


def test_a_language_without_a_list_drops_the_words_most_answers_use():
    texts = [f"Il problema di {noun} è che il servizio non funziona" for noun in
             ("autobus", "treni", "strade", "ponti", "piste")] * 4
    words = function_words("it", texts)
    assert {"il", "di", "che", "non"} <= words.stop  # in every answer: function words here
    assert STOP_WORDS <= words.stop and "autobus" not in words.stop
    assert function_words("it", texts[:5]).stop == STOP_WORDS  # too few answers to tell
    out = key_phrases(texts, [t.split()[3] for t in texts], top_n=5, language="it")
    assert all(not _edges(p) & {"il", "di", "che"} for p in out.values())


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
    assert describe([], "Plus the queues are ridiculous") == "The queues are ridiculous."
    assert describe([], "It seems to me that pollution is worse.") == "Pollution is worse."
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


# -- labels an analyst could publish (third round) ----------------------------------------


@pytest.mark.parametrize(("text", "opening"), [
    ("Well done to the council for trying.", "Well done to the council for trying"),
    ("No more traffic on our street.", "No more traffic on our street"),
    ("Well, the buses run late every day.", "The buses run late every day"),
    ("No, the buses run late every day.", "The buses run late every day"),
    ("To be honest, the buses run late every day.", "The buses run late every day"),
    ("Scrap the scheme and spend the money on fixing our roads.", "Scrap the scheme"),
    ("Neighbours actually stop and talk to each other on the street now.", None),
])
def test_openings_keep_their_point(text, opening):
    """ "Well done …" lost its "Well" and became "Done to the council"; a long sentence keeps
    its first point only where "and" follows a whole object."""
    assert label_candidates(text) == ([opening] if opening else [])


@pytest.mark.parametrize("text", [
    "I'm a parent at Ashgrove Primary.", "We moved to Millbrook a few years ago.",
    "I live on Station Road with my family.", "I'm retired and walk everywhere locally.",
    "Ich wohne seit zehn Jahren in der Altstadt.", "We have two young children.",
    "Speaking for Harbourside Taxi and Private Hire Association.",
    "Dear CMS Technology and Health IT Team,", "CMS RFI Review Team,\nThank you.",
    "Sehr geehrte Damen und Herren,", "I look after my elderly mother.",
    "Autonomous.Md appreciates the opportunity to comment on the notice.",
    "Our submission addresses each RFI question in detail.",
])
def test_a_sentence_introducing_the_respondent_or_greeting_is_no_label(text):
    assert label_candidates(text) == []


@pytest.mark.parametrize("label", [
    "Na", "Hardly", "Ban", "Great", "Done to the", "Especially children",
    "Really", "Able to protect those", "We should do", "Would increase voter turnout",
])
def test_fragments_are_not_publishable(label):
    assert not publishable(label)


@pytest.mark.parametrize("label", [
    "Safer streets", "Neue Radwege", "Well done to the council", "No more traffic",
    "For some families it is necessary", "It's not guaranteed homeschooling helps",
    "Being forced to vote inhibits freedom", "Prevent the development of new housing areas",
    "Make it permanent",
])
def test_phrases_are_publishable(label):
    assert publishable(label)


@pytest.mark.parametrize(("phrases", "central"), [
    (["na"], "Na ja, passt schon"),
    (["hardly"], "Hardly any."),
    (["ban", "na"], "Na."),
])
def test_a_small_theme_without_a_good_phrase_is_labelled_from_its_own_words(phrases, central):
    label = fallback_label(phrases, [central])
    assert label.lower() not in {p.lower() for p in phrases}  # no bare fragment
    quoted = label.startswith("\u2018") and label.endswith("\u2019")
    assert quoted or publishable(label)
    words = label.strip("\u2018\u2019\u2026").lower().split()
    assert words and all(w.strip(".,") in central.lower() for w in words)  # verbatim


def test_fallback_label_prefers_whole_openings_then_publishable_phrases():
    assert fallback_label(["na", "cycle lanes", "parking"]) == "Cycle lanes"
    assert fallback_label(["air and safe", "safer streets"]) == "Safer streets"  # no pair
    assert fallback_label(["cycle lanes", "bus stops"], taken={"cycle lanes"}) == "Bus stops"
    quotes = ["We moved here in May.", "The bus stops are badly placed."]
    # a key phrase cut out of a sentence ("council to remove") gives way to a whole opening
    label = fallback_label(["council to remove"], quotes)
    assert label == "The bus stops are badly placed"
    assert fallback_label(["council to remove"], quotes[:1]) == "Council to remove"
    assert fallback_label(["hardly"], quotes, taken={label.lower()}).startswith("\u2018")
    cut = fallback_label(["hardly"], ["Is a flag mass produced and sold cheaply?"])
    assert cut == "\u2018Is a flag mass produced\u2026\u2019"


def test_is_taken_sees_case_punctuation_and_typos():
    taken = {"taxis taking disabled passengers should be exempt"}
    assert is_taken("Taxis taking disabled passengesr should be exempt", taken)
    assert is_taken("TAXIS taking disabled passengers should be exempt!", taken)
    assert commonest_spelling("No rael impatc", {"No rael impatc": 1, "No real impact": 4}) == (
        "No real impact")
    assert not is_taken("Taxis should pay for the permits", taken)
    assert not is_taken("Cycle lanes", {"bus lanes"})
    assert not is_taken("We should not abandon uniforms", {"we should abandon uniforms"})
    assert not is_taken("Schools shouldn't close", {"schools should close"})


@pytest.mark.parametrize(("typo", "spelt"), [
    ("No rael impatc", "No real impact"),
    ("Hrdly any change", "Hardly any change"),
    ("The filtres are in the wrong place", "The filters are in the wrong place"),
])
def test_commonest_spelling_mends_typos_but_never_swaps_a_word(typo, spelt):
    from collections import Counter

    counts = Counter({typo: 2, spelt: 9})
    assert commonest_spelling(typo, counts) == spelt
    # another word of like letters is no typo, however many answers use it
    swapped = spelt.rsplit(" ", 1)[0] + " planters"
    assert commonest_spelling(swapped, Counter({swapped: 1, spelt: 50})) == swapped


def test_commonest_spelling_replaces_a_typo():
    from collections import Counter

    counts = Counter({"Taxis taking disabled passengesr should be exempt": 1,
                      "Taxis taking disabled passengers should be exempt": 5,
                      "Put air quality monitors on Station Road": 3})
    assert commonest_spelling("Taxis taking disabled passengesr should be exempt", counts) == (
        "Taxis taking disabled passengers should be exempt")
    assert commonest_spelling("Put air quality monitors on Station Road", counts) == (
        "Put air quality monitors on Station Road")


def test_side_label_names_whose_side_not_agreement_with_the_words():
    label = "Please get the details right"
    assert side_label(label, 1) == f"{SIDE_NAMES['en'][1]}: {label}"
    assert side_label(label, -1) == f"{SIDE_NAMES['en'][-1]}: {label}"
    assert side_label(label, 0) == label
    for side in (1, -1):
        assert "(agree)" not in side_label(label, side)
        assert side_label(label, side).endswith(label)  # the words stay as written
        # one prefix, however often a label is relabelled, and it can be read back
        assert side_label(side_label(label, -side), side) == side_label(label, side)
        assert label_side(side_label(label, side)) == (side, label)
    assert label_side(label) == (0, label)


def test_side_label_speaks_the_answers_language():
    label = "Der Radweg muss auf die Straße"
    for side in (1, -1):
        german = side_label(label, side, "de")
        assert german == f"{SIDE_NAMES['de'][side]}: {label}"
        assert SIDE_NAMES["en"][side] not in german
        assert label_side(german) == (side, label)
        assert side_language(german) == "de"
        # relabelling keeps the language of the side it already names
        assert side_label(side_label(german, -side), side) == german
    assert side_label(label, 1, "xx").startswith(SIDE_NAMES["en"][1])  # no names: English
    names = [n for by_side in SIDE_NAMES.values() for n in by_side.values()]
    assert len(set(names)) == len(names)  # every prefix reads back to one side


PARENT_CORPUS = {
    # one parent ("buses") whose largest child would otherwise lend it its label
    "bus_late": ["The number nine bus arrives late every morning.",
                 "Every morning the number nine bus is late again.",
                 "The number nine bus never arrives on time in the morning."],
    "bus_fares": ["Bus fares have gone up again this year.",
                  "The bus fares are far too expensive for pensioners."],
    "hardly": ["Hardly any.", "Hardly."],
    "housing": ["Rents in the town centre keep rising every year.",
                "Landlords raise the rents in the town centre every year."],
}


def _parent_corpus(n: int = 240) -> list[str]:
    rng = np.random.default_rng(0)
    names, weights = list(PARENT_CORPUS), np.array([0.45, 0.2, 0.1, 0.25])
    picks = rng.choice(len(names), size=n, p=weights)
    return [PARENT_CORPUS[names[k]][rng.integers(len(PARENT_CORPUS[names[k]]))] for k in picks]


def test_discovered_labels_are_publishable_and_never_repeat_across_levels():
    texts = _parent_corpus()
    model = ThemeDiscoverer(seed=0, embed=fake_embed, min_themes=3, max_themes=5)
    model.fit(texts, fake_embed(texts))
    themes = model.themes_
    labels = [t.label for t in themes]
    # one label per theme, at both levels: a parent never takes a child's words
    seen: set[str] = set()
    for label in labels:
        assert not is_taken(label, seen), (label, labels)
        seen.add(label.lower())
    for theme in themes:
        quoted = theme.label.startswith("\u2018")
        assert quoted or publishable(theme.label), theme.label
    # a theme of "Hardly any." answers gets their words, not a lone "Hardly"
    assert all(t.label.strip("\u2018\u2019").lower() != "hardly" for t in themes)


@pytest.mark.parametrize(("text", "opening"), [
    ("Affirmative action gives opportunities to those who need them.",
     "Affirmative action gives opportunities"),
    ("We should do this, before it is too late.", None),
])
def test_an_opening_never_ends_on_a_word_that_needs_more(text, opening):
    assert label_candidates(text) == ([opening] if opening else [])


# -- parents named by what their children share ---------------------------------------

_FILTER_KIDS = [
    [f"The filters have made the queues worse on {road}." for road in ("Elm Road", "Mill Lane")]
    * 5,
    ["Remove the filters, they block the buses."] * 6 + ["Taxis charge more now."] * 4,
    ["Ambulances are delayed by the filters every day."] * 7 + ["Shops are losing trade."] * 3,
]


def test_topic_label_names_what_most_children_talk_about():
    label = topic_label(_FILTER_KIDS, ["remove", "queues", "filters", "ambulances"])
    assert label is not None
    words = label.lower().split()
    assert "filters" in words  # every child's answers name the filters
    # each word it names is shared by several children, not one member's point
    for word in set(words) - {"the", "and"}:
        assert sum(any(word in t.lower().split() for t in kid) for kid in _FILTER_KIDS) >= 2
    assert "remove" not in words  # a verb names no topic
    assert publishable(label)


def test_topic_label_passes_over_place_names_and_one_childs_words():
    kids = [
        ["Put monitors on Harbour Road near the school."] * 5,
        ["Move the bus stop on Harbour Road to the school gate."] * 5,
        ["The Harbour Road crossing is dangerous for the school run."] * 5,
    ]
    label = topic_label(kids, ["harbour road", "monitors", "school"])
    assert label is not None and "harbour" not in label.lower()
    assert "school" in label.lower()
    assert "monitors" not in label.lower()  # one child's point, not what they share


def test_topic_label_none_when_nothing_is_shared_or_all_taken():
    kids = [["Scrap the scheme now."] * 4, ["Publish the data please."] * 4]
    assert topic_label(kids, ["scheme", "data"]) is None
    assert topic_label(_FILTER_KIDS[:1], ["filters"]) is None  # one child: nothing to group
    first = topic_label(_FILTER_KIDS, ["filters", "queues"])
    assert first is not None
    again = topic_label(_FILTER_KIDS, ["filters", "queues"], taken={first.lower()})
    assert again is None or not is_taken(again, {first.lower()})


def test_topic_label_joins_in_the_answers_language():
    kids = [
        ["Der Radweg ist zu schmal und die Ampel zu langsam."] * 5,
        ["Die Ampel an der Kreuzung schaltet zu selten."] * 5,
        ["Der Radweg endet plötzlich vor der Brücke."] * 5,
    ]
    label = topic_label(kids, ["Radweg", "Ampel", "Brücke"])
    assert label is not None
    assert " und " in label and " and " not in label
    assert {"radweg", "ampel"} <= set(label.lower().split())


def test_discovered_labels_take_the_spelling_most_answers_use():
    from collections import Counter

    rng = np.random.default_rng(1)
    spelt = {
        "No real impact on my household.": 30, "No rael impatc on my household.": 6,
        "Hardly any change for us.": 25, "Hrdly any change for us.": 8,
        "The filters have made the queues worse.": 30,
        "The filtres have made the queues worse.": 5,
    }
    texts = [t for t, n in spelt.items() for _ in range(n)]
    texts = [texts[k] for k in rng.permutation(len(texts))]
    model = ThemeDiscoverer(seed=0, embed=fake_embed, min_themes=2, max_themes=4)
    model.fit(texts, fake_embed(texts))
    pool = Counter(c for t in texts for c in label_candidates(t, min_words=2))
    labels = [t.label.strip("\u2018\u2019\u2026") for t in model.themes_]
    for label in labels:
        alike = [c for c in pool if is_taken(c, {label.lower()}, similar=0.8)]
        # the commonest spelling, unless another theme has it already
        assert all(pool[c] <= pool[label] or c in labels for c in alike), (label, alike)
        assert publishable(label)


def test_topic_label_reads_capitals_as_the_answers_language_uses_them():
    # German capitalises nouns: "für Radfahrer" names a thing with no determiner before it
    german = [
        ["Mehr Platz für Radfahrer und weniger Platz für Autos in der Stadt."] * 4,
        ["Sichere Wege für Radfahrer fehlen, weil überall Autos parken."] * 4,
    ]
    label = topic_label(german, ["Radfahrer", "Autos", "Innenstadt"])
    assert label == "Radfahrer und Autos"  # one word alone names no topic: a second joins
    # in English a word capitalised mid-sentence is a name, not a topic
    english = [
        ["Traffic in Millbrook is worse for the buses since spring."] * 4,
        ["Parking in Millbrook is harder near the buses now."] * 4,
    ]
    label = topic_label(english, ["millbrook", "buses"])
    assert label is not None and "millbrook" not in label.lower() and "buses" in label


# -- a topic is the head of a noun phrase, shared by most children -------------------------


def test_topic_label_names_the_noun_a_modifier_stands_before():
    kids = [
        ["The main roads are jammed every morning."] * 5,
        ["Traffic on the main road is worse than before."] * 5,
        ["The main roads need better crossings."] * 5,
    ]
    label = topic_label(kids, ["main", "crossings"], language="en")
    assert label is not None
    words = label.lower().split()
    # "main" stands before "road(s)" in every use: the thing named is the main road
    assert "main" in words and words[words.index("main") + 1] in ("road", "roads")


def test_topic_label_passes_over_an_adjective_said_of_something():
    kids = [
        ["Voting in the elections is fair for all."] * 4
        + ["The elections give a fair result."] * 2,
        ["The elections are only fair when everyone votes."] * 4,
        ["A fair share of people skip the elections."] * 3,
    ]
    label = topic_label(kids, ["fair", "elections"], language="en")
    assert label is not None and "elections" in label.lower()
    assert "fair" not in label.lower().split()  # "is fair": said of the elections, no topic


def test_topic_label_in_german_takes_capitalised_nouns_only():
    kids = [
        ["Der neue Radweg ist zu schmal."] * 4,
        ["Die neue Ampel schaltet zu langsam."] * 4,
        ["Der neue Belag am Radweg ist gut, die Ampel auch."] * 4,
    ]
    label = topic_label(kids, ["neue", "Radweg", "Ampel"], language="de")
    assert label is not None
    assert "neue" not in label.lower().split()  # after "der", but an adjective: lower case
    assert "Radweg" in label.split()


def test_topic_label_none_when_only_half_the_children_or_the_whole_question_share_it():
    said = ["I barely noticed the change."] * 5
    other = [["No real impact on us."] * 5, ["We don't drive anyway."] * 5]
    # two of four children name the change: not what most of them talk about
    assert topic_label([said, said, *other], ["change"], language="en") is None
    kids = [["The death penalty is no deterrent."] * 5, ["The death penalty costs too much."] * 5]
    assert topic_label(kids, ["death penalty"], language="en") is not None
    # every answer to the motion names it: it sets no group apart
    rest = ["The death penalty is cruel."] * 6 + ["The death penalty is final."] * 4
    assert topic_label(kids, ["death penalty"], language="en", rest=rest) is None


def test_a_parent_stands_only_where_its_children_share_a_topic():
    texts = _parent_corpus()
    model = ThemeDiscoverer(seed=0, embed=fake_embed, min_themes=3, max_themes=5)
    model.fit(texts, fake_embed(texts), language="en")
    themes = {t.key: t for t in model.themes_}
    leaves = [t for t in model.themes_ if not any(c.parent == t.key for c in model.themes_)]
    assert sorted(t.key for t in leaves) == sorted(set(model.keys_))  # every leaf, once
    for theme in model.themes_:
        kids = [t.key for t in model.themes_ if t.parent == theme.key]
        assert theme.parent is None or theme.parent in themes
        if not kids:
            continue
        assert len(kids) >= 2
        answers = [[t for t, labs in zip(texts, model.labels_, strict=True)
                    if labs and labs[0] == k] for k in kids]
        # each word the parent names is in the answers of most of its children
        for word in set(theme.label.lower().split()) - {"the", "and"}:
            using = sum(any(word in a.lower() for a in kid) for kid in answers)
            assert using > len(kids) / 2, (theme.label, word)


def test_discovery_reads_labels_in_the_language_it_is_given(monkeypatch):
    from heard.analysis import prepare

    def no_detection(*args, **kwargs):
        raise AssertionError("the language was given: nothing to detect")

    monkeypatch.setattr(prepare.LanguageDetector, "detect", no_detection)
    monkeypatch.setattr(prepare.LanguageDetector, "detect_many", no_detection)
    texts = _parent_corpus(120)
    stance = np.where(np.arange(len(texts)) % 2, 1.0, -1.0)  # sides to name
    model = ThemeDiscoverer(seed=0, embed=fake_embed, min_themes=3, max_themes=5)
    model.fit(texts, fake_embed(texts), stance=stance, language="de")
    assert any(theme.side for theme in model.themes_)
    for theme in model.themes_:
        if theme.side:
            assert side_language(theme.label) == "de", theme.label
