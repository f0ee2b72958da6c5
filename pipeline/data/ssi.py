"""Import the real SSI dataset (Zenodo 7834077) into the canonical layout.

Each frame is cropped to the seal band (``import_ssi`` ROI) and resized; its mask gets the same
crop and size. The source is read only: every frame's bytes are hashed as they are decoded, and
the hashes go to ``source_hashes.csv`` so the import can be traced to the exact originals. The
whole dataset is built in a staging folder, so any error leaves the target as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from pipeline import __version__
from pipeline.config.base import ParamsError
from pipeline.config.import_ssi import Params
from pipeline.data.images import strict_decoding
from pipeline.data.manifest import (
    IMAGES_DIR,
    MANIFEST_NAME,
    MASKS_DIR,
    OFFICIAL_SPLITS_NAME,
    DatasetError,
    ManifestRow,
    staged_dataset,
    write_dataset_info,
    write_manifest,
)
from pipeline.data.ssi_names import (
    DEFECT_TYPES,
    OfficialSplit,
    SourceTree,
    SsiImage,
    read_official_splits,
    scan_source,
)
from pipeline.provenance import sha256_file

log = logging.getLogger(__name__)

IMPORTER_VERSION = "1.0.0"
LICENCE = "see Zenodo record 7834077 (check before use)"
CITATION = (
    "Zanon Diaz J. et al., dataset of sterile-barrier pouch seal images, Data in Brief (2024), "
    "doi:10.1016/j.dib.2024.110996; images: Zenodo, doi:10.5281/zenodo.7834077"
)
DOI = {"article": "10.1016/j.dib.2024.110996", "images": "10.5281/zenodo.7834077"}
SOURCE_HASHES_NAME = "source_hashes.csv"
# A mask nonzero on most of the frame is almost surely inverted (defect drawn black on white).
MAX_MASK_SHARE = 0.5
# 8-bit palette (grey), 24-bit and 32-bit colour (8 bits a channel; equal channels only).
BMP_BITS_PER_PIXEL = (8, 24, 32)
RESAMPLING = {
    "image": "Pillow LANCZOS (antialiased)",
    "mask": "Pillow BOX (area), foreground where any source pixel was foreground",
}


def import_ssi(
    src: Path, out: Path, params: Params, splits_dir: Path | None = None, force: bool = False
) -> None:
    """Import SSI frames, masks and (optionally) the official split lists into ``out``.

    Args:
        src: folder with ``NoLabel/``, ``seal_breach_0/`` and ``Notation/``; never modified.
        out: target dataset folder (canonical layout, docs/architecture.md).
        params: crop, frame and output sizes.
        splits_dir: folder with the authors' ``rev_N*/`` split lists, or None.
        force: replace a dataset already in ``out``.

    Raises:
        ParamsError: ``params`` fail validation.
        DatasetError: any fault in the source, the lists or the target; ``out`` is untouched.
    """
    try:
        params.validate()
    except ValueError as error:
        raise ParamsError(f"import_ssi params: {error}") from error
    src, out = Path(src), Path(out)
    tree = scan_source(src)
    _check_apart(src, out)
    official: list[OfficialSplit] = []
    split_hashes: dict[str, str] = {}
    if splits_dir is not None:
        by_id = {image.image_id: image for image in tree.images}
        official, split_hashes = read_official_splits(Path(splits_dir), by_id)
    started = time.perf_counter()
    with staged_dataset(out, force=force) as staging:
        rows, hashes, empty = _write_frames(tree, params, staging)
        write_manifest(rows, staging / MANIFEST_NAME)
        sources = _write_source_hashes(hashes, staging)
        splits = _write_official_splits(official, split_hashes, staging)
        write_dataset_info(dataset_info(params, rows, empty, sources, splits), staging)
    log.info("imported %d SSI frames in %.1f s", len(rows), time.perf_counter() - started)


def _check_apart(src: Path, out: Path) -> None:
    # Writing into SRC, or replacing a folder that contains SRC, would modify the originals.
    src_real, out_real = src.resolve(), out.resolve()
    if out_real == src_real or src_real in out_real.parents or out_real in src_real.parents:
        raise DatasetError(
            f"{out}: the dataset folder overlaps the SSI source {src}; choose an --out "
            "outside SRC (the originals are read only)"
        )


def _write_frames(
    tree: SourceTree, params: Params, staging: Path
) -> tuple[list[ManifestRow], dict[str, str], list[str]]:
    rows: list[ManifestRow] = []
    hashes: dict[str, str] = {}
    empty: list[str] = []
    for image in tqdm(tree.images, desc="import-ssi", unit="frame", disable=None):
        pixels, hashes[image.relative] = read_frame(image.path, params)
        image_path = f"{IMAGES_DIR}/{image.image_id}.png"
        _save_png(crop_resize(pixels, params, Image.Resampling.LANCZOS), staging / image_path)
        mask_path = ""
        mask_source = tree.masks.get(image.image_id)
        if mask_source is not None:
            mask, hashes[mask_source.relative_to(tree.root).as_posix()] = read_mask(
                mask_source, params
            )
            if not mask.any():
                log.warning("%s: mask is empty inside the ROI", mask_source)
                empty.append(image.image_id)
            mask_path = f"{MASKS_DIR}/{image.image_id}.png"
            _save_png(mask.astype(np.uint8) * 255, staging / mask_path)
        rows.append(_manifest_row(image, image_path, mask_path, staging, params))
    return rows, hashes, empty


def _manifest_row(
    image: SsiImage, image_path: str, mask_path: str, staging: Path, params: Params
) -> ManifestRow:
    return ManifestRow(
        image_id=image.image_id,
        image_path=image_path,
        mask_path=mask_path,
        sha256=sha256_file(staging / image_path),
        label=image.label,
        defect_type=DEFECT_TYPES[image.cls],
        view_tag=image.tag,
        capture_event=image.capture_event,
        capture_date=image.capture_date,
        capture_time=image.capture_time,
        source_file=image.relative,
        height=params.image_height,
        width=params.image_width,
    )


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


def read_mask(path: Path, params: Params) -> tuple[np.ndarray, str]:
    """Decode a ``Notation/`` mask, crop and resize it like its frame, and hash its bytes.

    Foreground is any pixel with a nonzero colour value (alpha ignored), so 0/1, 0/255, palette
    and colour-coded masks all read the same way.

    Returns:
        The mask, bool (image_height, image_width), and the hex sha256 of the file.

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
    return coverage > 0, hashlib.sha256(data).hexdigest()


def crop_resize(pixels: np.ndarray, params: Params, resample: Image.Resampling) -> np.ndarray:
    """Crop the ROI of a frame and resize it to the output size.

    Args:
        pixels: uint8 (frame_height, frame_width).
        params: ROI and output size.
        resample: Pillow filter (LANCZOS for images, BOX for masks).

    Returns:
        uint8 (image_height, image_width).
    """
    crop = np.ascontiguousarray(
        pixels[params.roi_top : params.roi_bottom, params.roi_left : params.roi_right]
    )
    resized = Image.fromarray(crop).resize((params.image_width, params.image_height), resample)
    return np.asarray(resized)


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


def _save_png(pixels: np.ndarray, path: Path) -> None:
    # Fixed options and no metadata, so the same input gives byte-identical files.
    Image.fromarray(pixels).save(path, format="PNG", compress_level=6)


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[Iterable[str]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return sha256_file(path)


def _write_source_hashes(hashes: dict[str, str], staging: Path) -> dict[str, Any]:
    path = staging / SOURCE_HASHES_NAME
    digest = _write_csv(path, ("source_file", "sha256"), sorted(hashes.items()))
    return {"file": SOURCE_HASHES_NAME, "sha256": digest, "files": len(hashes)}


def _write_official_splits(
    rows: list[OfficialSplit], list_hashes: dict[str, str], staging: Path
) -> dict[str, Any] | None:
    if not rows:
        return None
    table = ((row.image_id, row.revision, row.split) for row in rows)
    _write_csv(staging / OFFICIAL_SPLITS_NAME, ("image_id", "revision", "split"), table)
    revisions = sorted({row.revision for row in rows}, key=lambda name: int(name[4:]))
    return {"file": OFFICIAL_SPLITS_NAME, "revisions": revisions, "source_lists": list_hashes}


def dataset_info(
    params: Params,
    rows: list[ManifestRow],
    empty_masks: list[str],
    source_hashes: dict[str, Any],
    official_splits: dict[str, Any] | None,
) -> dict[str, Any]:
    """Identity of an imported dataset; no wall-clock time or machine path, so it is stable."""
    return {
        "source": "ssi",
        "licence": LICENCE,
        "citation": CITATION,
        "doi": DOI,
        "params": asdict(params),
        "seed": None,
        "image_height": params.image_height,
        "image_width": params.image_width,
        "frame": {"height": params.frame_height, "width": params.frame_width},
        "roi": {
            side: getattr(params, f"roi_{side}") for side in ("top", "bottom", "left", "right")
        },
        "resampling": RESAMPLING,
        "counts": {
            "images": len(rows),
            "normal": sum(row.label == 0 for row in rows),
            "defective": sum(row.label == 1 for row in rows),
            "capture_events": len({row.capture_event for row in rows}),
        },
        "masks_empty_in_roi": sorted(empty_masks),
        "source_hashes": source_hashes,
        "official_splits": official_splits,
        "importer": {"name": __name__, "version": IMPORTER_VERSION},
        "created_by": f"sealaudit {__version__}",
    }
