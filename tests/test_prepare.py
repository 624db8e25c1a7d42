"""Text preparation: substantive-answer detection and language detection."""

from __future__ import annotations

import csv

import pytest

from heard.analysis.prepare import LanguageDetector, Prepared, prepare, substantive
from tests.conftest import shared_dataset


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (None, "empty"),
        ("   \n\t ", "empty"),
        ("-", "no letters or digits"),
        ("...", "no letters or digits"),
        ("?!", "no letters or digits"),
        ("👍👍", "no letters or digits"),
        ("aaaa", "repeated character"),
        ("xxx", "repeated character"),
        ("n/a", "non-answer"),
        ("N/A.", "non-answer"),
        ("n.a.", "non-answer"),
        ("None", "non-answer"),
        ("No comment", "non-answer"),
        ("no comments.", "non-answer"),
        ("See above", "non-answer"),
        ("As above.", "non-answer"),
        ("asdf", "keyboard mash"),
        ("qwerty", "keyboard mash"),
        ("asdfasdf", "keyboard mash"),
        ("lkjh", "keyboard mash"),
        ("sdfghk", "keyboard mash"),
        ("See attached file(s)", "refers to an attachment"),
        ("Please see attached.", "refers to an attachment"),
        ("Please see the attached comment letter from Example Health.", "refers to an attachment"),
        ("See attached comments. Thank you.", "refers to an attachment"),
    ],
)
def test_non_answers(text, reason):
    assert substantive(text) == (False, reason)


@pytest.mark.parametrize(
    "text",
    [
        "No",
        "No.",
        "Yes",
        "Y",
        "Agree",
        "I agree",
        "Don't know",
        "Nothing",
        "None of the options suit rural areas",
        "Na",  # Welsh for "no"
        "cwm",  # Welsh word without a, e, i, o, u
        "Flask",
        "typewriter",
        "The attached study shows bus use fell by 20% after the fare rise, so the "
        "council should reverse it before winter and consult the rural parishes properly.",
        "We need more frequent buses in the evening.",
    ],
)
def test_real_short_answers_are_substantive(text):
    assert substantive(text) == (True, "")


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I think the council should build more affordable homes near the station.", "en"),
        ("Rwy'n credu y dylai'r cyngor adeiladu mwy o dai fforddiadwy ger yr orsaf.", "cy"),
        ("Je pense que la mairie devrait construire plus de logements abordables.", "fr"),
        ("Ich denke, die Stadt sollte mehr bezahlbare Wohnungen in der Nähe bauen.", "de"),
        ("Creo que el ayuntamiento debería construir más viviendas asequibles.", "es"),
    ],
)
def test_language_detection(detector, text, code):
    found, confidence = detector.detect(text)
    assert found == code
    assert 0.5 <= confidence <= 1.0


@pytest.mark.parametrize("text", ["", "No", "ok!", "12345 678", "🙂🙂🙂"])
def test_language_undetermined_for_short_or_junk(detector, text):
    assert detector.detect(text)[0] == "und"


def test_language_restricted_set():
    det = LanguageDetector(languages=["en", "cy"])
    assert det.detect("Mae angen mwy o arian ar ysgolion yng Nghymru heddiw.")[0] == "cy"


def test_prepare_returns_one_record_per_text(detector):
    texts = ["  Hello THERE, we need more buses in the evening! ", "n/a", ""]
    out = prepare(texts, detector=detector)
    assert len(out) == 3 and all(isinstance(p, Prepared) for p in out)
    assert out[0].normalised == "hello there, we need more buses in the evening"
    assert out[0].substantive and out[0].language == "en" and out[0].reason == ""
    assert (out[1].substantive, out[1].reason, out[1].language) == (False, "non-answer", "und")
    assert (out[2].substantive, out[2].reason) == (False, "empty")


@pytest.mark.shared_data
def test_cms_attachment_pointers_flagged():
    path = shared_dataset("cms_rfi/CMS-2025-0050-0031.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        comments = [row["Comment"] for row in csv.DictReader(fh)]
    results = [substantive(c) for c in comments]
    flagged = [c for c, (ok, _) in zip(comments, results, strict=True) if not ok]
    # the export's stock pointer is always flagged
    assert all(not substantive(c)[0] for c in comments if c.strip() == "See attached file(s)")
    # long comments are never flagged: pointers have at most 40 words, cover notes 80
    assert all(len(c.split()) <= 40 for c, (_, why) in zip(comments, results, strict=True)
               if why == "refers to an attachment")
    assert all(len(c.split()) <= 80 for c in flagged)
    assert len(flagged) > 300
    # cover notes ("X is pleased to submit the attached comments") are flagged too
    assert sum(1 for _, why in results if why == "cover note") >= 50


@pytest.mark.shared_data
def test_polis_comments_mostly_substantive_and_english():
    path = shared_dataset("polis/american-assembly.bowling-green/comments.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["comment-body"] for r in rows]
    flags = [substantive(t)[0] for t in texts]
    assert sum(flags) / len(flags) > 0.97
    det = LanguageDetector()
    langs = [det.detect(t)[0] for t, ok in zip(texts, flags, strict=True) if ok]
    assert langs.count("en") / len(langs) > 0.9


@pytest.mark.parametrize(
    "text",
    [
        "On behalf of the Riverside Cycling Club, we are pleased to submit these comments "
        "in response to the consultation. Kind regards, Jo Smith",
        "The Harbour Trust appreciates the opportunity to provide feedback on the draft plan. "
        "Please see the attached PDF for our full response.",
        "Thank you for the opportunity to respond. We look forward to the next steps.",
        "Comments from the Northern Bus Users Group regarding the transport strategy.",
        # the title of the call is a name, not a request, and ";" or ":" does not end it
        "Please see the attached comments from the Valley Trust regarding the Request for "
        "Information; Rural Broadband Plan [RB-2031].",
        "Please find attached our response to the Call for Evidence: Coastal Flood Defences "
        "from the Shore Residents Forum. Please do not hesitate to contact us.",
    ],
)
def test_cover_notes_are_no_substantive_answer(text):
    assert substantive(text) == (False, "cover note")


@pytest.mark.parametrize(
    "text",
    [
        "My comments: the road is dangerous for children walking to school.",
        "We are pleased to submit comments and we oppose the closure because it raises costs.",
        "Thank you for the opportunity. The bus lane should run until 7pm, not 6pm.",
        "I submit that the council has ignored the residents of Mill Lane for years.",
        "Please extend the deadline for comments to June; our members need more time.",
        "In response to the Request for Information: we oppose the new fees on small clinics.",
    ],
)
def test_answers_that_argue_are_kept(text):
    assert substantive(text) == (True, "")


def test_a_placeholder_mark_is_no_answer():
    assert substantive("x") == (False, "non-answer")
    assert substantive("X.") == (False, "non-answer")
    assert substantive("Y") == (True, "")  # "yes", typed short


def test_bare_na_is_no_answer_only_where_no_answer_is_welsh(detector):
    english = ["na", "We need more frequent buses in the evening.", "NA", "Na."]
    flagged = prepare(english, detector=detector)
    assert [p.substantive for p in flagged] == [False, True, False, False]
    assert {p.reason for p in flagged if not p.substantive} == {"non-answer"}
    welsh = ["Na", "Dylai'r cyngor wneud llawer mwy i helpu pobl ifanc yn yr ardal hon."]
    kept = prepare(welsh, detector=detector)
    assert kept[1].language == "cy"
    assert kept[0].substantive  # "no" in Welsh answers a question
    assert prepare(["na nid wyf yn cytuno"], detector=detector)[0].substantive


def test_main_language_is_the_commonest_known_one():
    from heard.analysis.prepare import main_language

    assert main_language(["de", "und", "en", "de", "und", "und"]) == "de"
    assert main_language(["und", ""]) is None
    assert main_language([]) is None
