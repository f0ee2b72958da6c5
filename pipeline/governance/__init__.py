"""Data governance for the ``validate_data`` stage: facts, reviewed suites run with GX, evidence."""
