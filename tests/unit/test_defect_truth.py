"""Defect ground truth: the generator's recorded size and contrast agree with what it renders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.data.defect_truth import SIZE_RANGES, DefectTruth, Override
from pipeline.data.defects import DEFECTS, MIN_WIDTH_PX, apply_defect
from pipeline.data.manifest import DatasetError, read_manifest
from pipeline.data.mask_truth import (
    equivalent_diameter_px,
    measured_truth,
    ring_contrast,
    width_across_band_px,
)
from pipeline.data.seal_texture import Pouch, sample_pouch
from pipeline.data.synthetic import generate_dataset
from tests.params import section
from tests.unit.test_governance import assert_cells_conform_to_the_dictionary

PARAMS = section("synth")  # the embedded data's scale: ~2.88 px a mm
PX_PER_MM = PARAMS.px_per_mm


def _render(
    kind: str, seed: int, **override: object
) -> tuple[Pouch, np.ndarray, np.ndarray, DefectTruth]:
    rng = np.random.default_rng(seed)
    pouch = sample_pouch(rng, PARAMS)
    image, mask, truth = apply_defect(kind, pouch, rng, 0.7, Override(**override))  # type: ignore[arg-type]
    return pouch, image - pouch.image, mask, truth


@pytest.mark.parametrize("size_mm", [0.45, 1.0])
def test_channel_width_agrees_with_its_mask_and_its_contrast_with_the_pixels(
    size_mm: float,
) -> None:
    for seed in range(3):
        _, delta, mask, truth = _render("channel", seed, size=size_mm)
        assert (truth.size, truth.unit, truth.form) == (pytest.approx(size_mm), "mm", "")
        assert width_across_band_px(mask) / PX_PER_MM == pytest.approx(truth.size, rel=0.1)
        assert np.abs(delta).max() == pytest.approx(truth.contrast, rel=1e-3)


def test_a_channel_thinner_than_a_pixel_is_recorded_as_rendered() -> None:
    _, _, mask, truth = _render("channel", 0, size=0.1)
    assert truth.size == pytest.approx(MIN_WIDTH_PX / PX_PER_MM)  # one stored pixel, not 0.1
    assert width_across_band_px(mask) / PX_PER_MM == pytest.approx(truth.size, rel=0.1)


@pytest.mark.parametrize("size_mm", [0.8, 2.0])
def test_particle_diameter_agrees_with_the_equivalent_diameter_of_its_core(size_mm: float) -> None:
    for seed in range(3):
        _, delta, _, truth = _render("contamination", seed, size=size_mm, form="particle")
        assert truth.form == "particle"
        # The core carries the full amplitude; a halo (opposite sign) at most 0.4 of it.
        core = np.abs(delta) >= 0.5 * truth.contrast
        assert equivalent_diameter_px(core) / PX_PER_MM == pytest.approx(truth.size, abs=0.35)
        assert np.abs(delta).max() == pytest.approx(truth.contrast, rel=1e-3)


def test_fibre_length_is_at_least_its_end_to_end_extent() -> None:
    for seed in range(3):
        _, delta, _, truth = _render("contamination", seed, size=6.0, form="fibre")
        rows, cols = np.nonzero(np.abs(delta) >= 0.5 * truth.contrast)
        extent = math.hypot(np.ptp(rows), np.ptp(cols)) / PX_PER_MM
        assert truth.form == "fibre" and extent - 0.5 <= truth.size <= 1.3 * extent + 0.5


@pytest.mark.parametrize("kind", ["burn", "incomplete_seal"])
def test_lengths_along_the_band_agree_with_the_mask(kind: str) -> None:
    for size_mm in (8.0, 25.0):
        _, _, mask, truth = _render(kind, 1, size=size_mm)
        cols = np.nonzero(mask.any(axis=0))[0]
        assert (cols.max() - cols.min() + 1) / PX_PER_MM == pytest.approx(truth.size, abs=1.5)


def test_width_deviation_narrowing_agrees_with_the_band_lost() -> None:
    for narrowing in (0.15, 0.25, 0.45):
        pouch, _, mask, truth = _render("width_deviation", 2, size=narrowing, length_mm=20.0)
        col = int(mask.sum(axis=0).argmax())
        lost = mask[:, col].sum() / (pouch.bottom[col] - pouch.top[col])
        assert (truth.unit, truth.size) == ("fraction", pytest.approx(narrowing))
        assert lost == pytest.approx(narrowing, abs=0.08)
        assert truth.contrast > 10  # band replaced by film: tens of grey levels


@pytest.mark.parametrize("kind", sorted(DEFECTS))
def test_a_size_override_consumes_the_same_draws(kind: str) -> None:
    # What keeps the embedded dataset byte-identical: the drawn size is replaced, not skipped.
    states = []
    for override in (Override(), Override(size=float(np.mean(_size_range(kind))))):
        rng = np.random.default_rng(5)
        apply_defect(kind, sample_pouch(rng, PARAMS), rng, 0.5, override)
        states.append(rng.bit_generator.state)
    assert states[0] == states[1]


def _size_range(kind: str) -> tuple[float, float]:
    return next(span for (name, _), span in SIZE_RANGES.items() if name == kind)


@pytest.mark.parametrize(
    ("kind", "override"),
    [
        ("burn", Override(form="particle")),
        ("contamination", Override(form="dust")),
        ("void", Override(length_mm=12.0)),
        ("width_deviation", Override(size=1.0)),
        ("channel", Override(size=-0.1)),
    ],
)
def test_meaningless_overrides_are_refused(kind: str, override: Override) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="override"):
        apply_defect(kind, sample_pouch(rng, PARAMS), rng, 0.5, override)


def test_generated_manifest_records_the_truth_of_every_defect(tmp_path: Path) -> None:
    params = section("synth", seed=11, image_height=64, image_width=384, n_normal_events=2,
                     n_defect_events=7, capture_days=1)  # fmt: skip
    generate_dataset(params, tmp_path / "data")
    rows = read_manifest(tmp_path / "data")
    for row in rows:
        if row.label:
            unit = "fraction" if row.defect_type == "width_deviation" else "mm"
            assert row.defect_size > 0 and row.defect_contrast >= 0 and row.defect_size_unit == unit
            assert (row.defect_form in ("particle", "fibre")) == (
                row.defect_type == "contamination"
            )
        else:
            assert math.isnan(row.defect_size) and math.isnan(row.defect_contrast)
            assert row.defect_size_unit == row.defect_form == ""
    twins: dict[str, set[tuple]] = {}
    for row in rows:
        twins.setdefault(row.capture_event, set()).add((row.defect_size, row.defect_contrast))
    assert all(len(values) == 1 for values in twins.values())  # one pouch, one truth
    assert_cells_conform_to_the_dictionary(tmp_path / "data")


def test_a_malformed_truth_cell_is_an_error_naming_the_column(tmp_path: Path) -> None:
    params = section("synth", seed=11, image_height=64, image_width=384, n_normal_events=1,
                     n_defect_events=1, capture_days=1)  # fmt: skip
    generate_dataset(params, tmp_path / "data")
    path = tmp_path / "data" / "manifest.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[13] = "wide"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    with pytest.raises(DatasetError, match=r"manifest\.csv:2: column 'defect_size'"):
        read_manifest(tmp_path / "data")


def test_mask_measures_known_answers() -> None:
    mask = np.zeros((40, 60), dtype=bool)
    mask[5:35, 20:23] = True  # a breach 3 px wide crossing 30 rows
    pixels = np.full(mask.shape, 160.0)
    pixels[mask] = 100.0
    assert width_across_band_px(mask) == 3.0
    assert equivalent_diameter_px(mask) == pytest.approx(2 * math.sqrt(90 / math.pi))
    assert ring_contrast(pixels, mask) == pytest.approx(60.0)
    truth = measured_truth("seal_breach", pixels, mask, mm_per_px=0.075)
    assert truth["defect_size"] == pytest.approx(0.225) and truth["defect_size_unit"] == "mm"
    empty = measured_truth("seal_breach", pixels, np.zeros_like(mask), mm_per_px=0.075)
    assert math.isnan(empty["defect_size"]) and empty["defect_size_unit"] == ""
