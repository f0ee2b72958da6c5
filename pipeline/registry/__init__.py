"""MLflow tracking, Model Registry, evidence-gated promotion and its audit trail.

``tracking`` resolves where MLflow state lives; ``lineage`` names what a model version was
built from; ``pyfunc`` wraps both detection modes as MLflow models; ``criteria`` reads the
reviewed acceptance criteria; ``audit`` keeps the hash-chained log; ``promotion`` moves aliases.
"""
