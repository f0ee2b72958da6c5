"""Design-choice selection on held-out data: AUROC over training seeds, and the choice rule.

``benchmarks/selection_study.py`` trains one variant per candidate value of a design choice
and scores each on an independent reference set; this module holds its pure maths, so the
rule that picks a value is tested apart from the slow part.

- ``seed_mean_auroc``: AUROC averaged over training seeds, with a percentile bootstrap that
  resamples *capture events* within each class (the twin views of a pouch are not independent
  draws, so resampling images would make the interval too narrow); every seed's scores are
  resampled with the same events, so the interval is that of the seed mean.
- ``paired_difference``: the seed-mean AUROC difference (candidate - fallback) with the same
  event-level bootstrap, both AUROCs computed on the *same* resample. Every candidate scores
  the same reference images, so the pairing removes the between-resample variance the two
  AUROCs share; two unpaired intervals that overlap can still have a difference clear of 0.
- ``choose``: a candidate replaces the fallback (the paper's or the simpler value) only when
  the paired 95 % interval of its difference to the fallback lies above 0; among several
  such candidates the highest AUROC wins. A departure from the paper has to earn its place on
  data it was not fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True)
class Candidate:
    """One value of a design choice and its held-out AUROC.

    Attributes:
        value: the candidate value (as it would stand in params.yaml).
        auroc: AUROC (mean over training seeds).
        ci: [low, high] bootstrap interval of ``auroc`` (unpaired; reported, not decisive).
        diff_ci: [low, high] paired bootstrap interval of ``auroc`` minus the fallback's;
            ``None`` for the fallback itself.
    """

    value: Any
    auroc: float
    ci: tuple[float, float]
    diff_ci: tuple[float, float] | None = None


def _event_index(events: np.ndarray, labels: np.ndarray) -> list[list[np.ndarray]]:
    """Per class (0, 1), the image indices of each capture event."""
    groups: list[list[np.ndarray]] = []
    for label in (0, 1):
        in_class = labels == label
        names = np.unique(events[in_class])
        groups.append([np.flatnonzero(in_class & (events == name)) for name in names])
    return groups


def _checked(
    scores: ArrayLike, labels: ArrayLike, events: ArrayLike
) -> tuple[np.ndarray, np.ndarray, list[list[np.ndarray]]]:
    """(S, N) scores, (N,) labels and the event groups, or ValueError naming the problem."""
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    y, e = np.asarray(labels).astype(int), np.asarray(events).astype(str)
    if s.shape[1] != y.size or e.size != y.size:
        raise ValueError(f"scores {s.shape}, labels {y.shape}, events {e.shape} disagree")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("AUROC needs both normal (0) and defective (1) images")
    mixed = set(e[y == 0]) & set(e[y == 1])
    if mixed:
        raise ValueError(f"capture event {sorted(mixed)[0]} has both labels")
    return s, y, _event_index(e, y)


def _boot_means(
    sets: list[np.ndarray], y: np.ndarray, groups: list[list[np.ndarray]], n_boot: int, seed: int
) -> np.ndarray:
    """(n_boot, len(sets)) seed-mean AUROC of each (S, N) score set on shared event resamples."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(sets)))
    for b in range(n_boot):
        picked = [rng.integers(0, len(group), len(group)) for group in groups]
        index = np.concatenate([groups[c][i] for c in (0, 1) for i in picked[c]])
        out[b] = [np.mean([roc_auc_score(y[index], row[index]) for row in s]) for s in sets]
    return out


def _interval(samples: np.ndarray, confidence: float) -> list[float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return [float(low), float(high)]


def seed_mean_auroc(
    scores: ArrayLike,
    labels: ArrayLike,
    events: ArrayLike,
    n_boot: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Seed-mean AUROC with an event-level stratified bootstrap interval.

    Args:
        scores: (S, N) image scores, one row per training seed.
        labels: (N,) 0 normal / 1 defective.
        events: (N,) capture event of each image (all views of an event share its label).
        n_boot: bootstrap resamples.
        seed: seeds the resampling.
        confidence: interval coverage.

    Returns:
        ``{"auroc", "ci", "per_seed", "n_images", "n_events"}``.

    Raises:
        ValueError: shapes disagree, a class is missing, or an event mixes labels.
    """
    s, y, groups = _checked(scores, labels, events)
    samples = _boot_means([s], y, groups, n_boot, seed)[:, 0]
    per_seed = [float(roc_auc_score(y, row)) for row in s]
    return {
        "auroc": float(np.mean(per_seed)),
        "ci": _interval(samples, confidence),
        "per_seed": per_seed,
        "n_images": int(y.size),
        "n_events": int(sum(len(group) for group in groups)),
    }


def paired_difference(
    candidate: ArrayLike,
    fallback: ArrayLike,
    labels: ArrayLike,
    events: ArrayLike,
    n_boot: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Seed-mean AUROC of ``candidate`` minus that of ``fallback``, paired bootstrap interval.

    Both (S, N) score sets are of the same N images; each resample of capture events (the
    resampling of ``seed_mean_auroc``, same ``seed`` -> same resamples) scores both.

    Returns:
        ``{"difference", "ci", "per_seed"}`` (per_seed: per training-seed differences).

    Raises:
        ValueError: as ``seed_mean_auroc``, or the two score sets differ in shape.
    """
    c, y, groups = _checked(candidate, labels, events)
    f = _checked(fallback, labels, events)[0]
    if c.shape != f.shape:
        raise ValueError(f"candidate scores {c.shape} and fallback scores {f.shape} disagree")
    samples = _boot_means([c, f], y, groups, n_boot, seed)
    per_seed = [float(roc_auc_score(y, a) - roc_auc_score(y, b)) for a, b in zip(c, f, strict=True)]
    return {
        "difference": float(np.mean(per_seed)),
        "ci": _interval(samples[:, 0] - samples[:, 1], confidence),
        "per_seed": per_seed,
    }


RULE = (
    "a candidate replaces the fallback (the paper's or the simpler value) only if the paired "
    "95 % event-level bootstrap interval of its seed-mean AUROC minus the fallback's lies "
    "above 0; among several such candidates the highest AUROC wins; otherwise the fallback "
    "is kept"
)


def choose(candidates: list[Candidate], fallback: Any) -> tuple[Any, str]:
    """The chosen value and why, by ``RULE``.

    Raises:
        ValueError: no candidate, the fallback is not among them, or a non-fallback candidate
            has no paired interval.
    """
    if not candidates:
        raise ValueError("no candidate to choose from")
    if repr(fallback) not in {repr(c.value) for c in candidates}:
        raise ValueError(f"fallback {fallback!r} is not a candidate")
    others = [c for c in candidates if repr(c.value) != repr(fallback)]
    missing = [c.value for c in others if c.diff_ci is None]
    if missing:
        raise ValueError(f"candidate {missing[0]!r} has no paired interval to the fallback")
    above = [c for c in others if c.diff_ci[0] > 0]  # type: ignore[index]
    if above:
        best = max(above, key=lambda c: c.auroc)
        low, high = best.diff_ci  # type: ignore[misc]
        return best.value, (
            f"{best.value!r} ({best.auroc:.3f}) beats the fallback {fallback!r}: paired "
            f"difference interval [{low:+.4f}, {high:+.4f}] lies above 0"
        )
    if not others:
        return fallback, f"fallback {fallback!r} is the only candidate"
    best = max(others, key=lambda c: c.diff_ci[0])  # type: ignore[index]
    low, high = best.diff_ci  # type: ignore[misc]
    return fallback, (
        f"no paired difference interval lies above 0 (best: {best.value!r}, "
        f"[{low:+.4f}, {high:+.4f}]): the fallback {fallback!r} is kept"
    )
