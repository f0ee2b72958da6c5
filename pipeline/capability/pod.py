"""Hit/miss probability of detection, POD(a) = F(b0 + b1 ln a), after MIL-HDBK-1823A.

``fit_pod`` fits the curve by maximum likelihood (Newton-Raphson on the observed information,
with step halving) and reads off a50, a90 and a90/95, the size at which the one-sided lower
confidence bound of POD reaches 0.90. The bound is the handbook's Wald band on the linear
predictor: ``eta(x) - z * se(eta(x))`` with ``x = ln a`` and ``se`` from the delta method.

``assess`` is what a stage calls per requirement: it uses the fit when the data support one,
else the success-run bound, and never reports a size beyond the largest one tested.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from pipeline.capability.glm import (
    Matrix2,
    eta_se,
    lower_bound_log_size,
    newton_fit,
    observed_covariance,
    size_at,
)
from pipeline.capability.links import get_link
from pipeline.capability.success_run import success_run_size
from pipeline.errors import SealauditError
from pipeline.models.thresholds import zero_failure_sample_size

MIN_OUTCOMES = 3  # fewer hits or misses than this leave the slope unidentifiable in practice


@dataclass(frozen=True)
class PodFit:
    """A fitted hit/miss POD curve; sizes in the unit of the data, ``None`` where undefined."""

    link: str
    b0: float
    b1: float
    covariance: Matrix2  # inverse observed Fisher information of (b0, b1)
    log_likelihood: float
    converged: bool
    iterations: int
    n_events: int
    n_hits: int
    reliability: float
    confidence: float
    a50: float | None
    a90: float | None  # the size of POD = reliability (0.90 by default)
    a90_95: float | None  # None: the lower bound never reaches the reliability
    bound_method: str

    def pod(self, sizes: ArrayLike) -> NDArray[np.float64]:
        """The fitted POD at ``sizes``, shape of ``sizes``."""
        return get_link(self.link).cdf(self.b0 + self.b1 * np.log(np.asarray(sizes, float)))

    def pod_lower(self, sizes: ArrayLike) -> NDArray[np.float64]:
        """The one-sided lower confidence bound of POD at ``sizes`` (the Wald band)."""
        x = np.log(np.asarray(sizes, float))
        eta = self.b0 + self.b1 * x
        return get_link(self.link).cdf(eta - _z(self.confidence) * eta_se(self.covariance, x))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: non-finite numbers become None, the covariance nested lists."""
        return _json_safe(asdict(self))


@dataclass(frozen=True)
class Assessment:
    """The capability verdict of one requirement's hit/miss data."""

    method: str  # "glm" | "success_run" | "not_demonstrated"
    a50: float | None
    a90: float | None
    a90_95: float | None
    n_events: int
    n_hits: int
    reliability: float  # the POD demonstrated (0.90 for a90/95)
    confidence: float  # one-sided, of the bound (0.95 for a90/95)
    fit: PodFit | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: non-finite numbers become None; ``fit`` as ``PodFit.to_dict``."""
        return _json_safe(asdict(self))


def fit_pod(
    sizes: ArrayLike,
    hits: ArrayLike,
    *,
    link: str = "logit",
    reliability: float = 0.9,
    confidence: float = 0.95,
) -> PodFit:
    """Maximum-likelihood fit of POD(a) = F(b0 + b1 ln a).

    Args:
        sizes: characteristic defect size per event (> 0), shape (n,).
        hits: whether each event was detected, shape (n,).
        link: "logit" (the handbook's default) or "probit".
        reliability: the POD the a90 sizes refer to.
        confidence: one-sided confidence of the a90/95 lower bound.

    Returns:
        The fit; ``converged`` is False when Newton-Raphson did not settle (separated data).
    """
    x, y = check_hit_miss(sizes, hits)
    _check_levels(reliability, confidence)
    chosen = get_link(link)
    beta, loglik, converged, iterations = newton_fit(x, y, chosen)
    covariance = observed_covariance(x, y, chosen, beta)
    b0, b1 = float(beta[0]), float(beta[1])
    z = _z(confidence)
    return PodFit(
        link=chosen.name,
        b0=b0,
        b1=b1,
        covariance=covariance,
        log_likelihood=loglik,
        converged=converged,
        iterations=iterations,
        n_events=int(y.size),
        n_hits=int(y.sum()),
        reliability=reliability,
        confidence=confidence,
        a50=_exp(size_at(b0, b1, chosen.ppf(0.5))),
        a90=_exp(size_at(b0, b1, chosen.ppf(reliability))),
        a90_95=_exp(lower_bound_log_size(b0, b1, covariance, chosen.ppf(reliability), z)),
        bound_method=(
            f"Wald (delta-method) one-sided {confidence:.0%} lower bound on b0 + b1 ln a, "
            f"z = {z:.3f} ({chosen.name} link, MIL-HDBK-1823A)"
        ),
    )


def assess(
    sizes: ArrayLike,
    hits: ArrayLike,
    *,
    reliability: float = 0.9,
    confidence: float = 0.95,
    link: str = "logit",
) -> Assessment:
    """The a90/95 verdict of one requirement's hit/miss data (one entry per capture event).

    The fitted curve is used when the data support one (enough hits and misses, no
    separation, converged, POD rising with size); otherwise the success-run bound. A bound
    beyond the largest tested size is "not_demonstrated": the curve is never extrapolated.

    Args:
        sizes: characteristic defect size per event (> 0), shape (n,).
        hits: whether each event was detected (rejected), shape (n,).
        reliability: the POD to demonstrate (0.90 for a90/95).
        confidence: one-sided confidence of the bound (0.95 for a90/95).
        link: "logit" or "probit".

    Returns:
        The method used, the sizes (None where not available) and a note saying why.
    """
    x, y = check_hit_miss(sizes, hits)
    _check_levels(reliability, confidence)
    get_link(link)  # an unknown link is an error whatever the data
    a, hit = np.asarray(sizes, dtype=float), y.astype(bool)
    reason = _degenerate(x, y)
    if reason:
        return _success_run(a, hit, reliability, confidence, reason, None)
    fit = fit_pod(a, hit, link=link, reliability=reliability, confidence=confidence)
    if not fit.converged:
        reason = f"the {link} fit did not converge in {fit.iterations} iterations"
        return _success_run(a, hit, reliability, confidence, reason, None)
    if not fit.b1 > 0:
        reason = f"POD does not rise with size (b1 = {fit.b1:.3g} <= 0)"
        return _success_run(a, hit, reliability, confidence, reason, fit)
    return _from_fit(fit, float(a.min()), float(a.max()))


def _degenerate(x: NDArray, y: NDArray) -> str:
    """Why no curve can be fitted to these data, or "" when one can."""
    n_hits, n_misses = int(y.sum()), int(y.size - y.sum())
    if min(n_hits, n_misses) < MIN_OUTCOMES:
        return f"{n_hits} hits and {n_misses} misses (a fit needs {MIN_OUTCOMES} of each)"
    hit_sizes, miss_sizes = x[y == 1], x[y == 0]
    if miss_sizes.max() <= hit_sizes.min():
        return "hits and misses are separated by size (no miss above the smallest hit)"
    if hit_sizes.max() <= miss_sizes.min():
        return "hits and misses are separated by size, the wrong way (no hit above a miss)"
    return ""


def _success_run(
    sizes: NDArray,
    hits: NDArray,
    reliability: float,
    confidence: float,
    reason: str,
    fit: PodFit | None,
) -> Assessment:
    n_required = zero_failure_sample_size(reliability, confidence)
    size = success_run_size(sizes, hits, n_required)
    n_events, n_hits = int(sizes.size), int(hits.sum())
    base = Assessment(
        "not_demonstrated", None, None, None, n_events, n_hits, reliability, confidence, fit, ""
    )
    no_curve = f"no POD curve: {reason}"
    if size is None:
        note = f"{no_curve}; no size has {n_required} or more hits at and above it, and no miss"
        return replace(base, note=note)
    note = (
        f"{no_curve}; success run: all {int((sizes >= size).sum())} events of size >= "
        f"{size:.4g} were hits ({n_required} needed for POD >= {reliability:g} at "
        f"{confidence:.0%} confidence)"
    )
    return replace(base, method="success_run", a90_95=size, note=note)


def _from_fit(fit: PodFit, smallest: float, largest: float) -> Assessment:
    base = Assessment(
        "glm", fit.a50, fit.a90, fit.a90_95, fit.n_events, fit.n_hits,
        fit.reliability, fit.confidence, fit, fit.bound_method,
    )  # fmt: skip
    if fit.a90_95 is None:
        note = f"the lower {fit.confidence:.0%} bound of POD never reaches {fit.reliability:g}"
        return replace(base, method="not_demonstrated", note=note)
    if fit.a90_95 > largest:
        note = (
            f"a90/95 = {fit.a90_95:.4g} lies beyond the largest tested size {largest:.4g}; "
            "not extrapolated"
        )
        return replace(base, method="not_demonstrated", a90_95=None, note=note)
    if fit.a90_95 < smallest:
        note = (
            f"a90/95 = {fit.a90_95:.4g} lies below the smallest tested size; reported as "
            f"that size, {smallest:.4g} ({fit.bound_method})"
        )
        return replace(base, a90_95=smallest, note=note)
    return base


def check_hit_miss(sizes: ArrayLike, hits: ArrayLike) -> tuple[NDArray[np.float64], NDArray]:
    """``(ln size, hit as 0.0/1.0)``; sizes must be finite and > 0, hits boolean or 0/1."""
    a, h = np.asarray(sizes, dtype=float), np.asarray(hits)
    if a.ndim != 1 or h.shape != a.shape:
        raise SealauditError(f"POD data: sizes {a.shape} and hits {h.shape} must be equal 1-D")
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise SealauditError("POD data: every defect size must be finite and > 0 (ln a is used)")
    if not np.isin(h, (0, 1)).all():
        raise SealauditError("POD data: hits must be booleans or 0/1")
    return np.log(a), h.astype(float)


def _check_levels(reliability: float, confidence: float) -> None:
    if not (0.5 < reliability < 1 and 0.5 < confidence < 1):
        raise SealauditError(
            f"POD levels: reliability {reliability} and confidence {confidence} "
            "must lie in (0.5, 1)"
        )


def _z(confidence: float) -> float:
    return float(norm.ppf(confidence))


def _exp(log_size: float | None) -> float | None:
    if log_size is None:
        return None
    return math.exp(log_size) if log_size < 700 else math.inf


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple | list):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value
