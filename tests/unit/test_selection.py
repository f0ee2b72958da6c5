"""The design-choice rule and its seed-mean AUROC (pipeline.evaluation.selection)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipeline.evaluation.selection import Candidate, choose, seed_mean_auroc


def _twins(n_normal: int, n_defect: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and capture events of twin-view events (two images each)."""
    labels = np.repeat([0] * n_normal + [1] * n_defect, 2)
    events = np.repeat([f"e{i}" for i in range(n_normal + n_defect)], 2)
    return labels, events


def test_choose_keeps_the_fallback_when_intervals_overlap() -> None:
    candidates = [Candidate("mean", 0.70, (0.62, 0.78)), Candidate("max", 0.75, (0.68, 0.82))]
    chosen, reason = choose(candidates, fallback="mean")
    assert chosen == "mean"
    assert "overlaps" in reason


def test_choose_departs_only_on_disjoint_intervals() -> None:
    candidates = [Candidate("mean", 0.63, (0.58, 0.68)), Candidate("max", 0.80, (0.75, 0.85))]
    assert choose(candidates, fallback="mean")[0] == "max"


def test_choose_keeps_the_fallback_on_a_tie_and_when_it_is_best() -> None:
    tie = [Candidate(0.0, 0.77, (0.76, 0.78)), Candidate(0.11228, 0.77, (0.76, 0.78))]
    assert choose(tie, fallback=0.11228)[0] == 0.11228
    best = [Candidate("mse", 0.80, (0.79, 0.81)), Candidate("mae", 0.60, (0.59, 0.61))]
    assert choose(best, fallback="mse")[0] == "mse"


def test_choose_rejects_a_fallback_that_is_not_a_candidate() -> None:
    with pytest.raises(ValueError, match="fallback 'ssim' is not a candidate"):
        choose([Candidate("mse", 0.8, (0.7, 0.9))], fallback="ssim")


def test_seed_mean_auroc_averages_seeds_and_brackets_the_mean() -> None:
    labels, events = _twins(40, 40)
    rng = np.random.default_rng(0)
    scores = np.stack([rng.normal(labels * shift, 1.0) for shift in (0.5, 1.5)])
    result = seed_mean_auroc(scores, labels, events, n_boot=300, seed=1)
    expected = [roc_auc_score(labels, row) for row in scores]
    assert result["per_seed"] == pytest.approx(expected)
    assert result["auroc"] == pytest.approx(np.mean(expected))
    low, high = result["ci"]
    assert low < result["auroc"] < high
    assert (result["n_images"], result["n_events"]) == (160, 80)


def test_seed_mean_auroc_resamples_events_not_images() -> None:
    """Twin views that repeat one score carry one event's evidence: the interval must be as wide
    as that of the single-view data, not narrower as an image bootstrap would make it."""
    rng = np.random.default_rng(3)
    single = rng.normal(np.repeat([0, 1], 30) * 0.8, 1.0)
    labels, events = _twins(30, 30)
    twins = seed_mean_auroc(np.repeat(single, 2), labels, events, n_boot=400, seed=2)
    alone = seed_mean_auroc(single, np.repeat([0, 1], 30), np.arange(60), n_boot=400, seed=2)
    width = lambda r: r["ci"][1] - r["ci"][0]  # noqa: E731
    assert twins["auroc"] == pytest.approx(alone["auroc"])
    assert width(twins) == pytest.approx(width(alone), rel=0.15)


def test_seed_mean_auroc_refuses_an_event_with_both_labels() -> None:
    labels, events = _twins(3, 3)
    events[-1] = "e0"
    with pytest.raises(ValueError, match="capture event e0 has both labels"):
        seed_mean_auroc(np.arange(12.0), labels, events, n_boot=10, seed=0)
