"""The ``evaluate`` params section: typed, validated, and its keys reach the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ParamsError, load_section
from pipeline.config.evaluate import ALL_SCORES, Params
from pipeline.models.scores import SCORE_FUNCTIONS
from tests.params import write_params


def _load(tmp_path: Path, body: str) -> Params:
    path = tmp_path / "params.yaml"
    write_params(path, "evaluate:\n" + body)
    return load_section(path, "evaluate")


def test_params_yaml_covers_every_registered_score(tmp_path: Path) -> None:
    params = _load(tmp_path, "  seed: 3\n")
    assert params.seed == 3 and params.thresholds.operating_rule == "supervised"
    assert set(ALL_SCORES) == set(SCORE_FUNCTIONS) == set(params.ablation_scores)


def test_four_ms_ssim_options_accept_the_authors_per_pair_range(tmp_path: Path) -> None:
    params = _load(tmp_path, "  four_ms_ssim:\n    data_range: null\n    window: gaussian\n")
    assert (params.four_ms_ssim.data_range, params.four_ms_ssim.window) == (None, "gaussian")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("  thresholds:\n    operating_rule: oracle\n", "operating_rule"),
        ("  thresholds:\n    sensitivity_shifts: [-0.1, 0.1]\n", "sensitivity_shifts"),
        ("  thresholds:\n    miss_rate_limit: 1.5\n", "miss_rate_limit"),
        ("  robustness:\n    shift: [0.7]\n", "robustness.shift"),
        ("  n_boot: 10\n", "n_boot"),
        ("  ablation_scores: [mse, mse]\n", "ablation_scores"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ParamsError, match=key):
        _load(tmp_path, body)
