"""The fitted monitor (``monitor.npz``): everything ``sealaudit monitor`` needs to judge a batch.

``FittedMonitor`` bundles the RFD-MD estimator with the encoder layer it reads, the identity
of the autoencoder checkpoint whose features it was fitted on, the reference distribution of
``val`` normal scores, the process-control rules and the decision threshold. ``fit_monitor``
writes it without a threshold; the ``calibrate`` stage adds the operating one
(``with_thresholds``) and writes ``artifacts/calibrate/monitor.npz``, the file that decides. It
exposes ``mahalanobis(X)`` and ``contribution_map(X, shape)`` itself, so code that expects the
bare estimator (the registry's packaged model) can use the bundle unchanged.

The file is data, not a pickle (``pipeline.datafile``): JSON for the settings, the reference and
the thresholds, ``.npy`` arrays for the estimator's fitted state, so reading a monitor someone
handed over runs no code. ``resolve_reference`` reads a local file; a registered monitor
(``models:/...``) is resolved by ``pipeline.registry.resolve``, which checks its sha256 first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline import __version__
from pipeline.datafile import DataFileError, read_data_file, write_data_file
from pipeline.errors import SealauditError
from pipeline.models.mahalanobis import RandomFeatureMahalanobis
from pipeline.models.thresholds import Threshold
from pipeline.monitoring.spc import ReferenceDistribution
from pipeline.provenance import sha256_file

log = logging.getLogger(__name__)

MONITOR_FORMAT = "sealaudit-monitor/2"  # /1 was a pickle, refused since
SCORE_NAME = "rfd_mahalanobis"


class MonitorError(SealauditError):
    """A monitor file is missing, unreadable or does not match its checkpoint."""


def transform_scores(scores: ArrayLike, transform: str) -> NDArray[np.float64]:
    """Scores in chart units: natural ``log`` or unchanged (``none``)."""
    values = np.asarray(scores, dtype=np.float64)
    if transform == "log":
        # a distance of exactly 0 would be the training mean itself: floor it
        return np.log(np.maximum(values, 1e-12))
    if transform != "none":
        raise MonitorError(f"chart transform {transform!r} unknown; use 'log' or 'none'")
    return values


@dataclass(frozen=True)
class FittedMonitor:
    """A fitted monitoring-mode model and the evidence it is judged against.

    Attributes:
        estimator: fitted ``RandomFeatureMahalanobis``.
        layer: encoder layer whose flattened features it models (``enc1`` ...).
        feature_shape: (C, h, w) of one image's feature map at that layer.
        checkpoint_path: the autoencoder checkpoint as the stage was given it.
        checkpoint_sha256: hex sha256 of that file; scoring refuses any other checkpoint.
        architecture: the checkpoint's architecture name (``attention_ae`` ...).
        reference: ``val`` normal scores' distribution (centre, spread, sorted sample).
        chart: process-control settings (``ChartParams`` as a plain dict).
        thresholds: thresholds fitted on ``val`` by ``calibrate``; the first is the operating
            one (empty in fit_monitor's file).
        reference_exceedance: share of reference scores above the operating threshold (None
            without a threshold).
        alignment: the checkpoint's band alignment (``Alignment.to_dict()``), applied to raw
            images before the encoder exactly as in training.
        created_by: package version that fitted it.
        format: file format tag.
        extra: JSON-able facts (fit sizes, params, the monitor summary's key figures).
    """

    estimator: RandomFeatureMahalanobis
    layer: str
    feature_shape: tuple[int, int, int]
    checkpoint_path: str
    checkpoint_sha256: str
    architecture: str
    reference: ReferenceDistribution
    chart: dict[str, Any]
    thresholds: tuple[Threshold, ...] = ()
    reference_exceedance: float | None = None
    alignment: dict[str, Any] = field(default_factory=lambda: {"kind": "none"})
    created_by: str = f"sealaudit {__version__}"
    format: str = MONITOR_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> Threshold:
        """The operating threshold (reject when ``score > threshold.value``).

        Raises:
            MonitorError: the monitor carries none (fit_monitor's file, not calibrate's).
        """
        if not self.thresholds:
            raise MonitorError(
                "this monitor carries no decision threshold (fit_monitor fits the estimator and "
                "chart reference only): use artifacts/calibrate/monitor.npz (`dvc repro calibrate`)"
            )
        return self.thresholds[0]

    def with_thresholds(self, thresholds: Sequence[Threshold]) -> FittedMonitor:
        """This monitor deciding with ``thresholds[0]``, and the share of its reference scores
        above that threshold (what the exceedance alarm expects of an in-control lot)."""
        if not thresholds:
            raise MonitorError("with_thresholds needs at least the operating threshold")
        above = np.asarray(self.reference.sorted_scores) > thresholds[0].value
        return replace(self, thresholds=tuple(thresholds), reference_exceedance=float(above.mean()))

    def mahalanobis(self, X: ArrayLike) -> NDArray[np.float64]:
        """(N,) monitoring scores of (N, C*h*w) flattened features (the estimator's)."""
        return self.estimator.mahalanobis(X)

    def chart_values(self, scores: ArrayLike) -> NDArray[np.float64]:
        """(N,) scores in chart units (``chart["transform"]``)."""
        return transform_scores(scores, self.chart.get("transform", "none"))

    def chart_reference(self) -> ReferenceDistribution:
        """The reference distribution in chart units (what EWMA and CUSUM standardise with)."""
        if self.chart.get("transform", "none") == "none":
            return self.reference
        return ReferenceDistribution.from_scores(self.chart_values(self.reference.sorted_scores))

    def contribution_map(
        self, X: ArrayLike, feature_shape: tuple[int, int, int] | None = None
    ) -> NDArray[np.float64]:
        """(N, h, w) contributions to the squared distance (see the estimator)."""
        return self.estimator.contribution_map(X, feature_shape or self.feature_shape)


def save_monitor(monitor: FittedMonitor, path: Path) -> str:
    """Write the monitor as data (``monitor.npz``, replaced atomically); returns its sha256."""
    values, arrays = monitor.estimator.fitted_state()
    meta = {
        "format": monitor.format,
        "estimator": values,
        "layer": monitor.layer,
        "feature_shape": list(monitor.feature_shape),
        "checkpoint_path": monitor.checkpoint_path,
        "checkpoint_sha256": monitor.checkpoint_sha256,
        "architecture": monitor.architecture,
        "reference": monitor.reference.to_dict(),
        "chart": monitor.chart,
        "thresholds": [threshold.to_dict() for threshold in monitor.thresholds],
        "reference_exceedance": monitor.reference_exceedance,
        "alignment": monitor.alignment,
        "created_by": monitor.created_by,
        "extra": monitor.extra,
    }
    return write_data_file(path, meta, arrays)


def load_monitor(path: Path) -> FittedMonitor:
    """Read a ``monitor.npz`` written by fit_monitor or calibrate; no code runs while reading.

    Raises:
        MonitorError: the file is missing, unreadable, a pickle, or not a sealaudit monitor.
    """
    path = Path(path)
    if not path.is_file():
        raise MonitorError(f"{path}: monitor file not found; run `dvc repro fit_monitor`")
    with path.open("rb") as handle:
        pickled = handle.read(1) == b"\x80"  # a pickle's protocol opcode
    if pickled:
        raise MonitorError(
            f"{path}: a pickled monitor (older sealaudit); pickles run code when read, so they are "
            "refused: rerun `dvc repro fit_monitor calibrate` and use calibrate's monitor.npz"
        )
    try:
        meta, arrays = read_data_file(path)
    except DataFileError as error:
        raise MonitorError(f"{error}; refit it with `dvc repro fit_monitor calibrate`") from error
    if meta.get("format") != MONITOR_FORMAT:
        raise MonitorError(
            f"{path}: format {meta.get('format')!r}, not {MONITOR_FORMAT}; "
            "refit with `dvc repro fit_monitor calibrate`"
        )
    try:
        return _monitor_from(meta, arrays)
    except (KeyError, TypeError, ValueError, SealauditError) as error:
        raise MonitorError(f"{path}: damaged monitor ({error}); refit it") from error


def _monitor_from(meta: dict[str, Any], arrays: dict[str, Any]) -> FittedMonitor:
    estimator = RandomFeatureMahalanobis.from_fitted_state(meta["estimator"], arrays)
    return FittedMonitor(
        estimator=estimator,
        layer=str(meta["layer"]),
        feature_shape=tuple(int(v) for v in meta["feature_shape"]),  # type: ignore[arg-type]
        checkpoint_path=str(meta["checkpoint_path"]),
        checkpoint_sha256=str(meta["checkpoint_sha256"]),
        architecture=str(meta["architecture"]),
        reference=ReferenceDistribution.from_dict(meta["reference"]),
        chart=dict(meta["chart"]),
        thresholds=tuple(Threshold.from_dict(item) for item in meta["thresholds"]),
        reference_exceedance=meta["reference_exceedance"],
        alignment=dict(meta["alignment"]),
        created_by=str(meta["created_by"]),
        format=str(meta["format"]),
        extra=dict(meta["extra"]),
    )


def check_checkpoint(monitor: FittedMonitor, checkpoint: Path) -> None:
    """Refuse a checkpoint other than the one the monitor was fitted on.

    Raises:
        MonitorError: the file is missing or its sha256 differs.
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise MonitorError(
            f"{checkpoint}: the monitor's autoencoder checkpoint is missing; pass --checkpoint"
        )
    actual = sha256_file(checkpoint)
    if actual != monitor.checkpoint_sha256:
        raise MonitorError(
            f"{checkpoint}: sha256 {actual[:12]} differs from the {monitor.checkpoint_sha256[:12]} "
            "the monitor was fitted on; refit fit_monitor or pass the original checkpoint"
        )


@dataclass(frozen=True)
class ResolvedReference:
    """A monitor with the checkpoint it needs and the version stamped on every history row."""

    monitor: FittedMonitor
    checkpoint: Path
    version: str
    source: str


def resolve_local(reference: str, checkpoint: Path | None = None) -> ResolvedReference:
    """A local ``monitor.npz``; its checkpoint is ``checkpoint`` or the recorded path.

    The version is ``local:<first 12 hex of the monitor file's sha256>``.
    """
    path = Path(reference)
    monitor = load_monitor(path)
    try:
        monitor.threshold  # noqa: B018 - fail before any image is scored
    except MonitorError as error:
        raise MonitorError(f"{path}: {error}") from error
    checkpoint = Path(checkpoint) if checkpoint is not None else Path(monitor.checkpoint_path)
    check_checkpoint(monitor, checkpoint)
    version = f"local:{sha256_file(path)[:12]}"
    return ResolvedReference(monitor, checkpoint, version, str(path))


def resolve_reference(reference: str, checkpoint: Path | None = None) -> ResolvedReference:
    """A monitor from a local ``monitor.npz`` path (a ``<scheme>:/...`` URI is refused).

    Raises:
        SealauditError: a URI was given, or the reference cannot be loaded.
    """
    scheme, sep, _ = reference.partition(":/")
    if sep and len(scheme) > 1:  # "C:/..." on Windows is a drive, not a scheme
        raise SealauditError(
            f"--reference {reference}: '{scheme}:/' URIs are not read here; "
            "pass the path of a monitor.npz"
        )
    return resolve_local(reference, checkpoint)
