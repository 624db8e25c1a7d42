"""Quality floors on the shared sets: a change that makes Heard measurably worse fails CI.

Each floor sits a little below the value measured with the default settings and seed 0
(see docs/evaluation.md, "CI regression guard", for the measured values and the rule).
Results are deterministic for a seed, so the margin only absorbs library and platform
drift, not randomness. Runs through the Python API (no subprocess); the embeddings are
computed once per set and shared through one HEARD_HOME cache for the whole session.

A floor never skips itself: an error, a slow machine or a metric that could not be computed
fails it. Only a missing shared data set skips it, with the reason.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from heard.evaluation.modes import EvalOptions, evaluate
from tests.conftest import shared_dataset

pytestmark = [pytest.mark.slow, pytest.mark.shared_data, pytest.mark.quality]

# (data set, mode) -> {metric: floor}; metrics are "higher is better"
FLOORS: dict[tuple[str, str], dict[str, float]] = {
    ("gambling_xs", "evidence"): {"evidence_f1": 0.30, "evidence_precision": 0.85},
    ("gambling_xs", "stance"): {"stance_accuracy": 0.52, "stance_macro_f1": 0.36},
    ("gambling_xs", "codebook"): {"micro_f1": 0.42, "macro_f1": 0.35},
    ("gambling_xs", "discover"): {
        "matched_f1": 0.28,
        "code_recall": 0.27,
        "nmi": 0.48,
        "harmonic_purity": 0.46,
    },
    ("gambling_1000", "codebook"): {"micro_f1": 0.85, "macro_f1": 0.86},
    ("gambling_1000", "fewshot"): {"micro_f1": 0.88, "macro_f1": 0.86},
    ("gambling_1000", "discover"): {
        "matched_f1": 0.59,
        "code_recall": 0.58,
        "nmi": 0.64,
        "harmonic_purity": 0.66,
    },
    ("gambling_1000", "stance"): {"stance_accuracy": 0.50, "stance_macro_f1": 0.47},
    ("gambling_1000", "stability"): {"stability_ari_min": 0.90},
    ("argkp", "stance"): {"stance_macro_f1": 0.79, "stance_accuracy": 0.79},
    ("argkp", "codebook"): {"micro_f1": 0.40, "macro_f1": 0.33},
    ("argkp", "discover"): {"nmi": 0.36, "matched_f1": 0.27, "harmonic_purity": 0.52},
}


#: Heard's headline metric over the best same-run baseline's may not fall below this
BASELINE_RATIO = 0.99
#: the metric on which Heard is compared with the baselines of the same run
HEADLINE: dict[str, str] = {
    "stance": "stance_macro_f1",
    "codebook": "micro_f1",
    "fewshot": "micro_f1",
    "discover": "nmi",
}


#: the evidence flag on the demo consultation (`heard sample-data … --responses 2000 --seed 5`):
#: its gold marks only figures and sources, so recall guards the figure and source cues
#: (bare experience, which the default counts, is what keeps its precision low)
DEMO_EVIDENCE_FLOORS: dict[str, float] = {"evidence_f1": 0.35, "evidence_recall": 0.91}


def _assert_floors(label: str, metrics: dict[str, float], floors: dict[str, float]) -> None:
    missing = sorted(set(floors) - set(metrics))
    assert not missing, f"{label}: metrics not reported: {missing}"
    # A NaN (a metric that could not be computed) fails too: it is never above a floor.
    below = {
        key: (round(metrics[key], 4), floor)
        for key, floor in floors.items()
        if not (math.isfinite(metrics[key]) and metrics[key] >= floor)
    }
    assert not below, f"{label}: below the floor (value, floor): {below}"


@pytest.fixture(scope="session")
def eval_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-home")


@pytest.mark.parametrize(("name", "mode"), sorted(FLOORS))
def test_quality_floor(name: str, mode: str, eval_home: Path, monkeypatch) -> None:
    folder = shared_dataset(name)
    monkeypatch.setenv("HEARD_HOME", str(eval_home))
    extra = {"k": 10, "repeats": 1} if mode == "fewshot" else {}  # one draw keeps CI fast
    result = evaluate(folder, EvalOptions(mode=mode, seed=0, n_boot=200, **extra))
    assert result.n_responses > 0
    _assert_floors(f"{name} {mode}", result.metrics, FLOORS[(name, mode)])
    # Heard must not lose to a baseline measured in the same run, on the same responses:
    # the ratio Heard / baseline is at least BASELINE_RATIO (a tie within one response in a
    # hundred passes; gambling_xs stance, where Heard once fell back to the same prototype
    # signal as the baseline, was such a tie: 0.3513 against 0.3515).
    headline = HEADLINE.get(mode)
    if headline and result.baselines:
        heard_value = result.metrics[headline]
        losing = {
            name_b: round(b[headline], 4)
            for name_b, b in result.baselines.items()
            if headline in b and heard_value < BASELINE_RATIO * b[headline]
        }
        assert not losing, (
            f"{name} {mode}: Heard {headline} {heard_value:.4f} is below baseline(s) {losing}"
        )


def test_demo_evidence_floor(tmp_path: Path, eval_home: Path, monkeypatch) -> None:
    from heard.demo.generator import write_sample_consultation

    monkeypatch.setenv("HEARD_HOME", str(eval_home))
    write_sample_consultation(tmp_path / "demo", 500, seed=5)  # 500 respondents, 2,000 answers
    result = evaluate(tmp_path / "demo", EvalOptions(mode="evidence", seed=0, n_boot=200))
    assert result.n_responses > 0
    _assert_floors("demo evidence", result.metrics, DEMO_EVIDENCE_FLOORS)
