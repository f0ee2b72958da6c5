"""The design-choice rule and its seed-mean AUROC (pipeline.evaluation.selection)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipeline.evaluation.selection import Candidate, choose, paired_difference, seed_mean_auroc


def _twins(n_normal: int, n_defect: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and capture events of twin-view events (two images each)."""
    labels = np.repeat([0] * n_normal + [1] * n_defect, 2)
    events = np.repeat([f"e{i}" for i in range(n_normal + n_defect)], 2)
    return labels, events


def test_choose_keeps_the_fallback_when_the_paired_interval_reaches_0() -> None:
    candidates = [
        Candidate("mean", 0.70, (0.62, 0.78)),
        Candidate("max", 0.75, (0.68, 0.82), diff_ci=(-0.01, 0.11)),
    ]
    chosen, reason = choose(candidates, fallback="mean")
    assert chosen == "mean"
    assert "no paired difference interval lies above 0" in reason


def test_choose_departs_on_a_paired_interval_above_0_despite_overlapping_intervals() -> None:
    candidates = [
        Candidate("mean", 0.70, (0.62, 0.78)),
        Candidate("max", 0.75, (0.68, 0.82), diff_ci=(0.02, 0.08)),
    ]
    assert choose(candidates, fallback="mean")[0] == "max"


def test_choose_takes_the_highest_auroc_among_candidates_clear_of_the_fallback() -> None:
    candidates = [
        Candidate("mse", 0.80, (0.7, 0.9)),
        Candidate("mae", 0.84, (0.7, 0.9), diff_ci=(0.01, 0.07)),
        Candidate("ssim", 0.86, (0.7, 0.9), diff_ci=(-0.01, 0.13)),
        Candidate("mix", 0.83, (0.7, 0.9), diff_ci=(0.005, 0.05)),
    ]
    assert choose(candidates, fallback="mse")[0] == "mae"


def test_choose_keeps_the_fallback_when_it_is_best() -> None:
    best = [
        Candidate("mse", 0.80, (0.79, 0.81)),
        Candidate("mae", 0.60, (0.59, 0.61), (-0.3, -0.1)),
    ]
    assert choose(best, fallback="mse")[0] == "mse"


def test_choose_rejects_a_fallback_that_is_not_a_candidate() -> None:
    with pytest.raises(ValueError, match="fallback 'ssim' is not a candidate"):
        choose([Candidate("mse", 0.8, (0.7, 0.9))], fallback="ssim")


def test_choose_rejects_a_candidate_without_a_paired_interval() -> None:
    with pytest.raises(ValueError, match="candidate 'mae' has no paired interval"):
        choose([Candidate("mse", 0.8, (0.7, 0.9)), Candidate("mae", 0.9, (0.8, 1.0))], "mse")


def test_paired_difference_of_a_defect_shift_lies_above_0() -> None:
    """Known answer: the candidate is the fallback with every defective score raised by a
    constant, so it ranks at least as well on every resample and strictly better overall."""
    labels, events = _twins(40, 40)
    rng = np.random.default_rng(5)
    fallback = np.stack([rng.normal(labels * 0.8, 1.0) for _ in range(2)])
    candidate = fallback + 0.5 * labels
    result = paired_difference(candidate, fallback, labels, events, n_boot=300, seed=1)
    expected = [
        roc_auc_score(labels, c) - roc_auc_score(labels, f)
        for c, f in zip(candidate, fallback, strict=True)
    ]
    assert result["per_seed"] == pytest.approx(expected)
    assert result["difference"] > 0
    assert result["ci"][0] > 0


def test_paired_difference_of_identical_scores_contains_0() -> None:
    labels, events = _twins(30, 30)
    scores = np.random.default_rng(6).normal(labels * 0.8, 1.0)
    result = paired_difference(scores, scores.copy(), labels, events, n_boot=200, seed=1)
    assert result["difference"] == 0.0
    assert result["ci"][0] <= 0.0 <= result["ci"][1]


def test_paired_interval_is_narrower_than_the_unpaired_ones() -> None:
    """Two close candidates on the same images: the unpaired intervals overlap, while the
    paired interval of the difference is clear of 0."""
    labels, events = _twins(60, 60)
    rng = np.random.default_rng(7)
    fallback = rng.normal(labels * 0.8, 1.0)
    candidate = fallback + 0.15 * labels
    a = seed_mean_auroc(candidate, labels, events, n_boot=300, seed=4)
    b = seed_mean_auroc(fallback, labels, events, n_boot=300, seed=4)
    paired = paired_difference(candidate, fallback, labels, events, n_boot=300, seed=4)
    assert a["ci"][0] <= b["ci"][1]  # the unpaired intervals overlap
    assert paired["ci"][0] > 0


def test_paired_difference_refuses_score_sets_of_other_shapes() -> None:
    labels, events = _twins(3, 3)
    with pytest.raises(ValueError, match="candidate scores .* and fallback scores .* disagree"):
        paired_difference(np.zeros((2, 12)), np.zeros((1, 12)), labels, events, 10, 0)


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
