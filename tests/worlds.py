"""Tiny worlds for tests: canonical datasets written with the real manifest writers."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from pipeline import evidence
from pipeline.data.manifest import (
    IMAGES_DIR,
    MASKS_DIR,
    NO_DEFECT_TRUTH,
    ManifestRow,
    write_dataset_info,
    write_manifest,
)
from pipeline.evidence import Governance
from pipeline.provenance import dataset_md5, sha256_file

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
    height: int = 64,
    width: int = 256,
    views: int = 2,
    seed: int = 0,
) -> Path:
    """Write a canonical dataset of seal-band-like images with square defects; return its folder.

    Stored at 64 x 256, twice the tests' working size (tests/params.py: 32 x 128), so a band
    alignment really aligns (a stack already at the working size would pass through as is,
    and train refuses that configuration).
    """
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


GOVERNANCE_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "evidence" / "validate_data"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a test identity; return its stdout."""
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    result = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return result.stdout


def commit_data_dvc(data: Path) -> Path:
    """Record ``data`` in ``<data>.dvc`` (DVC's md5, as `dvc add` writes it) and commit that
    file in a git repository at ``data``'s parent (created if absent); return the .dvc file."""
    root = Path(data).parent
    if not (root / ".git").exists():
        git(root, "init", "-q")
    dvc_file = root / f"{Path(data).name}.dvc"
    outs = [{"md5": dataset_md5(data), "hash": "md5", "path": Path(data).name}]
    dvc_file.write_text(yaml.safe_dump({"outs": outs}), encoding="utf-8")
    git(root, "add", dvc_file.name)
    git(root, "commit", "-qm", "dataset version")
    return dvc_file


def write_governance(out_dir: Path, data: Path, success: bool = True) -> Path:
    """The fixture's ``governance.json`` in ``out_dir``, judging ``data`` as it is now (its
    DVC md5 as ``provenance.data_md5``), passed or failed; return the file."""
    fixture = evidence.read_file(Governance, GOVERNANCE_FIXTURE / "governance.json")
    provenance = replace(fixture.provenance, data_md5=dataset_md5(data))
    document = replace(
        fixture, success=success, critical_failures=0 if success else 1, provenance=provenance
    )
    return evidence.write_to(document, out_dir)


def governance_args(data: Path) -> list[str]:
    """``--governance`` for a stage run on ``data``: a passed record that judged it as it is."""
    return ["--governance", str(write_governance(Path(data).parent / "validate_data", data))]
