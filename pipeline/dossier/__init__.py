"""The validation dossier: evidence files -> one context mapping -> HTML (Jinja2) -> PDF.

``context.build_context`` is the only place that reads evidence and turns numbers into text;
``render`` only formats that context with the templates under ``reports/templates/``.
"""
