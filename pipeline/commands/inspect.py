"""``sealaudit inspect IMAGES... --model URI``: per-image score, threshold, PASS/REJECT, heatmap.

The model is a packaged MLflow model (``models:/sealaudit-inline@champion``, ``runs:/...`` or a
model folder), so the threshold, ROI and preprocessing are exactly those that were validated.
MLflow restores a packaged model with CloudPickle, which runs code from the model folder: a
local folder is loaded only with ``--trust-local-model`` (registered versions need no flag).
An unreadable image is reported on its own line and the batch goes on; the exit code is 2 when
any image could not be inspected.

Heatmaps come back in the frame of the image as captured (the model maps its band-aligned
working frame back, ``backmapping.map_to_source``), so an operator finds the blob on the defect
in their own picture; the overlay draws it there.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "models:/sealaudit-inline@champion"
HEATMAPS_HELP = (
    "folder for two PNGs per image, both the size of the image as captured (its raw frame, "
    "not the model's aligned working frame): STEM_heatmap.png, 8-bit grey, 255 = anomaly 1.0 "
    "or more, 0 outside what the model sees; STEM_overlay.png, the image in grey with the "
    "anomaly in red, scaled to the model's threshold T: no tint below T/2 (where a normal "
    "image's noise lies), opacity 0.7 x ((heat - T/2) / (T/2))^2 between, full red at T and "
    "above, so a passing image shows at most a pale tint and red means 'over the threshold'"
)
TRUSTED_SCHEMES = ("models:/", "runs:/")  # this project's own registry and tracking store
TRUST_HELP = (
    "load --model from a local folder or another URI: MLflow restores a packaged model with "
    "CloudPickle, which runs code stored in the folder, so only pass this for a folder you "
    "built yourself (registered versions, models:/ and runs:/, need no flag)"
)
OVERLAY_RED = (1.0, 0.0, 0.0)
OVERLAY_OPACITY = 0.7  # the strongest anomaly still lets the seal texture show through
# Heat below this fraction of the threshold gets no tint: measured on the embedded dataset's
# normal val images (demo attention_ae), half the band's pixels lie under 0.2 T and nine in ten
# under 0.6 T, so a scale starting at zero painted the whole band of a clean image red.
OVERLAY_FLOOR = 0.5


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` command."""
    parser = commands.add_parser(
        "inspect",
        help="score images with a registered model",
        description="Score images with a packaged model: score, threshold, PASS/REJECT; with "
        "--heatmaps also where the anomaly is, drawn on each image as captured.",
    )
    parser.add_argument("images", nargs="+", type=Path, help="8-bit grayscale PNG/BMP files")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"MLflow model URI ({DEFAULT_MODEL})"
    )
    parser.add_argument("--heatmaps", type=Path, default=None, metavar="DIR", help=HEATMAPS_HELP)
    parser.add_argument("--trust-local-model", action="store_true", help=TRUST_HELP)
    parser.set_defaults(handler=_inspect)


def _load(uri: str) -> Any:
    import mlflow

    from pipeline.errors import SealauditError
    from pipeline.registry.resolve import registry_hint
    from pipeline.registry.tracking import connect

    client, _ = connect()

    try:
        return mlflow.pyfunc.load_model(uri)
    except Exception as error:  # MLflow raises several types for a missing model
        try:
            hint = registry_hint(client, uri)
        except Exception:  # the registry cannot be asked either: keep MLflow's own error
            hint = None
        if hint is not None:
            raise SealauditError(hint) from error
        raise SealauditError(
            f"{uri}: cannot load model ({error}); pass --model models:/<name>/<version> "
            "(a registered version) or a model folder"
        ) from error


def require_trusted(uri: str, trusted: bool) -> None:
    """Refuse a model outside the registry unless the user vouches for it.

    Raises:
        SealauditError: ``uri`` is a local folder (or foreign URI) and ``trusted`` is False.
    """
    from pipeline.errors import SealauditError

    if trusted or uri.startswith(TRUSTED_SCHEMES):
        return
    raise SealauditError(
        f"--model {uri}: not a registered model; loading a model folder runs the code pickled "
        "inside it (MLflow CloudPickle), so sealaudit loads only models:/ and runs:/ URIs "
        "unless you pass --trust-local-model for a folder you built yourself"
    )


def _inspect(args: argparse.Namespace) -> int:
    import pandas as pd

    require_trusted(args.model, args.trust_local_model)
    model = _load(args.model)
    want_heatmap = args.heatmaps is not None
    if args.heatmaps is not None:
        args.heatmaps.mkdir(parents=True, exist_ok=True)
    failures = 0
    print("image\tscore\tthreshold\tdecision\tthreshold_id")
    for path in args.images:
        try:
            frame = pd.DataFrame({"image": [_image_bytes(path)]})
            row = model.predict(frame, params={"return_heatmap": want_heatmap}).iloc[0]
        except Exception as error:  # one bad image never stops the batch
            failures += 1
            print(f"sealaudit: error: {path}: {error}", file=sys.stderr)
            continue
        print(
            f"{path}\t{row['score']:.6f}\t{row['threshold']:.6f}\t{row['decision']}\t"
            f"{row['threshold_id']}"
        )
        if want_heatmap and "heatmap" in row:
            _write_heatmaps(path, row["heatmap"], float(row["threshold"]), args.heatmaps)
    return 2 if failures else 0


def _image_bytes(path: Path) -> bytes:
    """The file's bytes, sent to the model as ``image`` (a served model reads no local paths)."""
    from pipeline.data.images import missing_file_hint
    from pipeline.errors import SealauditError

    if not path.is_file():
        raise SealauditError(f"{path}: image file not found; {missing_file_hint(path)}")
    return path.read_bytes()


def _write_heatmaps(image_path: Path, value: Any, threshold: float, folder: Path) -> None:
    """``<stem>_heatmap.png`` as the model sent it and ``<stem>_overlay.png`` on the image."""
    import numpy as np
    from PIL import Image

    from pipeline.data.images import load_gray

    data = value if isinstance(value, bytes) else base64.b64decode(value)
    (folder / f"{image_path.stem}_heatmap.png").write_bytes(data)
    with Image.open(io.BytesIO(data)) as png:
        heatmap = np.asarray(png, dtype=np.float32) / 255.0
    image = load_gray(image_path)
    if heatmap.shape != image.shape:
        # A model registered before heatmaps were mapped back still answers in its own frame.
        log.warning(
            "%s: heatmap %s is not in the image's frame %s (a model packaged before raw-frame "
            "heatmaps); overlay skipped",
            image_path,
            heatmap.shape,
            image.shape,
        )
        return
    overlay = heatmap_overlay(image, heatmap, threshold)
    Image.fromarray(overlay, mode="RGB").save(folder / f"{image_path.stem}_overlay.png")


def overlay_opacity(heatmap: np.ndarray, threshold: float) -> np.ndarray:
    """Per-pixel red opacity: 0 below ``OVERLAY_FLOOR`` x threshold, ``OVERLAY_OPACITY`` at
    the threshold and above, a quadratic ramp between (so heat just over the floor stays pale).

    Args:
        heatmap: (H, W) anomaly, on the scale of the score (max pooling scores the smoothed
            peak of this map, so the threshold is on its scale).
        threshold: the model's decision threshold (> 0).

    Returns:
        (H, W) float in [0, OVERLAY_OPACITY].
    """
    import numpy as np

    if not threshold > 0:
        raise ValueError(f"threshold {threshold} must be > 0 to scale the overlay")
    floor = OVERLAY_FLOOR * threshold
    ramp = np.clip((np.asarray(heatmap, dtype=np.float64) - floor) / (threshold - floor), 0, 1)
    return OVERLAY_OPACITY * ramp**2


def heatmap_overlay(image: np.ndarray, heatmap: np.ndarray, threshold: float) -> np.ndarray:
    """The image in grey with its heatmap in red on top, coloured by ``overlay_opacity``.

    The colour scale is the threshold's, the same for every image: a rejected image's blob
    is full red wherever its heat reaches the threshold, and a clean image's noise (mostly
    under half the threshold) stays grey or pale instead of being stretched to its own peak.

    Args:
        image: (H, W) float in [0, 1], the image as captured.
        heatmap: (H, W) anomaly in the same frame.
        threshold: the model's decision threshold (> 0).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    import numpy as np

    if image.shape != heatmap.shape:
        raise ValueError(f"image {image.shape} and heatmap {heatmap.shape} differ in shape")
    opacity = overlay_opacity(heatmap, threshold)[..., None]
    grey = np.repeat(np.clip(image, 0.0, 1.0)[..., None], 3, axis=-1)
    rgb = grey * (1.0 - opacity) + np.asarray(OVERLAY_RED) * opacity
    return np.rint(rgb * 255.0).astype(np.uint8)
