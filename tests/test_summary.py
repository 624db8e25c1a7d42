"""The plain-words summary of a question: its wording rules, and the same numbers everywhere.

Every number of the summary is a figure of the results model; on the question page it links
to the responses it counts, and the filtered page shows exactly that many.
"""

from __future__ import annotations

import html
import io
import json
import random
import re

import pytest
from django.http import QueryDict

from heard.io.reports import build_report, render
from heard.results import (
    Figure,
    Outcomes,
    QuestionResults,
    ThemeResult,
    consultation_results,
    plain_summary,
    question_results,
)
from heard.results.summary import SMALL, quantifier
from heard.store.models import Question
from heard.web.filters import ResponseFilter, selection_query
from tests.conftest import heard
from tests.test_results import build_probe, signed_in, url

STANCES = ("agree", "disagree", "unclear")


def results(stance: dict[str, int], themes: list[tuple[str, int, dict]], *, mapped: int,
            other: int = 0, empty: int = 0, pending: int = 0,
            children: list[tuple[str, int, str]] = ()) -> QuestionResults:
    """A question's results as the model gives them (top-level themes, optional children)."""
    rows = [ThemeResult(i + 1, f"t{i}", label, "", 0, None, n, n / (mapped + other), split, 0)
            for i, (label, n, split) in enumerate(themes)]
    rows += [ThemeResult(100 + i, f"c{i}", label, "", 1, parent, n, n / (mapped + other), {}, 0)
             for i, (label, n, parent) in enumerate(children)]
    return QuestionResults(
        id=1, key="q", text="", kind="open", stage="draft", stage_label="Draft",
        stage_changed_by="", stage_changed_at=None, paired="",
        outcomes=Outcomes(mapped=mapped, other=other, empty=empty, pending=pending),
        themes=rows, stance=stance, evidence_rich=0, campaign_responses=0,
    )


def texts(r: QuestionResults) -> list[str]:
    return [s.text for s in plain_summary(r)]


# ---------------------------------------------------------------- wording rules


def test_majority_and_minority_in_plain_words():
    r = results({"agree": 18, "disagree": 62, "unclear": 20},
                [("Cost", 40, {"disagree": 30, "agree": 5}), ("Parking", 25, {"agree": 10})],
                mapped=90, other=10, empty=5)
    said = texts(r)
    assert said[0] == ("Most respondents (62%) disagreed; a minority (18%) agreed; "
                       "for 20% the stance was unclear.")
    assert "Of those who disagreed, the theme raised most often was “Cost” (48% of them)." in said
    assert "Of those who agreed, the theme raised most often was “Parking” (56% of them)." in said
    assert "The most common themes were “Cost” (40%) and “Parking” (25%)." in said
    assert said[-1] == ("10% of substantive responses matched no theme (“Other”); "
                        "5 of the 105 responses gave no substantive answer.")


@pytest.mark.parametrize("count, whole, word", [
    (51, 100, "a narrow majority"), (50, 100, "half"), (49, 100, "about half"),
    (56, 100, "most"), (55, 100, "a narrow majority"), (100, 100, "all"), (0, 100, "none"),
    (44, 100, "a minority"), (9, 100, "a small minority"), (10, 100, "a minority"),
])
def test_quantifiers(count, whole, word):
    assert quantifier(count, whole) == word


def test_most_and_majority_never_said_of_half_or_less():
    rng = random.Random(5)
    for _ in range(2000):
        whole = rng.randint(1, 500)
        count = rng.randint(0, whole)
        word = quantifier(count, whole)
        if word in ("most", "a narrow majority", "all"):
            assert 2 * count > whole
        if 2 * count > whole:
            assert word in ("most", "a narrow majority", "all", "about half") or word == "half"


def test_a_tie_between_agree_and_disagree_says_so():
    r = results({"agree": 30, "disagree": 30, "unclear": 10}, [], mapped=70)
    assert texts(r)[0] == ("As many respondents agreed (43%) as disagreed (43%); "
                           "for 14% the stance was unclear.")


def test_a_stance_read_for_part_of_the_base_names_its_denominator():
    r = results({"agree": 20, "disagree": 5}, [("Cost", 30, {})], mapped=40)
    assert texts(r)[0] == ("Of the 25 respondents whose answer showed a stance, most (80%) "
                           "agreed; a minority (20%) disagreed.")


def test_small_counts_are_stated_as_numbers():
    r = results({"agree": 3, "disagree": 4}, [("Cost", 5, {"disagree": 4})], mapped=5, other=2)
    said = texts(r)
    assert said[0] == "Of 7 responses with a stance, 4 disagreed and 3 agreed."
    assert "The most common theme was “Cost” (5 of 7)." in said
    assert not any(re.search(r"\d%|most |majority|minority|half", s, re.I)
                   for s in said if "most common" not in s)
    assert not any("%" in s for s in said)


def test_no_stance_sentence_where_no_stance_was_read():
    r = results({}, [("A", 30, {}), ("B", 30, {}), ("C", 10, {})], mapped=60)
    said = texts(r)
    assert not any(w in " ".join(said) for w in ("agreed", "disagreed", "stance"))
    assert said == ["The most common themes, raised equally often, were “A” (50%) and “B” "
                    "(50%), then “C” (17%)."]


def test_themes_are_top_level_themes_with_their_family_count():
    r = results({}, [("Transport", 13, {}), ("Cost", 2, {})], mapped=15, other=1,
                children=[("Buses", 13, "t0"), ("Trains", 14, "t0")])
    said = " ".join(texts(r))
    assert "“Transport” (81%)" in said and "Buses" not in said and "Trains" not in said


def test_questions_without_responses_or_analysis():
    assert texts(results({}, [], mapped=0)) == ["No responses to this question yet."]
    assert texts(results({}, [], mapped=0, pending=4, empty=1)) == [
        "1 of the 5 responses gave no substantive answer; 4 responses are not analysed yet."]
    assert texts(results({}, [], mapped=0, empty=3)) == [
        "All 3 responses gave no substantive answer."]
    assert texts(results({}, [], mapped=0, empty=1)) == [
        "The 1 response gave no substantive answer."]
    assert texts(results({}, [], mapped=0, other=20)) == [
        "20 substantive responses have no theme yet."]


def test_every_figure_is_its_count_of_its_whole():
    rng = random.Random(11)
    for _ in range(300):
        mapped, other = rng.randint(0, 60), rng.randint(0, 30)
        split = {s: rng.randint(0, mapped + other) // 3 for s in STANCES}
        themes = [(f"T{i}", rng.randint(0, mapped), {s: rng.randint(0, 5) for s in STANCES})
                  for i in range(rng.randint(0, 4))]
        r = results(split, themes, mapped=mapped, other=other, empty=rng.randint(0, 5))
        for sentence in plain_summary(r):
            assert sentence.text[0].isupper() or sentence.text[0].isdigit() or \
                sentence.text[0] == "“"
            assert sentence.text.endswith(".")
            for f in sentence.figures:
                assert 0 <= f.count <= f.whole or f.whole == 0
                if f.text.endswith("%") and f.whole:
                    assert f.whole >= SMALL
                    value = f.text.strip("<>%")
                    assert abs(int(value) - 100 * f.count / f.whole) <= 1


# ---------------------------------------------------------------- the same numbers everywhere


def figures(q: QuestionResults) -> list[Figure]:
    return [f for s in plain_summary(q) for f in s.figures]


@pytest.mark.django_db
def test_each_number_selects_exactly_its_responses(client):
    consultation = build_probe()
    q2 = Question.objects.get(consultation=consultation, key="q2")
    model = question_results(q2)
    said = plain_summary(model)
    assert said and all(s.figures for s in said)
    signed_in(client, consultation)
    page = client.get(url("question", "probe", qid=q2.id)).content.decode()
    summary = page.split('id="plain-summary"')[1].split("</section>")[0]
    links = re.findall(r'<a class="govuk-link" href="([^"]+)" data-count="(\d+)">', summary)
    assert len(links) == len(figures(model))
    for (href, count), figure in zip(links, figures(model), strict=True):
        assert int(count) == figure.count
        query = html.unescape(href).lstrip("?")
        assert query == selection_query(figure.selection)
        # the filter selects exactly the responses the number counts
        selected = ResponseFilter.from_query(QueryDict(query)).apply(q2)
        assert selected.count() == figure.count
        filtered = client.get(url("question", "probe", qid=q2.id) + "?" + query).content.decode()
        assert f'<strong>{figure.count}</strong> response' in filtered
        assert 'id="plain-summary"' not in filtered  # the summary is of all responses
    for sentence in said:
        assert html.escape(sentence.text, quote=False) in re.sub(
            r'<span class="govuk-visually-hidden">.*?</span>|<[^>]+>', "", summary)


@pytest.mark.django_db(transaction=True)
def test_summary_is_the_same_in_the_cli_and_the_reports(tmp_path):
    from docx import Document

    consultation = build_probe()
    model = consultation_results(consultation)
    wanted = {q.key: [s.text for s in plain_summary(q)] for q in model.open}
    shown = json.loads(heard("show", "probe", "--json"))
    assert {q["id"]: q["summary"] for q in shown["questions"] if q["type"] == "open"} == wanted
    plain = heard("show", "probe")
    for sentences in wanted.values():
        for sentence in sentences:
            assert sentence.split(";")[0][:40] in " ".join(plain.split())
    report = build_report(consultation)
    assert {s.key: [x.text for x in s.summary] for s in report.open_sections} == wanted
    page = html.unescape(render(report, "html").decode())
    document = Document(io.BytesIO(render(report, "docx")))
    paragraphs = [p.text for p in document.paragraphs]
    for sentences in wanted.values():
        for sentence in sentences:
            assert f"<p>{sentence}</p>" in page
            assert sentence in paragraphs
    assert "In brief" in paragraphs


def test_the_larger_side_is_not_called_a_majority_when_it_is_not_one():
    r = results({"agree": 5, "disagree": 7, "unclear": 4}, [], mapped=16)
    assert texts(r)[0] == ("More respondents disagreed (44%) than agreed (31%); "
                           "for 25% the stance was unclear.")
    r = results({"agree": 51, "disagree": 0, "unclear": 49}, [], mapped=100)
    assert texts(r)[0] == ("A narrow majority of respondents (51%) agreed; none disagreed; "
                           "for 49% the stance was unclear.")
