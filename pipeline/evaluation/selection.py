"""Design-choice selection on held-out data: AUROC over training seeds, and the choice rule.

``benchmarks/selection_study.py`` trains one variant per candidate value of a design choice
and scores each on an independent reference set; this module holds its pure maths, so the
rule that picks a value is tested apart from the slow part.

- ``seed_mean_auroc``: AUROC averaged over training seeds, with a percentile bootstrap that
  resamples *capture events* within each class (the twin views of a pouch are not independent
  draws, so resampling images would make the interval too narrow); every seed's scores are
  resampled with the same events, so the interval is that of the seed mean.
- ``choose``: the highest AUROC wins only when it is not the fallback's tie and its interval
  does not overlap the fallback's; otherwise the fallback (the paper's or the simpler value)
  is kept. A departure from the paper has to earn its place on data it was not fitted on.
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
        ci: [low, high] bootstrap interval of ``auroc``.
    """

    value: Any
    auroc: float
    ci: tuple[float, float]


def _event_index(events: np.ndarray, labels: np.ndarray) -> list[list[np.ndarray]]:
    """Per class (0, 1), the image indices of each capture event."""
    groups: list[list[np.ndarray]] = []
    for label in (0, 1):
        in_class = labels == label
        names = np.unique(events[in_class])
        groups.append([np.flatnonzero(in_class & (events == name)) for name in names])
    return groups


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
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    y, e = np.asarray(labels).astype(int), np.asarray(events).astype(str)
    if s.shape[1] != y.size or e.size != y.size:
        raise ValueError(f"scores {s.shape}, labels {y.shape}, events {e.shape} disagree")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("AUROC needs both normal (0) and defective (1) images")
    mixed = set(e[y == 0]) & set(e[y == 1])
    if mixed:
        raise ValueError(f"capture event {sorted(mixed)[0]} has both labels")
    groups = _event_index(e, y)
    rng = np.random.default_rng(seed)
    samples = np.empty(n_boot)
    for b in range(n_boot):
        picked = [rng.integers(0, len(group), len(group)) for group in groups]
        index = np.concatenate([groups[c][i] for c in (0, 1) for i in picked[c]])
        samples[b] = np.mean([roc_auc_score(y[index], row[index]) for row in s])
    per_seed = [float(roc_auc_score(y, row)) for row in s]
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return {
        "auroc": float(np.mean(per_seed)),
        "ci": [float(low), float(high)],
        "per_seed": per_seed,
        "n_images": int(y.size),
        "n_events": int(sum(len(group) for group in groups)),
    }


def choose(candidates: list[Candidate], fallback: Any) -> tuple[Any, str]:
    """The chosen value and why, by "highest AUROC; a tie or an interval overlapping the
    fallback's keeps the fallback".

    Raises:
        ValueError: no candidate, or the fallback is not among them.
    """
    if not candidates:
        raise ValueError("no candidate to choose from")
    by_value = {repr(c.value): c for c in candidates}
    if repr(fallback) not in by_value:
        raise ValueError(f"fallback {fallback!r} is not a candidate")
    keep = by_value[repr(fallback)]
    best = max(candidates, key=lambda c: c.auroc)
    if best.value == fallback or best.auroc <= keep.auroc:
        return fallback, f"fallback {fallback!r} has the highest AUROC"
    if best.ci[0] <= keep.ci[1]:
        return fallback, (
            f"{best.value!r} is highest ({best.auroc:.3f}) but its interval overlaps the "
            f"fallback {fallback!r}'s ({keep.auroc:.3f}): the fallback is kept"
        )
    return best.value, (
        f"{best.value!r} ({best.auroc:.3f}) beats the fallback {fallback!r} "
        f"({keep.auroc:.3f}) with disjoint intervals"
    )
