"""RFD-MD: random feature drop + Mahalanobis distance, the monitoring mode's score (SPEC 1.3).

Features are an intermediate encoder layer's maps, flattened to one row per image. A seeded
random subset of the dimensions is kept (like PaDiM's random channel selection, but over
every flattened dimension); a Gaussian (location, covariance) is fitted on normal training
images and the monitoring score is the Mahalanobis distance to it.

Covariance estimators (``covariance``):

- ``"empirical_ridge"``: unbiased sample covariance + ``ridge`` * I, the authors' choice
  (ridge 1e-5, absolute, so it depends on the features' scale). With fewer training images
  than kept dimensions the sample covariance is singular, so the distance then largely
  measures how far an image lies outside the span of the training features.
- ``"ledoit_wolf"`` / ``"oas"``: shrinkage towards a scaled identity
  (``sklearn.covariance``); well conditioned whatever the sample size. ``ridge`` is unused.

``score_samples`` follows scikit-learn's outlier convention (higher = more normal, the
negated distance); ``mahalanobis`` returns the distance itself, the monitoring score.
``predict``'s offset is the ``contamination`` quantile of the *training* scores, a
convenience for the estimator contract: the pipeline fits its monitoring threshold on
validation scores with ``pipeline.models.thresholds``.
"""

from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.covariance import OAS, LedoitWolf
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

COVARIANCE_ESTIMATORS = ("empirical_ridge", "ledoit_wolf", "oas")
PAPER_N_FEATURES_KEPT = 500  # best accuracy/time trade-off in the paper's ablation
PAPER_RIDGE = 1e-5  # the authors' regulariser of the sample covariance

FloatArray = NDArray[np.float64]
# the fitted attributes (without the trailing "_") that ``fitted_state`` stores as arrays
FITTED_ARRAYS = ("kept_indices", "location", "covariance", "precision")


class RandomFeatureMahalanobis(OutlierMixin, BaseEstimator):
    """Gaussian model of a random subset of flattened encoder features.

    Args:
        n_features_kept: dimensions kept at random; all are kept when the input has fewer.
        covariance: ``"empirical_ridge"``, ``"ledoit_wolf"`` or ``"oas"``.
        ridge: added to the sample covariance's diagonal (``empirical_ridge`` only).
        random_state: seed (or ``RandomState``) of the kept-dimension draw.
        contamination: share of training images ``predict`` calls outliers, in (0, 0.5].

    Attributes:
        kept_indices_: (k,) sorted indices of the kept input dimensions.
        location_: (k,) mean of the kept features.
        covariance_: (k, k) estimated covariance.
        precision_: (k, k) its (pseudo-)inverse.
        offset_: ``decision_function = score_samples - offset_``.
        n_features_in_: input dimensions seen in ``fit``.
    """

    def __init__(
        self,
        n_features_kept: int = PAPER_N_FEATURES_KEPT,
        covariance: str = "ledoit_wolf",
        ridge: float = PAPER_RIDGE,
        random_state: int | np.random.RandomState | None = 0,
        contamination: float = 0.1,
    ) -> None:
        self.n_features_kept = n_features_kept
        self.covariance = covariance
        self.ridge = ridge
        self.random_state = random_state
        self.contamination = contamination

    def fit(self, X: ArrayLike, y: Any = None) -> RandomFeatureMahalanobis:  # noqa: ARG002
        """Draw the kept dimensions and fit the Gaussian on normal images.

        Args:
            X: (n_samples, n_features) flattened feature maps of normal images.
            y: ignored (unsupervised), present for the scikit-learn API.

        Returns:
            self.
        """
        self._check_params()
        # float32 stays float32 until the subset is taken: a full layer can be ~1e5 wide
        X = np.asarray(validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2))
        rng = check_random_state(self.random_state)
        n_features = X.shape[1]
        if self.n_features_kept >= n_features:
            self.kept_indices_ = np.arange(n_features)
        else:
            drawn = rng.choice(n_features, size=self.n_features_kept, replace=False)
            self.kept_indices_ = np.sort(drawn)
        kept = np.asarray(X[:, self.kept_indices_], dtype=np.float64)
        self.location_, self.covariance_ = self._estimate(kept)
        self.precision_ = linalg.pinvh(self.covariance_, check_finite=False)
        self.offset_ = float(np.percentile(-self._distance(kept), 100.0 * self.contamination))
        log.debug(
            "fitted %s on %d x %d features (%d kept)",
            self.covariance,
            *X.shape,
            self.kept_indices_.size,
        )
        return self

    def _check_params(self) -> None:
        """Raise a one-line error naming the bad parameter and its valid range."""
        name = type(self).__name__
        k = self.n_features_kept
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise SealauditError(f"{name}: n_features_kept must be an integer >= 1, got {k!r}")
        if self.covariance not in COVARIANCE_ESTIMATORS:
            raise SealauditError(
                f"{name}: covariance must be one of {COVARIANCE_ESTIMATORS}, "
                f"got {self.covariance!r}"
            )
        if not isinstance(self.ridge, numbers.Real) or not self.ridge >= 0:
            raise SealauditError(f"{name}: ridge must be a number >= 0, got {self.ridge!r}")
        c = self.contamination
        if not isinstance(c, numbers.Real) or not 0 < c <= 0.5:
            raise SealauditError(f"{name}: contamination must lie in (0, 0.5], got {c!r}")

    def _estimate(self, kept: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(k,) location and (k, k) covariance of the kept features."""
        location = kept.mean(axis=0)
        if self.covariance == "empirical_ridge":
            cov = np.atleast_2d(np.cov(kept, rowvar=False))
            cov[np.diag_indices_from(cov)] += self.ridge
            return location, cov
        shrunk = LedoitWolf() if self.covariance == "ledoit_wolf" else OAS()
        return location, np.asarray(shrunk.fit(kept).covariance_, dtype=np.float64)

    def _kept(self, X: ArrayLike) -> FloatArray:
        """Validated (n, k) deviations of X's kept features from the location."""
        check_is_fitted(self)
        data = np.asarray(validate_data(self, X, dtype=[np.float64, np.float32], reset=False))
        return np.asarray(data[:, self.kept_indices_], dtype=np.float64) - self.location_

    def _terms(self, deviations: FloatArray) -> FloatArray:
        """(n, k) terms d_i (P d)_i; each row sums to the squared distance."""
        return deviations * (deviations @ self.precision_)

    def _distance(self, kept: FloatArray) -> FloatArray:
        squared = self._terms(kept - self.location_).sum(axis=1)
        # the precision is positive semi-definite: a negative sum is rounding error
        return np.sqrt(np.clip(squared, 0.0, None))

    def mahalanobis(self, X: ArrayLike) -> FloatArray:
        """Mahalanobis distance to the training Gaussian: the monitoring score.

        Args:
            X: (n_samples, n_features_in_) flattened feature maps.

        Returns:
            (n_samples,) distances >= 0, higher = more anomalous.
        """
        squared = self._terms(self._kept(X)).sum(axis=1)
        return np.sqrt(np.clip(squared, 0.0, None))

    def score_samples(self, X: ArrayLike) -> FloatArray:
        """Negated Mahalanobis distance (scikit-learn convention: higher = more normal)."""
        return -self.mahalanobis(X)

    def decision_function(self, X: ArrayLike) -> FloatArray:
        """``score_samples - offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> NDArray[np.int_]:
        """+1 for inliers, -1 for outliers (``decision_function < 0``)."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def contribution_map(self, X: ArrayLike, feature_shape: tuple[int, int, int]) -> FloatArray:
        """Where in the feature map the squared distance comes from: this mode's heatmap.

        The squared distance d'Pd is the sum over kept dimensions i of d_i (P d)_i. Each term
        is credited to the spatial location of dimension i in the (C, H, W) map (flattened in
        C order, as ``torch.flatten`` does) and summed over channels, so each map sums to the
        squared distance. Locations with no kept dimension are 0. A single term can be
        negative (a deviation that a correlated one explains away), so a map can hold
        negative values; upsampling to the image is the caller's job.

        Args:
            X: (n_samples, C * H * W) flattened feature maps.
            feature_shape: (C, H, W) of one image's feature map.

        Returns:
            (n_samples, H, W) contributions to the squared distance.
        """
        if len(feature_shape) != 3 or int(np.prod(feature_shape)) != self._n_features():
            raise ValueError(
                f"feature_shape {tuple(feature_shape)} must be (C, H, W) with C*H*W equal to "
                f"the {self._n_features()} features the estimator was fitted on"
            )
        terms = self._terms(self._kept(X))
        _, height, width = (int(v) for v in feature_shape)
        location = self.kept_indices_ % (height * width)
        maps = np.zeros((terms.shape[0], height * width))
        np.add.at(maps, (np.arange(terms.shape[0])[:, None], location[None, :]), terms)
        return maps.reshape(-1, height, width)

    def fitted_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Plain values and arrays that rebuild this fitted estimator (``from_fitted_state``).

        Returns:
            (values, arrays): the constructor parameters plus ``offset_`` and
            ``n_features_in_`` as JSON-able values; ``kept_indices_``, ``location_``,
            ``covariance_`` and ``precision_`` as arrays. A data-only form: reading it back
            runs no code (unlike a pickle).
        """
        check_is_fitted(self)
        seed = self.random_state
        if not (seed is None or isinstance(seed, numbers.Integral)):
            raise SealauditError(
                f"{type(self).__name__}: random_state {seed!r} cannot be stored as data; "
                "fit with an integer seed"
            )
        values = {**self.get_params(), "offset_": float(self.offset_)}
        values["n_features_in_"] = int(self.n_features_in_)
        arrays = {name: np.asarray(getattr(self, f"{name}_")) for name in FITTED_ARRAYS}
        return values, arrays

    @classmethod
    def from_fitted_state(
        cls, values: dict[str, Any], arrays: dict[str, FloatArray]
    ) -> RandomFeatureMahalanobis:
        """The fitted estimator ``fitted_state`` describes, checked for consistent shapes.

        Raises:
            SealauditError: a value or array is missing or the shapes disagree.
        """
        params = {name: values[name] for name in cls._get_param_names() if name in values}
        missing = sorted({*cls._get_param_names(), "offset_", "n_features_in_"} - set(values))
        missing += sorted(set(FITTED_ARRAYS) - set(arrays))
        if missing:
            raise SealauditError(f"{cls.__name__}: fitted state lacks {', '.join(missing)}")
        estimator = cls(**params)
        estimator._check_params()
        estimator.offset_ = float(values["offset_"])
        estimator.n_features_in_ = int(values["n_features_in_"])
        estimator.kept_indices_ = np.asarray(arrays["kept_indices"], dtype=np.int64)
        for name in ("location", "covariance", "precision"):
            setattr(estimator, f"{name}_", np.asarray(arrays[name], dtype=np.float64))
        estimator._check_state()
        return estimator

    def _check_state(self) -> None:
        """Raise when the fitted arrays' shapes disagree with each other or with the input."""
        k = self.kept_indices_.shape
        square = (k[0], k[0]) if len(k) == 1 else None
        consistent = (
            len(k) == 1
            and self.location_.shape == k
            and self.covariance_.shape == square
            and self.precision_.shape == square
            and (k[0] == 0 or int(self.kept_indices_.min()) >= 0)
            and (k[0] == 0 or int(self.kept_indices_.max()) < self.n_features_in_)
        )
        if not consistent:
            raise SealauditError(
                f"{type(self).__name__}: fitted arrays disagree (kept {k}, location "
                f"{self.location_.shape}, covariance {self.covariance_.shape}, precision "
                f"{self.precision_.shape}, {self.n_features_in_} input features); refit"
            )

    def _n_features(self) -> int:
        check_is_fitted(self)
        return int(self.n_features_in_)
