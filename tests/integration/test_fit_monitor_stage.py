"""The fit_monitor stage on a tiny world: real data layout, a seeded (untrained) autoencoder
checkpoint, a real params file, real outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import fit_monitor
from pipeline.data.images import load_stack
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits, rows_in_split, write_splits
from pipeline.datafile import read_data_file
from pipeline.evaluation.inference import FeatureDistanceScorer
from pipeline.models.alignment import Alignment
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import load_autoencoder, save_autoencoder
from pipeline.models.roi import Roi
from pipeline.monitoring.fitted import FittedMonitor, MonitorError, check_checkpoint, load_monitor
from tests.params import write_params
from tests.worlds import governance_args, write_tiny_dataset

PARAMS = """\
base:
  torch_threads: 1
fit_monitor:
  seed: 3
  layer: enc1
  n_features_kept: 200
  covariance: ledoit_wolf
  n_examples: 2
  batch_size: 8
  ablation:
    layers: [enc1, enc2]
    n_features_kept: [50, 200]
    covariances: [empirical_ridge, ledoit_wolf]
"""
HEIGHT, WIDTH = 32, 128


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("world")
    data = write_tiny_dataset(root / "data", n_normal_events=24, n_defect_events=4, seed=1)
    assignment = {}
    for row in read_manifest(data):
        event = int(row.capture_event.split("_")[-1])
        assignment[row.image_id] = "val" if row.label or event % 3 == 0 else "train"
    write_splits(assignment, root / "splits.csv")
    config = AutoencoderConfig(
        HEIGHT, WIDTH, widths=(8, 16, 32), latent_dim=8, dropout=0.0, skip_levels=(2,)
    )
    model = build_model("attention_ae", config, seed=5)
    roi = Roi("full", {}, np.ones((HEIGHT, WIDTH), dtype=bool))
    save_autoencoder(root / "model.pt", model, "attention_ae", roi)
    params = root / "params.yaml"
    write_params(params, PARAMS)
    out = root / "out"
    args = ["--data", str(data), "--splits", str(root / "splits.csv"), "--params", str(params)]
    args += governance_args(data)
    assert fit_monitor.main([*args, "--model", str(root / "model.pt"), "--out", str(out)]) == 0
    return {"root": root, "data": data, "splits": root / "splits.csv", "out": out}


def _val(world: dict[str, Path]) -> tuple[np.ndarray, np.ndarray]:
    rows = rows_in_split(read_manifest(world["data"]), read_splits(world["splits"]), "val")
    return load_stack(world["data"], rows), np.array([row.label for row in rows])


def test_summary_follows_the_evidence_contract(world: dict[str, Path]) -> None:
    summary = json.loads((world["out"] / "monitor_summary.json").read_text())
    assert (summary["layer"], summary["n_features_kept"], summary["covariance"]) == (
        "enc1",
        200,
        "ledoit_wolf",
    )
    grid = {(r["layer"], r["n_features_kept"], r["covariance"]) for r in summary["ablation"]}
    assert len(grid) == len(summary["ablation"]) == 8  # 2 layers x 2 sizes x 2 estimators
    for row in summary["ablation"]:
        assert 0.0 <= row["val_auroc"] <= 1.0 and 0.0 <= row["val_accuracy"] <= 1.0
    reference = summary["reference"]
    limits = reference["control_limits"]
    assert reference["n"] == summary["n_val_normal"] == 16
    assert limits["center"] == reference["mean"]
    assert limits["action_upper"] == pytest.approx(reference["mean"] + 3 * reference["sd"])
    assert limits["ewma_lower"] < reference["mean"] < limits["ewma_upper"]
    assert "thresholds" not in summary and "exceedance_share" not in reference  # calibrate's
    assert summary["provenance"]["stage"] == "fit_monitor"
    assert summary["provenance"]["params"]["ablation"]["layers"] == ["enc1", "enc2"]
    png = world["out"] / summary["plots"]["contribution_examples"]
    assert png.read_bytes()[:4] == b"\x89PNG" and len(summary["contribution_examples"]) == 2


def test_monitor_scores_reproduce_the_reference_and_fit_no_threshold(
    world: dict[str, Path],
) -> None:
    monitor = load_monitor(world["out"] / "monitor.npz")
    images, labels = _val(world)
    scores, maps = _scores(world["root"] / "model.pt", monitor, images)
    normal = scores[labels == 0]
    assert monitor.reference.n == normal.size
    assert monitor.reference.mean == pytest.approx(normal.mean(), rel=1e-6)
    assert monitor.reference.sd == pytest.approx(normal.std(ddof=1), rel=1e-6)
    with pytest.raises(MonitorError, match="calibrate"):
        monitor.threshold  # noqa: B018 - the calibrate stage adds the operating threshold
    assert maps is not None and maps.shape == (len(images), HEIGHT, WIDTH)
    # the bundle stands in for the bare estimator (what the registry's packaged model calls)
    assert hasattr(monitor, "mahalanobis") and monitor.layer == "enc1"
    # stored as data: JSON and plain arrays, readable with pickles disallowed
    meta, arrays = read_data_file(world["out"] / "monitor.npz")
    assert meta["layer"] == "enc1" and arrays["precision"].dtype == np.float64


def test_contribution_map_points_at_a_local_defect(world: dict[str, Path]) -> None:
    monitor = load_monitor(world["out"] / "monitor.npz")
    images, labels = _val(world)
    clean = images[labels == 0][:1].copy()
    spoiled = clean.copy()
    spoiled[0, 24:40, 160:184] = 0.0  # a dark blot on the seal band (stored 64 x 256 frame)
    scores, maps = _scores(world["root"] / "model.pt", monitor, np.concatenate([clean, spoiled]))
    assert scores[1] > scores[0]
    assert maps is not None
    row, col = np.unravel_index(np.argmax(maps[1] - maps[0]), maps[1].shape)
    assert 8 <= row <= 24 and 72 <= col <= 100


def test_another_checkpoint_is_refused(world: dict[str, Path], tmp_path: Path) -> None:
    monitor = load_monitor(world["out"] / "monitor.npz")
    check_checkpoint(monitor, world["root"] / "model.pt")
    other = tmp_path / "other.pt"
    model, meta = load_autoencoder(world["root"] / "model.pt")
    bias = model.head.bias
    assert bias is not None
    with torch.no_grad():
        bias.add_(1.0)
    save_autoencoder(other, model, meta.architecture, meta.roi)
    with pytest.raises(MonitorError, match="sha256"):
        check_checkpoint(monitor, other)


def test_an_unknown_layer_is_a_one_line_error(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.yaml"
    write_params(params, PARAMS.replace("layer: enc1", "layer: enc7"))
    args = ["--data", str(world["data"]), "--splits", str(world["splits"]), "--params", str(params)]
    args += governance_args(world["data"])
    code = fit_monitor.main(
        [*args, "--model", str(world["root"] / "model.pt"), "--out", str(tmp_path / "out")]
    )
    assert code == 2
    assert "enc7" in capsys.readouterr().err
    assert not (tmp_path / "out" / "monitor.npz").exists()


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("n_features_kept: 200", "n_features_kept: 100000", "fit_monitor.n_features_kept"),
        ("[50, 200]", "[50, 9000]", "fit_monitor.ablation.n_features_kept"),
    ],
)
def test_more_kept_features_than_the_layer_has_is_a_one_line_error(
    world: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    key: str,
) -> None:
    params = tmp_path / "params.yaml"
    write_params(params, PARAMS.replace(old, new))
    args = ["--data", str(world["data"]), "--splits", str(world["splits"]), "--params", str(params)]
    args += governance_args(world["data"])
    code = fit_monitor.main(
        [*args, "--model", str(world["root"] / "model.pt"), "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert key in err and "8192" in err  # enc1 of the 32 x 128 world: 8 x 16 x 64
    assert not (tmp_path / "out").exists()


def test_a_band_aligned_checkpoint_gets_a_fixed_scale_monitor(
    world: dict[str, Path], tmp_path: Path
) -> None:
    config = AutoencoderConfig(
        HEIGHT, WIDTH, widths=(8, 16, 32), latent_dim=8, dropout=0.0, skip_levels=(2,)
    )
    model = build_model("attention_ae", config, seed=5)
    roi = Roi("full", {}, np.ones((HEIGHT, WIDTH), dtype=bool))
    aligned = Alignment("band", (0.25, 0.75))
    save_autoencoder(tmp_path / "model.pt", model, "attention_ae", roi, {}, aligned)
    args = ["--data", str(world["data"]), "--splits", str(world["splits"])]
    args += governance_args(world["data"])
    args += ["--params", str(world["root"] / "params.yaml"), "--model", str(tmp_path / "model.pt")]
    assert fit_monitor.main([*args, "--out", str(tmp_path / "out")]) == 0
    monitor = load_monitor(tmp_path / "out" / "monitor.npz")
    recorded = Alignment.from_dict(monitor.alignment)
    # the tiny world's band spans rows 21-42 of its stored 64: the reference is its height
    # in source rows, not the stretch alignment's, so a narrower band would stay narrower
    assert recorded.kind == "band" and recorded.scale == "fixed"
    assert 18.0 <= recorded.reference_height <= 26.0
    images, labels = _val(world)
    scores, _ = _scores(tmp_path / "model.pt", monitor, images[labels == 0])
    assert np.allclose(np.sort(scores), monitor.reference.sorted_scores, rtol=1e-5)


def _scores(
    checkpoint: Path, monitor: FittedMonitor, images: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Scores and maps of the one monitoring scorer (what the detector runs)."""
    model, meta = load_autoencoder(checkpoint)
    scorer = FeatureDistanceScorer(model, meta, "attention_ae", monitor, monitor.layer, 5)
    scored = scorer(images, keep_maps=True)
    return scored.scores, scored.heatmaps
