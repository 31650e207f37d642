"""Errors a user can cause. The CLI turns each into one clean line (no traceback without --debug)."""


class CurationError(Exception):
    """A problem the user can fix: the message names the file, record or key and what to do."""


class ConfigError(CurationError):
    """A pipeline file is invalid (unknown step, misspelt key, wrong type)."""


class InputError(CurationError):
    """An input source is missing, empty or unreadable."""
