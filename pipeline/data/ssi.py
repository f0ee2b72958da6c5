"""Import the real SSI dataset (Zenodo 7834077) into the canonical layout.

Each frame is cropped to the seal band (``import_ssi`` ROI) and resized; its mask gets the same
crop and size. The source is read only: every frame's bytes are hashed as they are decoded, and
the hashes go to ``source_hashes.csv`` so the import can be traced to the exact originals. The
whole dataset is built in a staging folder, so any error leaves the target as it was.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipeline import __version__
from pipeline.config.base import ParamsError
from pipeline.config.import_ssi import Params
from pipeline.data.manifest import (
    IMAGES_DIR,
    MANIFEST_NAME,
    MASKS_DIR,
    NO_DEFECT_TRUTH,
    OFFICIAL_SPLITS_NAME,
    DatasetError,
    ManifestRow,
    staged_dataset,
    write_dataset_info,
    write_manifest,
)
from pipeline.data.mask_truth import measured_truth
from pipeline.data.ssi_frames import crop_resize, read_frame, read_mask, roi_crop
from pipeline.data.ssi_names import DEFECT_TYPES, SourceTree, SsiImage, scan_source
from pipeline.data.ssi_origin import origin
from pipeline.data.ssi_splits import OfficialSplit, read_official_splits
from pipeline.provenance import sha256_file

log = logging.getLogger(__name__)

IMPORTER_VERSION = "1.0.0"
SOURCE_HASHES_NAME = "source_hashes.csv"
DEFECT_TRUTH_METHOD = (
    "measured on the full-resolution ROI crop of each mask (pipeline.data.mask_truth): "
    "seal_breach size = width along the band (mask area / rows spanned) x mm_per_full_res_px; "
    "contrast = |mean grey inside the mask - mean grey of a 10 px ring around it|"
)
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
        mask_path, truth = "", dict(NO_DEFECT_TRUTH)
        mask_source = tree.masks.get(image.image_id)
        if mask_source is not None:
            mask, full_res, hashes[mask_source.relative_to(tree.root).as_posix()] = read_mask(
                mask_source, params
            )
            if not mask.any():
                log.warning("%s: mask is empty inside the ROI", mask_source)
                empty.append(image.image_id)
            mask_path = f"{MASKS_DIR}/{image.image_id}.png"
            _save_png(mask.astype(np.uint8) * 255, staging / mask_path)
            if image.label:
                truth = measured_truth(
                    DEFECT_TYPES[image.cls],
                    roi_crop(pixels, params),
                    full_res,
                    params.mm_per_full_res_px,
                )
        rows.append(_manifest_row(image, image_path, mask_path, staging, params, truth))
    return rows, hashes, empty


def _manifest_row(
    image: SsiImage,
    image_path: str,
    mask_path: str,
    staging: Path,
    params: Params,
    truth: dict[str, Any],
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
        **truth,
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
        # credited to the published dataset only when its source hashes are a published list
        **origin(source_hashes["sha256"]),
        "params": asdict(params),
        "seed": None,
        "image_height": params.image_height,
        "image_width": params.image_width,
        "frame": {"height": params.frame_height, "width": params.frame_width},
        "roi": {
            side: getattr(params, f"roi_{side}") for side in ("top", "bottom", "left", "right")
        },
        "resampling": RESAMPLING,
        "defect_truth": DEFECT_TRUTH_METHOD,
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
