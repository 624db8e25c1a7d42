"""`heard analyse --ray`: a local Ray instance with 2 workers gives the single-process result."""

from __future__ import annotations

import numpy as np
import pytest

from heard.scale.ray_executor import INSTALL_HINT, RayUnavailable, import_ray, start_local
from heard.store.models import (
    Assignment,
    DuplicateGroup,
    EmbeddingCache,
    Response,
    Run,
    Theme,
)
from tests.conftest import heard

try:
    ray = import_ray()
except RayUnavailable:
    pytest.skip(INSTALL_HINT, allow_module_level=True)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]



@pytest.fixture(scope="module")
def ray_two_workers():
    """One local Ray instance (2 CPUs, loopback only) for the module, shut down after it."""
    if ray.is_initialized():
        ray.shutdown()
    start_local(ray, num_cpus=2)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def demo(tmp_path):
    data = tmp_path / "demo"
    heard("sample-data", str(data), "--responses", "500", "--seed", "5")
    heard("import", str(data), "--consultation", "demo")
    return data


def results() -> dict:
    """Everything a run writes, in a comparable form."""
    themes = sorted(
        Theme.objects.values_list("question__key", "key", "label", "parent__key", "description")
    )
    theme_keys: dict[int, list[str]] = {}
    for response_id, key in Assignment.objects.filter(is_active=True).values_list(
        "response_id", "theme__key"
    ):
        theme_keys.setdefault(response_id, []).append(key)
    responses = {
        rid: (outcome, reason, stance, evidence, sorted(theme_keys.get(rid, [])))
        for rid, outcome, reason, stance, evidence in Response.objects.values_list(
            "id", "outcome", "outcome_reason", "stance", "evidence_rich"
        )
    }
    confidence = dict(Response.objects.values_list("id", "stance_confidence"))
    members: dict[int, list[int]] = {}
    for rid, group_id in Response.objects.filter(group__isnull=False).values_list("id", "group"):
        members.setdefault(group_id, []).append(rid)
    groups = sorted(
        (key, kind, size, sorted(members.get(gid, [])))
        for gid, key, kind, size in DuplicateGroup.objects.values_list("id", "key", "kind", "size")
    )
    return {"themes": themes, "responses": responses, "groups": groups, "stance": confidence}


def cached_vectors() -> dict[str, np.ndarray]:
    return {
        h: np.frombuffer(bytes(v), dtype=np.float32)
        for h, v in EmbeddingCache.objects.values_list("content_hash", "vector")
    }


def assert_same(serial: dict, spread: dict) -> None:
    assert spread["themes"] == serial["themes"]
    assert spread["groups"] == serial["groups"]
    assert spread["responses"] == serial["responses"]
    for rid, value in serial["stance"].items():
        assert (value is None) == (spread["stance"][rid] is None)
        if value is not None:
            assert spread["stance"][rid] == pytest.approx(value, abs=1e-6)


def analyse(*extra: str) -> str:
    return heard("analyse", "demo", "--seed", "4", "--embedder", "static", *extra)


def test_ray_run_matches_single_process(demo, ray_two_workers):
    analyse()
    serial = results()
    serial_vectors = cached_vectors()
    assert serial["themes"] and serial["groups"]
    assert any(stance for _, _, stance, _, _ in serial["responses"].values())

    EmbeddingCache.objects.all().delete()  # the Ray workers must embed everything again
    out = analyse("--rediscover", "--ray", "auto", "--chunk-size", "256")
    assert "2 worker(s)" in out
    run = Run.objects.order_by("-id").first()
    assert run.status == Run.Status.DONE
    scale = {"runner": "ray", "address": "existing", "workers": 2, "chunk_size": 256}
    assert run.params["scale"] == scale
    assert_same(serial, results())

    spread_vectors = cached_vectors()
    assert spread_vectors.keys() == serial_vectors.keys()
    for key, vector in serial_vectors.items():
        np.testing.assert_allclose(spread_vectors[key], vector, atol=1e-5)

    # Mapping to a codebook: clause embeddings on the workers, prediction on the driver.
    codebook = str(demo / "codebook.csv")
    analyse("--codebook", codebook)
    serial_mapped = results()
    analyse("--codebook", codebook, "--ray", "auto", "--chunk-size", "256")
    assert_same(serial_mapped, results())
    assert ray.is_initialized()  # the CLI leaves a Ray it did not start running


def test_missing_ray_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(RayUnavailable, match=r"pip install 'heard\[ray\]'"):
        import_ray()
