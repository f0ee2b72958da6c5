"""Production-like lots: in control before the drift starts, a growing shift after it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.data.drift import generate_lots
from pipeline.errors import SealauditError
from tests.params import section

SYNTH = section("synth", image_height=64, image_width=384)
LOTS = {"n_lots": 5, "images_per_lot": 3, "drift_start_lot": 2}


def _lots(out: Path, drift: str, seed: int = 4, defect_rate: float = 0.0) -> list[dict[str, str]]:
    path = generate_lots(out, SYNTH, drift=drift, seed=seed, defect_rate=defect_rate, **LOTS)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _pixels(out: Path, row: dict[str, str]) -> np.ndarray:
    with Image.open(out / row["file"]) as image:
        assert image.mode == "L" and image.size == (384, 64)
        return np.asarray(image).astype(float)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    out = tmp_path_factory.mktemp("none")
    return out, _lots(out, "none")


def test_magnitude_is_zero_in_control_then_grows_linearly(tmp_path: Path) -> None:
    rows = _lots(tmp_path, "brightness")
    per_lot = {row["lot_id"]: float(row["drift_magnitude"]) for row in rows}
    assert list(per_lot.values()) == pytest.approx([0, 0, 1 / 3, 2 / 3, 1], abs=1e-4)
    assert len(rows) == 15
    for row in rows:
        assert re.fullmatch(rf"{row['lot_id']}_\d{{8}}_\d{{6}}_\d{{4}}\.png", row["file"])
        assert (tmp_path / row["file"]).is_file()


def test_no_drift_means_zero_magnitude_everywhere(reference: tuple[Path, list]) -> None:
    _, rows = reference
    assert {row["drift_magnitude"] for row in rows} == {"0.0000"}
    assert {row["label"] for row in rows} == {"0"}


@pytest.mark.parametrize(
    ("drift", "direction"),
    [("brightness", -1), ("band_narrowing", +1), ("contamination", 0)],
)
def test_drift_changes_only_drifting_lots(
    reference: tuple[Path, list], tmp_path: Path, drift: str, direction: int
) -> None:
    base_dir, base_rows = reference
    rows = _lots(tmp_path, drift)
    for base, row in zip(base_rows, rows, strict=True):
        before, after = _pixels(base_dir, base), _pixels(tmp_path, row)
        if float(row["drift_magnitude"]) == 0:
            assert np.array_equal(before, after), row["file"]
        elif direction:
            # Darker images, or more bright web where the dark band has narrowed.
            assert np.sign(after.mean() - before.mean()) == direction, row["file"]
    last = [
        (base, row) for base, row in zip(base_rows, rows, strict=True) if row["lot_id"] == "L004"
    ]
    assert any(not np.array_equal(_pixels(base_dir, b), _pixels(tmp_path, r)) for b, r in last)


def test_same_arguments_give_identical_files(reference: tuple[Path, list], tmp_path: Path) -> None:
    base_dir, _ = reference
    _lots(tmp_path, "none")
    names = sorted(p.name for p in base_dir.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    assert all((base_dir / n).read_bytes() == (tmp_path / n).read_bytes() for n in names)


def test_defect_rate_labels_some_images_not_all(tmp_path: Path) -> None:
    rows = _lots(tmp_path, "band_narrowing", defect_rate=0.4)
    labelled = [row for row in rows if row["label"] == "1"]
    assert 0 < len(labelled) < len(rows)
    assert all(row["defect_type"] != "none" for row in labelled)
    # Each injected defect carries its ground truth; sound seals leave it empty.
    assert all(float(row["defect_size"]) > 0 and row["defect_size_unit"] for row in labelled)
    sound = [row for row in rows if row["label"] == "0"]
    assert all(row["defect_size"] == row["defect_contrast"] == "" for row in sound)


def test_bad_arguments_and_existing_lots_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SealauditError, match="drift 'tilt' unknown"):
        _lots(tmp_path / "a", "tilt")
    with pytest.raises(SealauditError, match="drift_start_lot"):
        generate_lots(tmp_path / "b", SYNTH, 3, 2, 4, "brightness", 0)
    _lots(tmp_path / "c", "none")
    with pytest.raises(SealauditError, match="already written"):
        _lots(tmp_path / "c", "none")
