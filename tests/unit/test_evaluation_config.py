"""The ``evaluate`` and ``calibrate`` params sections: typed, validated, keys reach the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import ParamsError, load_section
from pipeline.config.evaluate import ALL_SCORES
from pipeline.models.scores import SCORE_FUNCTIONS
from tests.params import write_params


def _load(tmp_path: Path, body: str, section: str = "evaluate") -> Any:
    path = tmp_path / "params.yaml"
    write_params(path, f"{section}:\n" + body)
    return load_section(path, section)


def test_params_yaml_covers_every_registered_score(tmp_path: Path) -> None:
    params = _load(tmp_path, "  seed: 3\n")
    assert params.seed == 3 and 0.0 in params.sensitivity_shifts
    assert set(ALL_SCORES) == set(SCORE_FUNCTIONS) == set(params.ablation_scores)


def test_four_ms_ssim_options_accept_the_authors_per_pair_range(tmp_path: Path) -> None:
    body = "  four_ms_ssim:\n    data_range: null\n    window: gaussian\n"
    params = _load(tmp_path, body, "calibrate")
    assert (params.four_ms_ssim.data_range, params.four_ms_ssim.window) == (None, "gaussian")
    assert params.thresholds.operating_rule == "supervised"


@pytest.mark.parametrize(
    ("section", "body", "key"),
    [
        ("calibrate", "  thresholds:\n    operating_rule: oracle\n", "operating_rule"),
        ("evaluate", "  sensitivity_shifts: [-0.1, 0.1]\n", "sensitivity_shifts"),
        ("calibrate", "  thresholds:\n    miss_rate_limit: 1.5\n", "miss_rate_limit"),
        ("calibrate", "  thresholds:\n    confidence: 1.0\n", "confidence"),
        ("calibrate", "  four_ms_ssim:\n    pooling: mean\n", "pooling"),
        ("evaluate", "  robustness:\n    shift: [0.7]\n", "robustness.shift"),
        ("evaluate", "  n_boot: 10\n", "n_boot"),
        ("evaluate", "  ablation_scores: [mse, mse]\n", "ablation_scores"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, section: str, body: str, key: str) -> None:
    with pytest.raises(ParamsError, match=key):
        _load(tmp_path, body, section)
