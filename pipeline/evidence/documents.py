"""Evidence documents of the data and training stages, and the registration record.

One frozen dataclass per JSON document (the contract of docs/architecture.md, "Evidence
contracts"); ``pipeline.evidence.convert.from_dict`` builds them strictly. Fields typed
``dict[str, Any]`` or ``list[dict[str, Any]]`` are carried verbatim (the docstrings say which):
their keys are not part of the contract that ``registry/`` and ``dossier/`` read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.evidence.convert import optional


@dataclass(frozen=True)
class Provenance:
    """``pipeline.provenance.stage_provenance``: where a document came from.

    ``params`` (the stage's params section) and ``package_versions`` are verbatim.
    """

    stage: str
    git_commit: str
    git_dirty: bool | None
    data_md5: str | None
    params: dict[str, Any]
    package_versions: dict[str, str]
    seed: int | None


@dataclass(frozen=True)
class SplitFacts:
    """One split of ``split_summary.json``."""

    images: int
    capture_events: int
    normal: int
    defective: int
    defect_types: dict[str, int]
    capture_dates: dict[str, int]


@dataclass(frozen=True)
class SplitSummary:
    """``prepare/split_summary.json`` (``official_revision`` only under ``official``)."""

    splits: dict[str, SplitFacts]
    strategy: str
    seed: int
    unassigned_images: int
    provenance: Provenance
    official_revision: str | None = optional()


@dataclass(frozen=True)
class Expectation:
    """One GX expectation's outcome; ``observed``, ``kwargs`` are verbatim."""

    id: str
    requirement_id: str
    suite: str
    expectation_type: str
    severity: str
    success: bool
    observed: Any
    failing_examples: list[str]
    fix: str
    kwargs: dict[str, Any]
    description: str
    ai_act: Any


@dataclass(frozen=True)
class Suite:
    """A GX suite file the data was validated against."""

    name: str
    path: str
    sha256: str
    table: str
    expectations: int


@dataclass(frozen=True)
class Governance:
    """``validate_data/governance.json``.

    Verbatim: ``confounding`` (leakage counts, Cramér's V tables), ``requirements`` and
    ``composition`` rows, ``parameters`` (the checks' limits), ``dataset`` (data/dataset.json
    plus the splits it was checked with), ``bound_deviations`` (limits in force looser than
    ``validation/governance_bounds.yaml``).
    """

    success: bool
    critical_failures: int
    warnings: int
    report_only: bool
    suites: list[Suite]
    expectations: list[Expectation]
    requirements: list[dict[str, Any]]
    composition: list[dict[str, Any]]
    confounding: dict[str, Any]
    parameters: dict[str, Any]
    dataset: dict[str, Any]
    reviewed_files: list[Any]
    bound_deviations: list[dict[str, Any]]
    provenance: Provenance


@dataclass(frozen=True)
class TrainedModel:
    """One autoencoder's entry in ``train_summary.json``; ``roi_parameters`` is verbatim."""

    parameters: int
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    seed: int
    image_height: int
    image_width: int
    loss: str
    roi_kind: str
    roi_parameters: dict[str, Any]
    roi_coverage: float
    torch_version: str


@dataclass(frozen=True)
class TrainSummary:
    """``train/train_summary.json``; ``torch_numerics`` is verbatim."""

    models: dict[str, TrainedModel]
    n_train: int
    n_val_normal: int
    device: str
    torch_threads: int
    torch_numerics: dict[str, Any]
    provenance: Provenance


@dataclass(frozen=True)
class MonitorSummary:
    """``fit_monitor/monitor_summary.json``.

    Verbatim: ``ablation`` rows, ``chart`` and ``chart_in_control_resampled`` (SPC settings
    and their in-control run lengths), ``reference`` (score distribution and chart limits),
    ``val`` figures (at mean + ``ablation.k`` sd, no decision threshold: see calibration.json),
    ``contribution_examples``, ``plots``, ``torch_numerics``.
    """

    architecture: str
    detector: str
    checkpoint: dict[str, str]
    layer: str
    n_features_kept: int
    n_features_total: int
    feature_shape: list[int]
    covariance: str
    ridge: float
    ablation: list[dict[str, Any]]
    reference: dict[str, Any]
    chart: dict[str, Any]
    chart_in_control_resampled: dict[str, Any]
    val: dict[str, Any]
    n_train: int
    n_val_normal: int
    n_val_defective: int
    image_height: int
    image_width: int
    torch_threads: int
    torch_numerics: dict[str, Any]
    monitor_sha256: str
    plots: dict[str, str]
    contribution_examples: list[Any]
    provenance: Provenance


@dataclass(frozen=True)
class RegisteredModel:
    """One mode's model version in ``registration.json``."""

    model_name: str
    version: int
    run_id: str
    lineage_key: str
    created: bool


@dataclass(frozen=True)
class Registration:
    """``register/registration.json``: a mode is absent when evaluate did not run it;
    ``provenance`` is absent in the record the dossier rebuilds for a registered version."""

    provenance: Provenance | None = optional()
    inline: RegisteredModel | None = optional()
    monitoring: RegisteredModel | None = optional()

    def of(self, mode: str) -> RegisteredModel | None:
        """The mode's registered version (None when it was not registered)."""
        return {"inline": self.inline, "monitoring": self.monitoring}[mode]
