"""Parameters of the ``fit_monitor`` stage: the monitoring mode's estimator, its ablation grid
and the process-control rules ``sealaudit monitor`` applies with the fitted reference.

The chart and alarm settings are stored inside ``monitor.npz``: a production batch is always
judged by the rules that were validated with the reference it is compared to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SECTION = "fit_monitor"

Covariance = Literal["empirical_ridge", "ledoit_wolf", "oas"]
AlarmSource = Literal["ewma", "cusum", "lot_test", "exceedance"]
LAYER_PATTERN = re.compile(r"^(enc[1-9]\d*|bottleneck)$")


def _check_layer(name: str, where: str) -> None:
    if not LAYER_PATTERN.match(name):
        raise ValueError(f"{where} {name!r} must be enc1, enc2, ... or bottleneck")


@dataclass(frozen=True)
class AblationParams:
    """The layer x kept-features x covariance grid scored on ``val`` (tiny by default).

    ``k``: each row (and the chosen configuration's ``val`` figures) reports accuracy, recall
    and FPR at mean + k sd of the ``val`` normal scores: a figure of merit for comparing
    configurations, not a decision threshold (the ``calibrate`` stage fits those).
    """

    layers: tuple[str, ...]
    n_features_kept: tuple[int, ...]
    covariances: tuple[Covariance, ...]
    k: float

    def validate(self) -> None:
        """Every list non-empty; layers named as the encoder names them; counts positive."""
        if not (self.layers and self.n_features_kept and self.covariances):
            raise ValueError("ablation.layers, n_features_kept and covariances must be non-empty")
        for layer in self.layers:
            _check_layer(layer, "ablation.layers entry")
        if min(self.n_features_kept) < 1:
            raise ValueError("ablation.n_features_kept entries must be >= 1")
        if self.k <= 0:
            raise ValueError("ablation.k must be > 0")


@dataclass(frozen=True)
class ChartParams:
    """Control charts, lot tests and alarm sources (``pipeline.monitoring.spc``).

    EWMA (``ewma_lambda``) and CUSUM (``cusum_k``) run on the standardised stream of
    ``transform``-ed scores: ``log`` by default, because Mahalanobis distances are right-skewed
    and both charts assume roughly normal points (the lot tests are rank-based and unaffected).
    ``limits: bootstrap`` sets the EWMA width L and the CUSUM interval h so that an in-control
    stream of ``false_alarm_horizon`` images alarms with probability
    ``false_alarm_probability`` per chart, including the error of estimating the centre and
    spread from a small reference (``run_length.calibrate_limits``); ``limits: nominal`` uses
    ``ewma_limit`` and ``cusum_h`` as given (textbook values assume a known distribution).
    Each lot is tested against the reference scores with Mann-Whitney and Kolmogorov-Smirnov
    at ``lot_alpha``, Bonferroni-corrected over the lots of a batch and the two tests; the
    exceedance alarm is a binomial test of a lot's share above the operating threshold (the
    ``calibrate`` stage's, stored in ``artifacts/calibrate/monitor.npz``) at the same level.
    ``alarm_on`` lists the sources that raise an alarm (all are reported).
    """

    transform: Literal["log", "none"]
    ewma_lambda: float
    ewma_limit: float
    cusum_k: float
    cusum_h: float
    limits: Literal["bootstrap", "nominal"]
    false_alarm_horizon: int
    false_alarm_probability: float
    n_bootstrap: int
    lot_alpha: float
    lot_alternative: Literal["two-sided", "greater"]
    alarm_on: tuple[AlarmSource, ...]

    def validate(self) -> None:
        """Chart constants in range, probabilities in (0, 1), alarm sources listed once."""
        if not (0 < self.ewma_lambda <= 1 and self.ewma_limit > 0):
            raise ValueError("chart.ewma_lambda must be in (0, 1] and chart.ewma_limit > 0")
        if not (self.cusum_k >= 0 and self.cusum_h > 0):
            raise ValueError("chart.cusum_k must be >= 0 and chart.cusum_h > 0")
        if self.false_alarm_horizon < 1 or self.n_bootstrap < 10:
            raise ValueError("chart.false_alarm_horizon must be >= 1 and n_bootstrap >= 10")
        for name in ("false_alarm_probability", "lot_alpha"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"chart.{name} must be within (0, 1)")
        if len(set(self.alarm_on)) != len(self.alarm_on):
            raise ValueError("chart.alarm_on must list each source once")


@dataclass(frozen=True)
class Params:
    """The monitoring estimator (SPEC 1.3) and its chart reference.

    ``layer``: encoder features to model (``enc1`` = first conv level, the paper's best).
    The decision threshold is not fitted here: the ``calibrate`` stage fits it on ``val``
    with the inline mode's rules. ``alignment_scale``: with a band-aligned checkpoint,
    ``fixed`` keeps the band's height (its centre line is aligned, a reference height fitted
    on train spans the band rows), so seal-width drift reaches the monitor; ``stretch``
    reuses the inline model's alignment, which normalises the band's height away.
    """

    seed: int
    layer: str
    alignment_scale: Literal["fixed", "stretch"]
    n_features_kept: int
    covariance: Covariance
    ridge: float
    n_examples: int
    batch_size: int
    ablation: AblationParams
    chart: ChartParams

    def validate(self) -> None:
        """Layer named as the encoder names it; counts and constants positive."""
        _check_layer(self.layer, "layer")
        if self.n_features_kept < 1 or self.batch_size < 1:
            raise ValueError("n_features_kept and batch_size must be >= 1")
        if self.ridge < 0 or self.n_examples < 0:
            raise ValueError("ridge must be >= 0 and n_examples >= 0")
