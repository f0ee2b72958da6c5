"""The one error type a user sees as a one-line message (no traceback) and a non-zero exit."""


class SealauditError(ValueError):
    """A problem with the user's input; the message names the file or key and the fix."""
