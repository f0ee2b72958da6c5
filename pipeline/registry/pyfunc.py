"""Both detection modes as MLflow pyfunc models: images in, score and decision out.

Input: a DataFrame with a column ``image`` (PNG bytes; base64 text over REST, which MLflow
decodes for a ``binary`` column; an (H, W) array also works in Python) or ``image_path``: a
file the model reads where it runs, only under the folder named by ``SEALAUDIT_IMAGE_ROOT``
(unset: paths are refused), with one neutral error for a missing file and a path outside it,
so a request cannot probe the server's files.
``images_frame`` builds one from arrays. Images are 8-bit grayscale, like the dataset.

Output: one row per image with ``score``, ``decision`` (``PASS`` | ``REJECT``; REJECT when
``score > threshold``), ``threshold_id`` and ``threshold``; with ``params={"return_heatmap":
True}`` the inline model adds ``heatmap`` (PNG bytes, 8-bit, 255 = anomaly 1.0 or more) in the
frame of the image sent: the working-frame map (band straightened, ``Scored.heatmaps``) is
resampled back through the band geometry of that image (``backmapping.map_to_source``), so a
defect's blob sits where the defect is; pixels outside the model's view are 0.

What travels inside a model (its artifacts): the autoencoder checkpoint (weights, architecture,
working resolution, ROI mask, preprocessing), ``threshold.json`` (the operating
``Threshold``), ``settings.json`` (how the score is computed) and, for the monitoring mode, the
fitted monitor. Scoring runs the stages' own detector (``pipeline.detector``), imported lazily
so that importing this module stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

log = logging.getLogger(__name__)

PASS, REJECT = "PASS", "REJECT"
INPUT_COLUMNS = ("image_path", "image")
IMAGE_ROOT_ENV = "SEALAUDIT_IMAGE_ROOT"
OUTPUT_COLUMNS = ("score", "decision", "threshold_id", "threshold")
BATCH = 16


class ImageInputError(ValueError):
    """A request's image cannot be read (MLflow answers it with HTTP 400)."""


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) image: uint8 as is, floats in [0, 1] scaled to 8 bits."""
    from PIL import Image

    array = np.asarray(image)
    if array.ndim != 2:
        raise ImageInputError(f"expected a single-channel (H, W) image, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def images_frame(images: Sequence[np.ndarray | str | Path]) -> pd.DataFrame:
    """Model input from arrays (encoded as PNG) or file paths (kept as paths)."""
    if all(isinstance(item, str | Path) for item in images):
        return pd.DataFrame({"image_path": [str(item) for item in images]})
    return pd.DataFrame({"image": [encode_png(np.asarray(item)) for item in images]})


def _decode(value: Any, row: int) -> np.ndarray:
    """One ``image`` cell (PNG bytes, base64 text or an array) as float32 (H, W) in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(value, np.ndarray) and value.ndim == 2:
        return _gray(value)
    if isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=False)
        except (binascii.Error, ValueError) as error:
            raise ImageInputError(f"row {row}: 'image' is not base64 PNG ({error})") from error
    if not isinstance(value, bytes | bytearray):
        raise ImageInputError(f"row {row}: 'image' must be PNG bytes, got {type(value).__name__}")
    try:
        with Image.open(io.BytesIO(value)) as image:
            image.load()
            if image.mode != "L":
                raise ImageInputError(f"row {row}: mode {image.mode}; send 8-bit grayscale")
            return np.asarray(image, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise ImageInputError(f"row {row}: cannot decode the image ({error})") from error


def _gray(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    return np.clip(array.astype(np.float32), 0.0, 1.0)


def allowed_image_file(path: str, row: int) -> Path:
    """``path`` resolved under ``$SEALAUDIT_IMAGE_ROOT`` (a relative path starts there).

    Raises:
        ImageInputError: the variable is unset, or the file is missing or outside the root;
            the same words for both, so the answer does not tell which files exist.
    """
    root = os.environ.get(IMAGE_ROOT_ENV, "")
    if not root:
        raise ImageInputError(
            f"row {row}: 'image_path' is not read by this server; send the PNG bytes in "
            f"'image', or set {IMAGE_ROOT_ENV} to a folder of images where the model runs"
        )
    base = Path(root).resolve()
    resolved = (base / path).resolve()
    if not (resolved.is_relative_to(base) and resolved.is_file()):
        raise ImageInputError(
            f"row {row}: 'image_path' is not a file under {IMAGE_ROOT_ENV}; send the PNG "
            "bytes in 'image' or a path inside that folder"
        )
    return resolved


def read_images(frame: pd.DataFrame) -> list[np.ndarray]:
    """The images of a request, each float32 (H, W) in [0, 1]."""
    from pipeline.data.images import load_gray

    images = []
    for row, record in enumerate(frame.to_dict(orient="records")):
        path, data = record.get("image_path"), record.get("image")
        if isinstance(path, str) and path:
            try:
                images.append(load_gray(allowed_image_file(path, row)))
            except ValueError as error:  # DatasetError names the file and the fix
                raise ImageInputError(f"row {row}: {error}") from error
        elif data is not None and not (isinstance(data, float) and np.isnan(data)):
            images.append(_decode(data, row))
        else:
            raise ImageInputError(f"row {row}: give 'image_path' or 'image' (PNG)")
    return images


class SealModel(PythonModel):
    """A packaged detector: the same ``pipeline.detector.Detector`` the stages measured, built
    from the model's artifacts (``packaged_detector``), so it computes exactly the scores and
    decisions its evidence reports."""

    mode = "abstract"

    def load_context(self, context: Any) -> None:
        """Build the detector from the checkpoint, settings, threshold (and monitor)."""
        from pipeline.detector import packaged_detector

        self.detector = packaged_detector(dict(context.artifacts), BATCH)
        if self.detector.mode != self.mode:
            raise ValueError(
                f"settings.json describes a {self.detector.mode} detector, not {self.mode}"
            )
        self.threshold = self.detector.threshold

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score every image and decide PASS / REJECT at the packaged threshold."""
        del context  # artifacts were read once in load_context
        want_heatmap = bool((params or {}).get("return_heatmap", False)) and self.mode == "inline"
        raw = read_images(pd.DataFrame(model_input))
        images, geometries = self.working_images(raw)
        detection = self.detector.score(images, with_maps=want_heatmap)
        result = pd.DataFrame(
            {
                "score": detection.scores,
                "decision": np.where(detection.decisions, REJECT, PASS),
                "threshold_id": self.threshold.threshold_id,
                "threshold": float(self.threshold.value),
            }
        )
        if want_heatmap and detection.maps is not None:
            maps = self.source_heatmaps(detection.maps, raw, geometries)
            result["heatmap"] = [encode_png(np.clip(h, 0.0, 1.0)) for h in maps]
        return result

    def working_images(
        self, images: list[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """(N, H, W) float32 model input and each image's (2, W0) band geometry (None: a plain
        resize). Each image is prepared on its own, as the detector prepares it (the monitor
        may align with its own band scale), so images may differ in size."""
        prepared = [self.detector.working_with_geometry(image[None]) for image in images]
        work = np.stack([stack[0] for stack, _ in prepared])
        return work, [None if edges is None else edges[0] for _, edges in prepared]

    def source_heatmaps(
        self,
        heatmaps: np.ndarray,
        images: list[np.ndarray],
        geometries: list[np.ndarray | None],
    ) -> list[np.ndarray]:
        """(N, H, W) working-frame heatmaps -> one (H0, W0) map per image, in its own frame."""
        from pipeline.models.backmapping import map_to_source

        return [
            map_to_source(heatmap, edges, self.detector.alignment, image.shape)
            for heatmap, image, edges in zip(heatmaps, images, geometries, strict=True)
        ]


class InlineModel(SealModel):
    """Inline mode: autoencoder reconstruction scored by the four-component MS-SSIM (with the
    cross-seal path map and its packaged calibration under ``four_ms_ssim_path``) over the ROI."""

    mode = "inline"


class MonitoringModel(SealModel):
    """Monitoring mode: Mahalanobis distance of randomly kept encoder features."""

    mode = "monitoring"


MODEL_CLASSES: dict[str, type[SealModel]] = {"inline": InlineModel, "monitoring": MonitoringModel}
