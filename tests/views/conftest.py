"""The tiny-sweep fixtures registered once here, so the session-scoped sweep is built once for every view test."""

from _sweephome import sweep_home, sweep_template  # noqa: F401
