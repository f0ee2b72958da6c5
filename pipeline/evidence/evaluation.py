"""Evidence documents of the ``evaluate`` stage, and the operating-threshold lookup.

The two studies carried from ``benchmarks/`` (``resolution_study``, ``detectability_ceiling``)
are typed by what their scripts write. Verbatim (``dict[str, Any]``): ``paper_reference``,
ablation/baseline rows, per-threshold ``test`` metrics and their CIs, ``sensitivity`` rows,
``robustness`` rows, ``per_defect_type``, ``pixel``, ``seal_path`` (packaged as is by
``register``), ``gallery`` and ``plots``.
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
    # the one colour-scale top of the gallery's heatmaps (absent: each map had its own scale)
    gallery_heatmap_scale: float | None = optional()

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
class ResolutionResult:
    """One working size of ``benchmarks/resolution_study.py``, scored on the val split and,
    where the study had one, on an independent reference set; ``*_ci`` is {metric: [low, high]}."""

    image_height: int
    image_width: int
    parameters: int
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    train_seconds_per_epoch: float
    inference_ms_per_image: float
    val_auroc: float
    val_aupr: float
    val_ci: dict[str, list[float]]
    roi_kind: str
    # the independent reference set's figures (absent when the study ran without one)
    reference_auroc: float | None = optional()
    reference_ci: dict[str, list[float]] | None = optional()
    reference_per_type_auroc: dict[str, float] | None = optional()
    # the encoder at this size (absent in studies from before it could deepen it)
    widths: list[int] | None = optional()
    skip_levels: list[int] | None = optional()
    # several training seeds (absent in single-seed studies): the AUROCs above are seed means
    # and the timings means; the reference set's paired difference to the fallback size
    seeds: list[int] | None = optional()
    best_epochs: list[int] | None = optional()
    val_per_seed: list[float] | None = optional()
    reference_per_seed: list[float] | None = optional()
    reference_difference: float | None = optional()
    reference_diff_ci: list[float] | None = optional()
    # one raw frame at a time through alignment, reconstruction and score (milliseconds)
    single_frame_p50_ms: float | None = optional()
    single_frame_p95_ms: float | None = optional()

    def size(self) -> list[int]:
        """``[height, width]``, as ``working_resolution`` records it."""
        return [self.image_height, self.image_width]


@dataclass(frozen=True)
class SizeSelection:
    """The designs compared by ``pipeline.evaluation.selection``'s rule on the reference set,
    named ``32x384`` (a size) or ``32x384+64x768 max`` (a two-scale design): ``fallback`` is the
    working size of params.yaml when the study ran, ``choice`` the design the rule picks and
    ``reason`` why, in words."""

    rule: str
    fallback: str
    choice: str
    reason: str


@dataclass(frozen=True)
class TwoScaleResult:
    """A two-scale design of ``benchmarks/resolution_study.py``: the image scores of two sizes'
    runs (same seeds), each standardised on its normal val images and fused by ``fusion``,
    scored on the reference set; ``reference_diff_ci`` pairs it with the fallback size."""

    design: str
    sizes: list[list[int]]
    fusion: str
    normalisation: str
    seeds: list[int]
    reference_auroc: float
    reference_ci: dict[str, list[float]]
    reference_per_seed: list[float]
    reference_per_type_auroc: dict[str, float]
    single_frame_p50_ms_sum: float
    reference_difference: float
    reference_diff_ci: list[float]


@dataclass(frozen=True)
class ResolutionStudy:
    """``benchmarks/resolution_study.py``'s JSON: why the model runs at its working size.

    ``provenance.params`` holds the study's settings (``sizes``, ``epochs_cap``, ``train``).
    """

    description: str
    detector: str
    score: str
    split: str
    results: list[ResolutionResult]
    provenance: Provenance
    selection: SizeSelection | None = optional()
    two_scale: list[TwoScaleResult] | None = optional()

    def seeds(self) -> list[int] | None:
        """The training seeds every size ran with (None in single-seed studies)."""
        return self.results[0].seeds if self.results else None

    def epochs_cap(self) -> Any:
        """The most epochs each size trained for (None when the settings lack it)."""
        return self.provenance.params.get("epochs_cap")


@dataclass(frozen=True)
class CeilingReference:
    """The labelled reference set the supervised ceiling was trained on."""

    synth_seed: int
    normal_events: int
    defect_events: int
    images: int
    defective_images: int


@dataclass(frozen=True)
class CeilingEpoch:
    """One training epoch of the supervised ceiling, judged on its holdout events."""

    epoch: int
    loss: float
    holdout_auroc: float
    seconds: float


@dataclass(frozen=True)
class CeilingTest:
    """The supervised ceiling on the test split (``auroc_ci`` is [low, high])."""

    n_normal: int
    n_defective: int
    auroc: float
    auroc_ci: list[float]
    aupr: float
    per_type_auroc: dict[str, float]


@dataclass(frozen=True)
class CeilingThreshold:
    """The ceiling's decision threshold, fixed on independent normal capture events."""

    value: float
    target: float
    n_events: int
    n_rejected: int
    rate: float


@dataclass(frozen=True)
class CeilingRequirement:
    """One protocol requirement judged on the ceiling's challenge decisions (sizes in ``unit``;
    ``a90_95`` None: not demonstrated)."""

    id: str
    defect_type: str
    form: str | None
    unit: str
    required_a90_95: float
    method: str
    a50: float | None
    a90: float | None
    a90_95: float | None
    passed: bool
    note: str


@dataclass(frozen=True)
class CeilingChallenge:
    """The ceiling's capability on the challenge set (``false_reject`` as assess_capability's)."""

    false_reject: dict[str, Any]
    requirements: list[CeilingRequirement]


@dataclass(frozen=True)
class CeilingRun:
    """One seed at one working size (``challenge`` None when no challenge set was given)."""

    threshold: CeilingThreshold
    test: CeilingTest
    challenge: CeilingChallenge | None
    seed: int
    chosen_epoch: int
    history: list[CeilingEpoch]
    train_seconds: float
    session_seconds: float


@dataclass(frozen=True)
class Spread:
    """A figure over seeds: mean, sd, min, max of the defined values (None when none was)."""

    mean: float | None
    sd: float | None
    min: float | None
    max: float | None
    n_undefined: int


@dataclass(frozen=True)
class RequirementSpread(Spread):
    """A requirement's a90/95 over seeds, with the required size and how many seeds met it."""

    required: float
    unit: str
    n_passed: int


@dataclass(frozen=True)
class CeilingSummary:
    """One working size over its seeds (``a90_95`` keyed by requirement id)."""

    n_seeds: int
    test_auroc: Spread
    per_type_auroc: dict[str, Spread]
    a90_95: dict[str, RequirementSpread]


@dataclass(frozen=True)
class CeilingSize:
    """The ceiling at one working size: the network's size and every seed's run."""

    working_size: list[int]
    pending_seeds: list[int]  # seeds asked for but not yet finished (a study run in pieces)
    frame: str  # what the network saw: the stored frames, or the aligned, resampled band
    stem_levels: int
    parameters: int
    runs: list[CeilingRun]
    summary: CeilingSummary


@dataclass(frozen=True)
class InlineFigures:
    """The inline detector scored as ``evaluate`` scores it, on the same test split."""

    detector: str
    score: str
    working_size: list[int]
    checkpoint_sha256: str
    auroc: float
    auroc_ci: list[float]
    per_type_auroc: dict[str, float]


@dataclass(frozen=True)
class CeilingStudy:
    """``benchmarks/detectability_ceiling.py``'s JSON: the ceiling per working size and seed.
    ``alignment``, ``threshold_set`` and ``schedule`` are verbatim; ``inline_detector`` is
    null when no trained inline checkpoint was found, ``challenge`` when no challenge set was."""

    what: str
    alignment: dict[str, Any]
    reference: CeilingReference
    threshold_set: dict[str, Any]
    challenge: str | None
    schedule: dict[str, Any]
    sizes: list[CeilingSize]
    inline_detector: InlineFigures | None
    provenance: Provenance

    def at_size(self, size: list[int]) -> CeilingSize | None:
        """The ceiling measured at working size ``size`` (None when not measured there)."""
        return next((s for s in self.sizes if list(s.working_size) == list(size)), None)


@dataclass(frozen=True)
class Evaluation:
    """``evaluate/evaluation.json``."""

    modes: Modes
    ablation: list[dict[str, Any]]
    baselines: list[dict[str, Any]]
    baselines_skipped: list[Any]
    paper_reference: dict[str, Any]
    resolution_study: ResolutionStudy | None
    detectability_ceiling: CeilingStudy | None
    torch_numerics: dict[str, Any]
    provenance: Provenance
    # benchmarks/inline_latency.py's JSON, verbatim (absent when evaluate ran without it)
    inline_latency: dict[str, Any] | None = optional()


@dataclass(frozen=True)
class Metrics:
    """``evaluate/metrics.json`` (for ``dvc metrics show``): headline per mode, or null."""

    inline: dict[str, float] | None
    monitoring: dict[str, float] | None


def operating_threshold(thresholds: list[T], wanted: str) -> T:
    """The threshold whose id is ``wanted``: the one a mode (or the monitor) decides with."""
    for threshold in thresholds:
        if threshold.threshold_id == wanted:
            return threshold
    raise EvidenceError(
        f"operating threshold {wanted!r} is not among the fitted thresholds "
        f"{[t.threshold_id for t in thresholds]}; rerun `dvc repro calibrate evaluate`"
    )
