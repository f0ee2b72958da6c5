"""Run-length behaviour of the control charts, by seeded simulation.

How often a chart of ``pipeline.monitoring.spc`` alarms on in-control streams (an estimate of
ARL0), how many points it takes to signal a mean shift, how often a lot test flags a lot drawn
from the reference distribution, and the same false-alarm figures for streams resampled from
a fitted reference's own scores (skewed Mahalanobis distances rather than normal ones). All
return plain-JSON dictionaries.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline.monitoring.spc import (
    CUSUM_H,
    CUSUM_K,
    EWMA_L,
    EWMA_LAMBDA,
    Chart,
    ReferenceDistribution,
    _cusum,  # the simulation half of spc, split out for size: it shares the recursions
    _ewma,
    alarm_flags,
    lot_test,
)

log = logging.getLogger(__name__)

DEFAULT_CHART_PARAMS = {"lam": EWMA_LAMBDA, "L": EWMA_L, "k": CUSUM_K, "h": CUSUM_H}


def simulate_alarms(
    chart: Chart,
    n_streams: int,
    n_points: int,
    seed: int,
    shift: float = 0.0,
    shift_start: int = 0,
    params: dict[str, float] | None = None,
) -> NDArray[np.bool_]:
    """(n_streams, n_points) alarms of a chart on seeded standard-normal streams, shifted by
    ``shift`` sd from ``shift_start`` on; ``params`` override the chart's defaults."""
    z = np.random.default_rng(seed).standard_normal((n_streams, n_points))
    z[:, shift_start:] += shift
    return alarm_flags(z, chart, {**DEFAULT_CHART_PARAMS, **(params or {})})


def in_control_false_alarms(
    chart: Chart,
    n_streams: int = 200,
    n_points: int = 500,
    seed: int = 0,
    params: dict[str, float] | None = None,
) -> dict[str, Any]:
    """False alarms of a chart on in-control streams.

    Returns:
        ``per_point`` (share of points flagged), ``per_stream`` (share of streams with an
        alarm), ``onsets_per_point`` (alarm episodes started per point, about 1 / ARL0),
        ``median_run_length`` and ``mean_run_length`` (points to the first alarm, estimates
        of ARL0; None if too many streams never alarm: lengthen ``n_points``).
    """
    alarms = simulate_alarms(chart, n_streams, n_points, seed, params=params)
    return _false_alarm_summary(chart, alarms)


def resampled_false_alarms(
    ref: ReferenceDistribution,
    chart: Chart,
    n_streams: int = 200,
    n_points: int = 2000,
    seed: int = 0,
    params: dict[str, float] | None = None,
) -> dict[str, Any]:
    """``in_control_false_alarms`` on streams resampled (with replacement) from the reference's
    own scores: the chart's false-alarm rate under the scores' real, skewed shape. The
    reference's estimation error is not included (the sample is its own reference)."""
    rng = np.random.default_rng(seed)
    z = ref.standardise(ref.sorted_scores)
    stream = rng.choice(z, size=(n_streams, n_points), replace=True)
    alarms = alarm_flags(stream, chart, {**DEFAULT_CHART_PARAMS, **(params or {})})
    return _false_alarm_summary(chart, alarms)


def _false_alarm_summary(chart: Chart, alarms: NDArray[np.bool_]) -> dict[str, Any]:
    n_streams, n_points = alarms.shape
    onsets = alarms[:, 0].sum() + (alarms[:, 1:] & ~alarms[:, :-1]).sum()
    first = np.where(alarms.any(axis=1), alarms.argmax(axis=1) + 1, n_points + 1)
    median = float(np.median(first))
    return {
        "chart": chart,
        "n_streams": n_streams,
        "n_points": n_points,
        "per_point": float(alarms.mean()),
        "per_stream": float(alarms.any(axis=1).mean()),
        "onsets_per_point": float(onsets) / alarms.size,
        "median_run_length": median if median <= n_points else None,
        "mean_run_length": float(first.mean()) if first.max() <= n_points else None,
    }


def detection_delay(
    chart: Chart,
    shift: float = 1.0,
    shift_start: int = 200,
    horizon: int = 200,
    n_streams: int = 200,
    seed: int = 0,
    params: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Points from a mean shift to the first alarm on or after it (1 = the first shifted point).

    Returns:
        ``mean``, ``median``, ``p90`` delay over detected streams, ``detected_share`` within
        ``horizon`` points, ``alarmed_before_shift`` (share with a false alarm earlier).
    """
    n_points = shift_start + horizon
    alarms = simulate_alarms(chart, n_streams, n_points, seed, shift, shift_start, params)
    detected = alarms[:, shift_start:].any(axis=1)
    delays = alarms[:, shift_start:].argmax(axis=1)[detected] + 1
    summary: list[float | None] = [None, None, None]
    if delays.size:
        summary = [float(f(delays)) for f in (np.mean, np.median, lambda d: np.percentile(d, 90))]
    return {
        "chart": chart,
        "shift": float(shift),
        "n_streams": n_streams,
        **dict(zip(("mean", "median", "p90"), summary, strict=True)),
        "detected_share": float(detected.mean()),
        "alarmed_before_shift": float(alarms[:, :shift_start].any(axis=1).mean()),
    }


def lot_false_alarm_rate(
    n_lots: int = 200, lot_size: int = 50, ref_size: int = 240, alpha: float = 0.05, seed: int = 0
) -> dict[str, Any]:
    """Share of same-distribution lots that ``lot_test`` flags at ``alpha`` (about alpha)."""
    rng = np.random.default_rng(seed)
    ref = rng.standard_normal(ref_size)
    tests = [lot_test(rng.standard_normal(lot_size), ref) for _ in range(n_lots)]
    flagged = {
        name: np.mean([t[f"{name}_pvalue"] < alpha for t in tests])
        for name in ("ks", "mannwhitney")
    }
    return {
        "n_lots": n_lots,
        "lot_size": lot_size,
        "alpha": alpha,
        **{k: float(v) for k, v in flagged.items()},
    }


def calibrate_limits(
    scores: ArrayLike,
    lam: float = EWMA_LAMBDA,
    k: float = CUSUM_K,
    horizon: int = 1000,
    probability: float = 0.05,
    n_bootstrap: int = 500,
    seed: int = 0,
) -> dict[str, float]:
    """EWMA width L and CUSUM interval h for a wanted false-alarm probability (bootstrap).

    Each replicate re-estimates the mean and sd from a resample of the reference scores (the
    estimation error of a small reference) and charts a fresh stream of ``horizon`` scores
    resampled from the reference (its real, skewed shape), standardised with those
    estimates. A chart alarms within the horizon exactly when its largest statistic (EWMA:
    relative to its time-varying limit at L = 1) exceeds the limit, so the limits are the
    ``1 - probability`` quantiles of those maxima (after Gandy and Kvaloy 2013, unconditional).

    Args:
        scores: (n,) reference scores (``val`` normal images), n >= 2.
        lam: EWMA weight; k: CUSUM allowance in sd.
        horizon: in-control stream length (images) the probability refers to.
        probability: wanted share of in-control streams of that length with a false alarm.
        n_bootstrap: replicates.
        seed: seed of the resampling.

    Returns:
        ``L`` and ``h`` (per chart; the charts together alarm more often).
    """
    values = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    resamples = rng.choice(values, size=(n_bootstrap, values.size))
    means, sds = resamples.mean(axis=1), resamples.std(axis=1, ddof=1)
    sds = np.where(sds > 0, sds, np.std(values, ddof=1))
    stream = rng.choice(values, size=(n_bootstrap, horizon))
    z = (stream - means[:, None]) / sds[:, None]
    w, unit_half_width = _ewma(z, lam, 1.0)
    upper, lower = _cusum(z, k)
    quantile = 100 * (1 - probability)
    return {
        "L": float(np.percentile((np.abs(w) / unit_half_width).max(axis=1), quantile)),
        "h": float(np.percentile(np.maximum(upper, lower).max(axis=1), quantile)),
    }
