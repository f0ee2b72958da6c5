"""Fitting the monitoring mode on features: the estimator, its ablation grid and the control
limits. Pure functions on arrays; the ``fit_monitor`` stage does the I/O. The decision
threshold is the ``calibrate`` stage's (``FittedMonitor.with_thresholds``).

The ablation scores each (layer, kept dimensions, covariance) on ``val``: AUROC and AUPR
(threshold-free) and accuracy, recall and false-positive rate at the unsupervised rule
mean + k sd of the ``val`` normal scores. Accuracy is the paper's ablation figure, but ``val``
holds few defective images, so recall and FPR are given too.
"""

from __future__ import annotations

import logging
import time
from itertools import product
from typing import Any

import numpy as np

from pipeline.config.fit_monitor import AblationParams, ChartParams, Params
from pipeline.models.mahalanobis import RandomFeatureMahalanobis
from pipeline.models.metrics import binary_metrics, ranking_metrics
from pipeline.monitoring.fitted import FittedMonitor, transform_scores
from pipeline.monitoring.run_length import calibrate_limits, resampled_false_alarms
from pipeline.monitoring.spc import ReferenceDistribution

log = logging.getLogger(__name__)


def fit_estimator(
    train: np.ndarray, n_features_kept: int, covariance: str, ridge: float, seed: int
) -> RandomFeatureMahalanobis:
    """RFD-MD fitted on (N, D) normal training features."""
    estimator = RandomFeatureMahalanobis(
        n_features_kept=n_features_kept, covariance=covariance, ridge=ridge, random_state=seed
    )
    return estimator.fit(train)


def val_metrics(scores: np.ndarray, labels: np.ndarray, k: float) -> dict[str, float]:
    """Ranking metrics and the operating point of mean + k sd of the normal scores."""
    normal = scores[labels == 0]
    cut = float(normal.mean() + k * normal.std(ddof=1))
    point = binary_metrics(scores, labels, cut)
    ranking = ranking_metrics(scores, labels)
    return {
        "val_auroc": ranking["auroc"],
        "val_aupr": ranking["aupr"],
        "val_accuracy": point["accuracy"],
        "val_recall": point["recall"],
        "val_fpr": point["fpr"],
    }


def run_ablation(
    layer: str,
    features: tuple[np.ndarray, np.ndarray],
    labels: np.ndarray,
    grid: AblationParams,
    params: Params,
) -> list[dict[str, Any]]:
    """Score every (kept dimensions, covariance) of ``grid`` for one layer on ``val``.

    Args:
        layer: the layer the features come from.
        features: (N_train, D) normal train features and (N_val, D) val features.
        labels: (N_val,) 0 normal / 1 defective.
        grid: the ablation grid (its ``k`` sets the figures' cut).
        params: seed and ridge.

    Returns:
        One row per configuration with ``layer``, ``n_features_kept``, ``covariance``, the
        ``val_*`` metrics (speed is logged; benchmarks/monitor_latency.py measures it).
    """
    train, val = features
    rows = []
    for kept, covariance in product(grid.n_features_kept, grid.covariances):
        estimator = fit_estimator(train, kept, covariance, params.ridge, params.seed)
        start = time.perf_counter()
        scores = estimator.mahalanobis(val)
        seconds = time.perf_counter() - start
        row: dict[str, Any] = {"layer": layer, "n_features_kept": kept, "covariance": covariance}
        row.update(val_metrics(scores, labels, grid.k))
        # logged, not recorded: a wall-clock time would make the evidence differ per run
        log.debug(
            "ablation %s/%d/%s: %.4f ms per image",
            layer,
            kept,
            covariance,
            1000 * seconds / len(val),
        )
        log.info(
            "ablation %s/%d/%s: val AUROC %.3f, accuracy %.3f",
            layer,
            kept,
            covariance,
            row["val_auroc"],
            row["val_accuracy"],
        )
        rows.append(row)
    return rows


def control_limits(monitor: FittedMonitor) -> dict[str, Any]:
    """The monitor's limits in score units.

    Individuals: warning and action at mean + 2 and + 3 sd of the reference scores. These are
    chart limits on the score stream, drawn for the reader; no image is passed or rejected by
    them (per-image decisions use the calibrated operating threshold only). EWMA: the
    asymptotic band of the chart (on log scores by default, mapped back with exp, i.e. a band
    around the geometric mean). CUSUM: allowance k and interval h in sd of chart units.
    """
    ref, chart = monitor.reference, monitor.chart
    chart_ref = monitor.chart_reference()
    lam, width = chart["ewma"]["lam"], chart["ewma"]["L"]
    half = width * np.sqrt(lam / (2 - lam)) * chart_ref.sd
    band = np.array([chart_ref.mean - half, chart_ref.mean, chart_ref.mean + half])
    lower, center, upper = np.exp(band) if chart["transform"] == "log" else band
    return {
        "center": ref.mean,
        "warning_upper": ref.mean + 2 * ref.sd,
        "action_upper": ref.mean + 3 * ref.sd,
        "ewma_center": float(center),
        "ewma_upper": float(upper),
        "ewma_lower": float(lower),
        "cusum_k_sd": chart["cusum"]["k"],
        "cusum_h_sd": chart["cusum"]["h"],
    }


def chart_settings(
    chart: ChartParams, reference: ReferenceDistribution, seed: int
) -> dict[str, Any]:
    """The chart rules stored in the monitor (``pipeline.monitoring.spc`` names), with the
    EWMA width and CUSUM interval calibrated on the reference when ``chart.limits`` asks."""
    ewma_l, cusum_h = chart.ewma_limit, chart.cusum_h
    calibration: dict[str, Any] = {"method": chart.limits}
    if chart.limits == "bootstrap":
        fitted = calibrate_limits(
            transform_scores(reference.sorted_scores, chart.transform),
            lam=chart.ewma_lambda,
            k=chart.cusum_k,
            horizon=chart.false_alarm_horizon,
            probability=chart.false_alarm_probability,
            n_bootstrap=chart.n_bootstrap,
            seed=seed,
        )
        ewma_l, cusum_h = fitted["L"], fitted["h"]
        calibration.update(
            horizon=chart.false_alarm_horizon,
            probability=chart.false_alarm_probability,
            n_bootstrap=chart.n_bootstrap,
        )
    return {
        "transform": chart.transform,
        "ewma": {"lam": chart.ewma_lambda, "L": ewma_l},
        "cusum": {"k": chart.cusum_k, "h": cusum_h},
        "limits": calibration,
        "lot_alpha": chart.lot_alpha,
        "lot_alternative": chart.lot_alternative,
        "alarm_on": list(chart.alarm_on),
    }


def reference_summary(monitor: FittedMonitor) -> dict[str, Any]:
    """The reference distribution as ``monitor_summary.json`` reports it, with the limits."""
    ref = monitor.reference
    values = np.asarray(ref.sorted_scores)
    return {
        "mean": ref.mean,
        "sd": ref.sd,
        "n": ref.n,
        "min": float(values.min()),
        "median": float(np.median(values)),
        "max": float(values.max()),
        "control_limits": control_limits(monitor),
    }


def resampled_in_control(monitor: FittedMonitor, seed: int) -> dict[str, Any]:
    """Chart false alarms on streams resampled from the reference's own scores."""
    ref = monitor.chart_reference()
    return {
        name: resampled_false_alarms(ref, name, seed=seed, params=monitor.chart[name])
        for name in ("ewma", "cusum")
    }
