"""The resolution study's deeper encoder at larger frames (benchmarks/resolution_study.py): the
latent grid of a larger frame is no taller than the working frame's, and the model builds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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
