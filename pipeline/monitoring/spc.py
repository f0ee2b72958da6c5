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

    def above(self) -> NDArray[np.bool_]:
        """(n,) points whose statistic is over the upper limit (scores rising)."""
        return np.asarray(self.statistic) > np.asarray(self.upper)

    def below(self) -> NDArray[np.bool_]:
        """(n,) points whose statistic is under the lower limit (scores falling)."""
        return np.asarray(self.statistic) < np.asarray(self.lower)


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

    def above(self) -> NDArray[np.bool_]:
        """(n,) points where the upper CUSUM exceeds h (scores rising)."""
        return np.asarray(self.upper_statistic) > self.h

    def below(self) -> NDArray[np.bool_]:
        """(n,) points where the lower CUSUM exceeds h (scores falling)."""
        return np.asarray(self.lower_statistic) > self.h


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


def alarm_flags(z: FloatArray, chart: Chart, params: dict[str, float]) -> NDArray[np.bool_]:
    """(..., n) alarm flags of a chart (``params``: lam, L or k, h) on standardised scores."""
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
