"""Monitoring mode: watching a stream of RFD-MD scores for process drift.

- ``spc``: statistical process control on monitoring scores (EWMA and CUSUM charts against a
  reference distribution, lot-versus-reference tests, exceedance rates with exact intervals)
  and seeded simulations of the charts' false-alarm rate and detection delay.

The score itself comes from ``pipeline.models.mahalanobis``. Nothing here reads files or knows
about stages.
"""
