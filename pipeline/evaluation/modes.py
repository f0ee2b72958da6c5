"""Evaluate one detection mode from its scores: thresholds fitted on val, figures on test.

``evaluate_mode`` is mode-agnostic: it takes validation and test scores with their labels, so
the inline mode (4-MS-SSIM of a reconstruction) and the monitoring mode (Mahalanobis distance
of encoder features) go through the same code. The test split never fits anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from pipeline.config.evaluate import Params
from pipeline.errors import SealauditError
from pipeline.evaluation.intervals import CI_METHODS, point_with_ci, ranking_with_ci
from pipeline.models.metrics import per_group_recall, ranking_metrics, threshold_sensitivity
from pipeline.models.thresholds import (
    Threshold,
    check_scores_labels,
    fit_max_miss_rate,
    fit_supervised,
    fit_unsupervised,
    with_justification,
)

log = logging.getLogger(__name__)

FIT_SPLIT = "val"
HEADLINE_KEYS = ("auroc", "aupr", "accuracy", "f1", "miss_rate")


@dataclass(frozen=True)
class ModeEvaluation:
    """The MODE evidence of one mode, minus the parts that need images.

    Attributes:
        doc: ``detector``, ``score``, counts, ``ranking``, ``thresholds`` (THRESHOLD + test
            figures), ``operating_threshold_id``, ``per_defect_type`` and notes.
        thresholds: the fitted thresholds (all on val).
        operating: the one the mode decides with.
    """

    doc: dict[str, Any]
    thresholds: list[Threshold]
    operating: Threshold


def fit_thresholds(
    val_scores: ArrayLike, val_labels: ArrayLike, score_name: str, params: Params
) -> tuple[list[Threshold], list[dict[str, str]]]:
    """Every configured rule fitted on val; rules that cannot be fitted come back with why.

    Returns:
        (fitted thresholds in rule order: mean_plus_k_sigma, supervised, max_miss_rate;
        ``[{"rule", "reason"}]`` of those not fitted).
    """
    s, y = check_scores_labels(val_scores, val_labels, need_both=True)
    rules = params.thresholds
    unsupervised = fit_unsupervised(
        s[y == 0], rules.unsupervised_k, score_name=score_name, fitted_on_split=FIT_SPLIT
    )
    fitted = [
        with_justification(unsupervised, s, y, params.confidence),
        fit_supervised(s, y, rules.criterion, score_name=score_name, fitted_on_split=FIT_SPLIT),
    ]
    skipped = []
    try:
        fitted.append(
            fit_max_miss_rate(
                s,
                y,
                rules.miss_rate_limit,
                params.confidence,
                score_name=score_name,
                fitted_on_split=FIT_SPLIT,
            )
        )
    except SealauditError as error:
        # Without the score's name the reason is usually the same for every score (too few
        # defective val images), so it is said once; evaluation.json lists each score.
        reason = str(error).removeprefix(f"{score_name}: ")
        log.warning(
            "max_miss_rate threshold not fitted (evaluation.json lists each score under "
            "thresholds_not_fitted): %s",
            reason,
        )
        skipped.append({"rule": "max_miss_rate", "reason": str(error)})
    return fitted, skipped


def pick_operating(thresholds: list[Threshold], rule: str) -> Threshold:
    """The threshold fitted by ``rule``.

    Raises:
        SealauditError: that rule could not be fitted on this validation split.
    """
    for threshold in thresholds:
        if threshold.rule == rule:
            return threshold
    raise SealauditError(
        f"evaluate.thresholds.operating_rule is {rule!r} but that rule could not be fitted on "
        "the val split (see the log); choose another rule or add defective val images"
    )


def describe_threshold(
    threshold: Threshold, test_scores: np.ndarray, test_labels: np.ndarray, params: Params
) -> dict[str, Any]:
    """THRESHOLD + ``test``, ``test_ci``, ``miss_rate_upper_95`` and ``sensitivity``."""
    point = point_with_ci(
        test_scores, test_labels, threshold.value, params.n_boot, params.seed, params.confidence
    )
    sensitivity = threshold_sensitivity(
        test_scores, test_labels, threshold.value, params.thresholds.sensitivity_shifts
    )
    return {**threshold.to_dict(), **point, "sensitivity": sensitivity}


def per_defect_type(
    scores: np.ndarray, labels: np.ndarray, types: np.ndarray, value: float, confidence: float
) -> dict[str, dict[str, Any]]:
    """``{type: {"recall", "n", "detected", "ci": [l, h], "auroc"}}``: recall at a threshold
    (defective only) and, threshold-free, the AUROC of that type against every normal image."""
    groups = per_group_recall(scores, labels, types, value, confidence)
    scores, labels, types = np.asarray(scores), np.asarray(labels), np.asarray(types)
    normal = labels == 0
    return {
        name: {
            "recall": facts["recall"],
            "n": facts["n"],
            "detected": facts["detected"],
            "ci": [facts["ci_low"], facts["ci_high"]],
            "auroc": _type_auroc(scores, labels, normal | (types == name)),
        }
        for name, facts in groups.items()
    }


def _type_auroc(scores: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> float | None:
    """AUROC on the kept images, None without both classes."""
    if len(set(labels[keep].tolist())) < 2:
        return None
    return float(ranking_metrics(scores[keep], labels[keep])["auroc"])


def evaluate_mode(
    val_scores: ArrayLike,
    val_labels: ArrayLike,
    test_scores: ArrayLike,
    test_labels: ArrayLike,
    test_defect_types: ArrayLike,
    *,
    detector: str,
    score_name: str,
    params: Params,
) -> ModeEvaluation:
    """Fit the thresholds on val, measure everything on test.

    Args:
        val_scores: (n_val,) scores of the validation split (both classes present).
        val_labels: (n_val,) 0 normal / 1 defective.
        test_scores: (n_test,) scores of the test split.
        test_labels: (n_test,) labels.
        test_defect_types: (n_test,) defect type per image (``none`` for normal).
        detector: the trained model behind the scores.
        score_name: the score's name (a thresholds' ``score_name``).
        params: the stage's parameters.
    """
    vs, vy = check_scores_labels(val_scores, val_labels, need_both=True)
    ts, ty = check_scores_labels(test_scores, test_labels, need_both=True)
    thresholds, skipped = fit_thresholds(vs, vy, score_name, params)
    operating = pick_operating(thresholds, params.thresholds.operating_rule)
    types = np.asarray(test_defect_types).astype(str)
    doc = {
        "detector": detector,
        "score": score_name,
        "n_val_normal": int(np.sum(vy == 0)),
        "n_val_defective": int(np.sum(vy == 1)),
        "n_test_normal": int(np.sum(ty == 0)),
        "n_test_defective": int(np.sum(ty == 1)),
        "ranking": ranking_with_ci(ts, ty, params.n_boot, params.seed, params.confidence),
        "thresholds": [describe_threshold(t, ts, ty, params) for t in thresholds],
        "thresholds_not_fitted": skipped,
        "operating_threshold_id": operating.threshold_id,
        "per_defect_type": per_defect_type(ts, ty, types, operating.value, params.confidence),
        "ci_methods": dict(CI_METHODS),
        "confidence": params.confidence,
    }
    return ModeEvaluation(doc, thresholds, operating)


def headline(mode_doc: dict[str, Any]) -> dict[str, float]:
    """The ``metrics.json`` entry of a mode: ranking and the operating threshold's figures."""
    point = next(
        t for t in mode_doc["thresholds"] if t["threshold_id"] == mode_doc["operating_threshold_id"]
    )
    values = {**mode_doc["ranking"], **point["test"]}
    return {key: values[key] for key in HEADLINE_KEYS}
