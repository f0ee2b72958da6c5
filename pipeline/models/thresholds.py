"""Decision thresholds as explicit, versioned objects, and the rules that fit them.

Decision rule everywhere: ``score > value`` => REJECT (defective); scores equal to the value
are accepted. Thresholds are fitted on the validation split, never on the test split.

Confidence intervals are exact Clopper-Pearson intervals (two-sided unless stated). The
max-miss-rate rule uses the one-sided upper bound, the same bound behind the zero-failure
sample size (0 misses in 299 defective images bound the miss rate by 1 % at 95 %).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import beta

from pipeline import __version__
from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

Criterion = Literal["accuracy", "f1", "youden"]
Number = float | int

CREATED_BY = f"sealaudit {__version__}"


@dataclass(frozen=True)
class Threshold:
    """A fitted threshold and the evidence that justifies it.

    Attributes:
        threshold_id: ``<score>-<rule>-<8 hex>``, a hash of everything but the justification,
            so refitting on the same data gives the same id.
        score_name: key of ``scores.SCORE_FUNCTIONS`` the threshold applies to.
        value: reject when ``score > value``.
        rule: ``mean_plus_k_sigma``, ``supervised`` or ``max_miss_rate``.
        rule_params: the rule's inputs (k, criterion, limit, confidence, ...).
        fitted_on_split: split whose scores fixed the value (``val``).
        n_normal: normal images the rule saw.
        n_defective: defective images the rule saw.
        created_by: package name and version that fitted it.
        justification: numbers of the operating point (see ``operating_point``).
    """

    threshold_id: str
    score_name: str
    value: float
    rule: str
    rule_params: dict[str, Any]
    fitted_on_split: str
    n_normal: int
    n_defective: int
    created_by: str = CREATED_BY
    justification: dict[str, Number] = field(default_factory=dict)

    def rejects(self, scores: ArrayLike) -> NDArray[np.bool_]:
        """True where an image is rejected (``score > value``)."""
        return np.asarray(scores, dtype=float) > self.value

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Threshold:
        """Inverse of ``to_dict``; unknown or missing keys are errors."""
        names = {f.name for f in fields(cls)}
        unknown, missing = sorted(set(data) - names), sorted(names - set(data))
        if unknown or missing:
            raise SealauditError(
                f"threshold record: unknown keys {unknown}, missing keys {missing}; "
                "refit the threshold with `dvc repro evaluate`"
            )
        return cls(**data)


def clopper_pearson(
    k: int, n: int, confidence: float = 0.95, one_sided: bool = False
) -> tuple[float, float]:
    """Exact binomial confidence interval of a proportion k / n.

    Args:
        k: successes (e.g. misses), 0 <= k <= n.
        n: trials; n = 0 gives the uninformative (0, 1).
        confidence: coverage, in (0, 1).
        one_sided: if True, return ``(0, upper)`` with a one-sided upper bound.

    Returns:
        (low, high).
    """
    if not 0 <= k <= n or not 0 < confidence < 1:
        raise ValueError(f"need 0 <= k <= n and 0 < confidence < 1, got {k}, {n}, {confidence}")
    if n == 0:
        return 0.0, 1.0
    tail = (1 - confidence) if one_sided else (1 - confidence) / 2
    high = 1.0 if k == n else float(beta.ppf(1 - tail, k + 1, n - k))
    if one_sided:
        return 0.0, high
    low = 0.0 if k == 0 else float(beta.ppf(tail, k, n - k + 1))
    return low, high


def zero_failure_sample_size(reliability: float, confidence: float) -> int:
    """Images that must all pass to show ``reliability`` at ``confidence`` (success run).

    ``n = ceil(ln(1 - C) / ln(R))``: 299 for R = 0.99, C = 0.95.
    """
    if not (0 < reliability < 1 and 0 < confidence < 1):
        raise ValueError("reliability and confidence must lie in (0, 1)")
    return math.ceil(math.log(1 - confidence) / math.log(reliability) - 1e-9)


def operating_point(
    value: float, scores: ArrayLike, labels: ArrayLike, confidence: float = 0.95
) -> dict[str, Number]:
    """Counts and rates of the rule ``score > value`` on a labelled set.

    Returns:
        ``threshold``, ``n_normal``, ``n_defective``, ``tp``, ``fp``, ``tn``, ``fn``, ``fpr``,
        ``tpr``, ``false_reject_rate`` (= fpr) and ``miss_rate`` (= 1 - tpr), each rate with
        ``_ci_low``/``_ci_high`` Clopper-Pearson bounds, and ``confidence``. A rate whose
        denominator is 0 is NaN with the interval (0, 1).
    """
    s, y = check_scores_labels(scores, labels)
    reject = s > value
    tp, fn = int(np.sum(reject & (y == 1))), int(np.sum(~reject & (y == 1)))
    fp, tn = int(np.sum(reject & (y == 0))), int(np.sum(~reject & (y == 0)))
    frr_low, frr_high = clopper_pearson(fp, fp + tn, confidence)
    miss_low, miss_high = clopper_pearson(fn, fn + tp, confidence)
    fpr, miss = _ratio(fp, fp + tn), _ratio(fn, fn + tp)
    return {
        "threshold": float(value),
        "n_normal": fp + tn,
        "n_defective": tp + fn,
        **{"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "fpr": fpr,
        "tpr": _ratio(tp, tp + fn),
        "false_reject_rate": fpr,
        "false_reject_rate_ci_low": frr_low,
        "false_reject_rate_ci_high": frr_high,
        "miss_rate": miss,
        "miss_rate_ci_low": miss_low,
        "miss_rate_ci_high": miss_high,
        "confidence": confidence,
    }


def with_justification(
    threshold: Threshold, scores: ArrayLike, labels: ArrayLike, confidence: float = 0.95
) -> Threshold:
    """A copy whose justification adds the operating point on a labelled split.

    Use it for an unsupervised threshold (fitted on normals only) with the full val split.
    """
    point = operating_point(threshold.value, scores, labels, confidence)
    return replace(threshold, justification={**threshold.justification, **point})


def fit_unsupervised(
    normal_scores: ArrayLike,
    k: float = 2.0,
    *,
    score_name: str,
    fitted_on_split: str = "val",
    ddof: int = 1,
) -> Threshold:
    """The paper's rule: mean + k standard deviations of normal images' scores.

    Args:
        normal_scores: (n,) scores of normal images, n >= 2.
        k: number of standard deviations.
        score_name: the score's registry key.
        fitted_on_split: split the scores come from.
        ddof: 1 for the sample standard deviation (0 reproduces ``np.std``).
    """
    s = np.asarray(normal_scores, dtype=float).ravel()
    if s.size < 2 or not np.all(np.isfinite(s)):
        raise SealauditError(f"{score_name}: need >= 2 finite normal scores to fit mean + k sd")
    mean, std = float(s.mean()), float(s.std(ddof=ddof))
    value = mean + k * std
    point = operating_point(value, s, np.zeros(s.size, dtype=int))
    justification = {"mean": mean, "std": std, **point}
    params = {"k": k, "ddof": ddof}
    return _make(score_name, "mean_plus_k_sigma", params, fitted_on_split, justification)


def fit_supervised(
    scores: ArrayLike,
    labels: ArrayLike,
    criterion: Criterion = "youden",
    *,
    score_name: str,
    fitted_on_split: str = "val",
) -> Threshold:
    """Best threshold for a criterion among midpoints of consecutive distinct scores.

    Ties go to the lowest threshold: among equally good thresholds the one that rejects more,
    i.e. misses fewer defects (the safe side for a sterile barrier).

    Args:
        scores: (n,) scores.
        labels: (n,) 0 normal / 1 defective; both classes present.
        criterion: ``accuracy``, ``f1`` or ``youden`` (TPR - FPR).
        score_name: the score's registry key.
        fitted_on_split: split the scores come from.
    """
    s, y = check_scores_labels(scores, labels, need_both=True)
    cuts, tp, fp = _cut_counts(s, y, score_name)
    n_def, n_norm = int(y.sum()), int(y.size - y.sum())
    fn, tn = n_def - tp, n_norm - fp
    if criterion == "accuracy":
        quality = (tp + tn) / y.size
    elif criterion == "f1":
        quality = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    elif criterion == "youden":
        quality = tp / n_def - fp / n_norm
    else:
        raise SealauditError(f"criterion must be accuracy, f1 or youden, got {criterion!r}")
    best = int(np.flatnonzero(quality >= quality.max() - 1e-12)[0])
    point = operating_point(cuts[best], s, y)
    justification = {criterion: float(quality[best]), **point}
    return _make(score_name, "supervised", {"criterion": criterion}, fitted_on_split, justification)


def fit_max_miss_rate(
    scores: ArrayLike,
    labels: ArrayLike,
    miss_rate_limit: float,
    confidence: float = 0.95,
    *,
    score_name: str,
    fitted_on_split: str = "val",
) -> Threshold:
    """Highest threshold whose one-sided Clopper-Pearson upper bound on the miss rate
    (misses / defective images) is at most ``miss_rate_limit``.

    Candidates are midpoints of consecutive distinct scores. The highest feasible one rejects
    the fewest normal images while the miss-rate claim still holds at ``confidence``.

    Raises:
        SealauditError: if no candidate qualifies (too few defective images to support the
            claim even with zero misses); the message gives the number needed.
    """
    s, y = check_scores_labels(scores, labels, need_both=True)
    if not 0 < miss_rate_limit < 1:
        raise SealauditError(f"miss_rate_limit must lie in (0, 1), got {miss_rate_limit}")
    cuts, tp, _ = _cut_counts(s, y, score_name)
    n_def = int(y.sum())
    misses = n_def - tp
    upper = np.where(misses >= n_def, 1.0, beta.ppf(confidence, misses + 1, n_def - misses))
    feasible = np.flatnonzero(upper <= miss_rate_limit)
    if feasible.size == 0:
        needed = zero_failure_sample_size(1 - miss_rate_limit, confidence)
        raise SealauditError(
            f"{score_name}: no threshold bounds the miss rate by {miss_rate_limit:g} at "
            f"{confidence:g} confidence on {fitted_on_split} ({n_def} defective images, "
            f"{int(misses[0])} missed even at the lowest cut); the claim needs at least "
            f"{needed} defective images and no miss: add defectives or relax the limit"
        )
    best = int(feasible[-1])
    point = operating_point(cuts[best], s, y, confidence)
    params = {"miss_rate_limit": miss_rate_limit, "confidence": confidence}
    justification = {"miss_rate_upper_one_sided": float(upper[best]), **point}
    return _make(score_name, "max_miss_rate", params, fitted_on_split, justification)


def _cut_counts(
    s: NDArray[np.float64], y: NDArray[np.int64], score_name: str
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Candidate cuts (midpoints, ascending) with the TP and FP counts of ``score > cut``."""
    unique, inverse = np.unique(s, return_inverse=True)
    if unique.size < 2:
        raise SealauditError(f"{score_name}: all scores are equal; no threshold separates them")
    pos_at = np.bincount(inverse, weights=y, minlength=unique.size).astype(np.int64)
    neg_at = np.bincount(inverse, weights=1 - y, minlength=unique.size).astype(np.int64)
    # Cut i lies between unique[i] and unique[i + 1]: everything above it is rejected.
    tp = int(y.sum()) - np.cumsum(pos_at)[:-1]
    fp = int(y.size - y.sum()) - np.cumsum(neg_at)[:-1]
    cuts = unique[:-1] + (unique[1:] - unique[:-1]) / 2
    return cuts, tp, fp


def check_scores_labels(
    scores: ArrayLike, labels: ArrayLike, need_both: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Validated 1-D float scores and 0/1 integer labels of equal length.

    Raises:
        ValueError: on mismatched lengths, non-finite scores or labels other than 0/1.
        SealauditError: if ``need_both`` and a class is missing.
    """
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(labels).ravel().astype(np.int64)
    if s.size != y.size or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError(f"need equal-length, non-empty, finite scores ({s.size}) and labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (normal) or 1 (defective)")
    if need_both and (y.min() == y.max()):
        raise SealauditError("fitting needs both normal and defective images in the split")
    return s, y


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def _make(
    score_name: str,
    rule: str,
    rule_params: dict[str, Any],
    split: str,
    justification: dict[str, Number],
) -> Threshold:
    """Build a Threshold from the operating point on the data it was fitted on.

    The id hashes the identity (everything but the justification).
    """
    value = float(justification["threshold"])
    counts = (int(justification["n_normal"]), int(justification["n_defective"]))
    draft = Threshold("", score_name, value, rule, rule_params, split, *counts, CREATED_BY)
    identity = {k: v for k, v in draft.to_dict().items() if k != "threshold_id"}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    log.info("threshold %s on %s: %s = %.6g", rule, split, score_name, value)
    return replace(draft, threshold_id=f"{score_name}-{rule}-{digest}", justification=justification)
