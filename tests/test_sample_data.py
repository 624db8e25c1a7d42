"""The demo consultation generator: layout, determinism, gold consistency, realism."""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from heard.demo.generator import (
    ATTRIBUTE_COLUMNS,
    CLOSED_OPTIONS,
    JUNK,
    OPEN_QUESTIONS,
    OUTPUT_FILES,
    QUESTIONS,
    iter_respondents,
    write_sample_consultation,
)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _digests(folder: Path) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in OUTPUT_FILES}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("sample")
    summary = write_sample_consultation(out, 3000, seed=11)
    return out, summary


def test_layout_and_counts(sample):
    out, summary = sample
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)  # no parts left
    questions = _rows(out / "questions.csv")
    assert [q["question_id"] for q in questions] == [q for q, _ in QUESTIONS]
    responses = _rows(out / "responses.csv")
    assert list(responses[0]) == ["response_id", "question_id", "text", *ATTRIBUTE_COLUMNS]
    assert len(responses) == 4 * 3000 == summary.rows
    per_q = Counter(r["question_id"] for r in responses)
    assert per_q == {q: 3000 for q, _ in QUESTIONS}
    # grouped by question, each respondent once per question
    order = [r["question_id"] for r in responses]
    assert order == sorted(order, key=[q for q, _ in QUESTIONS].index)
    by_q = defaultdict(set)
    for r in responses:
        by_q[r["question_id"]].add(r["response_id"])
    assert all(len(ids) == 3000 for ids in by_q.values())
    assert len(set.union(*by_q.values())) == 3000


def test_respondent_attributes_are_shared_across_questions(sample):
    out, _ = sample
    attrs: dict[str, tuple[str, ...]] = {}
    for r in _rows(out / "responses.csv"):
        values = tuple(r[c] for c in ATTRIBUTE_COLUMNS)
        assert attrs.setdefault(r["response_id"], values) == values
    types = Counter(v[0] for v in attrs.values())
    assert set(types) == {"Individual", "Organisation"}
    assert 0 < types["Organisation"] < types["Individual"]
    orgs = [v for v in attrs.values() if v[0] == "Organisation"]
    assert all(v[1] for v in orgs)  # organisations are named
    assert all(not v[1] for v in attrs.values() if v[0] == "Individual")
    assert len({v[4] for v in attrs.values()}) >= 8  # age bands in use


def test_closed_question_uses_options_and_matches_stance(sample):
    out, _ = sample
    responses = _rows(out / "responses.csv")
    closed = {r["response_id"]: r["text"] for r in responses if r["question_id"] == "q1"}
    assert set(closed.values()) <= set(CLOSED_OPTIONS) | {""}
    stance = {
        r["response_id"]: r["stance"]
        for r in _rows(out / "gold_stance.csv")
        if r["question_id"] == "q2"
    }
    agreeing = [closed[rid] for rid, s in stance.items() if s == "agree"]
    disagreeing = [closed[rid] for rid, s in stance.items() if s == "disagree"]
    assert sum("agree" in c.lower() and "dis" not in c.lower() for c in agreeing) > 0.9 * len(
        agreeing
    )
    assert sum("disagree" in c.lower() for c in disagreeing) > 0.9 * len(disagreeing)


def test_gold_files_are_consistent(sample):
    out, summary = sample
    responses = _rows(out / "responses.csv")
    keys = {(r["response_id"], r["question_id"]) for r in responses}
    codebook = _rows(out / "codebook.csv")
    themes = {(c["question_id"], c["theme"]) for c in codebook}
    assert {c["position"] for c in codebook} <= {"Agreement", "Disagreement", "Neutral"}
    assert {q for q, _ in themes} == set(OPEN_QUESTIONS)

    gold_themes = _rows(out / "gold_themes.csv")
    assert len(gold_themes) == summary.gold_theme_rows
    for g in gold_themes:
        assert (g["response_id"], g["question_id"]) in keys
        assert (g["question_id"], g["theme"]) in themes
    used = {(g["question_id"], g["theme"]) for g in gold_themes}
    assert used == themes  # every codebook theme is used at this size
    pairs = Counter((g["response_id"], g["question_id"]) for g in gold_themes)
    assert max(pairs.values()) <= 5 and Counter(pairs.values())[1] > 0

    open_keys = {k for k in keys if k[1] in OPEN_QUESTIONS}
    for name, column, allowed in (
        ("gold_stance.csv", "stance", {"agree", "disagree", "unclear"}),
        ("gold_evidence_rich.csv", "evidence_rich", {"YES", "NO"}),
    ):
        rows = _rows(out / name)
        assert {(r["response_id"], r["question_id"]) for r in rows} == open_keys
        assert len(rows) == len(open_keys)
        assert {r[column] for r in rows} == allowed

    campaigns = _rows(out / "gold_campaigns.csv")
    assert list(campaigns[0]) == ["response_id", "question_id", "campaign_id"]
    assert {(c["response_id"], c["question_id"]) for c in campaigns} <= open_keys
    assert len({(c["response_id"], c["question_id"]) for c in campaigns}) == len(campaigns)


def test_gold_matches_text(sample):
    """Empty and junk answers have no themes and unclear stance; only evidence has digits."""
    out, summary = sample
    texts = {
        (r["response_id"], r["question_id"]): r["text"]
        for r in _rows(out / "responses.csv")
        if r["question_id"] in OPEN_QUESTIONS
    }
    evidence = {
        (r["response_id"], r["question_id"]): r["evidence_rich"]
        for r in _rows(out / "gold_evidence_rich.csv")
    }
    stance = {
        (r["response_id"], r["question_id"]): r["stance"] for r in _rows(out / "gold_stance.csv")
    }
    themed = {(g["response_id"], g["question_id"]) for g in _rows(out / "gold_themes.csv")}
    junk = set(JUNK)
    n_empty = n_junk = 0
    for key, text in texts.items():
        if not text.strip() or text in junk:
            n_empty += not text.strip()
            n_junk += text in junk
            assert key not in themed and stance[key] == "unclear" and evidence[key] == "NO"
        else:
            assert key in themed, text
        has_digit = bool(re.search(r"\d", text))
        assert has_digit == (evidence[key] == "YES"), text
    assert n_empty == summary.empty > 0
    assert n_junk == summary.junk > 0
    assert 0 < summary.evidence_rich < 0.2 * len(texts)


def test_campaign_members_copy_with_edits(sample):
    out, summary = sample
    members = defaultdict(set)
    respondents = defaultdict(set)
    for c in _rows(out / "gold_campaigns.csv"):
        respondents[c["campaign_id"]].add(c["response_id"])
        if c["question_id"] == "q2":
            members[c["campaign_id"]].add(c["response_id"])
    assert set(members) == {"millbrook-says-no", "clean-air-ashgrove"}
    for campaign, ids in respondents.items():
        assert 0 < len(members[campaign]) <= len(ids) <= summary.campaign_members[campaign]
    q2 = {
        r["response_id"]: r["text"]
        for r in _rows(out / "responses.csv")
        if r["question_id"] == "q2"
    }
    stance = {
        r["response_id"]: r["stance"]
        for r in _rows(out / "gold_stance.csv")
        if r["question_id"] == "q2"
    }
    for campaign, ids in members.items():
        texts = [q2[rid] for rid in ids]
        counts = Counter(texts)
        canonical, copies = counts.most_common(1)[0]
        assert copies >= 0.2 * len(texts)  # many verbatim copies
        assert len(counts) > 0.3 * len(texts)  # and many edited ones
        # edited copies still share most of the letter's words
        letter_words = set(canonical.lower().split())
        for text in texts:
            overlap = len(letter_words & set(text.lower().split())) / len(letter_words)
            assert overlap > 0.6, text
        assert {stance[rid] for rid in ids} == {
            "millbrook-says-no": {"disagree"},
            "clean-air-ashgrove": {"agree"},
        }[campaign]
    assert sum(len(v) for v in members.values()) > 0.08 * 3000


def test_texts_are_varied(sample):
    out, _ = sample
    rows = _rows(out / "responses.csv")
    campaign_ids = {
        c["response_id"] for c in _rows(out / "gold_campaigns.csv") if c["question_id"] == "q2"
    }
    texts = [
        r["text"]
        for r in rows
        if r["question_id"] == "q2" and r["response_id"] not in campaign_ids and len(r["text"]) > 40
    ]
    assert len(set(texts)) > 0.9 * len(texts)
    lengths = sorted(len(t.split()) for t in texts)
    assert lengths[len(lengths) // 10] < 20 < lengths[-len(lengths) // 10]
    assert any("\n" in r["text"] for r in rows)  # multi-paragraph answers exist


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    a = write_sample_consultation(tmp_path / "a", 400, seed=5)
    write_sample_consultation(tmp_path / "b", 400, seed=5)
    write_sample_consultation(tmp_path / "c", 400, seed=6)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    differ = _digests(tmp_path / "a"), _digests(tmp_path / "c")
    assert differ[0]["responses.csv"] != differ[1]["responses.csv"]
    assert differ[0]["codebook.csv"] == differ[1]["codebook.csv"]
    assert a.rows == 1600


# sha256 over (name, bytes) of every output file for 500 respondents, seed 7, measured when the
# phrase tables were code. A deliberate change to the tables or to how answers are composed
# changes it: re-measure and update it in the same commit.
DEMO_500_SEED_7 = "78afd60bcccaa0b7ee5ff19875a4a7f97d203d0ccf4356fbdd7cbe923ec483e7"


def test_output_is_the_same_bytes_as_before_the_tables_became_data(tmp_path):
    write_sample_consultation(tmp_path, 500, seed=7)
    digest = hashlib.sha256()
    for name in OUTPUT_FILES:
        digest.update(name.encode())
        digest.update((tmp_path / name).read_bytes())
    assert digest.hexdigest() == DEMO_500_SEED_7


def test_phrase_tables_are_package_data(tmp_path):
    """phrases.json ships in the wheel (a package-data glob matches it) and feeds the output."""
    import fnmatch
    import json
    import tomllib

    import heard
    from heard.demo.generator import load_phrases

    package = Path(heard.__file__).resolve().parent
    tables = package / "demo" / "phrases.json"
    project = Path(__file__).resolve().parents[1] / "pyproject.toml"
    globs = tomllib.loads(project.read_text())["tool"]["setuptools"]["package-data"]["heard"]
    relative = tables.relative_to(package).as_posix()
    assert any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch("x/" + relative, g)
               for g in globs), globs
    assert load_phrases()["title"] == json.loads(tables.read_text(encoding="utf-8"))["title"]

    write_sample_consultation(tmp_path, 20, seed=1)
    codebook = _rows(tmp_path / "codebook.csv")
    stored = json.loads(tables.read_text(encoding="utf-8"))
    assert [r["theme"] for r in codebook] == [
        t["key"] for q in stored["open_questions"] for t in stored["themes"][q]]
    questions = _rows(tmp_path / "questions.csv")
    assert [(q["question_id"], q["text"]) for q in questions] == [
        (q["id"], q["text"]) for q in stored["questions"]]


def test_larger_sample_extends_smaller_one():
    """Respondents are drawn in order from one stream, so N=100 is a prefix of N=200."""
    small = [(r.response_id, [a.text for a in r.answers]) for r in iter_respondents(100, seed=2)]
    large = [(r.response_id, [a.text for a in r.answers]) for r in iter_respondents(200, seed=2)]
    assert large[:100] == small


def test_small_sample_works(tmp_path):
    summary = write_sample_consultation(tmp_path, 50, seed=0)
    assert summary.rows == 200
    rows = _rows(tmp_path / "responses.csv")
    assert len(rows) == 200 and len({r["response_id"] for r in rows}) == 50
    assert _rows(tmp_path / "gold_stance.csv")


def test_rejects_zero_respondents(tmp_path):
    with pytest.raises(ValueError):
        write_sample_consultation(tmp_path, 0)


def test_cli_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "demo"
    entry = "from heard.cli import main; main()"
    cmd = [sys.executable, "-c", entry, "sample-data", str(out), "--responses", "60"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "15 respondents (60 answers)" in done.stdout
    assert len(_rows(out / "responses.csv")) == 60
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "--force" in again.stderr
    forced = subprocess.run(
        [*cmd, "--force", "--seed", "3"], capture_output=True, text=True, timeout=120
    )
    assert forced.returncode == 0, forced.stderr
