"""The prepare stage: group-aware, seeded, sized splits with a clear error when data is short."""

from __future__ import annotations

import csv
import json
import typing
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline import prepare
from pipeline.config import ParamsError, load_section
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from tests.params import section, write_params
from tests.worlds import write_tiny_dataset

PARAMS = section("prepare", seed=3, test_per_class=4, val_normal=4, val_defect_share=0.2)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_dataset(
        tmp_path_factory.mktemp("data"), n_normal_events=12, n_defect_events=6
    )


@pytest.mark.assures("HZ-03")
def test_capture_events_never_straddle_splits(dataset: Path, tmp_path: Path) -> None:
    prepare.run(dataset, PARAMS, tmp_path)
    assignment = read_splits(tmp_path / "splits.csv")
    splits_of_event = defaultdict(set)
    for row in read_manifest(dataset):
        if row.image_id in assignment:
            splits_of_event[row.capture_event].add(assignment[row.image_id])
    assert all(len(splits) == 1 for splits in splits_of_event.values())


@pytest.mark.assures("HZ-03")
def test_split_sizes_and_train_is_normal_only(dataset: Path, tmp_path: Path) -> None:
    summary = prepare.run(dataset, PARAMS, tmp_path)["splits"]
    assert summary["test"]["normal"] == 4 and summary["test"]["defective"] == 4
    assert (
        summary["val"]["normal"] == 4 and summary["val"]["defective"] == 2
    )  # round(4*.2/.8)=1 -> event of 2
    assert summary["train"]["defective"] == 0
    assert summary["train"]["normal"] == 24 - 8


def test_same_seed_same_splits_other_seed_differs(dataset: Path, tmp_path: Path) -> None:
    prepare.run(dataset, PARAMS, tmp_path / "a")
    prepare.run(dataset, PARAMS, tmp_path / "b")
    prepare.run(dataset, section("prepare", seed=4, test_per_class=4, val_normal=4), tmp_path / "c")
    first = (tmp_path / "a" / "splits.csv").read_bytes()
    assert first == (tmp_path / "b" / "splits.csv").read_bytes()
    assert first != (tmp_path / "c" / "splits.csv").read_bytes()


def test_too_small_dataset_is_a_clear_error(dataset: Path, tmp_path: Path) -> None:
    code = prepare.main(
        [
            "--data",
            str(dataset),
            "--params",
            str(_params_file(tmp_path, 100)),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert not (tmp_path / "splits.csv").exists()


def test_official_revision_is_followed(dataset: Path, tmp_path: Path) -> None:
    rows = read_manifest(dataset)
    with (dataset / "official_splits.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "revision", "split"])
        for n, row in enumerate(rows):
            writer.writerow([row.image_id, "rev_6", "test" if n % 4 == 0 else "train"])
    params = section("prepare", strategy="official", official_revision="rev_6", val_normal=2)
    prepare.run(dataset, params, tmp_path)
    assignment = read_splits(tmp_path / "splits.csv")
    assert all(assignment[row.image_id] == "test" for n, row in enumerate(rows) if n % 4 == 0)
    summary = json.loads((tmp_path / "split_summary.json").read_text())
    assert summary["official_revision"] == "rev_6"
    (dataset / "official_splits.csv").unlink()


def _params_file(tmp_path: Path, test_per_class: int) -> Path:
    path = tmp_path / "params.yaml"
    write_params(
        path, f"prepare:\n  seed: 1\n  test_per_class: {test_per_class}\n  val_normal: 2\n"
    )
    return path


def _official_lists(dataset: Path, test_events: int = 2) -> None:
    """rev_6: the first ``test_events`` events of each class are test, the rest training."""
    rows = read_manifest(dataset)
    events = {
        label: sorted({r.capture_event for r in rows if r.label == label}) for label in (0, 1)
    }
    test = {e for label in (0, 1) for e in events[label][:test_events]}
    with (dataset / "official_splits.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "revision", "split"])
        for row in rows:
            split = "test" if row.capture_event in test else "train"
            writer.writerow([row.image_id, "rev_6", split])


@pytest.mark.parametrize("strategy", ["official", "random"])
def test_val_takes_a_capped_share_of_a_small_normal_pool(
    tmp_path: Path, strategy: typing.Literal["official", "random"]
) -> None:
    # 24 normal images; 4 go to test, so 20 are left for val and train.
    dataset = write_tiny_dataset(tmp_path / "data", n_normal_events=12, n_defect_events=6)
    _official_lists(dataset)
    params = section(
        "prepare", strategy=strategy, test_per_class=4, val_normal=12, val_defect_share=0.2
    )
    splits = prepare.run(dataset, params, tmp_path / "out")["splits"]
    assert splits["val"]["normal"] == 6  # min(12, 0.30 x 20)
    assert splits["train"]["normal"] == 14


def test_train_smaller_than_val_is_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dataset = write_tiny_dataset(tmp_path / "data", n_normal_events=12, n_defect_events=6)
    params = section("prepare", test_per_class=4, val_normal=12, val_normal_max_share=0.8)
    with caplog.at_level("WARNING", logger="pipeline.prepare"):
        splits = prepare.run(dataset, params, tmp_path / "out")["splits"]
    assert splits["train"]["images"] < splits["val"]["images"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "fewer than val's" in warning and "prepare.val_normal_max_share" in warning


def test_val_share_outside_its_range_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    write_params(path, "prepare:\n  val_normal_max_share: 0\n")
    with pytest.raises(ParamsError, match="val_normal_max_share"):
        load_section(path, "prepare")
