"""RFD-MD estimator: known answers, the seeded subset, covariance options, sklearn contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.errors import SealauditError
from pipeline.models.mahalanobis import COVARIANCE_ESTIMATORS, RandomFeatureMahalanobis


def _clusters(n: int = 200, p: int = 6, shift: float = 4.0, seed: int = 0):
    """Normal cluster at 0 with correlated features, and a cluster shifted along every axis."""
    rng = np.random.default_rng(seed)
    mixing = np.eye(p) + 0.3 * rng.standard_normal((p, p))
    normal = rng.standard_normal((n, p)) @ mixing
    shifted = rng.standard_normal((n, p)) @ mixing + shift
    return normal, shifted


@parametrize_with_checks(
    [
        RandomFeatureMahalanobis(covariance="empirical_ridge"),
        RandomFeatureMahalanobis(covariance="ledoit_wolf", n_features_kept=2),
        RandomFeatureMahalanobis(covariance="oas"),
    ]
)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("covariance", COVARIANCE_ESTIMATORS)
def test_shifted_cluster_scores_higher_and_mean_scores_zero(covariance):
    normal, shifted = _clusters()
    est = RandomFeatureMahalanobis(covariance=covariance).fit(normal[:150])
    held_out = est.mahalanobis(normal[150:])
    anomalous = est.mahalanobis(shifted)
    assert held_out.min() >= 0
    assert np.median(anomalous) > 3 * np.median(held_out)
    assert anomalous.min() > np.percentile(held_out, 90)
    assert est.mahalanobis(est.location_[None, :])[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(est.score_samples(shifted), -anomalous)


def test_known_answer_distance_against_explicit_formula():
    normal, shifted = _clusters(p=4)
    est = RandomFeatureMahalanobis(covariance="empirical_ridge", ridge=0.0).fit(normal)
    cov = np.cov(normal, rowvar=False)
    d = shifted[:5] - normal.mean(axis=0)
    expected = np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d))
    np.testing.assert_allclose(est.mahalanobis(shifted[:5]), expected, rtol=1e-8)


def test_identity_covariance_with_all_features_kept_gives_euclidean_distance():
    # +-1 in every coordinate: mean 0 and sample covariance exactly (n / (n - 1)) I
    x = np.array([[1.0, 1.0, 1.0], [1, 1, -1], [1, -1, 1], [1, -1, -1]])
    x = np.vstack([x, -x])
    n = len(x)
    est = RandomFeatureMahalanobis(covariance="empirical_ridge", ridge=0.0).fit(x)
    query = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    np.testing.assert_allclose(
        est.mahalanobis(query), np.linalg.norm(query, axis=1) * np.sqrt((n - 1) / n)
    )
    assert est.kept_indices_.tolist() == [0, 1, 2]


def test_seeded_subset_is_reproducible_sorted_and_saved():
    x = np.random.default_rng(1).standard_normal((20, 300))
    a = RandomFeatureMahalanobis(n_features_kept=50, random_state=7).fit(x)
    b = RandomFeatureMahalanobis(n_features_kept=50, random_state=7).fit(x)
    c = RandomFeatureMahalanobis(n_features_kept=50, random_state=8).fit(x)
    assert a.kept_indices_.shape == (50,)
    assert np.unique(a.kept_indices_).size == 50
    assert np.all(np.diff(a.kept_indices_) > 0)
    np.testing.assert_array_equal(a.kept_indices_, b.kept_indices_)
    assert not np.array_equal(a.kept_indices_, c.kept_indices_)
    np.testing.assert_array_equal(a.mahalanobis(x), b.mahalanobis(x))


@pytest.mark.parametrize("covariance", COVARIANCE_ESTIMATORS)
def test_fewer_samples_than_kept_dimensions_stays_finite(covariance):
    # the paper's regime: a few dozen normal images, hundreds of kept dimensions
    rng = np.random.default_rng(2)
    train = rng.standard_normal((30, 400))
    est = RandomFeatureMahalanobis(n_features_kept=200, covariance=covariance).fit(train)
    assert est.precision_.shape == (200, 200)
    assert np.all(np.isfinite(est.precision_))
    new = est.mahalanobis(rng.standard_normal((10, 400)))
    seen = est.mahalanobis(train)
    assert np.all(np.isfinite(new))
    assert new.mean() > seen.mean()
    if covariance == "empirical_ridge":
        # new normal images lie outside the 29-dimensional span of the training data, which
        # the tiny ridge turns into huge distances (SPEC 1.3): shrinkage does not
        assert new.min() > 100 * seen.max()
    assert np.all(np.linalg.eigvalsh(est.covariance_) > 0)


def test_shrinkage_estimators_shrink_and_ridge_is_only_for_the_sample_covariance():
    rng = np.random.default_rng(3)
    train = rng.standard_normal((30, 100))
    sample = np.cov(train, rowvar=False)
    lw = RandomFeatureMahalanobis(covariance="ledoit_wolf", ridge=5.0).fit(train)
    er = RandomFeatureMahalanobis(covariance="empirical_ridge", ridge=5.0).fit(train)
    np.testing.assert_allclose(er.covariance_, sample + 5.0 * np.eye(100))
    # shrinkage pulls the spread of the eigenvalues in, keeping the average
    eig_lw, eig_s = np.linalg.eigvalsh(lw.covariance_), np.linalg.eigvalsh(sample)
    assert eig_lw.max() - eig_lw.min() < eig_s.max() - eig_s.min()
    assert eig_lw.mean() == pytest.approx(eig_s.mean() * 29 / 30, rel=1e-6)


def test_contribution_map_sums_to_squared_distance_and_locates_the_defect():
    rng = np.random.default_rng(4)
    c, h, w = 2, 4, 5
    train = rng.standard_normal((300, c * h * w))
    est = RandomFeatureMahalanobis(n_features_kept=30, covariance="ledoit_wolf").fit(train)
    probe = rng.standard_normal((3, c, h, w))
    kept_locations = np.unique(est.kept_indices_ % (h * w))
    hot = kept_locations[0]
    probe[0, :, hot // w, hot % w] += 25.0  # a local anomaly at a location with kept dims
    maps = est.contribution_map(probe.reshape(3, -1), (c, h, w))
    assert maps.shape == (3, h, w)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), est.mahalanobis(probe.reshape(3, -1)) ** 2)
    assert np.argmax(maps[0]) == hot
    untouched = np.setdiff1d(np.arange(h * w), kept_locations)
    assert np.all(maps.reshape(3, -1)[:, untouched] == 0.0)


def test_contribution_map_rejects_a_shape_that_does_not_match():
    est = RandomFeatureMahalanobis().fit(np.random.default_rng(5).standard_normal((10, 12)))
    with pytest.raises(ValueError, match=r"feature_shape \(2, 2, 2\)"):
        est.contribution_map(np.zeros((1, 12)), (2, 2, 2))


def test_wrong_feature_count_and_unfitted_use_are_clear_errors():
    est = RandomFeatureMahalanobis()
    with pytest.raises(NotFittedError):
        est.mahalanobis(np.zeros((2, 5)))
    est.fit(np.random.default_rng(6).standard_normal((10, 5)))
    with pytest.raises(ValueError, match="X has 4 features.*expecting 5 features"):
        est.mahalanobis(np.zeros((2, 4)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"covariance": "mcd"}, "covariance must be one of"),
        ({"n_features_kept": 0}, "n_features_kept must be an integer >= 1"),
        ({"ridge": -1.0}, "ridge must be a number >= 0"),
        ({"contamination": 0.7}, r"contamination must lie in \(0, 0.5\]"),
    ],
)
def test_bad_parameters_name_the_parameter(params, message):
    with pytest.raises(SealauditError, match=message):
        RandomFeatureMahalanobis(**params).fit(np.zeros((4, 3)))


def test_pickle_round_trip_keeps_subset_and_scores():
    normal, shifted = _clusters(p=8)
    est = RandomFeatureMahalanobis(n_features_kept=5, covariance="oas", random_state=3)
    est.fit(normal)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.kept_indices_, est.kept_indices_)
    np.testing.assert_array_equal(restored.mahalanobis(shifted), est.mahalanobis(shifted))
    assert restored.get_params() == est.get_params()


def test_fitted_state_rebuilds_the_same_estimator_without_pickle():
    normal, shifted = _clusters(p=8)
    est = RandomFeatureMahalanobis(n_features_kept=5, covariance="oas", random_state=3)
    values, arrays = est.fit(normal).fitted_state()
    restored = RandomFeatureMahalanobis.from_fitted_state(values, arrays)
    np.testing.assert_array_equal(restored.mahalanobis(shifted), est.mahalanobis(shifted))
    np.testing.assert_array_equal(restored.predict(shifted), est.predict(shifted))
    assert restored.get_params() == est.get_params()


def test_a_fitted_state_with_mismatched_arrays_is_refused():
    values, arrays = (
        RandomFeatureMahalanobis(n_features_kept=4).fit(_clusters(p=8)[0]).fitted_state()
    )
    with pytest.raises(SealauditError, match="fitted arrays disagree"):
        RandomFeatureMahalanobis.from_fitted_state(values, {**arrays, "location": np.zeros(3)})
    with pytest.raises(SealauditError, match="fitted state lacks precision"):
        RandomFeatureMahalanobis.from_fitted_state(values, {k: arrays[k] for k in list(arrays)[:3]})


def test_predict_flags_the_contamination_share_of_training_images():
    normal, shifted = _clusters()
    est = RandomFeatureMahalanobis(contamination=0.05).fit(normal)
    assert np.mean(est.predict(normal) == -1) == pytest.approx(0.05, abs=0.006)
    assert np.all(est.predict(shifted) == -1)


def test_float32_features_are_scored_in_float64():
    normal, shifted = _clusters()
    est = RandomFeatureMahalanobis().fit(normal.astype(np.float32))
    scores = est.mahalanobis(shifted.astype(np.float32))
    assert scores.dtype == np.float64
    np.testing.assert_allclose(
        scores, RandomFeatureMahalanobis().fit(normal).mahalanobis(shifted), rtol=1e-4
    )
