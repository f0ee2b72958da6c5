"""Evidence documents of the ``evaluate`` stage, and the operating-threshold lookup.

Verbatim (``dict[str, Any]``): the studies carried from ``benchmarks/`` (``resolution_study``,
``detectability_ceiling``), ``paper_reference``, ablation/baseline rows, per-threshold ``test``
metrics and their CIs, ``sensitivity`` rows, ``robustness`` rows, ``per_defect_type``,
``pixel``, ``seal_path`` (packaged as is by ``register``), ``gallery`` and ``plots``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, TypeVar

from pipeline.evidence.convert import EvidenceError, optional
from pipeline.evidence.documents import Provenance
from pipeline.models.thresholds import Threshold

T = TypeVar("T", bound=Threshold)


@dataclass(frozen=True, kw_only=True)
class EvaluatedThreshold(Threshold):
    """A ``Threshold`` with its test-split operating point (``evaluation.json`` only)."""

    test: dict[str, Any]
    test_ci: dict[str, Any]
    miss_rate_upper_95: float | None
    sensitivity: list[dict[str, Any]]

    def threshold(self) -> Threshold:
        """The fitted threshold alone, as the registry packages it."""
        names = [f.name for f in fields(Threshold)]
        return Threshold(**{name: getattr(self, name) for name in names})


@dataclass(frozen=True)
class Ranking:
    """Threshold-free ranking metrics on the test split, with ``ci`` {metric: [low, high]}."""

    auroc: float
    aupr: float
    ci: dict[str, list[float]]


@dataclass(frozen=True)
class Mode:
    """One detection mode in ``evaluation.json`` (``pixel`` where pixel masks exist; inline's
    ``seal_path`` is null unless its score is ``four_ms_ssim_path``; monitoring has none)."""

    detector: str
    score: str
    working_resolution: list[int]
    roi: dict[str, Any]
    n_val_normal: int
    n_val_defective: int
    n_test_normal: int
    n_test_defective: int
    ranking: Ranking
    thresholds: list[EvaluatedThreshold]
    thresholds_not_fitted: list[Any]
    operating_threshold_id: str
    per_defect_type: dict[str, dict[str, Any]]
    ci_methods: dict[str, str]
    confidence: float
    plots: dict[str, str]
    gallery: dict[str, list[str]]
    robustness: list[dict[str, Any]]
    robustness_images: dict[str, Any]
    pixel: dict[str, Any] | None = optional()
    seal_path: dict[str, Any] | None = optional()

    def operating(self) -> EvaluatedThreshold:
        """The threshold this mode decides with (``operating_threshold_id``)."""
        return operating_threshold(self.thresholds, self.operating_threshold_id)


@dataclass(frozen=True)
class Modes:
    """``evaluation.json`` ``modes``: monitoring is null when evaluate ran without it."""

    inline: Mode
    monitoring: Mode | None

    def of(self, mode: str) -> Mode | None:
        """The named mode's evaluation (None when it was not evaluated)."""
        return {"inline": self.inline, "monitoring": self.monitoring}[mode]


@dataclass(frozen=True)
class Evaluation:
    """``evaluate/evaluation.json``."""

    modes: Modes
    ablation: list[dict[str, Any]]
    baselines: list[dict[str, Any]]
    baselines_skipped: list[Any]
    paper_reference: dict[str, Any]
    resolution_study: dict[str, Any] | None
    detectability_ceiling: dict[str, Any] | None
    torch_numerics: dict[str, Any]
    provenance: Provenance


@dataclass(frozen=True)
class Metrics:
    """``evaluate/metrics.json`` (for ``dvc metrics show``): headline per mode, or null."""

    inline: dict[str, float] | None
    monitoring: dict[str, float] | None


@dataclass(frozen=True)
class Thresholds:
    """``evaluate/thresholds.json``: every fitted threshold per mode (null: not evaluated)."""

    inline: list[Threshold] | None
    monitoring: list[Threshold] | None


def operating_threshold(thresholds: list[T], wanted: str) -> T:
    """The threshold whose id is ``wanted``: the one a mode (or the monitor) decides with."""
    for threshold in thresholds:
        if threshold.threshold_id == wanted:
            return threshold
    raise EvidenceError(
        f"operating threshold {wanted!r} is not among the fitted thresholds "
        f"{[t.threshold_id for t in thresholds]}; rerun `dvc repro evaluate`"
    )
