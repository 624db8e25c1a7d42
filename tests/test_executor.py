"""The executor seam of the run: chunking, order, and tasks that survive pickling."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from heard.analysis import duplicates, evidence
from heard.analysis.embeddings import get_embedder
from heard.analysis.executor import (
    EmbedTask,
    InProcess,
    PredictTask,
    SpreadEmbedder,
    chunk_bounds,
    map_chunks,
    predict_chunks,
    spread_signer,
)
from heard.analysis.mapping import ThemeMapper
from heard.analysis.stance import StanceClassifier


class PicklingExecutor:
    """Stands in for a remote executor: every task and chunk goes through pickle, and the
    chunks run in reverse order (results must still come back in chunk order)."""

    remote = True

    def __init__(self, workers: int = 3) -> None:
        self.workers = workers
        self.calls = 0

    def map(self, fn, chunks):
        self.calls += 1
        shipped = pickle.loads(pickle.dumps(fn))
        out = {}
        for i in reversed(range(len(chunks))):
            out[i] = shipped(pickle.loads(pickle.dumps(chunks[i])))
        return [pickle.loads(pickle.dumps(out[i])) for i in range(len(chunks))]

    def describe(self) -> dict:
        return {"runner": "pickling", "workers": self.workers}


def _texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words = (
        "ban plastic bags sea animals shops cost customers choice harm litter "
        "recycling charge fair business people should would I agree disagree because"
    ).split()
    template = "I support the ban on plastic bags because they harm the sea and the animals in it."
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 40))) for _ in range(n)]
    for i in range(0, n, 7):  # a campaign with small personal edits
        texts[i] = f"{template} {rng.choice(words)} {rng.choice(words)}"
    return texts


def test_chunk_bounds_cover_everything_in_order():
    assert chunk_bounds(0, 4096) == []
    assert chunk_bounds(10, 4096) == [(0, 10)]
    assert chunk_bounds(10_000, 4096) == [(0, 4096), (4096, 8192), (8192, 10_000)]
    # with several workers, small inputs still reach each of them (in steps of 1,024)
    assert chunk_bounds(3000, 4096, workers=2) == [(0, 2048), (2048, 3000)]
    for n, size, workers in [(1, 1, 1), (5000, 1000, 4), (12_345, 4096, 3)]:
        bounds = chunk_bounds(n, size, workers)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a < b for a, b in bounds)
        assert all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:], strict=False))
        assert all(b - a <= size for a, b in bounds)


def test_in_process_maps_in_order():
    assert InProcess().map(lambda chunk: sum(chunk), [[1, 2], [3], []]) == [3, 3, 0]
    assert not InProcess.remote


def test_map_chunks_joins_lists_in_order():
    texts = _texts(2500)
    expected = evidence.detect_evidence(texts)
    executor = PicklingExecutor()
    assert map_chunks(executor, evidence.detect_evidence, texts, chunk_size=1024) == expected
    assert executor.calls == 1


def test_spread_embedder_equals_the_embedder():
    embedder = get_embedder("static")
    texts = _texts(2100)
    direct = embedder.embed(texts)
    spread = SpreadEmbedder(embedder, "static", PicklingExecutor(), chunk_size=1024)
    assert (spread.name, spread.dim) == (embedder.name, embedder.dim)
    np.testing.assert_array_equal(spread.embed(texts), direct)
    assert spread.embed([]).shape == (0, embedder.dim)


def test_embed_task_pickles_without_the_model():
    embedder = get_embedder("static").load()
    task = EmbedTask("static", embedder)
    assert len(pickle.dumps(task)) < 200
    shipped = pickle.loads(pickle.dumps(task))
    assert shipped.local is None
    np.testing.assert_array_equal(shipped(["plastic bags"]), embedder.embed(["plastic bags"]))


def test_find_groups_with_spread_signatures_is_identical():
    texts = _texts(3000)
    serial = duplicates.find_groups(texts, seed=4)
    assert any(g.kind != "exact" and g.size > 10 for g in serial)
    spread = duplicates.find_groups(
        texts, seed=4, sign=spread_signer(PicklingExecutor(), seed=4, chunk_size=1024)
    )
    assert spread == serial


def test_find_groups_rejects_signatures_of_the_wrong_shape():
    texts = _texts(50)

    def bad_sign(normalised):
        return np.zeros((len(normalised), 8), np.uint32), np.ones(len(normalised))

    with pytest.raises(ValueError, match="signatures of shape"):
        duplicates.find_groups(texts, sign=bad_sign)


def test_fitted_models_predict_the_same_after_shipping():
    embedder = get_embedder("static")
    texts = _texts(1500)
    vectors = embedder.embed(texts)
    from heard.analysis.clustering import ThemeSpec

    specs = [
        ThemeSpec(key="harm", label="Harm to sea life", description="bags harm animals"),
        ThemeSpec(key="cost", label="Cost to shops", description="charges and business cost"),
        ThemeSpec(key="choice", label="Customer choice", description="people should choose"),
    ]
    mapper = ThemeMapper(embedder.embed, seed=2).fit(specs, texts=texts, vectors=vectors)
    stance = StanceClassifier(embedder.embed, seed=2).fit(texts, vectors)

    # shipped without the embedder instance: the worker rebuilds "static"
    shipped = pickle.loads(pickle.dumps(PredictTask(mapper, ("predict",), "static")))
    assert isinstance(shipped.model.embed, EmbedTask) and shipped.model.embed.local is None
    assert mapper.embed == embedder.embed  # the driver's model is untouched

    executor = PicklingExecutor()
    proba, labels = predict_chunks(
        executor,
        mapper,
        ("predict_proba", "predict"),
        texts,
        vectors,
        embedder_key="static",
        chunk_size=1024,
    )
    np.testing.assert_array_equal(proba, mapper.predict_proba(texts, vectors))
    assert labels == mapper.predict(texts, vectors)

    ((stance_labels, confidence),) = predict_chunks(
        executor, stance, ("predict",), texts, vectors, embedder_key="static", chunk_size=1024
    )
    expected_labels, expected_confidence = stance.predict(texts, vectors)
    assert stance_labels == expected_labels
    np.testing.assert_allclose(confidence, expected_confidence, atol=1e-9)


def test_unreachable_ray_cluster_is_a_clear_error(monkeypatch):
    from heard.scale import ray_executor

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(ray_executor.socket, "create_connection", refuse)
    with pytest.raises(ray_executor.RayUnavailable, match="Could not reach the Ray cluster"):
        ray_executor._check_reachable("ray://head.example.org:10001")
