"""Test-split figures and their intervals: known answers and the containment a reader assumes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from pipeline.evaluation.intervals import (
    auroc_rows,
    average_precision_rows,
    point_with_ci,
    ranking_with_ci,
)


def _tied_scores(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.array([0] * 9 + [1] * 6)
    # few distinct values: many ties, where AP and AUROC definitions differ most
    return truth, rng.integers(0, 5, size=(20, truth.size)).astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_auroc_and_ap_equal_scikit_learn_with_ties(seed: int) -> None:
    truth, rows = _tied_scores(seed)
    expected_ap = [average_precision_score(truth, row) for row in rows]
    expected_auc = [roc_auc_score(truth, row) for row in rows]
    np.testing.assert_allclose(average_precision_rows(truth, rows), expected_ap)
    np.testing.assert_allclose(auroc_rows(truth, rows), expected_auc)


def test_ranking_ci_brackets_the_point_and_is_seeded() -> None:
    rng = np.random.default_rng(3)
    labels = np.array([0] * 60 + [1] * 60)
    scores = rng.normal(size=120) + 1.2 * labels
    first = ranking_with_ci(scores, labels, n_boot=300, seed=5)
    assert first == ranking_with_ci(scores, labels, n_boot=300, seed=5)
    for name in ("auroc", "aupr"):
        low, high = first["ci"][name]
        assert 0.0 <= low <= first[name] <= high <= 1.0
    assert first["auroc"] == pytest.approx(roc_auc_score(labels, scores))


def test_point_counts_and_exact_miss_rate_bound() -> None:
    labels = np.array([0] * 10 + [1] * 12)
    scores = np.concatenate([np.linspace(0, 0.4, 10), np.linspace(0.6, 1.0, 12)])
    result = point_with_ci(scores, labels, threshold=0.5, n_boot=200, seed=0)
    test = result["test"]
    assert (test["tp"], test["fp"], test["tn"], test["fn"]) == (12, 0, 10, 0)
    # 0 misses in 12: one-sided 95 % Clopper-Pearson bound 1 - 0.05 ** (1 / 12)
    assert result["miss_rate_upper_95"] == pytest.approx(1 - 0.05 ** (1 / 12))
    # an exact interval stays informative at 0 misses, where a bootstrap would give [0, 0]
    assert result["test_ci"]["miss_rate"][0] == 0.0 < result["test_ci"]["miss_rate"][1]
    for name, (low, high) in result["test_ci"].items():
        assert low <= test[name] <= high, name


def test_a_missed_defect_moves_the_figures() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.25, 0.8, 0.9])
    test = point_with_ci(scores, labels, threshold=0.5, n_boot=100, seed=0)["test"]
    assert test["fn"] == 1 and test["miss_rate"] == pytest.approx(1 / 3)
    assert test["accuracy"] == pytest.approx(5 / 6)
