"""Evaluation metrics on tiny hand-computed examples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipeline.models.metrics import (
    binary_metrics,
    bootstrap_ci,
    per_group_recall,
    pixel_auroc,
    pro_score,
    ranking_metrics,
    threshold_sensitivity,
)
from pipeline.models.thresholds import clopper_pearson

SCORES = [0.1, 0.4, 0.35, 0.8]
LABELS = [0, 0, 1, 1]


def test_binary_metrics_hand_computed():
    # threshold 0.3 rejects 0.4 (normal), 0.35 and 0.8 (defective): TP 2, FP 1, TN 1, FN 0
    metrics = binary_metrics(SCORES, LABELS, 0.3)
    assert (metrics["tp"], metrics["fp"], metrics["tn"], metrics["fn"]) == (2, 1, 1, 0)
    assert metrics["accuracy"] == 0.75
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == 1.0
    assert metrics["miss_rate"] == 0.0
    assert metrics["specificity"] == 0.5
    assert metrics["fpr"] == 0.5
    assert metrics["f1"] == pytest.approx(0.8)
    json.dumps(metrics)
    assert all(type(v) in (int, float) for v in metrics.values())


def test_undefined_rates_are_nan_not_zero():
    metrics = binary_metrics([0.1, 0.2], [0, 0], 0.5)
    assert math.isnan(metrics["recall"]) and math.isnan(metrics["precision"])
    assert metrics["specificity"] == 1.0


def test_ranking_metrics_hand_computed():
    # pairs (defective > normal): 0.35>0.1, 0.8>0.1, 0.8>0.4, not 0.35>0.4 -> 3/4
    # ranked 0.8(+) 0.4(-) 0.35(+) 0.1(-): AP = 0.5 * 1 + 0.5 * 2/3
    metrics = ranking_metrics(SCORES, LABELS)
    assert metrics["auroc"] == pytest.approx(0.75)
    assert metrics["aupr"] == pytest.approx(5 / 6)


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(1)
    scores = np.r_[rng.normal(0, 1, 200), rng.normal(1.5, 1, 200)]
    labels = np.r_[np.zeros(200), np.ones(200)]
    intervals = bootstrap_ci(scores, labels, 0.75, n_boot=1000, seed=0)
    point = {**binary_metrics(scores, labels, 0.75), **ranking_metrics(scores, labels)}
    for name in ("accuracy", "recall", "fpr", "f1", "auroc"):
        low, high = intervals[name]
        assert low < point[name] < high
    # AUROC of two unit normals 1.5 apart is Phi(1.5 / sqrt 2) = 0.856
    assert intervals["auroc"][0] < 0.856 < intervals["auroc"][1]
    assert bootstrap_ci(scores, labels, 0.75, n_boot=1000, seed=0) == intervals
    assert bootstrap_ci(scores, labels, 0.75, n_boot=1000, seed=1) != intervals
    json.dumps(intervals)


def test_bootstrap_of_perfectly_separated_classes_has_degenerate_intervals():
    intervals = bootstrap_ci([0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1], 0.5, n_boot=200)
    assert intervals["accuracy"] == (1.0, 1.0)
    assert intervals["auroc"] == (1.0, 1.0)


def test_per_group_recall_ignores_normals_and_gives_exact_intervals():
    result = per_group_recall(
        [0.9, 0.1, 0.8, 0.95], [1, 1, 1, 0], ["channel", "channel", "void", "none"], 0.5
    )
    assert list(result) == ["channel", "void"]
    assert result["channel"]["recall"] == 0.5
    assert (result["channel"]["ci_low"], result["channel"]["ci_high"]) == pytest.approx(
        clopper_pearson(1, 2)
    )
    assert result["void"] == pytest.approx(
        {"n": 1, "detected": 1, "recall": 1.0, "ci_low": 0.025, "ci_high": 1.0}
    )


def test_pixel_auroc_perfect_and_inverted():
    masks = np.zeros((2, 8, 8), dtype=np.uint8)
    masks[0, 2:4, 2:4] = 255
    assert pixel_auroc(masks / 255.0, masks) == 1.0
    assert pixel_auroc(1 - masks / 255.0, masks) == 0.0


def test_pixel_auroc_counts_ties_half_as_sklearn_does():
    rng = np.random.default_rng(0)
    heat = np.round(rng.random((3, 10, 12)), 1).astype(np.float32)  # many ties
    masks = rng.random(heat.shape) < 0.2
    heat[masks] += 0.1
    assert pixel_auroc(heat, masks) == pytest.approx(roc_auc_score(masks.ravel(), heat.ravel()))


def test_pro_hand_computed():
    # One 1 x 6 image: regions {0, 1} and {5}; defect-free pixels 2, 3, 4.
    # Curve points (FPR, PRO): (0, .25) (1/3, .25) (1/3, .75) (1/3, 1) (2/3, 1) (1, 1)
    masks = np.array([[[1, 1, 0, 0, 0, 1]]])
    heat = np.array([[[0.9, 0.2, 0.8, 0.1, 0.05, 0.7]]])
    assert pro_score(heat, masks, fpr_limit=1.0) == pytest.approx((1 / 12 + 2 / 3) / 1.0)
    assert pro_score(heat, masks, fpr_limit=0.5) == pytest.approx((1 / 12 + 1 / 6) / 0.5)


def test_pro_perfect_and_chance():
    rng = np.random.default_rng(0)
    masks = np.zeros((4, 32, 32), dtype=bool)
    masks[:, 10:14, 10:14] = True
    masks[:, 20:22, 25:30] = True
    assert pro_score(masks.astype(float), masks) == pytest.approx(1.0)
    # a random heatmap overlaps each region as often as background: PRO(FPR) ~ FPR
    chance = pro_score(rng.random(masks.shape), masks, fpr_limit=0.3)
    assert chance == pytest.approx(0.15, abs=0.03)


def test_threshold_sensitivity_moves_relative_to_the_magnitude():
    rows = threshold_sensitivity(SCORES, LABELS, 0.3, shifts=(-0.5, 0.0, 0.5))
    assert [row["threshold"] for row in rows] == pytest.approx([0.15, 0.3, 0.45])
    assert [row["fp"] for row in rows] == [1, 1, 0]
    negative = threshold_sensitivity([-30.0, -10.0], [0, 1], -20.0, shifts=(0.1,))
    assert negative[0]["threshold"] == pytest.approx(-18.0)  # raised, despite the sign
    json.dumps(rows)
