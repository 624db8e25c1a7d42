"""End to end through the store: sample data → import → analyse → themes/show/export."""

from __future__ import annotations

import csv
import json

import pytest

from heard.store.models import Assignment, Response, Run, Theme
from tests.conftest import SHARED_DATA, heard, shared_dataset

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture
def demo(tmp_path):
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "300", "--seed", "3")
    heard("import", str(data), "--consultation", "demo")
    return data


def assert_every_response_has_an_outcome(name: str) -> None:
    responses = Response.objects.filter(question__consultation__name=name)
    total = responses.count()
    assert total > 0
    assert not responses.filter(outcome=Response.Outcome.PENDING).exists()
    by_outcome = {o: responses.filter(outcome=o).count() for o in Response.Outcome.values}
    assert sum(by_outcome.values()) == total
    # Mapped open answers carry at least one theme; "Other" ones carry a reason.
    open_mapped = responses.filter(question__kind="open", outcome="mapped")
    assert not open_mapped.filter(assignments__isnull=True).exists()
    assert not responses.filter(outcome="other", outcome_reason="").exists()


def test_analyse_demo_end_to_end(demo, tmp_path):
    heard("analyse", "demo", "--seed", "1")
    assert_every_response_has_an_outcome("demo")
    run = Run.objects.get()
    assert run.status == Run.Status.DONE
    assert run.versions["embedder"]
    assert run.params["seed"] == 1

    themes = Theme.objects.filter(question__consultation__name="demo")
    assert themes.exists()
    for theme in themes:
        assert 0 < len(theme.label.split()) <= 8
        for quote in theme.quotes:
            source = Response.objects.get(id=quote["response_id"]).text
            assert quote["text"] in source
    leaves = themes.filter(children__isnull=True)
    assert leaves.filter(parent__isnull=False).exists(), "expected a two-level hierarchy"

    out = json.loads(heard("themes", "demo", "--json"))
    assert out and all(q["themes"] for q in out)
    summary = json.loads(heard("show", "demo", "--json"))
    assert summary["run"]["status"] == "done"

    export = tmp_path / "demo.csv"
    heard("export", "demo", "--format", "csv", "-o", str(export))
    with open(export, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == Response.objects.filter(question__consultation__name="demo").count()
    assert {r["outcome"] for r in rows} <= {"mapped", "other", "empty", "unprocessable"}
    assert all(not r["text"].startswith(("=", "+", "-", "@")) for r in rows)


def test_same_seed_same_result(demo):
    heard("analyse", "demo", "--seed", "5")
    first = sorted(Theme.objects.values_list("key", "label"))
    first_assign = sorted(Assignment.objects.values_list("response_id", "theme__key"))
    heard("analyse", "demo", "--seed", "5", "--rediscover")
    assert sorted(Theme.objects.values_list("key", "label")) == first
    assert sorted(Assignment.objects.values_list("response_id", "theme__key")) == first_assign


def test_killed_run_resumes(demo):
    from heard.pipeline.analysis import AnalyseParams, run_analysis, start_run
    from heard.store.models import Consultation

    consultation = Consultation.objects.get(name="demo")
    params = AnalyseParams(seed=0)
    run = start_run(consultation, params)
    open_questions = list(consultation.questions.filter(kind="open"))
    assert len(open_questions) >= 2

    calls = []

    def stop_after_first_question(stage: str, fraction: float) -> None:
        calls.append(stage)
        if stage.startswith(open_questions[1].key):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_analysis(run, progress=stop_after_first_question)
    run.refresh_from_db()
    assert run.state["done"] == [open_questions[0].id]

    resumed = start_run(consultation, params)
    assert resumed.id == run.id
    stages = []
    run_analysis(resumed, progress=lambda s, f: stages.append(s))
    assert not any(s.startswith(open_questions[0].key + ":") for s in stages)
    assert_every_response_has_an_outcome("demo")


def test_codebook_and_examples(demo):
    codebook = demo / "codebook.csv"
    heard(
        "analyse", "demo", "--codebook", str(codebook), "--examples", str(demo / "gold_themes.csv")
    )
    assert_every_response_has_an_outcome("demo")
    with open(codebook, encoding="utf-8") as handle:
        expected = {row["theme"] for row in csv.DictReader(handle)}
    assert set(Theme.objects.values_list("key", flat=True)) <= expected
    assert Theme.objects.filter(origin="codebook").exists()


def test_suggest_review_lists_responses(demo):
    heard("analyse", "demo")
    question = (
        Response.objects.filter(question__kind="open")
        .values_list("question__key", flat=True)
        .first()
    )
    rows = json.loads(heard("suggest-review", "demo", "--question", question, "-n", "5", "--json"))
    assert 0 < len(rows) <= 5
    assert len({r["id"] for r in rows}) == len(rows)


def _shared_sources():
    sources = ["gambling_xs", "gambling_1000", "cms_rfi/CMS-2025-0050-0031.csv"]
    polis = SHARED_DATA / "polis"
    if polis.exists():
        sources += [f"polis/{p.name}/comments.csv" for p in sorted(polis.iterdir()) if p.is_dir()]
    return sources


@pytest.mark.slow
@pytest.mark.parametrize("source", _shared_sources())
def test_counts_in_equal_counts_out_on_shared_data(source):
    path = shared_dataset(source)
    heard("import", str(path), "--consultation", "shared")
    stored = Response.objects.count()
    heard("analyse", "shared", "--embedder", "minilm")
    assert Response.objects.count() == stored
    assert_every_response_has_an_outcome("shared")
