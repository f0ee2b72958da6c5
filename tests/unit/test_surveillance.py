"""Surveillance pieces without a model: lot/time from names or a CSV, the append-only
history, and the alarm logic on hand-made score streams with known answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from pipeline.config.fit_monitor import ChartParams
from pipeline.detector import Detector, monitoring_detector
from pipeline.errors import SealauditError
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import save_autoencoder
from pipeline.models.mahalanobis import RandomFeatureMahalanobis
from pipeline.models.roi import Roi
from pipeline.models.thresholds import fit_unsupervised
from pipeline.monitoring import calibration, history
from pipeline.monitoring.alarms import analyse, lot_summary
from pipeline.monitoring.batch import parse_name, read_batch
from pipeline.monitoring.fitted import (
    SCORE_NAME,
    FittedMonitor,
    MonitorError,
    load_monitor,
    resolve_reference,
    save_monitor,
)
from pipeline.monitoring.history import HistoryError, HistoryRow
from pipeline.monitoring.run_length import calibrate_limits
from pipeline.monitoring.spc import ReferenceDistribution
from pipeline.provenance import sha256_file
from tests.params import section

REF_MEAN, REF_SD = 10.0, 1.0
NOMINAL = section(
    "fit_monitor", chart={"limits": "nominal"}
).chart  # textbook EWMA (0.2, 3) and CUSUM (0.5, 5)


def _monitor(chart: ChartParams | None = None) -> FittedMonitor:
    """A monitor whose reference is 400 normal quantiles scaled to mean 10 and sd 1 exactly."""
    q = stats.norm.ppf((np.arange(400) + 0.5) / 400)
    ref = ReferenceDistribution.from_scores(REF_MEAN + REF_SD * (q - q.mean()) / q.std(ddof=1))
    threshold = fit_unsupervised(ref.sorted_scores, 2.0, score_name=SCORE_NAME)
    fitted = FittedMonitor(
        # the alarm logic never scores images; a small real estimator so the file round-trips
        estimator=RandomFeatureMahalanobis(n_features_kept=4).fit(
            np.random.default_rng(0).normal(size=(20, 4))
        ),
        layer="enc1",
        feature_shape=(4, 1, 1),
        checkpoint_path="model.pt",
        checkpoint_sha256="0" * 64,
        architecture="attention_ae",
        reference=ref,
        chart=calibration.chart_settings(chart or NOMINAL, ref, seed=0),
    )
    return fitted.with_thresholds([threshold])  # as the calibrate stage does


def _detector(monitor: FittedMonitor, folder: Path) -> Detector:
    """``monitor`` as a detector on a small untrained autoencoder saved under ``folder``."""
    model = build_model("plain_ae", AutoencoderConfig(32, 128, widths=(4, 8)), seed=0)
    checkpoint = folder / "model.pt"
    save_autoencoder(checkpoint, model, "plain_ae", Roi("full", {}, np.ones((32, 128), bool)))
    fitted = dataclasses.replace(monitor, checkpoint_sha256=sha256_file(checkpoint))
    return monitoring_detector(fitted, checkpoint, batch_size=8)


def _rows(scores_by_lot: dict[str, list[float]], version: str = "v1") -> list[HistoryRow]:
    rows, start = [], dt.datetime(2024, 4, 1, 6)
    for day, (lot, scores) in enumerate(scores_by_lot.items()):
        for n, score in enumerate(scores):
            stamp = start + dt.timedelta(days=day, minutes=n)
            rows.append(
                HistoryRow(
                    f"{lot}_{n:04d}.png",
                    lot,
                    stamp.isoformat(),
                    score,
                    history.PASS,
                    12.0,
                    "t",
                    version,
                    "b",
                    "now",
                )
            )
    return rows


def _keys(rows: list[HistoryRow], lots: set[str]) -> set[tuple[str, str]]:
    return {(r.image, r.lot_id) for r in rows if r.lot_id in lots}


# --- lots and times -------------------------------------------------------------------------


def test_lot_and_time_from_file_names_and_clear_reasons_for_the_rest(tmp_path: Path) -> None:
    for name in (
        "L002_20240403_060000_0000.png",
        "L001_20240402_061500_0003.png",
        "line-7_A_20240402_061500.bmp",
        "L003_20241399_060000_0000.png",
        "snapshot.png",
        "notes.txt",
    ):
        (tmp_path / name).write_bytes(b"")
    images, bad = read_batch(tmp_path)
    assert [(i.lot_id, i.timestamp.isoformat()) for i in images] == [
        ("L001", "2024-04-02T06:15:00"),
        ("line-7_A", "2024-04-02T06:15:00"),
        ("L002", "2024-04-03T06:00:00"),
    ]
    assert sorted(b["file"] for b in bad) == ["L003_20241399_060000_0000.png", "snapshot.png"]
    assert parse_name(Path("L9_20240101_000000_1.png")) == ("L9", dt.datetime(2024, 1, 1))


def test_a_lot_csv_replaces_names_and_reports_what_it_cannot_use(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png", "d.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "lots.csv").write_text(
        "file,lot_id,timestamp,label\n"
        "b.png,LOT-2,2024-04-02T08:00:00+02:00,0\n"
        "a.png,LOT-1,2024-04-01T07:00:00,0\n"
        "c.png,LOT-1,yesterday,0\n"
        "gone.png,LOT-1,2024-04-01T07:00:00,0\n"
    )
    images, bad = read_batch(tmp_path, tmp_path / "lots.csv")
    assert [(i.file, i.lot_id, i.timestamp.isoformat()) for i in images] == [
        ("a.png", "LOT-1", "2024-04-01T07:00:00"),
        ("b.png", "LOT-2", "2024-04-02T06:00:00"),  # converted to UTC
    ]
    assert {b["file"]: b["reason"].split()[0] for b in bad} == {
        "c.png": "timestamp",
        "gone.png": "listed",
        "d.png": "not",
    }
    (tmp_path / "bad.csv").write_text("file,lot\n")
    with pytest.raises(SealauditError, match="timestamp"):
        read_batch(tmp_path, tmp_path / "bad.csv")


# --- history --------------------------------------------------------------------------------


def test_history_only_ever_appends(tmp_path: Path) -> None:
    path = tmp_path / "h" / "history.csv"
    first, second = _rows({"L1": [9.5, 10.5]}), _rows({"L2": [11.0]})
    history.append_history(path, first)
    before = path.read_bytes()
    history.append_history(path, second)
    assert path.read_bytes().startswith(before)
    assert history.read_history(path) == [*first, *second]
    assert path.read_text().splitlines()[0] == ",".join(history.COLUMNS)


def test_history_of_another_model_version_is_refused_then_archived(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    history.append_history(path, _rows({"L1": [10.0]}, version="v1"))
    content = path.read_bytes()
    rows = history.read_history(path)
    history.check_version(rows, "v1", path)
    with pytest.raises(HistoryError, match="--new-history"):
        history.check_version(rows, "v2", path)
    archived = history.archive_history(path, dt.datetime(2024, 5, 1, 12, 0, 0))
    assert archived is not None and archived.read_bytes() == content
    assert archived.name == "history.closed-20240501T120000Z.csv" and not path.exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [("image,score\nx,1\n", "columns"), (",".join(history.COLUMNS) + "\nL1_0.png,L1", "middle")],
)
def test_a_damaged_history_is_a_clear_error(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "history.csv"
    path.write_text(content)
    with pytest.raises(HistoryError, match=match):
        history.read_history(path)


# --- alarms ---------------------------------------------------------------------------------


@pytest.mark.assures("drift_alarm", "HZ-02")
def test_in_control_lots_raise_nothing() -> None:
    rng = np.random.default_rng(0)
    rows = _rows({f"L{i}": list(REF_MEAN + REF_SD * rng.standard_normal(20)) for i in range(5)})
    section, stream, charts = analyse(rows, _keys(rows, {"L3", "L4"}), _monitor())
    assert section["alarm"] is False and section["alarm_sources"] == []
    assert [lot["lot_id"] for lot in section["lots"]] == ["L3", "L4"]
    assert charts.in_batch.sum() == 40 and len(stream) == 100


@pytest.mark.assures("drift_alarm", "HZ-02")
def test_a_shifted_lot_alarms_on_every_source_and_points_at_its_first_image() -> None:
    rng = np.random.default_rng(1)
    lots = {f"L{i}": list(REF_MEAN + REF_SD * rng.standard_normal(20)) for i in range(3)}
    lots["L3"] = list(REF_MEAN + 3 * REF_SD + REF_SD * rng.standard_normal(20))
    rows = _rows(lots)
    section, _, _ = analyse(rows, _keys(rows, {"L3"}), _monitor())
    assert section["alarm_sources"] == ["ewma", "cusum", "lot_test", "exceedance"]
    assert section["charts"]["ewma"]["first_alarm_in_batch"]["lot_id"] == "L3"
    assert section["charts"]["ewma"]["alarms_outside_batch"] == 0
    # the same shifted lot with only the lot test enabled: the charts still report their signal
    only_lot = _monitor(dataclasses.replace(NOMINAL, alarm_on=("lot_test",)))
    section, _, _ = analyse(rows, _keys(rows, {"L3"}), only_lot)
    assert section["alarm_sources"] == ["lot_test"] and section["signals"]["ewma"] is True


def test_a_good_lot_holding_training_images_is_noted_not_alarmed() -> None:
    # Images the monitor was fitted on score about a quarter of new normal images (13 against a
    # reference mean of 50 on the embedded dataset): a good lot holding some is not an alarm.
    rng = np.random.default_rng(2)
    lots = {f"L{i}": list(REF_MEAN + REF_SD * rng.standard_normal(20)) for i in range(3)}
    seen_in_training = 0.26 * REF_MEAN + 0.1 * REF_SD * rng.standard_normal(10)
    fresh = REF_MEAN + REF_SD * rng.standard_normal(10)
    lots["L3"] = list(np.ravel(np.column_stack([seen_in_training, fresh])))  # interleaved
    rows = _rows(lots)
    section, _, _ = analyse(rows, _keys(rows, {"L3"}), _monitor())
    assert section["alarm"] is False and section["alarm_sources"] == []
    assert not any(section["signals"].values())
    (lot,) = section["lots"]
    assert lot["test"]["alternative"] == "greater" and lot["below_reference"]["signal"] is True
    assert "L3" in section["below_reference"]
    assert section["charts"]["cusum"]["below_reference_in_batch"] > 0
    # with lot_alternative: greater the lower side is not tested at all
    greater = _monitor(dataclasses.replace(NOMINAL, lot_alternative="greater"))
    section, _, _ = analyse(rows, _keys(rows, {"L3"}), greater)
    assert section["alarm"] is False and section["lots"][0]["below_reference"]["pvalue"] is None


def test_lot_exceedance_known_answer() -> None:
    monitor = _monitor()
    above = monitor.threshold.value + 1.0
    lot = lot_summary("L1", np.array([above] * 5 + [REF_MEAN] * 15), monitor, n_lots=2)
    share = lot["exceedance"]
    assert (share["n_above"], share["n"], share["rate"]) == (5, 20, 0.25)
    assert share["ci"][0] < 0.25 < share["ci"][1]
    expected = stats.binomtest(5, 20, monitor.reference_exceedance, alternative="greater")
    assert share["pvalue"] == pytest.approx(expected.pvalue)
    assert lot["alpha"] == pytest.approx(0.01 / 2)
    assert lot["alarms"]["exceedance"] is True and expected.pvalue < 0.005


# --- control limits -------------------------------------------------------------------------


def _normal_sample(n: int) -> np.ndarray:
    return stats.norm.ppf((np.arange(n) + 0.5) / n)


@pytest.mark.assures("drift_alarm")
def test_bootstrap_limits_reproduce_the_textbook_arl_of_500() -> None:
    # a false alarm within 500 points with probability 1 - 1/e <=> ARL0 of about 500:
    # EWMA(0.2) needs L = 2.962 and the two-sided CUSUM(0.5) h of about 5 (Lucas and Saccucci)
    limits = calibrate_limits(
        _normal_sample(20000), horizon=500, probability=1 - np.exp(-1), n_bootstrap=400
    )
    assert limits["L"] == pytest.approx(2.962, abs=0.1)
    assert limits["h"] == pytest.approx(5.0, abs=0.3)


def test_a_small_reference_gets_wider_limits() -> None:
    small, large = (calibrate_limits(_normal_sample(n), n_bootstrap=400) for n in (50, 5000))
    assert small["L"] > large["L"] + 0.2 and small["h"] > large["h"] + 2.0


def test_a_frame_without_a_seal_band_is_skipped_with_its_reason(tmp_path: Path) -> None:
    from PIL import Image

    from pipeline.models.alignment import Alignment
    from pipeline.monitoring.surveillance import score_batch

    Image.fromarray(np.full((64, 256), 120, dtype=np.uint8)).save(
        tmp_path / "L000_20240401_060000_0001.png"
    )
    images, _ = read_batch(tmp_path)
    aligned = Alignment("band", (0.25, 0.75), "fixed", 20.0).to_dict()
    monitor = dataclasses.replace(_monitor(), alignment=aligned)
    scored, bad = score_batch(_detector(monitor, tmp_path), images)
    assert scored == []
    assert bad[0]["file"] == "L000_20240401_060000_0001.png"
    assert "cannot align" in bad[0]["reason"] and "no seal band" in bad[0]["reason"]


def test_an_empty_folder_says_no_images_were_found(tmp_path: Path) -> None:
    with pytest.raises(SealauditError, match=r"no images found; monitor reads \.png") as error:
        read_batch(tmp_path)
    assert "warnings above" not in str(error.value)
    (tmp_path / "notes.txt").write_text("lot L1\n")
    with pytest.raises(SealauditError, match=r"no images found \(it holds 1 other file"):
        read_batch(tmp_path)


def test_a_batch_with_nothing_scorable_says_what_was_found_and_the_fix(tmp_path: Path) -> None:
    from pipeline.monitoring.fitted import ResolvedReference
    from pipeline.monitoring.surveillance import record_batch

    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("L1_20240401_060000_0001.png", "L1_20240401_060100_0002.png"):
        (batch / name).write_bytes(b"not a png")
    (batch / "snapshot.png").write_bytes(b"")
    detector = _detector(_monitor(), tmp_path)
    reference = ResolvedReference(detector.scorer.monitor, tmp_path / "model.pt", "v1", "test")
    history_path = tmp_path / "history.csv"
    now = dt.datetime(2024, 4, 1, 7, tzinfo=dt.UTC)
    with pytest.raises(SealauditError) as error:
        record_batch(batch, reference, detector, history_path, (None, False), now)
    message = str(error.value)
    assert "1 misnamed, 2 unreadable" in message and "warnings above" not in message
    assert "replace or remove the broken files" in message and "\n" not in message
    assert not history_path.exists()


@pytest.mark.assures("drift_alarm", "threshold_configuration")
def test_a_monitor_without_the_calibrated_threshold_decides_nothing(tmp_path: Path) -> None:
    """fit_monitor's own file carries no threshold: `sealaudit monitor` refuses it before
    scoring, naming the calibrated file, so per-image decisions have one threshold only."""
    uncalibrated = dataclasses.replace(_monitor(), thresholds=(), reference_exceedance=None)
    with pytest.raises(MonitorError, match="artifacts/calibrate/monitor.npz"):
        uncalibrated.threshold  # noqa: B018
    save_monitor(uncalibrated, tmp_path / "monitor.npz")
    with pytest.raises(MonitorError, match=r"monitor.npz: this monitor carries no decision"):
        resolve_reference(str(tmp_path / "monitor.npz"), tmp_path / "model.pt")


def test_a_monitor_reads_back_as_data_and_a_pickled_one_is_refused(tmp_path: Path) -> None:
    """A monitor file handed over by someone else must not run code when read (#15)."""
    monitor = _monitor()
    save_monitor(monitor, tmp_path / "monitor.npz")
    restored = load_monitor(tmp_path / "monitor.npz")
    # NaN justifications (no defective val images) compare unequal: compare as JSON text
    restored_json = json.dumps(restored.threshold.to_dict(), sort_keys=True)
    assert restored_json == json.dumps(monitor.threshold.to_dict(), sort_keys=True)
    assert restored.reference == monitor.reference and restored.chart == monitor.chart
    features = np.random.default_rng(0).normal(size=(3, monitor.estimator.n_features_in_))
    np.testing.assert_array_equal(restored.mahalanobis(features), monitor.mahalanobis(features))
    legacy = tmp_path / "monitor.pkl"
    legacy.write_bytes(pickle.dumps(monitor))
    with pytest.raises(MonitorError, match=r"monitor.pkl: a pickled monitor .* are refused"):
        load_monitor(legacy)


def test_with_thresholds_sets_the_expected_exceedance_of_the_operating_threshold() -> None:
    monitor = _monitor()
    values = np.asarray(monitor.reference.sorted_scores)
    assert monitor.reference_exceedance == pytest.approx(np.mean(values > monitor.threshold.value))
    other = fit_unsupervised(values, 1.0, score_name=SCORE_NAME)
    moved = monitor.with_thresholds([other, monitor.threshold])
    assert moved.threshold is other and moved.reference_exceedance > monitor.reference_exceedance
