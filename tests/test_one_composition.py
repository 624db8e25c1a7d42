"""One composition: `heard evaluate` scores what `heard analyse` runs, and the public API
runs without a store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from heard.analysis.analyse import analyse_texts, leaf_keys
from heard.analysis.clustering import ThemeSpec
from heard.evaluation.modes import EvalOptions, evaluate
from heard.store.models import Assignment, Response, Theme
from tests._fake_embed import DIM, fake_embed
from tests.conftest import heard, shared_dataset

PROJECT = Path(__file__).resolve().parents[1]


class FakeEmbedder:
    name = "fake-bow"
    dim = DIM

    def embed(self, texts, *, progress=None):
        return fake_embed(list(texts))



def stored_assignments(name: str) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for r in Response.objects.filter(question__consultation__name=name, question__kind="open"):
        out[(r.question.key, r.key)] = set()
    for qkey, rkey, theme in Assignment.objects.filter(
        response__question__consultation__name=name, is_active=True
    ).values_list("response__question__key", "response__key", "theme__key"):
        out[(qkey, rkey)].add(theme)
    return out


@pytest.mark.shared_data
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["codebook", "discover"])
def test_evaluate_scores_what_analyse_runs(mode):
    data = shared_dataset("gambling_xs")
    heard("import", str(data), "--consultation", "xs")
    args = ["analyse", "xs", "--embedder", "static", "--seed", "3"]
    if mode == "codebook":
        args += ["--codebook", str(data / "codebook.csv")]
    heard(*args)
    stored = stored_assignments("xs")
    result = evaluate(data, EvalOptions(mode=mode, embedder="static", seed=3, n_boot=0))
    assert result.predictions, "evaluate kept no predictions"
    assert set(result.predictions) == set(stored)
    differing = [k for k, v in result.predictions.items() if set(v) != stored[k]]
    assert differing == []
    if mode == "discover":
        # the same hierarchy was saved: every stored leaf is one evaluate found
        found = {t for v in result.predictions.values() for t in v}
        leaves = set(
            Theme.objects.filter(question__consultation__name="xs", children__isnull=True)
            .values_list("key", flat=True)
        )
        assert found <= leaves


def test_codebook_parents_are_never_mapped_to():
    codebook = [
        ThemeSpec("transport", "Transport"),
        ThemeSpec("bus", "Buses and bus services", parent="transport"),
        ThemeSpec("cycle", "Cycle lanes and cycling safety", parent="transport"),
        ThemeSpec("shops", "Shops and local business"),
    ]
    assert leaf_keys(codebook) == ["bus", "cycle", "shops"]
    texts = [
        "The bus service is too infrequent and buses are always late.",
        "Protected cycle lanes would make cycling safer for children.",
        "Local shops will lose business when the road closes.",
    ] * 8
    result = analyse_texts(texts, codebook=codebook, embedder=FakeEmbedder(), seed=0)
    mapped = {t for r in result.responses for t in r.themes}
    assert "transport" not in mapped
    assert mapped <= {"bus", "cycle", "shops"}
    assert [t.key for t in result.themes] == ["transport", "bus", "cycle", "shops"]


def test_every_text_gets_one_outcome_and_copies_share_results():
    letter = (
        "I object to the closure of the library because it is the only quiet place for "
        "students in the town and the council has not consulted the people who use it."
    )
    texts = [letter] * 6 + ["", "n/a", None, "The opening hours should be longer on Sundays."]
    result = analyse_texts(
        texts, unprocessable={9: "unreadable scan"}, embedder=FakeEmbedder(), seed=1
    )
    assert len(result.responses) == len(texts)
    counts = result.outcome_counts()
    assert sum(counts.values()) == len(texts)
    assert counts["unprocessable"] == 1 and counts["empty"] == 3
    copies = result.responses[:6]
    assert len({r.group for r in copies}) == 1 and copies[0].group is not None
    assert len({(tuple(r.themes), r.stance, r.evidence_rich) for r in copies}) == 1
    assert result.groups[copies[0].group].members == list(range(6))


def test_coding_one_copy_teaches_its_group():
    """An example on any copy of a letter reaches the mapper through the representative."""
    from heard.analysis.analyse import _examples_for

    # representatives: local 0 owns locals 0-2; local 3 owns itself
    owner = [0, 0, 0, 1]
    sub_index = [0, 1, 2, 5]
    got = _examples_for({2: ["a"], 1: ["b", "x"], 5: ["a"], 4: ["a"]}, owner, sub_index, ["a", "b"])
    assert got == [(0, ["b", "a"]), (1, ["a"])]


def test_docs_example_runs_without_django(tmp_path):
    """The notebook-style example in docs/python.md runs as written, with no Django."""
    page = (PROJECT / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert blocks, "docs/python.md has no python example"
    script = tmp_path / "example.py"
    script.write_text(
        "\n".join(blocks) + "\nimport sys\nassert 'django' not in sys.modules\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["HEARD_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mapped" in done.stdout


@pytest.mark.django_db(transaction=True)
def test_rerun_on_kept_themes_maps_to_leaves_only(tmp_path):
    """Found: a second `heard analyse` passed parents to the flat mapper, and 74 of 154
    responses ended with both a parent and its child."""
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "200", "--seed", "5")
    heard("import", str(data), "--consultation", "rerun")
    heard("analyse", "rerun", "--embedder", "static")
    parents = Theme.objects.filter(question__consultation__name="rerun", children__isnull=False)
    assert parents.exists(), "discovery built no hierarchy to re-run on"
    first = stored_assignments("rerun")
    heard("analyse", "rerun", "--embedder", "static")  # keeps the themes, maps again
    on_parents = Assignment.objects.filter(theme__in=parents, is_active=True).count()
    assert on_parents == 0
    second = stored_assignments("rerun")
    assert set(first) == set(second)
    assert sum(1 for k in first if second[k]) > 0.8 * sum(1 for k in first if first[k])


def test_discovery_is_given_the_stance_where_answers_state_their_side(monkeypatch):
    from heard.analysis.clustering import ThemeDiscoverer

    given: list = []
    fit = ThemeDiscoverer.fit

    def recording_fit(self, texts, vectors, *args, stance=None, **kwargs):
        given.append(stance)
        return fit(self, texts, vectors, *args, stance=stance, **kwargs)

    monkeypatch.setattr(ThemeDiscoverer, "fit", recording_fit)
    words = "parking charges library hours routes benches meters books drivers study".split()
    rng = np.random.default_rng(0)
    texts, weak = [], []
    for i in range(80):
        side = "agree" if i % 2 == 0 else "disagree"
        verb = "I support" if side == "agree" else "I oppose"
        a, b, c = rng.choice(words, 3, replace=False)
        texts.append(f"{verb} the change: {a}, {b} and {c} matter to us.")
        weak.append(side)
    result = analyse_texts(texts, weak_labels=weak, embedder=FakeEmbedder(), seed=0)
    side = given[-1]
    # one signed stance per analysed answer (one per group of copies), the product's own
    reps = [r for i, r in enumerate(result.responses) if r.group is None] + [
        result.responses[g.canonical] for g in result.groups
    ]
    assert side is not None and len(side) == len(reps)
    assert np.all(np.abs(side) <= 1.0)
    for sign, stance in ((1, "agree"), (-1, "disagree")):
        assert (np.sign(side) == sign).sum() == sum(r.stance == stance for r in reps) > 0
    # a question that asks for no position: no stance, so nothing to split by
    ideas = [t.split(": ", 1)[1] for t in texts]
    asked = analyse_texts(ideas, question="Any suggestions?", embedder=FakeEmbedder(), seed=0)
    assert not asked.stance_asked and given[-1] is None


def test_the_mapper_is_given_the_stance_only_where_answers_state_their_side(monkeypatch):
    from heard.analysis.mapping import ThemeMapper

    given: list = []
    fit = ThemeMapper.fit

    def recording_fit(self, *args, agree=None, **kwargs):
        given.append(agree)
        return fit(self, *args, agree=agree, **kwargs)

    monkeypatch.setattr(ThemeMapper, "fit", recording_fit)
    codebook = [{"key": "cost", "label": "Parking charges", "description": "Agreement"},
                {"key": "hours", "label": "Library hours", "description": "Disagreement"}]
    words = "parking charges library hours routes benches meters books drivers study".split()
    rng = np.random.default_rng(0)
    stated, weak, plain = [], [], []
    for i in range(60):
        side = "agree" if i % 2 == 0 else "disagree"
        a, b, c = rng.choice(words, 3, replace=False)
        stated.append(f"I {'support' if side == 'agree' else 'oppose'} it: {a}, {b} and {c}.")
        weak.append(side)
        plain.append(f"{a.capitalize()}, {b} and {c} matter to us.")
    question = "Do you agree with the proposed changes?"
    result = analyse_texts(stated, question=question, codebook=codebook, weak_labels=weak,
                           embedder=FakeEmbedder(), seed=0)
    assert result.stance_asked and given[-1] is not None
    assert len(given[-1]) == len(stated) - sum(len(g.members) - 1 for g in result.groups)
    # the question asks a position, but no answer states one: stance from tone alone is
    # shown, and does not weigh the themes
    result = analyse_texts(plain, question=question, codebook=codebook,
                           embedder=FakeEmbedder(), seed=0)
    assert result.stance_asked and given[-1] is None


def test_theme_counts_are_distinct_responses_and_a_parent_counts_its_family() -> None:
    from heard.analysis.analyse import QuestionResult, ResponseResult

    themes = [ThemeSpec("p", "Parent"), ThemeSpec("a", "A", parent="p"),
              ThemeSpec("b", "B", parent="p"), ThemeSpec("c", "C"), ThemeSpec("d", "D")]
    responses = [ResponseResult("mapped", themes=["a", "b"]),
                 ResponseResult("mapped", themes=["a"]),
                 ResponseResult("mapped", themes=["b", "c"]), ResponseResult("other")]
    result = QuestionResult(ids=[1, 2, 3, 4], themes=themes, responses=responses, groups=[],
                            from_codebook=False, embedder="fake", seed=0)
    counts = result.theme_counts()
    assert counts == {"p": 3, "a": 2, "b": 2, "c": 1, "d": 0}
    # a parent's count is its family's distinct responses, not the sum of its children's
    assert counts["p"] < counts["a"] + counts["b"]
