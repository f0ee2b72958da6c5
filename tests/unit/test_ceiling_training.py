"""The detectability ceiling's training (benchmarks/ceiling_training.py): a stopped run resumes
to the very weights of an uninterrupted one, the masks teach it where defects are, the
schedule warms up then decays, and larger working frames get full-resolution stem levels."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def training() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "ceiling_training", BENCHMARKS / "ceiling_training.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tiny_world() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray]]:
    """16 x 32 noise images; defective ones carry a bright spot somewhere, marked in a mask."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0.3, 0.5, (40, 16, 32)).astype(np.float32)
    masks = np.zeros(images.shape, dtype=bool)
    labels = np.arange(40) % 2
    for index in np.flatnonzero(labels):
        row, col = rng.integers(2, 14), rng.integers(2, 30)
        images[index, row - 1 : row + 2, col - 1 : col + 2] = 0.95
        masks[index, row - 1 : row + 2, col - 1 : col + 2] = True
    return (images[:30], labels[:30], masks[:30]), (images[30:], labels[30:])


def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(
    training: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = training.Schedule(3, 1, 1e-2, 1e-4, 8, 1.0)
    data, holdout = tiny_world()
    save = training.RunState.save

    def save_each_epoch(self, path: Path) -> None:  # keep a copy per epoch, as a kill would
        save(self, path)
        shutil.copy(path, tmp_path / f"epoch{len(self.history) - 1}.pt")

    monkeypatch.setattr(training.RunState, "save", save_each_epoch)
    whole = training.new_run(0, schedule, seed=5)
    training.train_ceiling(whole, data, holdout, schedule, tmp_path / "whole.pt")

    resumed = training.new_run(0, schedule, seed=5)
    torch.manual_seed(123)  # a new process: the global generator is not where the run left it
    resumed.restore(tmp_path / "epoch0.pt")
    assert len(resumed.history) == 1
    training.train_ceiling(resumed, data, holdout, schedule, tmp_path / "resumed.pt")

    assert [row["loss"] for row in resumed.history] == [row["loss"] for row in whole.history]
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_the_location_loss_teaches_the_network_where_the_defects_are(
    training: ModuleType, tmp_path: Path
) -> None:
    (images, labels, masks), _ = tiny_world()
    separation = {}
    for weight in (0.0, 1.0):
        schedule = training.Schedule(20, 1, 1e-2, 0.0, 8, weight)
        run = training.new_run(0, schedule, seed=1)
        state = tmp_path / f"w{weight}.pt"
        training.train_ceiling(run, (images, labels, masks), (images, labels), schedule, state)
        model = training.CeilingNet(0)
        model.load_state_dict(torch.load(state, weights_only=True)["model"])  # the last epoch's
        with torch.inference_mode():
            locations = model.eval().location_logits(torch.from_numpy(images)[:, None])
        grid = torch.nn.functional.adaptive_max_pool2d(
            torch.from_numpy(masks.astype(np.float32))[:, None], locations.shape[-2:]
        )[:, 0].bool()
        separation[weight] = float(locations[grid].mean() - locations[~grid].mean())
    assert separation[1.0] > 2.0 and separation[1.0] > separation[0.0]


def test_the_schedule_warms_up_then_decays_to_zero(training: ModuleType) -> None:
    schedule = training.Schedule(10, 2, 1e-3, 0.0, 32, 1.0)
    factors = [schedule.factor(step, 5) for step in range(50)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(factors[:10], factors[1:10], strict=False))
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))
    assert factors[-1] < 0.01


@pytest.mark.parametrize(
    ("height", "levels", "grid"), [(32, 0, (8, 96)), (64, 1, (8, 48)), (128, 2, (8, 48))]
)
def test_larger_frames_get_full_resolution_stems_and_end_on_a_comparable_grid(
    training: ModuleType, height: int, levels: int, grid: tuple[int, int]
) -> None:
    assert training.stem_levels(height) == levels
    width = 384 if height < 128 else 768
    model = training.CeilingNet(levels).eval()
    with torch.inference_mode():
        features = model.features(torch.zeros(1, 1, height, width))
    assert tuple(features.shape[-2:]) == grid
    assert model(torch.zeros(2, 1, height, width)).shape == (2,)
