"""Maximum likelihood of the two-parameter binary GLM behind the POD curve, in ``x = ln a``.

Newton-Raphson on the observed information (equal to Fisher scoring/IRLS for the logit link),
with step halving so that the log-likelihood never falls; the delta-method standard error of
the linear predictor; and the crossing of its Wald lower bound with a target level.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pipeline.capability.links import Link

MAX_ITERATIONS = 100
MAX_HALVINGS = 40
STEP_TOLERANCE = 1e-10  # on the Newton step of (b0, b1): quadratic convergence makes it cheap

Matrix2 = tuple[tuple[float, float], tuple[float, float]]


def newton_fit(x: NDArray, y: NDArray, link: Link) -> tuple[NDArray, float, bool, int]:
    """Newton-Raphson from (0, 0), halving any step that lowers the log-likelihood.

    Returns:
        ``(beta, log-likelihood, converged, iterations)``; converged means a full (unhalved)
        step shorter than ``STEP_TOLERANCE``.
    """
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    loglik, gradient, second = link.terms(design @ beta, y)
    for iteration in range(1, MAX_ITERATIONS + 1):
        hessian = design.T @ (second[:, None] * design)
        try:
            step = -np.linalg.solve(hessian, design.T @ gradient)
        except np.linalg.LinAlgError:
            return beta, float(loglik.sum()), False, iteration
        full_step = True
        for _ in range(MAX_HALVINGS):
            terms = link.terms(design @ (beta + step), y)
            if terms[0].sum() >= loglik.sum() - 1e-12 * abs(loglik.sum()):
                break
            step, full_step = step / 2, False
        beta = beta + step
        loglik, gradient, second = terms
        if full_step and np.max(np.abs(step)) < STEP_TOLERANCE:
            return beta, float(loglik.sum()), True, iteration
    return beta, float(loglik.sum()), False, MAX_ITERATIONS


def observed_covariance(x: NDArray, y: NDArray, link: Link, beta: NDArray) -> Matrix2:
    """Inverse observed Fisher information; NaN where the information is singular."""
    design = np.column_stack([np.ones_like(x), x])
    second = link.terms(design @ beta, y)[2]
    information = -(design.T @ (second[:, None] * design))
    try:
        inverse = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        inverse = np.full((2, 2), np.nan)
    return (float(inverse[0, 0]), float(inverse[0, 1])), (
        float(inverse[1, 0]),
        float(inverse[1, 1]),
    )


def eta_se(covariance: Matrix2, x: NDArray) -> NDArray[np.float64]:
    """Delta-method standard error of b0 + b1 x."""
    (v00, v01), (_, v11) = covariance
    return np.sqrt(np.maximum(v00 + 2 * v01 * x + v11 * x**2, 0.0))


def size_at(b0: float, b1: float, eta: float) -> float | None:
    """The ``x = ln a`` where b0 + b1 x equals ``eta``; None unless POD rises with size."""
    if not b1 > 0:
        return None
    return (eta - b0) / b1


def lower_bound_log_size(
    b0: float, b1: float, covariance: Matrix2, q: float, z: float
) -> float | None:
    """Smallest ``x = ln a`` where ``eta - z se = q``; None if the bound never reaches ``q``.

    Squaring ``c + b1 x = z se(x)`` (``c = b0 - q``) gives a quadratic whose roots with a
    non-negative left side are the crossings.
    The lower bound is concave in ``x = ln a``, so it meets ``q`` at most twice and the
    smaller crossing is where it rises through ``q``.
    """
    (v00, v01), (_, v11) = covariance
    if not (b1 > 0 and np.isfinite([v00, v01, v11]).all()):
        return None
    c = b0 - q
    roots = np.roots([b1**2 - z**2 * v11, 2 * (c * b1 - z**2 * v01), c**2 - z**2 * v00])
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots.real))].real
    gap = c + b1 * real - z * eta_se(covariance, real)
    crossings = real[np.abs(gap) <= 1e-7 * (1.0 + np.abs(c + b1 * real))]
    return float(crossings.min()) if crossings.size else None
