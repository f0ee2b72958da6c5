"""Decoding SSI frames and masks: format, size, bit depth and colour checks, ROI crop, resize.

Each reader hashes the bytes it decodes, so the recorded hash is of exactly what was imported.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from pipeline.config.import_ssi import Params
from pipeline.data.images import strict_decoding
from pipeline.data.manifest import DatasetError

# A mask nonzero on most of the frame is almost surely inverted (defect drawn black on white).
MAX_MASK_SHARE = 0.5
# 8-bit palette (grey), 24-bit and 32-bit colour (8 bits a channel; equal channels only).
BMP_BITS_PER_PIXEL = (8, 24, 32)


def read_frame(path: Path, params: Params) -> tuple[np.ndarray, str]:
    """Decode one SSI frame as 8-bit grayscale and hash its bytes.

    Returns:
        The frame, uint8 (frame_height, frame_width), and the hex sha256 of the file.

    Raises:
        DatasetError: the file does not decode as BMP, has the wrong size, is colour, or
            has fewer than 8 bits per grey level (a 16-bit-per-pixel BMP: no conversion).
    """
    data = path.read_bytes()
    with _decode(data, path, "BMP") as image:
        _check_size(image, path, params, "frame")
        _check_bmp_depth(data, path)
        if image.mode == "L":
            pixels = np.asarray(image).copy()
        elif image.mode in ("P", "RGB"):
            rgb = np.asarray(image.convert("RGB"))
            if not ((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()):
                raise DatasetError(
                    f"{path}: colour frame (mode {image.mode}, channels differ); SSI frames "
                    "are 8-bit grayscale: restore the original from Zenodo 7834077"
                )
            pixels = rgb[..., 0].copy()
        else:
            raise DatasetError(
                f"{path}: image mode {image.mode}, expected 8-bit grayscale ('L'); restore "
                "the original from Zenodo 7834077"
            )
    return pixels, hashlib.sha256(data).hexdigest()


def read_mask(path: Path, params: Params) -> tuple[np.ndarray, np.ndarray, str]:
    """Decode a ``Notation/`` mask, crop and resize it like its frame, and hash its bytes.

    Foreground is any pixel with a nonzero colour value (alpha ignored), so 0/1, 0/255, palette
    and colour-coded masks all read the same way.

    Returns:
        The mask, bool (image_height, image_width); the full-resolution ROI crop of the mask,
        bool (roi_bottom - roi_top, roi_right - roi_left); and the hex sha256 of the file.

    Raises:
        DatasetError: the file does not decode as PNG, has the wrong size, or looks inverted.
    """
    data = path.read_bytes()
    with _decode(data, path, "PNG") as image:
        _check_size(image, path, params, "mask")
        array = np.asarray(image.convert("RGB") if image.mode == "P" else image)
    if array.ndim == 3:
        colour = array[..., :3] if array.shape[-1] >= 3 else array[..., :1]
        foreground = np.asarray((colour > 0).any(axis=-1))
    else:
        foreground = np.asarray(array > 0)
    if foreground.mean() > MAX_MASK_SHARE:
        raise DatasetError(
            f"{path}: {foreground.mean():.0%} of the mask is foreground, so it looks inverted; "
            "masks must be nonzero on the defect only: restore the original"
        )
    # BOX averages the 0/255 crop; any nonzero result keeps breaches thinner than the
    # downscale factor, which NEAREST would drop.
    coverage = crop_resize(
        np.where(foreground, np.uint8(255), np.uint8(0)), params, Image.Resampling.BOX
    )
    return coverage > 0, roi_crop(foreground, params), hashlib.sha256(data).hexdigest()


def crop_resize(pixels: np.ndarray, params: Params, resample: Image.Resampling) -> np.ndarray:
    """Crop the ROI of a frame and resize it to the output size.

    Args:
        pixels: uint8 (frame_height, frame_width).
        params: ROI and output size.
        resample: Pillow filter (LANCZOS for images, BOX for masks).

    Returns:
        uint8 (image_height, image_width).
    """
    resized = Image.fromarray(roi_crop(pixels, params)).resize(
        (params.image_width, params.image_height), resample
    )
    return np.asarray(resized)


def roi_crop(pixels: np.ndarray, params: Params) -> np.ndarray:
    """The full-resolution ROI (roi_bottom - roi_top, roi_right - roi_left) of a frame."""
    return np.ascontiguousarray(
        pixels[params.roi_top : params.roi_bottom, params.roi_left : params.roi_right]
    )


def _check_bmp_depth(data: bytes, path: Path) -> None:
    """Refuse BMPs whose pixels have fewer than 8 bits per grey level.

    A 16-bit-per-pixel BMP holds 5 or 6 bits per channel, which Pillow stretches to 8 bits:
    importing it would silently coarsen the grey levels (or misread a 16-bit grey frame), so it
    is an error rather than a conversion.
    """
    header_size = int.from_bytes(data[14:18], "little")
    offset = 24 if header_size == 12 else 28  # OS/2 core header or BITMAPINFOHEADER
    bits = int.from_bytes(data[offset : offset + 2], "little")
    if bits not in BMP_BITS_PER_PIXEL:
        raise DatasetError(
            f"{path}: BMP with {bits} bits per pixel, which holds fewer than 8 bits per grey "
            "level; SSI frames are 8-bit grayscale: save it as an 8-bit grayscale BMP or "
            "restore the original from Zenodo 7834077"
        )


def _decode(data: bytes, path: Path, kind: str) -> Image.Image:
    try:
        with strict_decoding():
            image = Image.open(io.BytesIO(data))
            image.load()
    except UnidentifiedImageError as error:
        raise DatasetError(
            f"{path}: cannot decode, not a {kind} image Pillow can read; replace it with the "
            "original from Zenodo 7834077"
        ) from error
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DatasetError(
            f"{path}: cannot decode ({error}); replace it with the original from Zenodo 7834077"
        ) from error
    if image.format != kind:
        image.close()
        raise DatasetError(
            f"{path}: file is {image.format}, expected {kind}; replace it with the original"
        )
    return image


def _check_size(image: Image.Image, path: Path, params: Params, what: str) -> None:
    width, height = image.size
    if (height, width) != (params.frame_height, params.frame_width):
        raise DatasetError(
            f"{path}: {what} is {width} x {height} (w x h), expected {params.frame_width} x "
            f"{params.frame_height}; set import_ssi.frame_width/frame_height (and the roi_* "
            "crop) in params.yaml to match the data"
        )
