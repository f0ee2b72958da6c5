"""Tiny worlds for tests: canonical datasets written with the real manifest writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.data.manifest import (
    IMAGES_DIR,
    MASKS_DIR,
    NO_DEFECT_TRUTH,
    ManifestRow,
    write_dataset_info,
    write_manifest,
)
from pipeline.provenance import sha256_file

DEFECT_TYPES = ("channel", "void", "burn")


def _band_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    image = np.full((height, width), 90.0) + rng.normal(0, 4, (height, width))
    top, bottom = height // 3, 2 * height // 3
    image[top:bottom] += 60
    return image


def write_tiny_dataset(
    root: Path,
    n_normal_events: int = 10,
    n_defect_events: int = 5,
    height: int = 32,
    width: int = 128,
    views: int = 2,
    seed: int = 0,
) -> Path:
    """Write a canonical dataset of seal-band-like images with square defects; return its folder."""
    root = Path(root)
    (root / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    (root / MASKS_DIR).mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for event in range(n_normal_events + n_defect_events):
        label = int(event >= n_normal_events)
        cls = "defect" if label else "good"
        stamp_date, stamp_time = (
            f"2024030{1 + event % 3}",
            f"{8 + event // 60:02d}{event % 60:02d}00",
        )
        defect_type = DEFECT_TYPES[event % len(DEFECT_TYPES)] if label else "none"
        for view in ("12", "23")[:views]:
            image_id = f"{cls}-{view}_{stamp_date}_{stamp_time}"
            pixels = _band_image(rng, height, width)
            mask_path = ""
            if label:
                mask = np.zeros((height, width), dtype=np.uint8)
                col = int(rng.integers(4, width - 12))
                mask[height // 3 : height // 3 + 6, col : col + 6] = 255
                pixels[mask > 0] -= 50
                mask_path = f"{MASKS_DIR}/{image_id}.png"
                Image.fromarray(mask).save(root / mask_path)
            image_path = f"{IMAGES_DIR}/{image_id}.png"
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(root / image_path)
            rows.append(
                ManifestRow(
                    image_id=image_id,
                    image_path=image_path,
                    mask_path=mask_path,
                    sha256=sha256_file(root / image_path),
                    label=label,
                    defect_type=defect_type,
                    view_tag=view,
                    capture_event=f"{cls}_{stamp_date}_{stamp_time}",
                    capture_date=f"{stamp_date[:4]}-{stamp_date[4:6]}-{stamp_date[6:]}",
                    capture_time=f"{stamp_time[:2]}:{stamp_time[2:4]}:{stamp_time[4:]}",
                    source_file=f"tiny:{seed}:{event}",
                    height=height,
                    width=width,
                    **NO_DEFECT_TRUTH,  # a drawn square, not a defect of known size
                )
            )
    write_manifest(rows, root / "manifest.csv")
    info = {"source": "tiny-test", "image_height": height, "image_width": width, "seed": seed}
    write_dataset_info(info, root)
    return root
