"""Band alignment: known geometry in, straight band at fixed rows out; masks follow images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.models.alignment import (
    Alignment,
    AlignmentError,
    _sampling_grid,
    align_image,
    align_images,
    band_edges,
    prepare_images,
    prepare_masks,
    reference_band_height,
)
from pipeline.models.backmapping import map_to_source

HEIGHT, WIDTH = 64, 256
BAND = Alignment("band", (0.25, 0.75))


def tilted_band(top0: float, thickness: float, slope: float, darker: bool = True) -> np.ndarray:
    """(H, W) web 0.6 with a band 0.3 (or 0.9) whose upper edge is top0 + slope * col."""
    rows = np.arange(HEIGHT, dtype=np.float64)[:, None]
    top = top0 + slope * np.arange(WIDTH)[None, :]
    inside = np.clip(rows - top + 0.5, 0, 1) * np.clip(top + thickness - rows + 0.5, 0, 1)
    band_level = 0.3 if darker else 0.9
    noise = np.random.default_rng(0).normal(0, 0.01, (HEIGHT, WIDTH))
    return (0.6 + (band_level - 0.6) * inside + noise).astype(np.float32)


@pytest.mark.parametrize("darker", [True, False])
def test_band_edges_recover_a_tilted_band(darker: bool) -> None:
    slope = math.tan(math.radians(1.0))
    image = tilted_band(20.0, 16.0, slope, darker)
    top, bottom = band_edges(image)
    expected_top = 20.0 + slope * np.arange(WIDTH)
    assert np.abs(top - expected_top).max() < 1.0
    assert np.abs((bottom - top) - 16.0).max() < 1.5


def test_a_local_notch_does_not_bend_the_fitted_edge() -> None:
    image = tilted_band(20.0, 16.0, 0.0)
    image[20:28, 100:140] = 0.6  # the band's upper half is missing over 40 columns
    top, _ = band_edges(image)
    assert np.abs(top - 20.0).max() < 1.0


def test_aligned_band_lands_on_the_configured_rows_whatever_its_placement() -> None:
    outputs = []
    for top0, slope in [(12.0, 0.0), (30.0, 0.0), (18.0, 0.02)]:
        aligned, geometry = align_image(tilted_band(top0, 16.0, slope), BAND, (32, 128))
        assert geometry.shape == (2, WIDTH)
        outputs.append(aligned)
    rows = np.stack(outputs).mean(axis=2)  # (3, 32) row profiles
    band_rows = rows[:, 10:22]  # well inside rows 8-24
    web_rows = np.concatenate([rows[:, :5], rows[:, 27:]], axis=1)
    assert band_rows.max() < 0.35 and web_rows.min() > 0.55
    assert np.abs(rows - rows[0]).max() < 0.1


def test_a_defect_mask_follows_its_image() -> None:
    image = tilted_band(22.0, 16.0, 0.01)
    mask = np.zeros_like(image, dtype=bool)
    image[28:31, 60:63] = 1.0
    mask[28:31, 60:63] = True
    aligned = prepare_images(image[None], BAND, 32, 128)[0]
    aligned_mask = prepare_masks(image[None], mask[None], BAND, 32, 128)[0]
    assert aligned_mask.any()
    peak = np.unravel_index(np.argmax(aligned), aligned.shape)
    assert aligned_mask[max(peak[0] - 1, 0) : peak[0] + 2, max(peak[1] - 1, 0) : peak[1] + 2].any()


def test_at_the_stored_size_masks_stay_with_their_unaligned_images() -> None:
    image = tilted_band(22.0, 16.0, 0.01)
    mask = np.zeros_like(image, dtype=bool)
    mask[28:31, 60:63] = True
    kept = prepare_images(image[None], BAND, HEIGHT, WIDTH)[0]
    kept_mask = prepare_masks(image[None], mask[None], BAND, HEIGHT, WIDTH)[0]
    assert np.array_equal(kept, image.astype(np.float32))  # taken as prepared ...
    assert np.array_equal(kept_mask, mask)  # ... so the mask stays where the defect is


def test_without_alignment_images_are_resized_and_masks_max_pooled() -> None:
    image = tilted_band(20.0, 16.0, 0.0)
    mask = np.zeros_like(image, dtype=bool)
    mask[5, 7] = True  # one source pixel
    assert prepare_images(image[None], Alignment(), 16, 64).shape == (1, 16, 64)
    assert prepare_masks(image[None], mask[None], Alignment(), 16, 64)[0].sum() == 1


def test_a_working_size_stack_is_taken_as_prepared() -> None:
    stack = np.random.default_rng(1).random((2, 32, 128), dtype=np.float32)
    assert prepare_images(stack, BAND, 32, 128) is stack or np.array_equal(
        prepare_images(stack, BAND, 32, 128), stack
    )


def test_a_flat_image_has_no_band() -> None:
    with pytest.raises(AlignmentError, match="no seal band"):
        band_edges(np.full((HEIGHT, WIDTH), 0.5, dtype=np.float32))


def test_alignment_round_trips_and_checks() -> None:
    assert Alignment.from_dict(BAND.to_dict()) == BAND
    assert Alignment.from_dict(None) == Alignment()
    with pytest.raises(ValueError, match="band_rows"):
        Alignment("band", (0.8, 0.2)).check()


def test_fixed_scale_keeps_a_narrower_band_narrower() -> None:
    wide, narrow = tilted_band(20.0, 20.0, 0.0), tilted_band(22.0, 12.0, 0.0)
    reference = reference_band_height(np.stack([wide, wide, narrow]))
    assert abs(reference - 20.0) < 1.5
    fixed = Alignment("band", (0.25, 0.75), "fixed", reference)
    rows_dark = []
    for image in (wide, narrow):
        aligned, _ = align_image(image, fixed, (32, 128))
        rows_dark.append(int((aligned.mean(axis=1) < 0.45).sum()))
        stretched, _ = align_image(image, BAND, (32, 128))
        assert 14 <= int((stretched.mean(axis=1) < 0.45).sum()) <= 18  # always ~16 rows
    assert rows_dark[0] - rows_dark[1] >= 6  # 20 vs 12 source rows stay apart


def test_fixed_scale_needs_a_reference_height() -> None:
    with pytest.raises(ValueError, match="reference_height"):
        Alignment("band", (0.25, 0.75), "fixed", 0.0).check()
    fixed = Alignment("band", (0.25, 0.75), "fixed", 18.5)
    assert Alignment.from_dict(fixed.to_dict()) == fixed


def _blob_round_trip(
    image: np.ndarray, at: tuple[int, int], alignment: Alignment
) -> tuple[np.ndarray, np.ndarray | None]:
    """Plant a bright 3 x 3 blob centred ``at`` (row, col), align, take the blob alone in the
    working frame (the difference it makes there: what a heatmap shows) and map it back.

    Returns the (H, W) back-mapped blob and the geometry of the aligned image."""
    planted = image.copy()
    planted[at[0] - 1 : at[0] + 2, at[1] - 1 : at[1] + 2] = 1.0
    work, geometry = align_images(np.stack([planted, image]), alignment, 32, 128)
    blob = np.abs(work[0] - work[1])
    edges = None if geometry is None else geometry[0]
    return map_to_source(blob, edges, alignment, image.shape), edges


@pytest.mark.parametrize(
    "alignment",
    [BAND, Alignment("band", (0.25, 0.75), "fixed", 20.0)],
    ids=["stretch", "fixed"],
)
def test_a_blob_maps_back_to_where_it_was_planted(alignment: Alignment) -> None:
    slope = math.tan(math.radians(1.0))
    image = tilted_band(21.0, 12.0, slope)  # offset, tilted, narrower than the fixed reference
    # Off the band's centre line, where stretch and fixed scale rows differently.
    at = (int(round(21.0 + slope * 170 + 2)), 170)
    back, edges = _blob_round_trip(image, at, alignment)
    assert back.shape == image.shape and edges is not None
    row, col = np.unravel_index(np.argmax(back), back.shape)
    assert abs(col - at[1]) <= 2
    assert abs(row - at[0]) <= 1
    assert edges[0, col] - 1 <= row <= edges[1, col] + 1  # inside the band


def test_without_alignment_a_blob_maps_back_through_the_plain_resize() -> None:
    image = tilted_band(20.0, 16.0, 0.0)
    back, edges = _blob_round_trip(image, (40, 77), Alignment())
    assert edges is None and back.shape == image.shape
    row, col = np.unravel_index(np.argmax(back), back.shape)
    assert abs(row - 40) <= 1 and abs(col - 77) <= 2
    flat = map_to_source(np.full((32, 128), 0.5), None, Alignment(), image.shape)
    np.testing.assert_allclose(flat, 0.5)  # a resize reaches every source pixel, edges too


@pytest.mark.parametrize(
    "alignment",
    [BAND, Alignment("band", (0.25, 0.75), "fixed", 24.0)],
    ids=["stretch", "fixed"],
)
def test_source_pixels_outside_the_working_frame_get_zero(alignment: Alignment) -> None:
    # band_rows (0.25, 0.75) of 32 rows: the frame spans the mapped band and half its height
    # above and below; with a flat band from row 20 to 36 (fixed: centre 28 +- 12) that is
    # rows 12-44 (stretch) or 4-52 (fixed) of the source.
    _, geometry = align_image(tilted_band(20.0, 16.0, 0.0), alignment, (32, 128))
    back = map_to_source(np.ones((32, 128)), geometry, alignment, (HEIGHT, WIDTH))
    inside_rows = np.flatnonzero(back[:, WIDTH // 2] > 0.5)
    top, bottom = geometry[:, WIDTH // 2]
    height = bottom - top if alignment.scale == "stretch" else alignment.reference_height
    centre = (top + bottom) / 2
    assert abs(inside_rows[0] - (centre - height)) <= 1
    assert abs(inside_rows[-1] - (centre + height)) <= 1
    assert back[0].max() == 0.0 and back[-1].max() == 0.0


def test_align_images_gives_prepare_images_and_the_fitted_edges() -> None:
    stack = np.stack([tilted_band(18.0, 16.0, 0.02), tilted_band(26.0, 14.0, -0.01)])
    work, geometry = align_images(stack, BAND, 32, 128)
    np.testing.assert_array_equal(work, prepare_images(stack, BAND, 32, 128))
    assert geometry is not None and geometry.shape == (2, 2, WIDTH)
    np.testing.assert_allclose(geometry[1], np.stack(band_edges(stack[1])), atol=1e-4)
    assert align_images(work, BAND, 32, 128)[1] is None  # taken as prepared: the frame is its own


@pytest.mark.parametrize(
    "alignment",
    [BAND, Alignment("band", (0.2, 0.7), "fixed", 22.0)],
    ids=["stretch", "fixed"],
)
def test_map_to_source_inverts_the_sampling_grid(alignment: Alignment) -> None:
    # A working map holding each pixel's source row is linear along rows and columns, so
    # bilinear sampling is exact: mapped back, every source pixel must read its own row.
    image = tilted_band(17.0, 14.0, -0.03)
    _, geometry = align_image(image, alignment, (32, 128))
    grid = _sampling_grid(geometry[0], geometry[1], image.shape, (32, 128), alignment)
    source_rows = (grid[0, ..., 1].numpy().astype(np.float64) + 1) / 2 * HEIGHT - 0.5
    back = map_to_source(source_rows, geometry, alignment, image.shape)
    expected = np.broadcast_to(np.arange(HEIGHT, dtype=np.float64)[:, None], image.shape)
    seen = back != 0.0
    inner = seen & np.roll(seen, 1, axis=0) & np.roll(seen, -1, axis=0)  # off the frame's rim
    inner[:, :2] = inner[:, -2:] = False  # outer half columns: the resize clamps there
    assert inner.sum() > HEIGHT * WIDTH // 3
    np.testing.assert_allclose(back[inner], expected[inner], atol=2e-3)
