"""``sealaudit monitor`` end to end on the drift fixture: a tiny seeded monitor, lots written by
``generate_lots``, the real command with its history, report and exit codes.

In-control lots must stay quiet and a brightness drift must raise the alarm once it starts.
The world is tiny (32 x 128 images, an untrained seeded autoencoder), so the figures here say
nothing about detection delay or false-alarm rates at the real resolution:
``benchmarks/monitor_drift.py`` measures those.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from pipeline.cli import main
from pipeline.data.drift import generate_lots
from pipeline.monitoring.fitted import load_monitor, save_monitor
from pipeline.monitoring.history import COLUMNS
from tests.monitor_world import SYNTH, fit_world_monitor

LOT_SIZE = 16


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("monitor")
    monitor, checkpoint = fit_world_monitor(root)
    generate_lots(
        root / "in_control",
        SYNTH,
        n_lots=12,
        images_per_lot=LOT_SIZE,
        drift_start_lot=12,
        drift="none",
        seed=7,
    )
    generate_lots(
        root / "drifting",
        SYNTH,
        n_lots=8,
        images_per_lot=LOT_SIZE,
        drift_start_lot=4,
        drift="brightness",
        seed=7,
    )
    return {"root": root, "monitor": monitor, "checkpoint": checkpoint}


def _monitor(world: dict[str, Path], batch: Path, tag: str, *extra: str) -> tuple[int, dict]:
    report_dir = world["root"] / f"report_{tag}"
    args = [
        "monitor",
        str(batch),
        "--reference",
        str(world["monitor"]),
        "--report-dir",
        str(report_dir),
        "--history",
        str(world["root"] / f"history_{tag}.csv"),
        *extra,
    ]
    code = main(args)
    path = report_dir / "monitoring_report.json"
    return code, json.loads(path.read_text()) if path.is_file() else {}


def _batch(source: Path, target: Path, lots: set[str]) -> Path:
    """A batch folder holding the images of ``lots`` (production delivers lots in batches)."""
    target.mkdir()
    for image in source.glob("*.png"):
        if image.name.split("_")[0] in lots:
            shutil.copy(image, target / image.name)
    return target


@pytest.mark.assures("drift_alarm", "HZ-02")
def test_in_control_lots_stay_quiet_and_every_image_is_recorded(world: dict[str, Path]) -> None:
    code, report = _monitor(world, world["root"] / "in_control", "quiet")
    assert code == 0 and report["alarm"] is False, report["alarm_sources"]
    assert report["images"]["scored"] == 12 * LOT_SIZE and report["images"]["skipped"] == []
    assert [lot["lot_id"] for lot in report["lots"]] == [f"L{i:03d}" for i in range(12)]
    with (world["root"] / "history_quiet.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 12 * LOT_SIZE
    assert {row["model_version"] for row in rows} == {report["reference"]["model_version"]}
    assert {row["decision"] for row in rows} <= {"PASS", "REJECT"}
    assert rows[0]["lot_id"] == "L000" and rows[0]["timestamp"] == "2024-04-01T06:00:00"
    png = world["root"] / "report_quiet" / report["plots"]["control_chart"]
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.assures("drift_alarm", "HZ-02")
def test_a_drift_raises_the_alarm_in_the_batch_where_it_starts(
    world: dict[str, Path], tmp_path: Path
) -> None:
    before = _batch(world["root"] / "drifting", tmp_path / "b1", {"L000", "L001", "L002", "L003"})
    after = _batch(world["root"] / "drifting", tmp_path / "b2", {"L004", "L005", "L006", "L007"})
    code, report = _monitor(world, before, "drift")
    assert code == 0 and report["alarm"] is False
    code, report = _monitor(world, after, "drift")
    assert code == 3 and report["exit_code"] == 3
    assert (report["history"]["rows_before"], report["history"]["rows_added"]) == (64, 64)
    assert {"ewma", "cusum", "lot_test"} <= set(report["alarm_sources"])
    for chart in ("ewma", "cusum"):
        assert report["charts"][chart]["alarms_outside_batch"] == 0
        assert report["charts"][chart]["first_alarm_in_batch"]["lot_id"] >= "L004"
    flagged = [lot["lot_id"] for lot in report["lots"] if lot["alarms"]["lot_test"]]
    assert flagged and set(flagged) <= {"L004", "L005", "L006", "L007"}


def test_a_corrupt_image_is_skipped_and_a_rerun_adds_nothing(
    world: dict[str, Path], tmp_path: Path
) -> None:
    batch = _batch(world["root"] / "in_control", tmp_path / "batch", {"L000", "L001"})
    (batch / "L001_20240402_230000_0099.png").write_bytes(b"not a png")
    code, report = _monitor(world, batch, "rerun")
    assert code == 0 and report["images"]["scored"] == 2 * LOT_SIZE
    [skipped] = report["images"]["skipped"]
    assert skipped["file"] == "L001_20240402_230000_0099.png" and "unreadable" in skipped["reason"]
    code, again = _monitor(world, batch, "rerun")
    assert code == 0 and again["history"]["rows_added"] == 0
    assert again["images"]["already_in_history"] == 2 * LOT_SIZE
    assert again["lots"] == report["lots"]


def test_a_history_of_another_model_version_needs_new_history(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = _batch(world["root"] / "in_control", tmp_path / "batch", {"L000"})
    assert _monitor(world, batch, "versions")[0] == 0
    refit = dataclasses.replace(load_monitor(world["monitor"]), extra={"refit": True})
    other = {**world, "monitor": tmp_path / "other.npz"}
    save_monitor(refit, other["monitor"])
    capsys.readouterr()
    code, _ = _monitor(other, batch, "versions")
    assert code == 2 and "--new-history" in capsys.readouterr().err
    code, report = _monitor(other, batch, "versions", "--new-history")
    assert code == 0 and report["history"]["rows_before"] == 0
    archived = Path(report["history"]["archived"])
    assert archived.is_file() and len(archived.read_text().splitlines()) == 1 + LOT_SIZE


def test_a_missing_batch_folder_is_a_user_error(world: dict[str, Path], tmp_path: Path) -> None:
    assert _monitor(world, tmp_path / "nowhere", "missing")[0] == 2
