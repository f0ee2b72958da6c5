"""SPC on monitoring scores: known answers of the charts, their seeded run-length behaviour,
lot tests and exceedance intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.errors import SealauditError
from pipeline.models.thresholds import clopper_pearson
from pipeline.monitoring.run_length import (
    detection_delay,
    in_control_false_alarms,
    lot_false_alarm_rate,
)
from pipeline.monitoring.spc import (
    ReferenceDistribution,
    cusum_chart,
    ewma_chart,
    exceedance_rate,
    lot_test,
)

UNIT = ReferenceDistribution(mean=10.0, sd=2.0, n=2, sorted_scores=[8.0, 12.0])


def _stream(seed: int, n: int = 500, shift: float = 0.0, start: int = 200) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(n)
    z[start:] += shift
    return UNIT.mean + UNIT.sd * z


def test_reference_distribution_known_answer_and_json_round_trip():
    ref = ReferenceDistribution.from_scores([3.0, 1.0, 2.0, 6.0])
    assert ref.mean == 3.0
    assert ref.sd == pytest.approx(np.sqrt(14 / 3))  # sample sd, ddof = 1
    assert ref.n == 4
    assert ref.sorted_scores == [1.0, 2.0, 3.0, 6.0]
    restored = ReferenceDistribution.from_dict(json.loads(json.dumps(ref.to_dict())))
    assert restored == ref
    np.testing.assert_allclose(ref.standardise([3.0]), [0.0])


@pytest.mark.parametrize("scores", [[1.0, 1.0, 1.0], [2.0], [1.0, np.nan], [[1.0, 2.0]]])
def test_reference_distribution_rejects_degenerate_scores(scores):
    with pytest.raises(SealauditError, match="reference scores"):
        ReferenceDistribution.from_scores(scores)


def test_ewma_known_answer_with_exact_time_varying_limits():
    chart = ewma_chart([12.0, 14.0, 10.0], UNIT, lam=0.2, L=3.0)  # z = 1, 2, 0
    np.testing.assert_allclose(chart.statistic, [10.4, 11.12, 10.896])
    half = [3 * np.sqrt(0.2 / 1.8 * (1 - 0.8 ** (2 * i))) for i in (1, 2, 3)]
    assert half[0] == pytest.approx(0.6)
    np.testing.assert_allclose(chart.upper, 10 + 2 * np.array(half))
    np.testing.assert_allclose(chart.lower, 10 - 2 * np.array(half))
    assert chart.alarms == [False, False, False]
    assert chart.first_alarm is None
    # the limits widen towards the asymptotic 10 +- 2 * L * sqrt(lam / (2 - lam)) = 10 +- 2
    assert ewma_chart(np.full(200, 10.0), UNIT).upper[-1] == pytest.approx(12.0)


def test_ewma_with_lambda_one_is_a_shewhart_chart():
    chart = ewma_chart([10.0, 16.5, 3.9, 15.9], UNIT, lam=1.0, L=3.0)  # z = 0, 3.25, -3.05, 2.95
    assert chart.alarms == [False, True, True, False]
    assert (chart.first_alarm, chart.n_alarms) == (1, 2)


def test_cusum_known_answer_both_sides():
    chart = cusum_chart([12.0, 14.0, 10.0, 4.0], UNIT, k=0.5, h=1.9)  # z = 1, 2, 0, -3
    np.testing.assert_allclose(chart.upper_statistic, [0.5, 2.0, 1.5, 0.0])
    np.testing.assert_allclose(chart.lower_statistic, [0.0, 0.0, 0.0, 2.5])
    assert chart.alarms == [False, True, False, True]
    assert (chart.first_alarm, chart.n_alarms) == (1, 2)


def test_charts_are_plain_json():
    for chart in (ewma_chart(_stream(0, 50), UNIT), cusum_chart(_stream(0, 50), UNIT)):
        data = json.loads(json.dumps(chart.to_dict(), allow_nan=False))
        assert len(data["alarms"]) == 50


@pytest.mark.parametrize("chart", [ewma_chart, cusum_chart])
def test_in_control_stream_of_500_points_has_few_alarms(chart):
    # ARL0 is about 500 (EWMA 0.2 / 3) and 465 (CUSUM 0.5 / 5): at most one short excursion
    assert chart(_stream(seed=11), UNIT).n_alarms <= 3


@pytest.mark.assures("drift_alarm", "HZ-02")
@pytest.mark.parametrize("chart", ["ewma", "cusum"])
def test_in_control_false_alarm_rate_matches_the_textbook_run_length(chart):
    rates = in_control_false_alarms(chart, n_streams=200, n_points=500, seed=0)
    # one alarm episode per ~500 points; an episode flags a few consecutive points
    assert 1 / 1000 < rates["onsets_per_point"] < 1 / 250
    assert rates["per_point"] < 0.01
    assert 0.3 < rates["per_stream"] < 0.85


@pytest.mark.assures("drift_alarm", "HZ-02")
@pytest.mark.parametrize("chart", [ewma_chart, cusum_chart])
def test_one_sigma_shift_is_detected_within_30_points(chart):
    result = chart(_stream(seed=11, shift=1.0, start=200), UNIT)
    after = np.flatnonzero(np.array(result.alarms)[200:])
    assert after.size > 0 and after[0] < 30


@pytest.mark.parametrize("chart", ["ewma", "cusum"])
def test_simulated_detection_delay_of_a_one_sigma_shift(chart):
    delay = detection_delay(chart, shift=1.0, shift_start=200, horizon=100, n_streams=200)
    # textbook ARL1 for a 1-sigma shift is about 10 points for both charts
    assert delay["detected_share"] == 1.0
    assert 6 < delay["mean"] < 15
    assert delay["p90"] <= 30
    in_control = detection_delay(chart, shift=0.0, shift_start=200, horizon=100, n_streams=200)
    assert in_control["detected_share"] < 0.5


@pytest.mark.assures("drift_alarm", "HZ-02")
def test_lot_test_separates_shifted_from_same_distribution_lots():
    rng = np.random.default_rng(3)
    ref = rng.standard_normal(240)
    same = lot_test(rng.standard_normal(50), ref)
    shifted = lot_test(rng.standard_normal(50) + 1.0, ref)
    # a same-distribution lot falls below 0.05 one time in 20 (this seed: KS p = 0.044)
    assert same["ks_pvalue"] > 0.01 and same["mannwhitney_pvalue"] > 0.01
    assert shifted["ks_pvalue"] < 1e-3 and shifted["mannwhitney_pvalue"] < 1e-3
    assert shifted["prob_lot_higher"] > 0.7
    assert abs(same["prob_lot_higher"] - 0.5) < 0.1
    json.dumps(shifted, allow_nan=False)


def test_one_sided_lot_test_ignores_a_downward_shift():
    rng = np.random.default_rng(4)
    ref, lower = rng.standard_normal(240), rng.standard_normal(50) - 1.0
    assert lot_test(lower, ref)["ks_pvalue"] < 1e-3
    greater = lot_test(lower, ref, alternative="greater")
    assert greater["ks_pvalue"] > 0.5 and greater["mannwhitney_pvalue"] > 0.5
    assert lot_test(-lower, -ref, alternative="greater")["mannwhitney_pvalue"] < 1e-3


def test_lot_false_alarm_rate_is_about_alpha():
    rates = lot_false_alarm_rate(n_lots=200, lot_size=50, ref_size=240, alpha=0.05, seed=0)
    assert rates["ks"] <= 0.1 and rates["mannwhitney"] <= 0.1


def test_exceedance_rate_known_answer_and_tie_rule():
    result = exceedance_rate([1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0, 0.0], threshold=5.0)
    assert (result["n"], result["n_above"], result["rate"]) == (10, 3, 0.3)  # 5.0 is accepted
    assert result["ci"] == list(clopper_pearson(3, 10))
    json.dumps(result, allow_nan=False)


def test_exceedance_interval_covers_the_true_rate():
    rng = np.random.default_rng(5)
    true_rate, threshold = 0.02, 2.0537489  # P(Z > 2.0537) = 0.02
    covered = [exceedance_rate(rng.standard_normal(500), threshold)["ci"] for _ in range(200)]
    coverage = np.mean([low <= true_rate <= high for low, high in covered])
    assert coverage >= 0.92  # exact intervals: nominal 95 % or more
    low, high = exceedance_rate(rng.standard_normal(5000), threshold)["ci"]
    assert low <= true_rate <= high


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(SealauditError, match="EWMA chart"):
        ewma_chart([1.0], UNIT, lam=0.0)
    with pytest.raises(SealauditError, match="CUSUM chart"):
        cusum_chart([1.0], UNIT, h=0.0)
    with pytest.raises(SealauditError, match="finite scores"):
        ewma_chart([1.0, np.inf], UNIT)
    with pytest.raises(SealauditError, match="at least one score"):
        exceedance_rate([], 1.0)
    with pytest.raises(SealauditError, match="unknown chart"):
        in_control_false_alarms("shewhart", n_streams=2, n_points=2)  # type: ignore[arg-type]
