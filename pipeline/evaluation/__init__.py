"""The pieces of the ``evaluate`` stage: scoring, mode evaluation, baselines and evidence."""
