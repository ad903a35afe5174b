"""The progress-message callback every long operation takes (CLI: stderr; app: a status box; tests: a list)."""

from __future__ import annotations

import sys
from collections.abc import Callable

Log = Callable[[str], None]


def to_stderr(msg: str) -> None:
    print(msg, file=sys.stderr)
