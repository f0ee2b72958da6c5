"""The resolution study's deeper encoder at larger frames (benchmarks/resolution_study.py): the
latent grid of a larger frame is no taller than the working frame's, and the model builds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from pipeline import train
from pipeline.config import load_section
from pipeline.models.autoencoder import build_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study(monkeypatch_module: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch_module.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "resolution_study", ROOT / "benchmarks" / "resolution_study.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch_module.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize(("height", "width", "levels"), [(32, 384, 4), (64, 768, 5), (128, 768, 6)])
def test_larger_frames_get_a_deeper_encoder_with_a_two_row_latent_grid(
    study: ModuleType, height: int, width: int, levels: int
) -> None:
    params = load_section(ROOT / "params.yaml", "train")
    model = study.deepened(params.model, height, 2)
    assert len(model.widths) == levels and model.skip_levels == (levels - 1,)
    sized = train.model_config(
        type(params)(
            **{**vars(params), "working_height": height, "working_width": width, "model": model}
        )
    )
    net = build_model("attention_ae", sized, seed=0).eval()
    with torch.inference_mode():
        assert net(torch.rand(1, 1, height, width)).shape == (1, 1, height, width)
    assert height // 2**levels == 2


def test_without_a_bottleneck_rule_the_encoder_is_the_train_sections(study: ModuleType) -> None:
    params = load_section(ROOT / "params.yaml", "train")
    assert study.deepened(params.model, 128, None) is params.model


def _reference(n_events: int = 40) -> object:
    """Labels and capture events of a reference set: two views per event, half defective."""
    from detectability_ceiling import Labelled

    labels = np.repeat(np.arange(2 * n_events) % 2, 2)
    events = np.repeat([f"e{i}" for i in range(2 * n_events)], 2)
    return Labelled(np.empty(0), labels, np.full(labels.size, "void"), events)


def _row(size: tuple[int, int], scores: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    auroc = float(np.mean([roc_auc_score(labels, one) for one in scores]))
    return {
        "image_height": size[0],
        "image_width": size[1],
        "reference_auroc": auroc,
        "reference_ci": {"auroc": [auroc - 0.05, auroc + 0.05]},
    }


def test_a_size_replaces_the_working_size_only_when_its_paired_interval_clears_zero(
    study: ModuleType,
) -> None:
    reference = _reference()
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(2, reference.labels.size))
    sharp = noise + 3.0 * reference.labels  # separates the classes
    blurred = noise + 0.5 * reference.labels  # barely does
    scores = {(32, 384): blurred, (64, 768): sharp}
    rows = [_row(size, s, reference.labels) for size, s in scores.items()]
    named = {study.size_name(size): s for size, s in scores.items()}
    params = load_section(ROOT / "params.yaml", "evaluate")
    chosen = study.selection(rows, named, reference, "32x384", params)
    assert chosen["choice"] == "64x768" and chosen["fallback"] == "32x384"
    assert rows[1]["reference_diff_ci"][0] > 0 and "reference_diff_ci" not in rows[0]
    # the same two sizes with the roles swapped: the blurred size does not replace the sharp
    again = study.selection(
        [_row(size, s, reference.labels) for size, s in scores.items()],
        named,
        reference,
        "64x768",
        params,
    )
    assert again["choice"] == "64x768" and "is kept" in again["reason"]


def test_a_study_without_the_working_size_cannot_decide(study: ModuleType) -> None:
    from pipeline.errors import SealauditError

    reference = _reference(10)
    scores = {"64x768": np.tile(reference.labels.astype(float), (2, 1))}
    rows = [_row((64, 768), scores["64x768"], reference.labels)]
    params = load_section(ROOT / "params.yaml", "evaluate")
    with pytest.raises(SealauditError, match="working size 32x384 of params.yaml is not among"):
        study.selection(rows, scores, reference, "32x384", params)


def test_a_two_scale_design_catches_what_either_size_alone_misses(study: ModuleType) -> None:
    """Two sizes that each see half the defects: fused by max, the design sees them all;
    each size's scores are put on its normal val images' scale first (here 1000 x apart)."""
    reference = _reference()
    labels, n = reference.labels, reference.labels.size
    rng = np.random.default_rng(1)
    half = (np.arange(n) // 2) % 4 == 1  # every other defective event
    coarse_hits = labels * half * 4.0
    fine_hits = labels * (~half) * 4.0
    val = _reference(20)
    runs = {}
    for size, hits, scale in (((32, 384), coarse_hits, 1.0), ((64, 768), fine_hits, 1000.0)):
        runs[size] = [
            (
                {"seed": seed, "single_frame_p50_ms": 10.0 * scale ** (1 / 3)},
                {
                    "val": scale * rng.normal(size=val.labels.size),
                    "reference": scale * (rng.normal(size=n) + hits),
                },
            )
            for seed in (0, 1)
        ]
    params = load_section(ROOT / "params.yaml", "evaluate")
    row, fused = study.two_scale_row(((32, 384), (64, 768)), "max", runs, val, reference, params)
    assert row["design"] == "32x384+64x768 max" and fused.shape == (2, n)
    alone = [row_auroc(np.stack([s["reference"] for _, s in runs[size]]), labels) for size in runs]
    assert row["reference_auroc"] > max(alone) + 0.1
    assert row["single_frame_p50_ms_sum"] == pytest.approx(10.0 + 100.0)


def row_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(np.mean([roc_auc_score(labels, one) for one in scores]))


def test_a_finished_run_is_read_back_not_retrained_and_other_inputs_train_anew(
    study: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.csv").write_text("image_id\n", encoding="utf-8")
    (tmp_path / "splits.csv").write_text("image_id,split\n", encoding="utf-8")
    args = study.argparse.Namespace(
        data=tmp_path / "data",
        splits=tmp_path / "splits.csv",
        cache=tmp_path / "cache",
        epochs=25,
        bottleneck_rows=2,
        reference_seed=777,
        reference_events=[150, 150],
    )
    trained: list[int] = []

    def train_one(params, *_):
        trained.append(params.seed)
        return {"seed": params.seed}, {"val": np.arange(3.0) + params.seed}

    monkeypatch.setattr(study, "train_one", train_one)
    train_params = load_section(ROOT / "params.yaml", "train")
    calib = load_section(ROOT / "params.yaml", "calibrate")
    first = study.cached_run(
        study.sized_params(train_params, (64, 768), 1, args), args, calib, None
    )
    again = study.cached_run(
        study.sized_params(train_params, (64, 768), 1, args), args, calib, None
    )
    assert trained == [1] and again[0] == first[0]
    np.testing.assert_array_equal(again[1]["val"], first[1]["val"])
    study.cached_run(study.sized_params(train_params, (64, 768), 2, args), args, calib, None)
    args.reference_events = [100, 100]
    study.cached_run(study.sized_params(train_params, (64, 768), 1, args), args, calib, None)
    assert trained == [1, 2, 1]
