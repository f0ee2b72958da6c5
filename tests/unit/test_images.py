"""Image loading refuses truncated files even after WeasyPrint relaxed Pillow globally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from pipeline.data.images import load_gray
from pipeline.data.manifest import DatasetError


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
