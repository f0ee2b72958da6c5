"""Link functions of the hit/miss model POD(a) = F(b0 + b1 ln a) (MIL-HDBK-1823A, ch. 7).

Each link gives F, its inverse and, per event, the log-likelihood with its first and second
derivatives in the linear predictor, computed in log space so that events far in the tails
neither underflow nor give ``log(0)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_ndtr, logit, ndtr, ndtri
from scipy.stats import norm

from pipeline.errors import SealauditError

LinkName = Literal["logit", "probit"]
LINKS: tuple[LinkName, ...] = ("logit", "probit")

Terms = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class Link:
    """One link: ``cdf`` is F, ``ppf`` its inverse, ``terms`` the per-event likelihood."""

    name: LinkName

    def cdf(self, eta: NDArray[np.float64]) -> NDArray[np.float64]:
        return expit(eta) if self.name == "logit" else ndtr(eta)

    def ppf(self, p: float) -> float:
        return float(logit(p) if self.name == "logit" else ndtri(p))

    def terms(self, eta: NDArray[np.float64], hit: NDArray[np.float64]) -> Terms:
        """Per event: log-likelihood l, dl/deta and d2l/deta2 (observed, not expected)."""
        if self.name == "logit":
            p = expit(eta)
            return hit * eta - np.logaddexp(0.0, eta), hit - p, -p * expit(-eta)
        sign = 2.0 * hit - 1.0
        log_f = log_ndtr(sign * eta)
        mills = np.exp(norm.logpdf(eta) - log_f)  # f(eta) / F(+-eta), finite in both tails
        return log_f, sign * mills, -mills * (mills + sign * eta)


def get_link(name: str) -> Link:
    """The link called ``name``; an unknown name is an error that lists the known ones."""
    if name not in LINKS:
        raise SealauditError(f"unknown POD link {name!r}: use one of {', '.join(LINKS)}")
    return Link(name)
