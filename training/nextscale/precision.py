"""Mixed precision for CPU training: bfloat16 autocast where the CPU computes bfloat16 natively.

On a CPU with AVX512-BF16 (or AMX) oneDNN runs bfloat16 matrix products several times faster than float32;
without it, bfloat16 is emulated and slower. The weights, the optimizer state, the norms (computed in float32 by
the models) and the losses (autocast keeps cross-entropy in float32) stay float32 either way.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

CHOICES = ("auto", "bf16", "fp32")


def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists a native bfloat16 instruction set (avx512_bf16 or amx_bf16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve(precision: str) -> str:
    """`auto` becomes bf16 on a CPU that computes it natively and fp32 elsewhere."""
    if precision not in CHOICES:
        raise ValueError(f"precision must be one of {CHOICES}, found {precision!r}")
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return precision


def autocast(precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's context: bfloat16 autocast for `bf16`, nothing for `fp32`."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
