"""Hit/miss POD: known answers of the fit, the a90/95 bound and the success-run fallback."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image
from scipy.optimize import brentq, minimize
from scipy.special import expit, logit, ndtri
from scipy.stats import norm

from pipeline.capability.glm import lower_bound_log_size
from pipeline.capability.plots import plot_pod
from pipeline.capability.pod import assess, fit_pod
from pipeline.capability.success_run import success_run_size
from pipeline.errors import SealauditError

# True curve of the simulated detector: POD(1.0) = 0.9 exactly, a50 = 0.48.
TRUE_A90 = 1.0
TRUE_B1 = 3.0
TRUE_B0 = math.log(9)  # logit(0.9) - TRUE_B1 * ln(TRUE_A90)
N_SEEDS = 200
A90_LOG_BIAS_TOLERANCE = 0.10  # |mean ln(a90 estimate / true a90)| over the seeds
MIN_COVERAGE = 0.93  # share of seeds whose a90/95 is >= the true a90 (nominal 0.95)


def _simulate(seed: int, n: int, b0: float = TRUE_B0, b1: float = TRUE_B1, link: str = "logit"):
    """``n`` events, sizes log-uniform over [0.1, 10], hits drawn from the true curve."""
    rng = np.random.default_rng(seed)
    sizes = np.exp(rng.uniform(math.log(0.1), math.log(10), n))
    eta = b0 + b1 * np.log(sizes)
    pod = expit(eta) if link == "logit" else norm.cdf(eta)
    return sizes, rng.random(n) < pod


@pytest.mark.parametrize("n", [60, 120, 240])
def test_known_logistic_detector_a90_unbiased_and_a90_95_covers(n):
    log_errors, covered = [], 0
    for seed in range(N_SEEDS):
        result = assess(*_simulate(seed, n))
        if result.method == "glm":
            log_errors.append(math.log(result.a90 / TRUE_A90))
        # not demonstrated claims nothing, so it never claims too small a size
        covered += result.a90_95 is None or result.a90_95 >= TRUE_A90
    assert len(log_errors) >= 0.9 * N_SEEDS
    assert abs(np.mean(log_errors)) <= A90_LOG_BIAS_TOLERANCE
    assert covered / N_SEEDS >= MIN_COVERAGE


def _negative_loglik(beta, x, y, link):
    eta = beta[0] + beta[1] * x
    p = expit(eta) if link == "logit" else norm.cdf(eta)
    p = np.clip(p, 1e-300, 1 - 1e-16)
    return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))


def _numeric_hessian(f, beta, step=1e-4):
    hessian = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * step, np.eye(2)[j] * step
            hessian[i, j] = (
                f(beta + ei + ej) - f(beta + ei - ej) - f(beta - ei + ej) + f(beta - ei - ej)
            ) / (4 * step**2)
    return hessian


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_fit_matches_a_general_optimiser_and_numeric_information(link):
    sizes, hits = _simulate(7, 150, link=link)
    fit = fit_pod(sizes, hits, link=link)
    x, y = np.log(sizes), hits.astype(float)
    best = minimize(_negative_loglik, [0.0, 1.0], args=(x, y, link), method="BFGS", tol=1e-12)
    assert fit.converged
    assert [fit.b0, fit.b1] == pytest.approx(best.x, abs=1e-4)
    assert fit.log_likelihood == pytest.approx(-best.fun, abs=1e-8)
    covariance = np.linalg.inv(_numeric_hessian(lambda b: _negative_loglik(b, x, y, link), best.x))
    assert np.array(fit.covariance) == pytest.approx(covariance, rel=1e-3)


def test_fit_agrees_with_statsmodels_logit_and_probit():
    sm = pytest.importorskip("statsmodels.api")
    sizes, hits = _simulate(3, 120)
    design = sm.add_constant(np.log(sizes))
    for link, model in (("logit", sm.Logit), ("probit", sm.Probit)):
        fit = fit_pod(sizes, hits, link=link)
        reference = model(hits.astype(float), design).fit(method="newton", tol=1e-12, disp=0)
        assert [fit.b0, fit.b1] == pytest.approx(reference.params, abs=1e-6)
        assert np.array(fit.covariance) == pytest.approx(reference.cov_params(), abs=1e-6)
        assert fit.log_likelihood == pytest.approx(reference.llf, abs=1e-6)


def test_a90_95_is_where_the_lower_band_reaches_0_9():
    sizes, hits = _simulate(11, 120)
    fit = fit_pod(sizes, hits)
    band_root = brentq(lambda a: fit.pod_lower([a])[0] - 0.9, TRUE_A90 / 2, 10.0, xtol=1e-12)
    assert fit.a90_95 == pytest.approx(band_root, rel=1e-8)
    assert fit.pod([fit.a90])[0] == pytest.approx(0.9, abs=1e-12)
    assert fit.pod([fit.a50])[0] == pytest.approx(0.5, abs=1e-12)
    assert fit.a50 < fit.a90 < fit.a90_95
    assert "z = 1.645" in fit.bound_method


def test_lower_bound_takes_the_rising_crossing_when_the_band_meets_0_9_twice():
    # slope not significant (b1 < z * se(b1)): the lower bound rises, then falls again
    b0, b1, covariance, q, z = 5.0, 1.0, ((0.01, 0.0), (0.0, 1.0)), float(logit(0.9)), 1.645
    x = lower_bound_log_size(b0, b1, covariance, q, z)

    def bound(t: float) -> float:
        return b0 + b1 * t - z * math.sqrt(0.01 + t**2)

    assert x == pytest.approx(brentq(lambda t: bound(t) - q, -10.0, 0.0), abs=1e-9)
    assert bound(x - 0.01) < q < bound(x + 0.01)


def test_probit_link_recovers_a_probit_truth():
    b0, b1 = 1.0, 2.0  # a90 = exp((1.2816 - 1) / 2) = 1.151
    sizes, hits = _simulate(5, 4000, b0=b0, b1=b1, link="probit")
    fit = fit_pod(sizes, hits, link="probit")
    (v00, _), (_, v11) = fit.covariance
    assert abs(fit.b0 - b0) < 3 * math.sqrt(v00)
    assert abs(fit.b1 - b1) < 3 * math.sqrt(v11)
    assert fit.a90 == pytest.approx(math.exp((ndtri(0.9) - b0) / b1), rel=0.05)
    assert fit.link == "probit"
    assert assess(sizes, hits, link="probit").fit.link == "probit"


def test_separation_falls_back_to_the_success_run_with_the_right_size():
    sizes = np.concatenate([np.linspace(0.1, 0.9, 10), np.linspace(1.0, 4.4, 35)])
    hits = np.arange(sizes.size) >= 10  # every miss below every hit
    result = assess(sizes, hits)
    assert result.method == "success_run"
    assert result.a90_95 == 1.0  # all 35 events >= 1.0 hit, 29 needed
    assert result.fit is None and result.a90 is None
    assert "separated" in result.note
    few = assess(sizes[:35], hits[:35])  # 10 misses, then only 25 hits: fewer than 29
    assert few.method == "not_demonstrated" and few.a90_95 is None


def test_success_run_stops_at_the_largest_miss_ties_included():
    sizes = np.concatenate([np.arange(1.0, 41.0), [3.0, 10.0]])
    hits = np.concatenate([np.ones(40, bool), [False, False]])  # a hit and a miss at 10
    assert success_run_size(sizes, hits, 29) == 11.0  # 30 hits at 11..40
    assert success_run_size(sizes, hits, 31) is None
    result = assess(sizes, hits)  # 2 misses: too few for a fit
    assert (result.method, result.a90_95) == ("success_run", 11.0)
    assert "2 misses" in result.note


def test_all_misses_are_not_demonstrated():
    result = assess(np.linspace(0.1, 10, 60), np.zeros(60, bool))
    assert result.method == "not_demonstrated"
    assert result.a90_95 is None and result.fit is None
    assert (result.n_events, result.n_hits) == (60, 0)
    assert assess([], []).method == "not_demonstrated"


def test_pod_falling_with_size_is_not_a_glm_result():
    sizes, hits = _simulate(2, 200, b0=0.0, b1=-1.0)
    result = assess(sizes, hits)
    assert result.method != "glm"
    assert result.fit is not None and result.fit.b1 < 0
    assert result.fit.a90 is None and result.fit.a90_95 is None
    assert "does not rise" in result.note
    reverse = assess(np.arange(1.0, 41.0), np.arange(40) < 20)  # hits only below misses
    assert reverse.method == "not_demonstrated"
    assert "wrong way" in reverse.note


def test_a90_95_beyond_the_largest_tested_size_is_not_extrapolated():
    sizes, hits = _simulate(4, 60)
    kept = sizes <= 1.2  # tested only up to just above the true a90
    fit = fit_pod(sizes[kept], hits[kept])
    assert fit.a90_95 > sizes[kept].max()  # precondition of the case
    result = assess(sizes[kept], hits[kept])
    assert result.method == "not_demonstrated" and result.a90_95 is None
    assert "not extrapolated" in result.note
    assert result.a90 == fit.a90  # the point estimate is still reported


def test_a90_95_below_the_smallest_tested_size_is_reported_as_that_size():
    rng = np.random.default_rng(8)
    sizes = np.exp(rng.uniform(0.0, math.log(10), 3000))  # all >= 1.0, true a90 = 0.5
    hits = rng.random(sizes.size) < expit(math.log(9) + TRUE_B1 * np.log(sizes / 0.5))
    fit = fit_pod(sizes, hits)
    assert fit.a90_95 < sizes.min()  # precondition of the case
    result = assess(sizes, hits)
    assert (result.method, result.a90_95) == ("glm", sizes.min())
    assert "smallest tested size" in result.note


@pytest.mark.parametrize(
    ("sizes", "hits", "message"),
    [
        ([1.0, -1.0], [1, 0], "finite and > 0"),
        ([1.0, math.nan], [1, 0], "finite and > 0"),
        ([1.0, 2.0], [1, 2], "0/1"),
        ([1.0, 2.0], [1], "equal 1-D"),
    ],
)
def test_bad_data_is_a_clear_error(sizes, hits, message):
    with pytest.raises(SealauditError, match=message):
        assess(sizes, hits)


def test_bad_link_and_levels_are_clear_errors():
    with pytest.raises(
        SealauditError, match="unknown POD link 'cloglog': use one of logit, probit"
    ):
        assess([1.0], [1], link="cloglog")
    with pytest.raises(SealauditError, match="reliability 1.2"):
        assess([1.0], [1], reliability=1.2)


def test_to_dict_is_json_safe_and_complete():
    result = assess(*_simulate(0, 120))
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["method"] == "glm"
    assert {"method", "a50", "a90", "a90_95", "n_events", "n_hits", "note", "fit"} <= set(data)
    assert data["fit"]["covariance"][0][1] == data["fit"]["covariance"][1][0]
    fallback = assess(np.linspace(0.1, 10, 60), np.zeros(60, bool)).to_dict()
    assert json.loads(json.dumps(fallback, allow_nan=False))["a90_95"] is None


@pytest.mark.parametrize("seed_and_n", [(0, 120), (1, 0)])
def test_plot_pod_writes_identical_pngs(tmp_path, seed_and_n):
    sizes, hits = _simulate(*seed_and_n)
    result = assess(sizes, hits)
    paths = [tmp_path / "first.png", tmp_path / "second.png"]
    for path in paths:
        plot_pod(result, sizes, hits, 0.25, "mm", "REQ-CHANNEL", path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with Image.open(paths[0]) as image:
        assert image.size == (650, 420)
    with pytest.raises(SealauditError, match="required size must be > 0"):
        plot_pod(result, sizes, hits, 0.0, "mm", "REQ-CHANNEL", paths[0])
