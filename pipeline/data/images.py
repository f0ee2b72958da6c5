"""Loading canonical dataset images and masks as float arrays in [0, 1]."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from pipeline.data.manifest import MANIFEST_NAME, DatasetError, ManifestRow, confined


@contextmanager
def strict_decoding() -> Iterator[None]:
    """Make Pillow refuse truncated files while the block runs.

    WeasyPrint sets ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` for the whole process when it is
    imported; a half-written image must still be an error here, never a silently padded frame.
    """
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def missing_file_hint(path: Path) -> str:
    """How to get a missing file back: ``dvc checkout`` restores only what a ``.dvc`` file
    tracks (``data/`` via ``data.dvc``); any other path is the user's to check."""
    for folder in Path(path).absolute().parents:
        if folder.name and folder.with_name(f"{folder.name}.dvc").is_file():
            return f"restore it (`dvc checkout {folder.name}.dvc`) or re-import"
    return f"check the path (a relative path starts from {Path.cwd()})"


def load_gray(path: Path) -> np.ndarray:
    """Read an 8-bit single-channel image as float32 in [0, 1], shape (H, W).

    Raises:
        DatasetError: the file is missing, not an image, or not single-channel 8-bit.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: image file not found; {missing_file_hint(path)}")
    try:
        with strict_decoding(), Image.open(path) as image:
            image.load()
            if image.mode != "L":
                raise DatasetError(
                    f"{path}: mode {image.mode}, expected 8-bit grayscale 'L'; convert it"
                )
            array = np.asarray(image, dtype=np.float32)
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"{path}: cannot decode image ({error}); replace the file") from error
    return array / 255.0


def load_row_image(data_dir: Path, row: ManifestRow) -> np.ndarray:
    """The image of a manifest row, shape (H, W), float32 in [0, 1]."""
    return load_gray(row_file(data_dir, row, "image_path"))


def load_row_mask(data_dir: Path, row: ManifestRow) -> np.ndarray:
    """The defect mask of a row as bool (H, W); all False for normal images."""
    if not row.mask_path:
        return np.zeros((row.height, row.width), dtype=bool)
    return load_gray(row_file(data_dir, row, "mask_path")) > 0.5


def row_file(data_dir: Path, row: ManifestRow, column: str) -> Path:
    """The file a row's ``column`` names, checked to lie inside ``data_dir``."""
    where = f"{Path(data_dir) / MANIFEST_NAME} (image_id {row.image_id}, {column})"
    return confined(Path(data_dir), getattr(row, column), where)


def load_stack(data_dir: Path, rows: list[ManifestRow]) -> np.ndarray:
    """Images of ``rows`` stacked as float32 (N, H, W)."""
    if not rows:
        raise DatasetError(f"{data_dir}: no images selected; check the split and the manifest")
    return np.stack([load_row_image(data_dir, row) for row in rows])
