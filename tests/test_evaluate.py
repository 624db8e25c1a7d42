"""`heard evaluate`: the layout reader, the mode plumbing, the JSON document and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from heard.evaluation import baselines, modes
from heard.evaluation import dataset as ds
from heard.evaluation.dataset import DatasetError, load_dataset
from heard.evaluation.modes import EvalOptions, EvaluationError, evaluate

REQUIRED_KEYS = {
    "mode",
    "dataset",
    "n_responses",
    "wall_s",
    "peak_rss_mb",
    "metrics",
    "per_theme",
    "params",
    "versions",
    "baselines",
}


def write_layout(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text.strip() + "\n", encoding="utf-8")
    return folder


ENGLISH = {
    "questions.csv": """
question_id,text
q1,Should adverts be banned?
q2,What else could help?
""",
    "responses.csv": """
response_id,question_id,text,region
1,q1,Ban them: children see too many adverts.,North
2,q1,Sport needs the sponsorship money.,South
3,q1,Ban them to protect children.,North
4,q1,No opinion.,East
1,q2,Teach children about gambling at school.,North
2,q2,Fund treatment services.,South
""",
    "codebook.csv": """
question_id,theme,label,description,position
q1,A,Protect children,Adverts harm children,Agreement
q1,B,Sports funding,Sport relies on the money,Disagreement
q2,A,Education,Teach about gambling,
q2,B,Treatment,Fund treatment,
""",
    "gold_themes.csv": """
response_id,question_id,theme
1,q1,A
2,q1,B
3,q1,A
1,q2,A
2,q2,B
""",
    "gold_stance.csv": """
response_id,question_id,stance
1,q1,AGREE
2,q1,Disagree
3,q1,agree
""",
    "gold_evidence_rich.csv": """
response_id,question_id,evidence_rich
1,q1,YES
2,q1,no
""",
}

# A Welsh and Japanese consultation: other theme names, extra columns, no questions.csv
# theme text for q2, a response without gold, ids repeated across questions.
NON_ENGLISH = {
    "questions.csv": """
question_id,text,section
C1,A ddylid gwahardd hysbysebion?,A
C2,他に何ができますか？,B
""",
    "responses.csv": """
response_id,question_id,text,oedran,地域
r-1,C1,"Dylid, er mwyn diogelu plant.",18-24,北
r-2,C1,Mae chwaraeon angen yr arian.,25-34,南
r-3,C1,Dim sylw.,35-44,東
r-1,C2,学校で教育するべきです。,18-24,北
r-2,C2,治療サービスに資金を。,25-34,南
""",
    "codebook.csv": """
question_id,theme,label,description,nodyn
C1,diogelu-plant,Diogelu plant,Mae hysbysebion yn niweidio plant,x
C1,arian-chwaraeon,Arian chwaraeon,Mae chwaraeon yn dibynnu ar yr arian,y
C2,教育,教育,学校での教育,
C2,治療,治療,治療サービス,
""",
    "gold_themes.csv": """
response_id,question_id,theme,coder
r-1,C1,diogelu-plant,A
r-2,C1,arian-chwaraeon,B
r-1,C2,教育,A
r-2,C2,治療,A
r-2,C2,治療,B
""",
}


@pytest.fixture
def english(tmp_path: Path) -> Path:
    return write_layout(tmp_path / "english", ENGLISH)


def test_reads_the_layout_keyed_by_question_and_response(english: Path) -> None:
    data = load_dataset(english, needs=["codebook", "gold_themes", "gold_stance", "gold_evidence"])
    assert data.name == "english"
    assert data.question_ids == ["q1", "q2"]
    assert data.keys[0] == ("q1", "1") and data.keys[4] == ("q2", "1")
    assert data.attributes[0] == {"region": "North"}
    assert data.rows("q2") == [4, 5]
    assert data.themes_of(0) == {"A"} and data.themes_of(4) == {"A"}
    assert data.themes_of(3) == set()  # no gold row: zero themes
    assert [t.position for t in data.codebook["q1"]] == ["Agreement", "Disagreement"]
    assert data.codebook["q2"][0].position is None
    # stance labels are compared case-insensitively
    assert data.gold_stance == {("q1", "1"): "agree", ("q1", "2"): "disagree", ("q1", "3"): "agree"}
    assert data.gold_evidence == {("q1", "1"): True, ("q1", "2"): False}


def test_question_filter(english: Path) -> None:
    data = load_dataset(english, needs=["gold_themes"], question="q2")
    assert data.keys == [("q2", "1"), ("q2", "2")]
    assert set(data.gold_themes) == {("q2", "1"), ("q2", "2")}
    with pytest.raises(DatasetError, match="q9"):
        load_dataset(english, question="q9")


def test_non_english_layout_with_other_names_and_columns(tmp_path: Path) -> None:
    folder = write_layout(tmp_path / "cy-ja", NON_ENGLISH)
    data = load_dataset(folder, needs=["codebook", "gold_themes"])
    assert data.question_ids == ["C1", "C2"]
    assert data.attributes[0] == {"oedran": "18-24", "地域": "北"}
    assert data.themes_of(data.keys.index(("C2", "r-2"))) == {"治療"}  # repeated row once
    assert data.themes_of(data.keys.index(("C1", "r-3"))) == set()
    assert [t.theme for t in data.codebook["C2"]] == ["教育", "治療"]


def test_other_encodings_and_delimiters(tmp_path: Path) -> None:
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "responses.csv").write_bytes(
        "response_id;question_id;text\n1;q;Très bien, merci\n2;q;Pas d'accord\n".encode("cp1252")
    )
    data = load_dataset(folder)
    assert data.texts == ["Très bien, merci", "Pas d'accord"]
    assert data.questions == {"q": ""}  # no questions.csv: taken from the responses


def test_missing_files_and_columns_are_named(english: Path) -> None:
    (english / "gold_stance.csv").unlink()
    with pytest.raises(DatasetError, match="gold_stance.csv is missing"):
        load_dataset(english, needs=["gold_stance"])
    (english / "gold_themes.csv").write_text("response_id,question_id,code\n1,q1,A\n")
    with pytest.raises(DatasetError, match=r"gold_themes.csv: missing column\(s\) theme"):
        load_dataset(english, needs=["gold_themes"])
    (english / "responses.csv").unlink()
    with pytest.raises(DatasetError, match="responses.csv is missing"):
        load_dataset(english)


def test_unknown_ids_themes_and_questions_fail(english: Path) -> None:
    (english / "gold_themes.csv").write_text(
        "response_id,question_id,theme\n1,q1,A\n99,q1,A\n4,q2,A\n1,q1,Z\n1,q7,A\n"
    )
    with pytest.raises(DatasetError) as err:
        load_dataset(english, needs=["codebook", "gold_themes"])
    message = str(err.value)
    assert "response not in responses.csv for that question (2): 99 in q1" in message
    assert "4 in q2" in message  # response 4 exists for q1 only
    assert "theme not in codebook.csv" in message and "'Z'" in message
    assert "unknown question_id" in message and "'q7'" in message


def test_duplicate_responses_and_bad_values_fail(english: Path) -> None:
    (english / "gold_evidence_rich.csv").write_text(
        "response_id,question_id,evidence_rich\n1,q1,maybe\n"
    )
    with pytest.raises(DatasetError, match="evidence_rich is not YES or NO"):
        load_dataset(english, needs=["gold_evidence"])
    (english / "responses.csv").write_text("response_id,question_id,text\n1,q1,a\n1,q1,b\n2,q3,c\n")
    with pytest.raises(DatasetError) as err:
        load_dataset(english)
    assert "duplicate response (1): 1 in q1" in str(err.value)
    assert "question_id not in questions.csv" in str(err.value)


def test_campaign_ids_without_question_column(english: Path) -> None:
    (english / "gold_campaigns.csv").write_text("response_id,campaign_id\n3,c1\n4,c1\n")
    data = load_dataset(english, needs=["gold_campaigns"])
    assert data.gold_campaigns == {("q1", "3"): "c1", ("q1", "4"): "c1"}
    # response 1 answers q1 and q2: which one is meant is ambiguous
    (english / "gold_campaigns.csv").write_text("response_id,campaign_id\n1,c1\n")
    with pytest.raises(DatasetError, match="add a question_id column"):
        load_dataset(english, needs=["gold_campaigns"])


def test_draw_examples_is_seeded_and_covers_each_theme() -> None:
    gold = [{"a"}, {"a"}, {"a", "b"}, {"b"}, {"b"}, {"c"}, set(), {"a"}]
    first = modes.draw_examples(gold, ["a", "b", "c", "d"], 2, np.random.default_rng(3))
    assert first == modes.draw_examples(gold, ["a", "b", "c", "d"], 2, np.random.default_rng(3))
    for theme in ("a", "b"):
        assert sum(theme in gold[i] for i in first) >= 2
    assert 5 in first  # the only "c"
    # one example per distinct text
    same = modes.draw_examples(
        gold, ["a"], 3, np.random.default_rng(0), ["x", "x", "y", "z", "z", "w", "v", "x"]
    )
    assert len(same) == 2


def test_draw_none_examples_takes_only_answers_with_no_theme() -> None:
    gold = [{"a"}, set(), set(), {"b"}, set(), set(), {"a", "b"}, set()]
    keys = ["t0", "t1", "t2", "t3", "t1", "t5", "t6", "t7"]
    rng = np.random.default_rng(4)
    drawn = modes.draw_none_examples(gold, 10, rng, [0, 2], keys)
    # answers with no theme, not already drawn, one per text: 2 is taken, 4 shares 1's text
    assert set(drawn) <= {1, 5, 7} and len(drawn) == 3
    assert modes.draw_none_examples(gold, 2, np.random.default_rng(4), [0, 2], keys) == sorted(
        modes.draw_none_examples(gold, 2, np.random.default_rng(4), [0, 2], keys)
    )
    assert len(modes.draw_none_examples(gold, 2, np.random.default_rng(4), [0, 2], keys)) == 2
    assert modes.draw_none_examples([{"a"}, {"b"}], 3, rng) == []  # none exist: none drawn
    # N = 0 leaves the generator untouched, so the theme examples of later draws are the same
    before, after = np.random.default_rng(9), np.random.default_rng(9)
    assert modes.draw_none_examples(gold, 0, after) == []
    assert before.integers(1 << 30) == after.integers(1 << 30)


def test_tfidf_logreg_baseline_learns_separable_themes() -> None:
    train = ["ban the adverts", "ban all adverts now", "sport money matters", "sport needs money"]
    labels = [{"ban"}, {"ban"}, {"money"}, {"money"}]
    out = baselines.tfidf_logreg(train, labels, ["please ban adverts", "money for sport"])
    assert out == [["ban"], ["money"]]


def test_embed_logreg_baseline_learns_separable_vectors() -> None:
    from heard.evaluation.baselines import embed_logreg

    train = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    labels = [{"ban"}, {"ban"}, {"money"}, {"money"}]
    out = embed_logreg(train, labels, np.array([[0.95, 0.05], [0.02, 0.98]]))
    assert out == [["ban"], ["money"]]
    # a response under every threshold still gets its most probable theme
    assert len(embed_logreg(train, labels, np.array([[0.5, 0.5]]))[0]) >= 1
    assert embed_logreg(train, [set()] * 4, np.zeros((2, 2))) == [[], []]


class FakeEmbedder:
    """Deterministic bag-of-letters vectors: enough for plumbing tests."""

    name = "fake-letters-1"
    dim = 26

    def embed(self, texts, progress=None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


class KeywordMapper:
    """Predicts a theme when its label's first word is in the text; records its examples."""

    seen_examples: list = []
    seen_agree: list = []  # each fit's P(agree) per response (None: stance not read)

    def __init__(self, embed, *, seed: int = 0) -> None:
        self.embed = embed

    def fit(self, themes, texts=None, vectors=None, examples=None, agree=None):
        self.themes = themes
        KeywordMapper.seen_examples.append(examples)
        KeywordMapper.seen_agree.append(agree)
        return self

    def predict(self, texts, vectors, agree=None):
        return [
            [t.key for t in self.themes if t.label.split()[0].lower() in text.lower()]
            for text in texts
        ]

    def decide(self, proba):
        return [[t.key for t, p in zip(self.themes, row, strict=True) if p] for row in proba]

    def predict_proba(self, texts, vectors, agree=None):
        keys = [t.key for t in self.themes]
        return np.array(
            [[1.0 if k in found else 0.0 for k in keys] for found in self.predict(texts, vectors)]
        )


@pytest.fixture
def fake_core(monkeypatch):
    import heard.analysis.embeddings as embeddings
    import heard.analysis.mapping as mapping

    monkeypatch.setattr(embeddings, "get_embedder", lambda name="minilm", **kw: FakeEmbedder())
    monkeypatch.setattr(mapping, "ThemeMapper", KeywordMapper)
    KeywordMapper.seen_examples = []
    KeywordMapper.seen_agree = []


def test_codebook_mode_plumbing(english: Path, fake_core, heard_home: Path) -> None:
    result = evaluate(english, EvalOptions(mode="codebook", n_boot=50))
    # keyword mapper: "protect" finds q1 response 3 and "treatment" q2 response 2;
    # "sports" and "education" appear nowhere -> two true positives of five gold pairs
    assert result.metrics["micro_precision"] == 1.0
    assert result.metrics["micro_recall"] == pytest.approx(2 / 5)
    assert result.metrics["n_scored"] == 6 and result.metrics["n_unlabelled"] == 1
    low, high = result.metrics["micro_f1_ci_low"], result.metrics["micro_f1_ci_high"]
    assert low <= result.metrics["micro_f1"] <= high
    assert {r["theme"] for r in result.per_theme} == {"A", "B"}
    assert result.params["embedder"] == "minilm" and result.versions["embedder"] == "fake-letters-1"
    # the embeddings were cached under HEARD_HOME
    assert list((heard_home / "cache" / "evaluate").glob("fake-letters-1-*.npy"))


def test_fewshot_excludes_training_examples(english: Path, fake_core, heard_home: Path) -> None:
    result = evaluate(
        english, EvalOptions(mode="fewshot", k=1, repeats=3, n_boot=20, baselines=("tfidf-logreg",))
    )
    # one example per theme and question: 4 drawn, 2 responses left to score
    assert result.metrics["n_train"] == 4
    assert result.metrics["n_scored"] == 2
    assert "micro_f1_sd" in result.metrics
    assert len(result.details["repeats"]) == 3
    assert set(result.baselines) == {"tfidf-logreg", "embed-logreg"}
    assert len(KeywordMapper.seen_examples) == 6  # 2 questions x 3 repeats
    assert all(len(ex) == 2 for ex in KeywordMapper.seen_examples)
    # q1 asks a position ("Should adverts be banned?") but its four answers state no side,
    # so the stance (tone alone) does not reach the mapper; q2 asks none. Where answers do
    # state their side: tests/test_one_composition.py.
    assert KeywordMapper.seen_agree == [None] * 6


def test_fewshot_none_examples_teach_no_theme_and_are_not_scored(
    english: Path, fake_core, heard_home: Path
) -> None:
    result = evaluate(english, EvalOptions(mode="fewshot", k=1, none_examples=2, repeats=2,
                                           n_boot=0))
    # q1's only answer with no gold theme ("No opinion.") joins its examples with no theme;
    # q2 has none: its examples are the themes' alone
    assert result.metrics["n_train"] == 5 and result.metrics["n_train_none"] == 1
    assert result.metrics["n_scored"] == 1
    assert result.params["none_examples"] == 2
    q1 = [dict(ex) for ex in KeywordMapper.seen_examples if len(ex) == 3]
    assert len(q1) == 2 and all(sorted(ex.values()) == [[], ["A"], ["B"]] for ex in q1)
    # without the option the protocol is unchanged: the same theme examples in every draw
    with_none = [[(j, keys) for j, keys in ex if keys] for ex in KeywordMapper.seen_examples]
    KeywordMapper.seen_examples = []
    plain = evaluate(english, EvalOptions(mode="fewshot", k=1, repeats=2, n_boot=0))
    assert plain.metrics["n_train"] == 4 and "n_train_none" not in plain.metrics
    assert [list(ex) for ex in KeywordMapper.seen_examples] == with_none
    assert "none_examples" not in plain.params
    with pytest.raises(EvaluationError, match="--none-examples"):
        evaluate(english, EvalOptions(mode="codebook", none_examples=2))
    with pytest.raises(EvaluationError, match="--none-examples"):
        evaluate(english, EvalOptions(mode="fewshot", none_examples=-1))


def test_fewshot_none_examples_leave_every_questions_theme_examples_as_they_were(
    tmp_path: Path, fake_core, heard_home: Path
) -> None:
    """q1's answers with no theme are drawn apart: q2's theme examples do not move."""
    responses = ["response_id,question_id,text"]
    responses += [f"{i},q1,Nothing to add {i}." for i in range(8)]
    responses += [f"{i},q1,Protect children {i}." for i in range(8, 12)]
    responses += [f"{i},q2,Education {i} about it." for i in range(12)]
    gold = ["response_id,question_id,theme"]
    gold += [f"{i},q1,A" for i in range(8, 12)] + [f"{i},q2,A" for i in range(12)]
    layout = write_layout(tmp_path / "none", {
        "responses.csv": "\n".join(responses),
        "codebook.csv": "question_id,theme,label\nq1,A,Protect children\nq2,A,Education",
        "gold_themes.csv": "\n".join(gold),
    })
    runs = {}
    for n in (0, 3):
        KeywordMapper.seen_examples = []
        evaluate(layout, EvalOptions(mode="fewshot", k=2, none_examples=n, repeats=6, n_boot=0))
        runs[n] = [[(j, keys) for j, keys in ex if keys] for ex in KeywordMapper.seen_examples]
        assert sum(not keys for ex in KeywordMapper.seen_examples for _, keys in ex) == 6 * n
    assert runs[0] == runs[3]


def test_corrections_curve_plumbing(english: Path, fake_core, heard_home: Path) -> None:
    result = evaluate(english, EvalOptions(mode="corrections", repeats=2, n_boot=0))
    steps = modes.CORRECTION_STEPS
    assert result.details["steps"] == list(steps)
    for n in steps:
        assert 0.0 <= result.metrics[f"micro_f1_at_{n}"] <= 1.0
        for name in modes.MAPPING_BASELINES:
            assert f"micro_f1_at_{n}" in result.baselines[name]
    # nothing corrected: the baselines have nothing to learn from and say nothing
    assert result.baselines["tfidf-logreg"]["micro_f1_at_0"] == 0.0
    # per question and repeat, one fit per step; q1's 4 responses are corrected at most
    # 2 at a time (half of them), and the first fit has no examples
    seen = KeywordMapper.seen_examples
    assert len(seen) == 2 * 2 * len(steps)
    assert seen[0] is None and all(len(ex) == 2 for ex in seen[1 : len(steps)])
    assert result.metrics["curve_rises"] in (0.0, 1.0)


def test_discovery_scores_perfect_and_giant(english: Path) -> None:
    data = load_dataset(english, needs=["gold_themes"])
    perfect = {q: [sorted(data.themes_of(i)) for i in data.rows(q)] for q in data.question_ids}
    metrics, per_theme, _ = modes.discovery_scores(data, perfect)
    assert metrics["matched_f1"] == metrics["code_recall"] == 1.0
    assert metrics["purity"] == metrics["inverse_purity"] == 1.0
    assert metrics["ari"] == metrics["nmi"] == 1.0
    assert metrics["other_share"] == pytest.approx(1 / 6)  # response 4 has no theme
    giant = {q: [["all"] for _ in data.rows(q)] for q in data.question_ids}
    metrics, _, _ = modes.discovery_scores(data, giant)
    assert metrics["inverse_purity"] == 1.0
    assert metrics["purity"] == pytest.approx(3 / 5)  # q1: 2 of 3 labelled; q2: 1 of 2
    assert metrics["ari"] == 0.0
    assert len(per_theme) == 4


def test_bad_options_are_refused(english: Path) -> None:
    with pytest.raises(EvaluationError, match="runs with --mode fewshot"):
        evaluate(english, EvalOptions(mode="codebook", baselines=("tfidf-logreg",)))
    with pytest.raises(EvaluationError, match="--k"):
        evaluate(english, EvalOptions(mode="fewshot", k=0))


def test_cli_writes_json_with_the_schema(english: Path, tmp_path: Path, heard_home) -> None:
    pytest.importorskip("heard.analysis.duplicates")
    from heard.cli import main

    text = "I object to this proposal because it harms families in our town and beyond."
    (english / "responses.csv").write_text(
        "response_id,question_id,text\n"
        + "".join(f'{i},q1,"{text}"\n' for i in range(1, 4))
        + "4,q1,Something else entirely about sport funding and money.\n"
    )
    (english / "gold_campaigns.csv").write_text(
        "response_id,question_id,campaign_id\n1,q1,c\n2,q1,c\n3,q1,c\n"
    )
    out = tmp_path / "out" / "campaigns.json"
    result = CliRunner().invoke(
        main, ["evaluate", str(english), "--mode", "campaigns", "--json", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "b3_f1" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert REQUIRED_KEYS <= set(doc)
    assert doc["mode"] == "campaigns" and doc["dataset"] == "english"
    assert doc["n_responses"] == 4
    assert doc["metrics"]["b3_f1"] == 1.0
    assert doc["peak_rss_mb"] > 0 and doc["wall_s"] >= 0
    assert doc["params"]["seed"] == 0 and doc["versions"]["heard"]
    assert all(isinstance(v, float | int) for v in doc["metrics"].values())


def test_cli_reports_layout_errors(tmp_path: Path) -> None:
    from heard.cli import main

    folder = write_layout(tmp_path / "broken", {"responses.csv": ENGLISH["responses.csv"]})
    result = CliRunner().invoke(main, ["evaluate", str(folder), "--mode", "stance"])
    assert result.exit_code != 0
    assert "gold_stance.csv is missing" in result.output
    assert "Traceback" not in result.output


def test_layout_constants_cover_every_mode() -> None:
    for mode in modes.MODES:
        assert set(modes.MODE_NEEDS[mode]) <= set(ds.FILES)


# --- the BERTopic baseline (discover) ---------------------------------------------------

BERTOPIC_TOPICS = {
    "ads": ["adverts", "children", "television", "ban", "marketing"],
    "sport": ["sport", "sponsorship", "clubs", "football", "money"],
    "help": ["treatment", "support", "addiction", "services", "funding"],
}


class TopicEmbedder:
    """Three well separated directions (one per topic) with a little seeded noise."""

    name = "fake-topics-1"
    dim = 16

    def embed(self, texts, progress=None) -> np.ndarray:
        rng = np.random.default_rng(7)
        out = rng.normal(0.0, 0.05, (len(texts), self.dim)).astype(np.float32)
        for i, text in enumerate(texts):
            for j, words in enumerate(BERTOPIC_TOPICS.values()):
                out[i, j] += sum(w in text for w in words)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def bertopic_layout(folder: Path, per_topic: int = 30) -> Path:
    rows, gold = ["response_id,question_id,text"], ["response_id,question_id,theme"]
    n = 0
    for theme, words in BERTOPIC_TOPICS.items():
        for i in range(per_topic):
            n += 1
            picked = [words[(i + k) % len(words)] for k in range(3)]
            rows.append(f"{n},q1,We think {' and '.join(picked)} matter (answer {i}).")
            gold.append(f"{n},q1,{theme}")
    return write_layout(
        folder, {"responses.csv": "\n".join(rows), "gold_themes.csv": "\n".join(gold)}
    )


def test_bertopic_baseline_missing_says_how_to_install(
    tmp_path: Path, monkeypatch, heard_home: Path
) -> None:
    import sys

    import heard.analysis.embeddings as embeddings

    monkeypatch.setattr(embeddings, "get_embedder", lambda name="minilm", **kw: TopicEmbedder())
    monkeypatch.setitem(sys.modules, "bertopic", None)  # import bertopic -> ImportError
    folder = bertopic_layout(tmp_path / "topics")
    with pytest.raises(EvaluationError) as err:
        evaluate(folder, EvalOptions(mode="discover", baselines=("bertopic",)))
    assert "pip install 'heard[bertopic]'" in str(err.value)
    assert "--no-deps" in str(err.value)


@pytest.mark.slow
def test_bertopic_baseline_in_table_and_json(tmp_path: Path, monkeypatch, heard_home: Path) -> None:
    for module in ("bertopic", "umap", "hdbscan"):
        pytest.importorskip(
            module,
            reason=f"{module} not installed: pip install 'heard[bertopic]' && "
            "pip install --no-deps 'bertopic>=0.16,<0.18'",
        )
    import heard.analysis.embeddings as embeddings
    from heard.cli import main

    monkeypatch.setattr(embeddings, "get_embedder", lambda name="minilm", **kw: TopicEmbedder())
    folder = bertopic_layout(tmp_path / "topics")
    out = tmp_path / "discover.json"
    result = CliRunner().invoke(
        main,
        ["evaluate", str(folder), "--mode", "discover", "--baseline", "bertopic"]
        + ["--json", str(out), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "bertopic" in result.output and "outlier_share" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["params"]["baseline"] == ["bertopic"]
    base = doc["baselines"]["bertopic"]
    assert 0.0 <= base["outlier_share"] <= 1.0
    assert {"matched_f1", "code_recall", "nmi", "n_themes", "fit_s"} <= set(base)
    assert set(doc["details"]["bertopic"]["questions"]) == {"q1"}
    # three separated topics of 30: BERTopic finds them, on the same embeddings as Heard
    assert base["n_themes"] >= 2 and base["matched_f1"] > 0.5
    # seeded UMAP: the same numbers again
    again = modes.run_bertopic_baseline(
        modes._Context(load_dataset(folder, needs=["gold_themes"]), EvalOptions("discover"))
    )[0]
    assert again["matched_f1"] == pytest.approx(base["matched_f1"], abs=1e-6)
    assert again["outlier_share"] == pytest.approx(base["outlier_share"], abs=1e-6)


def test_stance_mode_maps_labels_and_runs_the_baselines(
    english: Path, fake_core, heard_home: Path
) -> None:
    (english / "gold_stance.csv").write_text(
        "response_id,question_id,stance\n1,q1,Support\n2,q1,OPPOSE\n3,q1,for\n"
    )
    result = evaluate(english, EvalOptions(mode="stance"))
    assert result.details["stance_label_mapping"] == {
        "OPPOSE": "disagree",
        "Support": "agree",
        "for": "agree",
    }
    assert set(result.baselines) == {"prototype-difference", "oracle-majority"}
    # the oracle majority says "agree" for all three: 2 of 3 right
    assert result.baselines["oracle-majority"]["stance_accuracy"] == pytest.approx(2 / 3)
    assert result.metrics["n_scored"] == 3
    assert set(result.details["asks_for_position"]) == {"q1", "q2"}


def test_unreadable_stance_label_is_named(english: Path) -> None:
    (english / "gold_stance.csv").write_text("response_id,question_id,stance\n1,q1,purple\n")
    with pytest.raises(DatasetError, match="stance is not a stance.*purple"):
        load_dataset(english, needs=["gold_stance"])


def test_sample_data_closed_question_is_skipped_with_a_note(
    tmp_path: Path, fake_core, heard_home: Path
) -> None:
    """Heard's own sample consultation opens with a closed question (q1: agree / disagree);
    every mode scores the open questions and says q1 was skipped, and naming q1 alone is a
    clear error rather than a traceback."""
    from heard.demo.generator import CLOSED_OPTIONS, write_sample_consultation

    folder = tmp_path / "sample"
    write_sample_consultation(folder, 120, seed=7)
    data = load_dataset(folder, needs=("gold_themes", "gold_stance"))
    assert set(data.closed) == {"q1"} and "q1" not in data.question_ids
    assert data.question_ids and all(q != "q1" for q, _ in data.keys)
    assert not set(data.texts) & set(CLOSED_OPTIONS)
    assert any("closed questions skipped" in w and "q1" in w for w in data.warnings)
    for mode in ("codebook", "stance"):
        result = evaluate(folder, EvalOptions(mode=mode, n_boot=20))
        assert any("q1" in w for w in result.warnings)
        assert result.metrics
    with pytest.raises(DatasetError, match="q1.*closed question"):
        load_dataset(folder, question="q1")
    from heard.cli import main

    out = CliRunner().invoke(
        main, ["evaluate", str(folder), "--mode", "discover", "--question", "q1"]
    )
    assert out.exit_code != 0 and isinstance(out.exception, SystemExit)
    assert "closed question" in out.output and "Traceback" not in out.output


def test_discover_details_list_each_themes_key_phrases(
    tmp_path: Path, fake_core, heard_home: Path
) -> None:
    said = [f"The bus lane on route {n} is always blocked." for n in range(12)]
    said += [f"Zone {n} needs more parking permits for residents." for n in range(12)]
    folder = write_layout(tmp_path / "phrases", {
        "questions.csv": "question_id,text\nq1,What do you think?\n",
        "responses.csv": "response_id,question_id,text\n"
        + "".join(f"{i},q1,{t}\n" for i, t in enumerate(said)),
        "gold_themes.csv": "response_id,question_id,theme\n"
        + "".join(f"{i},q1,{'bus' if i < 12 else 'parking'}\n" for i in range(24)),
    })
    themes = evaluate(folder, EvalOptions(mode="discover", n_boot=0)).details["themes"]
    assert themes and all(isinstance(t["key_phrases"], list) for t in themes)
    words = {w.lower() for t in themes for p in t["key_phrases"] for w in p.split()}
    assert words and words <= {w.strip(".").lower() for t in said for w in t.split()}


def test_a_closed_questions_ticks_are_the_weak_labels_of_the_open_one_that_follows_it_up(
    tmp_path: Path, fake_core, heard_home: Path, monkeypatch
) -> None:
    ticks = ["Strongly agree", "Tend to disagree", "Neither agree nor disagree", "Agree"] * 5
    reasons = [f"Reason number {n} for my view on the road." for n in range(20)]
    folder = write_layout(tmp_path / "paired", {
        "questions.csv": "question_id,text\nq1,Do you agree with the proposal?\n"
                         "q2,Please explain why you gave this answer.\n"
                         "q3,Anything else about the road?\n",
        "responses.csv": "response_id,question_id,text\n"
        + "".join(f"r{i},q1,{t}\n" for i, t in enumerate(ticks))
        + "".join(f"r{i},q2,{t}\n" for i, t in enumerate(reasons[:-1]))
        + "".join(f"r{i},q3,{t}\n" for i, t in enumerate(reasons)),
        "gold_stance.csv": "response_id,question_id,stance\n"
        + "".join(f"r{i},q2,agree\n" for i in range(19)),
    })
    # as `heard import` pairs them: q2 asks "why" right after the closed q1; q3 does not
    data = load_dataset(folder)
    assert data.closed.keys() == {"q1"}
    assert data.weak[("q2", "r0")] == "agree" and data.weak[("q2", "r1")] == "disagree"
    assert ("q2", "r2") not in data.weak  # "neither": no side
    assert not any(q == "q3" for q, _ in data.weak)
    assert load_dataset(folder, question="q2").weak == data.weak  # q1 read even so

    import heard.analysis.analyse as analyse

    seen: dict[str, object] = {}
    real = analyse.analyse_texts

    def spy(texts, **kwargs):
        seen[kwargs.get("question", "")] = kwargs.get("weak_labels")
        return real(texts, **kwargs)

    monkeypatch.setattr(analyse, "analyse_texts", spy)
    evaluate(folder, EvalOptions(mode="stance", n_boot=0))
    weak = seen["Please explain why you gave this answer."]
    assert weak[:4] == ["agree", "disagree", None, "agree"] and len(weak) == 19
    assert seen["Anything else about the road?"] is None
