"""Test-split figures with their intervals, as the evidence contract states them.

Interval methods (recorded in the evidence as ``CI_METHODS``):

- AUROC and AUPR: stratified percentile bootstrap (normal and defective images resampled
  separately, so every resample keeps the split's class counts), seeded.
- Recall, miss rate, specificity, FPR at a threshold: exact Clopper-Pearson intervals; their
  denominators (defective or normal images) are fixed by the split, so they are binomial
  proportions, and an interval stays honest at 0 or 1 where a bootstrap collapses.
- Accuracy, precision, F1 at a threshold: the same stratified bootstrap (threshold held fixed).
- ``miss_rate_upper_95``: one-sided Clopper-Pearson upper bound of the miss rate, the bound a
  "miss rate below x at 95 % confidence" claim rests on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

from pipeline.models.metrics import binary_metrics, bootstrap_ci, ranking_metrics
from pipeline.models.thresholds import check_scores_labels, clopper_pearson

CI_METHODS = {
    "auroc": "stratified percentile bootstrap",
    "aupr": "stratified percentile bootstrap",
    "accuracy": "stratified percentile bootstrap, threshold fixed",
    "precision": "stratified percentile bootstrap, threshold fixed",
    "f1": "stratified percentile bootstrap, threshold fixed",
    "recall": "Clopper-Pearson (exact)",
    "miss_rate": "Clopper-Pearson (exact)",
    "specificity": "Clopper-Pearson (exact)",
    "fpr": "Clopper-Pearson (exact)",
    "miss_rate_upper_95": "one-sided Clopper-Pearson upper bound",
}
TEST_KEYS = (
    "accuracy",
    "precision",
    "recall",
    "miss_rate",
    "specificity",
    "f1",
    "fpr",
    "tp",
    "fp",
    "tn",
    "fn",
)
BOOTSTRAP_RATES = ("accuracy", "precision", "f1")
MISS_BOUND_CONFIDENCE = 0.95  # the contract's ``miss_rate_upper_95``, whatever ``confidence``


def auroc_rows(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each row (Mann-Whitney U, ties counted half), as ``roc_auc_score``.

    Args:
        truth: (n,) 0/1 labels shared by every row, both classes present.
        scores: (B, n) scores.

    Returns:
        (B,) AUROC values.
    """
    ranks = rankdata(scores, axis=1)
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    u_stat = ranks[:, truth == 1].sum(axis=1) - n_pos * (n_pos + 1) / 2
    return np.asarray(u_stat / (n_pos * n_neg), dtype=float)


def average_precision_rows(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Average precision of each row, as ``average_precision_score`` (ties form one step).

    AP = sum over defective images of precision at the cut just below their score group,
    divided by the number of defective images.

    Args:
        truth: (n,) 0/1 labels shared by every row, at least one positive.
        scores: (B, n) scores.

    Returns:
        (B,) AP values.
    """
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=1)
    positive = truth[order]
    tp = np.cumsum(positive, axis=1)
    precision = tp / np.arange(1, scores.shape[1] + 1)
    # a tie group ends where the next score differs; every member takes the group's precision
    ends = np.ones(ranked.shape, dtype=bool)
    ends[:, :-1] = ranked[:, 1:] != ranked[:, :-1]
    end_index = np.where(ends, np.arange(ranked.shape[1]), ranked.shape[1])
    end_index = np.minimum.accumulate(end_index[:, ::-1], axis=1)[:, ::-1]
    group_precision = np.take_along_axis(precision, end_index, axis=1)
    return np.asarray((positive * group_precision).sum(axis=1) / truth.sum(), dtype=float)


def ranking_with_ci(
    scores: ArrayLike, labels: ArrayLike, n_boot: int, seed: int, confidence: float = 0.95
) -> dict[str, Any]:
    """``{"auroc", "aupr", "ci": {"auroc": [l, h], "aupr": [l, h]}}`` on a labelled split."""
    s, y = check_scores_labels(scores, labels, need_both=True)
    point = ranking_metrics(s, y)
    rng = np.random.default_rng(seed)
    neg, pos = s[y == 0], s[y == 1]
    truth = np.concatenate([np.zeros(neg.size, dtype=np.int64), np.ones(pos.size, dtype=np.int64)])
    resampled = np.concatenate(
        [
            neg[rng.integers(0, neg.size, size=(n_boot, neg.size))],
            pos[rng.integers(0, pos.size, size=(n_boot, pos.size))],
        ],
        axis=1,
    )
    samples = {
        "auroc": auroc_rows(truth, resampled),
        "aupr": average_precision_rows(truth, resampled),
    }
    tail = 100 * (1 - confidence) / 2
    ci = {
        name: [float(v) for v in np.percentile(values, [tail, 100 - tail])]
        for name, values in samples.items()
    }
    return {"auroc": point["auroc"], "aupr": point["aupr"], "ci": ci}


def point_with_ci(
    scores: ArrayLike,
    labels: ArrayLike,
    threshold: float,
    n_boot: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Metrics of ``score > threshold`` on the test split, with intervals.

    Returns:
        ``{"test": {TEST_KEYS...}, "test_ci": {rate: [l, h]}, "miss_rate_upper_95": float}``.
    """
    s, y = check_scores_labels(scores, labels, need_both=True)
    metrics = binary_metrics(s, y, threshold)
    test = {key: metrics[key] for key in TEST_KEYS}
    boot = bootstrap_ci(s, y, threshold, n_boot=n_boot, seed=seed, confidence=confidence)
    ci: dict[str, list[float]] = {name: list(boot[name]) for name in BOOTSTRAP_RATES}
    tp, fp, tn, fn = (int(metrics[k]) for k in ("tp", "fp", "tn", "fn"))
    exact = {
        "recall": (tp, tp + fn),
        "miss_rate": (fn, tp + fn),
        "specificity": (tn, tn + fp),
        "fpr": (fp, tn + fp),
    }
    for name, (k, n) in exact.items():
        ci[name] = list(clopper_pearson(k, n, confidence))
    upper = clopper_pearson(fn, tp + fn, MISS_BOUND_CONFIDENCE, one_sided=True)[1]
    return {"test": test, "test_ci": ci, "miss_rate_upper_95": float(upper)}
