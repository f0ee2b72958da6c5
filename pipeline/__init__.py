"""sealaudit: traceable dual-mode anomaly detection for sterile-barrier packaging seals."""

__version__ = "0.1.0"
