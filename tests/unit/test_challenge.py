"""The capability challenge set: planned sizes per requirement row, byte-stable, own seed."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pipeline import cli
from pipeline.config import ParamsError
from pipeline.data.challenge import ROWS, generate_challenge, plan_challenge, render_params
from pipeline.data.defect_truth import SIZE_RANGES
from pipeline.data.manifest import DatasetError, read_manifest
from tests.params import section, write_params

SYNTH = section("synth", image_height=64, image_width=384)
TINY = section("challenge", n_normal_events=3, events_per_requirement=2)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def challenge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("challenge") / "challenge"
    summary = generate_challenge(SYNTH, TINY, out)
    assert (summary.events, summary.normal_events, summary.images) == (19, 3, 38)
    return out


def test_regeneration_is_byte_identical(challenge: Path, tmp_path: Path) -> None:
    generate_challenge(SYNTH, TINY, tmp_path / "again")
    assert _files(challenge) == _files(tmp_path / "again")


def test_every_requirement_row_gets_its_events_with_truth(challenge: Path) -> None:
    rows = read_manifest(challenge)
    assert all(row.source_file.startswith("challenge:20261203:") for row in rows)
    assert all(row.capture_date.startswith("2026-12") for row in rows)  # apart from data/
    defects = [row for row in rows if row.label and row.view_tag == "12"]
    assert Counter((r.defect_type, r.defect_form) for r in defects) == {row: 2 for row in ROWS}
    for row in defects:
        low, high = SIZE_RANGES[row.defect_type, row.defect_form]
        floor = 1 / SYNTH.px_per_mm  # sizes are recorded as rendered: one pixel at least
        assert min(low, floor) * 0.8 <= row.defect_size <= max(high, floor) * 1.15, row
    assert json.loads((challenge / "dataset.json").read_text())["source"] == "challenge"


def test_sizes_spread_log_uniformly_and_width_deviations_are_long_enough() -> None:
    params = section("challenge", n_normal_events=1, events_per_requirement=40)
    planned = plan_challenge(params, render_params(SYNTH, params))
    for kind, form in ROWS:
        sizes = [
            p.override.size
            for p in planned
            if p.override and (p.event.defect_type, p.override.form or "") == (kind, form)
        ]
        low, high = SIZE_RANGES[kind, form]
        position = np.log(np.sort(sizes) / low) / math.log(high / low)
        # one size in each fortieth of log size: the k-th lies in [k/40, (k+1)/40)
        assert np.all(np.floor(position * 40) == np.arange(40)), (kind, form)
    lengths = [p.override.length_mm for p in planned if p.event.defect_type == "width_deviation"]
    assert len(lengths) == 40 and all(10.0 <= length <= 40.0 for length in lengths)
    sizes_in_order = [p.override.size for p in planned if p.event.defect_type == "burn"]
    assert sizes_in_order != sorted(sizes_in_order)  # shuffled, so size is not tied to time


def test_the_synth_seed_is_refused() -> None:
    with pytest.raises(ParamsError, match=r"challenge\.seed"):
        generate_challenge(SYNTH, section("challenge", seed=SYNTH.seed), Path("unused"))


def test_an_existing_challenge_set_is_kept_unless_forced(challenge: Path, tmp_path: Path) -> None:
    out = tmp_path / "challenge"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="--force"):
        generate_challenge(SYNTH, TINY, out)
    assert (out / "keep.txt").read_text() == "mine"
    generate_challenge(SYNTH, TINY, out, force=True)
    assert _files(out) == _files(challenge)


def test_cli_writes_the_challenge_set_and_reports_the_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = write_params(
        tmp_path / "params.yaml",
        {
            "synth": {"image_height": 64, "image_width": 384},
            "challenge": {"n_normal_events": 2, "events_per_requirement": 1},
        },  # fmt: skip
    )
    out = tmp_path / "challenge"
    assert cli.main(["data", "challenge", "--out", str(out), "--params", str(params)]) == 0
    assert "wrote 20 images (2 normal and 8 defective events)" in capsys.readouterr().out
    assert len(read_manifest(out)) == 20
    assert cli.main(["data", "challenge", "--out", str(out), "--params", str(params)]) != 0
