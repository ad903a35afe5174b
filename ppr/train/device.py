"""Device choice and mixed precision: bf16 autocast on CUDA only (CPU stays float32)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from ppr.errors import InputError


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is an InputError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"Device {name!r} was asked for but no CUDA GPU is available; use 'cpu' or 'auto'.")
        return torch.device(name)
    raise InputError(f"Device must be 'auto', 'cpu' or 'cuda[:N]', got {name!r}.")


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast on CUDA (Tensor Cores, no loss scaling needed); a no-op on CPU."""
    if device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def set_cpu_threads(n: int | None = None) -> int:
    """Intra-op threads for CPU work: $PPR_THREADS, else all cores (small models gain little beyond)."""
    n = n or int(os.environ.get("PPR_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n
