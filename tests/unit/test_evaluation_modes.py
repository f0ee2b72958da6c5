"""Evaluating a mode from its scores: thresholds come from val only, figures from test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.config.calibrate import ThresholdParams
from pipeline.errors import SealauditError
from pipeline.evaluation.fitting import pick_operating
from pipeline.evaluation.modes import evaluate_mode, fit_mode, headline, measure_mode
from tests.params import section

PARAMS = section("evaluate", n_boot=200)
RULES = section("calibrate").thresholds


def _split(rng: np.random.Generator, n_normal: int, n_defective: int, gap: float = 2.0):
    labels = np.array([0] * n_normal + [1] * n_defective)
    scores = rng.normal(size=labels.size) + gap * labels
    types = np.where(labels == 1, np.array(["void", "burn"])[np.arange(labels.size) % 2], "none")
    return scores, labels, types


def _evaluate(val, test, rules: ThresholdParams = RULES):
    return evaluate_mode(
        val[0], val[1], test[0], test[1], test[2],
        detector="attention_ae", score_name="four_ms_ssim", rules=rules, params=PARAMS,
    )  # fmt: skip


def test_thresholds_depend_on_val_only() -> None:
    rng = np.random.default_rng(0)
    val, test = _split(rng, 50, 10), _split(rng, 40, 40)
    other_test = (test[0] * 3 + 5, test[1], test[2])
    first, second = _evaluate(val, test), _evaluate(val, other_test)
    assert [t.value for t in first.thresholds] == [t.value for t in second.thresholds]
    assert all(t.fitted_on_split == "val" for t in first.thresholds)
    assert {t.rule for t in first.thresholds} >= {"mean_plus_k_sigma", "supervised"}
    assert first.thresholds[0].n_normal == 50 and first.thresholds[0].n_defective == 0


def test_mode_doc_follows_the_contract() -> None:
    rng = np.random.default_rng(1)
    result = _evaluate(_split(rng, 50, 10), _split(rng, 40, 40))
    doc = result.doc
    assert (doc["n_test_normal"], doc["n_test_defective"]) == (40, 40)
    assert doc["operating_threshold_id"] == result.operating.threshold_id
    assert result.operating.rule == "supervised"
    for entry in doc["thresholds"]:
        test = entry["test"]
        assert test["tp"] + test["fp"] + test["tn"] + test["fn"] == 80
        assert entry["miss_rate_upper_95"] >= test["miss_rate"]
        assert [row["shift"] for row in entry["sensitivity"]] == [-0.1, -0.05, 0.0, 0.05, 0.1]
        assert entry["sensitivity"][2]["threshold"] == entry["value"]
    assert set(doc["per_defect_type"]) == {"void", "burn"}
    assert sum(v["n"] for v in doc["per_defect_type"].values()) == 40
    assert set(headline(doc)) == {"auroc", "aupr", "accuracy", "f1", "miss_rate"}


def test_max_miss_rate_rule_needs_enough_defective_val_images() -> None:
    rng = np.random.default_rng(2)
    few = _evaluate(_split(rng, 50, 10, gap=6.0), _split(rng, 40, 40))
    assert [s["rule"] for s in few.doc["thresholds_not_fitted"]] == ["max_miss_rate"]
    many = _evaluate(_split(rng, 50, 60, gap=6.0), _split(rng, 40, 40))
    assert many.doc["thresholds_not_fitted"] == []
    bounded = next(t for t in many.thresholds if t.rule == "max_miss_rate")
    assert bounded.justification["miss_rate_upper_one_sided"] <= 0.10


def test_an_unfitted_max_miss_rate_is_said_once_for_every_score(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(2)
    val, test = _split(rng, 50, 10, gap=6.0), _split(rng, 40, 40)
    for score_name in ("four_ms_ssim", "mse"):
        evaluate_mode(
            val[0], val[1], test[0], test[1], test[2],
            detector="attention_ae", score_name=score_name, rules=RULES, params=PARAMS,
        )  # fmt: skip
    said = {r.getMessage() for r in caplog.records if "max_miss_rate" in r.getMessage()}
    assert len(said) == 1  # the same words, so runtime.SaidOnce lets them through once
    assert "thresholds_not_fitted" in said.pop()


def test_operating_rule_is_configurable_and_a_missing_rule_is_an_error() -> None:
    rng = np.random.default_rng(3)
    rules = dataclasses.replace(RULES, operating_rule="mean_plus_k_sigma")
    result = _evaluate(_split(rng, 50, 10), _split(rng, 40, 40), rules)
    assert result.operating.rule == "mean_plus_k_sigma"
    with pytest.raises(SealauditError, match="max_miss_rate"):
        pick_operating(result.thresholds[:2], "max_miss_rate")


def test_measuring_calibrated_thresholds_fits_nothing_on_test() -> None:
    rng = np.random.default_rng(4)
    val, test = _split(rng, 50, 10), _split(rng, 40, 40)
    fitted = fit_mode(val[0], val[1], "four_ms_ssim", RULES)
    measured = measure_mode(
        fitted, test[0], test[1], test[2],
        detector="attention_ae", score_name="four_ms_ssim", params=PARAMS,
    )  # fmt: skip
    assert measured.thresholds is fitted.thresholds and measured.operating is fitted.operating
    assert (measured.doc["n_val_normal"], measured.doc["n_val_defective"]) == (50, 10)
    assert measured.doc == _evaluate(val, test).doc  # fit then measure == the comparator path


def test_per_type_auroc_ranks_each_type_against_every_normal_image() -> None:
    from pipeline.evaluation.modes import per_defect_type

    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.95, 0.15, 0.25])
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    types = np.array(["none", "none", "none", "void", "void", "burn", "burn"])
    doc = per_defect_type(scores, labels, types, 0.5, 0.95)
    assert doc["void"]["auroc"] == 1.0  # both voids above every normal image
    assert doc["burn"]["auroc"] == 0.5  # 0.15 beats 1 of 3 normals, 0.25 beats 2 of 3
