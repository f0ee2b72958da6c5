"""Command groups of the ``sealaudit`` console script (see pipeline/cli.py)."""
