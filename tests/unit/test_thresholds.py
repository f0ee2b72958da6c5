"""Thresholds: known answers of the fitting rules and of the binomial bounds behind them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pipeline.errors import SealauditError
from pipeline.models.thresholds import (
    Threshold,
    clopper_pearson,
    fit_max_miss_rate,
    fit_supervised,
    fit_unsupervised,
    operating_point,
    with_justification,
    zero_failure_sample_size,
)


def test_zero_failure_sample_size_known_answers():
    assert zero_failure_sample_size(0.99, 0.95) == 299
    assert zero_failure_sample_size(0.95, 0.95) == 59
    assert zero_failure_sample_size(0.90, 0.90) == 22
    assert zero_failure_sample_size(0.5, 0.75) == 2  # exactly 2: no rounding up to 3


@pytest.mark.assures("threshold_configuration", "HZ-07")
def test_clopper_pearson_known_answers():
    # 0 failures in 299: one-sided 95 % upper bound 1 - 0.05**(1/299), about 1 %
    low, high = clopper_pearson(0, 299, one_sided=True)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.05 ** (1 / 299), rel=1e-9)
    assert high == pytest.approx(0.01, abs=1e-4)
    assert clopper_pearson(0, 299)[1] == pytest.approx(1 - 0.025 ** (1 / 299), rel=1e-9)
    assert clopper_pearson(5, 10) == pytest.approx((0.187086, 0.812914), abs=1e-6)
    assert clopper_pearson(1, 1) == pytest.approx((0.025, 1.0))
    assert clopper_pearson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)


def test_zero_failure_size_is_the_smallest_n_whose_bound_meets_the_reliability():
    n = zero_failure_sample_size(0.99, 0.95)
    assert clopper_pearson(0, n, one_sided=True)[1] <= 0.01
    assert clopper_pearson(0, n - 1, one_sided=True)[1] > 0.01


@pytest.mark.assures("threshold_configuration")
def test_unsupervised_is_mean_plus_k_sample_sd():
    threshold = fit_unsupervised([1.0, 2.0, 3.0, 4.0, 5.0], k=2.0, score_name="mse")
    assert threshold.value == pytest.approx(3.0 + 2.0 * math.sqrt(2.5))
    assert threshold.rule == "mean_plus_k_sigma"
    assert (threshold.n_normal, threshold.n_defective) == (5, 0)
    assert threshold.justification["mean"] == pytest.approx(3.0)
    assert threshold.justification["false_reject_rate"] == 0.0
    numpy_std = fit_unsupervised([1.0, 2.0, 3.0, 4.0, 5.0], k=2.0, score_name="mse", ddof=0)
    assert numpy_std.value == pytest.approx(3.0 + 2.0 * math.sqrt(2.0))


@pytest.mark.assures("threshold_configuration")
def test_youden_on_separable_data_lies_between_the_classes():
    scores = [0.1, 0.2, 0.3, 0.7, 0.8]
    labels = [0, 0, 0, 1, 1]
    threshold = fit_supervised(scores, labels, "youden", score_name="four_ms_ssim")
    assert 0.3 < threshold.value < 0.7
    assert threshold.value == pytest.approx(0.5)
    assert threshold.justification["tpr"] == 1.0
    assert threshold.justification["fpr"] == 0.0
    assert threshold.justification["youden"] == 1.0


@pytest.mark.parametrize(("criterion", "best"), [("accuracy", 0.75), ("f1", 0.8)])
def test_supervised_ties_go_to_the_lowest_threshold(criterion, best):
    # cuts 1.5 / 2.5 / 3.5 give accuracy 3/4, 2/4, 3/4 and F1 0.8, 0.5, 2/3
    threshold = fit_supervised([1.0, 2.0, 3.0, 4.0], [0, 1, 0, 1], criterion, score_name="mse")
    assert threshold.value == pytest.approx(1.5)
    assert threshold.justification[criterion] == pytest.approx(best)


@pytest.mark.assures("threshold_configuration", "HZ-01")
def test_max_miss_rate_picks_the_highest_threshold_whose_bound_holds():
    normals = np.linspace(0.0, 0.5, 50)
    defects = np.arange(1.0, 101.0)  # 100 defectives scored 1..100
    scores, labels = np.r_[normals, defects], np.r_[np.zeros(50), np.ones(100)]
    # one-sided 95 % upper bounds with 100 defectives: 0 misses 0.0295, 1 miss 0.0466,
    # 2 misses 0.0616 -> at most one miss allowed under 5 %: cut between 1 and 2
    threshold = fit_max_miss_rate(scores, labels, 0.05, score_name="mse")
    assert threshold.value == pytest.approx(1.5)
    assert threshold.justification["fn"] == 1
    assert threshold.justification["miss_rate_upper_one_sided"] == pytest.approx(0.046560, abs=1e-6)


@pytest.mark.assures("threshold_configuration")
def test_max_miss_rate_names_the_defectives_needed_when_too_few():
    scores = np.r_[np.linspace(0.0, 0.5, 50), np.linspace(1.0, 2.0, 42)]
    labels = np.r_[np.zeros(50), np.ones(42)]
    with pytest.raises(SealauditError, match="at least 59 defective"):
        fit_max_miss_rate(scores, labels, 0.05, score_name="mse")


def test_supervised_rules_need_both_classes():
    with pytest.raises(SealauditError, match="both normal and defective"):
        fit_supervised([0.1, 0.2], [0, 0], score_name="mse")


@pytest.mark.assures("inline_reject", "threshold_configuration", "HZ-01")
def test_decision_rule_rejects_strictly_above_the_value():
    threshold = fit_supervised([0.1, 0.3], [0, 1], score_name="mse")
    assert threshold.rejects([0.1, threshold.value, 0.3]).tolist() == [False, False, True]


@pytest.mark.assures("threshold_configuration", "HZ-07")
def test_operating_point_counts_and_intervals():
    point = operating_point(0.5, [0.1, 0.6, 0.4, 0.9, 0.2], [0, 0, 1, 1, 1])
    assert (point["tp"], point["fp"], point["tn"], point["fn"]) == (1, 1, 1, 2)
    assert point["fpr"] == 0.5
    assert point["miss_rate"] == pytest.approx(2 / 3)
    assert (point["miss_rate_ci_low"], point["miss_rate_ci_high"]) == pytest.approx(
        clopper_pearson(2, 3)
    )


@pytest.mark.assures("threshold_configuration")
def test_round_trip_through_json_and_stable_ids():
    scores, labels = [0.1, 0.2, 0.3, 0.7, 0.8], [0, 0, 0, 1, 1]
    threshold = fit_supervised(scores, labels, score_name="four_ms_ssim")
    restored = Threshold.from_dict(json.loads(json.dumps(threshold.to_dict())))
    assert restored == threshold
    again = fit_supervised(scores, labels, score_name="four_ms_ssim")
    other = fit_supervised(scores, labels, "accuracy", score_name="four_ms_ssim")
    assert again.threshold_id == threshold.threshold_id != other.threshold_id
    assert threshold.created_by.startswith("sealaudit ")


@pytest.mark.assures("threshold_configuration")
def test_from_dict_refuses_unknown_keys():
    record = fit_unsupervised([1.0, 2.0, 3.0], score_name="mse").to_dict()
    record["margin"] = 0.1
    with pytest.raises(SealauditError, match="margin"):
        Threshold.from_dict(record)


def test_with_justification_adds_the_labelled_operating_point_keeping_the_id():
    threshold = fit_unsupervised([0.1, 0.2, 0.3], score_name="mse")
    justified = with_justification(threshold, [0.1, 0.2, 0.9, 0.95], [0, 0, 1, 1])
    assert justified.threshold_id == threshold.threshold_id
    assert justified.justification["tpr"] == 1.0
    assert justified.justification["mean"] == threshold.justification["mean"]
