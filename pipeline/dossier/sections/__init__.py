"""Dossier section builders: one module per section or group; ``dossier.context`` assembles."""
