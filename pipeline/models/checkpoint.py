"""One ``.pt`` file per trained autoencoder: weights, architecture, ROI and preprocessing.

Scoring and monitoring load a model with ``load_autoencoder`` and must prepare images with
``preprocess_images(images, meta)`` and restrict scores with ``meta.roi.mask``, so they see
exactly what training saw. Files are read with ``torch.load(weights_only=True)``: a checkpoint
holds tensors and plain values only, never pickled code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.errors import SealauditError
from pipeline.models.alignment import Alignment, align_images, prepare_images, prepare_masks
from pipeline.models.autoencoder import AttentionAutoencoder, AutoencoderConfig, build_model
from pipeline.models.roi import Roi

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "sealaudit-autoencoder/1"
PREPROCESSING = {
    "input": "8-bit grayscale divided by 255 -> float32 in [0, 1]",
    "resize": "torch.nn.functional.interpolate bilinear, antialias=True, align_corners=False",
}


class CheckpointError(SealauditError):
    """A checkpoint file is missing or not a sealaudit autoencoder."""


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint records besides the weights.

    Attributes:
        architecture: ``attention_ae``, ``plain_ae`` or ``skip_ae``.
        config: the architecture, including the working resolution.
        roi: the region of interest (kind, parameters, (H, W) bool mask) used in training.
        preprocessing: how raw images were turned into model input.
        alignment: the band alignment applied before the model (``none`` for old checkpoints).
        extra: JSON-able facts (seed, torch version, training summary, params).
    """

    architecture: str
    config: AutoencoderConfig
    roi: Roi
    preprocessing: dict[str, str] = field(default_factory=lambda: dict(PREPROCESSING))
    alignment: Alignment = field(default_factory=Alignment)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def image_height(self) -> int:
        """Working rows H."""
        return self.config.image_height

    @property
    def image_width(self) -> int:
        """Working columns W."""
        return self.config.image_width


def preprocess_images(images: np.ndarray, meta: CheckpointMeta) -> np.ndarray:
    """(N, H0, W0) images in [0, 1] -> (N, H, W) model input: aligned as in training."""
    return prepare_images(images, meta.alignment, meta.image_height, meta.image_width)


def preprocess_with_geometry(
    images: np.ndarray, meta: CheckpointMeta
) -> tuple[np.ndarray, np.ndarray | None]:
    """``preprocess_images`` and its (N, 2, W0) band geometry (None: a plain resize), which
    ``backmapping.map_to_source`` takes to bring a heatmap back to the raw frame."""
    return align_images(images, meta.alignment, meta.image_height, meta.image_width)


def preprocess_masks(images: np.ndarray, masks: np.ndarray, meta: CheckpointMeta) -> np.ndarray:
    """(N, H0, W0) ground-truth masks -> (N, H, W) bool in the model input's frame."""
    return prepare_masks(images, masks, meta.alignment, meta.image_height, meta.image_width)


def save_autoencoder(
    path: Path,
    model: AttentionAutoencoder,
    architecture: str,
    roi: Roi,
    extra: dict[str, Any] | None = None,
    alignment: Alignment | None = None,
) -> None:
    """Write model + architecture + ROI + preprocessing to ``path`` (replaced atomically)."""
    if roi.mask.shape != (model.config.image_height, model.config.image_width):
        raise ValueError(f"ROI mask {roi.mask.shape} does not match the model's input size")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "architecture": architecture,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "roi": {
            "kind": roi.kind,
            "parameters": _plain(roi.parameters),
            "mask": torch.from_numpy(np.asarray(roi.mask, dtype=bool).copy()),
        },
        "preprocessing": dict(PREPROCESSING),
        "alignment": (alignment or Alignment()).to_dict(),
        "extra": _plain(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    torch.save(payload, partial)
    partial.replace(path)


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    # JSON round trip: only types that weights_only loading accepts, tuples as lists.
    return json.loads(json.dumps(value))


def load_autoencoder(
    path: Path, device: str | torch.device = "cpu"
) -> tuple[AttentionAutoencoder, CheckpointMeta]:
    """Rebuild a saved autoencoder, in eval mode, and its metadata.

    Raises:
        CheckpointError: the file is missing or not a sealaudit autoencoder checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; run `dvc repro train`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path}: unreadable checkpoint ({error}); retrain") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint; retrain")
    config = AutoencoderConfig.from_dict(payload["config"])
    model = build_model(payload["architecture"], config, seed=0)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    raw_roi = payload["roi"]
    roi = Roi(raw_roi["kind"], raw_roi["parameters"], raw_roi["mask"].numpy().astype(bool))
    meta = CheckpointMeta(
        payload["architecture"],
        config,
        roi,
        payload["preprocessing"],
        Alignment.from_dict(payload.get("alignment")),
        payload["extra"],
    )
    return model, meta
