"""Detection capability: hit/miss probability of detection (POD) per MIL-HDBK-1823A.

- ``links``: the logit and probit links and their per-event log-likelihood terms.
- ``pod``: the maximum-likelihood POD fit ``PodFit``, its a50, a90 and the a90/95 lower bound,
  and ``assess``, the one call a stage makes per requirement.
- ``success_run``: the distribution-free bound used when the model cannot be fitted.
- ``plots``: the POD figure of one requirement.

Pure maths: nothing here reads files, logs to MLflow or knows about stages.
"""
