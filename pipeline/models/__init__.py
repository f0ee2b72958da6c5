"""Pure maths of the two modes: scoring, thresholds and evaluation metrics.

- ``four_ssim``: four-component multi-scale SSIM (Li & Bovik 2010), the inline anomaly score
  and its per-pixel heatmap.
- ``scores``: the paper's ablation scores as a registry ``SCORE_FUNCTIONS``.
- ``thresholds``: thresholds as explicit, versioned ``Threshold`` objects and their fitting rules.
- ``metrics``: image- and pixel-level metrics with confidence intervals.

Nothing here reads files, logs to MLflow or knows about stages.
"""
