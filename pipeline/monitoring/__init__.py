"""Monitoring mode: the RFD-MD score, its fitted reference and drift surveillance.

Maths (no files, no stages):

- ``spc``: statistical process control on monitoring scores (EWMA and CUSUM charts against a
  reference distribution, lot-versus-reference tests, exceedance rates with exact intervals).
- ``run_length``: seeded simulations of the charts' false-alarm rate and detection delay, and
  the bootstrap calibration of their limits on a small reference.
- ``calibration``: fitting the estimator, the ablation grid, thresholds and control limits.
- ``alarms``: charts and lot tests over a monitoring history, and the alarm decision.

Models and I/O:

- ``fitted``: ``FittedMonitor`` (``monitor.npz``) and the resolution of ``--reference``.
- ``scoring``: encoder features and contribution heatmaps (the detector scores images).
- ``batch``, ``history``, ``surveillance``, ``figures``: ``sealaudit monitor``.

The score itself comes from ``pipeline.models.mahalanobis``.
"""
