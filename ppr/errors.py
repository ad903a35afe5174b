"""Errors the user can fix: the CLI prints them as one paragraph and exits with code 2."""


class InputError(Exception):
    """Bad input (file, column, row, name, setting). The message says what was expected."""
