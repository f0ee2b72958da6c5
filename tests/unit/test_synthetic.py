"""The synthetic stand-in dataset: deterministic, masks agree with labels, twins grouped."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import cli
from pipeline.config import ParamsError, from_mapping
from pipeline.config.synth import DEFECT_TYPES, Params
from pipeline.data.defects import DEFECTS
from pipeline.data.manifest import DatasetError, read_manifest
from pipeline.data.seal_texture import sample_pouch
from pipeline.data.synthetic import (
    GENERATOR_VERSION,
    generate_dataset,
    plan_events,
    render_event,
    write_contact_sheet,
)
from tests.params import raw_section, section, write_params

TINY = section(
    "synth",
    seed=7,
    image_height=64,
    image_width=384,
    n_normal_events=6,
    n_defect_events=7,
    capture_days=3,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(TINY, out)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _gray(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "L"
        return np.asarray(image)


def test_same_params_give_byte_identical_dataset(dataset: Path, tmp_path: Path) -> None:
    generate_dataset(TINY, tmp_path / "again")
    first, second = _files(dataset), _files(tmp_path / "again")
    assert "manifest.csv" in first and "dataset.json" in first
    assert first == second
    generate_dataset(dataclasses.replace(TINY, seed=8), tmp_path / "other")
    hashes = {row.sha256 for row in read_manifest(dataset)}
    assert hashes.isdisjoint(row.sha256 for row in read_manifest(tmp_path / "other"))


def test_an_event_renders_the_same_whatever_else_is_generated() -> None:
    bigger = dataclasses.replace(TINY, n_defect_events=20)
    event, same_event = plan_events(TINY)[7], plan_events(bigger)[7]
    assert event.defect_type == same_event.defect_type == "wrinkle"
    (views, truth), (same_views, same_truth) = (
        render_event(TINY, event),
        render_event(bigger, same_event),
    )
    assert truth is not None and truth == same_truth
    for (a, mask_a), (b, mask_b) in zip(views, same_views, strict=True):
        assert mask_a is not None and mask_b is not None
        assert np.array_equal(a, b) and np.array_equal(mask_a, mask_b)


def test_masks_agree_with_labels(dataset: Path) -> None:
    rows = read_manifest(dataset)
    assert len(rows) == 2 * (TINY.n_normal_events + TINY.n_defect_events)
    for row in rows:
        image = _gray(dataset / row.image_path)
        assert image.shape == (row.height, row.width) == (TINY.image_height, TINY.image_width)
        assert (row.label == 1) == bool(row.mask_path) == (row.defect_type != "none")
        if row.label:
            mask = _gray(dataset / row.mask_path)
            assert mask.shape == image.shape
            assert set(np.unique(mask)) == {0, 255}, row.image_id


def test_defects_change_the_pixels_under_their_mask() -> None:
    for kind, draw in DEFECTS.items():
        for severity in (0.0, 1.0):
            rng = np.random.default_rng(3)
            pouch = sample_pouch(rng, TINY)
            image, mask, _ = draw(pouch, rng, severity)
            change = np.abs(image - pouch.image)
            assert mask.any(), kind
            inside, outside = change[mask].mean(), change[~mask].mean()
            assert inside >= 2.0 and inside > 5 * outside, (kind, severity, inside, outside)


def test_subtle_end_is_fainter_than_the_strong_end() -> None:
    for kind, draw in DEFECTS.items():
        changes = []
        for severity in (0.0, 1.0):
            rng = np.random.default_rng(5)
            pouch = sample_pouch(rng, TINY)
            image, mask, _ = draw(pouch, rng, severity)
            changes.append(np.abs(image - pouch.image).sum())
        assert changes[0] < changes[1], kind


def test_defect_share_and_every_type_covered(dataset: Path) -> None:
    rows = read_manifest(dataset)
    labels = Counter(row.label for row in rows)
    assert labels == {0: 2 * TINY.n_normal_events, 1: 2 * TINY.n_defect_events}
    per_type = Counter(row.defect_type for row in rows if row.label)
    assert per_type == {kind: 2 for kind in DEFECT_TYPES}
    events = plan_events(dataclasses.replace(TINY, n_defect_events=15))
    cycled = Counter(event.defect_type for event in events if event.label)
    assert sorted(cycled.values()) == [2] * 6 + [3]


def test_twin_views_share_capture_event_and_ids_follow_ssi(dataset: Path) -> None:
    by_event = defaultdict(list)
    for row in read_manifest(dataset):
        by_event[row.capture_event].append(row)
        cls = "defect" if row.label else "good"
        stamp = row.capture_date.replace("-", "") + "_" + row.capture_time.replace(":", "")
        assert row.capture_event == f"{cls}_{stamp}"
        assert row.image_id == f"{cls}-{row.view_tag}_{stamp}"
        assert re.fullmatch(r"synthetic:7:\d+", row.source_file)
    assert len(by_event) == TINY.n_normal_events + TINY.n_defect_events
    for rows in by_event.values():
        assert sorted(row.view_tag for row in rows) == ["12", "23"]
        assert len({(row.label, row.defect_type) for row in rows}) == 1
        first, second = (_gray(Path(dataset) / row.image_path) for row in rows)
        assert not np.array_equal(first, second)  # two views, not two copies


def test_both_classes_span_several_dates(dataset: Path) -> None:
    dates = defaultdict(set)
    for row in read_manifest(dataset):
        dates[row.label].add(row.capture_date)
    assert len(dates[0]) == len(dates[1]) == TINY.capture_days


def test_dataset_info_identifies_the_generator(dataset: Path) -> None:
    info = json.loads((dataset / "dataset.json").read_text())
    assert info["source"] == "synthetic" and info["licence"] == "CC0-1.0 (generated)"
    assert info["seed"] == 7 and (info["image_height"], info["image_width"]) == (64, 384)
    assert info["generator"]["version"] == GENERATOR_VERSION
    assert info["params"]["n_defect_events"] == 7


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"subtle_share": 1.5}, "subtle_share"),
        ({"defect_types": ["channel", "scratch"]}, "defect_types"),
        ({"views_per_event": 3}, "views_per_event"),
        ({"band_height_range": [0.3, 0.1]}, "band_height_range"),
        ({"start_date": "01/03/2024"}, "start_date"),
        ({"nuisance": {"rotation_deg": -1.0}}, "rotation_deg"),
        ({"nuisance": {"tilt": 1.0}}, "tilt"),
        ({"n_normal_events": "many"}, "n_normal_events"),
    ],
)
def test_invalid_params_are_rejected_naming_the_key(raw: dict, key: str) -> None:
    with pytest.raises(ParamsError, match=key):
        from_mapping(Params, raw_section("synth", **raw), where="params.yaml:synth")


def test_generate_validates_params_built_in_code(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="subtle_share"):
        generate_dataset(dataclasses.replace(TINY, subtle_share=2.0), tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_existing_dataset_is_kept_unless_forced(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    small = dataclasses.replace(TINY, n_normal_events=2, n_defect_events=1)
    generate_dataset(small, out)
    before = _files(out)
    with pytest.raises(DatasetError, match="--force"):
        generate_dataset(TINY, out)
    assert _files(out) == before
    generate_dataset(TINY, out, force=True)
    assert _files(out) == _files(dataset)


def test_cli_synth_writes_dataset_and_contact_sheet(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    write_params(
        params,
        "synth:\n  image_height: 64\n  image_width: 384\n  n_normal_events: 3\n"
        "  n_defect_events: 7\n  views_per_event: 1\n",
    )
    sheet = tmp_path / "sheet.png"
    code = cli.main(["data", "synth", "--out", str(tmp_path / "data"), "--params", str(params),
                     "--sheet", str(sheet)])  # fmt: skip
    assert code == 0
    assert len(read_manifest(tmp_path / "data")) == 10
    with Image.open(sheet) as image:
        assert image.width >= 384 and image.height >= 64 * 5  # 3 normal + 7 types, 2 columns
    assert (
        cli.main(["data", "synth", "--out", str(tmp_path / "data"), "--params", str(params)]) == 2
    )


def test_contact_sheet_outlines_masks_in_colour(dataset: Path, tmp_path: Path) -> None:
    write_contact_sheet(dataset, tmp_path / "sheet.png")
    with Image.open(tmp_path / "sheet.png") as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 0
