"""Image loading refuses truncated files even after WeasyPrint relaxed Pillow globally."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from pipeline.data.images import load_gray, load_row_image, load_row_mask
from pipeline.data.manifest import DatasetError, read_manifest
from tests.worlds import write_tiny_dataset


def test_truncated_png_is_an_error_even_when_pillow_tolerates_truncation(tmp_path: Path) -> None:
    path = tmp_path / "half.png"
    noise = np.random.default_rng(0).integers(0, 255, (64, 256), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # what `import weasyprint` does to the process
    try:
        with pytest.raises(DatasetError, match="half.png"):
            load_gray(path)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for the other library
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def test_colour_image_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(DatasetError, match="grayscale"):
        load_gray(path)


def test_a_missing_image_gets_a_hint_that_fits_where_it_is(tmp_path: Path) -> None:
    outside = tmp_path / "lot7" / "frame.png"
    with pytest.raises(DatasetError, match="image file not found; check the path") as error:
        load_gray(outside)
    assert "dvc" not in str(error.value)  # dvc checkout cannot restore an operator's file
    (tmp_path / "data.dvc").write_text("outs:\n- path: data\n")
    tracked = tmp_path / "data" / "images" / "frame.png"
    with pytest.raises(DatasetError, match=r"restore it \(`dvc checkout data.dvc`\)"):
        load_gray(tracked)


@pytest.mark.parametrize("escape", ["../secret.png", "absolute", "symlink"])
def test_a_manifest_path_leading_outside_the_dataset_is_refused_naming_the_row(
    tmp_path: Path, escape: str
) -> None:
    data = write_tiny_dataset(tmp_path / "data", n_normal_events=1, n_defect_events=0, views=1)
    row = read_manifest(data)[0]
    secret = tmp_path / "secret.png"
    Image.fromarray(np.zeros((32, 128), dtype=np.uint8)).save(secret)
    named = {"../secret.png": "../secret.png", "absolute": str(secret)}.get(escape, "")
    if escape == "symlink":
        (data / "images" / "link.png").symlink_to(secret)
        named = "images/link.png"
    with pytest.raises(DatasetError, match=rf"image_id {row.image_id}, image_path.*outside"):
        load_row_image(data, replace(row, image_path=named))
    with pytest.raises(DatasetError, match="mask_path.*outside the dataset folder"):
        load_row_mask(data, replace(row, mask_path=named))
    assert load_row_image(data, row).shape == (row.height, row.width)  # inside: still read
