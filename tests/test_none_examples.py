"""Examples with no theme ("none of these themes"): from an examples file and from analysts'
codings to the mapper's examples, and the messages for bad examples files."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard.analysis.analyse import _examples_for
from heard.pipeline.analysis import (
    AnalysisError,
    _check_example_themes,
    _human_examples,
    _read_examples,
    load_question,
)
from heard.store.models import Question, Response, Theme
from tests.test_results import build_probe


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labelled.csv"
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def test_examples_file_reads_none_as_an_example_with_no_theme(tmp_path: Path) -> None:
    path = write(tmp_path, """
response_id,question_id,theme
r1,q1,cost
r1,q1,safety
r2,q1,None
r3,q2,none
r4,q2,cost
""")
    assert _read_examples(path) == {
        "q1": {"r1": ["cost", "safety"], "r2": []},
        "q2": {"r3": [], "r4": ["cost"]},
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("r1,q1,cost\nr2,q1,\n", r"labelled.csv, row 3, column theme: empty\. Write a theme key"),
        ("r1,q1,none\nr2,q1,cost\nr1,q1,cost\n",
         r"labelled.csv, row 4, column theme: response 'r1' of question 'q1' is marked none "
         r"\(row 2\) and given a theme \(row 4\)"),
        ("r1,q1,cost\nr1,q1,NONE\n", r"row 3, column theme: .* marked none \(row 3\) and given a "
         r"theme \(row 2\)"),
    ],
)
def test_examples_file_errors_name_file_row_and_column(tmp_path: Path, rows, message) -> None:
    path = write(tmp_path, "response_id,question_id,theme\n" + rows)
    with pytest.raises(AnalysisError, match=message):
        _read_examples(path)


def test_examples_file_unknown_theme_names_its_row(tmp_path: Path) -> None:
    path = write(tmp_path, """
response_id,question_id,theme
r1,q1,cost
r2,q1,none
r3,q1,costs
r4,q9,anything
""")
    examples = _read_examples(path)
    known = {"q1": {"cost", "safety"}}  # q9's themes are not known before the run
    with pytest.raises(AnalysisError, match=r"row 4, column theme: unknown theme 'costs' for "
                       r"question 'q1'\. Its themes: cost, safety \(or none for an answer"):
        _check_example_themes(path, examples, known)
    _check_example_themes(path, examples, {"q1": {"cost", "safety", "costs"}})


def test_a_coding_naming_only_parent_themes_is_not_an_example_with_no_theme() -> None:
    examples = {0: ["t1"], 1: [], 2: ["t1", "t1.1"], 3: ["t1.2"]}
    got = _examples_for(examples, owner=[0, 1, 2, 3], sub_index=[0, 1, 2, 3],
                        leaves=["t1.1", "t1.2", "t2"])
    assert got == [(1, []), (2, ["t1.1"]), (3, ["t1.2"])]


@pytest.mark.django_db
def test_analysts_codings_with_no_theme_are_examples_with_no_theme() -> None:
    from heard.web.editing import edit_response

    build_probe()
    q2 = Question.objects.get(key="q2")
    data = load_question(q2)
    assert _human_examples(q2, data) == {}
    turtles = Response.objects.get(question=q2, text="I like turtles")  # "Other" already
    cost_13 = Response.objects.get(question=q2, text="It costs too much 13")
    cost_14 = Response.objects.get(question=q2, text="It costs too much 14")
    cost = Theme.objects.get(question=q2, key="t2")
    edit_response(turtles, None, theme_ids=[])  # confirmed: about none of the themes
    edit_response(cost_13, None, theme_ids=[])  # its theme removed
    edit_response(cost_14, None, theme_ids=[cost.pk])  # confirmed as it was
    index = {rid: i for i, rid in enumerate(data.ids)}
    assert _human_examples(q2, data) == {
        index[turtles.pk]: [], index[cost_13.pk]: [], index[cost_14.pk]: ["t2"],
    }


@pytest.mark.django_db(transaction=True)
def test_analyse_with_an_examples_file_marking_answers_with_no_theme(tmp_path: Path) -> None:
    import csv

    from click.testing import CliRunner

    from heard.cli import main
    from heard.store.models import Assignment, Run
    from tests.conftest import heard

    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "150", "--seed", "3")
    heard("import", str(data), "--consultation", "demo")
    with open(data / "gold_themes.csv", encoding="utf-8") as handle:
        gold = list(csv.DictReader(handle))
    with open(data / "responses.csv", encoding="utf-8") as handle:
        answers = [(r["response_id"], r["question_id"]) for r in csv.DictReader(handle)]
    themed = {(r["response_id"], r["question_id"]) for r in gold}
    q = gold[0]["question_id"]
    none = [rid for rid, qid in answers if qid == q and (rid, qid) not in themed][:3]
    assert none, "the sample data has answers with no theme"
    rows = [(r["response_id"], r["question_id"], r["theme"]) for r in gold[:40]]
    rows += [(rid, q, "none") for rid in none]
    examples = tmp_path / "labelled.csv"
    examples.write_text("response_id,question_id,theme\n"
                        + "".join(f"{a},{b},{c}\n" for a, b, c in rows), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(examples.read_text(encoding="utf-8") + f"{rows[0][0]},{q},no-such-theme\n",
                   encoding="utf-8")
    codebook = str(data / "codebook.csv")

    result = CliRunner().invoke(main, ["analyse", "demo", "--codebook", codebook,
                                       "--examples", str(bad)])
    assert result.exit_code != 0
    assert f"row {len(rows) + 2}, column theme: unknown theme 'no-such-theme'" in " ".join(
        result.output.split())
    assert not Assignment.objects.exists()  # the store is as it was: no results, no run
    assert not Run.objects.filter(kind="analyse").exists()

    heard("analyse", "demo", "--codebook", codebook, "--examples", str(examples))
    assert Run.objects.order_by("-id").first().status == Run.Status.DONE
    assert Assignment.objects.exists()
