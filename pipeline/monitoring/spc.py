"""Statistical process control on a stream of monitoring scores.

A reference distribution (scores of normal images from a period the process was known to be
in control) fixes the centre and spread. Charts run on the standardised scores
``z = (score - mean) / sd``:

- EWMA (Roberts 1959): ``w_i = lam z_i + (1 - lam) w_{i-1}``, ``w_0 = 0``; exact limits
  ``+-L sqrt(lam / (2 - lam) (1 - (1 - lam)^(2 i)))``. lam = 0.2, L = 3 gives an in-control
  average run length (ARL0) of about 500 points (Montgomery, *Introduction to SQC*, table 9.11).
- Tabular CUSUM (Page 1954): ``C+_i = max(0, C+_{i-1} + z_i - k)``,
  ``C-_i = max(0, C-_{i-1} - z_i - k)``, alarm when either exceeds h. k = 0.5, h = 5 gives a
  two-sided ARL0 of about 465 points and detects a 1-sigma shift in about 10 (same table).

Charts never reset after an alarm, so one excursion can flag several consecutive points.
Both charts assume roughly normal, independent scores; Mahalanobis distances are skewed, so
the simulated run lengths here are nominal. Results are frozen dataclasses whose
``to_dict()`` is plain JSON.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pipeline.errors import SealauditError
from pipeline.models.thresholds import clopper_pearson

log = logging.getLogger(__name__)

EWMA_LAMBDA = 0.2
EWMA_L = 3.0
CUSUM_K = 0.5
CUSUM_H = 5.0
Chart = Literal["ewma", "cusum"]
FloatArray = NDArray[np.float64]


def _as_scores(scores: ArrayLike, what: str) -> FloatArray:
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise SealauditError(f"{what}: need a 1-D sequence of finite scores, got {values.shape}")
    return values


def _first(flags: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(flags)
    return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class ReferenceDistribution:
    """Centre and spread of in-control scores; the sorted sample is kept for audits and tests."""

    mean: float
    sd: float
    n: int
    sorted_scores: list[float]

    @classmethod
    def from_scores(cls, scores: ArrayLike) -> ReferenceDistribution:
        """Fit on normal images' scores (sample sd, ddof = 1); needs two distinct values."""
        values = _as_scores(scores, "reference scores")
        sd = float(np.std(values, ddof=1)) if values.size >= 2 else 0.0
        if not sd > 0:
            raise SealauditError(
                f"reference scores: need at least two distinct values, got {values.size} "
                "score(s) with zero spread; fit the reference on more normal images"
            )
        return cls(float(values.mean()), sd, int(values.size), np.sort(values).tolist())

    def standardise(self, scores: ArrayLike) -> FloatArray:
        """``(scores - mean) / sd``."""
        return (_as_scores(scores, "scores") - self.mean) / self.sd

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceDistribution:
        return cls(float(data["mean"]), float(data["sd"]), int(data["n"]), data["sorted_scores"])


@dataclass(frozen=True)
class EwmaChart:
    """EWMA chart in score units: statistic and limits per point, alarm where outside them."""

    lam: float
    L: float
    center: float
    statistic: list[float]
    upper: list[float]
    lower: list[float]
    alarms: list[bool]
    first_alarm: int | None
    n_alarms: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CusumChart:
    """Standardised two-sided tabular CUSUM (in sd units); alarm where either side exceeds h."""

    k: float
    h: float
    upper_statistic: list[float]
    lower_statistic: list[float]
    alarms: list[bool]
    first_alarm: int | None
    n_alarms: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_chart_params(chart: Chart, params: dict[str, float]) -> None:
    if chart == "ewma":
        if not (0 < params["lam"] <= 1 and params["L"] > 0):
            raise SealauditError(f"EWMA chart: need 0 < lam <= 1 and L > 0, got {params}")
    elif chart == "cusum":
        if not (params["k"] >= 0 and params["h"] > 0):
            raise SealauditError(f"CUSUM chart: need k >= 0 and h > 0, got {params}")
    else:
        raise SealauditError(f"control chart: unknown chart {chart!r}; use 'ewma' or 'cusum'")


def _ewma(z: FloatArray, lam: float, L: float) -> tuple[FloatArray, FloatArray]:
    """(..., n) EWMA of standardised scores and the (n,) half-width of its limits."""
    w = np.empty_like(z)
    previous = np.zeros(z.shape[:-1])
    for i in range(z.shape[-1]):
        previous = lam * z[..., i] + (1 - lam) * previous
        w[..., i] = previous
    index = np.arange(1, z.shape[-1] + 1)
    half_width = L * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * index)))
    return w, half_width


def _cusum(z: FloatArray, k: float) -> tuple[FloatArray, FloatArray]:
    """(..., n) upper and lower CUSUM statistics of standardised scores."""
    upper, lower = np.empty_like(z), np.empty_like(z)
    c_up, c_low = np.zeros(z.shape[:-1]), np.zeros(z.shape[:-1])
    for i in range(z.shape[-1]):
        c_up = np.maximum(0.0, c_up + z[..., i] - k)
        c_low = np.maximum(0.0, c_low - z[..., i] - k)
        upper[..., i], lower[..., i] = c_up, c_low
    return upper, lower


def _alarms(z: FloatArray, chart: Chart, params: dict[str, float]) -> NDArray[np.bool_]:
    """(..., n) alarm flags of a chart run on standardised scores."""
    _check_chart_params(chart, params)
    if chart == "ewma":
        w, half_width = _ewma(z, params["lam"], params["L"])
        return np.abs(w) > half_width
    upper, lower = _cusum(z, params["k"])
    return (upper > params["h"]) | (lower > params["h"])


def ewma_chart(
    scores: ArrayLike, ref: ReferenceDistribution, lam: float = EWMA_LAMBDA, L: float = EWMA_L
) -> EwmaChart:
    """EWMA chart of a score stream against the reference.

    Args:
        scores: (n,) monitoring scores in time order.
        ref: in-control reference distribution.
        lam: smoothing weight of the newest score, in (0, 1].
        L: limit width in standard deviations of the EWMA statistic.

    Returns:
        Statistic and time-varying limits in score units, alarms on either side.
    """
    _check_chart_params("ewma", {"lam": lam, "L": L})
    w, half_width = _ewma(ref.standardise(scores), lam, L)
    alarms = np.abs(w) > half_width
    return EwmaChart(
        lam=float(lam),
        L=float(L),
        center=ref.mean,
        statistic=(ref.mean + ref.sd * w).tolist(),
        upper=(ref.mean + ref.sd * half_width).tolist(),
        lower=(ref.mean - ref.sd * half_width).tolist(),
        alarms=alarms.tolist(),
        first_alarm=_first(alarms),
        n_alarms=int(alarms.sum()),
    )


def cusum_chart(
    scores: ArrayLike, ref: ReferenceDistribution, k: float = CUSUM_K, h: float = CUSUM_H
) -> CusumChart:
    """Two-sided standardised CUSUM of a score stream against the reference.

    Args:
        scores: (n,) monitoring scores in time order.
        ref: in-control reference distribution.
        k: allowance in sd (half the shift to detect fastest).
        h: decision interval in sd.

    Returns:
        Upper (scores rising) and lower statistics, alarms where either exceeds h.
    """
    _check_chart_params("cusum", {"k": k, "h": h})
    upper, lower = _cusum(ref.standardise(scores), k)
    alarms = (upper > h) | (lower > h)
    return CusumChart(
        k=float(k),
        h=float(h),
        upper_statistic=upper.tolist(),
        lower_statistic=lower.tolist(),
        alarms=alarms.tolist(),
        first_alarm=_first(alarms),
        n_alarms=int(alarms.sum()),
    )


def lot_test(
    lot_scores: ArrayLike,
    ref_scores: ArrayLike,
    alternative: Literal["two-sided", "greater"] = "two-sided",
) -> dict[str, Any]:
    """Does a lot's score distribution differ from the reference's?

    Two-sample Kolmogorov-Smirnov (any difference in shape) and Mann-Whitney U (location).
    ``alternative="greater"`` tests for lot scores larger than the reference (more
    anomalous). Testing many lots calls for a multiplicity correction by the caller.

    Returns:
        ``n_lot``, ``n_ref``, ``ks_statistic``, ``ks_pvalue``, ``mannwhitney_u``,
        ``mannwhitney_pvalue``, ``prob_lot_higher`` (U / (n_lot n_ref), 0.5 = no shift),
        ``alternative``.
    """
    lot, ref = _as_scores(lot_scores, "lot scores"), _as_scores(ref_scores, "reference scores")
    if lot.size == 0 or ref.size == 0:
        raise SealauditError("lot test: the lot and the reference each need at least one score")
    # scipy's "less" means the lot's CDF lies below the reference's, i.e. larger lot scores
    ks = stats.ks_2samp(lot, ref, alternative="less" if alternative == "greater" else alternative)
    mw = stats.mannwhitneyu(lot, ref, alternative=alternative)
    return {
        "n_lot": int(lot.size),
        "n_ref": int(ref.size),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "mannwhitney_u": float(mw.statistic),
        "mannwhitney_pvalue": float(mw.pvalue),
        "prob_lot_higher": float(mw.statistic) / (lot.size * ref.size),
        "alternative": alternative,
    }


def exceedance_rate(
    scores: ArrayLike, threshold: float, confidence: float = 0.95
) -> dict[str, Any]:
    """Share of scores above the threshold (``score > threshold``, as ``Threshold.rejects``).

    Returns:
        ``threshold``, ``n``, ``n_above``, ``rate``, ``ci`` (exact Clopper-Pearson
        ``[low, high]``), ``confidence``.
    """
    values = _as_scores(scores, "scores")
    if values.size == 0:
        raise SealauditError("exceedance rate: need at least one score")
    above = int(np.sum(values > threshold))
    low, high = clopper_pearson(above, int(values.size), confidence)
    return {
        "threshold": float(threshold),
        "n": int(values.size),
        "n_above": above,
        "rate": above / values.size,
        "ci": [low, high],
        "confidence": float(confidence),
    }


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
    defaults = {"lam": EWMA_LAMBDA, "L": EWMA_L, "k": CUSUM_K, "h": CUSUM_H}
    z = np.random.default_rng(seed).standard_normal((n_streams, n_points))
    z[:, shift_start:] += shift
    return _alarms(z, chart, {**defaults, **(params or {})})


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
