"""The parameter profiles under params/ build what they promise: applied over params.yaml, each
profile's inline model builds at its working size and reconstructs a frame of that size, and the
SSI profile's band is resampled at no less than its stored resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline import train
from pipeline.config import from_mapping, load_params_file, section_classes
from pipeline.models.autoencoder import build_model
from tests.params import merged

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "params").glob("*.yaml"))


def applied(profile: Path, section: str):
    """``section`` of params.yaml with ``profile``'s keys laid over it, typed."""
    base, changes = load_params_file(ROOT / "params.yaml"), load_params_file(profile)
    return from_mapping(section_classes()[section], merged(base, changes)[section], where=section)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_a_profile_model_builds_and_reconstructs_at_its_working_size(profile: Path) -> None:
    params = applied(profile, "train")
    height, width = params.working_height, params.working_width
    net = build_model("attention_ae", train.model_config(params), seed=0).eval()
    with torch.inference_mode():
        assert net(torch.rand(1, 1, height, width)).shape == (1, 1, height, width)
    assert height // 2 ** len(params.model.widths) >= 2, "latent grid under two rows"


def test_the_ssi_profile_keeps_the_band_at_its_stored_resolution() -> None:
    stored = applied(ROOT / "params" / "ssi.yaml", "import_ssi")
    params = applied(ROOT / "params" / "ssi.yaml", "train")
    top, bottom = params.alignment.band_rows
    band_rows = (bottom - top) * params.working_height
    # the band covers at most 25 % of the stored rows (synth.band_height_range)
    assert band_rows >= 0.25 * stored.image_height
    assert params.working_width == stored.image_width
    assert params.model.skip_levels == (len(params.model.widths) - 1,)
