"""Facts about a canonical dataset, one row per image, for the expectation suites to assert.

The manifest is read as text, exactly as written (not through ``read_manifest``, which stops at
the first malformed integer), so a type error becomes a failed expectation naming every bad row.
Images are inspected with Pillow directly rather than ``load_gray`` because the checks must
report the mode, channels and bit depth that ``load_gray`` refuses. A fact that cannot be known
(the file is missing, the image does not decode) is left empty (None/NaN), which the suites skip,
so one fault yields one failed expectation rather than a cascade.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from pipeline.data.images import strict_decoding
from pipeline.data.manifest import MANIFEST_COLUMNS, MANIFEST_NAME, MASKS_DIR, DatasetError
from pipeline.governance.perceptual import dhash

log = logging.getLogger(__name__)

UNASSIGNED = "unassigned"
# Every column of the facts table, so a suite finds its column even when no row has the fact.
FACT_COLUMNS = (
    "image_id", "split", "in_manifest", "label", "defect_type", "view_tag", "capture_event",
    "capture_date",
    "height", "width", "paths_canonical", "file_exists", "sha256_actual", "sha256_matches",
    "decodes", "mode", "channels", "bit_depth", "actual_height", "actual_width", "pixel_min",
    "pixel_max", "pixel_mean", "dynamic_range", "clipped_share", "dhash", "mask_given",
    "has_mask", "mask_decodes", "mask_height", "mask_width", "mask_binary", "mask_pixels",
    "mask_size_matches", "event_labels",
)  # fmt: skip
# Bits per sample of Pillow modes (the contract wants "L": one 8-bit channel).
_MODE_BITS = {"1": 1, "L": 8, "P": 8, "LA": 8, "RGB": 8, "RGBA": 8, "I;16": 16, "I": 32, "F": 32}


def read_manifest_table(data_dir: Path) -> pd.DataFrame:
    """``manifest.csv`` as text columns in file order, empty cells as ""."""
    path = Path(data_dir) / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"{path}: manifest not found; create a dataset with `sealaudit data synth` "
            "or `sealaudit data import-ssi SRC`"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or ())
        records = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    if not columns:
        raise DatasetError(f"{path}: empty file, no header; regenerate the dataset")
    return pd.DataFrame(records, columns=columns, dtype=object)


def _as_int(text: Any) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def inspect_image(path: Path, rows: int, cols: int) -> dict[str, Any]:
    """File, decode and pixel facts of one image; keys absent where unknowable."""
    if not path.is_file():
        return {"file_exists": False}
    data = path.read_bytes()
    facts: dict[str, Any] = {"file_exists": True, "sha256_actual": hashlib.sha256(data).hexdigest()}
    try:
        with strict_decoding(), Image.open(io.BytesIO(data)) as image:
            image.load()
            mode, bands = image.mode, len(image.getbands())
            gray = np.asarray(image if bands == 1 else image.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        log.debug("%s does not decode: %s", path, error)
        return {**facts, "decodes": False}
    full_scale = 2.0 ** _MODE_BITS.get(mode, 8) - 1.0
    clipped = np.mean((gray <= 0.0) | (gray >= full_scale))
    return {
        **facts,
        "decodes": True,
        "mode": mode,
        "channels": bands,
        "bit_depth": _MODE_BITS.get(mode, 0),
        "actual_height": gray.shape[0],
        "actual_width": gray.shape[1],
        "pixel_min": float(gray.min()),
        "pixel_max": float(gray.max()),
        "pixel_mean": float(gray.mean()),
        "dynamic_range": float(gray.max() - gray.min()),
        "clipped_share": float(clipped),
        "dhash": np.packbits(dhash(gray, rows, cols)).tobytes().hex(),
    }


def inspect_mask(path: Path) -> dict[str, Any]:
    """Decode and content facts of one mask file (which must exist)."""
    try:
        with strict_decoding(), Image.open(path) as image:
            image.load()
            mask = np.asarray(image.convert("L") if image.mode != "L" else image)
    except (UnidentifiedImageError, OSError, ValueError):
        return {"mask_decodes": False}
    return {
        "mask_decodes": True,
        "mask_height": mask.shape[0],
        "mask_width": mask.shape[1],
        "mask_binary": bool(np.isin(mask, (0, 255)).all()),
        "mask_pixels": int(np.count_nonzero(mask)),
    }


def _mask_facts(data_dir: Path, row: dict[str, Any], label: int | None) -> dict[str, Any]:
    given = row["mask_path"] != ""
    path = data_dir / row["mask_path"] if given else data_dir / MASKS_DIR / f"{row['image_id']}.png"
    exists = path.is_file()
    # A normal image "has" a mask when the manifest names one or a stray file sits at its place.
    has_mask = (given and exists) if label == 1 else (given or exists)
    facts: dict[str, Any] = {"mask_given": given, "has_mask": has_mask}
    if exists:
        facts.update(inspect_mask(path))
    return facts


def _row_facts(data_dir: Path, row: dict[str, Any], rows: int, cols: int) -> dict[str, Any]:
    label = _as_int(row["label"])
    image_id = row["image_id"]
    facts: dict[str, Any] = {
        "image_id": image_id,
        "in_manifest": True,
        "label": label if label is not None else -1,
        "defect_type": row["defect_type"],
        "view_tag": row["view_tag"],
        "capture_event": row["capture_event"],
        "capture_date": row["capture_date"],
        "height": _as_int(row["height"]),
        "width": _as_int(row["width"]),
        "paths_canonical": row["image_path"] == f"images/{image_id}.png"
        and row["mask_path"] in ("", f"{MASKS_DIR}/{image_id}.png"),
    }
    path = row["image_path"]
    image = inspect_image(data_dir / path, rows, cols) if path else {"file_exists": False}
    facts.update(image)
    if "sha256_actual" in image:
        facts["sha256_matches"] = image["sha256_actual"] == row["sha256"]
    facts.update(_mask_facts(data_dir, row, label))
    if facts.get("mask_decodes") and image.get("decodes"):
        facts["mask_size_matches"] = (facts["mask_height"], facts["mask_width"]) == (
            image["actual_height"],
            image["actual_width"],
        )
    return facts


def image_table(
    data_dir: Path, manifest: pd.DataFrame, assignment: dict[str, str], rows: int, cols: int
) -> pd.DataFrame:
    """One row of facts per manifest image, plus a row per split id absent from the manifest.

    Args:
        data_dir: the dataset folder.
        manifest: ``read_manifest_table`` output.
        assignment: image_id -> split (empty when no splits are given).
        rows: dHash rows.
        cols: dHash columns.
    """
    filled = manifest.reindex(columns=list(MANIFEST_COLUMNS), fill_value="")
    records = [
        _row_facts(Path(data_dir), row, rows, cols)
        for row in tqdm(
            filled.to_dict("records"), desc="inspecting images", unit="img", disable=None
        )
    ]
    known = set(filled["image_id"])
    unknown = sorted(set(assignment) - known)
    records += [{"image_id": i, "in_manifest": False, "label": -1} for i in unknown]
    table = pd.DataFrame.from_records(records).reindex(columns=list(FACT_COLUMNS))
    table["split"] = [assignment.get(i, UNASSIGNED) for i in table["image_id"]]
    # unreadable labels (-1) are DG-01's finding, not a mixed event
    listed = table[table["in_manifest"].astype(bool) & table["label"].isin([0, 1])]
    table["event_labels"] = table["capture_event"].map(
        listed.groupby("capture_event")["label"].nunique()
    )
    return table
